//! Score arithmetic, exact: scores and source weights are integer tenths, and every average
//! is an integer division rounded half away from zero to one decimal.
//!
//! A score of 72.5 is held as `725` tenths and a weight of 0.8 as `8`, so
//! Σ score·weight / Σ weight in tenths of a point is `Σ(s·w) / Σw` over integers; no `f64`
//! sum ever decides a result. Numbers leave the plugin as JSON numbers with one decimal.

use hypernet_plugin_api::PluginError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The highest score, in tenths (100.0).
const MAX_TENTHS: u32 = 1000;

/// A score (or an average of scores) in tenths of a point, 0.0–100.0.
///
/// Serialized as a JSON number with one decimal (`725` tenths → `72.5`); read back from a
/// number with at most one decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Score(u32);

impl Score {
    /// A score from tenths of a point; `None` above 100.0.
    pub fn from_tenths(tenths: u32) -> Option<Self> {
        (tenths <= MAX_TENTHS).then_some(Score(tenths))
    }

    /// The score in tenths of a point.
    pub fn tenths(self) -> u32 {
        self.0
    }

    /// Reads a score given as a JSON number: an integer or a number with at most one
    /// decimal, within 0–100. The error names the value at fault.
    pub fn from_json(value: &Value) -> Result<Self, PluginError> {
        let Value::Number(number) = value else {
            return Err(PluginError::invalid(format!(
                "score must be a number from 0 to 100, got {value}"
            )));
        };
        let out_of_range =
            || PluginError::invalid(format!("score {number} is outside 0–100 (refused)"));
        if let Some(whole) = number.as_u64() {
            return u32::try_from(whole)
                .ok()
                .and_then(|w| w.checked_mul(10))
                .and_then(Score::from_tenths)
                .ok_or_else(out_of_range);
        }
        if number.is_i64() {
            return Err(out_of_range());
        }
        let x = number.as_f64().unwrap_or(f64::NAN);
        if !(0.0..=100.0).contains(&x) {
            return Err(out_of_range());
        }
        // Within range, x·10 is at most 1000, so this cast is exact once rounded.
        let tenths = (x * 10.0).round();
        if (x * 10.0 - tenths).abs() > 1e-6 {
            return Err(PluginError::invalid(format!(
                "score {number} has more than one decimal"
            )));
        }
        Score::from_tenths(tenths as u32).ok_or_else(out_of_range)
    }

    /// The value as a JSON-ready float with one decimal (`725` → `72.5`).
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 10.0
    }
}

impl std::fmt::Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0 / 10, self.0 % 10)
    }
}

impl Serialize for Score {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for Score {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Score::from_json(&value).map_err(|e| serde::de::Error::custom(e.message()))
    }
}

/// Who vouches for an entry; decides its weight in the domain average. Any source type is
/// accepted, as in the original: the four known ones have their own weight, every other
/// spelling (`boss`, `audit`, …) weighs 0.5 and is kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// The entity about itself (`self`): weight 0.3.
    SelfReport,
    /// Another entity, a review (`peer`): weight 1.0.
    Peer,
    /// The host, from task outcomes (`system`): weight 0.8.
    System,
    /// A judgement made after the fact (`retroactive`): weight 0.7.
    Retroactive,
    /// Any other source type, as written: weight 0.5.
    Other(String),
}

impl Source {
    /// Reads a source type: the known spellings, else any other non-blank string (trimmed).
    pub fn parse(text: &str) -> Result<Self, PluginError> {
        Ok(match text.trim() {
            "" => return Err(PluginError::invalid("`source` must not be empty")),
            "self" => Source::SelfReport,
            "peer" => Source::Peer,
            "system" => Source::System,
            "retroactive" => Source::Retroactive,
            other => Source::Other(other.to_owned()),
        })
    }

    /// The weight in tenths (0.3 → 3).
    pub fn weight_tenths(&self) -> u64 {
        match self {
            Source::SelfReport => 3,
            Source::Peer => 10,
            Source::System => 8,
            Source::Retroactive => 7,
            Source::Other(_) => 5,
        }
    }

    /// The JSON spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Source::SelfReport => "self",
            Source::Peer => "peer",
            Source::System => "system",
            Source::Retroactive => "retroactive",
            Source::Other(other) => other,
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Source {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Source::parse(&text).map_err(|e| serde::de::Error::custom(e.message()))
    }
}

/// `num / den` rounded to the nearest integer, halves away from zero (every quantity here
/// is non-negative, so halves go up). `den` must not be zero.
pub fn round_div(num: u64, den: u64) -> u64 {
    (2 * num + den) / (2 * den)
}

/// The running weighted sum of one entity's entries in one domain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Σ score·weight, in tenths·tenths.
    weighted: u64,
    /// Σ weight, in tenths.
    weight: u64,
}

impl Tally {
    /// Adds one entry.
    pub fn add(&mut self, score: Score, source: &Source) {
        let w = source.weight_tenths();
        self.weighted += u64::from(score.tenths()) * w;
        self.weight += w;
    }

