//! berth, the container engine, and its command line.
//!
//! The engine talks to netd only through the `netd-api` crate (its client,
//! API types, `-p` parser and file renderer), so it links none of the
//! daemon. [`cli`] parses and runs commands; [`format`] renders
//! their output the way the docker CLI does, as pure functions.

#![warn(missing_docs)]

pub mod atomic;
pub mod cli;
pub mod container;
pub mod format;
pub mod image;
pub mod spec;
pub mod volume;
pub mod warn;
