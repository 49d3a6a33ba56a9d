//! Durable subscriptions for the host's own services (the outbox, which tells people what
//! events call for; the alerts). Like a plugin's, each has a cursor in the event log, at
//! the address `host:<name>`: it reads the log from its cursor and acknowledges each event
//! once handled; the registry's cursor writer commits the cursor with the plugins' a few
//! times a second. After a crash, the events handled since the last commit come again, so a
//! handler must recognise a repeat by the event's id.

use crate::delivery::Feed;
use crate::journal::Journal;
use hypernet_plugin_api::Event;
use std::sync::Arc;
use std::time::Duration;

/// Events read per turn.
const BATCH: usize = 256;

/// A host service's place in the event log. Detaches from its feed when dropped (the
/// cursor then holds the log back only as far as the retention allows).
#[derive(Debug)]
pub struct Subscription {
    pub(crate) feed: Arc<Feed>,
    pub(crate) journal: Arc<Journal>,
    pub(crate) wake: tokio::sync::watch::Receiver<u64>,
}

impl Subscription {
    /// The next events after the cursor, oldest first; waits until there is at least one.
    /// `None` once the registry is gone (the host stopped). Events whose JSON does not
    /// decode are skipped (and acknowledged).
    pub async fn next(&mut self) -> Option<Vec<Event>> {
        loop {
            let head = self.journal.head();
            match self.journal.read_after(self.feed.acked(), BATCH) {
                Ok(logged) if !logged.is_empty() => {
                    let mut out = Vec::with_capacity(logged.len());
                    for l in logged {
                        match serde_json::from_str::<Event>(&l.json) {
                            Ok(event) => out.push(event),
                            Err(e) => {
                                tracing::error!(event = l.id, error = %e, "a logged event does not decode; it is passed");
                                self.feed.ack(l.id);
                            }
                        }
                    }
                    if !out.is_empty() {
                        return Some(out);
                    }
                    continue;
                }
                Ok(_) => self.feed.ack(self.feed.acked().max(head)),
                Err(e) => tracing::error!(error = %e, "cannot read the event log"),
            }
            // Woken by the next announcement, or after a second whatever happens.
            let woken = tokio::time::timeout(Duration::from_secs(1), self.wake.changed()).await;
            if let Ok(Err(_)) = woken {
                return None;
            }
        }
    }

    /// Marks event `id` (and every one before it) handled.
    pub fn ack(&self, id: u64) {
        if id > self.feed.acked() {
            self.feed.ack(id);
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.feed.detach();
    }
}

#[cfg(test)]
mod tests {
    use crate::{Manifest, Registry, RegistryOptions};
    use serde_json::json;

    fn registry(dir: &std::path::Path) -> std::sync::Arc<Registry> {
        let store = hypernet_store::Store::open(&dir.join("h.redb"), &[]).unwrap();
        let manifest = Manifest::parse("", "test manifest", dir).unwrap();
        Registry::start(manifest, store, RegistryOptions::default()).unwrap()
    }

    #[tokio::test]
    async fn a_host_service_gets_what_it_did_not_acknowledge_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        {
            let registry = registry(dir.path());
            let mut sub = registry.subscribe_durably("outbox");
            let first = registry.announce("a.one", json!({}));
            let second = registry.announce("a.two", json!({}));
            let got = sub.next().await.unwrap();
            let ids: Vec<u64> = got.iter().map(|e| e.id).collect();
            assert_eq!(ids, [first, second]);
            assert_eq!(got[1].kind, "a.two");
            sub.ack(first);
            registry.flush_deliveries();
            registry.shutdown();
        }
        let registry = registry(dir.path());
        let mut sub = registry.subscribe_durably("outbox");
        let got = sub.next().await.unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].kind, "a.two", "the unacknowledged event comes again");
    }

    #[tokio::test]
    async fn a_busy_host_service_keeps_no_announced_event_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let registry = registry(dir.path());
        let _sub = registry.subscribe_durably("outbox");
        let event = std::sync::Arc::new(registry.bus().stamp("a.one", "host", json!({})));
        registry.bus().announce(event.clone());
        assert_eq!(
            std::sync::Arc::strong_count(&event),
            1,
            "the subscription reads the log; it must not hold the event itself"
        );
    }

    #[tokio::test]
    async fn a_waiting_host_service_wakes_at_the_next_announcement() {
        let dir = tempfile::tempdir().unwrap();
        let registry = registry(dir.path());
        let mut sub = registry.subscribe_durably("outbox");
        let waiting = tokio::spawn(async move { sub.next().await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let id = registry.announce("a.one", json!({}));
        // Well before the once-a-second look it takes without a wake-up.
        let got = tokio::time::timeout(std::time::Duration::from_millis(500), waiting)
            .await
            .expect("woken by the announcement")
            .unwrap()
            .unwrap();
        assert_eq!(got.iter().map(|e| e.id).collect::<Vec<_>>(), [id]);
    }
}
