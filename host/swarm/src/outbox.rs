//! Messages from the swarm to people. With the `herald` plugin loaded, every message is
//! filed with it (`submit_outbound`) and leaves only once the herald announces it approved
//! (`herald.outbound_approved`); a held message is never sent. Without the herald, messages
//! go out at once. Messages are kept in the store (a restart loses none; a held one is
//! still held afterwards). The one delivery channel today is the host log; every sent
//! message is also announced as `message.sent`.
//!
//! When a worker asks a question about its task (the task turns `needs_input`), the outbox
//! tells the person who filed it: a message from the worker, tagged `clarification`, with
//! the question and how to answer it.

use hypernet_engine::Registry;
use hypernet_engine::registry::PluginState;
use hypernet_model::clock::now_ms;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// The store namespace (no plugin can be named like this).
const NAMESPACE: &str = "host:outbox";

/// A message to send, as filed.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// Recipient.
    pub to: String,
    /// Delivery channel (default `log`).
    #[serde(default = "default_channel")]
    pub channel: String,
    /// Text.
    pub body: String,
    /// Who sends it (default `host`).
    #[serde(default = "default_sender")]
    pub sender: String,
    /// Tags (the herald's auto-approval rules may use them).
    #[serde(default)]
    pub tags: Vec<String>,
}

fn default_channel() -> String {
    "log".into()
}

fn default_sender() -> String {
    "host".into()
}

/// A message and its fate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    /// `M-000001`, ...
    pub id: String,
    /// Recipient.
    pub to: String,
    /// Delivery channel.
    pub channel: String,
    /// Text.
    pub body: String,
    /// Sender.
    pub sender: String,
    /// Tags.
    pub tags: Vec<String>,
    /// `held` (waiting for the herald) or `sent`.
    pub status: String,
    /// The herald's review id, when it reviewed the message.
    pub review: Option<String>,
    /// Filed at.
    pub created_ms: u64,
    /// Sent at.
    pub sent_ms: Option<u64>,
}

/// The outbox. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    registry: Arc<Registry>,
    /// Serializes filing and delivery so a message is sent at most once.
    lock: Arc<Mutex<()>>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Outbox")
    }
}

impl Outbox {
    /// The outbox; it starts listening for the herald's approvals. The listener holds the
    /// registry weakly: once the host drops it (and with it the store), the listener ends.
    pub fn start(registry: Arc<Registry>) -> Outbox {
        let outbox = Outbox {
            registry: registry.clone(),
            lock: Arc::default(),
        };
        let mut events = registry.subscribe();
        let (weak, lock) = (Arc::downgrade(&registry), outbox.lock.clone());
        tokio::spawn(async move {
            loop {
                let event = events.recv().await;
                let Some(registry) = weak.upgrade() else {
                    return;
                };
                let listener = Outbox {
                    registry,
                    lock: lock.clone(),
                };
                match event {
                    Ok(event) if event.kind == "task.needs_input" => {
                        let outbox = listener.clone();
                        tokio::spawn(async move {
                            let question = question_message(&event.payload);
                            if let Err(e) = outbox.file(question).await {
                                tracing::error!(error = %e, "cannot tell anyone a task needs input");
                            }
                        });
                    }
                    Ok(event) if event.kind == "herald.outbound_approved" => {
                        let review = event.payload["id"].as_str().unwrap_or_default().to_owned();
                        let outbox = listener.clone();
                        let sent =
                            tokio::task::spawn_blocking(move || outbox.release(&review)).await;
                        if let Ok(Err(e)) = sent {
                            tracing::error!(error = %e, "cannot send an approved message");
                        }
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "outbox fell behind the event stream");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        outbox
    }
}

/// The message that tells a person a task waits on their answer (from a `task.needs_input`
/// event's payload).
fn question_message(payload: &Value) -> NewMessage {
    let text = |key: &str| payload[key].as_str().unwrap_or_default().to_owned();
    let (id, worker) = (text("id"), text("worker"));
    NewMessage {
        to: Some(text("filed_by"))
            .filter(|who| !who.is_empty())
            .unwrap_or_else(|| "person".into()),
        channel: default_channel(),
        body: format!(
            "{id} \"{}\" needs your input. {worker} asks: {}\nAnswer with: hypernet task answer {id} \"<your answer>\"",
            text("title"),
            text("question"),
        ),
        sender: if worker.is_empty() {
            default_sender()
        } else {
            worker
        },
        tags: vec!["clarification".into()],
    }
}

/// Why a message could not be filed or read.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The herald refused to review it or failed.
    #[error("filing the message with the herald: {0}")]
    Herald(hypernet_plugin_api::PluginError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] hypernet_store::StoreError),
    /// A stored record does not decode (or a message does not encode).
    #[error("outbox record `{key}`: {source}")]
    Record {
        /// The record's key.
        key: String,
        /// Why.
        source: serde_json::Error,
    },
    /// The blocking task that writes the message stopped.
    #[error("the outbox task stopped: {0}")]
    Stopped(#[from] tokio::task::JoinError),
}

type Result<T, E = OutboxError> = std::result::Result<T, E>;

fn encode<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|source| OutboxError::Record {
        key: key.to_owned(),
        source,
    })
}

impl Outbox {
    fn herald_loaded(&self) -> bool {
        self.registry
            .status("herald")
            .is_ok_and(|s| s.state == PluginState::Loaded)
    }

