//! The bus at work: messages sent by `send_message`, taken unread into their recipient's
//! next prompt, listed by the API and the CLI.
//!
//! Every change is written with the events that announce it in one transaction
//! (`message.worker_sent`, `message.worker_read`, `message.worker_responded`), so an event
//! exists exactly when its change does. Writes are serialized by one lock; which workers
//! have unread messages is also kept in memory (rebuilt from the store at start), so
//! building a prompt for a worker with none touches no table.

use super::lookup::{Directory, Route};
use super::persist::{self, BusFilter, BusPage, BusTables};
use super::{BusError, MessageStatus, WorkerMessage, WorkerMessageId};
use crate::workers::WorkerConfig;
use hypernet_engine::Registry;
use hypernet_model::clock::now_ms;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// A message to send, as a worker wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The worker writing.
    pub from: String,
    /// The recipient as written (with `reply_to`, empty means the parent's sender).
    pub to: String,
    /// The text.
    pub body: String,
    /// The message this one replies to.
    pub reply_to: Option<WorkerMessageId>,
}

struct Inner {
    registry: Arc<Registry>,
    directory: Directory,
    /// Unread (delivered) message numbers per recipient, as configured.
    unread: Mutex<BTreeMap<String, BTreeSet<u64>>>,
    /// Held while a change is read, decided and written.
    writing: Mutex<()>,
}

/// The bus. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bus")
    }
}

fn sent_event(m: &WorkerMessage) -> (String, Value) {
    (
        "message.worker_sent".into(),
        json!({
            "id": m.id, "from": m.from, "to": m.to, "recipient": m.recipient,
            "thread": m.thread, "reply_to": m.reply_to, "status": m.status,
        }),
    )
}

impl Bus {
    /// The bus over `registry`'s store, delivering to `workers`; finds the unread messages
    /// kept from before.
    pub fn start(
        registry: Arc<Registry>,
        workers: &[WorkerConfig],
    ) -> hypernet_store::StoreResult<Bus> {
        let mut unread: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
        for m in registry
            .store()
            .worker_messages_in(MessageStatus::Delivered)?
        {
            if let Some(recipient) = m.recipient {
                unread.entry(recipient).or_default().insert(m.id.0);
            }
        }
        Ok(Bus {
            inner: Arc::new(Inner {
                registry,
                directory: Directory::new(workers),
                unread: Mutex::new(unread),
                writing: Mutex::default(),
            }),
        })
    }

    /// Who the bus delivers to.
    pub fn directory(&self) -> &Directory {
        &self.inner.directory
    }

    /// Where a message to `to` goes (a reply always goes on the bus).
    pub fn route(&self, to: &str, reply: bool) -> Route {
        match self.inner.directory.route(to) {
            Route::Person if reply => Route::Unknown,
            route => route,
        }
    }

    fn store(&self) -> &hypernet_store::Store {
        self.inner.registry.store()
    }

    /// Sends `out`: one message, or one per other worker for a broadcast. A reply joins
    /// its parent's thread and marks the parent responded; only the worker a message was
    /// delivered to may reply to it. Blocking (it writes to the store).
    pub fn send(&self, out: Outgoing) -> Result<Vec<WorkerMessage>, BusError> {
        if out.body.trim().is_empty() {
            return Err(BusError::Empty);
        }
        let _writing = self.inner.writing.lock().unwrap_or_else(|e| e.into_inner());
        let now = now_ms();
        let mut parent = match out.reply_to {
            Some(id) => Some(self.parent(id, &out.from, now)?),
            None => None,
        };
        let to = match (&parent, out.to.trim()) {
            (Some((p, _)), "") => p.from.clone(),
            (_, to) => to.to_owned(),
        };
        let recipients: Vec<Option<String>> = match self.route(&to, parent.is_some()) {
            Route::Broadcast => {
                let others: Vec<Option<String>> = self
                    .inner
                    .directory
                    .names()
                    .filter(|n| !n.eq_ignore_ascii_case(&out.from))
                    .map(|n| Some(n.to_owned()))
                    .collect();
                if others.is_empty() {
                    return Err(BusError::NobodyElse(to));
                }
                others
            }
            Route::Worker(name) => vec![Some(name)],
            Route::Unknown | Route::Person => vec![None],
        };
        let first = self.store().next_worker_message()?;
        let thread = parent
            .as_ref()
            .map(|(p, _)| p.thread)
            .unwrap_or(WorkerMessageId(first));
        let mut messages = Vec::with_capacity(recipients.len());
        for (n, recipient) in (first..).zip(recipients) {
            let mut m = WorkerMessage {
                id: WorkerMessageId(n),
                from: out.from.clone(),
                to: to.clone(),
                thread,
                reply_to: out.reply_to,
                body: out.body.clone(),
                status: MessageStatus::Draft,
                created_ms: now,
                updated_ms: now,
                recipient,
            };
            m.advance(MessageStatus::Sent, now)?;
            if m.recipient.is_some() {
                m.advance(MessageStatus::Delivered, now)?;
            }
            messages.push(m);
        }
        let mut events: Vec<(String, Value)> = messages.iter().map(sent_event).collect();
        if let Some((p, true)) = &parent {
            events.push((
                "message.worker_responded".into(),
                json!({ "id": p.id, "by": out.from, "reply": messages[0].id, "thread": p.thread }),
            ));
        }
        let parent = parent
            .take()
            .filter(|(_, changed)| *changed)
            .map(|(p, _)| p);
        self.inner
            .registry
            .commit("host", events, |txn| {
                for m in messages.iter().chain(&parent) {
                    persist::put(txn, m)?;
                }
                Ok(())
            })
            .map_err(BusError::from)?;
        let mut unread = self.inner.unread.lock().unwrap_or_else(|e| e.into_inner());
        for m in &messages {
            if let (MessageStatus::Delivered, Some(r)) = (m.status, &m.recipient) {
                unread.entry(r.clone()).or_default().insert(m.id.0);
            }
        }
        if let Some(p) = &parent {
            // Replying to a message it had not read yet (it can only have seen it here).
            if let Some(r) = &p.recipient
                && let Some(ids) = unread.get_mut(r)
            {
                ids.remove(&p.id.0);
            }
        }
        for m in &messages {
            tracing::info!(message = %m.id, from = %m.from, to = %m.to, status = %m.status, thread = %m.thread, "worker message sent");
        }
        Ok(messages)
    }

