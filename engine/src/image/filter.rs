//! Which images `images` lists and `image prune` removes: Docker's
//! filters (`dangling`, `label`, `label!`, `before`, `since`, `until`,
//! `reference`) and its rule that untagged parents stay hidden without
//! `-a`; as pure logic on image summaries.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::digest::Digest;
use super::error::{ImageError, Result};
use super::reference::Reference;

/// One image as listings see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The image id.
    pub id: Digest,
    /// Its parent, if any.
    pub parent: Option<Digest>,
    /// Its tags, sorted.
    pub tags: Vec<Reference>,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// Its layers' bytes.
    pub size: u64,
    /// Its config's labels.
    pub labels: BTreeMap<String, String>,
    /// Whether other images name it as parent.
    pub has_children: bool,
}

/// Parsed `--filter` values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageFilters {
    dangling: Option<bool>,
    labels: Vec<String>,
    not_labels: Vec<String>,
    before: Option<DateTime<Utc>>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    references: Vec<String>,
}

/// The keys `images --filter` accepts.
pub const LIST_KEYS: &[&str] = &["dangling", "label", "before", "since", "until", "reference"];
/// The keys `image prune --filter` accepts.
pub const PRUNE_KEYS: &[&str] = &["until", "label", "label!"];

impl ImageFilters {
    /// Reads `key=value` filters (keys among `accepted`); `created_of`
    /// gives the creation time of the image `before`/`since` name, and
    /// `now` anchors `until=<duration>`. Errors read as Docker's
    /// (`invalid filter 'x'`).
    pub fn parse(
        filters: &[String],
        accepted: &[&str],
        created_of: impl Fn(&str) -> Result<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let mut out = Self::default();
        for filter in filters.iter().filter(|f| !f.is_empty()) {
            let (key, value) = filter.split_once('=').unwrap_or((filter, ""));
            if !accepted.contains(&key) {
                return Err(ImageError::Invalid(format!("invalid filter '{key}'")));
            }
            let invalid = || ImageError::Invalid(format!("invalid filter '{key}={value}'"));
            match key {
                "dangling" => {
                    out.dangling = Some(match value.to_ascii_lowercase().as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => return Err(invalid()),
                    });
                }
                "label" => out.labels.push(value.to_owned()),
                "label!" => out.not_labels.push(value.to_owned()),
                "before" => out.before = Some(created_of(value)?),
                "since" => out.since = Some(created_of(value)?),
                "until" => out.until = Some(parse_timestamp(value, now).ok_or_else(invalid)?),
                _ => out.references.push(value.to_owned()),
            }
        }
        Ok(out)
    }

    /// Whether `--filter dangling=true` was given.
    pub fn dangling_only(&self) -> bool {
        self.dangling == Some(true)
    }

    /// The tags of `image` to show when the filters keep it; `None` when
    /// they drop it. Without `all`, untagged parents are hidden.
    pub fn keep(&self, image: &Summary, all: bool) -> Option<Vec<Reference>> {
        let labels_ok = self.labels.iter().all(|l| has_label(&image.labels, l))
            && !self.not_labels.iter().any(|l| has_label(&image.labels, l));
        let time_ok = self.before.is_none_or(|t| image.created < t)
            && self.since.is_none_or(|t| image.created > t)
            && self.until.is_none_or(|t| image.created < t);
        if !labels_ok || !time_ok {
            return None;
        }
        let mut tags = image.tags.clone();
        if !self.references.is_empty() {
            tags.retain(|t| self.references.iter().any(|p| reference_matches(p, t)));
            if tags.is_empty() {
                return None;
            }
        }
        if image.tags.is_empty() {
            let hidden_parent = !all && image.has_children;
            (!hidden_parent && self.dangling != Some(false)).then_some(tags)
        } else {
            (!self.dangling_only()).then_some(tags)
        }
    }
}

/// `key` or `key=value` among `labels`.
fn has_label(labels: &BTreeMap<String, String>, filter: &str) -> bool {
    match filter.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|l| l == v),
        None => labels.contains_key(filter),
    }
}

