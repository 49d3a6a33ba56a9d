//! The approval queue: actions a worker may not take without a person's yes — a shell
//! command, an HTTP request, anything destructive (as `[tools] approval_required` says) —
//! wait here instead of running.
//!
//! ```text
//! pending ─▶ approved ─▶ (run once) done | failed | interrupted
//!    ├─────▶ rejected
//!    └─────▶ expired       (nobody decided within `[approvals] expire_after_secs`, 24 h)
//! ```
//!
//! Each request is stored in the redb file (`AQ-0001`, `AQ-0002`, …) before the task that
//! asked waits on it, so a restart loses none. An approved action runs exactly once: it is
//! marked running durably before it starts, and one found running after a restart is
//! recorded `interrupted`, never run again. Whatever the decision, the waiting task is
//! ready again, its next call told what became of its request (see [`service`]).

pub mod persist;
pub mod service;

use hypernet_model::tasks::TaskId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use hypernet_model::ids::ApprovalId;

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// Waiting for a person.
    Pending,
    /// A person said yes; the action runs (once).
    Approved,
    /// A person said no.
    Rejected,
    /// Nobody decided in time.
    Expired,
}

impl std::fmt::Display for ApprovalStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Rejected => "rejected",
            ApprovalStatus::Expired => "expired",
        })
    }
}

impl std::str::FromStr for ApprovalStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pending" => Ok(ApprovalStatus::Pending),
            "approved" => Ok(ApprovalStatus::Approved),
            "rejected" => Ok(ApprovalStatus::Rejected),
            "expired" => Ok(ApprovalStatus::Expired),
            _ => Err(format!(
                "unknown approval status `{s}` (one of: pending, approved, rejected, expired)"
            )),
        }
    }
}

/// What became of an approved action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Execution {
    /// Marked running, durably, just before it started.
    Running,
    /// It ran; `output` is what the tool returned (or its error).
    Done {
        /// Whether the tool succeeded.
        ok: bool,
        /// Its result or error text.
        output: String,
    },
    /// The host stopped while it ran; it is not run again.
    Interrupted,
}

/// One request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Approval {
    /// Its id.
    pub id: ApprovalId,
    /// The task whose worker asked.
    pub task: TaskId,
    /// The worker.
    pub worker: String,
    /// The tool it would call.
    pub tool: String,
    /// The arguments it would call it with.
    pub args: Value,
    /// Why a person must decide.
    pub reason: String,
    /// Where it is.
    pub status: ApprovalStatus,
    /// Asked at (ms since the Unix epoch).
    pub created_ms: u64,
    /// Expires at, while pending.
    pub expires_ms: u64,
    /// Decided (or expired) at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_ms: Option<u64>,
    /// Who decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// The reason given with a refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The run of an approved action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<Execution>,
}

/// A decision the queue refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// No request has that id.
    #[error("no approval request {0}")]
    NotFound(ApprovalId),
    /// It was decided already (approving twice is refused).
    #[error("{id} is already {status}")]
    Decided {
        /// The request.
        id: ApprovalId,
        /// What it is.
        status: ApprovalStatus,
    },
    /// The store failed.
    #[error("approvals: {0}")]
    Store(String),
}

impl Approval {
    /// A person (or the clock) decides a pending request: `to` is approved, rejected or
    /// expired. Anything but a pending request is refused, naming its status.
    pub fn decide(
        &mut self,
        to: ApprovalStatus,
        by: &str,
        note: Option<String>,
        now_ms: u64,
    ) -> Result<(), ApprovalError> {
        if self.status != ApprovalStatus::Pending || to == ApprovalStatus::Pending {
            return Err(ApprovalError::Decided {
                id: self.id,
                status: self.status,
            });
        }
        self.status = to;
        self.decided_ms = Some(now_ms);
        self.decided_by = Some(by.to_owned());
        self.note = note;
        Ok(())
    }

    /// Whether it waits and its time is up.
    pub fn is_due(&self, now_ms: u64) -> bool {
        self.status == ApprovalStatus::Pending && now_ms >= self.expires_ms
    }

    /// The question the waiting task's worker asked, as its prompt will show it.
    pub fn question(&self) -> String {
        format!(
            "May I call `{}` with {}? ({}: {})",
            self.tool, self.args, self.id, self.reason
        )
    }

