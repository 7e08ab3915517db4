//! One layer's pull, as one streaming pipeline: the bytes kept from an
//! interrupted download, then the rest from the registry (appended to the
//! kept file as they arrive) → sha256 of the blob → decompression (gzip,
//! zstd or none) → sha256 of the tar (the diff id) → the tar written as
//! the store's layer blob and, at the same time, unpacked into a work
//! directory. Only when both digests match do the blob and the unpacked
//! directory appear in the store, each by one rename; a blob whose digest
//! does not match is removed, kept bytes and all.
//!
//! A lock file per blob makes two pulls that need the same layer fetch
//! it once: the second waits, then finds it in the store.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use ureq::http::{Method, StatusCode};

use super::client::{Client, Payload, error_body, header, into_reader};
use super::error::{RegistryError, Result};
use super::manifest::Compression;
use crate::image::digest::{Digest, HashingReader};
use crate::image::oci::Descriptor;
use crate::image::store::Store;
use crate::image::unpack::unpack_layer;

/// How far one layer's pull is, as the progress lines show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerStatus {
    /// Waiting for a free slot.
    Waiting,
    /// The store has it.
    AlreadyExists,
    /// Bytes of the blob received (kept ones included) of `total`.
    Downloading {
        /// Bytes so far.
        current: u64,
        /// The blob's size.
        total: u64,
    },
    /// A kept partial download of `kept` bytes is being resumed.
    Resuming {
        /// The bytes kept from before.
        kept: u64,
    },
    /// The blob's digest is being checked.
    Verifying,
    /// All of the blob is in.
    DownloadComplete,
    /// Unpacked and in the store.
    PullComplete,
}

/// How often (in bytes) the pipeline reports its progress.
const REPORT_EVERY: u64 = 256 << 10;

/// Pulls the layer `layer` (whose tar is `diff_id`) of `client`'s
/// repository into `store`, reporting through `report`.
pub fn pull_layer(
    store: &Store,
    client: &Client,
    layer: &Descriptor,
    diff_id: &Digest,
    report: &dyn Fn(LayerStatus),
) -> Result<()> {
    if store.has_layer(diff_id) {
        report(LayerStatus::AlreadyExists);
        return Ok(());
    }
    let staging = store.pull_dir()?;
    let _lock = lock_blob(&staging, &layer.digest)?;
    if store.has_layer(diff_id) {
        report(LayerStatus::AlreadyExists);
        return Ok(());
    }
    let partial_path = staging.join(format!("{}.partial", layer.digest.hex()));
    let partial = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .append(true)
        .open(&partial_path)
        .map_err(RegistryError::io("open", &partial_path))?;
    let mut kept = partial
        .metadata()
        .map_err(RegistryError::io("stat", &partial_path))?
        .len();
    if kept > layer.size {
        truncate(&partial, &partial_path)?;
        kept = 0;
    }
    let body: Box<dyn Read + Send> = if kept < layer.size {
        let (body, resumed) = request_blob(client, &layer.digest, kept)?;
        if resumed {
            report(LayerStatus::Resuming { kept });
        } else if kept > 0 {
            truncate(&partial, &partial_path)?;
            kept = 0;
        }
        body
    } else {
        Box::new(io::empty())
    };
    let reader = partial
        .try_clone()
        .map_err(RegistryError::io("open", &partial_path))?;
    let source = Resumable {
        kept: Some(reader.take(kept)),
        body,
        partial,
        received: 0,
        reported: 0,
        total: layer.size,
        report,
    };
    let result = install(store, source, layer, diff_id, &staging);
    if matches!(result, Err(RegistryError::DigestMismatch { .. })) {
        let _ = fs::remove_file(&partial_path);
    }
    result?;
    let _ = fs::remove_file(&partial_path);
    report(LayerStatus::DownloadComplete);
    report(LayerStatus::PullComplete);
    Ok(())
}

/// Empties the kept partial download.
fn truncate(file: &File, path: &Path) -> Result<()> {
    file.set_len(0).map_err(RegistryError::io("truncate", path))
}

/// Takes the lock of blob `digest` in `staging`, waiting for another pull
/// of it; released when the file is dropped.
fn lock_blob(staging: &Path, digest: &Digest) -> Result<File> {
    let path = staging.join(format!("{}.lock", digest.hex()));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(RegistryError::io("open", &path))?;
    file.lock().map_err(RegistryError::io("lock", &path))?;
    Ok(file)
}

