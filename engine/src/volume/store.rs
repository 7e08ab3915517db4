//! Volumes on disk, under `<root>/volumes/`:
//!
//! ```text
//! .lock                   flock: held while volumes are made or removed
//! <name>/_data            the data containers mount
//! <name>/volume.json      berth's record (created time, labels, options)
//! ```
//!
//! Records are written atomically; a volume without one (made before
//! berth kept records, or by a crash between the two steps) reads as a
//! named volume made when its data directory was.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};

use super::error::{Result, VolumeError};
use super::filter::VolumeFilters;
use super::mount::{mount_device, unmount_all};
use super::record::{Volume, VolumeMeta, check_driver, check_options};
use super::size::dir_size;
use super::users::{ContainerUse, volume_names};
use crate::container::Container;
use crate::container::record::valid_name;

const DATA: &str = "_data";
const RECORD: &str = "volume.json";
const LOCK: &str = ".lock";

/// The volumes of one berth root.
#[derive(Debug, Clone)]
pub struct Volumes {
    dir: PathBuf,
}

/// The held volumes lock (released when dropped).
#[derive(Debug)]
pub struct Locked {
    _file: File,
}

/// What a prune removed: the volumes' names and their bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// The names, in the order removed.
    pub names: Vec<String>,
    /// The bytes their data took.
    pub reclaimed: u64,
}

impl Volumes {
    /// The volumes under berth's `root` (the directory made when missing).
    pub fn open(root: &Path) -> Result<Self> {
        let dir = root.join("volumes");
        fs::create_dir_all(&dir).map_err(VolumeError::io("create directory", &dir))?;
        Ok(Self { dir })
    }

    /// Takes the lock that makes creating and removing volumes exclusive.
    pub fn lock(&self) -> Result<Locked> {
        let path = self.dir.join(LOCK);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(VolumeError::io("open", &path))?;
        file.lock().map_err(VolumeError::io("lock", &path))?;
        Ok(Locked { _file: file })
    }

