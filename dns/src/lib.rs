//! netd's DNS: for now, the sandbox's `resolv.conf` and `hosts` files.
//!
//! The embedded DNS server (127.0.0.11 inside each sandbox) comes with its
//! own issue and lives here too.

#![warn(missing_docs)]

pub mod files;
