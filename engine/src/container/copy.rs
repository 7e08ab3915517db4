//! `cp`: files and directories between a container and the host, with
//! Docker's rules (`archive.CopyInfo` and `PrepareArchiveCopy`): a source
//! is archived under its base name, and where it lands depends on whether
//! the destination exists and is a directory, and on the trailing `/` or
//! `/.` of the paths. Container paths are resolved inside the container's
//! root ([`super::inroot`]): through `/proc/<pid>/root` while it runs
//! (volumes included), through its overlay mounted for the copy when it
//! does not (and its volumes' host directories).

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::readlinkat;
use nix::sys::stat::SFlag;

use super::archive::{Owner, TarWriter, clean, extract, within};
use super::error::{ContainerError, Result};
use super::inroot::{self, is_dir, kind, open_in, stat};
use super::record::{Container, Status};
use super::rootfs::Overlay;

/// A `cp` that failed: as the engine words it (printed after `Error
/// response from daemon: `) or as the client does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyError {
    /// The container side failed.
    Daemon(String),
    /// The host side failed.
    Local(String),
}

impl std::fmt::Display for CopyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Daemon(m) => write!(f, "Error response from daemon: {m}"),
            Self::Local(m) => f.write_str(m),
        }
    }
}

fn local(e: impl std::fmt::Display) -> CopyError {
    CopyError::Local(e.to_string())
}

fn daemon(e: impl std::fmt::Display) -> CopyError {
    CopyError::Daemon(e.to_string())
}

/// An I/O error as Go words it (`no such file or directory`).
pub fn go_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let desc = nix::errno::Errno::from_raw(code).desc();
            let mut chars = desc.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_lowercase().chain(chars).collect()
            })
        }
        None => e.to_string(),
    }
}

/// Docker's `splitCpArg`: `CONTAINER:PATH`, or a local path (absolute,
/// or with no `:`, or starting with `.`).
pub fn split_cp_arg(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.starts_with('.') => (Some(c), p),
        _ => (None, arg),
    }
}

/// Go's `filepath.Base`.
pub fn go_base(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_owned();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_owned()
}

/// Go's `filepath.Dir`.
pub fn go_dir(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => clean(&path[..=i]),
        None => ".".to_owned(),
    }
}

/// Whether `path` names a directory's content (`…/.`).
pub fn specifies_current_dir(path: &str) -> bool {
    go_base(path) == "."
}

/// Whether `path` ends with `/`.
pub fn has_trailing_separator(path: &str) -> bool {
    path.ends_with('/')
}

/// Whether `path` must be a directory (`…/` or `…/.`).
pub fn asserts_directory(path: &str) -> bool {
    has_trailing_separator(path) || specifies_current_dir(path)
}

/// Docker's `PreserveTrailingDotOrSeparator`: the trailing `/.` or `/`
/// of `original` put back on the clean path.
pub fn preserve_trailing(cleaned: &str, original: &str) -> String {
    let mut out = cleaned.to_owned();
    if !specifies_current_dir(&out) && specifies_current_dir(original) {
        if !has_trailing_separator(&out) {
            out.push('/');
        }
        out.push('.');
    }
    if !has_trailing_separator(&out) && has_trailing_separator(original) {
        out.push('/');
    }
    out
}

/// Docker's `SplitPathDirEntry`: the directory of `path` and the entry in
/// it (`.` for `dir/.`).
pub fn split_path_dir_entry(path: &str) -> (String, String) {
    let mut cleaned = clean(path);
    if specifies_current_dir(path) {
        cleaned.push_str("/.");
    }
    (go_dir(&cleaned), go_base(&cleaned))
}

/// The name a source is archived under: its base name (`.` for its
/// content, and for `/`).
pub fn archive_name(path: &str) -> String {
    match split_path_dir_entry(path).1.as_str() {
        "/" => ".".to_owned(),
        base => base.to_owned(),
    }
}

