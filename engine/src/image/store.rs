//! The image store on disk, under `<root>/image/`:
//!
//! ```text
//! oci-layout, index.json      an OCI image layout: one manifest per image
//! references.json             name:tag → manifest digest
//! lock                        flock: exclusive to change, shared to read
//! blobs/sha256/<hex>          configs, manifests, uncompressed layer tars
//! layers/<diff id hex>/diff   each layer unpacked once (an overlay lower dir)
//! layers/<diff id hex>/size   the bytes of its files
//! init/diff                   the init layer, over every container's image
//! tmp/                        work in progress, cleared under the lock
//! pull/                       partial downloads (kept to resume) and pulls' work
//! repo-digests.json           image id → the `name@digest`s it was pulled or pushed as
//! ```
//!
//! Files are replaced atomically (temp file, fsync, rename); a layer
//! directory appears by one rename once it is complete.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use super::config::ImageConfig;
use super::delete::ImageUsers;
use super::digest::Digest;
use super::error::{ImageError, Result};
use super::oci::{Descriptor, Index, MEDIA_CONFIG, MEDIA_LAYER, Manifest, OCI_LAYOUT};
use super::state::{ImageEntry, RefsFile, State};
use super::unpack::unpack_layer;

/// The store's directory under berth's root.
const STORE_DIR: &str = "image";

/// The image store of one berth root.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// A held store lock; released when dropped.
#[derive(Debug)]
pub struct Lock {
    file: File,
}

/// What a garbage collection removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collected {
    /// The unpacked layers removed (diff ids).
    pub layers: Vec<Digest>,
    /// The bytes their files took.
    pub reclaimed: u64,
}

impl Store {
    /// Opens (creating if needed) the store under berth's `root`.
    pub fn open(root: &Path) -> Result<Self> {
        let store = Self {
            dir: root.join(STORE_DIR),
        };
        for dir in [
            store.dir.join("blobs/sha256"),
            store.dir.join("layers"),
            store.tmp_dir(),
        ] {
            fs::create_dir_all(&dir).map_err(ImageError::io("create directory", &dir))?;
        }
        let layout = store.dir.join("oci-layout");
        if !layout.exists() {
            write_atomic(&layout, OCI_LAYOUT.as_bytes())?;
        }
        Ok(store)
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn tmp_dir(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    /// Takes the lock to change the store, waiting for other berth
    /// processes; then clears what crashed changes left in `tmp/`.
    pub fn lock(&self) -> Result<Lock> {
        let lock = self.lock_file()?;
        lock.file
            .lock()
            .map_err(ImageError::io("lock", self.dir.join("lock")))?;
        let tmp = self.tmp_dir();
        for entry in fs::read_dir(&tmp)
            .map_err(ImageError::io("read", &tmp))?
            .flatten()
        {
            let path = entry.path();
            // What cannot go now is tried again at the next lock.
            let _ = fs::remove_dir_all(&path).or_else(|_| fs::remove_file(&path));
        }
        Ok(lock)
    }

    /// Takes the lock to read the store consistently.
    pub fn lock_shared(&self) -> Result<Lock> {
        let lock = self.lock_file()?;
        lock.file
            .lock_shared()
            .map_err(ImageError::io("lock", self.dir.join("lock")))?;
        Ok(lock)
    }

    fn lock_file(&self) -> Result<Lock> {
        let path = self.dir.join("lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(ImageError::io("open", &path))?;
        Ok(Lock { file })
    }

    /// Reads the catalogue.
    pub fn state(&self) -> Result<State> {
        let index: Index = read_json_or_default(&self.dir.join("index.json"))?;
        let refs: RefsFile = read_json_or_default(&self.dir.join("references.json"))?;
        Ok(State::from_files(&index, &refs))
    }

    /// Writes the catalogue: the index first, so that references never
    /// name a manifest the index lacks.
    pub fn save_state(&self, state: &State, _lock: &Lock) -> Result<()> {
        let index =
            serde_json::to_vec(&state.to_index()).map_err(ImageError::json("index.json"))?;
        write_atomic(&self.dir.join("index.json"), &index)?;
        let refs = serde_json::to_vec(&state.to_refs_file())
            .map_err(ImageError::json("references.json"))?;
        write_atomic(&self.dir.join("references.json"), &refs)
    }

    /// Where blob `digest` is.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join("blobs/sha256").join(digest.hex())
    }

    /// Reads blob `digest`.
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        fs::read(&path).map_err(ImageError::io("read blob", &path))
    }

    /// Stores `bytes` as a blob; returns its digest and size.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<(Digest, u64)> {
        let digest = Digest::of(bytes);
        let path = self.blob_path(&digest);
        if !path.exists() {
            write_atomic(&path, bytes)?;
        }
        Ok((digest, bytes.len() as u64))
    }

