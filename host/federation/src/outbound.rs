//! Publishing: the federation service follows the event log through a durable
//! subscription (`host:federation`), so what it must send was committed with the change
//! that calls for it. Each event that concerns another swarm becomes one message with a
//! stable id; a turn's messages are published together, and the events are acknowledged
//! only once JetStream has acknowledged every message — after a crash or a lost
//! connection they are published again, and the stream's de-duplication (or, past its
//! window, the receiver) drops the repeats.
//!
//! - `task.delegated` → [`Delegate`] to the peer.
//! - `task.cancelled` of a delegated task, and `task.ready` of one taken back
//!   (`recalled_from`) → [`Withdraw`] to the peer.
//! - any `task.*` of a task another swarm delegated here (`remote` in the event) that the
//!   origin needs (running, needs input, completed, failed, cancelled) → a signed
//!   [`Update`] to the origin.

use crate::keys::HostKey;
use crate::wire::{self, Delegate, Message, Update, Withdraw};
use async_nats::jetstream::{self, message::PublishMessage};
use hypernet_engine::subscription::Subscription;
use hypernet_model::tasks::{RemoteOrigin, TaskId, TaskStatus};
use hypernet_plugin_api::Event;
use hypernet_store::Store;
use hypernet_swarm::persist::TaskTables;
use serde_json::Value;
use std::time::Duration;

/// A message ready to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Where it goes.
    pub subject: String,
    /// Its stable id.
    pub id: String,
    /// The message.
    pub message: Message,
}

/// Turns events into messages.
pub struct Composer {
    /// This swarm's name.
    pub me: String,
    /// The store (the answer of a completed task is read from it).
    pub store: Store,
    /// The key answers are signed with.
    pub key: std::sync::Arc<HostKey>,
}

impl Composer {
    /// The message `event` calls for, if any.
    pub fn compose(&self, event: &Event) -> Option<Outgoing> {
        let p = &event.payload;
        let task: TaskId = serde_json::from_value(p.get("id")?.clone()).ok()?;
        if let Some(remote) = p.get("remote") {
            let remote: RemoteOrigin = serde_json::from_value(remote.clone()).ok()?;
            return self.update(event, task, remote);
        }
        let round = p.get("round").and_then(Value::as_u64).unwrap_or(0) as u32;
        let message = match event.kind.as_str() {
            "task.delegated" => Message::Delegate(self.delegate(p, task, round)?),
            "task.cancelled" | "task.ready" => {
                let peer = p
                    .get("delegated_to")
                    .or_else(|| p.get("recalled_from"))?
                    .as_str()?;
                return Some(outgoing(
                    peer,
                    Message::Withdraw(Withdraw {
                        from: self.me.clone(),
                        task,
                        round,
                    }),
                ));
            }
            _ => return None,
        };
        let to = p.get("swarm")?.as_str()?;
        Some(outgoing(to, message))
    }

    fn delegate(&self, p: &Value, task: TaskId, round: u32) -> Option<Delegate> {
        let spec = p.get("spec")?;
        Some(Delegate {
            from: self.me.clone(),
            task,
            round,
            title: spec.get("title")?.as_str()?.to_owned(),
            description: spec
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            priority: serde_json::from_value(spec.get("priority")?.clone()).ok()?,
            tags: serde_json::from_value(spec.get("tags")?.clone()).unwrap_or_default(),
            complexity: serde_json::from_value(spec.get("complexity")?.clone()).ok()?,
            max_attempts: spec
                .get("max_attempts")
                .and_then(Value::as_u64)
                .unwrap_or(1) as u32,
            model: p
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            tier: p.get("tier").and_then(Value::as_u64).unwrap_or(0) as u8,
        })
    }

    /// The report on a task run here for another swarm.
    fn update(&self, event: &Event, id: TaskId, remote: RemoteOrigin) -> Option<Outgoing> {
        let p = &event.payload;
        let status: TaskStatus = event.kind.strip_prefix("task.")?.parse().ok()?;
        let last = match status {
            TaskStatus::Running | TaskStatus::NeedsInput => false,
            TaskStatus::Completed | TaskStatus::Cancelled => true,
            TaskStatus::Failed => p.get("retry_at_ms").is_none_or(Value::is_null),
            _ => return None,
        };
        let mut update = Update {
            from: self.me.clone(),
            to: remote.swarm.clone(),
            task: remote.task,
            round: remote.round,
            remote_task: id,
            status,
            last,
            worker: p.get("worker").and_then(Value::as_str).map(str::to_owned),
            result: None,
            error: p.get("error").and_then(Value::as_str).map(str::to_owned),
            event: event.id,
            signature: None,
            signer: None,
        };
        if status == TaskStatus::Completed {
            match self.store.task(id) {
                Ok(Some(task)) => update.result = task.result,
                Ok(None) => tracing::error!(task = %id, "a completed task is not in the store"),
                Err(e) => tracing::error!(task = %id, error = %e, "cannot read a completed task"),
            }
        }
        self.key.sign(&mut update);
        Some(outgoing(&remote.swarm, Message::Update(update)))
    }
}

fn outgoing(to: &str, message: Message) -> Outgoing {
    let id = match &message {
        Message::Delegate(d) => d.msg_id(),
        Message::Withdraw(w) => w.msg_id(),
        Message::Update(u) => u.msg_id(),
    };
    Outgoing {
        subject: wire::subject(to),
        id,
        message,
    }
}

/// Publishes `batch`, all at once, and waits for JetStream to acknowledge each.
pub async fn publish(js: &jetstream::Context, batch: &[Outgoing]) -> Result<(), async_nats::Error> {
    let mut acks = Vec::with_capacity(batch.len());
    for out in batch {
        let payload = serde_json::to_vec(&out.message)?;
        let message = PublishMessage::build()
            .message_id(&out.id)
            .payload(payload.into());
        acks.push(js.send_publish(out.subject.clone(), message).await?);
    }
    let acks = acks.into_iter().map(std::future::IntoFuture::into_future);
    for ack in futures_util::future::join_all(acks).await {
        ack?;
    }
    Ok(())
}

/// Follows the event log for ever, publishing what concerns other swarms.
pub async fn run(mut events: Subscription, composer: Composer, js: jetstream::Context) {
    let mut backoff = Duration::from_millis(200);
    while let Some(batch) = events.next().await {
        let last = batch.last().map(|e| e.id).unwrap_or(0);
        let out: Vec<Outgoing> = batch.iter().filter_map(|e| composer.compose(e)).collect();
        loop {
            match publish(&js, &out).await {
                Ok(()) => {
                    backoff = Duration::from_millis(200);
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, messages = out.len(), retry_in = ?backoff, "cannot publish to the other swarms; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
        if !out.is_empty() {
            tracing::debug!(messages = out.len(), "published to the other swarms");
        }
        events.ack(last);
    }
}
