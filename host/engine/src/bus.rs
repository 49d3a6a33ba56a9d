//! The host event bus: keeps the most recent events for replay and lets watchers (the HTTP
//! API's stream, tests) follow along. It stamps the events only watchers see (streamed model
//! output) from the log's id sequence; delivery to plugins is the log's job
//! ([`crate::journal`], [`crate::delivery`]).
//!
//! The replay buffer is bounded by bytes: it keeps the newest events whose JSON adds up to
//! at most [`RETAINED_BYTES`], as that JSON (a logged event's is shared with the log's
//! in-memory tail), and turns them back into events only for a replay.

use hypernet_model::clock::now_ms;
use hypernet_plugin_api::Event;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, watch};

/// How many bytes of the latest events (their JSON, as the event stream sends them) the bus
/// retains for `?after=` replay.
pub const RETAINED_BYTES: usize = 256 << 10;

/// Sequence numbers, the replay buffer and the watcher channel.
#[derive(Debug)]
pub struct Bus {
    /// The id sequence, shared with the event log.
    seq: Arc<AtomicU64>,
    /// The latest events in announce order, at most `capacity` bytes of them. Pushing and
    /// broadcasting happen under this lock, so a new follower's snapshot and its live
    /// receiver neither overlap nor leave a gap.
    retained: Mutex<Retained>,
    watchers: broadcast::Sender<Arc<Event>>,
    /// The id of the newest event announced: wakes the host's durable subscriptions, which
    /// read the events themselves from the log (a value, not a queue: nothing piles up
    /// while they are busy).
    newest: watch::Sender<u64>,
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

/// The latest events as JSON, bounded by bytes: always a gap-free run of the newest ones.
#[derive(Debug)]
struct Retained {
    /// (id, JSON), oldest first.
    events: VecDeque<(u64, Arc<str>)>,
    /// The length of their JSON, summed.
    bytes: usize,
    /// The most `bytes` may be.
    capacity: usize,
}

impl Retained {
    fn push(&mut self, id: u64, json: Arc<str>) {
        if json.len() > self.capacity {
            // Too large to keep: the older ones go too, so what is kept has no gap.
            self.events.clear();
            self.bytes = 0;
            return;
        }
        self.bytes += json.len();
        self.events.push_back((id, json));
        while self.bytes > self.capacity
            && let Some((_, old)) = self.events.pop_front()
        {
            self.bytes -= old.len();
        }
        // A burst of small events may have grown the ring far beyond what it holds now.
        if self.events.capacity() > 64 && self.events.capacity() > 4 * self.events.len() {
            self.events.shrink_to(2 * self.events.len());
        }
    }
}

impl Default for Bus {
    /// A bus with a sequence of its own, starting at 1.
    fn default() -> Self {
        Bus::new(Arc::new(AtomicU64::new(1)), RETAINED_BYTES)
    }
}

impl Bus {
    /// A bus that retains the latest `capacity` bytes of events (their JSON) for replay and
    /// stamps ids from `seq` (the next id to hand out).
    pub fn new(seq: Arc<AtomicU64>, capacity: usize) -> Self {
        Bus {
            seq,
            retained: Mutex::new(Retained {
                events: VecDeque::new(),
                bytes: 0,
                capacity,
            }),
            watchers: broadcast::channel(4096).0,
            newest: watch::Sender::new(0),
        }
    }

    /// A new event with the next id and the current time.
    pub fn stamp(&self, kind: &str, source: &str, payload: Value) -> Event {
        let mut event = Event::new(kind, source, payload);
        event.id = self.seq.fetch_add(1, Ordering::SeqCst);
        event.at_ms = now_ms();
        event
    }

    /// Retains a logged event for replay, hands it to watchers (a watcher that fell behind
    /// misses events, never blocks) and wakes the waiters on [`Bus::announcements`].
    pub fn announce(&self, event: Arc<Event>) {
        let json = to_json(&event);
        self.announce_json(event, json);
    }

    /// [`Bus::announce`] for an event whose JSON is at hand (`json` must be `event`
    /// serialized: it is what a replay sends).
    pub fn announce_json(&self, event: Arc<Event>, json: Arc<str>) {
        let id = event.id;
        self.retain_and_send(event, json);
        self.newest.send_replace(id);
    }

    /// Stamps and announces an event to watchers only (plugins never see it, it is not
    /// logged, and the waiters on [`Bus::announcements`], who read the log, are not woken
    /// for it); returns its id.
    pub fn publish(&self, kind: &str, source: &str, payload: Value) -> u64 {
        let event = Arc::new(self.stamp(kind, source, payload));
        let id = event.id;
        let json = to_json(&event);
        self.retain_and_send(event, json);
        id
    }

    fn retain_and_send(&self, event: Arc<Event>, json: Arc<str>) {
        let mut retained = self.retained.lock().expect("bus lock");
        retained.push(event.id, json);
        let _ = self.watchers.send(event);
    }

    /// The id of the newest logged event announced, changing with each: for a waiter that
    /// reads the events from the log (events only watchers see do not change it). It reports
    /// the bus gone when the bus is dropped.
    pub fn announcements(&self) -> watch::Receiver<u64> {
        self.newest.subscribe()
    }