    /// What the worker's next call is told became of the request.
    pub fn outcome(&self) -> String {
        let by = self.decided_by.as_deref().unwrap_or("a person");
        match (&self.status, &self.execution) {
            (ApprovalStatus::Approved, Some(Execution::Done { ok: true, output })) => {
                format!("Approved by {by}; it ran once and returned:\n{output}")
            }
            (ApprovalStatus::Approved, Some(Execution::Done { ok: false, output })) => {
                format!("Approved by {by}; it ran once and failed: {output}")
            }
            (ApprovalStatus::Approved, _) => {
                format!(
                    "Approved by {by}, but the host stopped while it ran; it was not run again."
                )
            }
            (ApprovalStatus::Rejected, _) => match &self.note {
                Some(note) => format!("Refused by {by}: {note}"),
                None => format!("Refused by {by}."),
            },
            (ApprovalStatus::Expired, _) => "Nobody decided in time; it did not run.".into(),
            (ApprovalStatus::Pending, _) => "Not decided yet.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pending() -> Approval {
        Approval {
            id: ApprovalId(1),
            task: TaskId(3),
            worker: "Trace".into(),
            tool: "shell".into(),
            args: json!({"argv": ["ls"]}),
            reason: "shell needs a person's approval".into(),
            status: ApprovalStatus::Pending,
            created_ms: 0,
            expires_ms: 100,
            decided_ms: None,
            decided_by: None,
            note: None,
            execution: None,
        }
    }

    #[test]
    fn ids_print_with_four_digits_and_parse_back() {
        assert_eq!(ApprovalId(1).to_string(), "AQ-0001");
        assert_eq!(ApprovalId(12345).to_string(), "AQ-12345");
        assert_eq!("AQ-0042".parse::<ApprovalId>().unwrap(), ApprovalId(42));
        assert!("T-4".parse::<ApprovalId>().unwrap_err().contains("`T-4`"));
        assert_eq!(
            serde_json::to_value(ApprovalId(7)).unwrap(),
            json!("AQ-0007")
        );
    }

    #[test]
    fn only_a_pending_request_is_decided_and_approving_twice_is_refused() {
        let mut a = pending();
        a.decide(ApprovalStatus::Approved, "person", None, 5)
            .unwrap();
        assert_eq!(
            (a.status, a.decided_ms),
            (ApprovalStatus::Approved, Some(5))
        );
        let twice = a
            .decide(ApprovalStatus::Approved, "person", None, 6)
            .unwrap_err();
        assert_eq!(twice.to_string(), "AQ-0001 is already approved");
        assert!(
            a.decide(ApprovalStatus::Rejected, "person", None, 6)
                .is_err()
        );
        let mut b = pending();
        assert!(
            b.decide(ApprovalStatus::Pending, "person", None, 1)
                .is_err()
        );
        b.decide(ApprovalStatus::Expired, "host", None, 100)
            .unwrap();
        assert!(
            b.decide(ApprovalStatus::Approved, "person", None, 101)
                .is_err()
        );
    }

    #[test]
    fn requests_fall_due_at_their_expiry() {
        let a = pending();
        assert!(!a.is_due(99) && a.is_due(100));
        let mut b = pending();
        b.decide(ApprovalStatus::Rejected, "p", None, 1).unwrap();
        assert!(!b.is_due(1000), "a decided request never expires");
    }

    #[test]
    fn the_worker_is_told_what_became_of_its_request() {
        let mut a = pending();
        assert!(
            a.question()
                .starts_with("May I call `shell` with {\"argv\":[\"ls\"]}? (AQ-0001:")
        );
        a.decide(ApprovalStatus::Approved, "Ada", None, 1).unwrap();
        a.execution = Some(Execution::Done {
            ok: true,
            output: "a.txt".into(),
        });
        assert_eq!(
            a.outcome(),
            "Approved by Ada; it ran once and returned:\na.txt"
        );
        a.execution = Some(Execution::Interrupted);
        assert!(a.outcome().contains("not run again"));
        let mut r = pending();
        r.decide(ApprovalStatus::Rejected, "Ada", Some("too risky".into()), 1)
            .unwrap();
        assert_eq!(r.outcome(), "Refused by Ada: too risky");
        let mut e = pending();
        e.decide(ApprovalStatus::Expired, "host", None, 100)
            .unwrap();
        assert!(e.outcome().contains("did not run"));
    }
}
