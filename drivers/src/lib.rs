//! netd's network drivers and the thin kernel layer under them (netd's
//! controller reaches them through its `Kernel` seam).
//!
//! - [`netns`]: network namespaces bound to files, and running code inside one.
//! - [`links`]: links, addresses and routes through rtnetlink.
//! - [`connect_nat`]: published ports translated at `connect()` for the
//!   host's own clients (eBPF on a cgroup).
//! - [`bridge`]: the bridge driver (a Linux bridge per network, a veth pair
//!   per endpoint); `host` and `none` need no kernel objects of their own.

#![warn(missing_docs)]

pub mod bridge;
pub mod connect_nat;
mod error;
pub mod fds;
pub mod firewall;
pub mod links;
pub mod netns;
pub mod portres;
pub mod sysctl;

pub use error::KernelError;
pub use links::{LinkInfo, Links};