/// Docker's `FamiliarMatch`: the pattern against `name:tag`, then `name`.
fn reference_matches(pattern: &str, reference: &Reference) -> bool {
    glob_match(pattern, &reference.familiar()) || glob_match(pattern, &reference.familiar_name())
}

/// Go's `path.Match`: `*` (not across `/`), `?`, `[…]` classes with
/// ranges and `^` negation, `\` escapes. A malformed pattern matches
/// nothing.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    glob(&p, &n)
}

fn glob(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => (0..=n.len())
            .take_while(|&i| i == 0 || n[i - 1] != '/')
            .any(|i| glob(&p[1..], &n[i..])),
        Some('?') => n.first().is_some_and(|&c| c != '/') && glob(&p[1..], &n[1..]),
        Some('[') => {
            let Some(&c) = n.first() else {
                return false;
            };
            match class(&p[1..], c) {
                Some((true, rest)) => glob(rest, &n[1..]),
                _ => false,
            }
        }
        Some('\\') => p.get(1).is_some_and(|e| n.first() == Some(e)) && glob(&p[2..], &n[1..]),
        Some(c) => n.first() == Some(c) && glob(&p[1..], &n[1..]),
    }
}

/// Matches `c` against the class after `[`; returns whether it matched
/// and the pattern after `]`, or `None` when malformed.
fn class(p: &[char], c: char) -> Option<(bool, &[char])> {
    let (negate, mut p) = match p.first() {
        Some('^') => (true, &p[1..]),
        _ => (false, p),
    };
    let mut matched = false;
    let mut first = true;
    loop {
        match p.first()? {
            ']' if !first => return Some((matched != negate, &p[1..])),
            _ => {}
        }
        first = false;
        let (lo, rest) = class_char(p)?;
        p = rest;
        let hi = if p.first() == Some(&'-') && p.get(1) != Some(&']') {
            let (hi, rest) = class_char(&p[1..])?;
            p = rest;
            hi
        } else {
            lo
        };
        matched |= lo <= c && c <= hi;
    }
}

fn class_char(p: &[char]) -> Option<(char, &[char])> {
    match p {
        ['\\', c, rest @ ..] => Some((*c, rest)),
        [c, rest @ ..] if *c != '-' && *c != ']' => Some((*c, rest)),
        _ => None,
    }
}

