//! The store's catalogue as pure data: which images exist (by id, the
//! digest of their config, each with its manifest) and which tags point
//! at them; finding an image as Docker's `GetImage` does; and the
//! conversion to and from the two files that hold it on disk, the OCI
//! `index.json` and the references file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::digest::Digest;
use super::error::{ImageError, Result};
use super::oci::{Descriptor, Index, MEDIA_MANIFEST};
use super::reference::{Reference, is_full_hex_id};

/// Index annotation: the image id (config digest) of a manifest.
const ANNOTATION_ID: &str = "io.berth.image.id";
/// Index annotation: the parent image (build cache chains).
const ANNOTATION_PARENT: &str = "io.berth.image.parent";
/// Index annotation: when the image was last tagged.
const ANNOTATION_TAG_TIME: &str = "io.berth.image.last-tag-time";

/// One image of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEntry {
    /// Its manifest blob.
    pub manifest: Digest,
    /// The manifest's size.
    pub manifest_size: u64,
    /// The image it was built on, if known.
    pub parent: Option<Digest>,
    /// When it was last tagged (RFC 3339), if ever.
    pub last_tag_time: Option<String>,
}

/// The images and tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// Images by id.
    pub images: BTreeMap<Digest, ImageEntry>,
    /// Tags (`docker.io/library/busybox:latest`) to image ids.
    pub refs: BTreeMap<Reference, Digest>,
}

/// The references file: full reference → manifest digest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefsFile {
    /// The tags.
    pub refs: BTreeMap<String, Digest>,
}

impl State {
    /// Rebuilds the state from `index.json` and the references file;
    /// references to manifests the index does not have are dropped (a
    /// crash between writing the two files leaves at most those).
    pub fn from_files(index: &Index, refs: &RefsFile) -> Self {
        let mut state = Self::default();
        let mut by_manifest = BTreeMap::new();
        for d in &index.manifests {
            let Some(id) = d
                .annotations
                .get(ANNOTATION_ID)
                .and_then(|s| s.parse().ok())
            else {
                continue;
            };
            by_manifest.insert(d.digest, id);
            state.images.insert(
                id,
                ImageEntry {
                    manifest: d.digest,
                    manifest_size: d.size,
                    parent: d
                        .annotations
                        .get(ANNOTATION_PARENT)
                        .and_then(|s| s.parse().ok()),
                    last_tag_time: d.annotations.get(ANNOTATION_TAG_TIME).cloned(),
                },
            );
        }
        for (name, manifest) in &refs.refs {
            if let (Ok(r), Some(id)) = (Reference::parse(name), by_manifest.get(manifest)) {
                state.refs.insert(r, *id);
            }
        }
        state
    }

    /// The OCI index: one manifest per image.
    pub fn to_index(&self) -> Index {
        let manifests = self
            .images
            .iter()
            .map(|(id, e)| {
                let mut d = Descriptor::new(MEDIA_MANIFEST, e.manifest, e.manifest_size);
                d.annotations
                    .insert(ANNOTATION_ID.to_owned(), id.to_string());
                if let Some(p) = e.parent {
                    d.annotations
                        .insert(ANNOTATION_PARENT.to_owned(), p.to_string());
                }
                if let Some(t) = &e.last_tag_time {
                    d.annotations
                        .insert(ANNOTATION_TAG_TIME.to_owned(), t.clone());
                }
                d
            })
            .collect();
        Index::new(manifests)
    }

    /// The references file.
    pub fn to_refs_file(&self) -> RefsFile {
        RefsFile {
            refs: self
                .refs
                .iter()
                .filter_map(|(r, id)| Some((r.to_string(), self.images.get(id)?.manifest)))
                .collect(),
        }
    }

