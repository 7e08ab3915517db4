//! Sizes and CPU counts: `-m/--memory`, `--memory-swap`, `--tmpfs` sizes
//! (go-units' `RAMInBytes`) and `--cpus` (the docker CLI's `NanoCPUs`).

use super::{NumberError, NumberFault};

/// A size that `RAMInBytes` refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// No digit in it, or a negative number (`invalid size: 'abc'`).
    #[error("invalid size: '{0}'")]
    InvalidSize(String),
    /// A unit that is not `b`, `k`, `m`, `g`, `t` or `p` with an optional
    /// `b`/`ib` (`invalid suffix: 'x'`).
    #[error("invalid suffix: '{0}'")]
    InvalidSuffix(String),
    /// The number before the unit is not a number.
    #[error(transparent)]
    Number(#[from] NumberError),
}

/// A `--cpus` value that Docker refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpusError {
    /// Neither a decimal nor a fraction.
    #[error("failed to parse {0} as a rational number")]
    NotRational(String),
    /// A value that is not a whole number of nano-CPUs (`0.0000000001`, `1/3`).
    #[error("value is too precise")]
    TooPrecise(String),
    /// Negative, or more CPUs than the host has (the daemon's check).
    #[error(
        "range of CPUs is from 0.01 to {online_cpus}.00, as there are only {online_cpus} CPUs available"
    )]
    OutOfRange {
        /// The value asked for, in nano-CPUs.
        nano_cpus: i64,
        /// The host's CPUs.
        online_cpus: u32,
    },
}

/// Go-units' `RAMInBytes`: a decimal number with an optional binary unit
/// (`512m`, `1g`, `1.5g`, `1024`, `10 KiB`; case-insensitive, the `b` is
/// optional), in bytes, truncated to a whole byte.
pub fn parse_ram_in_bytes(size: &str) -> Result<i64, SizeError> {
    let Some(sep) = size.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ') else {
        return Err(SizeError::InvalidSize(size.to_owned()));
    };
    let (num, suffix) = if size.as_bytes()[sep] == b' ' {
        (&size[..sep], &size[sep + 1..])
    } else {
        (&size[..=sep], &size[sep + 1..])
    };
    let value: f64 = num.parse().map_err(|_| NumberError {
        func: "ParseFloat",
        input: num.to_owned(),
        fault: NumberFault::Syntax,
    })?;
    if value < 0.0 {
        return Err(SizeError::InvalidSize(size.to_owned()));
    }
    if suffix.is_empty() {
        return Ok(go_int64(value));
    }
    if suffix.len() > 3 {
        return Err(SizeError::InvalidSuffix(suffix.to_owned()));
    }
    let lower = suffix.to_lowercase();
    let bad = || SizeError::InvalidSuffix(lower.clone());
    let exponent: i32 = match lower.as_bytes() {
        [b'b'] => return Ok(go_int64(value)),
        [b'b', ..] => return Err(bad()),
        [first, ..] => match first {
            b'k' => 10,
            b'm' => 20,
            b'g' => 30,
            b't' => 40,
            b'p' => 50,
            _ => return Err(bad()),
        },
        [] => return Err(bad()),
    };
    match lower.as_bytes() {
        [_] | [_, b'b'] | [_, b'i', b'b'] => {}
        _ => return Err(bad()),
    }
    Ok(go_int64(value * 2f64.powi(exponent)))
}

/// Go's `int64(f)`: towards zero (saturating where Go's is undefined).
#[expect(
    clippy::cast_possible_truncation,
    reason = "truncating is the point: go-units does int64(size)"
)]
fn go_int64(value: f64) -> i64 {
    value as i64
}

/// `-m/--memory` (the CLI's `MemBytes`): [`parse_ram_in_bytes`].
pub fn parse_memory(value: &str) -> Result<i64, SizeError> {
    parse_ram_in_bytes(value)
}

/// `--memory-swap` (the CLI's `MemSwapBytes`): `-1` for unlimited swap,
/// otherwise a size as [`parse_ram_in_bytes`] reads it.
pub fn parse_memory_swap(value: &str) -> Result<i64, SizeError> {
    if value == "-1" {
        return Ok(-1);
    }
    parse_ram_in_bytes(value)
}

/// `--cpus` (the CLI's `ParseCPUs`): a decimal (`1.5`, `2`, `1e-2`) or a
/// fraction (`3/2`), in nano-CPUs, which must come out whole. The range is
/// the daemon's business: see [`check_nano_cpus`].
pub fn parse_cpus(value: &str) -> Result<i64, CpusError> {
    let not_rational = || CpusError::NotRational(value.to_owned());
    let (numerator, denominator) = match value.split_once('/') {
        Some((a, b)) => {
            let a = parse_integer(a).ok_or_else(not_rational)?;
            let b = parse_integer(b).ok_or_else(not_rational)?;
            if b <= 0 {
                return Err(not_rational());
            }
            (a.saturating_mul(NANO), b)
        }
        None => {
            let (mantissa, exponent) = parse_decimal(value).ok_or_else(not_rational)?;
            let exponent = exponent.saturating_add(9);
            if exponent >= 0 {
                let scale = 10i128.checked_pow(exponent.unsigned_abs());
                (scale.map_or(i128::MAX, |s| mantissa.saturating_mul(s)), 1)
            } else {
                let scale = 10i128.checked_pow(exponent.unsigned_abs());
                (mantissa, scale.unwrap_or(i128::MAX))
            }
        }
    };
    if numerator % denominator != 0 {
        return Err(CpusError::TooPrecise(value.to_owned()));
    }
    let nano = numerator / denominator;
    Ok(i64::try_from(nano).unwrap_or(if nano < 0 { i64::MIN } else { i64::MAX }))
}