/// What is at a copy's destination.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyInfo {
    /// The path (symbolic links at its end followed).
    pub path: String,
    /// Something is there.
    pub exists: bool,
    /// A directory is there.
    pub is_dir: bool,
}

/// Where an archive is extracted, and the name its top entry takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The directory to extract into.
    pub dir: String,
    /// The name of the source's top entry.
    pub name: String,
}

/// Docker's `PrepareArchiveCopy`: the source `src` (archived as
/// [`archive_name`]) to the destination `dst`.
pub fn prepare_archive_copy(src: &str, src_is_dir: bool, dst: &CopyInfo) -> Result<Plan, String> {
    let src_name = archive_name(src);
    let (dst_dir, dst_base) = split_path_dir_entry(&dst.path);
    if dst.exists && dst.is_dir {
        return Ok(Plan {
            dir: clean(&dst.path),
            name: src_name,
        });
    }
    if dst.exists && src_is_dir {
        return Err("cannot copy directory".to_owned());
    }
    if !dst.exists && !src_is_dir && asserts_directory(&dst.path) {
        return Err("no such directory".to_owned());
    }
    Ok(Plan {
        dir: dst_dir,
        name: dst_base,
    })
}

/// Docker's `CopyInfoDestinationPath` in `root`: what `path` holds, a
/// symbolic link at its end followed (a dangling one names the file to
/// make); the parent must exist when the path does not.
pub fn destination_info(root: BorrowedFd<'_>, path: &str) -> io::Result<CopyInfo> {
    let original = path;
    let mut path = path.to_owned();
    for _ in 0..=10 {
        match open_in(root, &path, false) {
            Ok(fd) => {
                let st = stat(fd.as_fd())?;
                if kind(&st) != SFlag::S_IFLNK {
                    return Ok(CopyInfo {
                        path,
                        exists: true,
                        is_dir: is_dir(&st),
                    });
                }
                let target = readlinkat(&fd, "")?.to_string_lossy().into_owned();
                path = if target.starts_with('/') {
                    clean(&target)
                } else {
                    clean(&format!("{}/{target}", split_path_dir_entry(&path).0))
                };
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let parent = split_path_dir_entry(&path).0;
                let fd = open_in(root, &parent, true)?;
                if !is_dir(&stat(fd.as_fd())?) {
                    return Err(io::Error::other("not a directory"));
                }
                return Ok(CopyInfo {
                    path,
                    exists: false,
                    is_dir: false,
                });
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!("too many symlinks in {original}")))
}

/// A host path as Docker's client takes it: absolute, its trailing `/`
/// or `/.` kept.
pub fn local_path(path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_owned()
    } else {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        format!("{}/{path}", cwd.display())
    };
    preserve_trailing(&clean(&joined), path)
}

/// A container path: absolute from the container's `/`, its trailing
/// `/` or `/.` kept.
pub fn container_path(path: &str) -> String {
    preserve_trailing(&clean(&format!("/{path}")), path)
}

/// A container's root file system for a copy: the running container's
/// own view, or its overlay mounted for the copy (unmounted when
/// dropped) and its volumes.
#[derive(Debug)]
pub struct ContainerRoot {
    main: OwnedFd,
    /// Stopped containers: volume and bind destinations, and their host
    /// directories.
    volumes: Vec<(String, OwnedFd)>,
    mounted: Option<Overlay>,
    /// The container.
    id: String,
}

