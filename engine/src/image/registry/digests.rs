//! The repository digests of images (`RepoDigests`, `images --digests`):
//! for each image id, the `name@sha256:…` of the manifests it was pulled
//! or pushed as, kept in `repo-digests.json` beside the store's
//! catalogue and written under the store's lock.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::image::digest::Digest;
use crate::image::error::{ImageError, Result};
use crate::image::store::{Lock, Store};

/// The file's name in the store's directory.
const FILE: &str = "repo-digests.json";

/// Image id → its repository digests.
pub type RepoDigests = BTreeMap<Digest, BTreeSet<String>>;

fn path(store: &Store) -> PathBuf {
    store.dir().join(FILE)
}

/// Reads the repository digests (none when the file is missing).
pub fn read(store: &Store) -> Result<RepoDigests> {
    let path = path(store);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(ImageError::json(FILE)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RepoDigests::new()),
        Err(e) => Err(ImageError::io("read", &path)(e)),
    }
}

/// The repository digests of image `id`, sorted.
pub fn of(store: &Store, id: &Digest) -> Vec<String> {
    read(store)
        .ok()
        .and_then(|mut all| all.remove(id))
        .map(|set| set.into_iter().collect())
        .unwrap_or_default()
}

/// Records that image `id` is `name@digest` (`name` in full form); a
/// digest of the same name recorded before for another image moves.
pub fn record(store: &Store, id: Digest, name: &str, digest: &Digest, _lock: &Lock) -> Result<()> {
    let mut all = read(store)?;
    let entry = format!("{name}@{digest}");
    for set in all.values_mut() {
        set.remove(&entry);
    }
    all.entry(id).or_default().insert(entry);
    all.retain(|_, set| !set.is_empty());
    let bytes = serde_json::to_vec(&all).map_err(ImageError::json(FILE))?;
    Ok(crate::atomic::write(&path(store), &bytes)?)
}
