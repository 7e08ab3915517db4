//! Tar streams of container trees, written and extracted through
//! descriptors ([`super::inroot`]): what `cp` moves, and the layer a
//! `commit` makes (overlayfs whiteouts and opaque directories turned back
//! into `.wh.` entries, as Docker's overlay2 driver writes its diffs).
//! Links inside the tree are archived as links, never followed; entries
//! are extracted relative to directories resolved inside the root.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;

use nix::fcntl::{AtFlags, OFlag, readlinkat};
use nix::sys::stat::{FileStat, Mode, SFlag, UtimensatFlags, fstatat, makedev, mkdirat, mknodat};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, UnlinkatFlags, fchownat, linkat, symlinkat, unlinkat};
use tar::{EntryType, Header};

use super::inroot::{
    self, is_dir, is_opaque, is_whiteout, kind, list, open_child, open_in, reopen, stat,
};
use crate::image::layer_path::{OPAQUE_MARKER, WHITEOUT_PREFIX};

/// The extended attributes carried in archives (as Docker's archives
/// carry file capabilities).
const CAPABILITY_XATTR: &str = "security.capability";
/// How PAX headers name extended attributes.
const PAX_XATTR: &str = "SCHILY.xattr.";

/// `path` cleaned as Go's `path.Clean` does: one `/` between names, no
/// `.` names, `..` taking out the name before it (and nothing above
/// `/`); `.` when nothing is left.
pub fn clean(path: &str) -> String {
    crate::spec::path::clean_path(path)
}

/// Whether the clean path `path` is `dir` or below it.
pub fn within(path: &str, dir: &str) -> bool {
    dir == "/" || path == dir || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// `name` below `prefix` in an archive (`.` and empty prefixes add
/// nothing).
fn join_name(prefix: &str, name: &str) -> String {
    match prefix {
        "" | "." | "./" => name.to_owned(),
        p => format!("{}/{name}", p.trim_end_matches('/')),
    }
}

/// Decides, for an entry about to be archived (its archive name, its
/// stat, its descriptor), whether to leave it out.
pub type SkipFn<'a> = &'a dyn Fn(&str, &FileStat, BorrowedFd<'_>) -> bool;

/// Writes trees into a tar stream.
pub struct TarWriter<'a, W: Write> {
    builder: tar::Builder<W>,
    /// Hard-linked files seen, by device and inode: their first name.
    links: HashMap<(u64, u64), String>,
    /// Whiteouts and opaque directories become `.wh.` entries.
    overlay: bool,
    skip: Option<SkipFn<'a>>,
    /// Bytes of file content written.
    pub content_bytes: u64,
}

impl<W: Write> std::fmt::Debug for TarWriter<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TarWriter")
            .field("overlay", &self.overlay)
            .finish_non_exhaustive()
    }
}

impl<'a, W: Write> TarWriter<'a, W> {
    /// A writer to `out`; `overlay` converts overlayfs whiteouts.
    pub fn new(out: W, overlay: bool) -> Self {
        let mut builder = tar::Builder::new(out);
        builder.follow_symlinks(false);
        Self {
            builder,
            links: HashMap::new(),
            overlay,
            skip: None,
            content_bytes: 0,
        }
    }

    /// Leaves out the entries `skip` says so of.
    pub fn skip_when(mut self, skip: SkipFn<'a>) -> Self {
        self.skip = Some(skip);
        self
    }