impl ContainerRoot {
    /// The root of container `c`, whose directory is `dir`.
    pub fn open(dir: &Path, c: &Container) -> Result<Self> {
        let running = matches!(c.state.status, Status::Running | Status::Paused) && c.state.pid > 0;
        if running {
            let proc_root = PathBuf::from(format!("/proc/{}/root", c.state.pid));
            if let Ok(main) = inroot::open_root(&proc_root) {
                return Ok(Self {
                    main,
                    volumes: Vec::new(),
                    mounted: None,
                    id: c.id.clone(),
                });
            }
        }
        let overlay = Overlay::for_container(dir, c.lower_dirs.iter().map(PathBuf::from).collect());
        let mounted = if overlay.is_mounted() {
            None
        } else {
            overlay.mount()?;
            Some(overlay.clone())
        };
        let main =
            inroot::open_root(&overlay.merged).map_err(ContainerError::io("open", &overlay.merged));
        let main = match main {
            Ok(fd) => fd,
            Err(e) => {
                if let Some(o) = &mounted
                    && let Err(undo) = o.unmount()
                {
                    crate::warn::container(&c.id, "unmounting the root", &undo);
                }
                return Err(e);
            }
        };
        let mut volumes: Vec<(String, OwnedFd)> = c
            .host_config
            .mounts
            .iter()
            .filter(|m| m.kind == "bind" || m.kind == "volume")
            .filter_map(|m| {
                let fd = inroot::open_root(Path::new(&m.source)).ok()?;
                Some((clean(&m.destination), fd))
            })
            .collect();
        volumes.sort_by_key(|(d, _)| std::cmp::Reverse(d.len()));
        Ok(Self {
            main,
            volumes,
            mounted,
            id: c.id.clone(),
        })
    }

    /// The tree holding the container path `path`, the path in that
    /// tree, and where that tree is in the container (`""` for its root).
    pub fn locate(&self, path: &str) -> (BorrowedFd<'_>, String, &str) {
        let cleaned = clean(path);
        for (dest, fd) in &self.volumes {
            if within(&cleaned, dest) {
                let rest = path.get(dest.len()..).unwrap_or_default();
                let rest = if rest.starts_with('/') {
                    rest.to_owned()
                } else {
                    format!("/{rest}")
                };
                return (fd.as_fd(), rest, dest);
            }
        }
        (self.main.as_fd(), path.to_owned(), "")
    }
}

impl Drop for ContainerRoot {
    fn drop(&mut self) {
        if let Some(o) = &self.mounted
            && let Err(e) = o.unmount()
        {
            crate::warn::container(&self.id, "unmounting the root", &e);
        }
    }
}

/// Whether a copy into the clean container path `path` may write:
/// Docker's checks for read-only roots and volumes.
pub fn check_writable(c: &Container, path: &str) -> Result<(), CopyError> {
    let mount = c
        .host_config
        .mounts
        .iter()
        .filter(|m| {
            (m.kind == "bind" || m.kind == "volume") && within(path, &clean(&m.destination))
        })
        .max_by_key(|m| m.destination.len());
    match mount {
        Some(m) if !m.rw => Err(daemon("mounted volume is marked read-only")),
        None if c.host_config.readonly_rootfs => {
            Err(daemon("container rootfs is marked read-only"))
        }
        _ => Ok(()),
    }
}

/// Where a copy's source is: opened, stat'd, named.
struct Source {
    fd: OwnedFd,
    is_dir: bool,
}

/// Opens the source `path` in `root`: a link at its end followed with
/// `follow` (or a trailing `/` or `/.`), else archived as a link.
fn open_source(root: BorrowedFd<'_>, path: &str, follow: bool) -> io::Result<Source> {
    let follow = follow || asserts_directory(path);
    let fd = open_in(root, path, follow)?;
    let is_dir = is_dir(&stat(fd.as_fd())?);
    Ok(Source { fd, is_dir })
}

/// Archives `src` as `name` into `out`.
fn archive(src: &Source, name: &str, out: impl Write) -> io::Result<u64> {
    let mut w = TarWriter::new(out, false);
    w.add(&src.fd, name)?;
    let bytes = w.content_bytes;
    w.finish()?.flush()?;
    Ok(bytes)
}

/// Archives `src` as `name` in a thread and extracts it into `dir` of
/// `root`; returns the bytes extracted.
fn pipe_copy(
    src: Source,
    name: String,
    root: BorrowedFd<'_>,
    dir: &str,
    owner: Owner,
) -> io::Result<u64> {
    let (reader, writer) = io::pipe()?;
    let producer = std::thread::spawn(move || archive(&src, &name, writer));
    let extracted = extract(root, dir, reader, owner);
    let produced = producer
        .join()
        .map_err(|_| io::Error::other("the archiving thread failed"))?;
    let n = extracted?;
    produced?;
    Ok(n)
}

