//! What each entry of a layer tar means once unpacked for overlayfs, as
//! pure logic: paths made relative to the layer's root (never above it),
//! and Docker/OCI whiteouts turned into overlayfs ones (`.wh.name` → a 0:0
//! character device `name`; `.wh..wh..opq` → the directory made opaque).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// The prefix of a whiteout's file name.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// The file whose presence makes its directory opaque.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// The prefix of aufs bookkeeping files, which carry no content.
const AUFS_META_PREFIX: &str = ".wh..wh.";

/// The kind of a tar entry, as far as unpacking cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryType {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A hard link to an earlier entry.
    HardLink,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// Anything else (extension headers the reader did not consume).
    Other,
}

/// What to do for one entry, paths relative to the layer root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create or update a directory (the empty path is the root itself).
    Dir(PathBuf),
    /// Write a regular file.
    File(PathBuf),
    /// Create a symlink whose target is stored as it is (never followed
    /// while unpacking).
    Symlink {
        /// Where.
        path: PathBuf,
        /// The link's text.
        target: PathBuf,
    },
    /// Hard-link `path` to the earlier entry `target`.
    HardLink {
        /// Where.
        path: PathBuf,
        /// The earlier entry, relative to the root.
        target: PathBuf,
    },
    /// Create a device or fifo node of this type.
    Node(PathBuf, EntryType),
    /// An overlayfs whiteout: a 0:0 character device at this path.
    Whiteout(PathBuf),
    /// Mark this directory opaque (`trusted.overlay.opaque=y`).
    Opaque(PathBuf),
    /// Nothing to do.
    Skip,
}

/// Why an entry is refused.
pub type Refusal = String;

/// `raw` made relative to the layer root: a leading `/` is dropped
/// (absolute paths resolve under the root), `.` is ignored, `..` goes up
/// but never above the root.
pub fn clean_path(raw: &Path) -> Result<PathBuf, Refusal> {
    let mut out = PathBuf::new();
    for component in raw.components() {
        match component {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                if !out.pop() {
                    return Err("path leads outside the layer".to_owned());
                }
            }
            Component::Normal(name) => out.push(name),
        }
    }
    Ok(out)
}

/// What the entry `path` of type `kind` (with `link` its link name, for
/// links) asks for.
pub fn plan(path: &Path, kind: EntryType, link: Option<&Path>) -> Result<Action, Refusal> {
    let path = clean_path(path)?;
    let name = path.file_name().map_or(&b""[..], OsStr::as_bytes);
    if name == OPAQUE_MARKER.as_bytes() {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        return Ok(Action::Opaque(dir));
    }
    if name.starts_with(AUFS_META_PREFIX.as_bytes()) {
        return Ok(Action::Skip);
    }
    if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX.as_bytes()) {
        if hidden.is_empty() || hidden == b"." || hidden == b".." {
            return Err("whiteout of no file".to_owned());
        }
        return Ok(Action::Whiteout(
            path.with_file_name(OsStr::from_bytes(hidden)),
        ));
    }
    if path.as_os_str().is_empty() && kind != EntryType::Dir {
        return Err("only a directory may stand for the layer root".to_owned());
    }
    Ok(match kind {
        EntryType::Dir => Action::Dir(path),
        EntryType::File => Action::File(path),
        EntryType::Symlink => Action::Symlink {
            path,
            target: link.ok_or("symlink without a target")?.to_path_buf(),
        },
        EntryType::HardLink => {
            let target = clean_path(link.ok_or("hard link without a target")?)?;
            if target.as_os_str().is_empty() {
                return Err("hard link to the layer root".to_owned());
            }
            Action::HardLink { path, target }
        }
        EntryType::CharDevice | EntryType::BlockDevice | EntryType::Fifo => {
            Action::Node(path, kind)
        }
        EntryType::Other => Action::Skip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn paths_are_relative_to_the_root_and_never_above_it() {
        assert_eq!(clean_path(Path::new("./a/b/")).unwrap(), p("a/b"));
        assert_eq!(
            clean_path(Path::new("/etc/passwd")).unwrap(),
            p("etc/passwd")
        );
        assert_eq!(clean_path(Path::new("a/../b")).unwrap(), p("b"));
        assert_eq!(clean_path(Path::new("./")).unwrap(), p(""));
        assert!(clean_path(Path::new("../../x")).is_err());
        assert!(clean_path(Path::new("a/../../x")).is_err());
        assert!(clean_path(Path::new("/../x")).is_err());
    }

    #[test]
    fn whiteouts_become_overlay_whiteouts_and_opaque_markers() {
        assert_eq!(
            plan(Path::new("etc/.wh.motd"), EntryType::File, None),
            Ok(Action::Whiteout(p("etc/motd")))
        );
        assert_eq!(
            plan(Path::new(".wh.top"), EntryType::File, None),
            Ok(Action::Whiteout(p("top")))
        );
        assert_eq!(
            plan(Path::new("var/cache/.wh..wh..opq"), EntryType::File, None),
            Ok(Action::Opaque(p("var/cache")))
        );
        assert_eq!(
            plan(Path::new(".wh..wh..opq"), EntryType::File, None),
            Ok(Action::Opaque(p("")))
        );
        assert_eq!(
            plan(Path::new(".wh..wh.plnk/1"), EntryType::File, None),
            Ok(Action::File(p(".wh..wh.plnk/1")))
        );
        assert_eq!(
            plan(Path::new("a/.wh..wh.aufs"), EntryType::File, None),
            Ok(Action::Skip)
        );
        assert!(plan(Path::new("a/.wh."), EntryType::File, None).is_err());
        assert!(plan(Path::new("a/.wh.."), EntryType::File, None).is_err());
        assert!(plan(Path::new("../.wh.x"), EntryType::File, None).is_err());
    }

    #[test]
    fn links_keep_symlink_text_but_resolve_hard_link_targets_under_the_root() {
        assert_eq!(
            plan(
                Path::new("bin/sh"),
                EntryType::Symlink,
                Some(Path::new("/bin/busybox"))
            ),
            Ok(Action::Symlink {
                path: p("bin/sh"),
                target: p("/bin/busybox")
            })
        );
        assert_eq!(
            plan(
                Path::new("x"),
                EntryType::HardLink,
                Some(Path::new("/etc/passwd"))
            ),
            Ok(Action::HardLink {
                path: p("x"),
                target: p("etc/passwd")
            })
        );
        assert!(
            plan(
                Path::new("x"),
                EntryType::HardLink,
                Some(Path::new("../../etc/passwd"))
            )
            .is_err()
        );
        assert!(plan(Path::new("x"), EntryType::HardLink, Some(Path::new("/"))).is_err());
        assert!(plan(Path::new("x"), EntryType::Symlink, None).is_err());
    }

    #[test]
    fn the_root_may_only_be_a_directory() {
        assert_eq!(
            plan(Path::new("./"), EntryType::Dir, None),
            Ok(Action::Dir(p("")))
        );
        assert!(plan(Path::new("/"), EntryType::File, None).is_err());
        assert_eq!(
            plan(Path::new("dev/null"), EntryType::CharDevice, None),
            Ok(Action::Node(p("dev/null"), EntryType::CharDevice))
        );
    }
}
