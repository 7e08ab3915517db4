//! Unpacks a layer tar into a directory that overlayfs can use as a lower
//! dir: whiteouts converted (see [`super::layer_path`]), hard links,
//! symlinks, permissions, ownership (as root), extended attributes and
//! mtimes kept. Nothing is written outside the root: every parent of an
//! entry must be a real directory of this layer (never a symlink), links
//! are never followed, and hard-link targets must be earlier entries.

use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::AT_FDCWD;
use nix::sys::stat::{Mode, SFlag, UtimensatFlags, makedev, mknod, utimensat};
use nix::sys::time::TimeSpec;

use super::error::{ImageError, Result};
use super::layer_path::{Action, EntryType, plan};

/// The xattr overlayfs reads to make a directory opaque.
const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
/// PAX records that carry extended attributes.
const PAX_XATTR_PREFIX: &str = "SCHILY.xattr.";
/// Attributes overlayfs acts on (opaque, redirect, metacopy…): only the
/// whiteout conversion may set them, never a tarball.
const OVERLAY_XATTR_PREFIX: &str = "trusted.overlay.";

/// Unpacks the layer tar `reader` into `root` (an existing, empty
/// directory) and returns the layer's size as Docker counts it: the
/// bytes of its regular files (hard links once) and symlinks.
pub fn unpack_layer(reader: impl Read, root: &Path) -> Result<u64> {
    let privileged = nix::unistd::geteuid().is_root();
    let mut archive = tar::Archive::new(reader);
    let mut dir_times: Vec<(PathBuf, u64)> = Vec::new();
    let mut size = 0u64;
    let entries = archive
        .entries()
        .map_err(ImageError::stream("reading layer tar"))?;
    for entry in entries {
        let mut entry = entry.map_err(ImageError::stream("reading layer tar entry"))?;
        let raw_path = entry
            .path()
            .map_err(ImageError::stream("reading layer tar entry path"))?
            .into_owned();
        let link = entry
            .link_name()
            .map_err(ImageError::stream("reading layer tar link name"))?
            .map(|l| l.into_owned());
        let kind = entry_type(entry.header().entry_type());
        let refuse = |reason: String| ImageError::Escape {
            entry: raw_path.display().to_string(),
            reason,
        };
        let action = plan(&raw_path, kind, link.as_deref()).map_err(refuse)?;
        let meta = Meta::of(&entry, privileged)?;
        match action {
            Action::Skip => {}
            Action::Dir(rel) => {
                let path = prepare(root, &rel, true).map_err(refuse)?;
                if !path.is_dir() {
                    fs::create_dir(&path).map_err(ImageError::io("create directory", &path))?;
                }
                meta.apply_owner_mode(&path)?;
                apply_xattrs(&mut entry, &path)?;
                dir_times.push((path, meta.mtime));
            }
            Action::File(rel) => {
                let path = prepare(root, &rel, false).map_err(refuse)?;
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&path)
                    .map_err(ImageError::io("create", &path))?;
                size += io::copy(&mut entry, &mut file).map_err(ImageError::io("write", &path))?;
                drop(file);
                meta.apply_owner_mode(&path)?;
                apply_xattrs(&mut entry, &path)?;
                set_mtime(&path, meta.mtime)?;
            }
            Action::Symlink { path: rel, target } => {
                let path = prepare(root, &rel, false).map_err(refuse)?;
                std::os::unix::fs::symlink(&target, &path)
                    .map_err(ImageError::io("create symlink", &path))?;
                size += target.as_os_str().len() as u64;
                meta.apply_owner(&path)?;
                set_mtime(&path, meta.mtime)?;
            }
            Action::HardLink { path: rel, target } => {
                let target = existing(root, &target).map_err(refuse)?;
                let path = prepare(root, &rel, false).map_err(refuse)?;
                fs::hard_link(&target, &path).map_err(ImageError::io("hard-link", &path))?;
            }
            Action::Node(rel, kind) => {
                let path = prepare(root, &rel, false).map_err(refuse)?;
                let (major, minor) = device_numbers(&entry)?;
                let flag = match kind {
                    EntryType::CharDevice => SFlag::S_IFCHR,
                    EntryType::BlockDevice => SFlag::S_IFBLK,
                    _ => SFlag::S_IFIFO,
                };
                match mknod(
                    &path,
                    flag,
                    Mode::from_bits_truncate(meta.mode),
                    makedev(major, minor),
                ) {
                    Ok(()) => {}
                    // Unprivileged, devices cannot be made; Docker skips them too.
                    Err(nix::errno::Errno::EPERM) if !privileged && kind != EntryType::Fifo => {
                        continue;
                    }
                    Err(e) => return Err(ImageError::io("create node", &path)(e.into())),
                }
                meta.apply_owner_mode(&path)?;
                set_mtime(&path, meta.mtime)?;
            }
            Action::Whiteout(rel) => {
                let path = prepare(root, &rel, false).map_err(refuse)?;
                mknod(&path, SFlag::S_IFCHR, Mode::empty(), makedev(0, 0))
                    .map_err(|e| ImageError::io("create whiteout", &path)(e.into()))?;
                meta.apply_owner(&path)?;
            }
            Action::Opaque(rel) => {
                let path = prepare(root, &rel, true).map_err(refuse)?;
                if !path.is_dir() {
                    fs::create_dir(&path).map_err(ImageError::io("create directory", &path))?;
                }
                xattr::set(&path, OPAQUE_XATTR, b"y")
                    .map_err(ImageError::io("mark opaque", &path))?;
            }
        }
    }
    // Directories last, deepest first: creating their entries moved them.
    for (path, mtime) in dir_times.iter().rev() {
        set_mtime(path, *mtime)?;
    }
    Ok(size)
}

