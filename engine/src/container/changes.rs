//! What a container changed in its root: its overlay upper directory read
//! against the image's layers, as Docker's `OverlayChanges` reports it
//! for `docker diff`: `A` added, `C` changed, `D` deleted (a whiteout, or
//! an opaque directory that hides a lower one), in the order of a walk of
//! the upper directory (names sorted bytewise, a directory before its
//! content), with the parent of an added or deleted entry reported
//! changed. The mount points the runtime makes for `/etc/hosts` and the
//! like are left out, as Docker keeps them in an init layer.
//!
//! The walk is pure over [`Tree`]; [`FdTree`] reads a real directory
//! through descriptors, refusing any symbolic link on the way.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::sys::stat::SFlag;

use super::inroot;

/// The kind of one change, as Docker prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `C`.
    Modified,
    /// `A`.
    Added,
    /// `D`.
    Deleted,
}

impl Kind {
    /// Docker's letter.
    pub fn letter(self) -> char {
        match self {
            Self::Modified => 'C',
            Self::Added => 'A',
            Self::Deleted => 'D',
        }
    }
}

/// One change: an absolute path in the container and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// `/etc/passwd`.
    pub path: String,
    /// What happened to it.
    pub kind: Kind,
}

/// What a tree holds at one path (not following links).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// `st_mode` (type and permission bits).
    pub mode: u32,
    /// Size in bytes.
    pub size: i64,
    /// Modification time: seconds and nanoseconds.
    pub mtime: (i64, i64),
    /// A whiteout (0/0 character device).
    pub whiteout: bool,
    /// An opaque directory.
    pub opaque: bool,
}

impl Node {
    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & SFlag::S_IFMT.bits() == SFlag::S_IFDIR.bits()
    }

    /// Whether it is a regular file.
    pub fn is_file(&self) -> bool {
        self.mode & SFlag::S_IFMT.bits() == SFlag::S_IFREG.bits()
    }
}

/// A directory tree, addressed by absolute paths (`/` its root).
pub trait Tree {
    /// The entry at `path`, links not followed; `None` when there is
    /// none (or a link stands on the way).
    fn node(&self, path: &str) -> Option<Node>;
    /// The names in the directory `path`, sorted bytewise.
    fn children(&self, path: &str) -> Vec<String>;
}

/// The paths the runtime mounts over (Docker's init layer): their mount
/// points are no change of the container's.
const RUNTIME_MOUNT_POINTS: [&str; 11] = [
    "/.dockerenv",
    "/dev",
    "/dev/console",
    "/dev/pts",
    "/dev/shm",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/mtab",
    "/etc/resolv.conf",
    "/proc",
    "/sys",
];

/// Whether the upper entry at `path` is only a mount point the runtime
/// made: one of [`RUNTIME_MOUNT_POINTS`], an empty file or directory.
pub fn is_runtime_mount_point(path: &str, node: &Node, empty_dir: impl FnOnce() -> bool) -> bool {
    RUNTIME_MOUNT_POINTS.contains(&path)
        && ((node.is_file() && node.size == 0) || (node.is_dir() && empty_dir()))
}

/// Go's `sameFsTime`: equal, or equal seconds when either lacks
/// nanoseconds.
fn same_time(a: (i64, i64), b: (i64, i64)) -> bool {
    a == b || (a.0 == b.0 && (a.1 == 0 || b.1 == 0))
}

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn parent_of(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((dir, _)) => dir,
    }
}

/// What a lower layer says of a path.
enum Probe {
    Found(Node),
    Absent,
    Continue,
}

/// `path` in one lower layer: found, hidden by the layer (a whiteout or a
/// non-directory on the way, or an opaque directory above it), or not
/// there (the layers below decide).
fn probe(layer: &dyn Tree, path: &str) -> Probe {
    let mut opaque_above = false;
    let mut prefix = String::new();
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        prefix.push('/');
        prefix.push_str(part);
        let last = i + 1 == parts.len();
        match layer.node(&prefix) {
            None if opaque_above => return Probe::Absent,
            None => return Probe::Continue,
            Some(n) if n.whiteout => return Probe::Absent,
            Some(n) if last => return Probe::Found(n),
            Some(n) if !n.is_dir() => return Probe::Absent,
            Some(n) => opaque_above |= n.opaque,
        }
    }
    Probe::Continue
}

/// `path` as the layers `lowers` (top first) show it together.
pub fn in_lowers(lowers: &[&dyn Tree], path: &str) -> Option<Node> {
    for layer in lowers {
        match probe(*layer, path) {
            Probe::Found(n) => return Some(n),
            Probe::Absent => return None,
            Probe::Continue => {}
        }
    }
    None
}

/// The changes of the upper tree `upper` over the layers `lowers` (top
/// first).
pub fn changes(upper: &dyn Tree, lowers: &[&dyn Tree]) -> Vec<Change> {
    let mut walk = Walk {
        upper,
        lowers,
        out: Vec::new(),
        changed_dirs: std::collections::HashSet::new(),
    };
    walk.dir("/", false);
    walk.out
}