/// Docker's `GetTimestamp` for `until`: a Go duration before `now`
/// (`10m`, `1h30m`), Unix seconds (`1700000000.5`), or an RFC 3339 time
/// or date (`2024-01-02`, `2024-01-02T03:04:05`, with or without zone).
pub fn parse_timestamp(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Some(d) = go_duration(value) {
        return now.checked_sub_signed(chrono::Duration::nanoseconds(d));
    }
    if let Ok(secs) = value.parse::<f64>() {
        #[allow(clippy::cast_possible_truncation)]
        let nanos = (secs * 1e9) as i64;
        return Some(DateTime::from_timestamp_nanos(nanos));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(value, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// A Go duration (`300ms`, `1h30m`, `-2s`) in nanoseconds.
fn go_duration(text: &str) -> Option<i64> {
    let (sign, mut rest) = match text.strip_prefix('-') {
        Some(r) => (-1.0, r),
        None => (1.0, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    #[allow(clippy::cast_possible_truncation)]
    Some((sign * total) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn summary(tags: &[&str], created: &str, labels: &[(&str, &str)]) -> Summary {
        Summary {
            id: Digest::of(created.as_bytes()),
            parent: None,
            tags: tags
                .iter()
                .map(|r| Reference::parse_tagged(r).unwrap())
                .collect(),
            created: t(created),
            size: 0,
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            has_children: false,
        }
    }

    fn filters(f: &[&str]) -> Result<ImageFilters> {
        let f: Vec<String> = f.iter().map(|s| (*s).to_owned()).collect();
        ImageFilters::parse(
            &f,
            LIST_KEYS,
            |_| Ok(t("2024-06-01T00:00:00Z")),
            t("2025-01-01T00:00:00Z"),
        )
    }

    #[test]
    fn dangling_and_labels() {
        let tagged = summary(&["a"], "2024-01-01T00:00:00Z", &[("tier", "db")]);
        let untagged = summary(&[], "2024-01-01T00:00:00Z", &[]);
        let f = filters(&["dangling=true"]).unwrap();
        assert!(f.keep(&tagged, false).is_none());
        assert!(f.keep(&untagged, false).is_some());
        let f = filters(&["dangling=false"]).unwrap();
        assert!(f.keep(&untagged, false).is_none());
        let f = filters(&["label=tier=db", "label=tier"]).unwrap();
        assert!(f.keep(&tagged, false).is_some());
        assert!(
            filters(&["label=tier=web"])
                .unwrap()
                .keep(&tagged, false)
                .is_none()
        );
        assert_eq!(
            filters(&["dangling=maybe"]).unwrap_err().to_string(),
            "invalid filter 'dangling=maybe'"
        );
        assert_eq!(
            filters(&["nope=1"]).unwrap_err().to_string(),
            "invalid filter 'nope'"
        );
    }

    #[test]
    fn untagged_parents_need_all() {
        let mut parent = summary(&[], "2024-01-01T00:00:00Z", &[]);
        parent.has_children = true;
        let none = filters(&[]).unwrap();
        assert!(none.keep(&parent, false).is_none());
        assert!(none.keep(&parent, true).is_some());
    }

    #[test]
    fn before_since_until_compare_creation_times() {
        let old = summary(&["a"], "2024-01-01T00:00:00Z", &[]);
        let new = summary(&["b"], "2024-12-01T00:00:00Z", &[]);
        let before = filters(&["before=x"]).unwrap();
        assert!(before.keep(&old, false).is_some() && before.keep(&new, false).is_none());
        let since = filters(&["since=x"]).unwrap();
        assert!(since.keep(&old, false).is_none() && since.keep(&new, false).is_some());
        let until = filters(&["until=2000h"]).unwrap();
        assert!(until.keep(&old, false).is_some() && until.keep(&new, false).is_none());
    }

    #[test]
    fn references_match_like_go_path_match_and_narrow_the_tags() {
        let image = summary(
            &["busybox:1", "busybox:2", "me/app:1"],
            "2024-01-01T00:00:00Z",
            &[],
        );
        let tags = filters(&["reference=busybox"])
            .unwrap()
            .keep(&image, false)
            .unwrap();
        assert_eq!(tags.len(), 2);
        let tags = filters(&["reference=*:1"])
            .unwrap()
            .keep(&image, false)
            .unwrap();
        assert_eq!(
            tags.iter().map(Reference::familiar).collect::<Vec<_>>(),
            ["busybox:1"]
        );
        let tags = filters(&["reference=me/*"])
            .unwrap()
            .keep(&image, false)
            .unwrap();
        assert_eq!(tags.len(), 1);
        assert!(
            filters(&["reference=nope"])
                .unwrap()
                .keep(&image, false)
                .is_none()
        );
    }

    #[test]
    fn glob_matching_follows_go() {
        assert!(glob_match("a*", "abc"));
        assert!(!glob_match("a*", "a/b"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("[a-c]x", "bx"));
        assert!(!glob_match("[^a-c]x", "bx"));
        assert!(glob_match("\\*", "*"));
        assert!(!glob_match("[", "a"));
    }

    #[test]
    fn timestamps_read_as_docker() {
        let now = t("2025-01-01T00:00:00Z");
        assert_eq!(
            parse_timestamp("1h30m", now),
            Some(t("2024-12-31T22:30:00Z"))
        );
        assert_eq!(
            parse_timestamp("1700000000", now),
            Some(t("2023-11-14T22:13:20Z"))
        );
        assert_eq!(
            parse_timestamp("2024-01-02", now),
            Some(t("2024-01-02T00:00:00Z"))
        );
        assert_eq!(
            parse_timestamp("2024-01-02T03:04:05+01:00", now),
            Some(t("2024-01-02T02:04:05Z"))
        );
        assert_eq!(parse_timestamp("soon", now), None);
    }
}