/// What unpacking cares about of an entry's type.
fn entry_type(t: tar::EntryType) -> EntryType {
    match t {
        tar::EntryType::Regular | tar::EntryType::Continuous => EntryType::File,
        tar::EntryType::Directory => EntryType::Dir,
        tar::EntryType::Symlink => EntryType::Symlink,
        tar::EntryType::Link => EntryType::HardLink,
        tar::EntryType::Char => EntryType::CharDevice,
        tar::EntryType::Block => EntryType::BlockDevice,
        tar::EntryType::Fifo => EntryType::Fifo,
        _ => EntryType::Other,
    }
}

/// Makes the parents of `rel` exist as real directories under `root` and
/// clears whatever is at `rel` itself (but keeps a directory when
/// `keep_dir`). Refuses when a parent is anything but a directory: a
/// symlink there could lead outside the root.
fn prepare(root: &Path, rel: &Path, keep_dir: bool) -> Result<PathBuf, String> {
    let mut path = root.to_path_buf();
    let mut components = rel.components().peekable();
    while let Some(component) = components.next() {
        path.push(component);
        let last = components.peek().is_none();
        match fs::symlink_metadata(&path) {
            Ok(m) if last => {
                if !(m.is_dir() && keep_dir) {
                    let removed = if m.is_dir() {
                        fs::remove_dir_all(&path)
                    } else {
                        fs::remove_file(&path)
                    };
                    removed.map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
                }
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(format!(
                    "parent {} is not a directory (a link out of the layer?)",
                    path.display()
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && last => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&path)
                    .and_then(|()| fs::set_permissions(&path, fs::Permissions::from_mode(0o755)))
                    .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            }
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        }
    }
    Ok(path)
}

/// The earlier entry `rel` (a hard link's target): it must exist, must
/// not be a directory, and its parents must be real directories.
fn existing(root: &Path, rel: &Path) -> Result<PathBuf, String> {
    let mut path = root.to_path_buf();
    for component in rel.components() {
        if path != root && !fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            return Err(format!("link target goes through {}", path.display()));
        }
        path.push(component);
    }
    match fs::symlink_metadata(&path) {
        Ok(m) if !m.is_dir() => Ok(path),
        Ok(_) => Err("hard link to a directory".to_owned()),
        Err(_) => Err(format!(
            "hard link target {} is not in the layer",
            rel.display()
        )),
    }
}

