//! The image store: an OCI image layout of sha256 blobs (configs,
//! manifests, layer tars), tags in a references file, each layer unpacked
//! once for overlayfs; and the operations of the image commands (import,
//! load, save, delete, listing, inspecting, history).
//!
//! Pure logic (references, configs, whiteout plans, filters, deletes,
//! the catalogue) is kept apart from the code that touches the file
//! system ([`store`], [`unpack`], [`archive`]).

pub mod archive;
pub mod change;
pub mod config;
pub mod delete;
pub mod digest;
pub mod error;
pub mod filter;
pub mod history;
pub mod import;
pub mod inspect;
pub mod layer_path;
pub mod oci;
pub mod reference;
pub mod registry;
pub mod state;
pub mod store;
pub mod unpack;

pub use self::delete::{ImageUse, ImageUsers, NoContainers};
pub use self::digest::Digest;
pub use self::error::{ImageError, Result};
pub use self::reference::Reference;
pub use self::state::State;
pub use self::store::Store;

use self::config::ImageConfig;
use self::filter::Summary;

/// berth's default root directory.
pub const DEFAULT_ROOT: &str = "/var/lib/berth";

/// Every image of `state` as listings see it, newest first (ties by id).
pub fn summaries(store: &Store, state: &State) -> Result<Vec<Summary>> {
    let mut out = Vec::with_capacity(state.images.len());
    for (id, entry) in &state.images {
        let (config, _) = store.config(id)?;
        out.push(Summary {
            id: *id,
            parent: entry.parent,
            tags: state.refs_of(id),
            created: config.created_time(),
            size: store.image_size(&config),
            labels: config.labels(),
            has_children: !state.children(id).is_empty(),
        });
    }
    out.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// What removing one image did: the lines `rmi` prints and the bytes of
/// the unpacked layers that went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removal {
    /// `Untagged: …` / `Deleted: …`, Docker's order (deleted layers by
    /// chain id, top first).
    pub records: Vec<delete::DeleteRecord>,
    /// Bytes of the layers removed.
    pub reclaimed: u64,
}

/// Removes `name` (a tag, an id or an id prefix) as `rmi` does, under the
/// store's lock, and collects what no image needs any more.
pub fn remove(store: &Store, name: &str, force: bool, users: &dyn ImageUsers) -> Result<Removal> {
    let lock = store.lock()?;
    let mut state = store.state()?;
    let (mut records, deleted) = delete::delete(&mut state, name, force, users)?;
    let diff_ids = match deleted {
        Some(id) => store.config(&id)?.0.rootfs.diff_ids,
        None => Vec::new(),
    };
    store.save_state(&state, &lock)?;
    let collected = store.collect_garbage(&state, users, &lock)?;
    for i in (0..diff_ids.len()).rev() {
        if collected.layers.contains(&diff_ids[i])
            && let Some(chain) = Digest::chain_id(&diff_ids[..=i])
        {
            records.push(delete::DeleteRecord::Deleted(chain));
        }
    }
    Ok(Removal {
        records,
        reclaimed: collected.reclaimed,
    })
}

/// The unpacked layer directories of image `id`, top layer first, as
/// overlayfs takes them in `lowerdir=`.
pub fn layer_dirs(store: &Store, id: &Digest) -> Result<Vec<std::path::PathBuf>> {
    let (config, _) = store.config(id)?;
    Ok(layers_of(store, &config))
}

fn layers_of(store: &Store, config: &ImageConfig) -> Vec<std::path::PathBuf> {
    config
        .rootfs
        .diff_ids
        .iter()
        .rev()
        .map(|d| store.layer_dir(d))
        .collect()
}

/// A container's lower directories on an image with `config`: the init
/// layer (see [`Store::init_layer`]) over the image's [`layer_dirs`].
pub fn lower_dirs(store: &Store, config: &ImageConfig) -> Result<Vec<std::path::PathBuf>> {
    let mut dirs = vec![store.init_layer()?];
    dirs.extend(layers_of(store, config));
    Ok(dirs)
}