    /// A temporary file in the store, for a blob being written.
    pub fn temp_file(&self) -> Result<tempfile::NamedTempFile> {
        tempfile::NamedTempFile::new_in(self.tmp_dir())
            .map_err(ImageError::io("create temporary file in", self.tmp_dir()))
    }

    /// A temporary directory in the store.
    pub fn temp_dir(&self) -> Result<tempfile::TempDir> {
        tempfile::TempDir::new_in(self.tmp_dir()).map_err(ImageError::io(
            "create temporary directory in",
            self.tmp_dir(),
        ))
    }

    /// Makes the complete temporary file `file`, whose content hashes to
    /// `digest`, the blob `digest`.
    pub fn commit_blob(&self, file: tempfile::NamedTempFile, digest: &Digest) -> Result<()> {
        let path = self.blob_path(digest);
        if path.exists() {
            return Ok(());
        }
        file.as_file()
            .sync_all()
            .map_err(ImageError::io("sync", file.path()))?;
        file.persist(&path)
            .map_err(|e| ImageError::io("rename into", &path)(e.error))?;
        sync_parent(&path)
    }

    /// The init layer: the lower dir that sits over every container's
    /// image layers, made once. As Docker's, it holds the points the
    /// runtime mounts on (`/proc`, `/sys`, `/dev`, `/etc/hosts`,
    /// `/etc/hostname`, `/etc/resolv.conf`), so that the runtime does not
    /// make them in each container's upper dir: starts are shorter, and a
    /// container's changes are its own.
    pub fn init_layer(&self) -> Result<PathBuf> {
        let dir = self.dir.join("init");
        let diff = dir.join("diff");
        if diff.is_dir() {
            return Ok(diff);
        }
        // Shared: an exclusive holder clears tmp/, where it is built.
        let _lock = self.lock_shared()?;
        let tmp = self.temp_dir()?;
        let new = tmp.path().join("diff");
        // Its directories' modes show through the image's (overlayfs takes
        // a directory's metadata from the top layer): fixed, whatever the
        // umask.
        let set_mode = |p: &Path, mode: u32| {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(p, fs::Permissions::from_mode(mode))
                .map_err(ImageError::io("set the mode of", p))
        };
        set_mode(tmp.path(), 0o755)?;
        for d in ["", "proc", "sys", "dev", "dev/pts", "dev/shm", "etc"] {
            let d = new.join(d);
            fs::create_dir_all(&d).map_err(ImageError::io("create directory", &d))?;
            set_mode(&d, 0o755)?;
        }
        for f in ["etc/hosts", "etc/hostname", "etc/resolv.conf"] {
            let f = new.join(f);
            File::create(&f).map_err(ImageError::io("create", &f))?;
            set_mode(&f, 0o644)?;
        }
        // One rename makes it appear complete; a concurrent maker's wins.
        match fs::rename(tmp.path(), &dir) {
            Ok(()) => sync_parent(&dir)?,
            Err(_) if diff.is_dir() => {}
            Err(e) => return Err(ImageError::io("rename into", &dir)(e)),
        }
        Ok(diff)
    }

    /// The unpacked layer `diff_id` (an overlay lower dir).
    pub fn layer_dir(&self, diff_id: &Digest) -> PathBuf {
        self.dir.join("layers").join(diff_id.hex()).join("diff")
    }

