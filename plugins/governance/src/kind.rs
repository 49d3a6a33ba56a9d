//! The five proposal types and their fixed rules (threshold, quorum, default periods,
//! reputation domains).

use serde::{Deserialize, Serialize};

/// What a proposal is about; each type has its own rules ([`ProposalType::rules`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalType {
    /// A change to the code.
    CodeChange,
    /// A change to policy (may carry limit changes).
    PolicyChange,
    /// Spending or capacity (may carry a budget change).
    ResourceAllocation,
    /// Who belongs.
    Membership,
    /// A change to the standard itself.
    StandardAmendment,
}

/// The fixed rules of one proposal type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Pass threshold in per-mille (600 = 60%), compared exactly.
    pub threshold_permille: u64,
    /// Minimum number of non-abstain votes.
    pub quorum: u64,
    /// Default deliberation period.
    pub deliberation_hours: u64,
    /// Default voting period.
    pub voting_hours: u64,
    /// Reputation domains the vote weight averages over.
    pub domains: &'static [&'static str],
}

impl ProposalType {
    /// Every type, in table order.
    pub const ALL: [ProposalType; 5] = [
        ProposalType::CodeChange,
        ProposalType::PolicyChange,
        ProposalType::ResourceAllocation,
        ProposalType::Membership,
        ProposalType::StandardAmendment,
    ];

    /// The wire spelling (`code_change`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalType::CodeChange => "code_change",
            ProposalType::PolicyChange => "policy_change",
            ProposalType::ResourceAllocation => "resource_allocation",
            ProposalType::Membership => "membership",
            ProposalType::StandardAmendment => "standard_amendment",
        }
    }

    /// Parses the wire spelling, naming the known types on failure.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|t| t.as_str()).collect();
                format!("unknown proposal type `{s}` (known: {})", known.join(", "))
            })
    }

    /// The type's rules, as in the governance table.
    pub fn rules(self) -> Rules {
        let (threshold_permille, quorum, deliberation_hours, voting_hours, domains): (
            u64,
            u64,
            u64,
            u64,
            &'static [&'static str],
        ) = match self {
            ProposalType::CodeChange => (600, 3, 24, 48, &["code", "architecture"]),
            ProposalType::PolicyChange => (670, 5, 48, 72, &["governance"]),
            ProposalType::ResourceAllocation => {
                (500, 3, 24, 48, &["infrastructure", "coordination"])
            }
            ProposalType::Membership => (750, 5, 48, 72, &["governance", "coordination"]),
            ProposalType::StandardAmendment => (800, 5, 72, 96, &["governance"]),
        };
        Rules {
            threshold_permille,
            quorum,
            deliberation_hours,
            voting_hours,
            domains,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_semantics() {
        let rows: Vec<_> = ProposalType::ALL
            .iter()
            .map(|t| {
                let r = t.rules();
                (
                    t.as_str(),
                    r.threshold_permille,
                    r.quorum,
                    r.deliberation_hours,
                    r.voting_hours,
                    r.domains.to_vec(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                ("code_change", 600, 3, 24, 48, vec!["code", "architecture"]),
                ("policy_change", 670, 5, 48, 72, vec!["governance"]),
                (
                    "resource_allocation",
                    500,
                    3,
                    24,
                    48,
                    vec!["infrastructure", "coordination"]
                ),
                (
                    "membership",
                    750,
                    5,
                    48,
                    72,
                    vec!["governance", "coordination"]
                ),
                ("standard_amendment", 800, 5, 72, 96, vec!["governance"]),
            ]
        );
    }

    #[test]
    fn parses_and_refuses_types() {
        assert_eq!(
            ProposalType::parse("membership"),
            Ok(ProposalType::Membership)
        );
        let err = ProposalType::parse("coup").unwrap_err();
        assert!(err.starts_with("unknown proposal type `coup`"), "{err}");
    }
}
