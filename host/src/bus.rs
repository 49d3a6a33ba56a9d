//! The host event bus: stamps each event with a sequence number and time, and lets watchers
//! (the HTTP API's stream, tests) follow along. Delivery to plugins is the registry's job.

use hypernet_plugin_api::Event;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::broadcast;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Sequence numbers and the watcher channel.
#[derive(Debug)]
pub struct Bus {
    seq: AtomicU64,
    watchers: broadcast::Sender<Arc<Event>>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus {
            seq: AtomicU64::new(0),
            watchers: broadcast::channel(4096).0,
        }
    }
}

impl Bus {
    /// A new event with the next id and the current time.
    pub fn stamp(&self, kind: &str, source: &str, payload: Value) -> Event {
        let mut event = Event::new(kind, source, payload);
        event.id = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        event.at_ms = now_ms();
        event
    }

    /// Hands the event to watchers (a watcher that fell behind misses events, never blocks).
    pub fn announce(&self, event: Arc<Event>) {
        let _ = self.watchers.send(event);
    }

    /// Whether anyone follows the events (announcing to nobody is skipped).
    pub fn has_watchers(&self) -> bool {
        self.watchers.receiver_count() > 0
    }

    /// Follows every event announced from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.watchers.subscribe()
    }
}
