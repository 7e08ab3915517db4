//! Containers on disk: one directory per container under
//! `ROOT/containers/<id>/` holding its record (`config.v2.json`, written
//! atomically), its log and its overlay directories; names reserved by
//! files under `ROOT/containers/.names/` created exclusively, so two berth
//! processes can never give one name twice. Changes to a record happen
//! under a per-container lock (`flock`), so concurrent commands do not
//! lose each other's updates.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::{ContainerError, Result};
use super::record::{Container, valid_name};

const RECORD: &str = "config.v2.json";
const NAMES: &str = ".names";

/// The container store of one berth root.
#[derive(Debug, Clone)]
pub struct Containers {
    dir: PathBuf,
    run_dir: PathBuf,
}

/// A held per-container lock (released when dropped).
#[derive(Debug)]
pub struct Locked {
    _file: File,
}

impl Containers {
    /// The store under `root` (persistent) and `runroot` (runtime state:
    /// bundles, sockets), created when missing.
    pub fn open(root: &Path, runroot: &Path) -> Result<Self> {
        let dir = root.join("containers");
        let run_dir = runroot.join("containers");
        for d in [&dir, &dir.join(NAMES), &run_dir] {
            fs::create_dir_all(d).map_err(ContainerError::io("create directory", d))?;
        }
        Ok(Self { dir, run_dir })
    }

    /// The persistent directory of container `id`.
    pub fn dir_of(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// The runtime directory of container `id` (bundle, shim socket).
    pub fn run_dir_of(&self, id: &str) -> PathBuf {
        self.run_dir.join(id)
    }

    fn name_file(&self, name: &str) -> PathBuf {
        self.dir.join(NAMES).join(name)
    }

    /// Stores a new container, reserving its name first. A name left by a
    /// container that no longer exists (a crash between the two steps) is
    /// taken over.
    pub fn create(&self, c: &Container) -> Result<()> {
        self.create_with(c, true)
    }

    /// As [`Containers::create`], for a container whose shim is already
    /// preparing its directory (see [`super::ops::Engine::start_new`]): on
    /// a failure the directory is left to the shim, which unmounts what it
    /// mounted there before it removes it.
    pub fn create_started(&self, c: &Container) -> Result<()> {
        self.create_with(c, false)
    }

    fn create_with(&self, c: &Container, remove_dir_on_failure: bool) -> Result<()> {
        let name = c.short_name().to_owned();
        if !valid_name(&name) {
            return Err(ContainerError::InvalidName(name));
        }
        self.reserve_name(&name, &c.id)?;
        let dir = self.dir_of(&c.id);
        let made = fs::create_dir_all(&dir)
            .map_err(ContainerError::io("create directory", &dir))
            .and_then(|()| self.save(c));
        if let Err(e) = made {
            if remove_dir_on_failure {
                remove_or_warn(&c.id, &dir, fs::remove_dir_all);
            }
            remove_or_warn(&c.id, &self.name_file(&name), fs::remove_file);
            return Err(e);
        }
        Ok(())
    }

    fn reserve_name(&self, name: &str, id: &str) -> Result<()> {
        let path = self.name_file(name);
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    f.write_all(id.as_bytes())
                        .map_err(ContainerError::io("write", &path))?;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = fs::read_to_string(&path).unwrap_or_default();
                    if !holder.is_empty() && self.dir_of(&holder).join(RECORD).exists() {
                        return Err(ContainerError::NameInUse {
                            name: name.to_owned(),
                            id: holder,
                        });
                    }
                    // A stale reservation: its container never made it.
                    // One that cannot be removed shows as the name in use.
                    let _ = fs::remove_file(&path);
                }
                Err(e) => return Err(ContainerError::io("create", &path)(e)),
            }
        }
        Err(ContainerError::NameInUse {
            name: name.to_owned(),
            id: String::new(),
        })
    }

    /// Writes a container's record (atomically).
    pub fn save(&self, c: &Container) -> Result<()> {
        let path = self.dir_of(&c.id).join(RECORD);
        let bytes = serde_json::to_vec(c).map_err(|source| ContainerError::Record {
            path: path.clone(),
            source,
        })?;
        crate::atomic::write(&path, &bytes)?;
        Ok(())
    }

    /// Reads container `id`'s record.
    pub fn load(&self, id: &str) -> Result<Container> {
        let path = self.dir_of(id).join(RECORD);
        let bytes = fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ContainerError::NotFound(id.to_owned())
            } else {
                ContainerError::io("read", &path)(e)
            }
        })?;
        serde_json::from_slice(&bytes).map_err(|source| ContainerError::Record { path, source })
    }

    /// Every container, newest first.
    pub fn list(&self) -> Result<Vec<Container>> {
        let entries = fs::read_dir(&self.dir).map_err(ContainerError::io("read", &self.dir))?;
        let mut out = Vec::new();
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            match self.load(&name) {
                Ok(c) => out.push(c),
                // Half made or half removed by a crash: not a container.
                Err(ContainerError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Finds a container by full id, name (with or without `/`) or unique
    /// id prefix, as Docker does.
    pub fn find(&self, term: &str) -> Result<Container> {
        let not_found = || ContainerError::NotFound(term.to_owned());
        if term.is_empty() {
            return Err(not_found());
        }
        if let Ok(c) = self.load(term) {
            return Ok(c);
        }
        let name = term.strip_prefix('/').unwrap_or(term);
        if valid_name(name)
            && let Ok(id) = fs::read_to_string(self.name_file(name))
            && let Ok(c) = self.load(&id)
        {
            return Ok(c);
        }
        if !term.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found());
        }
        let matches: Vec<Container> = self
            .list()?
            .into_iter()
            .filter(|c| c.id.starts_with(term))
            .collect();
        match matches.len() {
            0 => Err(not_found()),
            1 => Ok(matches.into_iter().next().expect("one match")),
            _ => Err(ContainerError::AmbiguousId(term.to_owned())),
        }
    }

    /// Locks container `id` for a read-modify-write of its record.
    pub fn lock(&self, id: &str) -> Result<Locked> {
        let path = self.dir_of(id).join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(ContainerError::io("open", &path))?;
        file.lock().map_err(ContainerError::io("lock", &path))?;
        Ok(Locked { _file: file })
    }

    /// Applies `f` to the stored record under the container's lock and
    /// saves it; returns the new record.
    pub fn update(&self, id: &str, f: impl FnOnce(&mut Container)) -> Result<Container> {
        let _lock = self.lock(id)?;
        let mut c = self.load(id)?;
        f(&mut c);
        self.save(&c)?;
        Ok(c)
    }

    /// Deletes a container's directories and frees its name.
    pub fn remove(&self, c: &Container) -> Result<()> {
        let dir = self.dir_of(&c.id);
        // The record first: from then on the container does not exist.
        let record = dir.join(RECORD);
        match fs::remove_file(&record) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ContainerError::io("remove", &record)(e)),
        }
        let name = self.name_file(c.short_name());
        if fs::read_to_string(&name).is_ok_and(|id| id == c.id) {
            remove_or_warn(&c.id, &name, fs::remove_file);
        }
        fs::remove_dir_all(&dir).map_err(ContainerError::io("remove", &dir))?;
        remove_or_warn(&c.id, &self.run_dir_of(&c.id), fs::remove_dir_all);
        Ok(())
    }

    /// Renames a container: the new name is reserved before the old one
    /// is freed.
    pub fn rename(&self, id: &str, new: &str) -> Result<()> {
        if !valid_name(new) {
            return Err(ContainerError::InvalidName(new.to_owned()));
        }
        self.reserve_name(new, id)?;
        let mut old = String::new();
        let res = self.update(id, |c| {
            old = c.short_name().to_owned();
            c.name = format!("/{new}");
        });
        if let Err(e) = res {
            remove_or_warn(id, &self.name_file(new), fs::remove_file);
            return Err(e);
        }
        remove_or_warn(id, &self.name_file(&old), fs::remove_file);
        Ok(())
    }
}

