//! `push`: the image a tag names goes to its registry as the store keeps
//! it: its layer tars (uncompressed, so their digests are the diff ids
//! and nothing is recompressed), its config, then its OCI manifest (the
//! store's own, byte for byte), so that the image pulled back has the
//! same id and layers. A blob the registry has already is not sent.

use ureq::http::{Method, StatusCode};

use super::auth::Credentials;
use super::client::{Client, Payload, error_body, header};
use super::digests;
use super::error::{RegistryError, Result};
use crate::image::digest::Digest;
use crate::image::oci::{Descriptor, MEDIA_MANIFEST};
use crate::image::reference::Reference;
use crate::image::store::Store;

/// How far one blob's push is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushStatus {
    /// About to be checked.
    Preparing,
    /// The registry has it.
    AlreadyExists,
    /// Being sent.
    Pushing,
    /// Sent.
    Pushed,
}

/// What a push reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushEvent {
    /// The layers (diff ids, bottom first) to push.
    Layers(Vec<Digest>),
    /// Layer `n` moved on.
    Layer(usize, PushStatus),
}

/// What a push did: the manifest's digest and size (`latest: digest: …
/// size: …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pushed {
    /// The manifest's digest.
    pub digest: Digest,
    /// Its size.
    pub size: u64,
}

/// Pushes the image `reference` (tagged) names to its registry.
pub fn push(
    store: &Store,
    reference: &Reference,
    credentials: Option<Credentials>,
    events: &mut dyn FnMut(PushEvent),
) -> Result<Pushed> {
    let (id, entry) = {
        let _lock = store.lock_shared()?;
        let state = store.state()?;
        let id = *state
            .refs
            .get(reference)
            .ok_or_else(|| RegistryError::Invalid {
                what: "push".to_owned(),
                reason: format!(
                    "An image does not exist locally with the tag: {}",
                    reference.familiar_name()
                ),
            })?;
        let entry = state.images.get(&id).cloned().ok_or_else(|| {
            RegistryError::Store(crate::image::ImageError::NotFound(id.to_string()))
        })?;
        (id, entry)
    };
    let manifest = store.manifest(&entry)?;
    let manifest_bytes = store.read_blob(&entry.manifest)?;
    let client = Client::new(&reference.domain, &reference.path, "pull,push", credentials);
    events(PushEvent::Layers(
        manifest.layers.iter().map(|l| l.digest).collect(),
    ));
    for (i, layer) in manifest.layers.iter().enumerate() {
        events(PushEvent::Layer(i, PushStatus::Preparing));
        if push_blob(store, &client, layer)? {
            events(PushEvent::Layer(i, PushStatus::Pushed));
        } else {
            events(PushEvent::Layer(i, PushStatus::AlreadyExists));
        }
    }
    push_blob(store, &client, &manifest.config)?;
    let tag = reference
        .tag
        .as_deref()
        .unwrap_or(crate::image::reference::DEFAULT_TAG);
    let url = client.url(&format!("manifests/{tag}"));
    let mut response = client.send(
        Method::PUT,
        &url,
        &[("Content-Type", MEDIA_MANIFEST)],
        Payload::Bytes(&manifest_bytes),
    )?;
    expect(&mut response, StatusCode::CREATED, "push manifest", &url)?;
    let digest = Digest::of(&manifest_bytes);
    let lock = store.lock()?;
    digests::record(store, id, &reference.name(), &digest, &lock)?;
    Ok(Pushed {
        digest,
        size: manifest_bytes.len() as u64,
    })
}

/// Sends blob `descriptor` unless the registry has it (a HEAD says);
/// whether it was sent. The upload is a POST for a session, then one PUT
/// of the whole blob.
fn push_blob(store: &Store, client: &Client, descriptor: &Descriptor) -> Result<bool> {
    let digest = descriptor.digest;
    let url = client.url(&format!("blobs/{digest}"));
    let response = client.send(Method::HEAD, &url, &[], Payload::Empty)?;
    if response.status() == StatusCode::OK {
        return Ok(false);
    }
    let start = client.url("blobs/uploads/");
    let mut response = client.send(
        Method::POST,
        &start,
        &[("Content-Length", "0")],
        Payload::Empty,
    )?;
    expect(
        &mut response,
        StatusCode::ACCEPTED,
        "start blob upload",
        &start,
    )?;
    let location = header(&response, "location").ok_or_else(|| RegistryError::Invalid {
        what: format!("upload of {digest}"),
        reason: "the registry sent no Location".to_owned(),
    })?;
    let mut upload = client.absolute(location);
    upload.push(if upload.contains('?') { '&' } else { '?' });
    upload.push_str(&format!("digest={digest}"));
    let path = store.blob_path(&digest);
    let length = descriptor.size.to_string();
    let mut response = client.send(
        Method::PUT,
        &upload,
        &[
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", &length),
        ],
        Payload::File(&path),
    )?;
    expect(
        &mut response,
        StatusCode::CREATED,
        &format!("upload blob {digest}"),
        &upload,
    )?;
    Ok(true)
}

/// Refuses an answer other than `status`.
fn expect(
    response: &mut ureq::http::Response<ureq::Body>,
    status: StatusCode,
    what: &str,
    url: &str,
) -> Result<()> {
    if response.status() == status {
        return Ok(());
    }
    if response.status() == StatusCode::UNAUTHORIZED || response.status() == StatusCode::FORBIDDEN {
        return Err(RegistryError::Unauthorized(format!(
            "{what}: authentication required"
        )));
    }
    Err(RegistryError::Status {
        what: what.to_owned(),
        url: url.to_owned(),
        status: response.status().as_u16(),
        body: error_body(response),
    })
}