    /// The message `id` that `worker` replies to, marked responded (and whether that
    /// changed it).
    fn parent(
        &self,
        id: WorkerMessageId,
        worker: &str,
        now: u64,
    ) -> Result<(WorkerMessage, bool), BusError> {
        let mut parent = self.get(id)?.ok_or(BusError::NotFound(id))?;
        if !parent
            .recipient
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(worker))
        {
            return Err(BusError::NotYours {
                id,
                worker: worker.to_owned(),
            });
        }
        let changed = parent.advance(MessageStatus::Responded, now)?;
        Ok((parent, changed))
    }

    /// Whether `worker` has unread messages (no store access).
    pub fn has_unread(&self, worker: &str) -> bool {
        let unread = self.inner.unread.lock().unwrap_or_else(|e| e.into_inner());
        unread.get(worker).is_some_and(|ids| !ids.is_empty())
    }

    /// The `limit` oldest unread messages of `worker`, now marked read, and how many stay
    /// unread. Blocking when there are any (it writes to the store).
    pub fn take_unread(
        &self,
        worker: &str,
        limit: usize,
    ) -> Result<(Vec<WorkerMessage>, usize), BusError> {
        if !self.has_unread(worker) {
            return Ok((Vec::new(), 0));
        }
        let _writing = self.inner.writing.lock().unwrap_or_else(|e| e.into_inner());
        let ids: Vec<u64> = {
            let unread = self.inner.unread.lock().unwrap_or_else(|e| e.into_inner());
            unread
                .get(worker)
                .map(|ids| ids.iter().take(limit).copied().collect())
                .unwrap_or_default()
        };
        let now = now_ms();
        let mut messages = Vec::with_capacity(ids.len());
        for &n in &ids {
            let id = WorkerMessageId(n);
            let mut m = self.get(id)?.ok_or(BusError::NotFound(id))?;
            m.advance(MessageStatus::Read, now)?;
            messages.push(m);
        }
        let events = messages
            .iter()
            .map(|m| {
                (
                    "message.worker_read".to_owned(),
                    json!({ "id": m.id, "from": m.from, "recipient": worker, "thread": m.thread }),
                )
            })
            .collect();
        self.inner
            .registry
            .commit("host", events, |txn| {
                for m in &messages {
                    persist::put(txn, m)?;
                }
                Ok(())
            })
            .map_err(BusError::from)?;
        let mut unread = self.inner.unread.lock().unwrap_or_else(|e| e.into_inner());
        let left = unread.get_mut(worker).map_or(0, |set| {
            for n in &ids {
                set.remove(n);
            }
            set.len()
        });
        Ok((messages, left))
    }

    /// One message.
    pub fn get(&self, id: WorkerMessageId) -> Result<Option<WorkerMessage>, BusError> {
        Ok(self.store().worker_message(id)?)
    }

    /// Messages `filter` keeps, newest first.
    pub fn list(
        &self,
        filter: &BusFilter,
        offset: usize,
        limit: usize,
    ) -> Result<BusPage, BusError> {
        Ok(self.store().worker_messages(filter, offset, limit)?)
    }
}
