//! Sizes and durations as docker's `go-units` prints them (`4.26MB`,
//! `2 weeks`), and Go's `%g` formatting they rely on.

/// The decimal units, as `go-units` names them.
const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/// `units.HumanSizeWithPrecision`: `size` in decimal units with
/// `precision` significant digits (`%.*g`), e.g. `4.26MB`, `1e+03kB`.
pub fn human_size_precision(size: u64, precision: usize) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mut value = size as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{}{}", go_g(value, precision), UNITS[unit])
}

/// `units.HumanSize`: four significant digits.
pub fn human_size(size: u64) -> String {
    human_size_precision(size, 4)
}

/// Go's `%.*g` of a non-negative finite `x`: the shortest of fixed and
/// exponent notation with `precision` significant digits, trailing zeros
/// dropped.
pub fn go_g(x: f64, precision: usize) -> String {
    let precision = precision.max(1);
    if x == 0.0 {
        return "0".to_owned();
    }
    let sci = format!("{:.*e}", precision - 1, x);
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let digits = i64::try_from(precision).unwrap_or(i64::MAX);
    if exponent < -4 || exponent >= digits {
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{}e{sign}{:02}", trim_fraction(mantissa), exponent.abs());
    }
    let decimals = usize::try_from(digits - 1 - exponent).unwrap_or(0);
    trim_fraction(&format!("{x:.decimals$}")).to_owned()
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// `units.HumanDuration` of `seconds`: `Less than a second`, `About a
/// minute`, `3 hours`, `2 weeks`…
pub fn human_duration(seconds: i64) -> String {
    let minutes = seconds / 60;
    let hours = (seconds + 1800) / 3600;
    match seconds {
        s if s < 1 => "Less than a second".to_owned(),
        1 => "1 second".to_owned(),
        s if s < 60 => format!("{s} seconds"),
        _ if minutes == 1 => "About a minute".to_owned(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".to_owned(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        s => format!("{} years", s / 3600 / 24 / 365),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_go_units() {
        assert_eq!(human_size_precision(0, 3), "0B");
        assert_eq!(human_size_precision(512, 3), "512B");
        assert_eq!(human_size_precision(4_261_550, 3), "4.26MB");
        assert_eq!(human_size_precision(12_000, 3), "12kB");
        assert_eq!(human_size_precision(999_960, 3), "1e+03kB");
        assert_eq!(human_size_precision(1_234_567_890, 3), "1.23GB");
        assert_eq!(human_size(4_261_550), "4.262MB");
    }

    #[test]
    fn go_g_switches_to_exponents_as_go_does() {
        assert_eq!(go_g(0.000_012_3, 3), "1.23e-05");
        assert_eq!(go_g(0.5, 3), "0.5");
        assert_eq!(go_g(100.0, 3), "100");
        assert_eq!(go_g(1000.0, 3), "1e+03");
    }

    #[test]
    fn durations_read_as_go_units() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(59), "59 seconds");
        assert_eq!(human_duration(60), "About a minute");
        assert_eq!(human_duration(45 * 60), "45 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(5 * 3600), "5 hours");
        assert_eq!(human_duration(3 * 86400), "3 days");
        assert_eq!(human_duration(20 * 86400), "2 weeks");
        assert_eq!(human_duration(90 * 86400), "3 months");
        assert_eq!(human_duration(800 * 86400), "2 years");
    }
}
