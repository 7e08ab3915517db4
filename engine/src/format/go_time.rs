//! Times as Go's `time.Time.String()` prints them, as docker's listings
//! show creation times.

/// An RFC 3339 time as Go's `time.Time.String()` prints it:
/// `2006-01-02 15:04:05.999999999 -0700 MST`. The zone name is `UTC` at
/// offset zero, otherwise the offset again (as Go prints unnamed zones).
pub fn go_time_string(rfc3339: &str) -> String {
    if rfc3339.is_empty() {
        return "0001-01-01 00:00:00 +0000 UTC".to_owned();
    }
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(rfc3339) else {
        return rfc3339.to_owned();
    };
    let mut out = t.format("%Y-%m-%d %H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    let offset = t.offset().local_minus_utc();
    let sign = if offset < 0 { '-' } else { '+' };
    let minutes = offset.unsigned_abs() / 60;
    let numeric = format!("{sign}{:02}{:02}", minutes / 60, minutes % 60);
    let name = if offset == 0 { "UTC" } else { numeric.as_str() };
    format!("{out} {numeric} {name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_go_does() {
        assert_eq!(
            go_time_string("2025-01-02T03:04:05.000000001Z"),
            "2025-01-02 03:04:05.000000001 +0000 UTC"
        );
        assert_eq!(
            go_time_string("2025-01-02T03:04:05.5+02:00"),
            "2025-01-02 03:04:05.5 +0200 +0200"
        );
        assert_eq!(
            go_time_string("2025-01-02T03:04:05-07:30"),
            "2025-01-02 03:04:05 -0730 -0730"
        );
        assert_eq!(go_time_string(""), "0001-01-01 00:00:00 +0000 UTC");
    }
}
