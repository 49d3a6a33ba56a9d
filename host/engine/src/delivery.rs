//! Delivery of the event log to subscribers, at least once. Each subscribing service (by
//! address: `plugin`, or `plugin:service` when a plugin has several) has a cursor: the id of
//! the last event it handled. Its actor reads the log from the cursor and advances it after
//! each handled event; a writer thread commits the cursors durably a few times a second,
//! which also makes durable what the handlers wrote meanwhile (their writes are deferred,
//! see [`hypernet_store::deferred`]). A crash therefore loses at most handled-but-not-yet-
//! committed work, and those events are delivered again after the restart.
//!
//! A service's cursor is created when it first starts, at the newest event; from then on it
//! receives every event, including those logged while it was disabled, failed or the host
//! was down. The log is trimmed below the slowest cursor. A service that is not running
//! holds the log back by at most [`DEFAULT_RETENTION`] events: beyond that its cursor is
//! moved up and the events it skips are counted as dropped (shown by `hypernet plugins
//! list`).

use crate::journal::Journal;
use hypernet_store::StoreResult;
use redb::{ReadableTable, TableDefinition};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Cursors: service address → (id of the last event handled, events dropped in all).
const CURSORS: TableDefinition<&str, (u64, u64)> = TableDefinition::new("event_cursors");

/// How many events a service that is not running may hold back before it starts losing
/// them.
pub const DEFAULT_RETENTION: u64 = 100_000;

/// One subscriber's position in the log.
#[derive(Debug)]
pub struct Feed {
    plugin: Arc<str>,
    acked: AtomicU64,
    dropped: AtomicU64,
    /// How many running services read this feed (one, or two while a plugin is replaced).
    readers: AtomicUsize,
    /// Whether a wake-up is on its way to the service, not yet taken (see [`Feed::wake`]).
    waking: AtomicBool,
}

impl Feed {
    fn new(plugin: &str, acked: u64, dropped: u64) -> Feed {
        Feed {
            plugin: plugin.into(),
            acked: AtomicU64::new(acked),
            dropped: AtomicU64::new(dropped),
            readers: AtomicUsize::new(0),
            waking: AtomicBool::new(false),
        }
    }

    /// The plugin it belongs to (its own events are skipped).
    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    /// The id of the last event handled.
    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::SeqCst)
    }

    /// Records that every event up to `id` was handled.
    pub fn ack(&self, id: u64) {
        self.acked.fetch_max(id, Ordering::SeqCst);
    }

    /// Events skipped because the service stayed away too long.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::SeqCst)
    }

    /// A running service starts reading the feed (a wake-up sent to an earlier instance
    /// is not waited for).
    pub fn attach(&self) {
        self.waking.store(false, Ordering::SeqCst);
        self.readers.fetch_add(1, Ordering::SeqCst);
    }

    /// A service that read the feed stops.
    pub fn detach(&self) {
        let _ = self
            .readers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }

    /// Whether a running service reads the feed.
    pub fn is_live(&self) -> bool {
        self.readers.load(Ordering::SeqCst) > 0
    }

    /// True when the caller must send the service a wake-up: none is on its way already.
    /// Call it after the events are logged (the service, once woken, reads up to the head).
    pub fn wake(&self) -> bool {
        !self.waking.swap(true, Ordering::SeqCst)
    }

    /// Called by the service when it takes a wake-up from its queue, and only then: later
    /// events need a new one. (Cleared anywhere else, the flag could be set again by a
    /// publisher whose wake-up the service takes without clearing it, and then stay set
    /// with nothing in the queue: no publisher would wake the service again.)
    pub fn woken(&self) {
        self.waking.store(false, Ordering::SeqCst);
    }
}

/// What `plugins list` shows of a service's delivery.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// The service's address.
    pub address: String,
    /// The id of the last event it handled.
    pub cursor: u64,
    /// Logged events it has not handled yet.
    pub behind: u64,
    /// Events it never received because it stayed away too long.
    pub dropped: u64,
}

/// Every subscriber's feed and the cursors on file.
#[derive(Debug)]
pub struct Deliveries {
    journal: Arc<Journal>,
    feeds: Mutex<BTreeMap<String, Arc<Feed>>>,
    /// The (cursor, dropped) pairs last committed, by address.
    written: Mutex<BTreeMap<String, (u64, u64)>>,
    retention: u64,
}

