//! netd's network drivers and the thin kernel layer under them.
//!
//! - [`netns`]: network namespaces bound to files, and running code inside one.
//! - [`links`]: links, addresses and routes through rtnetlink.
//! - [`bridge`]: the bridge driver (a Linux bridge per network, a veth pair
//!   per endpoint); `host` and `none` need no kernel objects of their own.

#![warn(missing_docs)]

pub mod bridge;
mod error;
pub mod fds;
pub mod firewall;
pub mod links;
pub mod netns;
pub mod portres;
pub mod sysctl;

pub use error::KernelError;
pub use links::{LinkInfo, Links};
