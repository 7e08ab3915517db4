//! Containers: records on disk ([`store`]), how `create`/`run` options
//! become one ([`create`]), the root file system ([`rootfs`]), the OCI
//! bundle ([`bundle`]), the runtime ([`runc`]), the network through netd
//! ([`network`]) with the removals it could not make yet ([`pending`]),
//! the per-container shim ([`shim`]) with its attach
//! protocol ([`attach`]) and json-file logs ([`logs`]), and the lifecycle
//! operations the commands run ([`ops`]).

pub mod archive;
pub mod attach;
pub mod bundle;
pub mod changes;
pub mod commit;
pub mod copy;
pub mod create;
pub mod error;
pub mod inroot;
pub mod logs;
pub mod network;
pub mod ops;
pub mod pending;
pub mod record;
pub mod rootfs;
pub mod runc;
pub mod runtime_binary;
pub mod shim;
pub mod spawn;
pub mod stats;
pub mod store;
pub mod top;

pub use self::error::{ContainerError, Result};
pub use self::ops::{Engine, StartError};
pub use self::record::{Container, Status};
pub use self::store::Containers;

/// berth's default runtime directory.
pub const DEFAULT_RUNROOT: &str = "/run/berth";
