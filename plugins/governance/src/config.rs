//! The plugin's typed `[plugin.config]` table.

use crate::kind::ProposalType;
use crate::limits::Limit;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `[plugin.config]`: every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Per-type periods overriding the table
    /// (`[plugin.config.periods.code_change] deliberation_hours = 1`).
    #[serde(default)]
    pub periods: BTreeMap<ProposalType, Periods>,
    /// Starting limits overriding or adding to the built-in ones
    /// (`[plugin.config.limits.max_concurrent_workers] soft = 10, hard = 20`). Limits changed
    /// by enacted proposals win over these.
    #[serde(default)]
    pub limits: BTreeMap<String, Limit>,
}

/// One type's periods; a missing one keeps the table's value.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Periods {
    /// Hours between submission and the earliest opening of the vote (fractions allowed).
    pub deliberation_hours: Option<f64>,
    /// Hours the vote stays open (fractions allowed).
    pub voting_hours: Option<f64>,
}

const HOUR_MS: f64 = 3_600_000.0;

impl Config {
    /// Refuses negative or non-finite hours and inconsistent limits, naming the key.
    pub fn check(&self) -> Result<(), String> {
        for (ty, p) in &self.periods {
            for (key, hours) in [
                ("deliberation_hours", p.deliberation_hours),
                ("voting_hours", p.voting_hours),
            ] {
                if let Some(h) = hours
                    && !(h.is_finite() && h >= 0.0)
                {
                    return Err(format!(
                        "periods.{}.{key} must be a non-negative number of hours, not {h}",
                        ty.as_str()
                    ));
                }
            }
        }
        for (name, limit) in &self.limits {
            limit.check(name)?;
        }
        Ok(())
    }

    /// Deliberation period of a type in milliseconds.
    pub fn deliberation_ms(&self, ty: ProposalType) -> u64 {
        let hours = self.periods.get(&ty).and_then(|p| p.deliberation_hours);
        to_ms(hours.unwrap_or(ty.rules().deliberation_hours as f64))
    }

    /// Voting period of a type in milliseconds.
    pub fn voting_ms(&self, ty: ProposalType) -> u64 {
        let hours = self.periods.get(&ty).and_then(|p| p.voting_hours);
        to_ms(hours.unwrap_or(ty.rules().voting_hours as f64))
    }
}

fn to_ms(hours: f64) -> u64 {
    (hours * HOUR_MS).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overrides_one_period_and_keeps_the_rest() {
        let c: Config =
            serde_json::from_value(json!({"periods": {"code_change": {"deliberation_hours": 1}}}))
                .unwrap();
        assert_eq!(c.deliberation_ms(ProposalType::CodeChange), 3_600_000);
        assert_eq!(c.voting_ms(ProposalType::CodeChange), 48 * 3_600_000);
        assert_eq!(
            c.deliberation_ms(ProposalType::StandardAmendment),
            72 * 3_600_000
        );
    }

    #[test]
    fn refuses_typos_and_bad_values() {
        let typo = serde_json::from_value::<Config>(
            json!({"periods": {"code_change": {"voting_hour": 1}}}),
        );
        assert!(typo.unwrap_err().to_string().contains("voting_hour"));
        let bad_type =
            serde_json::from_value::<Config>(json!({"periods": {"coup": {"voting_hours": 1}}}));
        assert!(bad_type.is_err());
        let c: Config =
            serde_json::from_value(json!({"periods": {"membership": {"voting_hours": -1}}}))
                .unwrap();
        assert_eq!(
            c.check().unwrap_err(),
            "periods.membership.voting_hours must be a non-negative number of hours, not -1"
        );
    }
}
