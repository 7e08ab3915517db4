//! Network namespaces that outlive the thread that made them.
//!
//! A sandbox's namespace is created by a short-lived thread that unshares
//! its own network namespace and bind-mounts it on a file under netd's exec
//! root; the mount keeps the namespace alive after the thread exits. Work
//! that must happen inside a namespace (netlink sockets, listening sockets)
//! is done on such a thread too, never on a tokio worker, whose namespace
//! would leak into every task it runs next.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;

use crate::KernelError;

/// Runs `f` on a new thread that has entered the network namespace `ns`, and
/// returns its result. The thread exits afterwards, so no other code ever
/// runs in that namespace by accident.
pub fn run_in<F, T>(ns: &File, f: F) -> Result<T, KernelError>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::setns(ns.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|e| {
                KernelError::Sys {
                    op: "entering network namespace".into(),
                    source: io::Error::from(e),
                }
            })?;
            Ok(f())
        })
        .join()
        .expect("a namespace thread does not panic")
    })
}

/// Creates a new network namespace bound to the file `path` (created, and
/// its directory too), runs `f` inside it (for example to open a netlink
/// socket there), and returns an open handle on the namespace with `f`'s
/// result. On failure nothing is left at `path`.
pub fn create<F, T>(path: &Path, f: F) -> Result<(File, T), KernelError>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    let path_err = |op, source| KernelError::Path {
        op,
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| path_err("creating directory for", e))?;
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| path_err("creating netns file", e))?;
    let made = std::thread::scope(|s| {
        s.spawn(|| -> Result<T, KernelError> {
            nix::sched::unshare(CloneFlags::CLONE_NEWNET)
                .map_err(|e| path_err("unsharing network namespace for", e.into()))?;
            nix::mount::mount(
                Some("/proc/thread-self/ns/net"),
                path,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(|e| path_err("bind-mounting network namespace on", e.into()))?;
            Ok(f())
        })
        .join()
        .expect("a namespace thread does not panic")
    });
    let out = made.and_then(|out| Ok((open(path)?, out)));
    if out.is_err() {
        // Best effort: the mount may or may not exist.
        let _ = nix::mount::umount2(path, MntFlags::MNT_DETACH);
        let _ = fs::remove_file(path);
    }
    out
}

/// Opens the namespace bound at `path`.
pub fn open(path: &Path) -> Result<File, KernelError> {
    File::open(path).map_err(|source| KernelError::Path {
        op: "opening network namespace",
        path: path.to_owned(),
        source,
    })
}

/// Whether `path` is a live namespace binding (a mount of an nsfs inode),
/// rather than the empty file left when the mount is gone.
pub fn is_bound(path: &Path) -> bool {
    nix::sys::statfs::statfs(path)
        .map(|s| s.filesystem_type() == nix::sys::statfs::NSFS_MAGIC)
        .unwrap_or(false)
}

/// Unbinds and removes a namespace file. The namespace itself dies when
/// nothing else holds it. Missing files are not an error, so that clean-up
/// can be repeated after a crash.
pub fn remove(path: &Path) -> Result<(), KernelError> {
    match nix::mount::umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOENT) => {}
        Err(e) => {
            return Err(KernelError::Path {
                op: "unmounting network namespace",
                path: path.to_owned(),
                source: e.into(),
            });
        }
    }
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(KernelError::Path {
            op: "removing netns file",
            path: path.to_owned(),
            source,
        }),
    }
}

/// The namespace files under `dir` (for reconciliation at start).
pub fn list(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    out.sort();
    out
}
