//! What swarms say to each other, and where: one JetStream stream holds every message,
//! each swarm reads its own subject through its own durable consumer, and each message
//! carries a stable id (JetStream's `Nats-Msg-Id`) so a republish after a crash is
//! de-duplicated by the stream — and, past the stream's window, by the receiver, which
//! applies each message once whatever it is told twice.

use hypernet_model::tasks::{Complexity, TaskId, TaskResult, TaskStatus};
use hypernet_plugin_api::Priority;
use serde::{Deserialize, Serialize};

/// The stream every swarm's messages go to.
pub const STREAM: &str = "HYPERNET_FEDERATION";
/// Its subjects.
pub const STREAM_SUBJECTS: &str = "hypernet.fed.>";
/// The key-value bucket of the swarms' statuses (one key per swarm).
pub const BUCKET: &str = "hypernet-swarms";
/// How long the stream remembers message ids for de-duplication.
pub const DUPLICATE_WINDOW: std::time::Duration = std::time::Duration::from_secs(120);

/// The subject of everything sent to `swarm`.
pub fn subject(swarm: &str) -> String {
    format!("hypernet.fed.{swarm}")
}

/// The durable consumer `swarm` reads its messages with.
pub fn consumer(swarm: &str) -> String {
    format!("swarm-{swarm}")
}

/// A message between swarms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// Run this task.
    Delegate(Delegate),
    /// Drop this task (cancelled at its origin, or taken back).
    Withdraw(Withdraw),
    /// What became of a task delegated to the sender.
    Update(Update),
}

impl Message {
    /// The swarm that sent it.
    pub fn from(&self) -> &str {
        match self {
            Message::Delegate(d) => &d.from,
            Message::Withdraw(w) => &w.from,
            Message::Update(u) => &u.from,
        }
    }
}

/// A task for the receiver to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delegate {
    /// The origin swarm.
    pub from: String,
    /// The task's id at the origin.
    pub task: TaskId,
    /// The delegation round.
    pub round: u32,
    /// Short title.
    pub title: String,
    /// Full description.
    pub description: String,
    /// Priority.
    pub priority: Priority,
    /// Tags.
    pub tags: Vec<String>,
    /// Explicit complexity.
    pub complexity: Option<Complexity>,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// The model its origin routed it to (run on it when a provider here serves it).
    pub model: String,
    /// The permission tier its origin asks for (capped by the receiver).
    pub tier: u8,
}

impl Delegate {
    /// Its message id.
    pub fn msg_id(&self) -> String {
        format!("{}.delegate.{}.{}", self.from, self.task, self.round)
    }
}

/// A task the receiver should drop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Withdraw {
    /// The origin swarm.
    pub from: String,
    /// The task's id at the origin.
    pub task: TaskId,
    /// The round withdrawn.
    pub round: u32,
}

impl Withdraw {
    /// Its message id.
    pub fn msg_id(&self) -> String {
        format!("{}.withdraw.{}.{}", self.from, self.task, self.round)
    }
}

/// A status change of a task the sender runs for the receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    /// The swarm running it.
    pub from: String,
    /// The swarm it runs it for.
    pub to: String,
    /// The task's id at the origin (the receiver).
    pub task: TaskId,
    /// The delegation round.
    pub round: u32,
    /// Its id at the sender.
    pub remote_task: TaskId,
    /// Its status there.
    pub status: TaskStatus,
    /// Whether nothing more will happen to it there.
    pub last: bool,
    /// The worker holding it there.
    pub worker: Option<String>,
    /// The answer, when completed.
    pub result: Option<TaskResult>,
    /// The error, when failed.
    pub error: Option<String>,
    /// The event at the sender this reports (part of the message id).
    pub event: u64,
    /// Hex Ed25519 signature of [`Update::signed_bytes`] by the sender's host key.
    pub signature: Option<String>,
    /// The hex public key that made it.
    pub signer: Option<String>,
}

impl Update {
    /// Its message id.
    pub fn msg_id(&self) -> String {
        format!("{}.update.{}", self.from, self.event)
    }

    /// What the signature covers: who answers whom, for which task and round, and the
    /// outcome (status, answer, model, error). Field order is fixed by the struct.
    pub fn signed_bytes(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Signed<'a> {
            from: &'a str,
            to: &'a str,
            task: TaskId,
            round: u32,
            remote_task: TaskId,
            status: TaskStatus,
            text: Option<&'a str>,
            model: Option<&'a str>,
            error: Option<&'a str>,
        }
        serde_json::to_vec(&Signed {
            from: &self.from,
            to: &self.to,
            task: self.task,
            round: self.round,
            remote_task: self.remote_task,
            status: self.status,
            text: self.result.as_ref().map(|r| r.text.as_str()),
            model: self.result.as_ref().map(|r| r.model.as_str()),
            error: self.error.as_deref(),
        })
        .expect("plain data serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_tagged_by_kind() {
        let m = Message::Withdraw(Withdraw {
            from: "desk".into(),
            task: TaskId(4),
            round: 2,
        });
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"withdraw","from":"desk","task":"T-4","round":2}"#
        );
        assert_eq!(serde_json::from_str::<Message>(&json).unwrap(), m);
    }

    #[test]
    fn ids_name_the_sender_the_task_and_the_round() {
        let w = Withdraw {
            from: "desk".into(),
            task: TaskId(4),
            round: 2,
        };
        assert_eq!(w.msg_id(), "desk.withdraw.T-4.2");
        assert_eq!(subject("cloud"), "hypernet.fed.cloud");
        assert_eq!(consumer("cloud"), "swarm-cloud");
    }
}
