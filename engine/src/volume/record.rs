//! A volume's record (what berth keeps beside `_data`) and the shape
//! `volume inspect` prints (Docker's `volume.Volume`), with the local
//! driver's checks of names and options. Pure.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Local, SecondsFormat};
use serde::{Deserialize, Serialize};

/// The label Docker puts on the volumes it makes for `-v /path` (and that
/// `volume prune` without `--all` looks for).
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";
/// The one driver: volumes are directories of the host.
pub const LOCAL_DRIVER: &str = "local";

/// What berth records of a volume, beside its data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeMeta {
    /// Creation time, RFC 3339 in UTC with nanoseconds.
    pub created_at: String,
    /// `local`.
    pub driver: String,
    /// Labels (`None` for volumes `run` made by name, as Docker's `null`).
    pub labels: Option<BTreeMap<String, String>>,
    /// The driver's options (`-o`): `type`, `device`, `o`, `size`.
    pub options: Option<BTreeMap<String, String>>,
}

impl VolumeMeta {
    /// Whether `run` made the volume for a mount without a name.
    pub fn anonymous(&self) -> bool {
        anonymous(self.labels.as_ref())
    }

    /// Whether the options ask for a file system to be mounted on the
    /// volume's data directory (`type` and `device`).
    pub fn mounts_device(&self) -> bool {
        self.options
            .as_ref()
            .is_some_and(|o| o.contains_key("type") && o.contains_key("device"))
    }
}

/// Whether `labels` mark an anonymous volume.
fn anonymous(labels: Option<&BTreeMap<String, String>>) -> bool {
    labels.is_some_and(|l| l.contains_key(ANONYMOUS_LABEL))
}

/// A volume as `volume inspect` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    /// Creation time in RFC 3339, whole seconds, local time zone.
    pub created_at: String,
    /// `local`.
    pub driver: String,
    /// Labels.
    pub labels: Option<BTreeMap<String, String>>,
    /// The data directory containers mount.
    pub mountpoint: String,
    /// The name.
    pub name: String,
    /// The driver's options.
    pub options: Option<BTreeMap<String, String>>,
    /// `local`.
    pub scope: String,
}

impl Volume {
    /// The view of volume `name`, whose data is at `mountpoint`.
    pub fn new(name: &str, mountpoint: &Path, meta: &VolumeMeta) -> Self {
        Self {
            created_at: display_time(&meta.created_at),
            driver: if meta.driver.is_empty() {
                LOCAL_DRIVER.to_owned()
            } else {
                meta.driver.clone()
            },
            labels: meta.labels.clone(),
            mountpoint: mountpoint.display().to_string(),
            name: name.to_owned(),
            options: meta.options.clone(),
            scope: "local".to_owned(),
        }
    }

    /// Whether `run` made it for a mount without a name.
    pub fn anonymous(&self) -> bool {
        anonymous(self.labels.as_ref())
    }

    /// `k=v,k2=v2`, sorted, as `volume ls` shows `.Labels`.
    pub fn labels_text(&self) -> String {
        self.labels
            .iter()
            .flatten()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// `time.Format(time.RFC3339)` of a stored time, in the local zone (`Z`
/// for UTC); the text as it is when it does not parse.
pub fn display_time(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339).map_or_else(
        |_| rfc3339.to_owned(),
        |t| {
            t.with_timezone(&Local)
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        },
    )
}

/// The local driver's options: `type`, `o`, `device`, `size`, with
/// `device` and `type` each needing the other and `o` both (Docker's
/// `validateOpts`). The error is Docker's reason.
pub fn check_options(options: &BTreeMap<String, String>) -> Result<(), String> {
    const VALID: [&str; 4] = ["type", "o", "device", "size"];
    const NEEDS: [(&str, &[&str]); 3] = [
        ("device", &["type"]),
        ("type", &["device"]),
        ("o", &["device", "type"]),
    ];
    if let Some(bad) = options.keys().find(|k| !VALID.contains(&k.as_str())) {
        return Err(format!("invalid option: {bad:?}"));
    }
    for (option, needed) in NEEDS {
        if !options.contains_key(option) {
            continue;
        }
        if let Some(missing) = needed.iter().find(|n| !options.contains_key(**n)) {
            return Err(format!("missing required option: {missing:?}"));
        }
    }
    Ok(())
}

/// Checks a driver name: only `local` exists (empty means it).
pub fn check_driver(driver: &str) -> Result<(), String> {
    if driver.is_empty() || driver == LOCAL_DRIVER {
        Ok(())
    } else {
        Err(format!(
            "error looking up volume plugin {driver}: plugin {driver:?} not found"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn options_follow_the_local_drivers_rules() {
        assert_eq!(check_options(&opts(&[])), Ok(()));
        assert_eq!(
            check_options(&opts(&[
                ("type", "tmpfs"),
                ("device", "tmpfs"),
                ("o", "size=1m")
            ])),
            Ok(())
        );
        assert_eq!(
            check_options(&opts(&[("colour", "red")])),
            Err("invalid option: \"colour\"".to_owned())
        );
        assert_eq!(
            check_options(&opts(&[("type", "tmpfs")])),
            Err("missing required option: \"device\"".to_owned())
        );
        assert_eq!(
            check_options(&opts(&[("o", "bind"), ("device", "/x")])),
            Err("missing required option: \"type\"".to_owned())
        );
        assert_eq!(check_options(&opts(&[("size", "1g")])), Ok(()));
    }

    #[test]
    fn only_the_local_driver_exists() {
        assert!(check_driver("").is_ok());
        assert!(check_driver("local").is_ok());
        assert_eq!(
            check_driver("nfs").unwrap_err(),
            "error looking up volume plugin nfs: plugin \"nfs\" not found"
        );
    }

    #[test]
    fn the_inspect_shape_has_dockers_fields() {
        let meta = VolumeMeta {
            created_at: "2024-05-01T10:20:30.123456789Z".to_owned(),
            driver: String::new(),
            labels: Some(opts(&[(ANONYMOUS_LABEL, ""), ("a", "1")])),
            options: None,
        };
        let v = Volume::new(
            "data",
            Path::new("/var/lib/berth/volumes/data/_data"),
            &meta,
        );
        let json = serde_json::to_value(&v).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "CreatedAt",
                "Driver",
                "Labels",
                "Mountpoint",
                "Name",
                "Options",
                "Scope"
            ]
        );
        assert_eq!(json["Driver"], "local");
        assert_eq!(json["Options"], serde_json::Value::Null);
        assert_eq!(json["Scope"], "local");
        assert!(v.anonymous() && meta.anonymous());
        assert_eq!(v.labels_text(), "a=1,com.docker.volume.anonymous=");
        assert!(
            !v.created_at.contains('.'),
            "whole seconds: {}",
            v.created_at
        );
    }

    #[test]
    fn device_options_are_told_apart() {
        let mut meta = VolumeMeta::default();
        assert!(!meta.mounts_device() && !meta.anonymous());
        meta.options = Some(opts(&[("type", "none"), ("device", "/srv"), ("o", "bind")]));
        assert!(meta.mounts_device());
        assert_eq!(display_time("garbage"), "garbage");
    }
}
