//! A proposal, its votes and comments, and the lifecycle as plain functions over them.
//!
//! deliberation → voting → passed | rejected → (passed) enacted; deliberation → withdrawn.
//! Every transition takes the current time and returns a `Result` naming why it is refused.

use crate::kind::ProposalType;
use crate::limits::Limits;
use crate::tally::{Choice, Tally};
use crate::weight::WeightSource;
use hypernet_plugin_api::protocol::{BudgetSet, HostCommand, PermissionsSet};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a proposal is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Submitted; discussion before the vote.
    Deliberation,
    /// The vote is open.
    Voting,
    /// Decided for.
    Passed,
    /// Decided against.
    Rejected,
    /// Passed and put into effect.
    Enacted,
    /// Taken back by its author before the vote.
    Withdrawn,
}

impl Status {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Deliberation => "deliberation",
            Status::Voting => "voting",
            Status::Passed => "passed",
            Status::Rejected => "rejected",
            Status::Enacted => "enacted",
            Status::Withdrawn => "withdrawn",
        }
    }
}

/// A budget change carried by a `resource_allocation` proposal; passed to `budget.set`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetChange {
    /// New daily limit in dollars; `null` or absent for none.
    #[serde(default)]
    pub daily_limit_usd: Option<f64>,
    /// New per-session limit in dollars; `null` or absent for none.
    #[serde(default)]
    pub session_limit_usd: Option<f64>,
}

/// A worker's tool tier set by a `policy_change` proposal; passed to `permissions.set`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierChange {
    /// The worker's name.
    pub worker: String,
    /// Its new tier, 0 (read-only) to 4 (destructive).
    pub tier: u8,
}

impl BudgetChange {
    /// The `budget.set` host command that enacts it.
    pub fn command(&self) -> HostCommand {
        HostCommand::BudgetSet(BudgetSet {
            daily_limit_usd: self.daily_limit_usd,
            session_limit_usd: self.session_limit_usd,
        })
    }
}

impl TierChange {
    /// The `permissions.set` host command that enacts it.
    pub fn command(&self) -> HostCommand {
        HostCommand::PermissionsSet(PermissionsSet {
            worker: self.worker.clone(),
            tier: self.tier,
        })
    }
}

/// One cast vote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vote {
    /// Who voted.
    pub voter: String,
    /// What they chose.
    pub choice: Choice,
    /// Weight in thousandths.
    pub weight_milli: u64,
    /// Where the weight came from.
    pub weight_source: WeightSource,
    /// When, by the host clock.
    pub at_ms: u64,
}

/// A comment on a proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    /// `C-00001`…, unique across proposals.
    pub id: String,
    /// Who wrote it.
    pub author: String,
    /// What it says.
    pub text: String,
    /// When.
    pub at_ms: u64,
}

/// A proposal with everything that happened to it (stored whole under one key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// `GOV-0001`…
    pub id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: ProposalType,
    /// Short title.
    pub title: String,
    /// Full text.
    pub body: String,
    /// Who submitted it.
    pub author: String,
    /// Current status.
    pub status: Status,
    /// Budget change applied on enactment (resource_allocation only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetChange>,
    /// Limit changes applied on enactment (policy_change only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    /// Tool tiers set on enactment (policy_change only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<TierChange>>,
    /// Submission time.
    pub submitted_at_ms: u64,
    /// Earliest time the vote may open without force.
    pub deliberation_ends_at_ms: u64,
    /// Voting period, fixed at submission from the config.
    pub voting_ms: u64,
    /// When the vote opened.
    #[serde(default)]
    pub voting_opened_at_ms: Option<u64>,
    /// When the vote closes.
    #[serde(default)]
    pub voting_ends_at_ms: Option<u64>,
    /// Votes in the order cast.
    #[serde(default)]
    pub votes: Vec<Vote>,
    /// Comments in the order written.
    #[serde(default)]
    pub comments: Vec<Comment>,
    /// The final tally, once decided.
    #[serde(default)]
    pub decision: Option<Tally>,
    /// When it was decided.
    #[serde(default)]
    pub decided_at_ms: Option<u64>,
    /// When it was enacted.
    #[serde(default)]
    pub enacted_at_ms: Option<u64>,
    /// What enactment did: the host's answer to `budget.set` or its error, applied limits,
    /// the answers to `permissions.set`.
    #[serde(default)]
    pub enactment: Option<Value>,
}