impl Deliveries {
    /// Loads the cursors on file, forgetting those of plugins not in `plugins` (removed
    /// from the manifest: they must not hold the log back).
    pub fn open(
        journal: Arc<Journal>,
        plugins: &BTreeSet<String>,
        retention: u64,
    ) -> StoreResult<Deliveries> {
        let rows = journal.store().write(|txn| {
            let mut table = txn.open_table(CURSORS)?;
            table.retain(|address, _| plugins.contains(plugin_of(address)))?;
            let mut rows = BTreeMap::new();
            for entry in table.iter()? {
                let (k, v) = entry?;
                rows.insert(k.value().to_owned(), v.value());
            }
            Ok(rows)
        })?;
        let feeds = rows
            .iter()
            .map(|(address, &(acked, dropped))| {
                let feed = Feed::new(plugin_of(address), acked, dropped);
                (address.clone(), Arc::new(feed))
            })
            .collect();
        Ok(Deliveries {
            journal,
            feeds: Mutex::new(feeds),
            written: Mutex::new(rows),
            retention: retention.max(1),
        })
    }

    /// The feed of the service at `address`: its cursor on file, or — for a service that
    /// never ran — a new one at the newest event.
    pub fn feed(&self, address: &str) -> Arc<Feed> {
        let mut feeds = self.feeds.lock().expect("feeds lock");
        feeds
            .entry(address.to_owned())
            .or_insert_with(|| Arc::new(Feed::new(plugin_of(address), self.journal.head(), 0)))
            .clone()
    }

    /// The delivery of every service of `plugin` that has a cursor.
    pub fn views(&self, plugin: &str) -> Vec<DeliveryView> {
        let head = self.journal.head();
        let feeds = self.feeds.lock().expect("feeds lock");
        feeds
            .iter()
            .filter(|(_, f)| &*f.plugin == plugin)
            .map(|(address, f)| DeliveryView {
                address: address.clone(),
                cursor: f.acked(),
                behind: head.saturating_sub(f.acked()),
                dropped: f.dropped(),
            })
            .collect()
    }

    /// Whether every running subscriber has handled every logged event.
    pub fn caught_up(&self) -> bool {
        let head = self.journal.head();
        let feeds = self.feeds.lock().expect("feeds lock");
        feeds.values().all(|f| !f.is_live() || f.acked() >= head)
    }

    /// Moves up the cursors of services that are not running and hold back more than the
    /// retention, counting what they lose; commits every changed cursor durably (which
    /// makes durable the deferred writes made before it) and trims the log below the
    /// slowest cursor.
    pub fn flush(&self) -> StoreResult<()> {
        let head = self.journal.head();
        let feeds: Vec<(String, Arc<Feed>)> = {
            let feeds = self.feeds.lock().expect("feeds lock");
            feeds.iter().map(|(a, f)| (a.clone(), f.clone())).collect()
        };
        for (address, feed) in &feeds {
            let keep_from = head.saturating_sub(self.retention);
            let acked = feed.acked();
            if !feed.is_live() && acked < keep_from {
                let lost = self.journal.count_between(acked, keep_from)?;
                feed.dropped.fetch_add(lost, Ordering::SeqCst);
                feed.ack(keep_from);
                tracing::warn!(service = %address, lost, "a service that is not running fell too far behind; the events it missed are dropped");
            }
        }
        let floor = feeds.iter().map(|(_, f)| f.acked()).min().unwrap_or(head);
        let mut written = self.written.lock().expect("cursors lock");
        let changed: Vec<(String, (u64, u64))> = feeds
            .iter()
            .map(|(a, f)| (a.clone(), (f.acked(), f.dropped())))
            .filter(|(a, row)| written.get(a) != Some(row))
            .collect();
        let trim = self.journal.oldest()?.is_some_and(|oldest| oldest <= floor);
        if changed.is_empty() && !trim {
            return Ok(());
        }
        let write = || {
            self.journal.store().write(|txn| {
                let mut table = txn.open_table(CURSORS)?;
                for (address, row) in &changed {
                    table.insert(address.as_str(), *row)?;
                }
                if trim {
                    Journal::trim_in(txn, floor)?;
                }
                Ok(())
            })
        };
        // Moved cursors must reach the disk (with the handlers' writes before them); a trim
        // alone need not, and waits for the next durable commit instead of flushing.
        if changed.is_empty() {
            hypernet_store::deferred(write)?;
        } else {
            write()?;
        }
        written.extend(changed);
        Ok(())
    }
}

/// The plugin part of a service address.
fn plugin_of(address: &str) -> &str {
    address.split(':').next().unwrap_or(address)
}

#[cfg(test)]
mod tests;
