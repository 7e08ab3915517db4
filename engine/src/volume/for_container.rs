//! The volume steps of a container's life: the volumes its mounts name
//! made as it is created ([`for_mount`]), and its anonymous ones removed
//! with it ([`remove_anonymous`], for `rm -v` and `--rm`).

use std::path::{Path, PathBuf};

use super::error::Result;
use super::record::{ANONYMOUS_LABEL, VolumeMeta};
use super::store::Volumes;
use super::users::ContainerUse;
use crate::container::{Container, Containers};
use crate::spec::flags::MountSpec;

/// The data directory of the volume `name` that a container's mount
/// `spec` names (the caller gives an anonymous mount a random name): the
/// volume made and recorded under berth's `root` when missing (with
/// `--mount`'s `volume-label`, `volume-driver` and `volume-opt`), and its
/// device mounted when its options ask for one.
pub fn for_mount(root: &Path, name: &str, spec: &MountSpec) -> Result<PathBuf> {
    let asked = spec.volume.clone().unwrap_or_default();
    let mut labels = asked.labels;
    if spec.source.is_empty() {
        labels.insert(ANONYMOUS_LABEL.to_owned(), String::new());
    }
    let meta = VolumeMeta {
        created_at: crate::container::logs::now(),
        driver: asked.driver,
        labels: (!labels.is_empty()).then_some(labels),
        options: (!asked.driver_options.is_empty()).then_some(asked.driver_options),
    };
    let volumes = Volumes::open(root)?;
    let volume = volumes.create(name, meta)?;
    volumes.prepare(&volume)?;
    Ok(PathBuf::from(volume.mountpoint))
}

/// Removes the anonymous volumes (under berth's `root`) of `removed`, a
/// container just removed from `containers`, that no other container
/// uses; returns their names.
pub fn remove_anonymous(
    root: &Path,
    containers: &Containers,
    removed: &Container,
) -> Result<Vec<String>> {
    let users = ContainerUse::scan(containers)?;
    Volumes::open(root)?.remove_anonymous(removed, &users)
}