/// `cp CONTAINER:SRC DEST`: `name` is the container as given, `src` its
/// path as given; `dst` the host path, or `None` to write the archive to
/// `out`. Returns the bytes copied.
pub fn from_container(
    root: &ContainerRoot,
    name: &str,
    src: &str,
    follow: bool,
    dst: Option<&str>,
    out: &mut dyn Write,
) -> Result<u64, CopyError> {
    let src_path = container_path(src);
    let dst_path = dst.map(local_path);
    if let Some(d) = &dst_path {
        let parent = go_dir(&clean(d));
        if !Path::new(&parent).exists() {
            return Err(local(format!(
                "invalid output path: directory {parent:?} does not exist"
            )));
        }
    }
    let (tree, in_tree, _) = root.locate(&src_path);
    let source = open_source(tree, &in_tree, follow).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            daemon(format!("Could not find the file {src} in container {name}"))
        } else {
            daemon(e)
        }
    })?;
    let Some(dst_path) = dst_path else {
        return archive(&source, &archive_name(&src_path), out).map_err(local);
    };
    let host = inroot::open_root(Path::new("/")).map_err(local)?;
    let info = destination_info(host.as_fd(), &dst_path)
        .map_err(|e| local(format!("lstat {dst_path}: {}", go_error(&e))))?;
    let plan = prepare_archive_copy(&src_path, source.is_dir, &info).map_err(local)?;
    pipe_copy(source, plan.name, host.as_fd(), &plan.dir, Owner::Caller).map_err(local)
}

