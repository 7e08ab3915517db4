//! `load` and `save` in Docker's archive format: `manifest.json` (each
//! image's config, tags and layer tars), the configs, the layers; written
//! as Docker 25+ writes it, also an OCI layout (`index.json`,
//! `oci-layout`, `blobs/sha256/`), with the legacy `repositories` file.
//! Loading takes that, the older layout (`<id>.json`, `<id>/layer.tar`),
//! or a bare OCI layout. Configs keep their bytes, so ids survive.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;

use super::config::{ImageConfig, go_rfc3339_nano};
use super::digest::Digest;
use super::error::{ImageError, Result};
use super::import::{decompressed, store_layer};
use super::oci::{
    ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, ArchiveEntry, Descriptor, Index, MEDIA_DOCKER_LIST,
    MEDIA_INDEX, MEDIA_MANIFEST, Manifest, OCI_LAYOUT,
};
use super::reference::Reference;
use super::state::State;
use super::store::{Lock, Store};
use super::unpack::unpack_layer;

/// Loads the archive `reader` into `state` (the caller saves it) and
/// returns what to print: `Loaded image: busybox:latest` or `Loaded
/// image ID: sha256:…` per image, and a note for each tag taken from
/// another image.
pub fn load(
    store: &Store,
    state: &mut State,
    reader: impl Read,
    lock: &Lock,
) -> Result<Vec<String>> {
    let work = store.temp_dir()?;
    let root = work.path().join("archive");
    fs::create_dir(&root).map_err(ImageError::io("create directory", &root))?;
    unpack_layer(decompressed(reader)?, &root)?;
    let entries = archive_entries(&root)?;
    let mut lines = Vec::new();
    for entry in entries {
        let config_bytes = read_inside(&root, &entry.config)?;
        let config = ImageConfig::parse(&config_bytes, &entry.config)?;
        let expected = &config.rootfs.diff_ids;
        if expected.len() != entry.layers.len() {
            return Err(ImageError::Invalid(format!(
                "invalid manifest, layers length mismatch: expected {}, got {}",
                expected.len(),
                entry.layers.len()
            )));
        }
        for (i, (path, diff_id)) in entry.layers.iter().zip(expected).enumerate() {
            if store.blob_path(diff_id).exists() {
                continue;
            }
            let file = open_inside(&root, path)?;
            let actual = store_layer(store, file)?;
            if actual != *diff_id {
                return Err(ImageError::DigestMismatch {
                    what: format!("invalid diffID for layer {i}"),
                    expected: diff_id.to_string(),
                    actual: actual.to_string(),
                });
            }
        }
        let id = store.add_image(state, &config_bytes, None, lock)?;
        let tags = entry.repo_tags.unwrap_or_default();
        if tags.is_empty() {
            lines.push(format!("Loaded image ID: {id}"));
        }
        let now = go_rfc3339_nano(&Utc::now());
        for tag in tags {
            let reference = Reference::parse(&tag)?;
            if reference.tag.is_none() {
                return Err(ImageError::Invalid(format!("invalid tag {tag:?}")));
            }
            if let Some(old) = state.tag(reference.clone(), id, &now) {
                lines.push(format!(
                    "The image {} already exists, renaming the old one with ID {old} to empty string",
                    reference.familiar()
                ));
            }
            lines.push(format!("Loaded image: {}", reference.familiar()));
        }
    }
    Ok(lines)
}

/// The images of an unpacked archive: from `manifest.json`, or else from
/// an OCI `index.json`.
fn archive_entries(root: &Path) -> Result<Vec<ArchiveEntry>> {
    if root.join("manifest.json").exists() {
        let bytes = read_inside(root, "manifest.json")?;
        return serde_json::from_slice(&bytes).map_err(ImageError::json("manifest.json"));
    }
    if !root.join("index.json").exists() {
        return Err(ImageError::Invalid(
            "invalid archive: neither manifest.json nor index.json found".to_owned(),
        ));
    }
    let bytes = read_inside(root, "index.json")?;
    let index: Index = serde_json::from_slice(&bytes).map_err(ImageError::json("index.json"))?;
    let mut entries: Vec<ArchiveEntry> = Vec::new();
    for descriptor in &index.manifests {
        let Some(manifest) = image_manifest(root, descriptor)? else {
            continue;
        };
        let config = blob_path(&manifest.config.digest);
        let tag = descriptor_name(descriptor);
        match entries.iter_mut().find(|e| e.config == config) {
            Some(e) => e.repo_tags.get_or_insert_with(Vec::new).extend(tag),
            None => entries.push(ArchiveEntry {
                config,
                repo_tags: tag.map(|t| vec![t]),
                layers: manifest
                    .layers
                    .iter()
                    .map(|l| blob_path(&l.digest))
                    .collect(),
            }),
        }
    }
    Ok(entries)
}