    /// Adds the object of the `O_PATH` descriptor `fd` as `name`, and a
    /// directory's content below it.
    pub fn add(&mut self, fd: &OwnedFd, name: &str) -> io::Result<()> {
        let st = stat(fd.as_fd())?;
        if self.skip.is_some_and(|skip| skip(name, &st, fd.as_fd())) {
            return Ok(());
        }
        let k = kind(&st);
        if k == SFlag::S_IFDIR {
            let dir_name = format!("{}/", name.trim_end_matches('/'));
            let mut h = header(&st, EntryType::Directory);
            self.builder.append_data(&mut h, &dir_name, io::empty())?;
            if self.overlay && is_opaque(fd.as_fd()) {
                let mut h = header(&st, EntryType::Regular);
                h.set_mode(st.st_mode & 0o777);
                self.builder
                    .append_data(&mut h, join_name(name, OPAQUE_MARKER), io::empty())?;
            }
            return self.add_children(fd.as_fd(), name);
        }
        if self.overlay && is_whiteout(&st) {
            let (dir, base) = name.rsplit_once('/').unwrap_or(("", name));
            let mut h = header(&st, EntryType::Regular);
            h.set_mode(0o600);
            let whiteout = join_name(dir, &format!("{WHITEOUT_PREFIX}{base}"));
            return self.builder.append_data(&mut h, whiteout, io::empty());
        }
        match k {
            SFlag::S_IFREG => self.add_file(fd, &st, name),
            SFlag::S_IFLNK => {
                let target = readlinkat(fd, "")?;
                let mut h = header(&st, EntryType::Symlink);
                self.builder.append_link(&mut h, name, target)
            }
            SFlag::S_IFCHR | SFlag::S_IFBLK | SFlag::S_IFIFO => {
                let entry_type = match k {
                    SFlag::S_IFCHR => EntryType::Char,
                    SFlag::S_IFBLK => EntryType::Block,
                    _ => EntryType::Fifo,
                };
                let mut h = header(&st, entry_type);
                if k != SFlag::S_IFIFO {
                    h.set_device_major(libc::major(st.st_rdev))?;
                    h.set_device_minor(libc::minor(st.st_rdev))?;
                }
                self.builder.append_data(&mut h, name, io::empty())
            }
            // Sockets are not archived (nor by Docker).
            _ => Ok(()),
        }
    }

    fn add_file(&mut self, fd: &OwnedFd, st: &FileStat, name: &str) -> io::Result<()> {
        if st.st_nlink > 1 {
            let key = (st.st_dev, st.st_ino);
            if let Some(first) = self.links.get(&key) {
                let mut h = header(st, EntryType::Link);
                let first = first.clone();
                return self.builder.append_link(&mut h, name, first);
            }
            self.links.insert(key, name.to_owned());
        }
        let file = File::from(reopen(fd.as_fd(), OFlag::O_RDONLY)?);
        if let Ok(Some(cap)) = xattr::FileExt::get_xattr(&file, CAPABILITY_XATTR) {
            let key = format!("{PAX_XATTR}{CAPABILITY_XATTR}");
            self.builder
                .append_pax_extensions([(key.as_str(), cap.as_slice())])?;
        }
        let size = u64::try_from(st.st_size).unwrap_or(0);
        let mut h = header(st, EntryType::Regular);
        h.set_size(size);
        // The size is the stat's: a file that changes meanwhile is cut
        // or padded, never lets the archive go out of step.
        let mut data = file.take(size).chain(io::repeat(0).take(size));
        let mut limited = (&mut data).take(size);
        self.builder.append_data(&mut h, name, &mut limited)?;
        self.content_bytes += size;
        Ok(())
    }

    /// Adds the content of the directory `dir`, named below `prefix`.
    pub fn add_children(&mut self, dir: BorrowedFd<'_>, prefix: &str) -> io::Result<()> {
        for child in list(dir)? {
            let fd = match open_child(dir, &child) {
                Ok(fd) => fd,
                // Gone meanwhile.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let name = join_name(prefix, &String::from_utf8_lossy(child.as_bytes()));
            self.add(&fd, &name)?;
        }
        Ok(())
    }

    /// Ends the archive; returns the output.
    pub fn finish(self) -> io::Result<W> {
        self.builder.into_inner()
    }
}

/// A header with the metadata of `st`.
fn header(st: &FileStat, entry_type: EntryType) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(entry_type);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(st.st_uid.into());
    h.set_gid(st.st_gid.into());
    h.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
    h.set_size(0);
    h
}

/// Who owns what an extraction makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// berth's own user (copies to the host, as Docker's client does).
    Caller,
    /// root (copies into a container).
    Root,
    /// The uid and gid the archive records (`cp -a`).
    Archive,
}

fn other(message: String) -> io::Error {
    io::Error::other(message)
}