/// Removes `path` (a clean-up of container `id`'s) with `remove`; a
/// failure is warned about, one already gone is fine.
fn remove_or_warn(id: &str, path: &Path, remove: fn(PathBuf) -> std::io::Result<()>) {
    match remove(path.to_path_buf()) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            crate::warn::container(id, "cleaning up", &ContainerError::io("remove", path)(e));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(id: &str, name: &str, created: &str) -> Container {
        Container {
            id: id.into(),
            name: format!("/{name}"),
            created: created.into(),
            ..Default::default()
        }
    }

    fn id(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }

    #[test]
    fn names_are_unique_and_freed_on_remove() {
        let root = tempfile::tempdir().unwrap();
        let s = Containers::open(&root.path().join("r"), &root.path().join("run")).unwrap();
        let a = container(&id('a'), "web", "2026-01-01T00:00:00Z");
        s.create(&a).unwrap();
        let b = container(&id('b'), "web", "2026-01-02T00:00:00Z");
        let err = s.create(&b).unwrap_err().to_string();
        assert!(
            err.contains("is already in use by container \"aaaa"),
            "{err}"
        );
        assert!(
            !s.dir_of(&b.id).exists(),
            "nothing of the refused container"
        );
        s.remove(&a).unwrap();
        s.create(&b).unwrap();
        assert_eq!(s.find("web").unwrap().id, b.id);
    }

    #[test]
    fn a_stale_name_reservation_is_taken_over() {
        let root = tempfile::tempdir().unwrap();
        let s = Containers::open(&root.path().join("r"), &root.path().join("run")).unwrap();
        fs::write(s.name_file("ghost"), id('9')).unwrap();
        s.create(&container(&id('c'), "ghost", "t")).unwrap();
        assert_eq!(s.find("/ghost").unwrap().id, id('c'));
    }

    #[test]
    fn find_by_id_name_and_unique_prefix() {
        let root = tempfile::tempdir().unwrap();
        let s = Containers::open(&root.path().join("r"), &root.path().join("run")).unwrap();
        let mut one = id('a');
        one.replace_range(..2, "ab");
        let mut two = id('a');
        two.replace_range(..2, "ac");
        s.create(&container(&one, "one", "1")).unwrap();
        s.create(&container(&two, "two", "2")).unwrap();
        assert_eq!(s.find(&one).unwrap().id, one);
        assert_eq!(s.find("ab").unwrap().id, one);
        assert!(
            s.find("a")
                .unwrap_err()
                .to_string()
                .contains("multiple IDs")
        );
        assert_eq!(s.find("two").unwrap().id, two);
        assert_eq!(
            s.find("nope").unwrap_err().to_string(),
            "No such container: nope"
        );
        let listed: Vec<String> = s.list().unwrap().into_iter().map(|c| c.id).collect();
        assert_eq!(listed, vec![two.clone(), one.clone()], "newest first");
        s.rename(&two, "deux").unwrap();
        assert!(s.find("two").is_err());
        assert_eq!(s.find("deux").unwrap().name, "/deux");
        let updated = s.update(&one, |c| c.state.exit_code = 3).unwrap();
        assert_eq!(s.load(&one).unwrap(), updated);
    }
}