/// The image manifest a descriptor leads to: itself, or for an index the
/// entry for this machine's platform (else the first).
fn image_manifest(root: &Path, descriptor: &Descriptor) -> Result<Option<Manifest>> {
    let bytes = read_inside(root, &blob_path(&descriptor.digest))?;
    if descriptor.media_type == MEDIA_INDEX || descriptor.media_type == MEDIA_DOCKER_LIST {
        let index: Index = serde_json::from_slice(&bytes)
            .map_err(ImageError::json(descriptor.digest.to_string()))?;
        let arch = super::config::go_arch();
        let chosen = index
            .manifests
            .iter()
            .find(|m| {
                m.platform
                    .as_ref()
                    .is_some_and(|p| p.architecture == arch && p.os == "linux")
            })
            .or_else(|| index.manifests.first());
        let Some(chosen) = chosen else {
            return Ok(None);
        };
        let bytes = read_inside(root, &blob_path(&chosen.digest))?;
        return serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(ImageError::json(chosen.digest.to_string()));
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(ImageError::json(descriptor.digest.to_string()))
}

/// The tag an index entry gives its image, familiar form.
fn descriptor_name(descriptor: &Descriptor) -> Option<String> {
    let name = descriptor
        .annotations
        .get(ANNOTATION_IMAGE_NAME)
        .or_else(|| descriptor.annotations.get(ANNOTATION_REF_NAME))?;
    let reference = Reference::parse(name).ok()?;
    reference.tag.is_some().then(|| reference.familiar())
}

/// `blobs/sha256/<hex>`.
fn blob_path(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
}

/// Opens `rel` of the unpacked archive, refusing anything (a symlink)
/// that resolves outside it.
fn open_inside(root: &Path, rel: &str) -> Result<File> {
    let path = root.join(rel);
    let resolved = fs::canonicalize(&path).map_err(ImageError::io("find archive file", &path))?;
    let base = fs::canonicalize(root).map_err(ImageError::io("find", root))?;
    if !resolved.starts_with(&base) {
        return Err(ImageError::Escape {
            entry: rel.to_owned(),
            reason: "leads outside the archive".to_owned(),
        });
    }
    File::open(&resolved).map_err(ImageError::io("open archive file", &path))
}

fn read_inside(root: &Path, rel: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_inside(root, rel)?
        .read_to_end(&mut bytes)
        .map_err(ImageError::io("read archive file", root.join(rel)))?;
    Ok(bytes)
}

/// The images `names` designate for `save`, in order, each with the tags
/// to write for it: a tag is itself, a bare name means all of its tags,
/// an id or id prefix the image without tags.
pub fn save_selection(state: &State, names: &[String]) -> Result<Vec<(Digest, Vec<Reference>)>> {
    let mut chosen: Vec<(Digest, Vec<Reference>)> = Vec::new();
    let mut add = |id: Digest, reference: Option<Reference>| {
        let position = match chosen.iter().position(|(i, _)| *i == id) {
            Some(p) => p,
            None => {
                chosen.push((id, Vec::new()));
                chosen.len() - 1
            }
        };
        let refs = &mut chosen[position].1;
        if let Some(r) = reference.filter(|r| !refs.contains(r)) {
            refs.push(r);
        }
    };
    for name in names {
        let parsed = Reference::parse(name);
        match parsed {
            Ok(r) if r.is_name_only() => {
                let tagged: Vec<_> = state
                    .refs
                    .iter()
                    .filter(|(t, _)| t.name() == r.name())
                    .collect();
                if tagged.is_empty() {
                    add(state.resolve(name)?, None);
                }
                for (t, id) in tagged {
                    add(*id, Some(t.clone()));
                }
            }
            Ok(r) if r.tag.is_some() && state.refs.contains_key(&r) => {
                add(state.refs[&r], Some(r));
            }
            _ => add(state.resolve(name)?, None),
        }
    }
    Ok(chosen)
}

/// Writes the images `chosen` (see [`save_selection`]) as a Docker
/// archive to `out`.
pub fn save(
    store: &Store,
    state: &State,
    chosen: &[(Digest, Vec<Reference>)],
    out: impl Write,
) -> Result<()> {
    let mut blobs: BTreeSet<Digest> = BTreeSet::new();
    let mut entries = Vec::new();
    let mut index = Index::default();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut mtime = 0u64;
    for (id, refs) in chosen {
        let entry = state
            .images
            .get(id)
            .ok_or_else(|| ImageError::NotFound(id.to_string()))?;
        let manifest = store.manifest(entry)?;
        let (config, _) = store.config(id)?;
        mtime = mtime.max(u64::try_from(config.created_time().timestamp()).unwrap_or(0));
        blobs.insert(*id);
        blobs.insert(entry.manifest);
        blobs.extend(manifest.layers.iter().map(|l| l.digest));
        let descriptor = Descriptor::new(MEDIA_MANIFEST, entry.manifest, entry.manifest_size);
        if refs.is_empty() {
            index.manifests.push(descriptor.clone());
        }
        for r in refs {
            let mut d = descriptor.clone();
            d.annotations
                .insert(ANNOTATION_IMAGE_NAME.to_owned(), r.to_string());
            d.annotations.insert(
                ANNOTATION_REF_NAME.to_owned(),
                r.tag.clone().unwrap_or_default(),
            );
            index.manifests.push(d);
            if let (Some(tag), Some(top)) = (&r.tag, manifest.layers.last()) {
                repositories
                    .entry(r.familiar_name())
                    .or_default()
                    .insert(tag.clone(), top.digest.hex());
            }
        }
        entries.push(ArchiveEntry {
            config: blob_path(id),
            repo_tags: (!refs.is_empty()).then(|| refs.iter().map(Reference::familiar).collect()),
            layers: manifest
                .layers
                .iter()
                .map(|l| blob_path(&l.digest))
                .collect(),
        });
    }
    let mut tar = tar::Builder::new(out);
    let writing = || ImageError::stream("writing archive");
    for dir in ["blobs/", "blobs/sha256/"] {
        append(
            &mut tar,
            dir,
            tar::EntryType::Directory,
            0o755,
            mtime,
            &mut std::io::empty(),
            0,
        )
        .map_err(|e| writing()(e))?;
    }
    for digest in &blobs {
        let path = store.blob_path(digest);
        let mut file = File::open(&path).map_err(ImageError::io("open blob", &path))?;
        let size = file
            .metadata()
            .map_err(ImageError::io("stat blob", &path))?
            .len();
        append(
            &mut tar,
            &blob_path(digest),
            tar::EntryType::Regular,
            0o644,
            mtime,
            &mut file,
            size,
        )
        .map_err(|e| writing()(e))?;
    }
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        ("index.json", to_json(&index, "index.json")?),
        ("manifest.json", to_json(&entries, "manifest.json")?),
        ("oci-layout", OCI_LAYOUT.as_bytes().to_vec()),
    ];
    if !repositories.is_empty() {
        files.push(("repositories", to_json(&repositories, "repositories")?));
    }
    for (name, bytes) in files {
        let size = bytes.len() as u64;
        append(
            &mut tar,
            name,
            tar::EntryType::Regular,
            0o644,
            mtime,
            &mut bytes.as_slice(),
            size,
        )
        .map_err(|e| writing()(e))?;
    }
    tar.into_inner()
        .and_then(|mut w| w.flush())
        .map_err(writing())
}

/// Appends one entry owned by root.
fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    kind: tar::EntryType,
    mode: u32,
    mtime: u64,
    data: &mut dyn Read,
    size: u64,
) -> std::io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    header.set_size(size);
    tar.append_data(&mut header, path, data)
}

fn to_json(value: &impl serde::Serialize, what: &str) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(ImageError::json(what))
}

/// Writes the archive for `chosen` to the file `path` atomically (a
/// temporary file beside it, renamed when complete), as `save -o`.
pub fn save_to_file(
    store: &Store,
    state: &State,
    chosen: &[(Digest, Vec<Reference>)],
    path: &Path,
) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(ImageError::Invalid(format!(
            "failed to save image: invalid output path: directory {:?} does not exist",
            dir.display().to_string()
        )));
    }
    let tmp = tempfile::NamedTempFile::new_in(&dir)
        .map_err(ImageError::io("create temporary file in", &dir))?;
    save(store, state, chosen, std::io::BufWriter::new(tmp.as_file()))?;
    tmp.as_file()
        .sync_all()
        .map_err(ImageError::io("sync", tmp.path()))?;
    tmp.persist(path)
        .map_err(|e| ImageError::io("rename into", path)(e.error))?;
    Ok(())
}
