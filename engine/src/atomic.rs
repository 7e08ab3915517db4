//! Durable, atomic file replacement, shared by every store (images,
//! containers, volumes): a reader sees the old content or the new one,
//! never a part, and the new one survives a crash once the call returns.
//! Each store maps [`WriteError`] into its own error type, so that a failed
//! container write reports a container error.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A step of an atomic write that failed, on which path, and the system's
/// error.
#[derive(Debug, thiserror::Error)]
#[error("{op} {}: {source}", path.display())]
pub struct WriteError {
    /// What was being done (`create temporary file in`, `write`, `sync`,
    /// `rename into`, `sync directory`).
    pub op: &'static str,
    /// On which file or directory.
    pub path: PathBuf,
    /// The system's error.
    #[source]
    pub source: std::io::Error,
}

impl WriteError {
    fn at(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| Self { op, path, source }
    }
}

/// Replaces `path` with `bytes` atomically: a temporary file beside it,
/// fsync, rename, fsync of the directory.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let dir = parent(path);
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .map_err(WriteError::at("create temporary file in", dir))?;
    file.write_all(bytes)
        .map_err(WriteError::at("write", file.path()))?;
    file.as_file()
        .sync_all()
        .map_err(WriteError::at("sync", file.path()))?;
    file.persist(path)
        .map_err(|e| WriteError::at("rename into", path)(e.error))?;
    sync_parent(path)
}

/// Makes a rename in `path`'s directory durable.
pub fn sync_parent(path: &Path) -> Result<(), WriteError> {
    let dir = parent(path);
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(WriteError::at("sync directory", dir))
}

fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or_else(|| Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_replaces_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("record.json");
        write(&path, b"first, longer content").unwrap();
        write(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        // Nothing else is left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_write_names_its_step_and_path_and_keeps_the_errno() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/record.json");
        let e = write(&path, b"x").unwrap_err();
        assert_eq!(e.op, "create temporary file in");
        assert_eq!(e.path, dir.path().join("missing"));
        assert_eq!(e.source.kind(), std::io::ErrorKind::NotFound);
        let source = std::error::Error::source(&e).unwrap();
        assert!(source.downcast_ref::<std::io::Error>().is_some());
        assert!(
            e.to_string()
                .starts_with(&format!("create temporary file in {}: ", e.path.display())),
            "{e}"
        );
    }
}
