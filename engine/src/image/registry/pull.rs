//! `pull`: resolve a reference to one image manifest (choosing the
//! platform in a manifest list or index), fetch its config, pull its
//! layers through their pipelines (several at once), then add the image
//! to the store and point the reference at it, under the store's lock.
//! The image appears only once every layer is in.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use chrono::Utc;
use ureq::http::{Method, StatusCode};

use super::auth::Credentials;
use super::client::{Client, Payload, error_body, header, read_document};
use super::digests;
use super::error::{RegistryError, Result};
use super::layer::{LayerStatus, pull_layer};
use super::manifest::{self, ACCEPT, Fetched};
use super::platform::{Platform, select};
use crate::image::config::{ImageConfig, go_rfc3339_nano};
use crate::image::digest::Digest;
use crate::image::oci::{Descriptor, Manifest};
use crate::image::reference::Reference;
use crate::image::store::Store;

/// How many layers are pulled at once unless told otherwise.
pub const DEFAULT_JOBS: usize = 6;

/// What a pull reports as it goes (on the calling thread).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullEvent {
    /// The image's layers (blob digests, bottom first) are known.
    Layers(Vec<Digest>),
    /// Layer `n` (of those) moved on.
    Layer(usize, LayerStatus),
}

/// How to pull.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// The platform to choose in a manifest list (default: the host's).
    pub platform: Option<Platform>,
    /// Layers pulled at once.
    pub jobs: usize,
    /// The user's credentials for the registry.
    pub credentials: Option<Credentials>,
}

impl Default for PullOptions {
    fn default() -> Self {
        Self {
            platform: None,
            jobs: DEFAULT_JOBS,
            credentials: None,
        }
    }
}

/// What a pull did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// The image's id.
    pub id: Digest,
    /// The digest of the manifest the reference named (the index's, for a
    /// multi-platform image): Docker's `Digest:` line.
    pub digest: Digest,
    /// Whether the reference now names another image than before
    /// (`Downloaded newer image` rather than `Image is up to date`).
    pub updated: bool,
}

/// Pulls `reference` (tagged or by digest) into `store`.
pub fn pull(
    store: &Store,
    reference: &Reference,
    options: &PullOptions,
    events: &mut dyn FnMut(PullEvent),
) -> Result<Pulled> {
    let client = Client::new(
        &reference.domain,
        &reference.path,
        "pull",
        options.credentials.clone(),
    );
    let platform = options.platform.clone().unwrap_or_else(Platform::host);
    let (manifest, digest) = resolve(&client, reference, &platform)?;
    let config_bytes = fetch_blob_document(&client, &manifest.config, "config")?;
    let config = ImageConfig::parse(
        &config_bytes,
        &format!("config of {}", reference.familiar()),
    )?;
    if config.rootfs.diff_ids.len() != manifest.layers.len() {
        return Err(RegistryError::Invalid {
            what: format!("image {}", reference.familiar()),
            reason: format!(
                "{} layers in the manifest, {} in the config",
                manifest.layers.len(),
                config.rootfs.diff_ids.len()
            ),
        });
    }
    events(PullEvent::Layers(
        manifest.layers.iter().map(|l| l.digest).collect(),
    ));
    // A concurrent `rmi` may collect a layer pulled here before the image
    // is added: the layers are checked under the lock, and fetched again.
    for _ in 0..3 {
        pull_layers(
            store,
            &client,
            &manifest.layers,
            &config.rootfs.diff_ids,
            options.jobs,
            events,
        )?;
        if let Some(pulled) = commit(store, reference, &config_bytes, digest)? {
            return Ok(pulled);
        }
    }
    Err(RegistryError::Invalid {
        what: format!("image {}", reference.familiar()),
        reason: "its layers kept being removed while it was pulled".to_owned(),
    })
}

/// The image manifest `reference` names for `platform`, and the digest of
/// the manifest the reference itself names.
fn resolve(
    client: &Client,
    reference: &Reference,
    platform: &Platform,
) -> Result<(Manifest, Digest)> {
    let what = reference.familiar();
    let target = reference
        .digest
        .clone()
        .or_else(|| reference.tag.clone())
        .unwrap_or_else(|| crate::image::reference::DEFAULT_TAG.to_owned());
    let (bytes, content_type, digest) = fetch_manifest(client, &target, reference)?;
    match manifest::parse(&bytes, &content_type, &what)? {
        Fetched::Image(m) => Ok((m, digest)),
        Fetched::Index(index) => {
            let chosen = select(&index.manifests, platform)
                .ok_or_else(|| RegistryError::NoPlatform(platform.to_string()))?;
            let (bytes, content_type, _) =
                fetch_manifest(client, &chosen.digest.to_string(), reference)?;
            match manifest::parse(&bytes, &content_type, &what)? {
                Fetched::Image(m) => Ok((m, digest)),
                Fetched::Index(_) => Err(RegistryError::Invalid {
                    what: format!("manifest for {what}"),
                    reason: format!("{} is an index inside an index", chosen.digest),
                }),
            }
        }
    }
}

