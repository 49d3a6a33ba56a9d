//! Messages from the swarm to people.
//!
//! A message is stored before anything is sent. With the `herald` plugin loaded, it is
//! filed with it (`submit_outbound`) and leaves only once the herald announces it approved
//! (`herald.outbound_approved`); a held message is never sent. Then each of its deliveries
//! — one per channel it goes to (see `route.rs`) — is made by the [`courier`] through the
//! channel plugin, retried with backoff on transient errors, and marked sent or failed with
//! the channel's answer. The channel `log` is the host log, sent at once.
//!
//! What the swarm tells people on its own ([`notify`]): a worker's question (to the person
//! who filed the task), a tool call waiting for approval (with buttons), a task that failed
//! for good — each to the people whose `receives` has it.

pub mod courier;
pub mod notify;
pub mod record;
mod route;
#[cfg(test)]
mod tests;

pub use record::{Delivery, Message, NewMessage};

use crate::channels::ChannelsConfig;
use crate::people::People;
use hypernet_engine::Registry;
use hypernet_engine::registry::PluginState;
use hypernet_model::clock::now_ms;
use record::{HELD, LOG, QUEUED, SENT};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// The store namespace (no plugin can be named like this).
const NAMESPACE: &str = "host:outbox";

/// The outbox. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    registry: Arc<Registry>,
    people: People,
    config: ChannelsConfig,
    /// Serializes every read-modify-write of a message record.
    lock: Arc<Mutex<()>>,
    /// Ids of messages with a delivery still queued.
    pending: Arc<Mutex<BTreeSet<String>>>,
    /// Wakes the courier.
    wake: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Outbox")
    }
}

