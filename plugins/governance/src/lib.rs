//! `governance`: proposals, skill-weighted votes, decisions and their enactment, plus the
//! soft/hard limits that governance may adjust.
//!
//! Manifest entry (`plugins.toml`):
//!
//! ```toml
//! [[plugin]]
//! name = "governance"
//! capabilities = ["kv", "events", "clock", "query", "commands", "log"]
//! requires = ["reputation"]          # when the reputation plugin is present
//! [plugin.config.periods.code_change]
//! deliberation_hours = 1             # override any type's deliberation_hours / voting_hours
//! voting_hours = 2
//! [plugin.config.limits.max_concurrent_workers]
//! soft = 10                          # starting limits (built-in: workers 15/30, queue 200/500)
//! hard = 20
//! ```
//!
//! # Rules
//!
//! | type | threshold | quorum | deliberation h | voting h | domains |
//! |---|---|---|---|---|---|
//! | code_change | 60% | 3 | 24 | 48 | code, architecture |
//! | policy_change | 67% | 5 | 48 | 72 | governance |
//! | resource_allocation | 50% | 3 | 24 | 48 | infrastructure, coordination |
//! | membership | 75% | 5 | 48 | 72 | governance, coordination |
//! | standard_amendment | 80% | 5 | 72 | 96 | governance |
//!
//! A vote's weight comes from `reputation`'s `scores` query at the time of the vote (see
//! [`weight`]); if that query fails (reputation not required, not loaded or disabled) every
//! weight is 1.0 and the vote records `"weight_source": "equal"`. Weights are integer
//! thousandths and the pass test is exact (`approve·1000 ≥ threshold‰·(approve+reject)`).
//!
//! # Queries
//!
//! Times are Unix milliseconds from the host clock; weights are given both as numbers
//! (`1.1`) and exact thousandths (`weight_milli: 1100`).
//!
//! - `submit {"type", "title", "body"?, "author", "budget"?: {"daily_limit_usd"?,
//!   "session_limit_usd"?}, "limits"?: {"name": {"soft", "hard"}}, "permissions"?:
//!   [{"worker", "tier"}]}` → the proposal. `budget` only on `resource_allocation`,
//!   `limits` and `permissions` (workers' tool tiers, 0–4) only on `policy_change`.
//! - `open_voting {"id", "force"?}` → the proposal.
//! - `vote {"id", "voter", "choice": "approve"|"reject"|"abstain"}` →
//!   `{"id", "voter", "choice", "weight", "weight_milli", "weight_source": "reputation"|"equal"}`.
//! - `comment {"id", "author", "text"}` → `{"id": "C-00001", "proposal", "author", "text", "at_ms"}`.
//! - `decide {"id", "force"?}` → `{"id", "status", "tally": <tally>}`.
//! - `enact {"id"}` → `{"id", "status": "enacted", "enactment": {"budget"?: {"args",
//!   "answer"} | {"args", "error"}, "limits"?: {...}, "permissions"?: [{"args", "answer"} |
//!   {"args", "error"}]}}`: the budget through the host's `budget.set`, each tier through
//!   `permissions.set`.
//! - `withdraw {"id", "author"}` → the proposal.
//! - `proposal {"id"}` → the proposal (`id, type, title, body, author, status, budget?,
//!   limits?, submitted_at_ms, deliberation_ends_at_ms, voting_ms, voting_opened_at_ms,
//!   voting_ends_at_ms, votes: [{voter, choice, weight_milli, weight_source, at_ms}],
//!   comments: [...], decision, decided_at_ms, enacted_at_ms, enactment`) plus `"tally"`.
//! - `list {"status"?}` → `{"proposals": [{"id", "type", "title", "author", "status",
//!   "votes"}]}`.
//! - `tally {"id"}` → `{"approve", "reject", "abstain", "approve_milli", "reject_milli",
//!   "abstain_milli", "counted", "abstained", "quorum", "threshold", "threshold_permille",
//!   "quorum_met", "passed", "reason"}` with reasons like `"passed (66.7% ≥ 60%, quorum 3/3)"`,
//!   `"threshold not met (53.3% < 60%)"`, `"quorum not met (2 < 3)"`.
//! - `limits {}` → `{"limits": {"max_concurrent_workers": {"soft": 15, "hard": 30}, ...}}`.
//! - `check_limit {"name", "value"}` → `{"name", "value", "soft", "hard",
//!   "level": "ok"|"warning"|"blocked", "defined": true}`. A limit that is not defined is
//!   allowed, as in the original: `{"name", "value", "soft": null, "hard": null, "level":
//!   "ok", "defined": false, "warning": "no limit `x` is defined (known: …); allowed"}`, and
//!   a warning in the log.
//!
//! Every query refuses an argument field it does not take, naming it
//! (`` `vote`: unknown field `choise`, expected one of `id`, `voter`, `choice` ``).
//!
//! # Events
//!
//! `governance.submitted {id, type, title, author}`, `governance.voting_opened {id,
//! voting_ends_at_ms}`, `governance.voted {id, voter, choice, weight, weight_milli,
//! weight_source}`, `governance.decided {id, passed, reason}`, `governance.enacted {id,
//! enactment}`, `governance.withdrawn {id, author}`.

