//! The host event bus: keeps the most recent events for replay and lets watchers (the HTTP
//! API's stream, tests) follow along. It stamps the events only watchers see (streamed model
//! output) from the log's id sequence; delivery to plugins is the log's job
//! ([`crate::journal`], [`crate::delivery`]).

use hypernet_model::clock::now_ms;
use hypernet_plugin_api::Event;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// How many of the latest events the bus retains for `?after=` replay.
pub const RETAINED_EVENTS: usize = 10_000;

/// Sequence numbers, the replay buffer and the watcher channel.
#[derive(Debug)]
pub struct Bus {
    /// The id sequence, shared with the event log.
    seq: Arc<AtomicU64>,
    /// The latest events in announce order, at most `capacity` of them. Pushing and
    /// broadcasting happen under this lock, so a new follower's snapshot and its live
    /// receiver neither overlap nor leave a gap.
    retained: Mutex<Retained>,
    watchers: broadcast::Sender<Arc<Event>>,
}

/// What a new follower gets: a replay, then live events.
#[derive(Debug)]
pub struct Following {
    /// The retained events it asked for, oldest first.
    pub replay: Vec<Arc<Event>>,
    /// Every event announced after the replay.
    pub live: broadcast::Receiver<Arc<Event>>,
    /// The id of the newest retained event when it started following (0 when none).
    pub newest: u64,
}

/// A bounded ring of the latest events.
#[derive(Debug)]
struct Retained {
    events: VecDeque<Arc<Event>>,
    capacity: usize,
}

impl Retained {
    fn push(&mut self, event: Arc<Event>) {
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }
}

impl Default for Bus {
    /// A bus with a sequence of its own, starting at 1.
    fn default() -> Self {
        Bus::new(Arc::new(AtomicU64::new(1)), RETAINED_EVENTS)
    }
}

impl Bus {
    /// A bus that retains the latest `capacity` events for replay and stamps ids from `seq`
    /// (the next id to hand out).
    pub fn new(seq: Arc<AtomicU64>, capacity: usize) -> Self {
        Bus {
            seq,
            retained: Mutex::new(Retained {
                events: VecDeque::with_capacity(capacity.min(1024)),
                capacity: capacity.max(1),
            }),
            watchers: broadcast::channel(4096).0,
        }
    }

    /// A new event with the next id and the current time.
    pub fn stamp(&self, kind: &str, source: &str, payload: Value) -> Event {
        let mut event = Event::new(kind, source, payload);
        event.id = self.seq.fetch_add(1, Ordering::SeqCst);
        event.at_ms = now_ms();
        event
    }

    /// Retains the event for replay and hands it to watchers (a watcher that fell behind
    /// misses events, never blocks).
    pub fn announce(&self, event: Arc<Event>) {
        let mut retained = self.retained.lock().expect("bus lock");
        retained.push(event.clone());
        let _ = self.watchers.send(event);
    }

    /// Stamps and announces an event to watchers only (plugins never see it, and it is not
    /// logged); returns its id.
    pub fn publish(&self, kind: &str, source: &str, payload: Value) -> u64 {
        let event = self.stamp(kind, source, payload);
        let id = event.id;
        self.announce(Arc::new(event));
        id
    }

    /// Follows every event announced from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.watchers.subscribe()
    }

    /// The retained events with an id above `after` (none when `after` is `None`), oldest
    /// first, and a receiver of every event announced after them (nothing missed, nothing
    /// twice).
    pub fn follow(&self, after: Option<u64>) -> Following {
        let retained = self.retained.lock().expect("bus lock");
        let live = self.watchers.subscribe();
        let newest = retained.events.back().map_or(0, |e| e.id);
        let replay = match after {
            Some(after) => retained
                .events
                .iter()
                .filter(|e| e.id > after)
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        Following {
            replay,
            live,
            newest,
        }
    }

    /// How many events are retained for replay.
    pub fn retained_len(&self) -> usize {
        self.retained.lock().expect("bus lock").events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn publish(bus: &Bus, n: usize) {
        for _ in 0..n {
            bus.announce(Arc::new(bus.stamp("test.tick", "host", json!({}))));
        }
    }

    #[test]
    fn the_replay_buffer_keeps_only_the_latest_events() {
        let bus = Bus::new(Arc::new(AtomicU64::new(1)), 5);
        publish(&bus, 3);
        assert_eq!(bus.retained_len(), 3);
        publish(&bus, 9);
        assert_eq!(bus.retained_len(), 5, "bounded");
        let following = bus.follow(Some(0));
        let ids: Vec<u64> = following.replay.iter().map(|e| e.id).collect();
        assert_eq!(ids, [8, 9, 10, 11, 12], "the newest, oldest first");
        assert_eq!(following.newest, 12);
        assert!(bus.follow(None).replay.is_empty(), "no replay unless asked");
    }

    #[test]
    fn the_default_bound_is_ten_thousand() {
        let bus = Bus::default();
        publish(&bus, RETAINED_EVENTS + 25);
        assert_eq!(bus.retained_len(), RETAINED_EVENTS);
        let replay = bus.follow(Some(0)).replay;
        assert_eq!(replay.first().map(|e| e.id), Some(26));
    }

    #[tokio::test]
    async fn following_replays_after_an_id_then_continues_live() {
        let bus = Bus::default();
        publish(&bus, 4);
        let mut following = bus.follow(Some(2));
        let ids: Vec<u64> = following.replay.iter().map(|e| e.id).collect();
        assert_eq!(ids, [3, 4]);
        publish(&bus, 1);
        assert_eq!(following.live.recv().await.expect("live event").id, 5);
    }
}