/// Why a message could not be filed or read.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The herald refused to review it or failed.
    #[error("filing the message with the herald: {0}")]
    Herald(hypernet_plugin_api::PluginError),
    /// The recipient or the channel cannot be used.
    #[error("{0}")]
    Route(String),
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
    /// The outbox: it restores the messages still to deliver, starts the courier and
    /// listens for what people must be told. Both tasks hold the registry weakly: once the
    /// host drops it (and with it the store), they end.
    pub fn start(
        registry: Arc<Registry>,
        people: People,
        config: ChannelsConfig,
        executor: hypernet_llm::HttpExecutor,
    ) -> Outbox {
        let outbox = Outbox {
            registry,
            people,
            config,
            lock: Arc::default(),
            pending: Arc::default(),
            wake: Arc::default(),
        };
        match outbox.all() {
            Ok(all) => {
                let mut pending = outbox.pending.lock().expect("pending lock");
                pending.extend(all.into_iter().filter(|m| m.status == QUEUED).map(|m| m.id));
            }
            Err(e) => tracing::error!(error = %e, "cannot read the outbox"),
        }
        courier::spawn(outbox.detached(), executor);
        notify::spawn(outbox.detached());
        outbox
    }

    /// The outbox's parts without the registry, for a background task to upgrade.
    fn detached(&self) -> Detached {
        Detached {
            registry: Arc::downgrade(&self.registry),
            people: self.people.clone(),
            config: self.config.clone(),
            lock: self.lock.clone(),
            pending: self.pending.clone(),
            wake: self.wake.clone(),
        }
    }

    /// The outbox without a hold on the host, for a background task that must end with it.
    pub fn downgrade(&self) -> WeakOutbox {
        WeakOutbox(self.detached())
    }

    /// The people it writes to.
    pub fn people(&self) -> &People {
        &self.people
    }

    fn herald_loaded(&self) -> bool {
        self.registry
            .status("herald")
            .is_ok_and(|s| s.state == PluginState::Loaded)
    }

    /// Files a message: stored, then delivered now or held for the herald. A reply to a
    /// person's command does not wait for the herald. A message whose `origin` was filed
    /// before is not filed again: the earlier one is returned.
    pub async fn file(&self, new: NewMessage) -> Result<Message> {
        if let Some(origin) = new.origin.clone() {
            let this = self.clone();
            if let Some(earlier) =
                tokio::task::spawn_blocking(move || this.by_origin(&origin)).await??
            {
                return Ok(earlier);
            }
        }
        let deliveries = route::deliveries(&self.people, &new).map_err(OutboxError::Route)?;
        let review = if self.herald_loaded() && new.reply.is_none() {
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
        let message =
            tokio::task::spawn_blocking(move || this.record(new, deliveries, review)).await??;
        if message.status == QUEUED {
            self.wake.notify_one();
        }
        Ok(message)
    }

    /// The message filed with this origin, if any.
    fn by_origin(&self, origin: &str) -> Result<Option<Message>> {
        let store = self.registry.store();
        match read::<String>(store, &format!("origin/{origin}"))? {
            Some(id) => self.get(&id),
            None => Ok(None),
        }
    }

    /// Stores a new message — with its id counter, its thread links and its origin — in one
    /// commit.
    fn record(
        &self,
        new: NewMessage,
        deliveries: Vec<Delivery>,
        review: Option<Value>,
    ) -> Result<Message> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(earlier) = new
            .origin
            .as_deref()
            .map(|o| self.by_origin(o))
            .transpose()?
            .flatten()
        {
            return Ok(earlier);
        }
        let store = self.registry.store();
        let next: u64 = read(store, "next_id")?.unwrap_or(1);
        let approved = review
            .as_ref()
            .is_none_or(|r| matches!(r["state"].as_str(), Some("approved" | "released")));
        let id = format!("M-{next:06}");
        let subject = new.subject.clone().unwrap_or_else(|| {
            new.body
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(80)
                .collect()
        });
        let mut message = Message {
            id,
            to: new.to,
            channel: new.channel,
            body: new.body,
            sender: new.sender,
            tags: new.tags,
            status: HELD.into(),
            review: review.and_then(|r| r["id"].as_str().map(str::to_owned)),
            created_ms: now_ms(),
            sent_ms: None,
            subject,
            thread: new.thread,
            buttons: new.buttons,
            reply: new.reply,
            deliveries,
        };
        let mut writes = vec![("next_id".to_owned(), encode("next_id", &(next + 1))?)];
        writes.extend(self.thread(&mut message)?);
        if let Some(origin) = &new.origin {
            let key = format!("origin/{origin}");
            writes.push((key.clone(), encode(&key, &message.id)?));
        }
        // An approval may have come between filing with the herald and getting here.
        let approved = approved
            || message
                .review
                .as_deref()
                .is_some_and(|id| self.approved_by_now(id));
        if approved {
            self.release_one(&mut message);
        } else {
            tracing::info!(message = %message.id, review = ?message.review, "message held for the herald");
        }
        let key = format!("msg/{}", message.id);
        writes.push((key.clone(), encode(&key, &message)?));
        store.kv_put_all(NAMESPACE, &writes)?;
        Ok(message)
    }

    /// Links each delivery of a threaded message to the thread's previous message on its
    /// channel; returns the writes that make this message the thread's latest.
    fn thread(&self, message: &mut Message) -> Result<Vec<(String, Vec<u8>)>> {
        let Some(thread) = message.thread.clone() else {
            return Ok(Vec::new());
        };
        let store = self.registry.store();
        let mut writes = Vec::new();
        for d in &mut message.deliveries {
            let key = format!("thread/{}/{thread}", d.channel);
            d.in_reply_to = read(store, &key)?;
            writes.push((key.clone(), encode(&key, &message.id)?));
        }
        Ok(writes)
    }

    fn approved_by_now(&self, review: &str) -> bool {
        self.registry
            .query_blocking("herald", "review", json!({ "id": review }))
            .is_ok_and(|r| matches!(r["state"].as_str(), Some("approved" | "released")))
    }

    /// Lets an approved message go: its log deliveries are made at once, the others are
    /// queued for the courier.
    fn release_one(&self, message: &mut Message) {
        message.status = QUEUED.into();
        let now = now_ms();
        for d in message.deliveries.iter_mut().filter(|d| d.channel == LOG) {
            d.status = SENT.into();
            d.attempts = 1;
            d.done_ms = Some(now);
            tracing::info!(message = %message.id, to = %d.address, channel = LOG, sender = %message.sender, body = %message.body, "message sent");
            self.registry.announce(
                "message.sent",
                json!({ "id": message.id, "to": message.to, "channel": LOG, "sender": message.sender }),
            );
        }
        message.settle(now);
        if message.status == QUEUED {
            self.pending
                .lock()
                .expect("pending lock")
                .insert(message.id.clone());
        }
    }

    /// Sends the held message the herald's review `review` approved, if any.
    fn release(&self, review: &str) -> Result<()> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        for mut message in self.all()? {
            if message.status == HELD && message.review.as_deref() == Some(review) {
                self.release_one(&mut message);
                self.save(&message)?;
            }
        }
        self.wake.notify_one();
        Ok(())
    }

    fn save(&self, message: &Message) -> Result<()> {
        let key = format!("msg/{}", message.id);
        self.registry
            .store()
            .kv_put(NAMESPACE, &key, &encode(&key, message)?)?;
        Ok(())
    }

    /// One message.
    pub fn get(&self, id: &str) -> Result<Option<Message>> {
        read(self.registry.store(), &format!("msg/{id}"))
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

    /// Runs `change` on message `id` under the record lock and saves it.
    fn update<T>(&self, id: &str, change: impl FnOnce(&mut Message) -> T) -> Result<Option<T>> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mut message) = self.get(id)? else {
            return Ok(None);
        };
        let out = change(&mut message);
        self.save(&message)?;
        if message.status != QUEUED {
            self.pending.lock().expect("pending lock").remove(id);
        }
        Ok(Some(out))
    }
}

/// An outbox held weakly ([`Outbox::downgrade`]): it gives the outbox back while the host
/// runs.
#[derive(Clone)]
pub struct WeakOutbox(Detached);

impl WeakOutbox {
    /// The outbox, while the host runs.
    pub fn upgrade(&self) -> Option<Outbox> {
        self.0.upgrade()
    }
}

/// An outbox held by a background task: the registry weakly.
#[derive(Clone)]
struct Detached {
    registry: std::sync::Weak<Registry>,
    people: People,
    config: ChannelsConfig,
    lock: Arc<Mutex<()>>,
    pending: Arc<Mutex<BTreeSet<String>>>,
    wake: Arc<tokio::sync::Notify>,
}

impl Detached {
    /// The outbox, while the host runs.
    fn upgrade(&self) -> Option<Outbox> {
        Some(Outbox {
            registry: self.registry.upgrade()?,
            people: self.people.clone(),
            config: self.config.clone(),
            lock: self.lock.clone(),
            pending: self.pending.clone(),
            wake: self.wake.clone(),
        })
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
