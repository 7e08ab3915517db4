//! The disk usage of a directory tree as Docker's `directory.Size`
//! counts it: the sizes of everything but directories (a symbolic link by
//! its own size), each hard-linked inode once, without following links.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The bytes under `dir` (0 when it cannot be read).
pub fn dir_size(dir: &Path) -> u64 {
    let mut seen = BTreeSet::new();
    let mut total = 0;
    let mut pending = vec![dir.to_owned()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            if meta.is_dir() {
                pending.push(entry.path());
            } else if meta.len() > 0 && seen.insert((meta.dev(), meta.ino())) {
                total += meta.len();
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_links_count_once_directories_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        std::fs::write(d.join("a/b/f"), vec![0u8; 1000]).unwrap();
        std::fs::write(d.join("g"), b"12345").unwrap();
        std::fs::hard_link(d.join("g"), d.join("a/g2")).unwrap();
        std::os::unix::fs::symlink("a/b/f", d.join("link")).unwrap();
        assert_eq!(dir_size(d), 1000 + 5 + "a/b/f".len() as u64);
        assert_eq!(dir_size(&d.join("missing")), 0);
    }
}