/// `cp SRC CONTAINER:DEST`: `name` is the container as given, `dst` its
/// path as given; `src` the host path, or `None` for an archive read from
/// `input`. Returns the bytes copied.
#[allow(clippy::too_many_arguments)]
pub fn to_container(
    root: &ContainerRoot,
    c: &Container,
    name: &str,
    src: Option<&str>,
    input: &mut dyn Read,
    dst: &str,
    follow: bool,
    owner: Owner,
) -> Result<u64, CopyError> {
    let dst_path = container_path(dst);
    let (tree, in_tree, prefix) = root.locate(&dst_path);
    // As Docker's client: an error here means "does not exist yet".
    let info = destination_info(tree, &in_tree).unwrap_or_else(|_| CopyInfo {
        path: in_tree.clone(),
        exists: false,
        is_dir: false,
    });
    if info.exists && !info.is_dir {
        let fd = open_in(tree, &info.path, false).map_err(daemon)?;
        if kind(&stat(fd.as_fd()).map_err(daemon)?) != SFlag::S_IFREG {
            return Err(local(format!(
                "destination \"{name}:{dst}\" must be a directory or a regular file"
            )));
        }
    }
    let (dir, source) = match src {
        None => {
            if !info.is_dir {
                return Err(local(format!(
                    "destination \"{name}:{dst}\" must be a directory"
                )));
            }
            (clean(&info.path), None)
        }
        Some(src) => {
            let src_path = local_path(src);
            let host = inroot::open_root(Path::new("/")).map_err(local)?;
            let source = open_source(host.as_fd(), &src_path, follow)
                .map_err(|e| local(format!("lstat {src_path}: {}", go_error(&e))))?;
            let plan = prepare_archive_copy(&src_path, source.is_dir, &info).map_err(local)?;
            (plan.dir, Some((source, plan.name)))
        }
    };
    // The extraction point, as the engine checks it.
    match open_in(tree, &dir, true) {
        Ok(fd) => {
            if !is_dir(&stat(fd.as_fd()).map_err(daemon)?) {
                return Err(daemon("extraction point is not a directory"));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(daemon(format!(
                "Could not find the file {} in container {name}",
                clean(&format!("{prefix}{dir}"))
            )));
        }
        Err(e) => return Err(daemon(e)),
    }
    check_writable(c, &dst_path)?;
    match source {
        None => extract(tree, &dir, input, owner).map_err(daemon),
        Some((source, top)) => pipe_copy(source, top, tree, &dir, owner).map_err(daemon),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_split_as_dockers() {
        assert_eq!(split_cp_arg("web:/etc"), (Some("web"), "/etc"));
        assert_eq!(split_cp_arg("/a:b"), (None, "/a:b"));
        assert_eq!(split_cp_arg("./a:b"), (None, "./a:b"));
        assert_eq!(split_cp_arg("file"), (None, "file"));
        assert_eq!(split_cp_arg("-"), (None, "-"));
        assert_eq!(split_cp_arg("c:"), (Some("c"), ""));
    }

    #[test]
    fn paths_keep_their_trailing_dot_or_slash() {
        assert_eq!(container_path("etc/"), "/etc/");
        assert_eq!(container_path("/etc/."), "/etc/.");
        assert_eq!(container_path("a/../b"), "/b");
        assert_eq!(container_path(""), "/.", "as Go: Base(\"\") is .");
        assert_eq!(split_path_dir_entry("/a/b/"), ("/a".into(), "b".into()));
        assert_eq!(split_path_dir_entry("/a/b/."), ("/a/b".into(), ".".into()));
        assert_eq!(split_path_dir_entry("/f"), ("/".into(), "f".into()));
        assert_eq!(archive_name("/"), ".");
        assert_eq!(go_dir("/a/b/"), "/a/b");
        assert_eq!(go_base("/a/b/"), "b");
    }

    fn info(path: &str, exists: bool, is_dir: bool) -> CopyInfo {
        CopyInfo {
            path: path.into(),
            exists,
            is_dir,
        }
    }

    #[test]
    fn destinations_follow_dockers_rules() {
        let plan = |s, d, i| prepare_archive_copy(s, d, &i);
        // Into an existing directory, under the source's name.
        assert_eq!(
            plan("/etc/hosts", false, info("/tmp", true, true)).unwrap(),
            Plan {
                dir: "/tmp".into(),
                name: "hosts".into()
            }
        );
        // A file to a new or existing file: named as the destination.
        assert_eq!(
            plan("/etc/hosts", false, info("/tmp/h", false, false)).unwrap(),
            Plan {
                dir: "/tmp".into(),
                name: "h".into()
            }
        );
        assert_eq!(
            plan("/etc/hosts", false, info("/tmp/h", true, false)).unwrap(),
            Plan {
                dir: "/tmp".into(),
                name: "h".into()
            }
        );
        // A directory to a new path: made with that name.
        assert_eq!(
            plan("/etc", true, info("/tmp/e", false, false)).unwrap(),
            Plan {
                dir: "/tmp".into(),
                name: "e".into()
            }
        );
        // Its content into an existing directory.
        assert_eq!(
            plan("/etc/.", true, info("/tmp", true, true)).unwrap(),
            Plan {
                dir: "/tmp".into(),
                name: ".".into()
            }
        );
        assert_eq!(
            plan("/etc", true, info("/tmp/f", true, false)).unwrap_err(),
            "cannot copy directory"
        );
        assert_eq!(
            plan("/f", false, info("/tmp/new/", false, false)).unwrap_err(),
            "no such directory"
        );
    }

    #[test]
    fn destination_links_are_followed_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("data")).unwrap();
        std::os::unix::fs::symlink("/data", d.join("link")).unwrap();
        std::os::unix::fs::symlink("data/new", d.join("dangling")).unwrap();
        let root = inroot::open_root(d).unwrap();
        assert_eq!(
            destination_info(root.as_fd(), "/link").unwrap(),
            info("/data", true, true)
        );
        assert_eq!(
            destination_info(root.as_fd(), "/dangling").unwrap(),
            info("/data/new", false, false)
        );
        assert!(destination_info(root.as_fd(), "/missing/x").is_err());
    }
}