mod config;
mod describe;
mod kind;
mod limits;
mod proposal;
mod store;
mod tally;
pub mod weight;

#[cfg(test)]
mod tests;

use config::Config;
use hypernet_plugin_api::describe::Description;
use hypernet_plugin_api::protocol::{HostCommand, PermissionsSet};
use hypernet_plugin_api::{Host, PluginError, Subsystem, check_fields};
use kind::ProposalType;
use limits::Limits;
use proposal::{BudgetChange, Comment, Proposal, Status, TierChange, Vote};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tally::{Choice, Tally};
use weight::WeightSource;

/// The governance subsystem's state, mirrored in the host's key-value store.
pub struct Governance {
    host: Host,
    config: Config,
    proposals: BTreeMap<String, Proposal>,
    proposal_counter: u64,
    comment_counter: u64,
    /// Limits in force: built-in, then config, then those set by enacted proposals.
    limits: Limits,
    /// Only the limits set by enacted proposals (what is persisted).
    governed_limits: Limits,
}

/// Each query and the argument fields it takes; any other field is refused by name.
const QUERY_FIELDS: &[(&str, &[&str])] = &[
    (
        "submit",
        &[
            "type",
            "title",
            "body",
            "author",
            "budget",
            "limits",
            "permissions",
        ],
    ),
    ("open_voting", &["id", "force"]),
    ("vote", &["id", "voter", "choice"]),
    ("comment", &["id", "author", "text"]),
    ("decide", &["id", "force"]),
    ("enact", &["id"]),
    ("withdraw", &["id", "author"]),
    ("proposal", &["id"]),
    ("list", &["status"]),
    ("tally", &["id"]),
    ("limits", &[]),
    ("check_limit", &["name", "value"]),
];

/// A refusal: the input or the proposal's state does not allow the request.
fn refused(message: String) -> PluginError {
    PluginError::invalid(message)
}

fn str_arg<'a>(args: &'a Value, key: &str, query: &str) -> Result<&'a str, PluginError> {
    match args[key].as_str() {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(PluginError::invalid(format!(
            "`{query}` needs a non-empty string `{key}`"
        ))),
    }
}

fn force_arg(args: &Value) -> bool {
    args["force"].as_bool().unwrap_or(false)
}

fn tally_json(t: &Tally) -> Value {
    json!({
        "approve": weight::as_f64(t.approve_milli),
        "reject": weight::as_f64(t.reject_milli),
        "abstain": weight::as_f64(t.abstain_milli),
        "approve_milli": t.approve_milli,
        "reject_milli": t.reject_milli,
        "abstain_milli": t.abstain_milli,
        "counted": t.counted,
        "abstained": t.abstained,
        "quorum": t.quorum,
        "threshold": t.threshold_permille as f64 / 1000.0,
        "threshold_permille": t.threshold_permille,
        "quorum_met": t.quorum_met,
        "passed": t.passed,
        "reason": t.reason,
    })
}

impl Governance {
    fn proposal_mut(&mut self, id: &str) -> Result<&mut Proposal, PluginError> {
        self.proposals
            .get_mut(id)
            .ok_or_else(|| PluginError::not_found(format!("no proposal `{id}`")))
    }

    fn proposal_ref(&self, args: &Value, query: &str) -> Result<&Proposal, PluginError> {
        let id = str_arg(args, "id", query)?;
        self.proposals
            .get(id)
            .ok_or_else(|| PluginError::not_found(format!("no proposal `{id}`")))
    }

    fn save(&mut self, id: &str) -> Result<(), PluginError> {
        let host = self.host.clone();
        store::save_proposal(&host, self.proposal_mut(id)?)
    }

    fn proposal_json(p: &Proposal) -> Result<Value, PluginError> {
        let mut v = serde_json::to_value(p)?;
        v["tally"] = tally_json(&p.tally());
        Ok(v)
    }