    /// The tags of image `id`, sorted.
    pub fn refs_of(&self, id: &Digest) -> Vec<Reference> {
        self.refs
            .iter()
            .filter(|(_, i)| *i == id)
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// The images whose parent is `id`.
    pub fn children(&self, id: &Digest) -> Vec<Digest> {
        self.images
            .iter()
            .filter(|(_, e)| e.parent.as_ref() == Some(id))
            .map(|(c, _)| *c)
            .collect()
    }

    /// Points `reference` (tagged) at `id`; returns the image it pointed
    /// at before, when another.
    pub fn tag(&mut self, reference: Reference, id: Digest, now: &str) -> Option<Digest> {
        if let Some(e) = self.images.get_mut(&id) {
            e.last_tag_time = Some(now.to_owned());
        }
        self.refs.insert(reference, id).filter(|old| *old != id)
    }

    /// Finds an image as Docker's `GetImage` does: a full id (with or
    /// without `sha256:`), then a tag (`busybox` means `busybox:latest`),
    /// then a unique id prefix. Errors: Docker's `invalid reference
    /// format…` and `No such image: busybox:latest`.
    pub fn resolve(&self, text: &str) -> Result<Digest> {
        if let Some(id) = full_id(text) {
            return match self.images.contains_key(&id) {
                true => Ok(id),
                false => Err(ImageError::NotFound(id.to_string())),
            };
        }
        let reference = Reference::parse(text)?;
        let tagged = reference.clone().with_default_tag();
        if let Some(id) = self.refs.get(&tagged) {
            return Ok(*id);
        }
        self.search_prefix(text)
            .ok_or_else(|| ImageError::NotFound(tagged.familiar()))
    }

    /// The one image whose id starts with `prefix` (`sha256:` optional).
    pub fn search_prefix(&self, prefix: &str) -> Option<Digest> {
        let hex = prefix.strip_prefix("sha256:").unwrap_or(prefix);
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut found = self.images.keys().filter(|id| id.hex().starts_with(hex));
        match (found.next(), found.next()) {
            (Some(id), None) => Some(*id),
            _ => None,
        }
    }
}

/// `sha256:<64 hex>` or 64 hex digits.
fn full_id(text: &str) -> Option<Digest> {
    if is_full_hex_id(text) {
        return Digest::from_hex(text).ok();
    }
    text.strip_prefix("sha256:")
        .filter(|hex| hex.len() == 64)
        .and_then(|hex| Digest::from_hex(hex).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: &[u8]) -> ImageEntry {
        ImageEntry {
            manifest: Digest::of(n),
            manifest_size: 10,
            parent: None,
            last_tag_time: None,
        }
    }

    fn state() -> (State, Digest, Digest) {
        let (a, b) = (Digest::of(b"a"), Digest::of(b"b"));
        let mut s = State::default();
        s.images.insert(a, entry(b"ma"));
        s.images.insert(b, entry(b"mb"));
        s.tag(Reference::parse_tagged("busybox").unwrap(), a, "t");
        s.tag(Reference::parse_tagged("me/app:1").unwrap(), b, "t");
        (s, a, b)
    }

    #[test]
    fn images_resolve_by_tag_id_and_prefix_as_docker() {
        let (s, a, b) = state();
        assert_eq!(s.resolve("busybox").unwrap(), a);
        assert_eq!(s.resolve("busybox:latest").unwrap(), a);
        assert_eq!(s.resolve("docker.io/library/busybox").unwrap(), a);
        assert_eq!(s.resolve("me/app:1").unwrap(), b);
        assert_eq!(s.resolve(&a.to_string()).unwrap(), a);
        assert_eq!(s.resolve(&a.hex()).unwrap(), a);
        assert_eq!(s.resolve(&a.hex()[..12]).unwrap(), a);
        assert_eq!(s.resolve(&format!("sha256:{}", &b.hex()[..5])).unwrap(), b);
        assert_eq!(
            s.resolve("me/app").unwrap_err().to_string(),
            "No such image: me/app:latest"
        );
        assert_eq!(
            s.resolve("nope:1").unwrap_err().to_string(),
            "No such image: nope:1"
        );
        let missing = Digest::of(b"zz");
        assert_eq!(
            s.resolve(&missing.hex()).unwrap_err().to_string(),
            format!("No such image: {missing}")
        );
        assert_eq!(
            s.resolve("UP").unwrap_err().to_string(),
            "invalid reference format: repository name (library/UP) must be lowercase"
        );
    }

    #[test]
    fn tagging_moves_a_tag_and_reports_the_old_image() {
        let (mut s, a, b) = state();
        let r = Reference::parse_tagged("busybox").unwrap();
        assert_eq!(s.tag(r.clone(), b, "t2"), Some(a));
        assert_eq!(s.tag(r, b, "t3"), None);
        assert_eq!(s.refs_of(&a), Vec::<Reference>::new());
        assert_eq!(s.refs_of(&b).len(), 2);
        assert_eq!(s.images[&b].last_tag_time.as_deref(), Some("t3"));
    }

    #[test]
    fn the_state_round_trips_through_its_files() {
        let (mut s, a, b) = state();
        s.images.get_mut(&b).unwrap().parent = Some(a);
        let index: Index =
            serde_json::from_str(&serde_json::to_string(&s.to_index()).unwrap()).unwrap();
        let refs: RefsFile =
            serde_json::from_str(&serde_json::to_string(&s.to_refs_file()).unwrap()).unwrap();
        assert_eq!(State::from_files(&index, &refs), s);
        assert_eq!(s.children(&a), vec![b]);
        assert!(refs.refs.contains_key("docker.io/library/busybox:latest"));
    }

    #[test]
    fn references_to_unknown_manifests_are_dropped() {
        let (s, _, _) = state();
        let mut refs = s.to_refs_file();
        refs.refs.insert(
            "docker.io/library/ghost:latest".to_owned(),
            Digest::of(b"?"),
        );
        assert_eq!(State::from_files(&s.to_index(), &refs), s);
    }
}
