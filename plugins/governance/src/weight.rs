//! Vote weights from reputation, in integer thousandths.
//!
//! Weight = 0.5 with no reputation; else clamp(0.5 + avg/100·1.5, 0.5, 2.0) rounded to three
//! decimals, where avg is the mean over the proposal's domains and a missing domain counts 0.
//! Without a reputation plugin every weight is 1.0.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a vote's weight came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightSource {
    /// Computed from the voter's reputation scores.
    Reputation,
    /// The reputation plugin was not reachable: everyone weighs 1.0.
    Equal,
}

/// Weight of every vote when reputation is unavailable (1.0).
pub const EQUAL_WEIGHT_MILLI: u64 = 1000;
/// Weight of a voter with no reputation at all (0.5), also the lower clamp.
pub const MIN_WEIGHT_MILLI: u64 = 500;
/// Upper clamp (2.0).
pub const MAX_WEIGHT_MILLI: u64 = 2000;

/// Weight in thousandths from a reputation `scores` answer
/// (`{"domains": {"code": 72.5}, "overall": 70.0}`) over the given domains.
///
/// A voter "has no reputation" when the answer has no domain scores and no overall score.
pub fn from_scores(scores: &Value, domains: &[&str]) -> u64 {
    let by_domain = scores["domains"].as_object();
    let has_any = by_domain.is_some_and(|d| !d.is_empty()) || scores["overall"].is_number();
    if !has_any || domains.is_empty() {
        return MIN_WEIGHT_MILLI;
    }
    // Scores in hundredths, clamped to 0–100 so a bad answer cannot push past the clamps.
    let sum_hundredths: u64 = domains
        .iter()
        .map(|d| {
            by_domain
                .and_then(|m| m.get(*d))
                .and_then(Value::as_f64)
                .filter(|s| s.is_finite())
                .map(|s| (s.clamp(0.0, 100.0) * 100.0).round() as u64)
                .unwrap_or(0)
        })
        .sum();
    let n = domains.len() as u64;
    // avg/100·1.5 in thousandths = (S/100/n)/100·1.5·1000 = 3S/(20n); round half up.
    let bonus = (3 * sum_hundredths + 10 * n) / (20 * n);
    (MIN_WEIGHT_MILLI + bonus).clamp(MIN_WEIGHT_MILLI, MAX_WEIGHT_MILLI)
}

/// Thousandths as a JSON number (1100 → 1.1).
pub fn as_f64(milli: u64) -> f64 {
    milli as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CODE: &[&str] = &["code", "architecture"];

    #[test]
    fn missing_domain_counts_zero() {
        // code 80, architecture missing: avg 40 → 0.5 + 0.4·1.5 = 1.1
        let s = json!({"domains": {"code": 80.0}, "overall": 80.0});
        assert_eq!(from_scores(&s, CODE), 1100);
    }

    #[test]
    fn both_domains_average() {
        // (72.5 + 60) / 2 = 66.25 → 0.5 + 0.99375 = 1.49375 → 1.494
        let s = json!({"domains": {"code": 72.5, "architecture": 60.0}, "overall": 66.3});
        assert_eq!(from_scores(&s, CODE), 1494);
        // 33.3 alone in governance → 0.5 + 0.4995 = 0.9995 → 1.000 (half up)
        let s = json!({"domains": {"governance": 33.3}, "overall": 33.3});
        assert_eq!(from_scores(&s, &["governance"]), 1000);
    }

    #[test]
    fn overall_only_counts_as_reputation_with_zero_average() {
        let s = json!({"domains": {"research": 90.0}, "overall": 90.0});
        assert_eq!(from_scores(&s, CODE), 500);
        let s = json!({"domains": {}, "overall": 50.0});
        assert_eq!(from_scores(&s, CODE), 500);
    }

    #[test]
    fn clamps_at_two_and_no_reputation_is_half() {
        let s = json!({"domains": {"governance": 100.0}, "overall": 100.0});
        assert_eq!(from_scores(&s, &["governance"]), 2000);
        // Out-of-range scores are clamped to 100 first, still 2.0.
        let s = json!({"domains": {"governance": 250.0}, "overall": 250.0});
        assert_eq!(from_scores(&s, &["governance"]), 2000);
        let unknown = json!({"domains": {}, "overall": null});
        assert_eq!(from_scores(&unknown, CODE), 500);
    }

    #[test]
    fn renders_as_decimal() {
        assert_eq!(json!(as_f64(1100)), json!(1.1));
        assert_eq!(json!(as_f64(1494)), json!(1.494));
    }
}
