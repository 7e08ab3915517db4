//! `-v/--volume [SOURCE:]TARGET[:MODE]`: the docker CLI's split of the value
//! (compose's `ParseVolume`), then the daemon's (moby's `ParseMountRaw`).

use std::path::Path;

use super::MountError;
use super::mount::{BindOptions, MountSpec, Propagation, VolumeOptions};
use super::mount_config::{RawMount, validate};
use crate::spec::path::clean_path;

/// `-v`: `/host:/ctr[:MODE]` binds a host path, `name:/ctr[:MODE]` mounts a
/// named volume, `/ctr` an anonymous one. MODE is a comma-separated set of
/// `ro|rw`, `z|Z` (accepted and ignored: no SELinux), a propagation
/// (`rprivate`, `rshared`, …), `nocopy`, and a consistency (`cached`, …).
/// A host path starting with `.` is taken from `cwd`; missing host paths
/// are not checked (the runtime creates them, as Docker does).
pub fn parse_volume(value: &str, cwd: &Path) -> Result<MountSpec, MountError> {
    let is_bind = cli_split(value)?;
    let raw = match value.split_once(':') {
        Some((host, rest)) if is_bind && host.starts_with('.') => {
            format!("{}:{rest}", clean_path(&cwd.join(host).to_string_lossy()))
        }
        _ => value.to_owned(),
    };
    let spec = daemon_split(&raw)?;
    if spec.kind == super::MountType::Volume && !spec.source.is_empty() {
        validate_volume_name(&spec.source)?;
    }
    Ok(spec)
}

/// The CLI's split: refuses empty sections and extra colons; says whether
/// the source is a host path.
fn cli_split(value: &str) -> Result<bool, MountError> {
    if value.is_empty() {
        return Err(MountError::EmptyVolumeSpec);
    }
    if value.len() <= 2 {
        return Ok(false);
    }
    let syntax = |reason| MountError::VolumeSyntax {
        spec: value.to_owned(),
        reason,
    };
    let parts: Vec<&str> = value.split(':').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(syntax("empty section between colons"));
    }
    if parts.len() > 3 {
        return Err(syntax("too many colons"));
    }
    let source = if parts.len() == 1 { "" } else { parts[0] };
    Ok(matches!(
        source.as_bytes().first(),
        Some(b'.' | b'/' | b'~')
    ))
}

/// The daemon's split and checks (`invalid volume specification: '…'`).
fn daemon_split(raw: &str) -> Result<MountSpec, MountError> {
    let invalid = || MountError::VolumeSpec(raw.to_owned());
    let parts: Vec<&str> = raw.splitn(4, ':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [""] | ["", ..] => return Err(invalid()),
        [target] => ("", *target, ""),
        [_, second] if valid_mode(second) => return Err(invalid()),
        [source, target] => (*source, *target, ""),
        [source, target, mode] => (*source, *target, *mode),
        _ => return Err(invalid()),
    };
    if !valid_mode(mode) {
        return Err(MountError::InvalidMode(mode.to_owned()));
    }
    let options: Vec<&str> = mode.split(',').collect();
    let propagation = options.iter().find_map(|o| Propagation::parse(o));
    let mount = RawMount {
        kind: if source.starts_with('/') {
            "bind"
        } else {
            "volume"
        }
        .to_owned(),
        source: source.to_owned(),
        target: target.to_owned(),
        read_only: options.contains(&"ro"),
        propagation: propagation.map(|p| p.as_str().to_owned()),
        bind: propagation.map(|_| BindOptions::default()),
        volume: options.contains(&"nocopy").then(|| VolumeOptions {
            no_copy: true,
            ..VolumeOptions::default()
        }),
        tmpfs: None,
    };
    validate(mount, None).map_err(|e| MountError::VolumeConfig {
        spec: raw.to_owned(),
        source: Box::new(e),
    })
}

/// Whether `mode` is a valid `-v` mode: known options, each kind at most
/// once. The empty mode is valid.
fn valid_mode(mode: &str) -> bool {
    if mode.is_empty() {
        return true;
    }
    let mut counts = [0u8; 5];
    for option in mode.split(',') {
        let kind = match option {
            "rw" | "ro" => 0,
            "z" | "Z" => 1,
            "nocopy" => 3,
            "consistent" | "cached" | "delegated" => 4,
            _ if Propagation::parse(option).is_some() => 2,
            _ => return false,
        };
        counts[kind] += 1;
    }
    counts.iter().all(|c| *c <= 1)
}

