//! netd, the network daemon: Docker's network model (networks, endpoints,
//! sandboxes) over the bridge, host and none drivers, with Docker's network
//! API and netd's own sandbox API on a unix socket.
//!
//! Callers (the engine, the CLI, the CNI plugin) use the `netd-api` crate
//! only: the API types, the `-p` parser, the file renderer and the client.

#![warn(missing_docs)]

pub(crate) mod api;
pub mod config;
pub(crate) mod controller;
pub mod daemon;
pub(crate) mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub(crate) mod model;
pub(crate) mod plugin;
pub(crate) mod store;

pub use plugin::DEFAULT_SOCKET as DEFAULT_PLUGIN_SOCKET;
