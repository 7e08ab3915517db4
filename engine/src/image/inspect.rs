//! `image inspect`: an image in the shape of Docker's `ImageInspect`
//! (Id, RepoTags, RepoDigests, Parent, Comment, Created, Config,
//! Architecture, Os, Size, GraphDriver, RootFS, Metadata).

use std::collections::BTreeMap;

use serde::Serialize;

use super::config::{ContainerConfig, ImageConfig, go_rfc3339_nano};
use super::digest::Digest;
use super::state::ImageEntry;

/// Go's zero time, for an image never tagged.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// An inspected image, fields in Docker's order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    /// The image id.
    pub id: String,
    /// Its tags, familiar form.
    pub repo_tags: Vec<String>,
    /// Registry digests (none for local images).
    pub repo_digests: Vec<String>,
    /// The parent image, or empty.
    pub parent: String,
    /// The config's comment.
    pub comment: String,
    /// When it was made.
    pub created: String,
    /// Docker's version that made it.
    pub docker_version: String,
    /// Its author.
    pub author: String,
    /// The container defaults.
    pub config: Option<ContainerConfig>,
    /// CPU architecture.
    pub architecture: String,
    /// CPU variant.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub variant: String,
    /// Operating system.
    pub os: String,
    /// Its layers' bytes.
    pub size: u64,
    /// Where its layers are.
    pub graph_driver: GraphDriver,
    /// Its layers.
    #[serde(rename = "RootFS")]
    pub root_fs: RootFsView,
    /// Store metadata.
    pub metadata: Metadata,
}

/// `GraphDriver`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GraphDriver {
    /// `LowerDir`, `UpperDir`.
    pub data: BTreeMap<String, String>,
    /// `overlay`.
    pub name: String,
}

/// `RootFS`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootFsView {
    /// `layers`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// The diff ids.
    pub layers: Vec<String>,
}

/// `Metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Metadata {
    /// When it was last tagged, or Go's zero time.
    pub last_tag_time: String,
}

/// The inspect view of image `id`. `tags` are familiar; `size` its
/// layers' bytes; `layer_dirs` its unpacked layers, top first.
pub fn inspect(
    id: &Digest,
    entry: &ImageEntry,
    config: &ImageConfig,
    tags: Vec<String>,
    size: u64,
    layer_dirs: &[String],
) -> ImageInspect {
    let mut data = BTreeMap::new();
    if let Some((upper, lower)) = layer_dirs.split_first() {
        data.insert("UpperDir".to_owned(), upper.clone());
        if !lower.is_empty() {
            data.insert("LowerDir".to_owned(), lower.join(":"));
        }
    }
    ImageInspect {
        id: id.to_string(),
        repo_tags: tags,
        repo_digests: Vec::new(),
        parent: entry.parent.map(|p| p.to_string()).unwrap_or_default(),
        comment: config.comment.clone(),
        created: config
            .created
            .as_ref()
            .map(|_| go_rfc3339_nano(&config.created_time()))
            .unwrap_or_default(),
        docker_version: config.docker_version.clone(),
        author: config.author.clone(),
        config: config.config.clone(),
        architecture: config.architecture.clone(),
        variant: config.variant.clone(),
        os: config.os.clone(),
        size,
        graph_driver: GraphDriver {
            data,
            name: "overlay".to_owned(),
        },
        root_fs: RootFsView {
            kind: config.rootfs.kind.clone(),
            layers: config
                .rootfs
                .diff_ids
                .iter()
                .map(ToString::to_string)
                .collect(),
        },
        metadata: Metadata {
            last_tag_time: entry
                .last_tag_time
                .clone()
                .unwrap_or_else(|| ZERO_TIME.to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_has_dockers_keys_in_order() {
        let id = Digest::of(b"c");
        let entry = ImageEntry {
            manifest: Digest::of(b"m"),
            manifest_size: 1,
            parent: None,
            last_tag_time: None,
        };
        let config = ImageConfig {
            created: Some("2024-01-02T03:04:05.100Z".to_owned()),
            os: "linux".to_owned(),
            ..ImageConfig::default()
        };
        let v = inspect(
            &id,
            &entry,
            &config,
            vec!["a:latest".to_owned()],
            5,
            &["/l/2".to_owned(), "/l/1".to_owned()],
        );
        let json = serde_json::to_string(&v).unwrap();
        assert!(json.starts_with(&format!(
            r#"{{"Id":"{id}","RepoTags":["a:latest"],"RepoDigests":[],"Parent":"","Comment":"","Created":"2024-01-02T03:04:05.1Z","DockerVersion":"","Author":"","Config":null,"Architecture":"","Os":"linux","Size":5,"GraphDriver":{{"Data":{{"LowerDir":"/l/1","UpperDir":"/l/2"}},"Name":"overlay"}},"RootFS":{{"Type":"layers","Layers":[]}},"Metadata":{{"LastTagTime":"0001-01-01T00:00:00Z"}}}}"#
        )), "{json}");
    }
}
