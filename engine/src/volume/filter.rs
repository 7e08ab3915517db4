//! `volume ls --filter` and `volume prune --filter`: Docker's keys
//! (`dangling`, `driver`, `label`, `label!`, `name`; `all` for prune),
//! values of one key or'ed, keys and'ed. Pure.

use super::record::Volume;

/// The keys `volume ls --filter` accepts.
pub const LIST_KEYS: &[&str] = &["dangling", "driver", "label", "label!", "name"];
/// The keys `volume prune --filter` accepts.
pub const PRUNE_KEYS: &[&str] = &["label", "label!", "all"];

/// Parsed filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeFilters {
    dangling: Option<bool>,
    drivers: Vec<String>,
    labels: Vec<String>,
    not_labels: Vec<String>,
    names: Vec<String>,
    /// `all=true`: prune named volumes too.
    pub all: bool,
}

/// A Go boolean as `strconv.ParseBool` reads it.
fn go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

impl VolumeFilters {
    /// Reads `key=value` filters with keys among `accepted`; the error is
    /// Docker's (`invalid filter 'x'`).
    pub fn parse(filters: &[String], accepted: &[&str]) -> Result<Self, String> {
        let mut out = Self::default();
        for filter in filters.iter().filter(|f| !f.is_empty()) {
            let (key, value) = filter.split_once('=').unwrap_or((filter, ""));
            if !accepted.contains(&key) {
                return Err(format!("invalid filter '{key}'"));
            }
            let invalid = || format!("invalid filter '{key}={value}'");
            match key {
                "dangling" => out.dangling = Some(go_bool(value).ok_or_else(invalid)?),
                "all" => out.all = go_bool(value).ok_or_else(invalid)?,
                "driver" => out.drivers.push(value.to_owned()),
                "label" => out.labels.push(value.to_owned()),
                "label!" => out.not_labels.push(value.to_owned()),
                _ => out.names.push(value.to_owned()),
            }
        }
        Ok(out)
    }

    /// Whether the filters keep `volume`, which `links` containers use.
    pub fn keep(&self, volume: &Volume, links: usize) -> bool {
        let labels_ok = self.labels.iter().all(|l| has_label(volume, l))
            && (self.not_labels.is_empty()
                || !self.not_labels.iter().all(|l| has_label(volume, l)));
        let dangling_ok = self.dangling.is_none_or(|d| d == (links == 0));
        let driver_ok = self.drivers.is_empty() || self.drivers.contains(&volume.driver);
        // Docker matches names as regular expressions; a plain name is a
        // substring match.
        let name_ok = self.names.is_empty() || self.names.iter().any(|n| volume.name.contains(n));
        labels_ok && dangling_ok && driver_ok && name_ok
    }
}

/// `key` or `key=value` among the volume's labels.
fn has_label(volume: &Volume, filter: &str) -> bool {
    let labels = volume.labels.as_ref();
    match filter.split_once('=') {
        Some((k, v)) => labels.and_then(|l| l.get(k)).is_some_and(|l| l == v),
        None => labels.is_some_and(|l| l.contains_key(filter)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn volume(name: &str, labels: &[(&str, &str)]) -> Volume {
        Volume {
            name: name.to_owned(),
            driver: "local".to_owned(),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..Default::default()
        }
    }

    fn filters(list: &[&str], keys: &[&str]) -> Result<VolumeFilters, String> {
        let owned: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
        VolumeFilters::parse(&owned, keys)
    }

    #[test]
    fn keys_and_values_are_checked_as_docker_does() {
        assert_eq!(
            filters(&["colour=red"], LIST_KEYS).unwrap_err(),
            "invalid filter 'colour'"
        );
        assert_eq!(
            filters(&["dangling=maybe"], LIST_KEYS).unwrap_err(),
            "invalid filter 'dangling=maybe'"
        );
        assert_eq!(
            filters(&["dangling=true"], PRUNE_KEYS).unwrap_err(),
            "invalid filter 'dangling'"
        );
        assert!(filters(&["all=1"], PRUNE_KEYS).unwrap().all);
        assert!(filters(&[""], LIST_KEYS).unwrap() == VolumeFilters::default());
    }

    #[test]
    fn dangling_names_labels_and_drivers() {
        let data = volume("data", &[("tier", "db")]);
        let logs = volume("web-logs", &[("tier", "web"), ("keep", "")]);
        let f = filters(&["dangling=true"], LIST_KEYS).unwrap();
        assert!(f.keep(&data, 0) && !f.keep(&data, 2));
        let f = filters(&["dangling=0"], LIST_KEYS).unwrap();
        assert!(!f.keep(&data, 0) && f.keep(&data, 1));
        let f = filters(&["name=log", "name=nope"], LIST_KEYS).unwrap();
        assert!(f.keep(&logs, 0) && !f.keep(&data, 0));
        let f = filters(&["label=tier=web", "label=keep"], LIST_KEYS).unwrap();
        assert!(f.keep(&logs, 0) && !f.keep(&data, 0));
        let f = filters(&["label!=keep"], LIST_KEYS).unwrap();
        assert!(!f.keep(&logs, 0) && f.keep(&data, 0));
        let f = filters(&["driver=local"], LIST_KEYS).unwrap();
        assert!(f.keep(&data, 0));
        let f = filters(&["driver=nfs"], LIST_KEYS).unwrap();
        assert!(!f.keep(&data, 0));
        let unlabelled = Volume {
            labels: None,
            ..volume("x1", &[])
        };
        assert!(
            !filters(&["label=a"], LIST_KEYS)
                .unwrap()
                .keep(&unlabelled, 0)
        );
    }
}
