//! Registries: pulling images from and pushing them to registries that
//! speak the OCI distribution API (Docker Hub, `docker-registry`, …).
//!
//! - [`client`]: HTTP, authentication, retries, TLS trust;
//! - [`auth`]: challenges and tokens; [`credentials`]: Docker's
//!   `config.json`;
//! - [`manifest`] and [`platform`]: what registries serve and which image
//!   of a manifest list is the host's (pure);
//! - [`layer`]: one layer's streaming, resumable pipeline;
//! - [`pull`], [`push`]: the operations;
//! - [`digests`]: the repository digests images were pulled or pushed as.

pub mod auth;
pub mod client;
pub mod credentials;
pub mod digests;
pub mod error;
pub mod layer;
pub mod manifest;
pub mod platform;
pub mod pull;
pub mod push;

pub use self::error::{RegistryError, Result};
