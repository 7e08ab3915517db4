//! netd's DNS: the embedded DNS server each sandbox gets (Docker's
//! `127.0.0.11`). The sandbox's `resolv.conf` and `hosts` files are rendered
//! by `netd-api`, which the engine shares.
//!
//! - [`zone`]: the names one sandbox can see ([`Zone`]).
//! - [`server`]: the server itself; netd binds the sockets inside the
//!   sandbox and hands them to [`server::spawn`], with a [`ListenerState`]
//!   it swaps on every change.

#![warn(missing_docs)]

mod batch;
mod forward;
pub mod server;
mod wire;
pub mod zone;

pub use server::{ListenerState, ServerHandle, spawn, try_spawn};
pub use zone::Zone;