    /// The data directory of volume `name`.
    pub fn data_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name).join(DATA)
    }

    /// Makes volume `name` with `meta` (its driver and options checked as
    /// the local driver does); an existing volume is returned as it is,
    /// as Docker does.
    pub fn create(&self, name: &str, meta: VolumeMeta) -> Result<Volume> {
        let refused = |reason: String| VolumeError::Create {
            name: name.to_owned(),
            reason,
        };
        check_driver(&meta.driver).map_err(refused)?;
        crate::spec::flags::validate_volume_name(name).map_err(|e| {
            let text = e.to_string();
            let prefix = format!("create {name}: ");
            refused(text.strip_prefix(&prefix).unwrap_or(&text).to_owned())
        })?;
        if let Some(options) = &meta.options {
            check_options(options).map_err(refused)?;
        }
        let _lock = self.lock()?;
        match self.get(name) {
            Err(VolumeError::NotFound(_)) => {}
            found => return found,
        }
        let data = self.data_dir(name);
        fs::create_dir_all(&data).map_err(VolumeError::io("create directory", &data))?;
        let meta = VolumeMeta {
            driver: super::LOCAL_DRIVER.to_owned(),
            ..meta
        };
        if let Err(e) = self.save(name, &meta) {
            // The record's error is the one to report.
            let dir = self.dir.join(name);
            if let Err(undo) = fs::remove_dir_all(&dir) {
                crate::warn::volume(name, "cleaning up", &VolumeError::io("remove", &dir)(undo));
            }
            return Err(e);
        }
        Ok(Volume::new(name, &data, &meta))
    }

    fn save(&self, name: &str, meta: &VolumeMeta) -> Result<()> {
        let path = self.dir.join(name).join(RECORD);
        let bytes = serde_json::to_vec_pretty(meta).map_err(|source| VolumeError::Record {
            path: path.clone(),
            source,
        })?;
        crate::atomic::write(&path, &bytes)?;
        Ok(())
    }

    /// The record of volume `name`.
    pub fn meta(&self, name: &str) -> Result<VolumeMeta> {
        let data = self.data_dir(name);
        if !valid_name(name) || !data.is_dir() {
            return Err(VolumeError::NotFound(name.to_owned()));
        }
        let path = self.dir.join(name).join(RECORD);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| VolumeError::Record { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let made = fs::metadata(&data)
                    .and_then(|m| m.modified())
                    .map(DateTime::<Utc>::from)
                    .unwrap_or_default();
                Ok(VolumeMeta {
                    created_at: made.to_rfc3339_opts(SecondsFormat::Nanos, true),
                    driver: super::LOCAL_DRIVER.to_owned(),
                    labels: None,
                    options: None,
                })
            }
            Err(e) => Err(VolumeError::io("read", &path)(e)),
        }
    }

    /// Volume `name`.
    pub fn get(&self, name: &str) -> Result<Volume> {
        let meta = self.meta(name)?;
        Ok(Volume::new(name, &self.data_dir(name), &meta))
    }

    /// Every volume, by name.
    pub fn list(&self) -> Result<Vec<Volume>> {
        let entries = fs::read_dir(&self.dir).map_err(VolumeError::io("read", &self.dir))?;
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            match self.get(&name) {
                Ok(v) => out.push(v),
                // Not a volume (a half-made one, or something else).
                Err(VolumeError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Mounts what the volume's options ask for on its data directory
    /// (before a container uses it); nothing for plain volumes.
    pub fn prepare(&self, volume: &Volume) -> Result<()> {
        match &volume.options {
            Some(options) => mount_device(options, Path::new(&volume.mountpoint)),
            None => Ok(()),
        }
    }

    /// The bytes of volume `name`'s data.
    pub fn size(&self, name: &str) -> u64 {
        dir_size(&self.data_dir(name))
    }

    /// Removes volume `name`, refused while containers of `users` use it.
    pub fn remove(&self, name: &str, users: &ContainerUse) -> Result<()> {
        let _lock = self.lock()?;
        self.get(name)?;
        let ids = users.volume_users(name);
        if !ids.is_empty() {
            return Err(VolumeError::InUse {
                name: name.to_owned(),
                users: ids,
            });
        }
        self.delete(name)
    }

    /// Deletes a volume's directory, its data unmounted first (never the
    /// files of a file system still mounted there).
    fn delete(&self, name: &str) -> Result<()> {
        unmount_all(&self.data_dir(name))?;
        let dir = self.dir.join(name);
        fs::remove_dir_all(&dir).map_err(VolumeError::io("remove", &dir))
    }

    /// Removes the volumes no container of `users` uses: the anonymous
    /// ones, or all with `filters.all`, that `filters` keep.
    pub fn prune(&self, filters: &VolumeFilters, users: &ContainerUse) -> Result<Pruned> {
        let _lock = self.lock()?;
        let mut pruned = Pruned::default();
        for v in self.list()? {
            if users.volume_links(&v.name) > 0
                || !(filters.all || v.anonymous())
                || !filters.keep(&v, 0)
            {
                continue;
            }
            let size = self.size(&v.name);
            self.delete(&v.name)?;
            pruned.reclaimed += size;
            pruned.names.push(v.name);
        }
        Ok(pruned)
    }

    /// `rm -v`: removes the anonymous volumes of the removed container
    /// `c` that no container of `users` still uses; named volumes stay.
    /// Returns the names removed.
    pub fn remove_anonymous(&self, c: &Container, users: &ContainerUse) -> Result<Vec<String>> {
        let _lock = self.lock()?;
        let mut removed = Vec::new();
        for name in volume_names(c) {
            let anonymous = match self.meta(name) {
                Ok(meta) => meta.anonymous(),
                Err(VolumeError::NotFound(_)) => false,
                Err(e) => return Err(e),
            };
            if anonymous && users.volume_links(name) == 0 {
                self.delete(name)?;
                removed.push(name.to_owned());
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::container::Status;
    use crate::volume::ANONYMOUS_LABEL;
    use crate::volume::filter::PRUNE_KEYS;
    use crate::volume::users::tests::container;

    fn meta(labels: Option<&[(&str, &str)]>) -> VolumeMeta {
        VolumeMeta {
            created_at: "2024-01-01T00:00:00Z".to_owned(),
            labels: labels.map(|l| {
                l.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect()
            }),
            ..Default::default()
        }
    }

    fn user(id: char, volumes: &[&str]) -> Container {
        container(id, &crate::image::Digest::of(b"i"), Status::Exited, volumes)
    }

    #[test]
    fn create_get_list_and_records() {
        let root = tempfile::tempdir().unwrap();
        let vols = Volumes::open(root.path()).unwrap();
        let v = vols.create("data", meta(Some(&[("a", "1")]))).unwrap();
        assert_eq!(v.driver, "local");
        assert_eq!(
            v.mountpoint,
            root.path().join("volumes/data/_data").display().to_string()
        );
        assert!(Path::new(&v.mountpoint).is_dir());
        // Idempotent: the second create keeps the first one's record.
        let again = vols.create("data", meta(None)).unwrap();
        assert_eq!(again, v);
        // A directory without a record is a named volume.
        fs::create_dir_all(vols.data_dir("old")).unwrap();
        let old = vols.get("old").unwrap();
        assert_eq!((old.labels.is_none(), old.anonymous()), (true, false));
        fs::create_dir_all(root.path().join("volumes/not-a-volume")).unwrap();
        let names: Vec<String> = vols.list().unwrap().into_iter().map(|v| v.name).collect();
        assert_eq!(names, ["data", "old"]);
        assert_eq!(
            vols.get("nope").unwrap_err().to_string(),
            "get nope: no such volume"
        );
        assert!(matches!(
            vols.get("../volumes"),
            Err(VolumeError::NotFound(_))
        ));
    }

    #[test]
    fn create_refuses_what_the_local_driver_refuses() {
        let root = tempfile::tempdir().unwrap();
        let vols = Volumes::open(root.path()).unwrap();
        let err = |name: &str, m: VolumeMeta| vols.create(name, m).unwrap_err().to_string();
        assert_eq!(
            err("x", meta(None)),
            "create x: volume name is too short, names should be at least two alphanumeric characters"
        );
        assert!(
            err("a/b", meta(None)).starts_with("create a/b: \"a/b\" includes invalid characters")
        );
        let nfs = VolumeMeta {
            driver: "nfs".into(),
            ..meta(None)
        };
        assert_eq!(
            err("v1", nfs),
            "create v1: error looking up volume plugin nfs: plugin \"nfs\" not found"
        );
        let bad = VolumeMeta {
            options: Some(BTreeMap::from([("type".to_owned(), "tmpfs".to_owned())])),
            ..meta(None)
        };
        assert_eq!(
            err("v1", bad),
            "create v1: missing required option: \"device\""
        );
        assert!(vols.list().unwrap().is_empty(), "nothing made");
    }

    #[test]
    fn volumes_in_use_are_not_removed() {
        let root = tempfile::tempdir().unwrap();
        let vols = Volumes::open(root.path()).unwrap();
        vols.create("data", meta(None)).unwrap();
        fs::write(vols.data_dir("data").join("f"), b"kept").unwrap();
        let users = ContainerUse::of(vec![user('a', &["data"]), user('b', &["data"])]);
        assert_eq!(
            vols.remove("data", &users).unwrap_err().to_string(),
            format!(
                "remove data: volume is in use - [{}, {}]",
                "a".repeat(64),
                "b".repeat(64)
            )
        );
        assert_eq!(vols.size("data"), 4);
        vols.remove("data", &ContainerUse::default()).unwrap();
        assert!(!root.path().join("volumes/data").exists());
        assert!(matches!(
            vols.remove("data", &ContainerUse::default()),
            Err(VolumeError::NotFound(_))
        ));
    }

    #[test]
    fn prune_takes_unused_anonymous_volumes_or_all_unused() {
        let root = tempfile::tempdir().unwrap();
        let vols = Volumes::open(root.path()).unwrap();
        let anon = Some(&[(ANONYMOUS_LABEL, "")][..]);
        vols.create("anon1", meta(anon)).unwrap();
        vols.create("anon2", meta(anon)).unwrap();
        vols.create("named", meta(None)).unwrap();
        fs::write(vols.data_dir("anon1").join("f"), b"123").unwrap();
        let users = ContainerUse::of(vec![user('a', &["anon2"])]);
        let none: Vec<String> = Vec::new();
        let filters = VolumeFilters::parse(&none, PRUNE_KEYS).unwrap();
        let pruned = vols.prune(&filters, &users).unwrap();
        assert_eq!(
            pruned,
            Pruned {
                names: vec!["anon1".to_owned()],
                reclaimed: 3
            }
        );
        let all = VolumeFilters::parse(&["all=true".to_owned()], PRUNE_KEYS).unwrap();
        assert_eq!(vols.prune(&all, &users).unwrap().names, ["named"]);
        assert_eq!(vols.list().unwrap().len(), 1, "anon2 is in use");
    }

    #[test]
    fn rm_v_removes_the_containers_anonymous_volumes_only() {
        let root = tempfile::tempdir().unwrap();
        let vols = Volumes::open(root.path()).unwrap();
        let anon = Some(&[(ANONYMOUS_LABEL, "")][..]);
        vols.create("anon1", meta(anon)).unwrap();
        vols.create("shared", meta(anon)).unwrap();
        vols.create("named", meta(None)).unwrap();
        let gone = user('a', &["anon1", "shared", "named", "missing"]);
        let others = ContainerUse::of(vec![user('b', &["shared"])]);
        assert_eq!(vols.remove_anonymous(&gone, &others).unwrap(), ["anon1"]);
        let left: Vec<String> = vols.list().unwrap().into_iter().map(|v| v.name).collect();
        assert_eq!(left, ["named", "shared"]);
    }
}