    /// round(Σ score·weight / Σ weight, 1); `None` for an empty tally.
    pub fn score(&self) -> Option<Score> {
        (self.weight > 0).then(|| {
            // A weighted mean of scores in 0..=1000 stays in 0..=1000.
            Score(round_div(self.weighted, self.weight) as u32)
        })
    }
}

/// round(mean of `scores`, 1); `None` when there are none.
pub fn mean(scores: impl IntoIterator<Item = Score>) -> Option<Score> {
    let (sum, n) = scores
        .into_iter()
        .fold((0u64, 0u64), |(sum, n), s| (sum + u64::from(s.0), n + 1));
    (n > 0).then(|| Score(round_div(sum, n) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(tenths: u32) -> Score {
        Score::from_tenths(tenths).unwrap()
    }

    #[test]
    fn weights_are_the_documented_tenths() {
        let weights: Vec<_> = [
            Source::SelfReport,
            Source::Peer,
            Source::System,
            Source::Retroactive,
            Source::Other("boss".into()),
        ]
        .iter()
        .map(Source::weight_tenths)
        .collect();
        assert_eq!(weights, vec![3, 10, 8, 7, 5]);
    }

    #[test]
    fn weighted_average_by_hand() {
        // 80 peer + 60 self: (80·1.0 + 60·0.3) / 1.3 = 98 / 1.3 = 75.3846… → 75.4
        let mut t = Tally::default();
        t.add(s(800), &Source::Peer);
        t.add(s(600), &Source::SelfReport);
        assert_eq!(t.score(), Some(s(754)));

        // 70 system + 20 system + 90 other: (56 + 16 + 45) / 2.1 = 117 / 2.1 = 55.714… → 55.7
        let mut t = Tally::default();
        t.add(s(700), &Source::System);
        t.add(s(200), &Source::System);
        t.add(s(900), &Source::Other("audit".into()));
        assert_eq!(t.score(), Some(s(557)));

        // 100 retroactive + 0 self: 70 / 1.0 = 70.0 exactly
        let mut t = Tally::default();
        t.add(s(1000), &Source::Retroactive);
        t.add(s(0), &Source::SelfReport);
        assert_eq!(t.score(), Some(s(700)));

        assert_eq!(Tally::default().score(), None);
    }

    #[test]
    fn halves_round_away_from_zero() {
        // 72.5 and 72.6 peer: mean 72.55 → 72.6 (a half goes up, not to even).
        let mut t = Tally::default();
        t.add(s(725), &Source::Peer);
        t.add(s(726), &Source::Peer);
        assert_eq!(t.score(), Some(s(726)));
        // 72.4 and 72.5: 72.45 → 72.5
        let mut t = Tally::default();
        t.add(s(724), &Source::Peer);
        t.add(s(725), &Source::Peer);
        assert_eq!(t.score(), Some(s(725)));
        assert_eq!(round_div(5, 2), 3);
        assert_eq!(round_div(7, 2), 4);
        assert_eq!(round_div(4, 3), 1);
        assert_eq!(round_div(5, 3), 2);
    }

    #[test]
    fn overall_is_the_rounded_mean_of_domains() {
        // (75.4 + 55.7 + 70.0) / 3 = 201.1 / 3 = 67.0333… → 67.0
        assert_eq!(mean([s(754), s(557), s(700)]), Some(s(670)));
        // (75.4 + 55.7) / 2 = 65.55 → 65.6
        assert_eq!(mean([s(754), s(557)]), Some(s(656)));
        assert_eq!(mean([]), None);
    }

    #[test]
    fn scores_read_integers_and_one_decimal() {
        assert_eq!(Score::from_json(&json!(0)).unwrap(), s(0));
        assert_eq!(Score::from_json(&json!(100)).unwrap(), s(1000));
        assert_eq!(Score::from_json(&json!(72.5)).unwrap(), s(725));
        assert_eq!(Score::from_json(&json!(0.1)).unwrap(), s(1));
        assert_eq!(Score::from_json(&json!(100.0)).unwrap(), s(1000));
    }

    #[test]
    fn scores_out_of_range_are_refused_by_value() {
        for (bad, text) in [
            (json!(101), "score 101 is outside 0–100"),
            (json!(-1), "score -1 is outside 0–100"),
            (json!(100.1), "score 100.1 is outside 0–100"),
            (json!(-0.5), "score -0.5 is outside 0–100"),
        ] {
            let err = Score::from_json(&bad).unwrap_err();
            assert!(err.message().starts_with(text), "{bad}: {err}");
        }
        let err = Score::from_json(&json!(72.55)).unwrap_err();
        assert_eq!(err.message(), "score 72.55 has more than one decimal");
        assert!(Score::from_json(&json!("80")).is_err());
    }

    #[test]
    fn scores_print_with_one_decimal() {
        assert_eq!(serde_json::to_string(&s(725)).unwrap(), "72.5");
        assert_eq!(serde_json::to_string(&s(750)).unwrap(), "75.0");
        assert_eq!(serde_json::to_string(&s(754)).unwrap(), "75.4");
        assert_eq!(s(3).to_string(), "0.3");
        let back: Score = serde_json::from_str("75.4").unwrap();
        assert_eq!(back, s(754));
    }
}