/// Nano-CPUs in one CPU.
const NANO: i128 = 1_000_000_000;

/// The daemon's check of `--cpus`: not negative, and no more than the host's
/// CPUs (`range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs
/// available`). Zero means no limit.
pub fn check_nano_cpus(nano_cpus: i64, online_cpus: u32) -> Result<(), CpusError> {
    if nano_cpus < 0 || i128::from(nano_cpus) > i128::from(online_cpus) * NANO {
        return Err(CpusError::OutOfRange {
            nano_cpus,
            online_cpus,
        });
    }
    Ok(())
}

/// A signed decimal integer, as big.Rat reads either side of a fraction.
fn parse_integer(text: &str) -> Option<i128> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `[+-]digits[.digits][e[+-]digits]` as mantissa and power of ten; `None`
/// for anything else, or more digits than 36.
fn parse_decimal(text: &str) -> Option<(i128, i32)> {
    let (body, exp) = match text.split_once(['e', 'E']) {
        Some((body, exp)) => (body, parse_integer(exp)?),
        None => (text, 0),
    };
    let (negative, body) = match body.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, body.strip_prefix('+').unwrap_or(body)),
    };
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    let digits = [whole, fraction].concat();
    if digits.is_empty() || digits.len() > 36 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mantissa: i128 = digits.parse().ok()?;
    let exp = i32::try_from(exp.clamp(-1000, 1000)).ok()?;
    let fraction_len = i32::try_from(fraction.len()).ok()?;
    Some((
        if negative { -mantissa } else { mantissa },
        exp - fraction_len,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::flags::assert_errors;

    #[test]
    fn ram_in_bytes_reads_binary_units_with_or_without_b() {
        for (input, want) in [
            ("1024", 1024),
            ("512m", 512 << 20),
            ("1g", 1 << 30),
            ("1G", 1 << 30),
            ("1.5g", 1_610_612_736),
            ("10KiB", 10 << 10),
            ("10kb", 10 << 10),
            ("10 MB", 10 << 20),
            ("32b", 32),
            ("1.9", 1),
        ] {
            assert_eq!(parse_ram_in_bytes(input).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn ram_in_bytes_refuses_as_go_units_does() {
        assert_errors(
            parse_ram_in_bytes,
            &[
                ("abc", "invalid size: 'abc'"),
                ("-1", "invalid size: '-1'"),
                ("1.5x", "invalid suffix: 'x'"),
                ("1KX", "invalid suffix: 'kx'"),
                ("1bb", "invalid suffix: 'bb'"),
                ("1abcd", "invalid suffix: 'abcd'"),
                (
                    "1..5g",
                    r#"strconv.ParseFloat: parsing "1..5": invalid syntax"#,
                ),
            ],
        );
    }

    #[test]
    fn memory_swap_takes_minus_one_for_unlimited() {
        assert_eq!(parse_memory_swap("-1").unwrap(), -1);
        assert_eq!(parse_memory_swap("1g").unwrap(), 1 << 30);
        assert_eq!(parse_memory("1g").unwrap(), 1 << 30);
        assert!(parse_memory_swap("-2").is_err());
    }

    #[test]
    fn cpus_become_nano_cpus() {
        for (input, want) in [
            ("1.5", 1_500_000_000),
            ("2", 2_000_000_000),
            ("0.01", 10_000_000),
            ("1e-2", 10_000_000),
            ("3/2", 1_500_000_000),
            ("-1", -1_000_000_000),
            (".5", 500_000_000),
        ] {
            assert_eq!(parse_cpus(input).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn cpus_refuse_with_the_clis_messages() {
        assert_errors(
            parse_cpus,
            &[
                ("abc", "failed to parse abc as a rational number"),
                ("1/0", "failed to parse 1/0 as a rational number"),
                ("", "failed to parse  as a rational number"),
                ("0.0000000001", "value is too precise"),
                ("1/3", "value is too precise"),
            ],
        );
    }

    #[test]
    fn cpus_range_is_the_hosts_cpu_count() {
        assert!(check_nano_cpus(2_000_000_000, 2).is_ok());
        assert!(check_nano_cpus(0, 2).is_ok());
        assert_eq!(
            check_nano_cpus(3_000_000_000, 2).unwrap_err().to_string(),
            "range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        );
        assert!(check_nano_cpus(-1, 2).is_err());
    }
}