/// Extracts the tar stream `input` into the directory `dest` (a clean
/// absolute path inside `root`, which must exist), as Docker's `Untar`
/// with `NoOverwriteDirNonDir`: missing parents made, files replaced,
/// directories merged, a directory never replaced by a non-directory or
/// the other way round, no entry outside `dest`. Returns the bytes read.
pub fn extract(
    root: BorrowedFd<'_>,
    dest: &str,
    input: impl Read,
    owner: Owner,
) -> io::Result<u64> {
    let mut counted = CountingReader { inner: input, n: 0 };
    let mut archive = tar::Archive::new(&mut counted);
    let mut dir_times: Vec<(String, u64)> = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(path) = entry_path(dest, &raw)? else {
            continue;
        };
        let entry_type = entry.header().entry_type();
        if !matches!(
            entry_type,
            EntryType::Regular
                | EntryType::Continuous
                | EntryType::Directory
                | EntryType::Symlink
                | EntryType::Link
                | EntryType::Char
                | EntryType::Block
                | EntryType::Fifo
        ) {
            continue;
        }
        let mtime = entry.header().mtime().unwrap_or(0);
        if path == dest {
            // The destination itself (a `./` entry): its metadata only.
            if entry_type == EntryType::Directory {
                let fd = open_in(root, dest, true)?;
                apply_meta_fd(&fd, &mut entry, owner)?;
                dir_times.push((path, mtime));
            }
            continue;
        }
        let (parent_path, base) = split_parent(&path);
        let parent = ensure_dir(root, parent_path)?;
        let base = OsString::from(base);
        make_entry(root, dest, &parent, &base, &path, &mut entry, owner)?;
        if entry_type == EntryType::Directory {
            dir_times.push((path.clone(), mtime));
        } else {
            set_mtime(&parent, &base, mtime)?;
        }
    }
    // Directories last, deepest first: filling them moved their times.
    for (path, mtime) in dir_times.iter().rev() {
        let (parent_path, base) = split_parent(path);
        if base.is_empty() {
            continue;
        }
        if let Ok(parent) = open_in(root, parent_path, true) {
            set_mtime(&parent, OsStr::new(base), *mtime)?;
        }
    }
    Ok(counted.n)
}

/// The parent directory of the clean absolute path `path` (`/` at the
/// top) and its last name.
fn split_parent(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some(("", base)) => ("/", base),
        Some((parent, base)) => (parent, base),
        None => ("/", path),
    }
}

/// The clean path in the root of the archive entry `raw` extracted into
/// `dest`; `None` for an empty name; an error for one outside `dest`.
fn entry_path(dest: &str, raw: &str) -> io::Result<Option<String>> {
    let name = clean(raw);
    if raw.is_empty() {
        return Ok(None);
    }
    if name == ".." || name.starts_with("../") {
        return Err(other(format!("{raw:?} is outside of {dest:?}")));
    }
    Ok(Some(clean(&format!("{dest}/{name}"))))
}