    fn submit(&mut self, args: &Value) -> Result<Value, PluginError> {
        let kind = ProposalType::parse(str_arg(args, "type", "submit")?).map_err(refused)?;
        let title = str_arg(args, "title", "submit")?.to_owned();
        let author = str_arg(args, "author", "submit")?.to_owned();
        let body = args["body"].as_str().unwrap_or_default().to_owned();
        let budget = match &args["budget"] {
            Value::Null => None,
            b if kind == ProposalType::ResourceAllocation => {
                let b: BudgetChange = serde_json::from_value(b.clone())
                    .map_err(|e| refused(format!("`budget`: {e}")))?;
                for (key, v) in [
                    ("daily_limit_usd", b.daily_limit_usd),
                    ("session_limit_usd", b.session_limit_usd),
                ] {
                    if v.is_some_and(|v| !(v.is_finite() && v >= 0.0)) {
                        return Err(refused(format!(
                            "`budget.{key}` must be a non-negative number"
                        )));
                    }
                }
                Some(b)
            }
            _ => {
                return Err(refused(format!(
                    "a budget change needs a resource_allocation proposal, not {}",
                    kind.as_str()
                )));
            }
        };
        let limits = match &args["limits"] {
            Value::Null => None,
            l if kind == ProposalType::PolicyChange => {
                let l: Limits = serde_json::from_value(l.clone())
                    .map_err(|e| refused(format!("`limits`: {e}")))?;
                for (name, limit) in &l {
                    limit.check(name).map_err(refused)?;
                }
                Some(l)
            }
            _ => {
                return Err(refused(format!(
                    "limit changes need a policy_change proposal, not {}",
                    kind.as_str()
                )));
            }
        };
        let permissions = match &args["permissions"] {
            Value::Null => None,
            p if kind == ProposalType::PolicyChange => {
                let p: Vec<TierChange> = serde_json::from_value(p.clone())
                    .map_err(|e| refused(format!("`permissions`: {e}")))?;
                if let Some(bad) = p.iter().find(|c| c.tier > PermissionsSet::MAX_TIER) {
                    return Err(refused(format!(
                        "`permissions`: tier {} for `{}` is not 0 to 4",
                        bad.tier, bad.worker
                    )));
                }
                Some(p)
            }
            _ => {
                return Err(refused(format!(
                    "tier changes need a policy_change proposal, not {}",
                    kind.as_str()
                )));
            }
        };
        let now = self.host.now_ms()?;
        let number = self.proposal_counter + 1;
        let id = format!("GOV-{number:04}");
        let proposal = Proposal {
            id: id.clone(),
            kind,
            title,
            body,
            author,
            status: Status::Deliberation,
            budget,
            limits,
            permissions,
            submitted_at_ms: now,
            deliberation_ends_at_ms: now.saturating_add(self.config.deliberation_ms(kind)),
            voting_ms: self.config.voting_ms(kind),
            voting_opened_at_ms: None,
            voting_ends_at_ms: None,
            votes: Vec::new(),
            comments: Vec::new(),
            decision: None,
            decided_at_ms: None,
            enacted_at_ms: None,
            enactment: None,
        };
        let mut proposal = proposal;
        store::save_proposal(&self.host, &mut proposal)?;
        store::save_proposal_counter(&self.host, number)?;
        self.proposal_counter = number;
        tracing::info!(proposal = %id, kind = kind.as_str(), author = %proposal.author, "proposal submitted");
        self.host.publish(
            "governance.submitted",
            &json!({ "id": id, "type": kind.as_str(), "title": proposal.title, "author": proposal.author }),
        )?;
        let out = Self::proposal_json(&proposal)?;
        self.proposals.insert(id, proposal);
        Ok(out)
    }

    fn open_voting(&mut self, args: &Value) -> Result<Value, PluginError> {
        let id = str_arg(args, "id", "open_voting")?;
        let now = self.host.now_ms()?;
        let p = self.proposal_mut(id)?;
        p.open_voting(now, force_arg(args)).map_err(refused)?;
        let ends = p.voting_ends_at_ms;
        self.save(id)?;
        tracing::info!(proposal = %id, forced = force_arg(args), "voting opened");
        self.host.publish(
            "governance.voting_opened",
            &json!({ "id": id, "voting_ends_at_ms": ends }),
        )?;
        Self::proposal_json(&self.proposals[id])
    }

    /// The voter's weight now: from reputation if it answers, else equal.
    fn weigh(&self, voter: &str, kind: ProposalType) -> (u64, WeightSource) {
        match self
            .host
            .query("reputation", "scores", &json!({ "entity": voter }))
        {
            Ok(scores) => (
                weight::from_scores(&scores, kind.rules().domains),
                WeightSource::Reputation,
            ),
            Err(err) => {
                tracing::debug!(voter, error = %err, "reputation unavailable, equal weight");
                (weight::EQUAL_WEIGHT_MILLI, WeightSource::Equal)
            }
        }
    }

