//! `--tmpfs /path[:options]` and Docker's merging of tmpfs mount options
//! (moby's `MergeTmpfsOptions`).

use super::mount::{MountSpec, MountType, TmpfsOptions};
use super::{ConfigFault, MountError};
use crate::spec::path::clean_path;

/// Mount flags by the setting they change: two flags of one setting
/// (`ro`/`rw`, or any two propagations) collide, and the later one wins.
const FLAGS: [(&str, &str); 32] = [
    ("ro", "rdonly"),
    ("rw", "rdonly"),
    ("suid", "nosuid"),
    ("nosuid", "nosuid"),
    ("dev", "nodev"),
    ("nodev", "nodev"),
    ("exec", "noexec"),
    ("noexec", "noexec"),
    ("sync", "sync"),
    ("async", "sync"),
    ("dirsync", "dirsync"),
    ("remount", "remount"),
    ("mand", "mand"),
    ("nomand", "mand"),
    ("atime", "noatime"),
    ("noatime", "noatime"),
    ("diratime", "nodiratime"),
    ("nodiratime", "nodiratime"),
    ("bind", "propagation"),
    ("rbind", "propagation"),
    ("unbindable", "propagation"),
    ("runbindable", "propagation"),
    ("private", "propagation"),
    ("rprivate", "propagation"),
    ("shared", "propagation"),
    ("rshared", "propagation"),
    ("slave", "propagation"),
    ("rslave", "propagation"),
    ("relatime", "relatime"),
    ("norelatime", "relatime"),
    ("strictatime", "strictatime"),
    ("nostrictatime", "strictatime"),
];

/// The `key=value` settings a tmpfs takes.
const SETTINGS: [&str; 8] = [
    "",
    "size",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "mpol",
];

/// What Docker puts before the user's tmpfs options.
const TMPFS_DEFAULTS: [&str; 4] = ["noexec", "nosuid", "nodev", "rprivate"];

/// `--tmpfs /run:rw,size=64m`: an absolute target other than `/`, and
/// options as [`merge_tmpfs_options`] takes them.
pub fn parse_tmpfs(value: &str) -> Result<MountSpec, MountError> {
    let (target, options) = value.split_once(':').unwrap_or((value, ""));
    if clean_path(target) == "/" {
        return Err(MountError::Destination(ConfigFault::TargetIsRoot));
    }
    if !target.starts_with('/') {
        return Err(MountError::Destination(ConfigFault::NotAbsolute(
            target.to_owned(),
        )));
    }
    let data: Vec<String> = options
        .split(',')
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect();
    tmpfs_mount_options(&data)?;
    Ok(MountSpec {
        kind: MountType::Tmpfs,
        source: String::new(),
        target: clean_path(target),
        read_only: false,
        bind: None,
        volume: None,
        tmpfs: Some(TmpfsOptions {
            data,
            ..TmpfsOptions::default()
        }),
    })
}

/// Docker's options for a tmpfs mount with `data` from the user: its
/// defaults, then `data`, merged.
pub(crate) fn tmpfs_mount_options(data: &[String]) -> Result<Vec<String>, MountError> {
    let options: Vec<String> = TMPFS_DEFAULTS
        .iter()
        .map(|s| (*s).to_owned())
        .chain(data.iter().cloned())
        .collect();
    merge_tmpfs_options(&options)
}

/// Tmpfs options without contradictions, the later option of a setting
/// winning (`noexec,…,exec` → `exec`), in their order; `defaults` dropped.
/// Anything but a mount flag or a tmpfs setting (`size`, `mode`, `uid`,
/// `gid`, `nr_inodes`, `nr_blocks`, `mpol`) is refused.
pub fn merge_tmpfs_options(options: &[String]) -> Result<Vec<String>, MountError> {
    let mut seen: Vec<&str> = Vec::new();
    let mut merged = Vec::new();
    for option in options.iter().rev() {
        if option == "defaults" {
            continue;
        }
        let key = match FLAGS.iter().find(|(flag, _)| flag == option) {
            Some((_, setting)) => *setting,
            None => match option.split_once('=') {
                Some((name, _)) if SETTINGS.contains(&name) => name,
                _ => return Err(MountError::TmpfsOption(option.clone())),
            },
        };
        if !seen.contains(&key) {
            seen.push(key);
            merged.push(option.clone());
        }
    }
    merged.reverse();
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::flags::assert_errors;
    use crate::spec::strings;

    #[test]
    fn later_tmpfs_options_win_over_earlier_ones() {
        let merged = merge_tmpfs_options(&strings(&[
            "noexec", "nosuid", "size=1m", "exec", "size=2m", "ro",
        ]))
        .unwrap();
        assert_eq!(merged, ["nosuid", "exec", "size=2m", "ro"]);
        let merged = merge_tmpfs_options(&strings(&["rprivate", "defaults", "shared"])).unwrap();
        assert_eq!(merged, ["shared"]);
    }

    #[test]
    fn unknown_tmpfs_options_are_refused_as_docker_quotes_them() {
        let err = |o: &[&str]| merge_tmpfs_options(&strings(o)).unwrap_err().to_string();
        assert_eq!(err(&["size=1m", "foo"]), r#"invalid tmpfs option ["foo"]"#);
    }

    #[test]
    fn tmpfs_flag_takes_a_path_and_options() {
        let spec = parse_tmpfs("/run:rw,size=64m,exec").unwrap();
        assert_eq!(spec.target, "/run");
        let input = spec.to_input(None).unwrap();
        assert_eq!(
            input.options,
            ["nosuid", "nodev", "rprivate", "rw", "size=64m", "exec"]
        );
        let spec = parse_tmpfs("/tmp").unwrap();
        assert_eq!(
            spec.to_input(None).unwrap().options,
            ["noexec", "nosuid", "nodev", "rprivate"]
        );
    }

    #[test]
    fn tmpfs_flag_refuses_bad_targets_and_options() {
        assert_errors(
            parse_tmpfs,
            &[
                ("/", "invalid specification: destination can't be '/'"),
                (
                    "run:size=1m",
                    "invalid mount path: 'run' mount path must be absolute",
                ),
                ("/run:bogus", r#"invalid tmpfs option ["bogus"]"#),
                ("/run:foo=bar", r#"invalid tmpfs option ["foo" "bar"]"#),
            ],
        );
    }
}
