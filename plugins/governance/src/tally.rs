//! Counting votes: exact weighted ratio, quorum, and the decision's reason text.

use serde::{Deserialize, Serialize};

/// A vote's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// For.
    Approve,
    /// Against.
    Reject,
    /// Counted for nothing, not even quorum.
    Abstain,
}

impl Choice {
    /// Parses `approve` | `reject` | `abstain`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "approve" => Ok(Choice::Approve),
            "reject" => Ok(Choice::Reject),
            "abstain" => Ok(Choice::Abstain),
            other => Err(format!(
                "unknown choice `{other}` (known: approve, reject, abstain)"
            )),
        }
    }
}

/// The result of counting: weights in thousandths, so totals are exact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Sum of approve weights.
    pub approve_milli: u64,
    /// Sum of reject weights.
    pub reject_milli: u64,
    /// Sum of abstain weights.
    pub abstain_milli: u64,
    /// Number of approve + reject votes.
    pub counted: u64,
    /// Number of abstentions.
    pub abstained: u64,
    /// Required non-abstain votes.
    pub quorum: u64,
    /// Threshold in per-mille.
    pub threshold_permille: u64,
    /// Whether `counted ≥ quorum`.
    pub quorum_met: bool,
    /// Whether the quorum is met and approve/(approve+reject) ≥ threshold, exactly.
    pub passed: bool,
    /// Why, e.g. `passed (66.7% ≥ 60%, quorum 3/3)`.
    pub reason: String,
}

impl Tally {
    /// Counts `(choice, weight in thousandths)` pairs against a threshold and quorum.
    pub fn count(
        votes: impl IntoIterator<Item = (Choice, u64)>,
        threshold_permille: u64,
        quorum: u64,
    ) -> Tally {
        let (mut approve, mut reject, mut abstain, mut counted, mut abstained) = (0, 0, 0, 0, 0);
        for (choice, w) in votes {
            match choice {
                Choice::Approve => {
                    approve += w;
                    counted += 1;
                }
                Choice::Reject => {
                    reject += w;
                    counted += 1;
                }
                Choice::Abstain => {
                    abstain += w;
                    abstained += 1;
                }
            }
        }
        let quorum_met = counted >= quorum;
        let total = approve + reject;
        // ratio ≥ threshold  ⇔  approve·1000 ≥ threshold·total (ratio is 0 when total is 0).
        let meets = total > 0
            && u128::from(approve) * 1000 >= u128::from(threshold_permille) * u128::from(total);
        let passed = quorum_met && meets;
        let pct = ratio_text(approve, total);
        let thr = permille_text(threshold_permille);
        let reason = if !quorum_met {
            format!("quorum not met ({counted} < {quorum})")
        } else if !meets {
            format!("threshold not met ({pct} < {thr})")
        } else {
            format!("passed ({pct} ≥ {thr}, quorum {counted}/{quorum})")
        };
        Tally {
            approve_milli: approve,
            reject_milli: reject,
            abstain_milli: abstain,
            counted,
            abstained,
            quorum,
            threshold_permille,
            quorum_met,
            passed,
            reason,
        }
    }
}

/// `approve/total` as a percentage with one decimal, rounded half up (`53.3%`); `0.0%` when
/// nothing was counted.
fn ratio_text(approve: u64, total: u64) -> String {
    if total == 0 {
        return "0.0%".into();
    }
    let (a, t) = (u128::from(approve), u128::from(total));
    let tenths = (a * 2000 + t) / (2 * t);
    format!("{}.{}%", tenths / 10, tenths % 10)
}

/// A per-mille threshold as a percentage without a needless decimal (`600` → `60%`,
/// `675` → `67.5%`).
fn permille_text(permille: u64) -> String {
    if permille.is_multiple_of(10) {
        format!("{}%", permille / 10)
    } else {
        format!("{}.{}%", permille / 10, permille % 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Choice::*;

    #[test]
    fn threshold_not_met_worked_example() {
        // approve 1.6, reject 1.4: 1.6/3.0 = 53.33…% < 60%
        let t = Tally::count([(Approve, 1600), (Reject, 1400), (Reject, 0)], 600, 3);
        assert!(!t.passed);
        assert_eq!(t.reason, "threshold not met (53.3% < 60%)");
    }

    #[test]
    fn passed_worked_example() {
        // approve 1.0 + 1.0, reject 1.0: 2/3 = 66.67% ≥ 60%
        let t = Tally::count([(Approve, 1000), (Approve, 1000), (Reject, 1000)], 600, 3);
        assert!(t.passed);
        assert_eq!(t.reason, "passed (66.7% ≥ 60%, quorum 3/3)");
        assert_eq!((t.approve_milli, t.reject_milli), (2000, 1000));
    }

    #[test]
    fn quorum_ignores_abstentions() {
        let t = Tally::count([(Approve, 2000), (Approve, 2000), (Abstain, 1000)], 500, 3);
        assert!(!t.passed && !t.quorum_met);
        assert_eq!(t.reason, "quorum not met (2 < 3)");
        assert_eq!((t.abstained, t.abstain_milli), (1, 1000));
    }

    #[test]
    fn exact_comparison_at_the_threshold() {
        // 0.67 exactly: 670 approve vs 330 reject passes a 67% threshold ...
        let t = Tally::count([(Approve, 670), (Reject, 330)], 670, 2);
        assert!(t.passed, "{}", t.reason);
        assert_eq!(t.reason, "passed (67.0% ≥ 67%, quorum 2/2)");
        // ... and one thousandth less does not, though it rounds to 67.0%.
        let t = Tally::count([(Approve, 669), (Reject, 330)], 670, 2);
        assert!(!t.passed);
        assert_eq!(t.reason, "threshold not met (67.0% < 67%)");
        // Exactly half passes 50%.
        let t = Tally::count([(Approve, 500), (Reject, 500), (Reject, 0)], 500, 3);
        assert!(t.passed);
    }

    #[test]
    fn zero_weight_totals_give_zero_ratio() {
        let t = Tally::count([(Approve, 0), (Reject, 0), (Reject, 0)], 500, 3);
        assert!(!t.passed);
        assert_eq!(t.reason, "threshold not met (0.0% < 50%)");
        let t = Tally::count([], 500, 0);
        assert_eq!(t.reason, "threshold not met (0.0% < 50%)");
    }

    #[test]
    fn formats_percentages() {
        assert_eq!(ratio_text(1, 1), "100.0%");
        assert_eq!(ratio_text(1, 8), "12.5%");
        assert_eq!(ratio_text(1, 3), "33.3%");
        assert_eq!(permille_text(675), "67.5%");
        assert_eq!(
            Choice::parse("maybe").unwrap_err(),
            "unknown choice `maybe` (known: approve, reject, abstain)"
        );
    }
}