    fn vote(&mut self, args: &Value) -> Result<Value, PluginError> {
        let id = str_arg(args, "id", "vote")?;
        let voter = str_arg(args, "voter", "vote")?;
        let choice = Choice::parse(str_arg(args, "choice", "vote")?).map_err(refused)?;
        let now = self.host.now_ms()?;
        let kind = {
            let p = self.proposal_mut(id)?;
            p.can_vote(voter, now).map_err(refused)?;
            p.kind
        };
        let (weight_milli, weight_source) = self.weigh(voter, kind);
        let vote = Vote {
            voter: voter.to_owned(),
            choice,
            weight_milli,
            weight_source,
            at_ms: now,
        };
        // Stored before it counts: a vote that was not stored did not happen.
        let index = self.proposal_mut(id)?.votes.len();
        store::save_vote(&self.host, id, index, &vote)?;
        self.proposal_mut(id)?.votes.push(vote);
        tracing::info!(proposal = %id, voter, weight_milli, "vote cast");
        let out = json!({
            "id": id,
            "voter": voter,
            "choice": choice,
            "weight": weight::as_f64(weight_milli),
            "weight_milli": weight_milli,
            "weight_source": weight_source,
        });
        self.host.publish("governance.voted", &out)?;
        Ok(out)
    }

    fn comment(&mut self, args: &Value) -> Result<Value, PluginError> {
        let id = str_arg(args, "id", "comment")?;
        let author = str_arg(args, "author", "comment")?.to_owned();
        let text = str_arg(args, "text", "comment")?.to_owned();
        let now = self.host.now_ms()?;
        self.proposal_mut(id)?.can_comment().map_err(refused)?;
        let number = self.comment_counter + 1;
        let comment = Comment {
            id: format!("C-{number:05}"),
            author,
            text,
            at_ms: now,
        };
        let out = json!({
            "id": comment.id, "proposal": id, "author": comment.author,
            "text": comment.text, "at_ms": now,
        });
        store::save_comment_counter(&self.host, number)?;
        self.comment_counter = number;
        store::save_comment(&self.host, id, &comment)?;
        self.proposal_mut(id)?.comments.push(comment);
        Ok(out)
    }

    fn decide(&mut self, args: &Value) -> Result<Value, PluginError> {
        let id = str_arg(args, "id", "decide")?;
        let now = self.host.now_ms()?;
        let p = self.proposal_mut(id)?;
        let tally = p.decide(now, force_arg(args)).map_err(refused)?.clone();
        let status = p.status;
        self.save(id)?;
        tracing::info!(proposal = %id, passed = tally.passed, reason = %tally.reason, "decided");
        self.host.publish(
            "governance.decided",
            &json!({ "id": id, "passed": tally.passed, "reason": tally.reason }),
        )?;
        Ok(json!({ "id": id, "status": status.as_str(), "tally": tally_json(&tally) }))
    }

    fn enact(&mut self, args: &Value) -> Result<Value, PluginError> {
        let id = str_arg(args, "id", "enact")?;
        let now = self.host.now_ms()?;
        let p = self.proposal_mut(id)?;
        p.can_enact().map_err(refused)?;
        let (budget, limits, permissions) =
            (p.budget.clone(), p.limits.clone(), p.permissions.clone());
        let mut enactment = json!({});
        if let Some(b) = budget {
            enactment["budget"] = self.run_command(id, b.command());
        }
        if let Some(l) = limits {
            let mut governed = self.governed_limits.clone();
            governed.extend(l.clone());
            store::save_limits(&self.host, &governed)?;
            self.limits.extend(l.clone());
            self.governed_limits = governed;
            enactment["limits"] = serde_json::to_value(&l)?;
        }
        if let Some(changes) = permissions {
            let answers = changes
                .iter()
                .map(|change| self.run_command(id, change.command()))
                .collect();
            enactment["permissions"] = Value::Array(answers);
        }
        let p = self.proposal_mut(id)?;
        p.status = Status::Enacted;
        p.enacted_at_ms = Some(now);
        p.enactment = Some(enactment.clone());
        self.save(id)?;
        tracing::info!(proposal = %id, "enacted");
        self.host.publish(
            "governance.enacted",
            &json!({ "id": id, "enactment": enactment }),
        )?;
        Ok(json!({ "id": id, "status": "enacted", "enactment": enactment }))
    }

