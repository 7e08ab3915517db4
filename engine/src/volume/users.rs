//! What the containers of one berth root use, running or not: volumes
//! (for `volume rm`, `volume prune`, `ls --filter dangling`), images (the
//! image store's [`ImageUsers`] hook, so `rmi` refuses as Docker does) and
//! unpacked layers (kept by the image store's garbage collection).

use std::path::Path;

use crate::container::{Container, Containers, Status};
use crate::image::{Digest, ImageUse, ImageUsers};

/// A snapshot of the containers, and what they use.
#[derive(Debug, Clone, Default)]
pub struct ContainerUse {
    containers: Vec<Container>,
}

impl ContainerUse {
    /// The use of `containers`.
    pub fn of(containers: Vec<Container>) -> Self {
        Self { containers }
    }

    /// The containers of `store`.
    pub fn scan(store: &Containers) -> crate::container::Result<Self> {
        Ok(Self::of(store.list()?))
    }

    /// The containers of the store under berth's `root`, read without
    /// its runtime directory. A store that cannot be read at all is an
    /// error, so that nothing is deleted on a guess.
    pub fn scan_root(root: &Path) -> std::io::Result<Self> {
        let dir = root.join("containers");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(e),
        };
        let mut containers = Vec::new();
        for entry in entries.flatten() {
            let record = entry.path().join("config.v2.json");
            if entry.file_name().to_string_lossy().starts_with('.') || !record.exists() {
                continue;
            }
            let bytes = std::fs::read(&record)?;
            let c: Container = serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", record.display())))?;
            containers.push(c);
        }
        Ok(Self::of(containers))
    }

    /// The containers.
    pub fn containers(&self) -> &[Container] {
        &self.containers
    }

    /// The ids of the containers that mount volume `name`.
    pub fn volume_users(&self, name: &str) -> Vec<String> {
        self.containers
            .iter()
            .filter(|c| volume_names(c).any(|v| v == name))
            .map(|c| c.id.clone())
            .collect()
    }

    /// How many containers mount volume `name`.
    pub fn volume_links(&self, name: &str) -> usize {
        self.volume_users(name).len()
    }

    /// The containers made from image `id` (`sha256:…`).
    pub fn image_users(&self, id: &Digest) -> impl Iterator<Item = &Container> {
        let id = id.to_string();
        self.containers.iter().filter(move |c| c.image == id)
    }
}

/// The volumes container `c` mounts.
pub fn volume_names(c: &Container) -> impl Iterator<Item = &str> {
    c.host_config
        .mounts
        .iter()
        .filter(|m| m.kind == "volume" && !m.name.is_empty())
        .map(|m| m.name.as_str())
}

/// Whether `c` counts as running for image deletes (running, paused or
/// restarting), as its record says.
pub fn is_live(c: &Container) -> bool {
    matches!(
        c.state.status,
        Status::Running | Status::Paused | Status::Restarting
    )
}

/// What uses the images of berth's `root`: its containers; when their
/// store cannot be read, every image counts as used by a running
/// container, so that nothing is deleted on a guess.
pub fn image_users(root: &Path) -> Box<dyn ImageUsers> {
    match ContainerUse::scan_root(root) {
        Ok(users) => Box::new(users),
        Err(e) => Box::new(Unreadable(e.to_string())),
    }
}

/// A container store that did not read.
#[derive(Debug)]
struct Unreadable(String);

impl ImageUsers for Unreadable {
    fn users_of(&self, _id: &Digest) -> Vec<ImageUse> {
        vec![ImageUse {
            container: format!("(unreadable container store: {})", self.0),
            running: true,
        }]
    }
}

/// The diff id of an unpacked layer directory (`…/layers/<hex>/diff`).
fn layer_of(lower_dir: &str) -> Option<Digest> {
    let path = Path::new(lower_dir);
    let hex = path.parent()?.file_name()?.to_str()?;
    Digest::from_hex(hex).ok()
}

impl ImageUsers for ContainerUse {
    fn users_of(&self, id: &Digest) -> Vec<ImageUse> {
        let mut users: Vec<ImageUse> = self
            .image_users(id)
            .map(|c| ImageUse {
                container: c.id.clone(),
                running: is_live(c),
            })
            .collect();
        // Docker names a running user first.
        users.sort_by_key(|u| !u.running);
        users
    }

    fn layers_in_use(&self) -> Vec<Digest> {
        self.containers
            .iter()
            .flat_map(|c| c.lower_dirs.iter())
            .filter_map(|d| layer_of(d))
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::container::record::MountPoint;

    /// A container made from `image` that mounts `volumes` (and a bind).
    pub(crate) fn container(
        id: char,
        image: &Digest,
        status: Status,
        volumes: &[&str],
    ) -> Container {
        let mut c = Container {
            id: std::iter::repeat_n(id, 64).collect(),
            image: image.to_string(),
            ..Default::default()
        };
        c.state.status = status;
        c.host_config.mounts = volumes
            .iter()
            .map(|v| MountPoint {
                kind: "volume".into(),
                name: (*v).into(),
                ..Default::default()
            })
            .chain(std::iter::once(MountPoint {
                kind: "bind".into(),
                source: "/srv".into(),
                ..Default::default()
            }))
            .collect();
        c
    }

    #[test]
    fn volumes_are_used_by_the_containers_that_mount_them() {
        let img = Digest::of(b"i");
        let u = ContainerUse::of(vec![
            container('a', &img, Status::Exited, &["data", "logs"]),
            container('b', &img, Status::Running, &["data"]),
        ]);
        assert_eq!(u.volume_users("data"), ["a".repeat(64), "b".repeat(64)]);
        assert_eq!(u.volume_links("logs"), 1);
        assert!(u.volume_users("srv").is_empty(), "binds are not volumes");
    }

    #[test]
    fn images_are_used_running_users_first_and_layers_kept() {
        let img = Digest::of(b"i");
        let other = Digest::of(b"o");
        let mut stopped = container('a', &img, Status::Exited, &[]);
        let layer = Digest::of(b"layer");
        stopped.lower_dirs = vec![
            format!("/var/lib/berth/image/layers/{}/diff", layer.hex()),
            "/not/a/layer".to_owned(),
        ];
        let u = ContainerUse::of(vec![stopped, container('b', &img, Status::Paused, &[])]);
        let users = u.users_of(&img);
        assert_eq!(users.len(), 2);
        assert!(users[0].running && users[0].container.starts_with('b'));
        assert!(!users[1].running);
        assert!(u.users_of(&other).is_empty());
        assert_eq!(u.layers_in_use(), [layer]);
    }

    #[test]
    fn a_root_without_containers_uses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let u = ContainerUse::scan_root(dir.path()).unwrap();
        assert!(u.containers().is_empty());
        let store = Containers::open(&dir.path().join("r"), &dir.path().join("run")).unwrap();
        let img = Digest::of(b"i");
        store
            .create(&Container {
                name: "/web".into(),
                ..container('c', &img, Status::Created, &["v1"])
            })
            .unwrap();
        let scanned = ContainerUse::scan_root(&dir.path().join("r")).unwrap();
        assert_eq!(scanned.volume_users("v1"), ["c".repeat(64)]);
        assert_eq!(
            ContainerUse::scan(&store).unwrap().containers().len(),
            1,
            "the same through the store"
        );
    }
}