    /// The size of the unpacked layer `diff_id`; 0 if it is not unpacked.
    pub fn layer_size(&self, diff_id: &Digest) -> u64 {
        let path = self.dir.join("layers").join(diff_id.hex()).join("size");
        fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Unpacks the layer blob `diff_id` unless it is unpacked already.
    pub fn ensure_layer(&self, diff_id: &Digest, _lock: &Lock) -> Result<()> {
        let final_dir = self.dir.join("layers").join(diff_id.hex());
        if final_dir.exists() {
            return Ok(());
        }
        let work = self.temp_dir()?;
        let diff = work.path().join("diff");
        fs::create_dir(&diff).map_err(ImageError::io("create directory", &diff))?;
        let blob = self.blob_path(diff_id);
        let file = File::open(&blob).map_err(ImageError::io("open layer", &blob))?;
        let size = unpack_layer(std::io::BufReader::new(file), &diff)?;
        self.commit_layer(work, diff_id, size)
    }

    /// Makes `work` (a temporary directory of the store's file system
    /// whose `diff/` holds the unpacked layer `diff_id`, of `size` bytes)
    /// the layer `diff_id`, by one rename; when a concurrent writer's
    /// copy is there first, `work` goes.
    pub fn commit_layer(&self, work: tempfile::TempDir, diff_id: &Digest, size: u64) -> Result<()> {
        let final_dir = self.dir.join("layers").join(diff_id.hex());
        if final_dir.exists() {
            return Ok(());
        }
        write_atomic(&work.path().join("size"), size.to_string().as_bytes())?;
        let work = work.keep();
        match fs::rename(&work, &final_dir) {
            Ok(()) => sync_parent(&final_dir),
            Err(_) if final_dir.exists() => {
                let _ = fs::remove_dir_all(&work);
                Ok(())
            }
            Err(e) => Err(ImageError::io("rename into", &final_dir)(e)),
        }
    }

    /// Whether layer `diff_id` is complete: its blob and its unpacked
    /// directory both there.
    pub fn has_layer(&self, diff_id: &Digest) -> bool {
        self.blob_path(diff_id).is_file() && self.layer_dir(diff_id).is_dir()
    }

    /// Where pulls keep their partial downloads and work (not cleared by
    /// [`Store::lock`]: a pull runs without the store's lock, and its
    /// partial downloads are kept for the next pull to resume).
    pub fn pull_dir(&self) -> Result<PathBuf> {
        let dir = self.dir.join("pull");
        fs::create_dir_all(&dir).map_err(ImageError::io("create directory", &dir))?;
        Ok(dir)
    }

    /// The manifest of `entry`.
    pub fn manifest(&self, entry: &ImageEntry) -> Result<Manifest> {
        let bytes = self.read_blob(&entry.manifest)?;
        serde_json::from_slice(&bytes)
            .map_err(ImageError::json(format!("manifest {}", entry.manifest)))
    }

    /// The config of image `id`, parsed, and its bytes.
    pub fn config(&self, id: &Digest) -> Result<(ImageConfig, Vec<u8>)> {
        let bytes = self.read_blob(id)?;
        let config = ImageConfig::parse(&bytes, &format!("config {id}"))?;
        Ok((config, bytes))
    }

    /// The size of image `id`: its unpacked layers' bytes.
    pub fn image_size(&self, config: &ImageConfig) -> u64 {
        config
            .rootfs
            .diff_ids
            .iter()
            .map(|d| self.layer_size(d))
            .sum()
    }

    /// Adds the image whose config is `config_bytes` to `state` (stored
    /// with its manifest; its layer blobs must be stored already and are
    /// unpacked here). The image id is the config's digest; adding an
    /// image that exists changes nothing.
    pub fn add_image(
        &self,
        state: &mut State,
        config_bytes: &[u8],
        parent: Option<Digest>,
        lock: &Lock,
    ) -> Result<Digest> {
        let config = ImageConfig::parse(config_bytes, "image config")?;
        let mut layers = Vec::new();
        for diff_id in &config.rootfs.diff_ids {
            let path = self.blob_path(diff_id);
            let size = fs::metadata(&path)
                .map_err(ImageError::io("find layer blob", &path))?
                .len();
            self.ensure_layer(diff_id, lock)?;
            layers.push(Descriptor::new(MEDIA_LAYER, *diff_id, size));
        }
        let (id, config_size) = self.put_blob(config_bytes)?;
        if state.images.contains_key(&id) {
            return Ok(id);
        }
        let manifest = Manifest::new(Descriptor::new(MEDIA_CONFIG, id, config_size), layers);
        let manifest_bytes = serde_json::to_vec(&manifest).map_err(ImageError::json("manifest"))?;
        let (manifest_digest, manifest_size) = self.put_blob(&manifest_bytes)?;
        state.images.insert(
            id,
            ImageEntry {
                manifest: manifest_digest,
                manifest_size,
                parent,
                last_tag_time: None,
            },
        );
        Ok(id)
    }

    /// Removes the blobs and unpacked layers that no image of `state`
    /// needs and that `users` does not mount.
    pub fn collect_garbage(
        &self,
        state: &State,
        users: &dyn ImageUsers,
        _lock: &Lock,
    ) -> Result<Collected> {
        let mut live_blobs = BTreeSet::new();
        let mut live_layers: BTreeSet<Digest> = users.layers_in_use().into_iter().collect();
        for (id, entry) in &state.images {
            live_blobs.insert(*id);
            live_blobs.insert(entry.manifest);
            let manifest = self.manifest(entry)?;
            for layer in &manifest.layers {
                live_blobs.insert(layer.digest);
                live_layers.insert(layer.digest);
            }
        }
        let blobs = self.dir.join("blobs/sha256");
        for name in dir_names(&blobs)? {
            if Digest::from_hex(&name).is_ok_and(|d| !live_blobs.contains(&d)) {
                let path = blobs.join(&name);
                fs::remove_file(&path).map_err(ImageError::io("remove blob", &path))?;
            }
        }
        let mut collected = Collected::default();
        let layers = self.dir.join("layers");
        for name in dir_names(&layers)? {
            let Ok(diff_id) = Digest::from_hex(&name) else {
                continue;
            };
            if live_layers.contains(&diff_id) {
                continue;
            }
            collected.reclaimed += self.layer_size(&diff_id);
            let path = layers.join(&name);
            fs::remove_dir_all(&path).map_err(ImageError::io("remove layer", &path))?;
            collected.layers.push(diff_id);
        }
        Ok(collected)
    }
}

/// The names in `dir`.
fn dir_names(dir: &Path) -> Result<Vec<String>> {
    let entries = fs::read_dir(dir).map_err(ImageError::io("read directory", dir))?;
    Ok(entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect())
}

/// Reads a JSON file; a missing file is the default value.
fn read_json_or_default<T: serde::de::DeserializeOwned + Default>(path: &Path) -> Result<T> {
    match fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(ImageError::json(path.display().to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(ImageError::io("read", path)(e)),
    }
}

/// Replaces `path` with `bytes` atomically (see [`crate::atomic`]).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(crate::atomic::write(path, bytes)?)
}

/// Makes a rename in `path`'s directory durable.
fn sync_parent(path: &Path) -> Result<()> {
    Ok(crate::atomic::sync_parent(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_init_layer_holds_the_runtimes_mount_points_and_is_made_once() {
        let root = tempfile::tempdir().expect("tempdir");
        let store = Store::open(root.path()).expect("store");
        let init = store.init_layer().expect("init layer");
        assert_eq!(init, root.path().join("image/init/diff"));
        for d in ["proc", "sys", "dev/pts", "dev/shm", "etc"] {
            assert!(init.join(d).is_dir(), "{d}");
        }
        for f in ["etc/hosts", "etc/hostname", "etc/resolv.conf"] {
            let m = fs::metadata(init.join(f)).expect(f);
            assert!(m.is_file() && m.len() == 0, "{f}");
        }
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).expect("metadata").permissions().mode() & 0o7777;
        assert_eq!(mode(&init.join("etc")), 0o755);
        assert_eq!(mode(&init.join("etc/hosts")), 0o644);
        assert_eq!(mode(init.parent().expect("init")), 0o755);
        // Later calls take it as it is; nothing is left in tmp/.
        fs::write(init.join("marker"), "").expect("marker");
        assert_eq!(store.init_layer().expect("again"), init);
        assert!(init.join("marker").exists());
        assert_eq!(fs::read_dir(store.tmp_dir()).expect("tmp").count(), 0);
    }
}