impl Proposal {
    /// Counts the votes as they stand.
    pub fn tally(&self) -> Tally {
        let rules = self.kind.rules();
        Tally::count(
            self.votes.iter().map(|v| (v.choice, v.weight_milli)),
            rules.threshold_permille,
            rules.quorum,
        )
    }

    /// Opens the vote: only in deliberation, only after the deliberation period unless
    /// forced.
    pub fn open_voting(&mut self, now: u64, force: bool) -> Result<(), String> {
        if self.status != Status::Deliberation {
            return Err(format!(
                "{} is {}, voting opens only from deliberation",
                self.id,
                self.status.as_str()
            ));
        }
        if !force && now < self.deliberation_ends_at_ms {
            return Err(format!(
                "{} is still in deliberation until {} (now {now}); pass force to open early",
                self.id, self.deliberation_ends_at_ms
            ));
        }
        self.status = Status::Voting;
        self.voting_opened_at_ms = Some(now);
        self.voting_ends_at_ms = Some(now.saturating_add(self.voting_ms));
        Ok(())
    }

    /// Checks that `voter` may vote now (open, not ended, not voted yet).
    pub fn can_vote(&self, voter: &str, now: u64) -> Result<(), String> {
        if self.status != Status::Voting {
            return Err(format!(
                "{} is {}, votes are taken only while voting is open",
                self.id,
                self.status.as_str()
            ));
        }
        let ends = self.voting_ends_at_ms.unwrap_or(0);
        if now >= ends {
            return Err(format!("voting on {} ended at {ends} (now {now})", self.id));
        }
        if self.votes.iter().any(|v| v.voter == voter) {
            return Err(format!("{voter} has already voted on {}", self.id));
        }
        Ok(())
    }

    /// Decides: only while voting, only after the voting period unless forced.
    pub fn decide(&mut self, now: u64, force: bool) -> Result<&Tally, String> {
        if self.status != Status::Voting {
            return Err(format!(
                "{} is {}, only a proposal in voting can be decided",
                self.id,
                self.status.as_str()
            ));
        }
        let ends = self.voting_ends_at_ms.unwrap_or(0);
        if !force && now < ends {
            return Err(format!(
                "voting on {} is open until {ends} (now {now}); pass force to decide early",
                self.id
            ));
        }
        let tally = self.tally();
        self.status = if tally.passed {
            Status::Passed
        } else {
            Status::Rejected
        };
        self.decided_at_ms = Some(now);
        Ok(self.decision.insert(tally))
    }

    /// Checks that the proposal may be enacted (passed and not yet enacted).
    pub fn can_enact(&self) -> Result<(), String> {
        match self.status {
            Status::Passed => Ok(()),
            Status::Enacted => Err(format!("{} has already been enacted", self.id)),
            other => Err(format!(
                "{} is {}, only a passed proposal can be enacted",
                self.id,
                other.as_str()
            )),
        }
    }

    /// Withdraws: only by the author, only before voting opens.
    pub fn withdraw(&mut self, author: &str) -> Result<(), String> {
        if author != self.author {
            return Err(format!(
                "only the author ({}) may withdraw {}, not {author}",
                self.author, self.id
            ));
        }
        if self.status != Status::Deliberation {
            return Err(format!(
                "{} is {}, it can be withdrawn only before voting opens",
                self.id,
                self.status.as_str()
            ));
        }
        self.status = Status::Withdrawn;
        Ok(())
    }

    /// Checks that a comment may be added (not on a withdrawn proposal).
    pub fn can_comment(&self) -> Result<(), String> {
        if self.status == Status::Withdrawn {
            return Err(format!("{} was withdrawn and takes no comments", self.id));
        }
        Ok(())
    }
}