/// An entry's ownership, mode and mtime.
#[derive(Debug, Clone, Copy)]
struct Meta {
    uid: Option<u32>,
    gid: Option<u32>,
    mode: u32,
    mtime: u64,
}

impl Meta {
    fn of<R: Read>(entry: &tar::Entry<'_, R>, privileged: bool) -> Result<Self> {
        let header = entry.header();
        // As Go's archive/tar, an empty numeric field reads as 0.
        let id = |v: io::Result<u64>| {
            privileged.then(|| u32::try_from(v.unwrap_or(0)).unwrap_or(u32::MAX))
        };
        Ok(Self {
            uid: id(header.uid()),
            gid: id(header.gid()),
            mode: header
                .mode()
                .map_err(ImageError::stream("reading layer tar header mode"))?
                & 0o7777,
            mtime: header.mtime().unwrap_or(0),
        })
    }

    /// Owner, then mode (a chown clears set-id bits).
    fn apply_owner_mode(&self, path: &Path) -> Result<()> {
        self.apply_owner(path)?;
        fs::set_permissions(path, fs::Permissions::from_mode(self.mode))
            .map_err(ImageError::io("chmod", path))
    }

    /// Owner only (symlinks and whiteouts), when running as root.
    fn apply_owner(&self, path: &Path) -> Result<()> {
        if self.uid.is_none() && self.gid.is_none() {
            return Ok(());
        }
        std::os::unix::fs::lchown(path, self.uid, self.gid).map_err(ImageError::io("chown", path))
    }
}

/// Sets the mtime (and atime) of `path` itself, not of a link's target.
fn set_mtime(path: &Path, mtime: u64) -> Result<()> {
    let secs = i64::try_from(mtime).unwrap_or(i64::MAX);
    let t = TimeSpec::new(secs, 0);
    utimensat(AT_FDCWD, path, &t, &t, UtimensatFlags::NoFollowSymlink)
        .map_err(|e| ImageError::io("set mtime of", path)(e.into()))
}

/// The extended attributes PAX records give the entry (e.g. file
/// capabilities). Attributes the file system or an unprivileged user
/// cannot set are skipped, as Docker does.
fn apply_xattrs<R: Read>(entry: &mut tar::Entry<'_, R>, path: &Path) -> Result<()> {
    let Some(extensions) = entry
        .pax_extensions()
        .map_err(ImageError::stream("reading layer tar PAX records"))?
    else {
        return Ok(());
    };
    for extension in extensions {
        let extension = extension.map_err(ImageError::stream("reading layer tar PAX record"))?;
        let Some(name) = extension
            .key()
            .ok()
            .and_then(|k| k.strip_prefix(PAX_XATTR_PREFIX))
            .filter(|name| !name.starts_with(OVERLAY_XATTR_PREFIX))
        else {
            continue;
        };
        match xattr::set(path, name, extension.value_bytes()) {
            Ok(()) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::ENOTSUP)) => {}
            Err(e) => return Err(ImageError::io("set xattr on", path)(e)),
        }
    }
    Ok(())
}

/// A device entry's major and minor numbers.
fn device_numbers<R: Read>(entry: &tar::Entry<'_, R>) -> Result<(u64, u64)> {
    let header = entry.header();
    let read = ImageError::stream("reading layer tar device numbers");
    let major = header.device_major().map_err(read)?.unwrap_or(0);
    let read = ImageError::stream("reading layer tar device numbers");
    let minor = header.device_minor().map_err(read)?.unwrap_or(0);
    Ok((u64::from(major), u64::from(minor)))
}
