//! `import`: a root file system tarball (plain or gzip) becomes a
//! one-layer image, with a config as Docker's import writes it.

use std::io::{BufRead, BufReader, Read};

use chrono::Utc;

use super::change::apply_change;
use super::config::{ContainerConfig, History, ImageConfig, RootFs, go_arch, go_rfc3339_nano};
use super::digest::{Digest, HashingWriter};
use super::error::{ImageError, Result};
use super::reference::Reference;
use super::state::State;
use super::store::{Lock, Store};

/// What `import` was asked for besides the tarball.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `-m`: the commit message (default `Imported from -`).
    pub message: Option<String>,
    /// `-c`: Dockerfile instructions for the config.
    pub changes: Vec<String>,
    /// The tag to give the image.
    pub reference: Option<Reference>,
}

/// The gzip magic number.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// `reader` decompressed when it starts as gzip does.
pub fn decompressed<'a>(reader: impl Read + 'a) -> Result<Box<dyn Read + 'a>> {
    let mut reader = BufReader::new(reader);
    let head = reader
        .fill_buf()
        .map_err(ImageError::stream("reading tarball"))?;
    if head.starts_with(&GZIP_MAGIC) {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
}

/// Stores the (decompressed) layer tar `reader` as a blob; returns its
/// diff id.
pub fn store_layer(store: &Store, reader: impl Read) -> Result<Digest> {
    let mut reader = decompressed(reader)?;
    let tmp = store.temp_file()?;
    let mut writer = HashingWriter::new(tmp.as_file());
    std::io::copy(&mut reader, &mut writer).map_err(ImageError::stream("storing layer"))?;
    let (digest, _, _) = writer.finish();
    store.commit_blob(tmp, &digest)?;
    Ok(digest)
}

/// The config Docker's import writes: the changes, the host's platform,
/// one history entry with the message as comment.
pub fn import_config(diff_id: Digest, options: &ImportOptions, now: &str) -> Result<ImageConfig> {
    let mut container = ContainerConfig::default();
    for change in &options.changes {
        apply_change(&mut container, change)?;
    }
    let message = options
        .message
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "Imported from -".to_owned());
    Ok(ImageConfig {
        architecture: go_arch().to_owned(),
        comment: message.clone(),
        config: Some(container),
        created: Some(now.to_owned()),
        history: vec![History {
            created: Some(now.to_owned()),
            comment: message,
            ..History::default()
        }],
        os: "linux".to_owned(),
        rootfs: RootFs {
            diff_ids: vec![diff_id],
            ..RootFs::default()
        },
        ..ImageConfig::default()
    })
}

/// Imports the tarball `reader` into `state` (the caller saves it);
/// returns the new image's id.
pub fn import(
    store: &Store,
    state: &mut State,
    reader: impl Read,
    options: &ImportOptions,
    lock: &Lock,
) -> Result<Digest> {
    let diff_id = store_layer(store, reader)?;
    let now = go_rfc3339_nano(&Utc::now());
    let config = import_config(diff_id, options, &now)?;
    let id = store.add_image(state, &config.to_bytes()?, None, lock)?;
    if let Some(reference) = &options.reference {
        state.tag(reference.clone().with_default_tag(), id, &now);
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_reads_as_dockers_import() {
        let d = Digest::of(b"layer");
        let options = ImportOptions {
            changes: vec!["CMD [\"sh\"]".to_owned()],
            ..ImportOptions::default()
        };
        let c = import_config(d, &options, "2024-01-02T03:04:05Z").unwrap();
        let json = String::from_utf8(c.to_bytes().unwrap()).unwrap();
        assert!(json.starts_with(&format!(
            r#"{{"architecture":"{}","comment":"Imported from -","config":{{"Hostname":"""#,
            go_arch()
        )));
        assert!(json.contains(r#""Cmd":["sh"]"#), "{json}");
        assert!(json.ends_with(&format!(
            r#""created":"2024-01-02T03:04:05Z","history":[{{"created":"2024-01-02T03:04:05Z","comment":"Imported from -"}}],"os":"linux","rootfs":{{"type":"layers","diff_ids":["{d}"]}}}}"#
        )), "{json}");
        // The same inputs give the same id.
        let again = import_config(d, &options, "2024-01-02T03:04:05Z").unwrap();
        assert_eq!(
            Digest::of(&again.to_bytes().unwrap()),
            Digest::of(json.as_bytes())
        );
    }

    #[test]
    fn a_message_replaces_the_default_comment() {
        let options = ImportOptions {
            message: Some("base".to_owned()),
            ..ImportOptions::default()
        };
        let c = import_config(Digest::of(b""), &options, "t").unwrap();
        assert_eq!(
            (c.comment.as_str(), c.history[0].comment.as_str()),
            ("base", "base")
        );
    }

    #[test]
    fn gzip_is_recognised_by_its_magic() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"plain text").unwrap();
        let bytes = gz.finish().unwrap();
        let mut out = String::new();
        decompressed(bytes.as_slice())
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "plain text");
        out.clear();
        decompressed(&b"plain"[..])
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "plain");
    }
}
