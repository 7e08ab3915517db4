//! OCI image layout documents: descriptors, manifests, the index, the
//! `oci-layout` marker; and Docker's archive `manifest.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::digest::Digest;

/// An OCI image manifest.
pub const MEDIA_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// An OCI image index.
pub const MEDIA_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// An OCI image config.
pub const MEDIA_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// An uncompressed layer tar.
pub const MEDIA_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// Docker's manifest (v2 schema 2).
pub const MEDIA_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker's manifest list.
pub const MEDIA_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// The annotation that names an image in an index (containerd, Docker).
pub const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
/// The OCI annotation for a reference's tag.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The content of `oci-layout`.
pub const OCI_LAYOUT: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;

/// A pointer to a blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// What the blob is.
    pub media_type: String,
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The platform (in an index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

impl Descriptor {
    /// A descriptor of `media_type` for a blob with `digest` and `size`.
    pub fn new(media_type: &str, digest: Digest, size: u64) -> Self {
        Self {
            media_type: media_type.to_owned(),
            digest,
            size,
            annotations: BTreeMap::new(),
            platform: None,
        }
    }
}

/// An index entry's platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture.
    pub architecture: String,
    /// Operating system.
    pub os: String,
    /// CPU variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An image manifest: a config and layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// [`MEDIA_MANIFEST`] or Docker's.
    #[serde(default)]
    pub media_type: String,
    /// The config blob.
    pub config: Descriptor,
    /// The layer blobs, bottom first.
    pub layers: Vec<Descriptor>,
}

impl Manifest {
    /// An OCI manifest for `config` and `layers`.
    pub fn new(config: Descriptor, layers: Vec<Descriptor>) -> Self {
        Self {
            schema_version: 2,
            media_type: MEDIA_MANIFEST.to_owned(),
            config,
            layers,
        }
    }
}

/// An image index (`index.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: u32,
    /// [`MEDIA_INDEX`].
    #[serde(default)]
    pub media_type: String,
    /// The manifests.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

impl Index {
    /// An index of `manifests`.
    pub fn new(manifests: Vec<Descriptor>) -> Self {
        Self {
            schema_version: 2,
            media_type: MEDIA_INDEX.to_owned(),
            manifests,
        }
    }
}

impl Default for Index {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

/// One image of a Docker archive's `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ArchiveEntry {
    /// The config's path in the archive.
    pub config: String,
    /// Its tags, familiar form (`busybox:latest`); null when untagged.
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    /// The layer tars' paths, bottom first.
    pub layers: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_and_indexes_use_oci_field_names() {
        let d = Digest::of(b"x");
        let m = Manifest::new(
            Descriptor::new(MEDIA_CONFIG, d, 1),
            vec![Descriptor::new(MEDIA_LAYER, d, 2)],
        );
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{MEDIA_MANIFEST}","config":{{"mediaType":"{MEDIA_CONFIG}","digest":"{d}","size":1}},"layers":[{{"mediaType":"{MEDIA_LAYER}","digest":"{d}","size":2}}]}}"#
            )
        );
        assert_eq!(serde_json::from_str::<Manifest>(&json).unwrap(), m);
        let index = Index::new(vec![Descriptor::new(MEDIA_MANIFEST, d, 3)]);
        let json = serde_json::to_string(&index).unwrap();
        assert_eq!(serde_json::from_str::<Index>(&json).unwrap(), index);
    }

    #[test]
    fn archive_manifests_read_as_docker_writes_them() {
        let json = r#"[{"Config":"abc.json","RepoTags":["busybox:latest"],"Layers":["l1/layer.tar"]},{"Config":"blobs/sha256/x","RepoTags":null,"Layers":[],"LayerSources":{}}]"#;
        let entries: Vec<ArchiveEntry> = serde_json::from_str(json).unwrap();
        assert_eq!(
            entries[0].repo_tags.as_deref(),
            Some(&["busybox:latest".to_owned()][..])
        );
        assert_eq!(entries[1].repo_tags, None);
        assert_eq!(entries[0].layers, ["l1/layer.tar"]);
    }
}
