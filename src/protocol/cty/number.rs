//! Number text: the decimal strings cty uses for numbers that fit neither an i64 nor an f64.
//!
//! go-cty parses such strings with Go's `big.ParseFloat` (base 10): an optional sign, digits with
//! an optional fraction, an optional exponent, or `Inf`. The grammar here is that subset; no
//! crate parses decimal text without also converting it (and losing precision), so it is a few
//! lines by hand.

use super::{CodecError, Number};
use std::fmt::Write as _;

/// A decimal string taken apart; the pieces borrow from the text.
#[derive(Debug, PartialEq)]
pub(crate) enum DecimalText<'a> {
    Infinite {
        negative: bool,
    },
    Finite {
        negative: bool,
        integer: &'a str,
        fraction: &'a str,
        exponent: Option<&'a str>,
    },
}

/// Splits `text` into its parts, or `None` when it is not a number cty would accept.
pub(crate) fn parse_decimal(text: &str) -> Option<DecimalText<'_>> {
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if unsigned == "Inf" || unsigned == "inf" {
        return Some(DecimalText::Infinite { negative });
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (integer, fraction) = match mantissa.find('.') {
        Some(at) => (&mantissa[..at], &mantissa[at + 1..]),
        None => (mantissa, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if integer.is_empty() && fraction.is_empty() || !all_digits(integer) || !all_digits(fraction) {
        return None;
    }
    if let Some(exponent) = exponent {
        let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        if digits.is_empty() || !all_digits(digits) {
            return None;
        }
    }
    Some(DecimalText::Finite {
        negative,
        integer,
        fraction,
        exponent,
    })
}

impl Number {
    /// Reads a decimal string as a number: an integer literal that fits becomes [`Number::Int`],
    /// `Inf` becomes an infinite [`Number::Float`], anything else valid stays a
    /// [`Number::Decimal`] exactly as written. `None` when the text is not a number.
    pub fn parse(text: &str) -> Option<Number> {
        match parse_decimal(text)? {
            DecimalText::Infinite { negative } => Some(Number::Float(if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })),
            DecimalText::Finite {
                fraction: "",
                exponent: None,
                ..
            } => match text.parse::<i64>() {
                Ok(int) => Some(Number::Int(int)),
                Err(_) => Some(Number::Decimal(text.to_owned())),
            },
            DecimalText::Finite { .. } => Some(Number::Decimal(text.to_owned())),
        }
    }

    /// A float as a number: integral values that fit an i64 become [`Number::Int`] (that is how
    /// Terraform writes them), others stay floats. `None` for NaN, which cty cannot hold.
    pub fn from_f64(float: f64) -> Option<Number> {
        if float.is_nan() {
            None
        } else if float.fract() == 0.0 && float >= i64::MIN as f64 && float < i64::MAX as f64 {
            // The range check above makes the cast exact.
            Some(Number::Int(float as i64))
        } else {
            Some(Number::Float(float))
        }
    }

    /// The number as an f64, rounded where it must be. Decimal text is read by `serde_json`
    /// (its JSON form, see [`write_json_number`]) rather than by `str::parse::<f64>`, whose
    /// correctly-rounding tables would add some 13 kB to the provider binary for one
    /// optional argument; the two may differ in the last bit, which no caller here can notice.
    /// `None` for a decimal beyond f64's range (`Inf` itself is infinite) or not a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Number::Int(int) => Some(*int as f64),
            Number::Float(float) => Some(*float),
            Number::Decimal(text) => match parse_decimal(text)? {
                DecimalText::Infinite { negative: true } => Some(f64::NEG_INFINITY),
                DecimalText::Infinite { negative: false } => Some(f64::INFINITY),
                DecimalText::Finite { .. } => {
                    let mut json = Vec::with_capacity(text.len() + 2);
                    write_json_number(&mut json, self).ok()?;
                    serde_json::from_slice(&json).ok()
                }
            },
        }
    }

    /// The same number in the form decoding would give it, so that numbers written and read
    /// back compare equal: integral floats become ints, decimal strings are re-read.
    pub fn canonical(&self) -> Number {
        match self {
            Number::Int(int) => Number::Int(*int),
            Number::Float(float) => Number::from_f64(*float).unwrap_or(Number::Float(*float)),
            Number::Decimal(text) => Number::parse(text).unwrap_or_else(|| self.clone()),
        }
    }
}

