//! netd, the network daemon: Docker's network model (networks, endpoints,
//! sandboxes) over the bridge, host and none drivers, with Docker's network
//! API and netd's own sandbox API on a unix socket.
//!
//! Callers (the engine, the CLI) use [`client`] and [`api::types`] only.

#![warn(missing_docs)]

pub mod api;
pub mod client;
pub mod config;
pub mod controller;
pub mod daemon;
pub mod error;
pub mod model;
pub mod plugin;
pub mod store;
