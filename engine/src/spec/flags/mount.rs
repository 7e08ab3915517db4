//! `--mount type=bind|volume|tmpfs,…` (the docker CLI's `MountOpt`), and the
//! mount description that `-v`, `--mount` and `--tmpfs` all produce.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::mount_config::{RawMount, validate};
use super::{MountError, parse_go_bool, parse_ram_in_bytes};
use crate::spec::path::clean_path;

/// What a mount mounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    /// A host path.
    Bind,
    /// A named or anonymous volume.
    Volume,
    /// A fresh tmpfs.
    Tmpfs,
}

impl MountType {
    /// Docker's name for the type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bind => "bind",
            Self::Volume => "volume",
            Self::Tmpfs => "tmpfs",
        }
    }
}

/// Mount propagation, as a mount option (`rprivate` is Docker's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    /// `private`.
    Private,
    /// `rprivate`.
    #[default]
    RPrivate,
    /// `shared`.
    Shared,
    /// `rshared`.
    RShared,
    /// `slave`.
    Slave,
    /// `rslave`.
    RSlave,
}

impl Propagation {
    /// Every propagation, for lookups.
    const ALL: [Self; 6] = [
        Self::Private,
        Self::RPrivate,
        Self::Shared,
        Self::RShared,
        Self::Slave,
        Self::RSlave,
    ];

    /// The mount option.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::RPrivate => "rprivate",
            Self::Shared => "shared",
            Self::RShared => "rshared",
            Self::Slave => "slave",
            Self::RSlave => "rslave",
        }
    }

    /// The propagation a mount option names, if it names one.
    pub fn parse(option: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == option)
    }
}

/// Options of a bind mount.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BindOptions {
    /// The propagation asked for; binds get `rprivate` when none is.
    pub propagation: Option<Propagation>,
    /// Bind the directory alone, not the mounts below it.
    pub non_recursive: bool,
    /// Read-only, but not the mounts below it (`bind-recursive=writable`).
    pub read_only_non_recursive: bool,
    /// Read-only down the whole tree, or fail (`bind-recursive=readonly`).
    pub read_only_force_recursive: bool,
    /// Create a missing host path rather than refuse (`bind-create-src`).
    pub create_mountpoint: bool,
}

/// Options of a volume mount.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VolumeOptions {
    /// Do not copy the image's files into a new volume (`nocopy`).
    pub no_copy: bool,
    /// Labels for a volume created for this mount.
    pub labels: BTreeMap<String, String>,
    /// The volume driver (empty: `local`).
    pub driver: String,
    /// The driver's options (`volume-opt`).
    pub driver_options: BTreeMap<String, String>,
    /// A path inside the volume to mount instead of its root.
    pub subpath: String,
}

/// Options of a tmpfs mount.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TmpfsOptions {
    /// `tmpfs-size` in bytes (0: the kernel's default).
    pub size_bytes: i64,
    /// `tmpfs-mode` (0: the kernel's default).
    pub mode: u32,
    /// Raw mount options, as `--tmpfs /path:OPTIONS` gives them.
    pub data: Vec<String>,
}

/// One mount as the user asked for it, checked as Docker checks it (Docker's
/// `mount.Mount`). [`MountSpec::to_input`] makes the runtime's mount of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    /// Bind, volume or tmpfs.
    pub kind: MountType,
    /// A host path (bind), a volume name (volume; empty: anonymous), or
    /// nothing (tmpfs).
    pub source: String,
    /// The absolute path in the container, cleaned.
    pub target: String,
    /// Mounted read-only.
    pub read_only: bool,
    /// Bind options; `Some` exactly for binds.
    pub bind: Option<BindOptions>,
    /// Volume options, when any were given.
    pub volume: Option<VolumeOptions>,
    /// Tmpfs options, when any were given.
    pub tmpfs: Option<TmpfsOptions>,
}

/// `--mount`: one CSV record of `key=value` fields (keys case-insensitive;
/// `readonly`/`ro`, `volume-nocopy` and `bind-nonrecursive` also bare),
/// the type defaulting to `volume`. A source starting `./` (or `.`) is taken
/// from `cwd`. `path_exists` says whether a bind's host path exists: Docker
/// refuses missing ones unless `bind-create-src` is set.
pub fn parse_mount(
    value: &str,
    cwd: &Path,
    path_exists: impl Fn(&Path) -> bool,
) -> Result<MountSpec, MountError> {
    let mut raw = RawMount {
        kind: "volume".to_owned(),
        ..RawMount::default()
    };
    for field in csv_record(value)? {
        apply_field(&mut raw, &field, cwd)?;
    }
    if raw.kind.is_empty() {
        return Err(MountError::TypeRequired);
    }
    if raw.target.is_empty() {
        return Err(MountError::TargetRequired);
    }
    for (present, group, kind) in [
        (raw.volume.is_some(), "volume", "volume"),
        (raw.bind.is_some(), "bind", "bind"),
        (raw.tmpfs.is_some(), "tmpfs", "tmpfs"),
    ] {
        if present && raw.kind != kind {
            return Err(MountError::MixedOptions {
                group,
                kind: raw.kind.clone(),
            });
        }
    }
    if let Some(bind) = &raw.bind {
        if bind.read_only_non_recursive && !raw.read_only {
            return Err(MountError::RecursiveNeedsReadonly("writable"));
        }
        if bind.read_only_force_recursive {
            if !raw.read_only {
                return Err(MountError::RecursiveNeedsReadonly("readonly"));
            }
            if raw.propagation.as_deref() != Some("rprivate") {
                return Err(MountError::RecursiveNeedsRprivate);
            }
        }
    }
    validate(raw, Some(&path_exists))
}

