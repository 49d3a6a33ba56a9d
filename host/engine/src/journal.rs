//! The durable event log: every event plugins receive is written to the redb file in the
//! same transaction as the change it announces, under an id that never repeats (it goes on
//! across restarts). Subscribers read it from their cursor (see [`crate::delivery`]); the
//! newest events (up to [`TAIL_BYTES`] of their JSON) are also kept in memory so that a
//! subscriber keeping up never reads the file.
//!
//! Ids are handed out in commit order — appends are serialized — so a reader that has seen
//! id `n` has seen every logged event below it. Events only watchers see (streamed model
//! output) take ids from the same sequence without being logged, so the log has gaps.

use hypernet_model::clock::now_ms;
use hypernet_plugin_api::Event;
use hypernet_store::{Store, StoreResult};
use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Logged events: id → (source, the event's JSON as plugins receive it).
const EVENTS: TableDefinition<u64, (&str, &str)> = TableDefinition::new("events");
/// `next`: the next id to hand out, so ids go on after a restart even when the log was
/// trimmed empty.
const META: TableDefinition<&str, u64> = TableDefinition::new("event_meta");

/// How many bytes of the newest logged events (their JSON) are kept in memory for
/// subscribers; older ones are read from the file.
pub const TAIL_BYTES: usize = 256 << 10;

/// One logged event as subscribers read it.
#[derive(Debug, Clone)]
pub struct Logged {
    /// Its id.
    pub id: u64,
    /// `host` or the plugin that published it (a plugin is not sent its own events).
    pub source: Arc<str>,
    /// The event as JSON.
    pub json: Arc<str>,
}

/// An event to log: (kind, payload).
pub type Pending = (String, Value);

/// An event the log has just stamped and written.
#[derive(Debug, Clone)]
pub struct Stamped {
    /// The event, with its id and time.
    pub event: Event,
    /// Its JSON as subscribers and watchers receive it (shared with the in-memory tail).
    pub json: Arc<str>,
}

/// The newest logged events, in id order, at most [`TAIL_BYTES`] of JSON.
#[derive(Debug, Default)]
struct Tail {
    events: VecDeque<Logged>,
    /// The length of their JSON, summed.
    bytes: usize,
    /// Every logged event with an id up to this one is on file only.
    floor: u64,
}

impl Tail {
    /// Appends `event`, dropping the oldest ones while the bound is exceeded.
    fn push(&mut self, event: Logged) {
        self.bytes += event.json.len();
        self.events.push_back(event);
        while self.bytes > TAIL_BYTES
            && let Some(old) = self.events.pop_front()
        {
            self.bytes -= old.json.len();
            self.floor = old.id;
        }
    }
}

/// The log, its id sequence and its in-memory tail. Shared as `Arc<Journal>`.
#[derive(Debug)]
pub struct Journal {
    store: Store,
    /// The next id, shared with the bus for events only watchers see.
    next: Arc<AtomicU64>,
    /// The newest logged id.
    head: AtomicU64,
    /// Serializes appends, so ids are committed, and reach the tail, in order.
    append: Mutex<()>,
    tail: RwLock<Tail>,
}

impl Journal {
    /// Opens the log in `store`, creating its tables on a fresh file.
    pub fn open(store: Store) -> StoreResult<Journal> {
        let (next, head) = store.write(|txn| {
            let events = txn.open_table(EVENTS)?;
            let meta = txn.open_table(META)?;
            let head = events.last()?.map_or(0, |(k, _)| k.value());
            let next = meta.get("next")?.map_or(1, |v| v.value());
            Ok((next.max(head + 1), head))
        })?;
        Ok(Journal {
            store,
            next: Arc::new(AtomicU64::new(next)),
            head: AtomicU64::new(head),
            append: Mutex::new(()),
            tail: RwLock::new(Tail {
                events: VecDeque::new(),
                bytes: 0,
                floor: head,
            }),
        })
    }

    /// The id sequence (the bus stamps watcher-only events from it).
    pub fn sequence(&self) -> Arc<AtomicU64> {
        self.next.clone()
    }

    /// The newest logged id (0 when nothing was ever logged).
    pub fn head(&self) -> u64 {
        self.head.load(Ordering::SeqCst)
    }

    /// The store the log lives in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs `write` and logs `events` (published by `source`) in one transaction; returns
    /// what `write` returned and the stamped events, in id order. Durable when it returns,
    /// unless this thread's writes are deferred ([`hypernet_store::deferred`]).
    pub fn commit<T>(
        &self,
        source: &str,
        events: Vec<Pending>,
        write: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error>,
    ) -> StoreResult<(T, Vec<Stamped>)> {
        if events.is_empty() {
            return Ok((self.store.write(write)?, Vec::new()));
        }
        let _append = self.append.lock().unwrap_or_else(|e| e.into_inner());
        let first = self.next.fetch_add(events.len() as u64, Ordering::SeqCst);
        let at_ms = now_ms();
        let stamped: Vec<Event> = events
            .into_iter()
            .zip(first..)
            .map(|((kind, payload), id)| {
                let mut event = Event::new(kind, source, payload);
                event.id = id;
                event.at_ms = at_ms;
                event
            })
            .collect();
        let source: Arc<str> = source.into();
        let logged: Vec<Logged> = stamped
            .iter()
            .map(|e| Logged {
                id: e.id,
                source: source.clone(),
                json: serde_json::to_string(e).expect("events serialize").into(),
            })
            .collect();
        let out = self.store.write(|txn| {
            let out = write(txn)?;
            let mut table = txn.open_table(EVENTS)?;
            for e in &logged {
                table.insert(e.id, (&*e.source, &*e.json))?;
            }
            txn.open_table(META)?
                .insert("next", self.next.load(Ordering::SeqCst))?;
            Ok(out)
        })?;
        let last = logged.last().map_or(0, |e| e.id);
        let stamped = stamped
            .into_iter()
            .zip(&logged)
            .map(|(event, logged)| Stamped {
                event,
                json: logged.json.clone(),
            })
            .collect();
        {
            let mut tail = self.tail.write().expect("journal tail lock");
            for e in logged {
                tail.push(e);
            }
        }
        self.head.store(last, Ordering::SeqCst);
        Ok((out, stamped))
    }

    /// Up to `limit` logged events with an id above `after`, oldest first: from memory
    /// when they are still there, else from the file.
    pub fn read_after(&self, after: u64, limit: usize) -> StoreResult<Vec<Logged>> {
        {
            let tail = self.tail.read().expect("journal tail lock");
            if after >= tail.floor {
                let start = tail.events.partition_point(|e| e.id <= after);
                return Ok(tail.events.range(start..).take(limit).cloned().collect());
            }
        }
        self.store.read(|txn| {
            let table = txn.open_table(EVENTS)?;
            let mut out = Vec::new();
            for entry in table.range(after + 1..)?.take(limit) {
                let (id, value) = entry?;
                let (source, json) = value.value();
                out.push(Logged {
                    id: id.value(),
                    source: source.into(),
                    json: json.into(),
                });
            }
            Ok(out)
        })
    }

    /// Removes the logged events with an id up to `upto`, inside a write transaction.
    pub fn trim_in(txn: &redb::WriteTransaction, upto: u64) -> Result<(), redb::Error> {
        txn.open_table(EVENTS)?.retain_in(..=upto, |_, _| false)?;
        Ok(())
    }

    /// The id of the oldest event on file.
    pub fn oldest(&self) -> StoreResult<Option<u64>> {
        self.store
            .read(|txn| Ok(txn.open_table(EVENTS)?.first()?.map(|(k, _)| k.value())))
    }

    /// How many events on file have an id above `after` and up to `upto`.
    pub fn count_between(&self, after: u64, upto: u64) -> StoreResult<u64> {
        if upto <= after {
            return Ok(0);
        }
        self.store.read(|txn| {
            let table = txn.open_table(EVENTS)?;
            let mut n = 0;
            for entry in table.range(after + 1..=upto)? {
                entry?;
                n += 1;
            }
            Ok(n)
        })
    }

    /// How many events the file holds.
    pub fn on_file(&self) -> StoreResult<u64> {
        self.store.read(|txn| Ok(txn.open_table(EVENTS)?.len()?))
    }
}

#[cfg(test)]
mod tests;