/// The directory `path` of the root, made (with its missing parents,
/// mode 0755) when missing.
fn ensure_dir(root: BorrowedFd<'_>, path: &str) -> io::Result<OwnedFd> {
    match open_in(root, path, true) {
        Ok(fd) => {
            if is_dir(&stat(fd.as_fd())?) {
                Ok(fd)
            } else {
                Err(other(format!("{path}: not a directory")))
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound && path != "/" => {
            let (parent_path, base) = split_parent(path);
            let parent = ensure_dir(root, parent_path)?;
            match mkdirat(&parent, base, Mode::from_bits_truncate(0o755)) {
                Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                Err(e) => return Err(e.into()),
            }
            let fd = open_in(root, path, true)?;
            if is_dir(&stat(fd.as_fd())?) {
                Ok(fd)
            } else {
                Err(other(format!("{path}: not a directory")))
            }
        }
        Err(e) => Err(e),
    }
}

/// Makes the entry `base` of the directory `parent` (at `path` in the
/// root) from the archive entry.
fn make_entry<R: Read>(
    root: BorrowedFd<'_>,
    dest: &str,
    parent: &OwnedFd,
    base: &OsStr,
    path: &str,
    entry: &mut tar::Entry<'_, R>,
    owner: Owner,
) -> io::Result<()> {
    let entry_type = entry.header().entry_type();
    let wants_dir = entry_type == EntryType::Directory;
    match fstatat(parent, base, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) if is_dir(&st) && wants_dir => {}
        Ok(st) if is_dir(&st) => {
            return Err(other(format!(
                "cannot overwrite directory {path:?} with non-directory {dest:?}"
            )));
        }
        Ok(_) if wants_dir => {
            return Err(other(format!(
                "cannot overwrite non-directory {path:?} with directory {dest:?}"
            )));
        }
        Ok(_) => unlinkat(parent, base, UnlinkatFlags::NoRemoveDir)?,
        Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(e.into()),
    }
    let mode = Mode::from_bits_truncate(entry.header().mode()? & 0o7777);
    match entry_type {
        EntryType::Directory => match mkdirat(parent, base, Mode::from_bits_truncate(0o700)) {
            Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
            Err(e) => return Err(e.into()),
        },
        EntryType::Regular | EntryType::Continuous => {
            let fd = nix::fcntl::openat(
                parent,
                base,
                OFlag::O_WRONLY
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            )?;
            let mut file = File::from(fd);
            io::copy(entry, &mut file)?;
            file.flush()?;
        }
        EntryType::Symlink => {
            let target = entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default();
            let dir = split_parent(path).0;
            if !within(&clean(&format!("{dir}/{target}")), dest) {
                return Err(other(format!("invalid symlink {path:?} -> {target:?}")));
            }
            symlinkat(target.as_str(), parent, base)?;
        }
        EntryType::Link => {
            let target = entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default();
            let target_path = clean(&format!("{dest}/{target}"));
            if !within(&target_path, dest) {
                return Err(other(format!(
                    "invalid hardlink {target_path:?} -> {target:?}"
                )));
            }
            let target_fd = open_in(root, &target_path, false)?;
            // By descriptor (needs CAP_DAC_READ_SEARCH), else through its
            // /proc link, which reaches the same file.
            if linkat(&target_fd, "", parent, base, AtFlags::AT_EMPTY_PATH).is_err() {
                linkat(
                    nix::fcntl::AT_FDCWD,
                    &inroot::proc_path(target_fd.as_fd()),
                    parent,
                    base,
                    AtFlags::AT_SYMLINK_FOLLOW,
                )?;
            }
        }
        EntryType::Char | EntryType::Block | EntryType::Fifo => {
            let (flag, dev) = match entry_type {
                EntryType::Fifo => (SFlag::S_IFIFO, 0),
                t => {
                    let major = entry.header().device_major()?.unwrap_or(0);
                    let minor = entry.header().device_minor()?.unwrap_or(0);
                    let flag = if t == EntryType::Char {
                        SFlag::S_IFCHR
                    } else {
                        SFlag::S_IFBLK
                    };
                    (flag, makedev(major.into(), minor.into()))
                }
            };
            mknodat(parent, base, flag, mode, dev)?;
        }
        _ => return Ok(()),
    }
    let fd = open_child(parent.as_fd(), base)?;
    apply_meta_fd(&fd, entry, owner)
}

/// Owner, mode and file capabilities of the made entry `fd` (an `O_PATH`
/// descriptor of exactly that object).
fn apply_meta_fd<R: Read>(
    fd: &OwnedFd,
    entry: &mut tar::Entry<'_, R>,
    owner: Owner,
) -> io::Result<()> {
    let st = stat(fd.as_fd())?;
    let ids = match owner {
        Owner::Caller => None,
        Owner::Root => Some((0, 0)),
        Owner::Archive => Some((
            u32::try_from(entry.header().uid()?).unwrap_or(0),
            u32::try_from(entry.header().gid()?).unwrap_or(0),
        )),
    };
    if let Some((uid, gid)) = ids {
        fchownat(
            fd,
            "",
            Some(Uid::from_raw(uid)),
            Some(Gid::from_raw(gid)),
            AtFlags::AT_EMPTY_PATH | AtFlags::AT_SYMLINK_NOFOLLOW,
        )?;
    }
    if kind(&st) == SFlag::S_IFLNK {
        return Ok(());
    }
    let proc = inroot::proc_path(fd.as_fd());
    let mode = entry.header().mode()? & 0o7777;
    std::fs::set_permissions(&proc, std::fs::Permissions::from_mode(mode))?;
    if kind(&st) == SFlag::S_IFREG
        && let Some(extensions) = entry.pax_extensions()?
    {
        let wanted = format!("{PAX_XATTR}{CAPABILITY_XATTR}");
        for ext in extensions.flatten() {
            if ext.key().is_ok_and(|k| k == wanted) {
                let file = File::from(reopen(fd.as_fd(), OFlag::O_RDONLY)?);
                xattr::FileExt::set_xattr(&file, CAPABILITY_XATTR, ext.value_bytes())?;
            }
        }
    }
    Ok(())
}

/// Sets the modification (and access) time of the entry `base` of
/// `parent`, not following it.
fn set_mtime(parent: &OwnedFd, base: &OsStr, mtime: u64) -> io::Result<()> {
    let t = TimeSpec::new(i64::try_from(mtime).unwrap_or(0), 0);
    nix::sys::stat::utimensat(parent, base, &t, &t, UtimensatFlags::NoFollowSymlink)?;
    Ok(())
}

/// Counts what passes.
struct CountingReader<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

/// The names of an archive's entries, in order (for tests and checks).
pub fn entry_names(input: impl Read) -> io::Result<Vec<String>> {
    let mut archive = tar::Archive::new(input);
    let mut out = Vec::new();
    for entry in archive.entries()? {
        let entry = entry?;
        out.push(String::from_utf8_lossy(&entry.path_bytes()).into_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_clean_as_go_does() {
        for (input, want) in [
            ("", "."),
            ("/", "/"),
            ("a//b/./c/", "a/b/c"),
            ("/../x", "/x"),
            ("a/../../x", "../x"),
            ("/a/b/..", "/a"),
            ("./", "."),
        ] {
            assert_eq!(clean(input), want, "{input}");
        }
        assert!(within("/a/b", "/a"));
        assert!(!within("/ab", "/a"));
        assert!(within("/x", "/"));
    }

    #[test]
    fn entries_outside_the_destination_are_refused() {
        assert_eq!(entry_path("/d", "a/b").unwrap().unwrap(), "/d/a/b");
        assert_eq!(entry_path("/d", "/a").unwrap().unwrap(), "/d/a");
        assert_eq!(entry_path("/d", "./").unwrap().unwrap(), "/d");
        assert!(entry_path("/d", "../a").is_err());
        assert!(entry_path("/d", "a/../../b").is_err());
    }

    #[test]
    fn a_tree_round_trips_and_links_stay_links() {
        let src = tempfile::tempdir().unwrap();
        let s = src.path();
        std::fs::create_dir_all(s.join("top/sub")).unwrap();
        std::fs::write(s.join("top/sub/f"), "data").unwrap();
        std::fs::set_permissions(s.join("top/sub/f"), std::fs::Permissions::from_mode(0o751))
            .unwrap();
        std::fs::hard_link(s.join("top/sub/f"), s.join("top/hard")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", s.join("top/link")).unwrap();
        let root = inroot::open_root(s).unwrap();
        let top = open_in(root.as_fd(), "/top", false).unwrap();
        let mut w = TarWriter::new(Vec::new(), false);
        w.add(&top, "top").unwrap();
        let bytes = w.finish().unwrap();
        let names = entry_names(bytes.as_slice()).unwrap();
        assert_eq!(
            names,
            ["top/", "top/hard", "top/link", "top/sub/", "top/sub/f"]
        );
        let dst = tempfile::tempdir().unwrap();
        let droot = inroot::open_root(dst.path()).unwrap();
        extract(droot.as_fd(), "/", bytes.as_slice(), Owner::Caller).unwrap();
        let d = dst.path();
        assert_eq!(
            std::fs::read_to_string(d.join("top/sub/f")).unwrap(),
            "data"
        );
        let mode = std::fs::metadata(d.join("top/sub/f"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o751);
        assert_eq!(std::fs::read_to_string(d.join("top/hard")).unwrap(), "data");
        assert_eq!(
            std::fs::read_link(d.join("top/link")).unwrap(),
            std::path::Path::new("/etc/passwd")
        );
        // A second extraction replaces files; a file over a directory is
        // refused.
        extract(droot.as_fd(), "/", bytes.as_slice(), Owner::Caller).unwrap();
        let mut w = TarWriter::new(Vec::new(), false);
        let f = open_in(root.as_fd(), "/top/sub/f", false).unwrap();
        w.add(&f, "top").unwrap();
        let file_as_top = w.finish().unwrap();
        let err = extract(droot.as_fd(), "/", file_as_top.as_slice(), Owner::Caller)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot overwrite directory"), "{err}");
    }

    #[test]
    fn extraction_stays_in_the_root_through_links() {
        let dst = tempfile::tempdir().unwrap();
        let d = dst.path();
        let outside = tempfile::tempdir().unwrap();
        // A link in the root pointing at an absolute host directory.
        std::os::unix::fs::symlink(outside.path(), d.join("escape")).unwrap();
        let mut b = tar::Builder::new(Vec::new());
        let mut h = Header::new_gnu();
        h.set_size(2);
        h.set_mode(0o644);
        b.append_data(&mut h, "escape/x", &b"hi"[..]).unwrap();
        let bytes = b.into_inner().unwrap();
        let root = inroot::open_root(d).unwrap();
        let _ = extract(root.as_fd(), "/", bytes.as_slice(), Owner::Caller);
        assert!(
            !outside.path().join("x").exists(),
            "written outside the root"
        );
    }
}