/// The local driver's rule for volume names: two characters or more, from
/// `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn validate_volume_name(name: &str) -> Result<(), MountError> {
    if name.len() == 1 {
        return Err(MountError::VolumeNameTooShort(name.to_owned()));
    }
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric());
    if !first_ok || !bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)) {
        return Err(MountError::VolumeNameChars(name.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::MountType;
    use super::*;
    use crate::spec::flags::assert_errors;

    fn cwd() -> &'static Path {
        Path::new("/work/app")
    }

    fn input_options(spec: &MountSpec) -> Vec<String> {
        spec.to_input(Some(Path::new("/vol/_data")))
            .unwrap()
            .options
    }

    #[test]
    fn host_paths_bind_and_names_mount_volumes() {
        let bind = parse_volume("/srv/data:/data:ro", cwd()).unwrap();
        assert_eq!(bind.kind, MountType::Bind);
        assert_eq!(
            (bind.source.as_str(), bind.target.as_str()),
            ("/srv/data", "/data")
        );
        assert!(bind.read_only);
        assert_eq!(input_options(&bind), ["rprivate"]);

        let named = parse_volume("cache:/var/cache/", cwd()).unwrap();
        assert_eq!(named.kind, MountType::Volume);
        assert_eq!(
            (named.source.as_str(), named.target.as_str()),
            ("cache", "/var/cache")
        );
        assert!(!named.read_only);

        let anonymous = parse_volume("/scratch", cwd()).unwrap();
        assert_eq!(
            (anonymous.kind, anonymous.source.as_str()),
            (MountType::Volume, "")
        );
    }

    #[test]
    fn relative_host_paths_are_taken_from_the_working_directory() {
        let bind = parse_volume("./data:/data", cwd()).unwrap();
        assert_eq!(bind.source, "/work/app/data");
        let bind = parse_volume("../x:/x:rshared", cwd()).unwrap();
        assert_eq!(bind.source, "/work/x");
        assert_eq!(input_options(&bind), ["rshared"]);
    }

    #[test]
    fn volume_modes_set_read_only_propagation_and_nocopy() {
        let spec = parse_volume("vol:/d:ro,nocopy,z", cwd()).unwrap();
        assert!(spec.read_only);
        assert!(spec.volume.as_ref().unwrap().no_copy);
        let spec = parse_volume("/h:/d:rw,rslave,cached", cwd()).unwrap();
        assert_eq!(spec.bind.unwrap().propagation, Some(Propagation::RSlave));
    }

    #[test]
    fn volume_errors_read_as_dockers() {
        assert_errors(
            |v| parse_volume(v, cwd()),
            &[
                ("", "invalid empty volume spec"),
                (":/b", "invalid spec: :/b: empty section between colons"),
                ("/a:/b:ro:z", "invalid spec: /a:/b:ro:z: too many colons"),
                ("/foo:rw", "invalid volume specification: '/foo:rw'"),
                ("/a:/b:xx", "invalid mode: xx"),
                ("/a:/b:ro,rw", "invalid mode: ro,rw"),
                (
                    "/a:/",
                    "invalid volume specification: '/a:/': invalid mount config for type \"bind\": invalid specification: destination can't be '/'",
                ),
                (
                    "/a:rel/path",
                    "invalid volume specification: '/a:rel/path': invalid mount config for type \"bind\": invalid mount path: 'rel/path' mount path must be absolute",
                ),
                (
                    "/a:/b:nocopy",
                    "invalid volume specification: '/a:/b:nocopy': invalid mount config for type \"bind\": field VolumeOptions must not be specified",
                ),
                (
                    "vol:/b:rshared",
                    "invalid volume specification: 'vol:/b:rshared': invalid mount config for type \"volume\": field BindOptions must not be specified",
                ),
                (
                    "~/x:/y",
                    "create ~/x: \"~/x\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
                ),
            ],
        );
    }

    #[test]
    fn volume_names_follow_the_local_drivers_rule() {
        assert!(validate_volume_name("my_vol-1.0").is_ok());
        assert_eq!(
            validate_volume_name("a").unwrap_err().to_string(),
            "create a: volume name is too short, names should be at least two alphanumeric characters"
        );
        assert!(validate_volume_name("_x").is_err());
        assert!(validate_volume_name("a/b").is_err());
    }
}
