//! What callers of netd share with netd itself, and nothing of the daemon:
//!
//! - [`types`]: the JSON shapes of Docker's network API and of netd's
//!   sandbox API;
//! - [`portspec`]: Docker's `-p`/`--expose` syntax, parsed once for the API
//!   and the CLI;
//! - [`Protocol`]: the one tcp/udp/sctp type of the API, netd's store and
//!   its firewall code;
//! - [`files`]: the `hosts` and `resolv.conf` renderer;
//! - [`new_id`]: 64-hex ids;
//! - [`process`]: a process's identity as `/proc` shows it, for sandbox
//!   owners (the engine names itself, netd checks the owner still runs);
//! - [`client`] (feature `client`, on by default): the HTTP client over
//!   netd's unix socket, async and [`blocking`].
//!
//! The engine and the CNI plugin depend on this crate alone, so they link
//! none of the daemon's stack (axum, redb, netlink, nftables, DNS).

#![warn(missing_docs)]

#[cfg(feature = "client")]
pub mod blocking;
#[cfg(feature = "client")]
pub mod client;
pub mod files;
mod id;
pub mod portspec;
pub mod process;
mod protocol;
pub mod types;

pub use id::{is_full_id, new_id};
pub use protocol::{InvalidProtocol, Protocol};
