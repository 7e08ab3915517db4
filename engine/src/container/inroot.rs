//! File-system access confined to one directory tree: paths are resolved
//! by the kernel (openat2) as if the tree's root were `/`, so a symbolic
//! link inside a container's root can never lead out of it; what was found
//! is then handled through its descriptor, never by path again.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{OFlag, OpenHow, ResolveFlag, open, openat2};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat};

/// Opens the directory `path` (a host path berth chose itself) as the
/// root of a confined tree.
pub fn open_root(path: &Path) -> io::Result<OwnedFd> {
    Ok(open(
        path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?)
}

/// `path` as openat2 takes it relative to a root: without leading `/`,
/// `.` for the root itself.
fn relative(path: &str) -> &str {
    let rel = path.trim_start_matches('/');
    if rel.is_empty() { "." } else { rel }
}

/// Opens `path` (absolute or relative, as if `root` were `/`) as an
/// `O_PATH` descriptor: symbolic links are resolved inside `root`, the
/// last component too when `follow`.
pub fn open_in(root: BorrowedFd<'_>, path: &str, follow: bool) -> io::Result<OwnedFd> {
    let mut flags = OFlag::O_PATH | OFlag::O_CLOEXEC;
    if !follow {
        flags |= OFlag::O_NOFOLLOW;
    }
    let how = OpenHow::new()
        .flags(flags)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    Ok(openat2(root, relative(path), how)?)
}

/// Opens `path` below `root` as an `O_PATH` descriptor, refusing any
/// symbolic link on the way (for walking overlay layers, whose entries
/// are compared as they are, never through links).
pub fn open_beneath(root: BorrowedFd<'_>, path: &str) -> io::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC)
        .resolve(
            ResolveFlag::RESOLVE_BENEATH
                | ResolveFlag::RESOLVE_NO_SYMLINKS
                | ResolveFlag::RESOLVE_NO_MAGICLINKS,
        );
    Ok(openat2(root, relative(path), how)?)
}

/// Opens the entry `name` of the directory `dir` as an `O_PATH`
/// descriptor, without following it.
pub fn open_child(dir: BorrowedFd<'_>, name: &std::ffi::OsStr) -> io::Result<OwnedFd> {
    Ok(nix::fcntl::openat(
        dir,
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?)
}

/// The `/proc/self/fd` path of `fd`: opening it reaches exactly the
/// object `fd` refers to.
pub fn proc_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Opens the object of the `O_PATH` descriptor `fd` again with `flags`
/// (to read a regular file, or list a directory).
pub fn reopen(fd: BorrowedFd<'_>, flags: OFlag) -> io::Result<OwnedFd> {
    Ok(open(
        &proc_path(fd),
        flags | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?)
}

/// The names in the directory `dir`, sorted bytewise (as Go's walks
/// visit them).
pub fn list(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    let mut names: Vec<OsString> = std::fs::read_dir(proc_path(dir))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<_>>()?;
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names)
}

/// `stat` of the object `fd` refers to.
pub fn stat(fd: BorrowedFd<'_>) -> io::Result<FileStat> {
    Ok(fstat(fd)?)
}

/// The file type bits of a stat.
pub fn kind(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits())
}

/// Whether a stat is a directory's.
pub fn is_dir(st: &FileStat) -> bool {
    kind(st) == SFlag::S_IFDIR
}

/// Whether a stat is an overlayfs whiteout's (a 0/0 character device).
pub fn is_whiteout(st: &FileStat) -> bool {
    kind(st) == SFlag::S_IFCHR && st.st_rdev == 0
}

/// Whether the directory `fd` is an overlayfs opaque directory.
pub fn is_opaque(fd: BorrowedFd<'_>) -> bool {
    reopen(fd, OFlag::O_RDONLY | OFlag::O_DIRECTORY)
        .ok()
        .and_then(|dir| {
            xattr::FileExt::get_xattr(&std::fs::File::from(dir), "trusted.overlay.opaque").ok()
        })
        .flatten()
        .is_some_and(|v| v == b"y")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn links_resolve_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/passwd"), "inside").unwrap();
        std::os::unix::fs::symlink("/etc", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../etc", root.join("up")).unwrap();
        let fd = open_root(root).unwrap();
        for path in ["/abs/passwd", "up/passwd", "/../etc/passwd"] {
            let file = open_in(fd.as_fd(), path, true).unwrap();
            let text = std::fs::read_to_string(proc_path(file.as_fd())).unwrap();
            assert_eq!(text, "inside", "{path}");
        }
        // Not following the last component gives the link itself.
        let link = open_in(fd.as_fd(), "abs", false).unwrap();
        assert_eq!(kind(&stat(link.as_fd()).unwrap()), SFlag::S_IFLNK);
        // A strict walk refuses links altogether.
        assert!(open_beneath(fd.as_fd(), "abs/passwd").is_err());
        assert!(open_beneath(fd.as_fd(), "etc/passwd").is_ok());
        assert_eq!(list(fd.as_fd()).unwrap(), ["abs", "etc", "up"]);
    }
}