/// Fetches manifest `target` (a tag or a digest); its bytes, content type
/// and digest. A manifest fetched by digest must hash to it.
fn fetch_manifest(
    client: &Client,
    target: &str,
    reference: &Reference,
) -> Result<(Vec<u8>, String, Digest)> {
    let url = client.url(&format!("manifests/{target}"));
    let mut response = client.send(Method::GET, &url, &[("Accept", ACCEPT)], Payload::Empty)?;
    match response.status() {
        StatusCode::NOT_FOUND
            if reference.digest.is_none() && target == reference.tag.as_deref().unwrap_or("") =>
        {
            let body = error_body(&mut response);
            return Err(if body.contains("NAME_UNKNOWN") {
                RegistryError::NotFound(reference.familiar_name())
            } else {
                RegistryError::ManifestUnknown(reference.familiar())
            });
        }
        StatusCode::NOT_FOUND => return Err(RegistryError::ManifestUnknown(reference.familiar())),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            return Err(RegistryError::NotFound(reference.familiar_name()));
        }
        _ => {}
    }
    let content_type = header(&response, "content-type").unwrap_or("").to_owned();
    let bytes = read_document(&mut response, &format!("fetch manifest {target}"), &url)?;
    let digest = Digest::of(&bytes);
    if let Some(hex) = target.strip_prefix("sha256:")
        && hex != digest.hex()
    {
        let expected: Digest = target.parse()?;
        return Err(RegistryError::DigestMismatch {
            expected,
            got: digest,
        });
    }
    Ok((bytes, content_type, digest))
}

/// Fetches the small blob `descriptor` (a config) and checks its digest.
fn fetch_blob_document(client: &Client, descriptor: &Descriptor, what: &str) -> Result<Vec<u8>> {
    let url = client.url(&format!("blobs/{}", descriptor.digest));
    let mut response = client.send(Method::GET, &url, &[], Payload::Empty)?;
    let bytes = read_document(
        &mut response,
        &format!("fetch {what} {}", descriptor.digest),
        &url,
    )?;
    let got = Digest::of(&bytes);
    if got != descriptor.digest {
        return Err(RegistryError::DigestMismatch {
            expected: descriptor.digest,
            got,
        });
    }
    Ok(bytes)
}

/// Pulls `layers` (diff ids `diff_ids`), `jobs` at once; events are
/// passed to `events` on this thread. The first error stops new layers
/// from starting and is returned once the running ones end.
fn pull_layers(
    store: &Store,
    client: &Client,
    layers: &[Descriptor],
    diff_ids: &[Digest],
    jobs: usize,
    events: &mut dyn FnMut(PullEvent),
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<PullEvent>();
    let errors = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs.clamp(1, layers.len().max(1)))
            .map(|_| {
                let tx = tx.clone();
                let (next, failed) = (&next, &failed);
                scope.spawn(move || -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= layers.len() || failed.load(Ordering::SeqCst) {
                            return Ok(());
                        }
                        let report = |status| {
                            let _ = tx.send(PullEvent::Layer(i, status));
                        };
                        if let Err(e) = pull_layer(store, client, &layers[i], &diff_ids[i], &report)
                        {
                            failed.store(true, Ordering::SeqCst);
                            return Err(e);
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        for event in rx {
            events(event);
        }
        workers
            .into_iter()
            .filter_map(|w| {
                w.join()
                    .unwrap_or_else(|_| {
                        Err(RegistryError::Invalid {
                            what: "layer pull".to_owned(),
                            reason: "a worker thread panicked".to_owned(),
                        })
                    })
                    .err()
            })
            .collect::<Vec<_>>()
    });
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Adds the image to the store and points `reference` at it, under the
/// store's lock; `None` when a layer went missing meanwhile.
fn commit(
    store: &Store,
    reference: &Reference,
    config_bytes: &[u8],
    digest: Digest,
) -> Result<Option<Pulled>> {
    let lock = store.lock()?;
    let config = ImageConfig::parse(config_bytes, "image config")?;
    if !config.rootfs.diff_ids.iter().all(|d| store.has_layer(d)) {
        return Ok(None);
    }
    let mut state = store.state()?;
    let id = store.add_image(&mut state, config_bytes, None, &lock)?;
    let now = go_rfc3339_nano(&Utc::now());
    let named = match &reference.digest {
        Some(_) => reference.clone(),
        None => reference.clone().with_default_tag(),
    };
    let before = state.refs.get(&named).copied();
    state.tag(named, id, &now);
    store.save_state(&state, &lock)?;
    digests::record(store, id, &reference.name(), &digest, &lock)?;
    Ok(Some(Pulled {
        id,
        digest,
        updated: before != Some(id),
    }))
}
