//! Docker's json-file log: one JSON object per line, `{"log": "text\n",
//! "stream": "stdout", "time": "2026-…Z"}`. The shim splits output at line
//! ends (a line longer than [`MAX_LINE`] is cut, the rest following in the
//! next record, as Docker does); `berth logs` reads it back.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

/// The longest piece of a line in one record (Docker's 16 KiB).
pub const MAX_LINE: usize = 16 * 1024;

/// One record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The text, with its newline when it ended a line.
    pub log: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// RFC 3339 with nanoseconds.
    pub time: String,
}

/// Now, as Docker writes log times.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Splits one stream's output into records: complete lines as they come,
/// the rest kept until its line ends (or [`LineSplitter::finish`]).
#[derive(Debug, Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    /// Feeds `data`; returns the pieces ready to be written.
    pub fn push(&mut self, data: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(data);
        let mut out = Vec::new();
        loop {
            let cut = match self.pending.iter().position(|b| *b == b'\n') {
                Some(i) if i < MAX_LINE => i + 1,
                _ if self.pending.len() >= MAX_LINE => MAX_LINE,
                _ => break,
            };
            let piece: Vec<u8> = self.pending.drain(..cut).collect();
            out.push(String::from_utf8_lossy(&piece).into_owned());
        }
        out
    }

    /// What is left when the stream ends.
    pub fn finish(&mut self) -> Option<String> {
        (!self.pending.is_empty()).then(|| {
            let rest = std::mem::take(&mut self.pending);
            String::from_utf8_lossy(&rest).into_owned()
        })
    }
}

/// Appends one record to `out`.
pub fn write_entry(out: &mut impl Write, stream: &str, log: &str) -> std::io::Result<()> {
    let e = Entry {
        log: log.to_owned(),
        stream: stream.to_owned(),
        time: now(),
    };
    let mut line = serde_json::to_vec(&e).map_err(std::io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)
}

/// Reads every record of a log (unreadable lines are skipped).
pub fn read_entries(input: impl BufRead) -> Vec<Entry> {
    input
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect()
}

/// Which records `berth logs` shows.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--tail N` (None = all).
    pub tail: Option<usize>,
    /// `--since`: records at or after this time.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// `--until`: records before this time.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

impl Selection {
    /// Whether `e` passes the time bounds.
    pub fn keeps(&self, e: &Entry) -> bool {
        let Ok(t) = chrono::DateTime::parse_from_rfc3339(&e.time) else {
            return true;
        };
        let t = t.with_timezone(&chrono::Utc);
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }

    /// The records to show from `all`.
    pub fn apply(&self, all: Vec<Entry>) -> Vec<Entry> {
        let kept: Vec<Entry> = all.into_iter().filter(|e| self.keeps(e)).collect();
        match self.tail {
            Some(n) if n < kept.len() => kept[kept.len() - n..].to_vec(),
            _ => kept,
        }
    }
}

/// Parses `--since`/`--until` as Docker: RFC 3339 (with or without
/// time zone), Unix seconds (with decimals), or a duration before now
/// (`10m`, `1h30m`).
pub fn parse_time(
    text: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, fmt) {
            return Some(t.and_utc());
        }
        if let Ok(d) = chrono::NaiveDate::parse_from_str(text, fmt) {
            return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        }
    }
    if let Ok(secs) = text.parse::<f64>() {
        #[allow(clippy::cast_possible_truncation)]
        let nanos = (secs * 1e9) as i64;
        return Some(chrono::DateTime::from_timestamp_nanos(nanos));
    }
    let d = humantime::parse_duration(text).ok()?;
    Some(now - chrono::Duration::from_std(d).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_at_newlines_and_long_ones_cut() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"one\ntw"), vec!["one\n".to_owned()]);
        assert_eq!(s.push(b"o\nthree"), vec!["two\n".to_owned()]);
        assert_eq!(s.finish().as_deref(), Some("three"));
        assert_eq!(s.finish(), None);
        let long = vec![b'x'; MAX_LINE + 10];
        let out = s.push(&long);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].len(), MAX_LINE);
        assert_eq!(s.finish().map(|r| r.len()), Some(10));
    }

    #[test]
    fn records_round_trip_and_select_by_tail_and_time() {
        let mut buf = Vec::new();
        for (stream, text) in [("stdout", "a\n"), ("stderr", "b\n"), ("stdout", "c\n")] {
            write_entry(&mut buf, stream, text).unwrap();
        }
        let all = read_entries(&buf[..]);
        assert_eq!(all.len(), 3);
        assert_eq!(all[1].stream, "stderr");
        let sel = Selection {
            tail: Some(2),
            ..Default::default()
        };
        let logs: Vec<String> = sel.apply(all.clone()).into_iter().map(|e| e.log).collect();
        assert_eq!(logs, vec!["b\n", "c\n"]);
        let future = Selection {
            since: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
            ..Default::default()
        };
        assert!(future.apply(all).is_empty());
    }

    #[test]
    fn times_parse_as_docker_accepts_them() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let t = |s| parse_time(s, now).map(|t| t.to_rfc3339());
        assert_eq!(t("10m").as_deref(), Some("2026-11-28T11:50:00+00:00"));
        assert_eq!(
            t("2026-11-28T10:00:00Z").as_deref(),
            Some("2026-11-28T10:00:00+00:00")
        );
        assert_eq!(
            t("2026-11-28").as_deref(),
            Some("2026-11-28T00:00:00+00:00")
        );
        assert_eq!(
            t("1700000000").as_deref(),
            Some("2023-11-14T22:13:20+00:00")
        );
        assert_eq!(t("yesterday-ish"), None);
    }
}