/// One `--mount` field into `raw`.
fn apply_field(raw: &mut RawMount, field: &str, cwd: &Path) -> Result<(), MountError> {
    let Some((key, val)) = field.split_once('=') else {
        let key = field.to_lowercase();
        match key.as_str() {
            "readonly" | "ro" => raw.read_only = true,
            "volume-nocopy" => raw.volume.get_or_insert_default().no_copy = true,
            "bind-nonrecursive" => raw.bind.get_or_insert_default().non_recursive = true,
            _ => return Err(MountError::NotKeyValue(field.to_owned())),
        }
        return Ok(());
    };
    let key = key.to_lowercase();
    let invalid = || MountError::InvalidValue {
        key: key.clone(),
        value: val.to_owned(),
    };
    let boolean = || parse_go_bool(val).ok_or_else(invalid);
    match key.as_str() {
        "type" => raw.kind = val.to_lowercase(),
        "source" | "src" => {
            raw.source = if val == "." || val.starts_with("./") {
                clean_path(&cwd.join(val).to_string_lossy())
            } else {
                val.to_owned()
            };
        }
        "target" | "dst" | "destination" => raw.target = val.to_owned(),
        "readonly" | "ro" => raw.read_only = boolean()?,
        "consistency" => {}
        "bind-propagation" => {
            raw.bind.get_or_insert_default();
            raw.propagation = Some(val.to_lowercase());
        }
        "bind-nonrecursive" => raw.bind.get_or_insert_default().non_recursive = boolean()?,
        "bind-recursive" => match val {
            "enabled" => {}
            "disabled" => raw.bind.get_or_insert_default().non_recursive = true,
            "writable" => raw.bind.get_or_insert_default().read_only_non_recursive = true,
            "readonly" => raw.bind.get_or_insert_default().read_only_force_recursive = true,
            _ => return Err(MountError::InvalidRecursive(val.to_owned())),
        },
        "bind-create-src" => raw.bind.get_or_insert_default().create_mountpoint = boolean()?,
        "volume-subpath" => raw.volume.get_or_insert_default().subpath = val.to_owned(),
        "volume-nocopy" => raw.volume.get_or_insert_default().no_copy = boolean()?,
        "volume-label" => set_pair(&mut raw.volume.get_or_insert_default().labels, val),
        "volume-driver" => raw.volume.get_or_insert_default().driver = val.to_owned(),
        "volume-opt" => set_pair(&mut raw.volume.get_or_insert_default().driver_options, val),
        "tmpfs-size" => {
            raw.tmpfs.get_or_insert_default().size_bytes =
                parse_ram_in_bytes(val).map_err(|_| invalid())?;
        }
        "tmpfs-mode" => {
            let octal = !val.is_empty() && val.bytes().all(|b| (b'0'..=b'7').contains(&b));
            let mode = u32::from_str_radix(val, 8).ok().filter(|_| octal);
            raw.tmpfs.get_or_insert_default().mode = mode.ok_or_else(invalid)?;
        }
        _ => {
            return Err(MountError::UnexpectedKey {
                key,
                field: field.to_owned(),
            });
        }
    }
    Ok(())
}

/// `k=v` into `map`; an empty key is ignored, as the CLI ignores it.
fn set_pair(map: &mut BTreeMap<String, String>, pair: &str) {
    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
    if !k.is_empty() {
        map.insert(k.to_owned(), v.to_owned());
    }
}

/// The first record of `value` as Go's `encoding/csv` reads it: fields
/// split at `,`, a field may be quoted with `""` for a quote inside.
fn csv_record(value: &str) -> Result<Vec<String>, MountError> {
    let line = value.split('\n').next().unwrap_or_default();
    let line = line.strip_suffix('\r').unwrap_or(line);
    let bytes = line.as_bytes();
    let mut fields = Vec::new();
    let mut pos = 0;
    loop {
        let mut field = Vec::new();
        if bytes.get(pos) == Some(&b'"') {
            pos += 1;
            loop {
                match (bytes.get(pos), bytes.get(pos + 1)) {
                    (None, _) => return Err(quote_error(line.len() + 1)),
                    (Some(b'"'), Some(b'"')) => {
                        field.push(b'"');
                        pos += 2;
                    }
                    (Some(b'"'), None | Some(b',')) => {
                        pos += 1;
                        break;
                    }
                    (Some(b'"'), Some(_)) => return Err(quote_error(pos + 2)),
                    (Some(&b), _) => {
                        field.push(b);
                        pos += 1;
                    }
                }
            }
        } else {
            let end = bytes[pos..]
                .iter()
                .position(|b| *b == b',')
                .map_or(bytes.len(), |i| pos + i);
            if let Some(quote) = bytes[pos..end].iter().position(|b| *b == b'"') {
                return Err(MountError::Csv {
                    column: pos + quote + 1,
                    bare_quote: true,
                });
            }
            field.extend_from_slice(&bytes[pos..end]);
            pos = end;
        }
        fields.push(String::from_utf8_lossy(&field).into_owned());
        if pos >= bytes.len() {
            return Ok(fields);
        }
        pos += 1;
    }
}

/// An unclosed or misplaced quote at `column`.
fn quote_error(column: usize) -> MountError {
    MountError::Csv {
        column,
        bare_quote: false,
    }
}

/// Docker's check that no two mounts share a target
/// (`Duplicate mount point: /data`).
pub fn check_duplicate_targets(mounts: &[MountSpec]) -> Result<(), MountError> {
    let mut seen = BTreeSet::new();
    for mount in mounts {
        if !seen.insert(mount.target.as_str()) {
            return Err(MountError::DuplicateTarget(mount.target.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "mount_tests.rs"]
mod tests;
