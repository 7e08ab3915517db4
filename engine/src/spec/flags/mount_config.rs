//! The daemon's side of mounts: its checks of a mount as the CLI sent it
//! (moby's `validateMountConfig`), and the runtime mount made of it.

use std::path::{Path, PathBuf};

use super::mount::{BindOptions, MountSpec, MountType, Propagation, TmpfsOptions, VolumeOptions};
use super::tmpfs::tmpfs_mount_options;
use super::{ConfigFault, MountError};
use crate::spec::build::{MountInput, MountKind};
use crate::spec::path::clean_path;

/// A mount as the CLI hands it to the daemon: the type and propagation still
/// as text, the rest parsed.
#[derive(Debug, Default)]
pub(crate) struct RawMount {
    pub(crate) kind: String,
    pub(crate) source: String,
    pub(crate) target: String,
    pub(crate) read_only: bool,
    pub(crate) propagation: Option<String>,
    pub(crate) bind: Option<BindOptions>,
    pub(crate) volume: Option<VolumeOptions>,
    pub(crate) tmpfs: Option<TmpfsOptions>,
}

/// The daemon's checks of `raw`, in its order; `path_exists` checks that a
/// bind's host path exists (`None`: not checked, as for `-v`, whose missing
/// host paths are created).
pub(crate) fn validate(
    raw: RawMount,
    path_exists: Option<&dyn Fn(&Path) -> bool>,
) -> Result<MountSpec, MountError> {
    let fail = |fault| MountError::Config {
        kind: raw.kind.clone(),
        fault,
    };
    if raw.target.is_empty() {
        return Err(fail(ConfigFault::MissingField("Target")));
    }
    if clean_path(&raw.target) == "/" {
        return Err(fail(ConfigFault::TargetIsRoot));
    }
    if !raw.target.starts_with('/') {
        return Err(fail(ConfigFault::NotAbsolute(raw.target.clone())));
    }
    let kind = match raw.kind.as_str() {
        "bind" => MountType::Bind,
        "volume" => MountType::Volume,
        "tmpfs" => MountType::Tmpfs,
        _ => return Err(fail(ConfigFault::UnknownType)),
    };
    let mut bind = raw.bind.clone();
    match kind {
        MountType::Bind => {
            if raw.source.is_empty() {
                return Err(fail(ConfigFault::MissingField("Source")));
            }
            let propagation = match raw.propagation.as_deref() {
                None | Some("") => Propagation::default(),
                Some(p) => Propagation::parse(p)
                    .ok_or_else(|| fail(ConfigFault::InvalidPropagation(p.to_owned())))?,
            };
            if raw.volume.is_some() {
                return Err(fail(ConfigFault::ExtraField("VolumeOptions")));
            }
            if !raw.source.starts_with('/') {
                return Err(fail(ConfigFault::NotAbsolute(raw.source.clone())));
            }
            let options = bind.get_or_insert_default();
            if let Some(exists) = path_exists
                && !options.create_mountpoint
                && !exists(Path::new(&raw.source))
            {
                return Err(fail(ConfigFault::BindSourceMissing(raw.source.clone())));
            }
            options.propagation = Some(propagation);
        }
        MountType::Volume => {
            if raw.bind.is_some() {
                return Err(fail(ConfigFault::ExtraField("BindOptions")));
            }
            let anonymous = raw.source.is_empty();
            if let Some(subpath) = raw.volume.as_ref().map(|v| v.subpath.as_str())
                && !subpath.is_empty()
            {
                if anonymous {
                    return Err(fail(ConfigFault::AnonymousVolumeSubpath));
                }
                if subpath.starts_with('/') || clean_path(subpath).starts_with("..") {
                    return Err(fail(ConfigFault::InvalidSubpath));
                }
            }
            if raw.read_only && anonymous {
                return Err(fail(ConfigFault::ReadOnlyAnonymousVolume));
            }
        }
        MountType::Tmpfs => {
            if raw.bind.is_some() {
                return Err(fail(ConfigFault::ExtraField("BindOptions")));
            }
            if !raw.source.is_empty() {
                return Err(fail(ConfigFault::ExtraField("Source")));
            }
        }
    }
    let source = match kind {
        MountType::Bind => clean_path(&raw.source),
        _ => raw.source,
    };
    Ok(MountSpec {
        kind,
        source,
        target: clean_path(&raw.target),
        read_only: raw.read_only,
        bind,
        volume: raw.volume,
        tmpfs: raw.tmpfs,
    })
}

impl MountSpec {
    /// The runtime's mount of this one. A volume needs `volume_dir`, the
    /// host directory the volume's data is in (its `volume-subpath` is taken
    /// under it); binds and tmpfs ignore it. Binds carry their propagation
    /// (and `bind` when not recursive); tmpfs mounts Docker's options
    /// (`noexec,nosuid,nodev,rprivate` and what the user gave).
    pub fn to_input(&self, volume_dir: Option<&Path>) -> Result<MountInput, MountError> {
        let mut options = Vec::new();
        let (kind, source) = match self.kind {
            MountType::Bind => {
                let bind = self.bind.clone().unwrap_or_default();
                if bind.non_recursive {
                    options.push("bind".to_owned());
                }
                let propagation = bind.propagation.unwrap_or_default();
                options.push(propagation.as_str().to_owned());
                (MountKind::Bind, PathBuf::from(&self.source))
            }
            MountType::Volume => {
                let dir =
                    volume_dir.ok_or_else(|| MountError::NoVolumeDirectory(self.target.clone()))?;
                let subpath = self.volume.as_ref().map_or("", |v| v.subpath.as_str());
                (MountKind::Bind, dir.join(subpath))
            }
            MountType::Tmpfs => {
                options = tmpfs_mount_options(&self.tmpfs_data())?;
                (MountKind::Tmpfs, PathBuf::from("tmpfs"))
            }
        };
        Ok(MountInput {
            kind,
            source,
            destination: self.target.clone(),
            read_only: self.read_only,
            options,
        })
    }

    /// A tmpfs mount's data as the daemon makes it (moby's
    /// `ConvertTmpfsOptions`): `ro`, `mode=` in octal, `size=` in the
    /// largest unit that divides it, then the raw `--tmpfs` options.
    fn tmpfs_data(&self) -> Vec<String> {
        let mut data = Vec::new();
        if self.read_only {
            data.push("ro".to_owned());
        }
        let Some(tmpfs) = &self.tmpfs else {
            return data;
        };
        if tmpfs.mode != 0 {
            data.push(format!("mode={:o}", tmpfs.mode));
        }
        if tmpfs.size_bytes != 0 {
            let size = tmpfs.size_bytes;
            let scaled = [("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)]
                .into_iter()
                .find(|(_, unit)| size % unit == 0)
                .map_or_else(
                    || size.to_string(),
                    |(s, unit)| format!("{}{s}", size / unit),
                );
            data.push(format!("size={scaled}"));
        }
        data.extend(tmpfs.data.iter().cloned());
        data
    }
}
