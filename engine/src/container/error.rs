//! What can go wrong with containers, with Docker's wording where users
//! meet it. Each error keeps what caused it as its `source` (the errno,
//! netd's or the spec builder's error) and names its object (a container
//! id, a path), so that a log line says which and why; the messages
//! themselves are the ones users have always seen.

use std::path::PathBuf;

/// A container operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// A file-system step failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A system call for container `id` failed.
    #[error("{op}: {source}")]
    Sys {
        /// What was being done.
        op: &'static str,
        /// The container.
        id: String,
        /// The errno.
        #[source]
        source: nix::errno::Errno,
    },
    /// An operating-system resource for container `id` (a thread, a
    /// socket, an async runtime) could not be had.
    #[error("{op}: {source}")]
    Os {
        /// What was being done.
        op: &'static str,
        /// The container.
        id: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No container has this id, id prefix or name.
    #[error("No such container: {0}")]
    NotFound(String),
    /// Several containers have ids that start with this prefix.
    #[error("Error response from daemon: multiple IDs found with provided prefix: {0}")]
    AmbiguousId(String),
    /// The name is taken.
    #[error(
        "Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name."
    )]
    NameInUse {
        /// The name.
        name: String,
        /// The container holding it.
        id: String,
    },
    /// A name Docker would refuse.
    #[error("Invalid container name ({0}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidName(String),
    /// Neither the image nor the options give a command.
    #[error("Error response from daemon: no command specified")]
    NoCommand,
    /// A `-p` or `--expose` value Docker refuses.
    #[error("{0}")]
    Ports(#[source] netd_api::portspec::PortSpecError),
    /// `host`, `none` or `container:` networking with other networks.
    #[error(
        "Error response from daemon: conflicting options: cannot attach both user-defined and non-user-defined network-modes"
    )]
    ConflictingNetworkModes,
    /// `-p` with `container:` networking.
    #[error(
        "Error response from daemon: conflicting options: port publishing and the container type network mode"
    )]
    PublishWithContainerNetwork,
    /// A signal for a container that does not run.
    #[error(
        "Error response from daemon: Cannot kill container: {name}: Container {id} is not running"
    )]
    NotRunning {
        /// Its name.
        name: String,
        /// Its id.
        id: String,
    },
    /// `rm` without `--force` of a container that runs.
    #[error(
        "Error response from daemon: cannot remove container \"/{name}\": container is running: stop the container before removing or force remove"
    )]
    RemoveRunning {
        /// Its name.
        name: String,
        /// Its id.
        id: String,
    },
    /// `--network container:ID` names a container that does not run.
    #[error("cannot join network of a non running container: {id}")]
    JoinNotRunning {
        /// The container whose network was to be joined.
        id: String,
    },
    /// The runtime named by `--runtime` is not there.
    #[error("unknown or missing OCI runtime: {0}")]
    UnknownRuntime(String),
    /// Neither runc nor crun is installed.
    #[error("no OCI runtime found: install runc or crun")]
    NoRuntime,
    /// The OCI runtime failed.
    #[error("{op}: {message}")]
    Runtime {
        /// What was asked of the runtime.
        op: String,
        /// The container.
        id: String,
        /// What it said.
        message: String,
    },
    /// The runtime started the process but wrote no pid of it.
    #[error("the runtime wrote no init pid")]
    NoInitPid {
        /// The pid file.
        path: PathBuf,
        /// Why its content is no pid.
        #[source]
        source: std::num::ParseIntError,
    },
    /// The runtime made no terminal for a `-t` container.
    #[error("the runtime sent no terminal")]
    NoTerminal {
        /// The container.
        id: String,
    },
    /// A thread of the shim's for container `id` died.
    #[error("{what} failed")]
    ThreadDied {
        /// Which thread.
        what: &'static str,
        /// The container.
        id: String,
    },
    /// `--init` without a tini to run.
    #[error("--init needs a static tini (Debian's tini package): none found")]
    NoInit,
    /// The container's OCI spec could not be made.
    #[error("{source}")]
    Spec {
        /// The container.
        id: String,
        /// Why.
        #[source]
        source: crate::spec::build::SpecError,
    },
    /// The image has no layers for the container's root.
    #[error("the image has no layers to run")]
    NoLayers {
        /// The root that was to be mounted.
        merged: PathBuf,
    },
    /// The `hosts` and `resolv.conf` of a container without a netd
    /// sandbox could not be made.
    #[error("{reason}")]
    SandboxFiles {
        /// The container.
        id: String,
        /// What netd's renderer said.
        reason: String,
    },
    /// A record did not encode or decode.
    #[error("container record {path}: {source}")]
    Record {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// netd refused or could not be reached; the message is netd's own (a
    /// refusal's message, or why it could not be reached): the command
    /// line that reports it adds Docker's "Error response from daemon"
    /// itself, and a container's `State.Error` has none, as Docker's.
    #[error("{source}")]
    Netd {
        /// The container.
        id: String,
        /// netd's answer.
        #[source]
        source: netd_api::client::ClientError,
    },
    /// The removal of the container's last sandbox, remembered for later
    /// (see [`super::pending`]), could not be read or made.
    #[error("{source}")]
    PendingRemoval {
        /// The container.
        id: String,
        /// Why.
        #[source]
        source: super::pending::PendingError,
    },
    /// The starting command called the start off (its container was not
    /// stored): nothing to report, nothing left.
    #[error("the start was called off")]
    CalledOff,
    /// The image could not be used.
    #[error(transparent)]
    Image(#[from] crate::image::ImageError),
    /// A record could not be written.
    #[error(transparent)]
    Write(#[from] crate::atomic::WriteError),
}

impl ContainerError {
    /// A file-system error on `path`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }

    /// A failed system call `op` for container `id`.
    pub fn sys(op: &'static str, id: &str) -> impl FnOnce(nix::errno::Errno) -> Self {
        let id = id.to_owned();
        move |source| Self::Sys { op, id, source }
    }

    /// An operating-system resource `op` for container `id` that could not
    /// be had.
    pub fn os(op: &'static str, id: &str) -> impl FnOnce(std::io::Error) -> Self {
        let id = id.to_owned();
        move |source| Self::Os { op, id, source }
    }

    /// netd's error for container `id`.
    pub fn netd(id: &str) -> impl FnOnce(netd_api::client::ClientError) -> Self {
        let id = id.to_owned();
        move |source| Self::Netd { id, source }
    }
}

/// Results of container operations.
pub type Result<T, E = ContainerError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn system_errors_keep_the_errno_and_name_the_container() {
        let e = ContainerError::sys("becoming a subreaper", "c0ffee")(nix::errno::Errno::EPERM);
        assert_eq!(
            e.to_string(),
            "becoming a subreaper: EPERM: Operation not permitted"
        );
        assert!(matches!(&e, ContainerError::Sys { id, .. } if id == "c0ffee"));
        let errno = e
            .source()
            .and_then(|s| s.downcast_ref::<nix::errno::Errno>());
        assert_eq!(errno, Some(&nix::errno::Errno::EPERM));
    }

    #[test]
    fn netd_errors_read_as_netds_message_and_keep_it_as_source() {
        let e = ContainerError::netd("c0ffee")(netd_api::client::ClientError::Api {
            status: 404,
            message: "network nonet not found".into(),
        });
        assert_eq!(e.to_string(), "network nonet not found");
        let source = e
            .source()
            .and_then(|s| s.downcast_ref::<netd_api::client::ClientError>());
        assert_eq!(
            source.and_then(netd_api::client::ClientError::status),
            Some(404)
        );
    }

    #[test]
    fn port_errors_keep_dockers_words() {
        let e = ContainerError::Ports(netd_api::portspec::PortSpecError("invalid proto: x".into()));
        assert_eq!(e.to_string(), "invalid proto: x");
        assert!(e.source().is_some());
    }
}