    /// Runs one host command of proposal `id`'s enactment; records `{"args", "answer"}`, or
    /// `{"args", "error"}` when the host refuses it.
    fn run_command(&self, id: &str, command: HostCommand) -> Value {
        let args = command.args();
        match self.host.run(&command) {
            Ok(answer) => json!({ "args": args, "answer": answer }),
            Err(err) => {
                tracing::warn!(proposal = %id, command = command.name(), error = %err, "host command refused");
                json!({ "args": args, "error": err.to_string() })
            }
        }
    }

    fn withdraw(&mut self, args: &Value) -> Result<Value, PluginError> {
        let id = str_arg(args, "id", "withdraw")?;
        let author = str_arg(args, "author", "withdraw")?;
        self.proposal_mut(id)?.withdraw(author).map_err(refused)?;
        self.save(id)?;
        tracing::info!(proposal = %id, "withdrawn");
        self.host.publish(
            "governance.withdrawn",
            &json!({ "id": id, "author": author }),
        )?;
        Self::proposal_json(&self.proposals[id])
    }

    fn list(&self, args: &Value) -> Result<Value, PluginError> {
        let status = args["status"].as_str();
        let proposals: Vec<Value> = self
            .proposals
            .values()
            .filter(|p| status.is_none_or(|s| p.status.as_str() == s))
            .map(|p| {
                json!({
                    "id": p.id, "type": p.kind.as_str(), "title": p.title,
                    "author": p.author, "status": p.status.as_str(), "votes": p.votes.len(),
                })
            })
            .collect();
        Ok(json!({ "proposals": proposals }))
    }

    fn check_limit(&self, args: &Value) -> Result<Value, PluginError> {
        let name = str_arg(args, "name", "check_limit")?;
        let value = args["value"].as_u64().ok_or_else(|| {
            PluginError::invalid("`check_limit` needs a non-negative integer `value`")
        })?;
        let Some(limit) = self.limits.get(name) else {
            // As in the original: what no limit bounds is allowed, with a warning.
            let known: Vec<_> = self.limits.keys().map(String::as_str).collect();
            let warning = format!(
                "no limit `{name}` is defined (known: {}); allowed",
                known.join(", ")
            );
            tracing::warn!(limit = name, value, "check of an undefined limit; allowed");
            return Ok(json!({
                "name": name, "value": value, "soft": null, "hard": null,
                "level": limits::Level::Ok, "defined": false, "warning": warning,
            }));
        };
        Ok(json!({
            "name": name, "value": value, "soft": limit.soft, "hard": limit.hard,
            "level": limit.level(value), "defined": true,
        }))
    }
}

impl Subsystem for Governance {
    type Config = Config;

    fn validate(config: &Config) -> Result<(), PluginError> {
        config.check().map_err(PluginError::invalid)
    }

    /// Loads proposals, counters and governed limits saved by an earlier run.
    fn start(config: Config, host: Host) -> Result<Self, PluginError> {
        Self::validate(&config)?;
        let saved = store::load(&host)?;
        let mut limits = limits::defaults();
        limits.extend(config.limits.clone());
        limits.extend(saved.limits.clone());
        tracing::info!(
            proposals = saved.proposals.len(),
            limits = limits.len(),
            "governance started"
        );
        Ok(Governance {
            host,
            config,
            proposals: saved.proposals,
            proposal_counter: saved.proposal_counter,
            comment_counter: saved.comment_counter,
            limits,
            governed_limits: saved.limits,
        })
    }

    fn query(&mut self, name: &str, args: Value) -> Result<Value, PluginError> {
        let _span = tracing::debug_span!("governance.query", query = name).entered();
        if let Some((_, fields)) = QUERY_FIELDS.iter().find(|(query, _)| *query == name) {
            check_fields(name, &args, fields)?;
        }
        match name {
            "submit" => self.submit(&args),
            "open_voting" => self.open_voting(&args),
            "vote" => self.vote(&args),
            "comment" => self.comment(&args),
            "decide" => self.decide(&args),
            "enact" => self.enact(&args),
            "withdraw" => self.withdraw(&args),
            "proposal" => Self::proposal_json(self.proposal_ref(&args, "proposal")?),
            "list" => self.list(&args),
            "tally" => Ok(tally_json(&self.proposal_ref(&args, "tally")?.tally())),
            "limits" => Ok(json!({ "limits": self.limits })),
            "check_limit" => self.check_limit(&args),
            other => Err(PluginError::unknown_query(other)),
        }
    }

    /// Every query answered above and the events published (see `describe.rs`).
    fn describe(&self) -> Description {
        describe::description()
    }
}

hypernet_plugin_api::register_subsystem!(Governance, "governance");

hypernet_plugin_api::export_plugin!();
