//! Docker's `filters` query parameter: JSON mapping each key to its values,
//! either as a list (`{"name":["a","b"]}`) or, from older clients, as a set
//! (`{"name":{"a":true}}`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::error::NetdError;

/// Parsed filters: key to accepted values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Filters(pub BTreeMap<String, BTreeSet<String>>);

#[derive(Deserialize)]
#[serde(untagged)]
enum Values {
    List(Vec<String>),
    Set(BTreeMap<String, bool>),
}

impl Filters {
    /// Parses the parameter's JSON (absent or empty means no filter) and
    /// refuses keys outside `allowed` with Docker's message.
    pub(crate) fn parse(json: Option<&str>, allowed: &[&str]) -> Result<Self, NetdError> {
        let Some(json) = json.filter(|j| !j.trim().is_empty()) else {
            return Ok(Self::default());
        };
        let raw: BTreeMap<String, Values> = serde_json::from_str(json)
            .map_err(|e| NetdError::invalid(format!("invalid filter: {e}")))?;
        let mut out = BTreeMap::new();
        for (k, v) in raw {
            if !allowed.contains(&k.as_str()) {
                return Err(NetdError::invalid(format!("invalid filter '{k}'")));
            }
            let values = match v {
                Values::List(l) => l.into_iter().collect(),
                Values::Set(s) => s
                    .into_iter()
                    .filter(|(_, on)| *on)
                    .map(|(k, _)| k)
                    .collect(),
            };
            out.insert(k, values);
        }
        Ok(Self(out))
    }

    /// The values of `key`, if the filter names it.
    pub(crate) fn get(&self, key: &str) -> Option<&BTreeSet<String>> {
        self.0.get(key).filter(|v| !v.is_empty())
    }

    /// Whether `value` passes the `key` filter by exact match (or the key is
    /// not filtered).
    pub(crate) fn exact(&self, key: &str, value: &str) -> bool {
        self.get(key).is_none_or(|vs| vs.contains(value))
    }

    /// Whether `value` passes the `key` filter by substring match, as Docker
    /// matches names and ids (it treats the value as a pattern; plain text
    /// matches as a substring).
    pub(crate) fn contains(&self, key: &str, value: &str) -> bool {
        self.get(key)
            .is_none_or(|vs| vs.iter().any(|v| value.contains(v.as_str())))
    }

    /// Whether `labels` satisfy every `key` (`label`) entry: `k` means the
    /// label exists, `k=v` that it has this value. For `label!` pass
    /// `negate`: no entry may match.
    pub(crate) fn labels(
        &self,
        key: &str,
        labels: &BTreeMap<String, String>,
        negate: bool,
    ) -> bool {
        let Some(vs) = self.get(key) else {
            return true;
        };
        let matches = |v: &String| match v.split_once('=') {
            Some((k, want)) => labels.get(k).is_some_and(|have| have == want),
            None => labels.contains_key(v),
        };
        if negate {
            !vs.iter().any(matches)
        } else {
            vs.iter().all(matches)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_value_forms_parse() {
        let a = Filters::parse(Some(r#"{"name":["x","y"]}"#), &["name"]).unwrap();
        let b =
            Filters::parse(Some(r#"{"name":{"x":true,"y":true,"z":false}}"#), &["name"]).unwrap();
        assert_eq!(a, b);
        assert_eq!(Filters::parse(None, &[]).unwrap(), Filters::default());
    }

    #[test]
    fn unknown_keys_and_bad_json_are_refused() {
        let e = Filters::parse(Some(r#"{"colour":["red"]}"#), &["name"]).unwrap_err();
        assert_eq!(e.message, "invalid filter 'colour'");
        assert_eq!(e.kind.status(), 400);
        assert!(Filters::parse(Some("{"), &["name"]).is_err());
    }

    #[test]
    fn label_filters_match_keys_and_values() {
        let f = Filters::parse(Some(r#"{"label":["a","b=2"]}"#), &["label"]).unwrap();
        let mut l = BTreeMap::new();
        l.insert("a".to_owned(), "1".to_owned());
        assert!(!f.labels("label", &l, false));
        l.insert("b".to_owned(), "2".to_owned());
        assert!(f.labels("label", &l, false));
        assert!(!f.labels("label", &l, true));
        assert!(f.labels("other", &l, false));
    }

    #[test]
    fn names_match_as_substrings() {
        let f = Filters::parse(Some(r#"{"name":["bri"]}"#), &["name"]).unwrap();
        assert!(f.contains("name", "bridge"));
        assert!(f.contains("name", "my-bridge"));
        assert!(!f.contains("name", "host"));
        assert!(f.exact("driver", "anything"));
    }
}
