//! `history`: an image's config history, newest first, as Docker's
//! `ImageHistory` makes it (sizes of the layers each step made, `<missing>`
//! for steps that are not local images).

use chrono::{DateTime, Utc};

use super::config::ImageConfig;
use super::digest::Digest;
use super::error::{ImageError, Result};

/// One step of an image's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryItem {
    /// The image of this step (`sha256:…`), or `<missing>`.
    pub id: String,
    /// When.
    pub created: DateTime<Utc>,
    /// The command.
    pub created_by: String,
    /// The bytes of the layer it made (0 for empty layers).
    pub size: u64,
    /// Its comment.
    pub comment: String,
    /// The tags of that image.
    pub tags: Vec<String>,
}

/// The history of `config`, newest first. `chain` is the image and its
/// local ancestors, newest first, each with its tags; they name the
/// newest steps. `layer_size` gives a layer's size by diff id.
pub fn history(
    config: &ImageConfig,
    chain: &[(Digest, Vec<String>)],
    layer_size: impl Fn(&Digest) -> u64,
) -> Result<Vec<HistoryItem>> {
    let mut layers = config.rootfs.diff_ids.iter();
    let mut items = Vec::with_capacity(config.history.len());
    for step in &config.history {
        let size = if step.empty_layer {
            0
        } else {
            let diff = layers.next().ok_or_else(|| {
                ImageError::Invalid("too many non-empty layers in History section".to_owned())
            })?;
            layer_size(diff)
        };
        items.push(HistoryItem {
            id: "<missing>".to_owned(),
            created: step
                .created
                .as_deref()
                .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
                .map_or(DateTime::UNIX_EPOCH, |t| t.with_timezone(&Utc)),
            created_by: step.created_by.clone(),
            size,
            comment: step.comment.clone(),
            tags: Vec::new(),
        });
    }
    items.reverse();
    for (item, (id, tags)) in items.iter_mut().zip(chain) {
        item.id = id.to_string();
        item.tags = tags.clone();
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::config::{History, RootFs};

    #[test]
    fn steps_are_newest_first_with_layer_sizes_and_the_top_id() {
        let (l1, l2) = (Digest::of(b"1"), Digest::of(b"2"));
        let step = |by: &str, empty: bool| History {
            created: Some("2024-01-02T03:04:05Z".to_owned()),
            created_by: by.to_owned(),
            empty_layer: empty,
            ..History::default()
        };
        let config = ImageConfig {
            history: vec![
                step("ADD rootfs", false),
                step("CMD sh", true),
                step("RUN x", false),
            ],
            rootfs: RootFs {
                diff_ids: vec![l1, l2],
                ..RootFs::default()
            },
            ..ImageConfig::default()
        };
        let id = Digest::of(b"img");
        let items = history(&config, &[(id, vec!["a:latest".to_owned()])], |d| {
            if *d == l1 { 100 } else { 7 }
        })
        .unwrap();
        let view: Vec<_> = items
            .iter()
            .map(|i| (i.id.as_str(), i.created_by.as_str(), i.size))
            .collect();
        let id = id.to_string();
        assert_eq!(
            view,
            [
                (id.as_str(), "RUN x", 7),
                ("<missing>", "CMD sh", 0),
                ("<missing>", "ADD rootfs", 100)
            ]
        );
        assert_eq!(items[0].tags, ["a:latest"]);
    }

    #[test]
    fn more_layer_steps_than_layers_is_an_error() {
        let config = ImageConfig {
            history: vec![History::default()],
            ..ImageConfig::default()
        };
        assert!(history(&config, &[], |_| 0).is_err());
    }
}