/// Appends `number` as JSON number text. JSON has no infinities or NaN, so those are errors;
/// decimal strings are rewritten into JSON's stricter syntax (no `+`, no bare `.5`, no
/// leading zeros).
pub(crate) fn write_json_number(out: &mut Vec<u8>, number: &Number) -> Result<(), CodecError> {
    match number {
        Number::Int(int) => {
            out.extend_from_slice(int.to_string().as_bytes());
            Ok(())
        }
        Number::Float(float) => match Number::from_f64(*float) {
            Some(Number::Int(int)) => write_json_number(out, &Number::Int(int)),
            Some(_) if float.is_finite() => serde_json::to_writer(&mut *out, float)
                .map_err(|e| CodecError::new(format!("cannot write number: {e}"))),
            _ => Err(CodecError::new(format!(
                "{float} cannot be written as JSON"
            ))),
        },
        Number::Decimal(text) => match parse_decimal(text) {
            Some(DecimalText::Finite {
                negative,
                integer,
                fraction,
                exponent,
            }) => {
                let mut json = String::with_capacity(text.len() + 2);
                if negative {
                    json.push('-');
                }
                let integer = integer.trim_start_matches('0');
                json.push_str(if integer.is_empty() { "0" } else { integer });
                if !fraction.is_empty() {
                    json.push('.');
                    json.push_str(fraction);
                }
                if let Some(exponent) = exponent {
                    let _ = write!(json, "e{exponent}");
                }
                out.extend_from_slice(json.as_bytes());
                Ok(())
            }
            Some(DecimalText::Infinite { .. }) => {
                Err(CodecError::new(format!("{text} cannot be written as JSON")))
            }
            None => Err(CodecError::new(format!("{text:?} is not a number"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_decimal_grammar() {
        for good in [
            "0", "-1", "+1", "1.5", ".5", "5.", "1e400", "1E-3", "-2.5e+10", "Inf", "-inf",
        ] {
            assert!(parse_decimal(good).is_some(), "{good}");
        }
        for bad in [
            "", "-", ".", "e5", "1e", "1e+", "1.2.3", "0x10", "1_000", " 1", "NaN", "1e5.5",
        ] {
            assert!(parse_decimal(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn parse_keeps_only_what_fits_neither_form_as_decimal() {
        assert_eq!(Number::parse("42"), Some(Number::Int(42)));
        assert_eq!(Number::parse("+42"), Some(Number::Int(42)));
        assert_eq!(
            Number::parse("-Inf"),
            Some(Number::Float(f64::NEG_INFINITY))
        );
        assert_eq!(
            Number::parse("18446744073709551615"),
            Some(Number::Decimal("18446744073709551615".into()))
        );
        assert_eq!(Number::parse("0.1"), Some(Number::Decimal("0.1".into())));
        assert_eq!(Number::parse("one"), None);
    }

    #[test]
    fn from_f64_turns_integral_floats_into_ints() {
        assert_eq!(Number::from_f64(3.0), Some(Number::Int(3)));
        assert_eq!(Number::from_f64(-0.0), Some(Number::Int(0)));
        assert_eq!(Number::from_f64(2.5), Some(Number::Float(2.5)));
        assert_eq!(Number::from_f64(1e300), Some(Number::Float(1e300)));
        assert_eq!(Number::from_f64(f64::NAN), None);
    }

    #[test]
    fn as_f64_reads_every_form() {
        let decimal = |text: &str| Number::Decimal(text.into()).as_f64();
        assert_eq!(Number::Int(-7).as_f64(), Some(-7.0));
        assert_eq!(Number::Float(2.5).as_f64(), Some(2.5));
        assert_eq!(decimal("0.1"), Some(0.1));
        assert_eq!(decimal("+.5"), Some(0.5));
        assert_eq!(decimal("5."), Some(5.0));
        assert_eq!(decimal("-1.5E2"), Some(-150.0));
        assert_eq!(decimal("1e-3"), Some(0.001));
        assert_eq!(
            decimal("18446744073709551615"),
            Some(18446744073709551615.0)
        );
        assert_eq!(decimal("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(decimal("1e400"), None);
        assert_eq!(decimal("fast"), None);
    }

    #[test]
    fn json_numbers_use_json_syntax() {
        let text = |n: Number| {
            let mut out = Vec::new();
            write_json_number(&mut out, &n).map(|()| String::from_utf8_lossy(&out).into_owned())
        };
        assert_eq!(text(Number::Int(-7)).as_deref(), Ok("-7"));
        assert_eq!(text(Number::Float(4.0)).as_deref(), Ok("4"));
        assert_eq!(text(Number::Float(0.25)).as_deref(), Ok("0.25"));
        assert_eq!(text(Number::Decimal("+.5".into())).as_deref(), Ok("0.5"));
        assert_eq!(text(Number::Decimal("007.".into())).as_deref(), Ok("7"));
        assert_eq!(
            text(Number::Decimal("1E+400".into())).as_deref(),
            Ok("1e+400")
        );
        assert!(text(Number::Float(f64::INFINITY)).is_err());
        assert!(text(Number::Decimal("Inf".into())).is_err());
        assert!(text(Number::Decimal("abc".into())).is_err());
    }
}