    /// Files a message: sent now, or held for the herald.
    pub async fn file(&self, new: NewMessage) -> Result<Message> {
        let review = if self.herald_loaded() {
            let args = json!({
                "to": new.to, "channel": new.channel, "body": new.body,
                "sender": new.sender, "tags": new.tags,
            });
            let review = self
                .registry
                .query("herald", "submit_outbound", args)
                .await
                .map_err(OutboxError::Herald)?;
            Some(review)
        } else {
            None
        };
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.record(new, review)).await?
    }

    fn record(&self, new: NewMessage, review: Option<Value>) -> Result<Message> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let store = self.registry.store();
        let next: u64 = read(store, "next_id")?.unwrap_or(1);
        store.kv_put(NAMESPACE, "next_id", &encode("next_id", &(next + 1))?)?;
        let approved = review
            .as_ref()
            .is_none_or(|r| matches!(r["state"].as_str(), Some("approved" | "released")));
        let mut message = Message {
            id: format!("M-{next:06}"),
            to: new.to,
            channel: new.channel,
            body: new.body,
            sender: new.sender,
            tags: new.tags,
            status: "held".into(),
            review: review.and_then(|r| r["id"].as_str().map(str::to_owned)),
            created_ms: now_ms(),
            sent_ms: None,
        };
        // An approval may have come between filing with the herald and getting here.
        let approved = approved
            || message
                .review
                .as_deref()
                .is_some_and(|id| self.approved_by_now(id));
        if approved {
            self.deliver(&mut message);
        } else {
            tracing::info!(message = %message.id, review = ?message.review, "message held for the herald");
        }
        self.save(&message)?;
        Ok(message)
    }

    fn approved_by_now(&self, review: &str) -> bool {
        self.registry
            .query_blocking("herald", "review", json!({ "id": review }))
            .is_ok_and(|r| matches!(r["state"].as_str(), Some("approved" | "released")))
    }

    /// Sends the held message the herald's review `review` approved, if any.
    fn release(&self, review: &str) -> Result<()> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        for mut message in self.all()? {
            if message.status == "held" && message.review.as_deref() == Some(review) {
                self.deliver(&mut message);
                self.save(&message)?;
            }
        }
        Ok(())
    }

    fn deliver(&self, message: &mut Message) {
        message.status = "sent".into();
        message.sent_ms = Some(now_ms());
        tracing::info!(message = %message.id, to = %message.to, channel = %message.channel, sender = %message.sender, body = %message.body, "message sent");
        self.registry.announce(
            "message.sent",
            json!({ "id": message.id, "to": message.to, "channel": message.channel, "sender": message.sender }),
        );
    }

    fn save(&self, message: &Message) -> Result<()> {
        let key = format!("msg/{}", message.id);
        self.registry
            .store()
            .kv_put(NAMESPACE, &key, &encode(&key, message)?)?;
        Ok(())
    }

    /// Every message, oldest first.
    pub fn all(&self) -> Result<Vec<Message>> {
        let store = self.registry.store();
        let mut out = Vec::new();
        for key in store.kv_list(NAMESPACE, "msg/")? {
            if let Some(m) = read::<Message>(store, &key)? {
                out.push(m);
            }
        }
        Ok(out)
    }
}

fn read<T: serde::de::DeserializeOwned>(
    store: &hypernet_store::Store,
    key: &str,
) -> Result<Option<T>> {
    match store.kv_get(NAMESPACE, key)? {
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes).map_err(|source| {
            OutboxError::Record {
                key: key.to_owned(),
                source,
            }
        })?)),
        None => Ok(None),
    }
}