/// Asks for blob `digest` from byte `from` on; the body, and whether the
/// registry honoured the range (206).
fn request_blob(
    client: &Client,
    digest: &Digest,
    from: u64,
) -> Result<(Box<dyn Read + Send>, bool)> {
    let url = client.url(&format!("blobs/{digest}"));
    let range = format!("bytes={from}-");
    let headers: &[(&str, &str)] = if from > 0 { &[("Range", &range)] } else { &[] };
    let mut response = client.send(Method::GET, &url, headers, Payload::Empty)?;
    let status = response.status();
    if status == StatusCode::RANGE_NOT_SATISFIABLE {
        return request_blob(client, digest, 0);
    }
    if status != StatusCode::OK && status != StatusCode::PARTIAL_CONTENT {
        return Err(RegistryError::Status {
            what: format!("fetch blob {digest}"),
            url,
            status: status.as_u16(),
            body: error_body(&mut response),
        });
    }
    let resumed = status == StatusCode::PARTIAL_CONTENT
        && header(&response, "content-range")
            .is_some_and(|r| r.starts_with(&format!("bytes {from}-")));
    Ok((Box::new(into_reader(response)), resumed))
}

/// The blob's bytes: those kept from before, then the registry's, which
/// are appended to the kept file as they pass.
struct Resumable<'a, K, B> {
    kept: Option<K>,
    body: B,
    partial: File,
    received: u64,
    reported: u64,
    total: u64,
    report: &'a dyn Fn(LayerStatus),
}

impl<K: Read, B: Read> Read for Resumable<'_, K, B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        if let Some(kept) = &mut self.kept {
            n = kept.read(buf)?;
            if n == 0 {
                self.kept = None;
            }
        }
        if self.kept.is_none() {
            n = self.body.read(buf)?;
            self.partial.write_all(&buf[..n])?;
        }
        self.received += n as u64;
        if self.received - self.reported >= REPORT_EVERY
            || (n == 0 && self.received != self.reported)
        {
            self.reported = self.received;
            (self.report)(LayerStatus::Downloading {
                current: self.received,
                total: self.total,
            });
        }
        Ok(n)
    }
}

/// Runs the pipeline over `source` (the whole blob of `layer`) and puts
/// the layer `diff_id` into `store`; work files live in `staging`.
pub fn install(
    store: &Store,
    source: impl Read,
    layer: &Descriptor,
    diff_id: &Digest,
    staging: &Path,
) -> Result<()> {
    let work = tempfile::TempDir::new_in(staging)
        .map_err(RegistryError::io("create a directory in", staging))?;
    let tar = tempfile::NamedTempFile::new_in(staging)
        .map_err(RegistryError::io("create a file in", staging))?;
    let mut blob = HashingReader::new(source);
    let unpacked = unpack_tee(&mut blob, &layer.media_type, tar.as_file(), work.path());
    // The blob is read to its end either way: a corrupted blob is named
    // by its digest rather than by the decompressor's complaint.
    let (got, _) = blob.finish().map_err(|e| stream_error(&layer.digest, &e))?;
    if got != layer.digest {
        return Err(RegistryError::DigestMismatch {
            expected: layer.digest,
            got,
        });
    }
    let (tar_digest, size) = unpacked?;
    if tar_digest != *diff_id {
        return Err(RegistryError::DiffIdMismatch {
            layer: layer.digest,
            expected: *diff_id,
            got: tar_digest,
        });
    }
    store.commit_blob(tar, diff_id)?;
    store.commit_layer(work, diff_id, size)?;
    Ok(())
}

/// Decompresses `blob` as `media_type` says (or as its first bytes show),
/// writes the tar to `tar` and unpacks it under `work/diff`; returns the
/// tar's digest and the unpacked bytes.
fn unpack_tee(
    blob: &mut impl Read,
    media_type: &str,
    tar: &File,
    work: &Path,
) -> Result<(Digest, u64)> {
    let mut buffered = BufReader::with_capacity(256 << 10, blob);
    let compression = match Compression::of_media_type(media_type) {
        Some(c) => c,
        None => Compression::sniff(
            buffered
                .fill_buf()
                .map_err(|e| RegistryError::io("read", "blob")(e))?,
        ),
    };
    let decoded: Box<dyn Read + '_> = match compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(RegistryError::io("start zstd on", "blob"))?,
        ),
    };
    let mut tar_writer = io::BufWriter::with_capacity(1 << 20, tar);
    let mut tee = HashingReader::new(Tee {
        inner: decoded,
        copy: &mut tar_writer,
    });
    let diff = work.join("diff");
    fs::create_dir(&diff).map_err(RegistryError::io("create directory", &diff))?;
    let size = unpack_layer(&mut tee, &diff)?;
    let (digest, _) = tee
        .finish()
        .map_err(|e| RegistryError::io("decompress", "layer")(e))?;
    tar_writer
        .flush()
        .map_err(RegistryError::io("write", PathBuf::from("layer tar")))?;
    Ok((digest, size))
}

/// A stream error while reading blob `digest`.
fn stream_error(digest: &Digest, err: &io::Error) -> RegistryError {
    RegistryError::Transport {
        url: format!("blob {digest}"),
        reason: err.to_string(),
    }
}

/// Passes what it reads from `inner` on, writing a copy into `copy`.
struct Tee<'a, R> {
    inner: R,
    copy: &'a mut dyn Write,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}