struct Walk<'a> {
    upper: &'a dyn Tree,
    lowers: &'a [&'a dyn Tree],
    out: Vec<Change>,
    changed_dirs: std::collections::HashSet<String>,
}

impl Walk<'_> {
    /// The content of the upper directory `dir`; `hidden` when an opaque
    /// directory above hides the lower layers.
    fn dir(&mut self, dir: &str, hidden: bool) {
        for name in self.upper.children(dir) {
            let path = join(dir, &name);
            let Some(node) = self.upper.node(&path) else {
                continue;
            };
            let recurse = node.is_dir();
            let below_hidden = self.entry(&path, &node, hidden);
            if recurse {
                self.dir(&path, below_hidden);
            }
        }
    }

    /// Records the upper entry `path`; returns whether the lower layers
    /// are hidden below it.
    fn entry(&mut self, path: &str, node: &Node, hidden: bool) -> bool {
        let lower = if hidden {
            None
        } else {
            in_lowers(self.lowers, path)
        };
        let upper = self.upper;
        if is_runtime_mount_point(path, node, || upper.children(path).is_empty()) {
            return hidden;
        }
        let kind = if node.whiteout || (node.is_dir() && node.opaque && lower.is_some()) {
            Kind::Deleted
        } else if let Some(low) = lower {
            if node.is_dir() && low.is_dir() && self.same_dir(path, node, &low) {
                return hidden;
            }
            Kind::Modified
        } else {
            Kind::Added
        };
        if node.is_dir() {
            self.changed_dirs.insert(path.to_owned());
        }
        if matches!(kind, Kind::Added | Kind::Deleted) {
            let parent = parent_of(path);
            if parent != "/" && self.changed_dirs.insert(parent.to_owned()) {
                self.out.push(Change {
                    path: parent.to_owned(),
                    kind: Kind::Modified,
                });
            }
        }
        self.out.push(Change {
            path: path.to_owned(),
            kind,
        });
        hidden || (node.is_dir() && node.opaque)
    }

    /// Whether the upper directory is the lower one unchanged: same
    /// mode, size and time; for a directory holding runtime mount points
    /// (whose making changed it), the same mode.
    fn same_dir(&self, path: &str, upper: &Node, lower: &Node) -> bool {
        if upper.mode != lower.mode {
            return false;
        }
        let holds_mount_points = self.upper.children(path).iter().any(|name| {
            let child = join(path, name);
            self.upper.node(&child).is_some_and(|n| {
                is_runtime_mount_point(&child, &n, || self.upper.children(&child).is_empty())
            })
        });
        holds_mount_points || (upper.size == lower.size && same_time(upper.mtime, lower.mtime))
    }
}

/// A real directory as a [`Tree`], read through descriptors below its
/// root (a link on the way reads as nothing).
#[derive(Debug)]
pub struct FdTree {
    root: OwnedFd,
}

impl FdTree {
    /// The tree at `dir`.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        Ok(Self {
            root: inroot::open_root(dir)?,
        })
    }
}

impl Tree for FdTree {
    fn node(&self, path: &str) -> Option<Node> {
        let fd = inroot::open_beneath(self.root.as_fd(), path).ok()?;
        let st = inroot::stat(fd.as_fd()).ok()?;
        let dir = inroot::is_dir(&st);
        Some(Node {
            mode: st.st_mode,
            size: st.st_size,
            mtime: (st.st_mtime, st.st_mtime_nsec),
            whiteout: inroot::is_whiteout(&st),
            opaque: dir && inroot::is_opaque(fd.as_fd()),
        })
    }

    fn children(&self, path: &str) -> Vec<String> {
        let Ok(fd) = inroot::open_beneath(self.root.as_fd(), path) else {
            return Vec::new();
        };
        if !inroot::stat(fd.as_fd()).is_ok_and(|st| inroot::is_dir(&st)) {
            return Vec::new();
        }
        inroot::list(fd.as_fd())
            .unwrap_or_default()
            .iter()
            .map(|n| String::from_utf8_lossy(n.as_bytes()).into_owned())
            .collect()
    }
}

