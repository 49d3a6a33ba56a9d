//! The task state machine: every status change goes through [`TaskStatus::check`].
//!
//! ```text
//! pending ─▶ blocked ◀▶ ready ─▶ assigned ─▶ running ─▶ completed
//!    │          │         ▲  ▲       │          │ │ └──▶ failed ─▶ ready (retry)
//!    └──────────┴─▶ ready │  └───────┴──────────┘ └──▶ needs_input ─▶ ready (answered)
//!                         └─────────── (re-queued after a crash or shutdown)
//! any unfinished status ─▶ cancelled
//! ready ─▶ delegated ─▶ completed | failed | ready (taken back)
//! ```
//!
//! `delegated`: another swarm runs the task (see `hypernet_federation`); its answer
//! completes or fails it here, and a peer that stops answering gives it back (ready).

use serde::{Deserialize, Serialize};

/// Where a task is in its life.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Just filed.
    Pending,
    /// Waiting for dependencies (see the task's `blocked_reason`).
    Blocked,
    /// Waiting for a worker.
    Ready,
    /// A worker has been chosen.
    Assigned,
    /// The model call is in flight.
    Running,
    /// The worker asked a person a question; the task waits for the answer.
    NeedsInput,
    /// Another swarm runs it; its answer is applied here.
    Delegated,
    /// Done, with a result.
    Completed,
    /// The last attempt failed (it may be retried).
    Failed,
    /// Withdrawn.
    Cancelled,
}

/// An attempted status change the state machine forbids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {from} task cannot become {to}")]
pub struct IllegalTransition {
    /// Current status.
    pub from: TaskStatus,
    /// Requested status.
    pub to: TaskStatus,
}

impl TaskStatus {
    /// Every status.
    pub const ALL: [TaskStatus; 10] = [
        TaskStatus::Pending,
        TaskStatus::Blocked,
        TaskStatus::Ready,
        TaskStatus::Assigned,
        TaskStatus::Running,
        TaskStatus::NeedsInput,
        TaskStatus::Delegated,
        TaskStatus::Completed,
        TaskStatus::Failed,
        TaskStatus::Cancelled,
    ];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Blocked => "blocked",
            TaskStatus::Ready => "ready",
            TaskStatus::Assigned => "assigned",
            TaskStatus::Running => "running",
            TaskStatus::NeedsInput => "needs_input",
            TaskStatus::Delegated => "delegated",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    /// Completed or cancelled: nothing more will happen to it.
    pub fn is_terminal(self) -> bool {
        matches!(self, TaskStatus::Completed | TaskStatus::Cancelled)
    }

    /// Not completed, failed or cancelled.
    pub fn is_unfinished(self) -> bool {
        !matches!(
            self,
            TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }

    /// Whether `self → to` is allowed.
    pub fn check(self, to: TaskStatus) -> Result<(), IllegalTransition> {
        use TaskStatus::*;
        let allowed = match (self, to) {
            (Pending, Blocked | Ready) => true,
            (Blocked, Ready) => true,
            // A ready task that gains a dependency (split into subtasks) waits again.
            (Ready, Assigned | Blocked | Delegated) => true,
            // The peer's answer, or the task taken back from a peer that stopped answering.
            (Delegated, Completed | Failed | Ready) => true,
            // Interrupted (a crash, a shutdown) on its last attempt: it fails, not runs again.
            (Ready | Assigned, Failed) => true,
            (Assigned, Running | Ready) => true,
            (Running, Completed | Failed | Ready | NeedsInput) => true,
            (NeedsInput, Ready) => true,
            (Failed, Ready) => true,
            // A cancelled task filed again by hand: it waits for its dependencies again.
            (Cancelled, Ready | Blocked) => true,
            (from, Cancelled) => from.is_unfinished() || from == Failed,
            _ => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }
}

impl std::fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TaskStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        TaskStatus::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = TaskStatus::ALL.iter().map(|t| t.as_str()).collect();
                format!("unknown status `{s}` (one of: {})", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::TaskStatus::{self, *};

    /// The complete table: every pair not listed here must be refused.
    const LEGAL: &[(TaskStatus, TaskStatus)] = &[
        (Pending, Blocked),
        (Pending, Ready),
        (Pending, Cancelled),
        (Blocked, Ready),
        (Blocked, Cancelled),
        (Ready, Assigned),
        (Ready, Blocked),
        (Ready, Cancelled),
        (Ready, Failed),
        (Ready, Delegated),
        (Delegated, Completed),
        (Delegated, Failed),
        (Delegated, Ready),
        (Delegated, Cancelled),
        (Assigned, Running),
        (Assigned, Failed),
        (Assigned, Ready),
        (Assigned, Cancelled),
        (Running, Completed),
        (Running, Failed),
        (Running, Ready),
        (Running, Cancelled),
        (Running, NeedsInput),
        (NeedsInput, Ready),
        (NeedsInput, Cancelled),
        (Failed, Ready),
        (Failed, Cancelled),
        (Cancelled, Ready),
        (Cancelled, Blocked),
    ];

    #[test]
    fn every_legal_and_illegal_transition() {
        for from in TaskStatus::ALL {
            for to in TaskStatus::ALL {
                let legal = LEGAL.contains(&(from, to));
                let result = from.check(to);
                assert_eq!(result.is_ok(), legal, "{from} -> {to}");
                if let Err(e) = result {
                    assert_eq!(e.to_string(), format!("a {from} task cannot become {to}"));
                }
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for s in TaskStatus::ALL {
            assert_eq!(s.as_str().parse::<TaskStatus>().unwrap(), s);
        }
        assert!(
            "done"
                .parse::<TaskStatus>()
                .unwrap_err()
                .contains("one of: pending")
        );
    }
}
