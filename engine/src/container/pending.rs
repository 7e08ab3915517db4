//! Sandbox removals berth could not make because netd could not be
//! reached (it was restarting, or died while answering), remembered as
//! empty files `RUNROOT/netd-pending/<sandbox id>` until they are made:
//! by the next berth command, by the container's shim trying again for a
//! while, or before the container's next sandbox is made. Without them a
//! container removed while netd is away would leave its sandbox (veth,
//! address, published port, DNS name) behind. netd finds such sandboxes
//! on its own too, by their owner (see netd's `controller::owner`); the
//! two together cover either side crashing.
//!
//! Several processes may complete the same removal at once (two commands,
//! or a command and the shim), while the shim may be about to make the
//! container's next sandbox. So a removal is completed under an exclusive
//! lock on its file, and only while the file still exists: whoever removes
//! the sandbox unlinks the file before letting go of the lock, and one
//! that waited for the lock and finds the file unlinked does nothing. The
//! shim completes its container's removal before it makes a new sandbox,
//! so a removal remembered for an old sandbox never removes a newer one.

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

/// The directory of the remembered removals, under the run root.
const DIR: &str = "netd-pending";

/// A removal that could not be remembered or completed.
#[derive(Debug, thiserror::Error)]
pub enum PendingError {
    /// A file step failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Taking the lock of a removal failed.
    #[error("locking {}: {source}", path.display())]
    Lock {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: nix::errno::Errno,
    },
}

/// How a completion went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// The removal was made now, and forgotten.
    Made,
    /// Nothing was pending (or another process made it meanwhile).
    NothingPending,
}

/// The remembered removals of one run root.
#[derive(Debug, Clone)]
pub struct Pending {
    dir: PathBuf,
}

impl Pending {
    /// The removals remembered under `runroot`.
    pub fn new(runroot: &Path) -> Self {
        Self {
            dir: runroot.join(DIR),
        }
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Remembers that sandbox `id` is to be removed.
    pub fn record(&self, id: &str) -> Result<(), PendingError> {
        std::fs::create_dir_all(&self.dir).map_err(|source| PendingError::Io {
            op: "create directory",
            path: self.dir.clone(),
            source,
        })?;
        let path = self.path(id);
        // An existing file is opened as it is: it stands for the same
        // removal.
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map(drop)
            .map_err(|source| PendingError::Io {
                op: "create",
                path,
                source,
            })
    }

    /// Whether a removal of sandbox `id` is remembered (one `stat`).
    pub fn has(&self, id: &str) -> bool {
        self.path(id).exists()
    }

    /// The sandboxes whose removal is remembered: one read of the
    /// directory, nothing when it does not exist.
    pub fn ids(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut ids: Vec<String> = dir
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| netd_api::is_full_id(n))
            .collect();
        ids.sort();
        ids
    }

    /// Completes the removal of sandbox `id` with `remove`, when one is
    /// remembered: under the file's lock, and only while the file exists;
    /// forgotten once `remove` succeeds, kept when it fails (its error is
    /// returned in `Ok(Err(…))`).
    pub fn complete<E>(
        &self,
        id: &str,
        remove: impl FnOnce() -> Result<(), E>,
    ) -> Result<Result<Completion, E>, PendingError> {
        let path = self.path(id);
        let file = match OpenOptions::new().read(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Ok(Completion::NothingPending)),
            Err(source) => {
                return Err(PendingError::Io {
                    op: "open",
                    path,
                    source,
                });
            }
        };
        let locked = Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, source)| {
            PendingError::Lock {
                path: path.clone(),
                source,
            }
        })?;
        let unlinked = locked
            .metadata()
            .map_err(|source| PendingError::Io {
                op: "stat",
                path: path.clone(),
                source,
            })?
            .nlink()
            == 0;
        if unlinked {
            return Ok(Ok(Completion::NothingPending));
        }
        if let Err(e) = remove() {
            return Ok(Err(e));
        }
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(source) => {
                return Err(PendingError::Io {
                    op: "remove",
                    path,
                    source,
                });
            }
        }
        drop(locked);
        Ok(Ok(Completion::Made))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn nothing_is_pending_in_a_run_root_that_never_remembered_any() {
        let root = tempfile::tempdir().unwrap();
        let p = Pending::new(root.path());
        assert!(p.ids().is_empty());
        assert!(!p.has(A));
        let mut called = false;
        let done = p.complete(A, || {
            called = true;
            Ok::<(), ()>(())
        });
        assert_eq!(done.unwrap(), Ok(Completion::NothingPending));
        assert!(!called, "no removal is made for nothing pending");
    }

    #[test]
    fn a_remembered_removal_stays_until_it_is_made() {
        let root = tempfile::tempdir().unwrap();
        let p = Pending::new(root.path());
        p.record(B).unwrap();
        p.record(A).unwrap();
        p.record(A).unwrap();
        assert_eq!(p.ids(), vec![A.to_owned(), B.to_owned()]);
        // netd unreachable: kept.
        let failed = p.complete(A, || Err("netd is away")).unwrap();
        assert_eq!(failed, Err("netd is away"));
        assert!(p.has(A));
        // Made: forgotten, and only that one.
        let made = p.complete(A, || Ok::<(), &str>(())).unwrap();
        assert_eq!(made, Ok(Completion::Made));
        assert!(!p.has(A));
        assert_eq!(p.ids(), vec![B.to_owned()]);
    }

    #[test]
    fn only_sandbox_ids_count_as_pending_removals() {
        let root = tempfile::tempdir().unwrap();
        let p = Pending::new(root.path());
        p.record(A).unwrap();
        std::fs::write(root.path().join(DIR).join("notes.tmp"), "").unwrap();
        assert_eq!(p.ids(), vec![A.to_owned()]);
    }

    #[test]
    fn a_removal_made_by_another_process_meanwhile_is_not_made_twice() {
        let root = tempfile::tempdir().unwrap();
        let p = Pending::new(root.path());
        p.record(A).unwrap();
        // Another completer holds the lock; this one waits for it.
        let path = root.path().join(DIR).join(A);
        let held =
            Flock::lock(std::fs::File::open(&path).unwrap(), FlockArg::LockExclusive).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = {
            let p = p.clone();
            std::thread::spawn(move || {
                let mut called = false;
                let done = p.complete(A, || {
                    called = true;
                    Ok::<(), ()>(())
                });
                tx.send(()).unwrap();
                (done.unwrap(), called)
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(rx.try_recv().is_err(), "the second completer waits");
        // The first one made the removal and unlinked the file.
        std::fs::remove_file(&path).unwrap();
        drop(held);
        let (done, called) = waiter.join().unwrap();
        assert_eq!(done, Ok(Completion::NothingPending));
        assert!(!called, "the removal is not made again");
    }
}