/// The changes of the container whose overlay upper directory is
/// `upper`, over the layer directories `lowers` (top first).
pub fn container_changes(
    upper: &Path,
    lowers: &[std::path::PathBuf],
) -> std::io::Result<Vec<Change>> {
    if !upper.exists() {
        return Ok(Vec::new());
    }
    let upper = FdTree::open(upper)?;
    let lowers: Vec<FdTree> = lowers
        .iter()
        .map(|l| FdTree::open(l))
        .collect::<std::io::Result<_>>()?;
    let refs: Vec<&dyn Tree> = lowers.iter().map(|l| l as &dyn Tree).collect();
    Ok(changes(&upper, &refs))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A tree in memory: path → node.
    #[derive(Default)]
    struct Mem(BTreeMap<String, Node>);

    const DIR: u32 = 0o040_755;
    const FILE: u32 = 0o100_644;

    impl Mem {
        fn with(mut self, path: &str, mode: u32) -> Self {
            self.0.insert(
                path.to_owned(),
                Node {
                    mode,
                    size: 0,
                    mtime: (1, 0),
                    whiteout: false,
                    opaque: false,
                },
            );
            self
        }
        fn whiteout(mut self, path: &str) -> Self {
            self = self.with(path, 0o020_000);
            self.0.get_mut(path).unwrap().whiteout = true;
            self
        }
        fn opaque(mut self, path: &str) -> Self {
            self = self.with(path, DIR);
            self.0.get_mut(path).unwrap().opaque = true;
            self
        }
        fn touched(mut self, path: &str) -> Self {
            self.0.get_mut(path).unwrap().mtime = (2, 0);
            self
        }
    }

    impl Tree for Mem {
        fn node(&self, path: &str) -> Option<Node> {
            self.0.get(path).copied()
        }
        fn children(&self, path: &str) -> Vec<String> {
            let prefix = if path == "/" {
                "/".to_owned()
            } else {
                format!("{path}/")
            };
            let mut names: Vec<String> = self
                .0
                .keys()
                .filter_map(|k| k.strip_prefix(&prefix))
                .filter(|rest| !rest.is_empty() && !rest.contains('/'))
                .map(str::to_owned)
                .collect();
            names.sort();
            names
        }
    }

    fn render(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .map(|c| format!("{} {}", c.kind.letter(), c.path))
            .collect()
    }

    fn base() -> Mem {
        Mem::default()
            .with("/etc", DIR)
            .with("/etc/passwd", FILE)
            .with("/bin", DIR)
            .with("/bin/sh", FILE)
            .with("/var", DIR)
            .with("/var/lib", DIR)
            .with("/var/lib/old", FILE)
    }

    #[test]
    fn added_changed_and_deleted_in_walk_order() {
        let upper = Mem::default()
            .with("/etc", DIR)
            .touched("/etc")
            .with("/etc/passwd", FILE)
            .with("/etc/new.conf", FILE)
            .with("/bin", DIR)
            .whiteout("/bin/sh")
            .with("/a.txt", FILE)
            .with("/a", DIR)
            .with("/a/b", FILE);
        let lower = base();
        let got = render(&changes(&upper, &[&lower]));
        assert_eq!(
            got,
            [
                "A /a",
                "A /a/b",
                "A /a.txt",
                "C /bin",
                "D /bin/sh",
                "C /etc",
                "A /etc/new.conf",
                "C /etc/passwd",
            ]
        );
    }

    #[test]
    fn an_unchanged_parent_is_reported_once_for_its_additions() {
        // /var and /var/lib copied up unchanged: only the new file and
        // its parent show.
        let upper = Mem::default()
            .with("/var", DIR)
            .with("/var/lib", DIR)
            .with("/var/lib/new", FILE)
            .with("/var/lib/other", FILE);
        let got = render(&changes(&upper, &[&base()]));
        assert_eq!(got, ["C /var/lib", "A /var/lib/new", "A /var/lib/other"]);
    }

    #[test]
    fn opaque_directories_and_layer_whiteouts() {
        // An opaque directory over a lower one was deleted and made again;
        // an opaque one nothing lower has is just added.
        let upper = Mem::default()
            .opaque("/var")
            .with("/var/fresh", FILE)
            .opaque("/new")
            .with("/new/x", FILE)
            .with("/gone", FILE);
        // The top lower layer whites out /gone, which the base has: the
        // container's /gone is new.
        let top = Mem::default().whiteout("/gone");
        let bottom = base().with("/gone", FILE);
        let got = render(&changes(&upper, &[&top, &bottom]));
        assert_eq!(
            got,
            ["A /gone", "A /new", "A /new/x", "D /var", "A /var/fresh"]
        );
    }

    #[test]
    fn lower_lookups_respect_opaque_dirs_and_non_directories() {
        let top = Mem::default().opaque("/d").with("/f", FILE);
        let bottom = Mem::default()
            .with("/d", DIR)
            .with("/d/old", FILE)
            .with("/f", DIR)
            .with("/f/x", FILE)
            .with("/keep", FILE);
        let layers: [&dyn Tree; 2] = [&top, &bottom];
        assert!(
            in_lowers(&layers, "/d/old").is_none(),
            "hidden by opaque /d"
        );
        assert!(
            in_lowers(&layers, "/f/x").is_none(),
            "hidden by the file /f"
        );
        assert!(in_lowers(&layers, "/keep").is_some());
        assert!(in_lowers(&layers, "/d").unwrap().opaque);
    }

    #[test]
    fn runtime_mount_points_are_no_change() {
        let upper = Mem::default()
            .with("/etc", DIR)
            .touched("/etc")
            .with("/etc/hostname", FILE)
            .with("/etc/hosts", FILE)
            .with("/etc/resolv.conf", FILE)
            .with("/dev", DIR);
        let lower = base();
        assert!(changes(&upper, &[&lower]).is_empty());
        // A real change next to them still shows, and its parent.
        let upper = upper.with("/etc/motd", FILE);
        assert_eq!(
            render(&changes(&upper, &[&lower])),
            ["C /etc", "A /etc/motd"]
        );
    }
}
