//! Go-style durations (`"30m"`, `"90s"`, `"1h30m"`, `"1.5h"`, `"250ms"`), as Terraform users
//! write them in `timeouts` blocks everywhere else.
//!
//! Written here rather than taken from a crate: `humantime` accepts a different language
//! (`"1hour"`, `"1h 30m"`, no fractions), and the one Go-compatible crate panics on non-ASCII
//! units — and this parser reads user configuration and environment variables.

use std::time::Duration;

/// Why a text is not a Go duration. The message is meant for users and quotes their text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("{0:?} is not a duration: write a number followed by a unit, such as \"30m\", \"90s\" or \"1h30m\"")]
    Malformed(String),
    #[error("{text:?} has an unknown unit {unit:?}: use one of ns, us, ms, s, m, h")]
    UnknownUnit { text: String, unit: String },
    #[error("{0:?} is negative: a duration must be zero or more")]
    Negative(String),
    #[error("{0:?} is too long")]
    Overflow(String),
}

const NANOS_PER_UNIT: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parse a Go duration: an optional `+`, then one or more `<decimal><unit>` terms. `"0"` alone
/// is zero. Negative durations are refused (nothing here waits for a negative time).
pub fn parse_go_duration(text: &str) -> Result<Duration, DurationError> {
    let malformed = || DurationError::Malformed(text.to_owned());
    let mut rest = text;
    if let Some(stripped) = rest.strip_prefix('-') {
        // "-0" is zero in Go; every other negative value is refused.
        return match parse_go_duration(stripped) {
            Ok(d) if d.is_zero() => Ok(d),
            Ok(_) => Err(DurationError::Negative(text.to_owned())),
            Err(_) => Err(malformed()),
        };
    }
    if let Some(stripped) = rest.strip_prefix('+') {
        rest = stripped;
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(malformed());
    }

    let mut total_nanos: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after_number) = rest.split_at(number_len);
        let unit_len = after_number
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after_number.len());
        let (unit, after_unit) = after_number.split_at(unit_len);
        rest = after_unit;

        let (whole, fraction) = match number.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (number, ""),
        };
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return Err(malformed());
        }
        if unit.is_empty() {
            return Err(malformed());
        }
        let scale = NANOS_PER_UNIT
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, nanos)| *nanos)
            .ok_or_else(|| DurationError::UnknownUnit {
                text: text.to_owned(),
                unit: unit.to_owned(),
            })?;

        let overflow = || DurationError::Overflow(text.to_owned());
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| overflow())?
        };
        let mut term = whole.checked_mul(scale).ok_or_else(overflow)?;
        // The fraction: digits beyond nanosecond precision cannot matter, so keep at most 20.
        let mut denominator: u128 = 1;
        let mut numerator: u128 = 0;
        for digit in fraction.bytes().take(20) {
            numerator = numerator * 10 + u128::from(digit - b'0');
            denominator *= 10;
        }
        term = term
            .checked_add(numerator * scale / denominator)
            .ok_or_else(overflow)?;
        total_nanos = total_nanos.checked_add(term).ok_or_else(overflow)?;
    }

    let seconds = u64::try_from(total_nanos / 1_000_000_000)
        .map_err(|_| DurationError::Overflow(text.to_owned()))?;
    // The remainder is below 1e9 and always fits.
    let nanos = (total_nanos % 1_000_000_000) as u32;
    Ok(Duration::new(seconds, nanos))
}

/// A short Go-style rendering for messages: `30m0s` → `"30m"`, `90s` → `"1m30s"`.
pub fn format_go_duration(duration: Duration) -> String {
    let total = duration.as_secs();
    let (hours, minutes, seconds) = (total / 3600, (total / 60) % 60, total % 60);
    let millis = duration.subsec_millis();
    let mut text = String::new();
    if hours > 0 {
        text.push_str(&format!("{hours}h"));
    }
    if minutes > 0 {
        text.push_str(&format!("{minutes}m"));
    }
    if seconds > 0 || millis > 0 || text.is_empty() {
        if millis > 0 {
            text.push_str(&format!("{seconds}.{millis:03}s"));
        } else {
            text.push_str(&format!("{seconds}s"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Duration {
        match parse_go_duration(text) {
            Ok(d) => d,
            Err(e) => panic!("{text:?} should parse: {e}"),
        }
    }

    #[test]
    fn parses_what_go_parses() {
        assert_eq!(ok("30m"), Duration::from_secs(1800));
        assert_eq!(ok("90s"), Duration::from_secs(90));
        assert_eq!(ok("1h30m"), Duration::from_secs(5400));
        assert_eq!(ok("1.5h"), Duration::from_secs(5400));
        assert_eq!(ok("250ms"), Duration::from_millis(250));
        assert_eq!(
            ok("2h45m10.5s"),
            Duration::from_millis((2 * 3600 + 45 * 60 + 10) * 1000 + 500)
        );
        assert_eq!(ok("1us"), Duration::from_micros(1));
        assert_eq!(ok("1µs"), Duration::from_micros(1));
        assert_eq!(ok("3ns"), Duration::from_nanos(3));
        assert_eq!(ok(".5s"), Duration::from_millis(500));
        assert_eq!(ok("5.s"), Duration::from_secs(5));
        assert_eq!(ok("+10s"), Duration::from_secs(10));
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("-0"), Duration::ZERO);
        assert_eq!(ok("0s"), Duration::ZERO);
    }

    #[test]
    fn refuses_what_go_refuses() {
        for bad in [
            "", "30", "m", "1h 30m", "1hour", ".s", "1..5s", "s5", "1.2.3s", "+", "3x",
        ] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(matches!(
            parse_go_duration("3x"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_go_duration("-5m"),
            Err(DurationError::Negative(_))
        ));
        assert!(matches!(
            parse_go_duration("99999999999999999999999h"),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn never_panics_on_odd_text() {
        for odd in [
            "1é",
            "é1s",
            "1µ",
            "µ",
            "1s\u{0}",
            "١s",
            "1\u{200b}s",
            "--1s",
            "+-1s",
        ] {
            let _ = parse_go_duration(odd);
        }
    }

    #[test]
    fn formats_briefly() {
        assert_eq!(format_go_duration(Duration::from_secs(1800)), "30m");
        assert_eq!(format_go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_go_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_go_duration(Duration::from_millis(1500)), "1.500s");
        assert_eq!(format_go_duration(Duration::ZERO), "0s");
    }
}
