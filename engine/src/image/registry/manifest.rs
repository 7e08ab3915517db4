//! Manifests as registries serve them: Docker schema 2 and OCI image
//! manifests, Docker manifest lists and OCI indexes; and how a layer's
//! media type says it is compressed.

use super::error::{RegistryError, Result};
use crate::image::oci::{
    Index, MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST, MEDIA_INDEX, MEDIA_MANIFEST, Manifest,
};

/// Docker's schema 1 manifests, which berth does not pull.
const MEDIA_SCHEMA1: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

/// The `Accept` header of a manifest request: every kind berth reads.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// Docker's gzip layer.
pub const MEDIA_DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Docker's image config.
pub const MEDIA_DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// An OCI gzip layer.
pub const MEDIA_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// An OCI zstd layer.
pub const MEDIA_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

/// A manifest fetched from a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// One image.
    Image(Manifest),
    /// One image per platform.
    Index(Index),
}

/// Parses `bytes`, served with `content_type`, as a manifest of `what`.
/// The document's own `mediaType` wins over the header; without either,
/// the shape decides (`manifests` is an index).
pub fn parse(bytes: &[u8], content_type: &str, what: &str) -> Result<Fetched> {
    let invalid = |reason: String| RegistryError::Invalid {
        what: format!("manifest for {what}"),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    let media_type = value
        .get("mediaType")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_else(|| content_type.split(';').next().unwrap_or("").trim());
    let is_index = match media_type {
        MEDIA_INDEX | MEDIA_DOCKER_LIST => true,
        MEDIA_MANIFEST | MEDIA_DOCKER_MANIFEST => false,
        t if MEDIA_SCHEMA1.contains(&t) || value.get("schemaVersion") == Some(&1.into()) => {
            return Err(invalid(
                "Docker schema 1 manifests are not supported".to_owned(),
            ));
        }
        _ => value.get("manifests").is_some(),
    };
    if is_index {
        serde_json::from_value(value)
            .map(Fetched::Index)
            .map_err(|e| invalid(e.to_string()))
    } else {
        serde_json::from_value(value)
            .map(Fetched::Image)
            .map_err(|e| invalid(e.to_string()))
    }
}

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
}

impl Compression {
    /// What `media_type` says; `None` when it does not say (then the
    /// content's magic number decides).
    pub fn of_media_type(media_type: &str) -> Option<Self> {
        if media_type.ends_with("+gzip") || media_type.ends_with(".gzip") {
            Some(Self::Gzip)
        } else if media_type.ends_with("+zstd") {
            Some(Self::Zstd)
        } else if media_type.ends_with(".tar") || media_type.ends_with(".diff.tar") {
            Some(Self::None)
        } else {
            None
        }
    }

    /// What the first bytes of a blob show.
    pub fn sniff(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Self::Zstd
        } else {
            Self::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER_MANIFEST: &str = r#"{
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469,
            "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000001"},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2,
            "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000002"}]
    }"#;

    #[test]
    fn docker_schema2_manifests_parse_as_images() {
        let Fetched::Image(m) = parse(DOCKER_MANIFEST.as_bytes(), "", "busybox").unwrap() else {
            panic!("not an image");
        };
        assert_eq!(m.layers.len(), 1);
        assert_eq!(m.config.size, 1469);
        assert_eq!(
            Compression::of_media_type(&m.layers[0].media_type),
            Some(Compression::Gzip)
        );
    }

    #[test]
    fn an_index_is_known_by_its_media_type_or_header_or_shape() {
        let list = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[
            {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":1,
             "digest":"sha256:0000000000000000000000000000000000000000000000000000000000000003",
             "platform":{"architecture":"arm","os":"linux","variant":"v7"}}]}"#;
        let Fetched::Index(i) = parse(list.as_bytes(), "", "x").unwrap() else {
            panic!("not an index");
        };
        assert_eq!(
            i.manifests[0].platform.as_ref().unwrap().variant.as_deref(),
            Some("v7")
        );
        let bare = r#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(matches!(
            parse(bare.as_bytes(), MEDIA_INDEX, "x").unwrap(),
            Fetched::Index(_)
        ));
        assert!(matches!(
            parse(bare.as_bytes(), "", "x").unwrap(),
            Fetched::Index(_)
        ));
    }

    #[test]
    fn schema1_and_garbage_are_refused_naming_the_image() {
        let v1 = r#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#;
        let err = parse(v1.as_bytes(), "", "old:1").unwrap_err().to_string();
        assert_eq!(
            err,
            "manifest for old:1: Docker schema 1 manifests are not supported"
        );
        assert!(parse(b"<html>", "text/html", "x").is_err());
    }

    #[test]
    fn compression_follows_the_media_type_or_the_magic() {
        assert_eq!(
            Compression::of_media_type(MEDIA_LAYER_ZSTD),
            Some(Compression::Zstd)
        );
        assert_eq!(
            Compression::of_media_type("application/vnd.oci.image.layer.v1.tar"),
            Some(Compression::None)
        );
        assert_eq!(Compression::of_media_type("application/octet-stream"), None);
        assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(Compression::sniff(b"bin/"), Compression::None);
    }
}