    /// Follows every event announced from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.watchers.subscribe()
    }

    /// The retained events with an id above `after` (none when `after` is `None`), oldest
    /// first, and a receiver of every event announced after them (nothing missed, nothing
    /// twice).
    pub fn follow(&self, after: Option<u64>) -> Following {
        let (jsons, live, newest) = {
            let retained = self.retained.lock().expect("bus lock");
            let live = self.watchers.subscribe();
            let newest = retained.events.back().map_or(0, |(id, _)| *id);
            let jsons: Vec<Arc<str>> = match after {
                Some(after) => {
                    let start = retained.events.partition_point(|(id, _)| *id <= after);
                    retained
                        .events
                        .range(start..)
                        .map(|(_, json)| json.clone())
                        .collect()
                }
                None => Vec::new(),
            };
            (jsons, live, newest)
        };
        // Parsed outside the lock: announcing does not wait for a replay.
        let replay = jsons
            .iter()
            .filter_map(|json| match serde_json::from_str::<Event>(json) {
                Ok(event) => Some(Arc::new(event)),
                Err(e) => {
                    tracing::error!(error = %e, "a retained event could not be read back; left out of the replay");
                    None
                }
            })
            .collect();
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

    /// How many bytes of JSON are retained for replay (at most the bus's capacity).
    pub fn retained_bytes(&self) -> usize {
        self.retained.lock().expect("bus lock").bytes
    }
}

/// An event as its JSON.
fn to_json(event: &Event) -> Arc<str> {
    serde_json::to_string(event)
        .expect("events serialize")
        .into()
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

    /// The length of a `test.tick` event's JSON (ids of three digits).
    fn tick_bytes() -> usize {
        let mut event = Event::new("test.tick", "host", json!({}));
        event.id = 100;
        event.at_ms = now_ms();
        serde_json::to_string(&event).unwrap().len()
    }

    #[test]
    fn the_replay_buffer_keeps_only_the_latest_events() {
        let bus = Bus::new(Arc::new(AtomicU64::new(100)), 5 * tick_bytes());
        publish(&bus, 3);
        assert_eq!(bus.retained_len(), 3);
        publish(&bus, 9);
        assert_eq!(bus.retained_len(), 5, "bounded");
        let following = bus.follow(Some(0));
        let ids: Vec<u64> = following.replay.iter().map(|e| e.id).collect();
        assert_eq!(ids, [107, 108, 109, 110, 111], "the newest, oldest first");
        assert_eq!(following.newest, 111);
        assert!(bus.follow(None).replay.is_empty(), "no replay unless asked");
    }

    #[test]
    fn the_default_bound_is_a_mebibyte_of_json_whatever_the_events_size() {
        let bus = Bus::default();
        let mut announced = Vec::new();
        // Small events, then large ones, then small again: 3 MiB in all.
        for (n, size) in [(8_000, 30), (1_500, 1_000), (8_000, 30)] {
            for _ in 0..n {
                let event = bus.stamp("test.tick", "host", json!({ "text": "x".repeat(size) }));
                announced.push(event.clone());
                bus.announce(Arc::new(event));
                let bytes = bus.retained_bytes();
                assert!(bytes <= RETAINED_BYTES, "{bytes} bytes retained");
            }
        }
        assert!(
            bus.retained_bytes() > RETAINED_BYTES - 2_000,
            "filled to the bound"
        );
        let replay = bus.follow(Some(0)).replay;
        assert_eq!(replay.len(), bus.retained_len());
        // A gap-free run of the newest events, read back as they were announced.
        let newest = &announced[announced.len() - replay.len()..];
        assert_eq!(
            replay.iter().map(|e| (**e).clone()).collect::<Vec<_>>(),
            newest
        );
        let retained = bus.retained.lock().unwrap();
        assert!(
            retained.events.capacity() <= 4 * retained.events.len().max(64),
            "{} slots for {} events",
            retained.events.capacity(),
            retained.events.len()
        );
    }

    #[test]
    fn an_event_larger_than_the_bound_is_not_retained_and_leaves_no_gap() {
        let bus = Bus::new(Arc::new(AtomicU64::new(100)), 4 * tick_bytes());
        publish(&bus, 3);
        let mut live = bus.subscribe();
        bus.publish("test.big", "host", json!({ "text": "x".repeat(1_000) }));
        assert_eq!(bus.retained_len(), 0, "the older ones went with it");
        assert_eq!(
            live.try_recv().unwrap().kind,
            "test.big",
            "watchers still get it"
        );
        publish(&bus, 1);
        let ids: Vec<u64> = bus.follow(Some(0)).replay.iter().map(|e| e.id).collect();
        assert_eq!(ids, [104]);
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

    #[test]
    fn only_logged_events_wake_the_log_readers() {
        let bus = Bus::default();
        let waiter = bus.announcements();
        bus.publish("task.output", "host", json!({ "delta": "a" }));
        assert!(
            !waiter.has_changed().unwrap(),
            "an event only watchers see does not wake a reader of the log"
        );
        let logged = Arc::new(bus.stamp("task.created", "host", json!({})));
        let id = logged.id;
        bus.announce(logged);
        assert!(waiter.has_changed().unwrap());
        assert_eq!(*waiter.borrow(), id);
    }
}
