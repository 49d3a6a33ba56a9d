//! Exact decimal numbers for money and quality: an `i128` count of 1e-8 units.
//!
//! No floating point is ever accumulated. Input is parsed from its decimal text (a JSON
//! number is read through its own textual form, so `0.1` is exactly one tenth), and rounding
//! is always half away from zero.

use hypernet_plugin_api::PluginError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::fmt;

/// Decimal places kept internally.
pub const PLACES: u32 = 8;
/// Units per whole (10^8).
pub const SCALE: i128 = 100_000_000;

/// An exact decimal with 8 places: `Fixed::from_units(150_000_000)` is 1.5.
///
/// Displayed with at least 4 decimals ("22.5000") and at most 8, trailing zeros beyond the
/// fourth dropped; serialized as that string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fixed(i128);

/// `n / d` rounded half away from zero; `d` must be positive.
pub fn div_round(n: i128, d: i128) -> i128 {
    debug_assert!(d > 0, "divisor must be positive");
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d { q + n.signum() } else { q }
}

impl Fixed {
    /// Zero.
    pub const ZERO: Fixed = Fixed(0);

    /// From a count of 1e-8 units.
    pub const fn from_units(units: i128) -> Self {
        Fixed(units)
    }

    /// A whole number.
    pub const fn from_int(n: i64) -> Self {
        Fixed(n as i128 * SCALE)
    }

    /// The count of 1e-8 units.
    pub const fn units(self) -> i128 {
        self.0
    }

    /// Whether the value is below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Rounded to `dp` decimals (at most 8), half away from zero.
    pub fn round_dp(self, dp: u32) -> Self {
        let step = 10i128.pow(PLACES - dp.min(PLACES));
        Fixed(div_round(self.0, step) * step)
    }

    /// `self × num / den` rounded to `dp` decimals, half away from zero, in one step (no
    /// intermediate rounding). `den` must be positive; `None` on overflow.
    pub fn mul_div_round(self, num: i128, den: i128, dp: u32) -> Option<Self> {
        let step = 10i128.pow(PLACES - dp.min(PLACES));
        let n = self.0.checked_mul(num)?;
        let d = den.checked_mul(step)?;
        Some(Fixed(div_round(n, d).checked_mul(step)?))
    }

    /// Sum, `None` on overflow.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Fixed)
    }

    /// Difference, `None` on overflow.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).map(Fixed)
    }

    /// Clamped into `[lo, hi]`.
    pub fn clamp_to(self, lo: Self, hi: Self) -> Self {
        Fixed(self.0.clamp(lo.0, hi.0))
    }

    /// Parses decimal text: optional sign, digits, optional fraction, optional exponent
    /// (`12`, `-0.5`, `1.25e2`, `1e-7`). More than 8 significant decimals is refused rather
    /// than silently rounded.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a decimal number");
        let s = text.trim();
        let (negative, s) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exponent) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], s[i + 1..].parse::<i32>().map_err(|_| bad())?),
            None => (s, 0),
        };
        let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole
                .bytes()
                .chain(frac.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        // digits × 10^(exponent − decimals)
        let digits = format!("{whole}{frac}");
        let digits = digits.trim_start_matches('0');
        let mut value: i128 = 0;
        for b in digits.bytes() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i128::from(b - b'0')))
                .ok_or_else(|| format!("`{text}` is too large"))?;
        }
        let shift = i64::from(exponent) - frac.len() as i64 + i64::from(PLACES);
        let units = if shift >= 0 {
            u32::try_from(shift)
                .ok()
                .and_then(|s| 10i128.checked_pow(s))
                .and_then(|p| value.checked_mul(p))
                .ok_or_else(|| format!("`{text}` is too large"))?
        } else {
            let p = u32::try_from(-shift)
                .ok()
                .and_then(|s| 10i128.checked_pow(s));
            match p {
                Some(p) if value % p == 0 => value / p,
                _ if value == 0 => 0,
                _ => return Err(format!("`{text}` has more than {PLACES} decimals")),
            }
        };
        Ok(Fixed(if negative { -units } else { units }))
    }

    /// Reads a JSON number or string; `what` names the field in errors.
    pub fn from_json(value: &Value, what: &str) -> Result<Self, PluginError> {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Null => return Err(PluginError::invalid(format!("`{what}` is required"))),
            other => {
                return Err(PluginError::invalid(format!(
                    "`{what}` must be a number or a decimal string, not {other}"
                )));
            }
        };
        Fixed::parse(&text).map_err(|e| PluginError::invalid(format!("`{what}`: {e}")))
    }
}

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let scale = SCALE as u128;
        let frac = format!("{:08}", abs % scale);
        let keep = frac.trim_end_matches('0').len().max(4);
        write!(f, "{sign}{}.{}", abs / scale, &frac[..keep])
    }
}

impl Serialize for Fixed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fixed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Fixed::from_json(&value, "amount").map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    #[test]
    fn parses_text_and_json_numbers_exactly() {
        assert_eq!(f("12.3456").units(), 1_234_560_000);
        assert_eq!(f("-0.5").units(), -50_000_000);
        assert_eq!(f("1.25e2"), Fixed::from_int(125));
        assert_eq!(f("1e-7").units(), 10);
        assert_eq!(f(".5").units(), 50_000_000);
        // 0.1 as a JSON number is exactly one tenth, not the nearest binary fraction.
        assert_eq!(
            Fixed::from_json(&json!(0.1), "x").unwrap().units(),
            10_000_000
        );
        assert_eq!(
            Fixed::from_json(&json!("7"), "x").unwrap(),
            Fixed::from_int(7)
        );
        assert!(
            Fixed::parse("1.000000001")
                .unwrap_err()
                .contains("more than 8")
        );
        assert!(Fixed::parse("abc").is_err());
        assert!(Fixed::parse("").is_err());
        assert!(Fixed::parse("1.2.3").is_err());
        let err = Fixed::from_json(&json!(true), "amount").unwrap_err();
        assert!(err.message().contains("`amount`"), "{err}");
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(f("0.00005").round_dp(4), f("0.0001"));
        assert_eq!(f("-0.00005").round_dp(4), f("-0.0001"));
        assert_eq!(f("0.000049").round_dp(4), Fixed::ZERO);
        assert_eq!(f("1.005").round_dp(2), f("1.01"));
        assert_eq!(f("1.0049").round_dp(2), f("1"));
        // 10 / 3 = 3.33333… → 3.3333; 20 / 3 = 6.66666… → 6.6667
        assert_eq!(
            Fixed::from_int(10).mul_div_round(1, 3, 4),
            Some(f("3.3333"))
        );
        assert_eq!(
            Fixed::from_int(20).mul_div_round(1, 3, 4),
            Some(f("6.6667"))
        );
        assert_eq!(Fixed::from_int(1).mul_div_round(i128::MAX, 1, 4), None);
    }

    #[test]
    fn displays_at_least_four_decimals() {
        assert_eq!(f("22.5").to_string(), "22.5000");
        assert_eq!(f("0.12345678").to_string(), "0.12345678");
        assert_eq!(f("-3").to_string(), "-3.0000");
        assert_eq!(json!(f("1.5")), json!("1.5000"));
        let back: Fixed = serde_json::from_value(json!("1.5000")).unwrap();
        assert_eq!(back, f("1.5"));
    }
}
