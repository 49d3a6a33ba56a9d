//! The one task that moves data between the host and the pure parts: it follows the
//! host's events through a durable subscription (`host:alerts`: an event handled just
//! before a crash comes again, and the alert it raised is filed once, under the event's
//! id), checks the budget, the watched tasks and the briefs' times once a
//! [`TICK`], and files what is due with the outbox. It holds the registry and the outbox
//! weakly and ends once the host drops them.

use super::briefs::{self, Brief, Figures, Finished};
use super::collapse::{Collapser, Verdict};
use super::config::Settings;
use super::detectors::{Alert, Detectors};
use super::messages;
use super::persist::{self, BriefRecord};
use super::schedule::{self, Due};
use super::tracker::Tracker;
use crate::outbox::{NewMessage, WeakOutbox};
use crate::people::{People, Receives};
use crate::persist::TaskTables;
use crate::scheduler::Scheduler;
use hypernet_engine::Registry;
use hypernet_model::clock::now_ms;
use hypernet_store::Store;
use serde_json::{Value, json};
use std::sync::Weak;
use std::time::Duration;

/// How often the budget, the watched tasks and the briefs' times are checked.
pub const TICK: Duration = Duration::from_secs(1);

/// When there was no brief before: the first one covers this long.
const FIRST_BRIEF_SPAN_MS: u64 = 24 * 3_600_000;

pub(super) struct Service {
    pub(super) registry: Weak<Registry>,
    pub(super) outbox: WeakOutbox,
    pub(super) scheduler: Scheduler,
    pub(super) people: People,
    pub(super) detectors: Detectors,
    pub(super) collapse: Collapser,
    pub(super) tracker: Tracker,
    /// Each brief's record, as stored.
    pub(super) briefs: [Option<BriefRecord>; 2],
    /// When the last reminder went out, as stored.
    pub(super) reminded_ms: Option<u64>,
}

impl Service {
    pub(super) fn new(
        registry: &std::sync::Arc<Registry>,
        outbox: WeakOutbox,
        scheduler: Scheduler,
        people: People,
        settings: Settings,
    ) -> Service {
        Service {
            registry: std::sync::Arc::downgrade(registry),
            outbox,
            scheduler,
            people,
            collapse: Collapser::new(settings.collapse_ms),
            detectors: Detectors::new(settings),
            tracker: Tracker::default(),
            briefs: [None, None],
            reminded_ms: None,
        }
    }

    fn settings(&self) -> &Settings {
        self.detectors.settings()
    }

    fn store(&self) -> Option<Store> {
        Some(self.registry.upgrade()?.store().clone())
    }

    /// Runs until the host is gone.
    pub(super) async fn run(mut self) {
        let Some(registry) = self.registry.upgrade() else {
            return;
        };
        let mut events = registry.subscribe_durably("alerts");
        drop(registry);
        if let Err(e) = self.load().await {
            tracing::error!(error = %e, "alerts: cannot read the briefs' records; briefs may repeat");
        }
        self.seed().await;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut first = true;
        loop {
            tokio::select! {
                batch = events.next() => {
                    let Some(batch) = batch else { return };
                    for event in batch {
                        let now = now_ms();
                        self.tracker.event(&event.kind, &event.payload, now);
                        let alerts = self.detectors.event(&event.kind, &event.payload);
                        let filing = self.raise(alerts, now, Some(event.id));
                        // Acknowledged once its messages are filed: a crash before
                        // brings the event back, and the origin files them once.
                        if let Some(filing) = filing {
                            let _ = filing.await;
                        }
                        events.ack(event.id);
                    }
                }
                _ = tick.tick() => {
                    if self.registry.upgrade().is_none() {
                        return;
                    }
                    self.check(now_ms()).await;
                    if std::mem::take(&mut first) {
                        let (s, now) = (self.settings(), now_ms());
                        tracing::info!(
                            zone = s.zone.name(),
                            morning = %s.zone.day_and_clock(schedule::next(s.morning, &s.zone, now)),
                            evening = %s.zone.day_and_clock(schedule::next(s.evening, &s.zone, now)),
                            "briefs scheduled"
                        );
                    }
                }
            }
        }
    }

    async fn load(&mut self) -> Result<(), persist::PersistError> {
        let Some(store) = self.store() else {
            return Ok(());
        };
        let (briefs, reminded) = blocking(move || {
            let morning = persist::brief(&store, Brief::Morning.name())?;
            let evening = persist::brief(&store, Brief::Evening.name())?;
            Ok::<_, persist::PersistError>(([morning, evening], persist::reminder(&store)?))
        })
        .await
        .unwrap_or(Ok(([None, None], None)))?;
        self.briefs = briefs;
        self.reminded_ms = reminded;
        Ok(())
    }

    /// Reads the watched tasks from the store.
    async fn seed(&mut self) {
        let Some(store) = self.store() else {
            return;
        };
        let tasks = blocking(move || {
            let mut tasks = Vec::new();
            store
                .for_each_task(|t| {
                    if t.status.is_unfinished() {
                        tasks.push(t);
                    }
                })
                .map(|()| tasks)
        })
        .await;
        match tasks {
            Some(Ok(tasks)) => self.tracker.seed(tasks, now_ms()),
            Some(Err(e)) => tracing::error!(error = %e, "alerts: cannot read the tasks"),
            None => {}
        }
    }

    /// Collapses, logs and sends alerts.
    /// Collapses and announces `alerts` and files their messages; for alerts an event
    /// raised, each message's origin is that event (`alert:<event id>:<kind>:<person>`).
    /// Returns the filing task, if any.
    fn raise(
        &mut self,
        alerts: Vec<Alert>,
        now: u64,
        event: Option<u64>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let (mut events, mut out) = (Vec::new(), Vec::new());
        for alert in alerts {
            let verdict = self.collapse.admit(alert.kind, &alert.subject, now);
            let Verdict::Send { more, .. } = verdict else {
                tracing::debug!(kind = %alert.kind, subject = %alert.subject, "alert repeated; counted");
                continue;
            };
            tracing::warn!(kind = %alert.kind, subject = %alert.subject, more, "alert: {}", alert.text);
            events.push(json!({ "kind": alert.kind, "subject": alert.subject, "text": alert.text, "more": more }));
            let mut messages =
                messages::for_alert(&self.people, &alert, verdict, &self.settings().zone);
            if let Some(id) = event {
                for m in &mut messages {
                    m.origin = Some(format!("alert:{id}:{}:{}", alert.kind, m.to));
                }
            }
            out.extend(messages);
        }
        self.send(events, out)
    }

    /// Announces `alert.raised` events, then files messages in order, on their own task (a
    /// slow herald or store does not hold this one).
    fn send(
        &self,
        events: Vec<Value>,
        out: Vec<NewMessage>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        if events.is_empty() && out.is_empty() {
            return None;
        }
        let (Some(registry), Some(outbox)) = (self.registry.upgrade(), self.outbox.upgrade())
        else {
            return None;
        };
        Some(tokio::spawn(async move {
            blocking(move || {
                for event in events {
                    registry.announce("alert.raised", event);
                }
            })
            .await;
            for message in out {
                if let Err(e) = outbox.file(message).await {
                    tracing::error!(error = %e, "alerts: cannot file a message");
                }
            }
        }))
    }

    async fn check(&mut self, now: u64) {
        let detectors = &mut self.detectors;
        let mut alerts = self
            .scheduler
            .read_snapshot(|s| detectors.budget(&s.budget));
        alerts.extend(self.detectors.stuck(&mut self.tracker, now));
        self.raise(alerts, now, None);
        for (i, brief) in Brief::ALL.into_iter().enumerate() {
            self.brief(i, brief, now).await;
        }
        self.remind(now).await;
    }

    /// Sends the brief when it is due, then records it (so a restart does not send it
    /// again); records a missed one as handled.
    async fn brief(&mut self, i: usize, brief: Brief, now: u64) {
        let s = self.settings();
        let at = if brief == Brief::Morning {
            s.morning
        } else {
            s.evening
        };
        let record = self.briefs[i];
        let due_ms = match schedule::brief(at, &s.zone, record.map(|r| r.due_ms), now) {
            Due::Done => return,
            Due::Missed { due_ms } => {
                tracing::info!(brief = brief.name(), due = %s.zone.day_and_clock(due_ms), "brief missed by more than an hour while the host was down; skipped");
                self.record_brief(
                    i,
                    brief,
                    BriefRecord {
                        due_ms,
                        ..record.unwrap_or_default()
                    },
                )
                .await;
                return;
            }
            Due::Send { due_ms } => due_ms,
        };
        let since_ms = self
            .briefs
            .iter()
            .filter_map(|r| r.and_then(|r| r.sent_ms))
            .max()
            .unwrap_or(now.saturating_sub(FIRST_BRIEF_SPAN_MS));
        if self.people.receiving(Receives::Briefs).next().is_some() {
            let Some(figures) = self.figures(since_ms).await else {
                return;
            };
            let (subject, body) = briefs::brief(brief, &figures, &self.settings().zone, now);
            let tag = format!("brief:{}", brief.name());
            let origin = format!("{tag}:{due_ms}");
            let out =
                messages::for_briefs(&self.people, &["brief", &tag], &origin, &subject, &body);
            // Filed before it is recorded: after a crash in between it is filed again, and
            // its origin keeps it from being sent twice.
            if !self.file_all(out).await {
                return;
            }
            tracing::info!(brief = brief.name(), "brief sent");
        }
        let sent = BriefRecord {
            due_ms,
            sent_ms: Some(now),
        };
        self.record_brief(i, brief, sent).await;
    }

    /// What a brief covering the time since `since_ms` tells.
    async fn figures(&self, since_ms: u64) -> Option<Figures<'_>> {
        let store = self.store()?;
        let finished = blocking(move || {
            let mut tasks = Vec::new();
            store
                .for_each_task(|t| tasks.push(t))
                .map(|()| Finished::since(tasks, since_ms))
        })
        .await?;
        let finished = finished
            .inspect_err(
                |e| tracing::error!(error = %e, "alerts: cannot read the tasks for the brief"),
            )
            .ok()?;
        let (queue, budget) = self
            .scheduler
            .read_snapshot(|s| (s.counts.by_status.clone(), s.budget.clone()));
        Some(Figures {
            since_ms,
            finished,
            waiting: self.tracker.waiting(),
            queue,
            budget,
        })
    }

    /// Files messages in order, now; whether every one was filed.
    async fn file_all(&self, out: Vec<NewMessage>) -> bool {
        let Some(outbox) = self.outbox.upgrade() else {
            return false;
        };
        for message in out {
            if let Err(e) = outbox.file(message).await {
                tracing::error!(error = %e, "alerts: cannot file a message; trying again at the next check");
                return false;
            }
        }
        true
    }

    /// Stores a brief's record.
    async fn record_brief(&mut self, i: usize, brief: Brief, record: BriefRecord) {
        self.briefs[i] = Some(record);
        let Some(store) = self.store() else {
            return;
        };
        if let Some(Err(e)) =
            blocking(move || persist::set_brief(&store, brief.name(), record)).await
        {
            tracing::error!(error = %e, brief = brief.name(), "alerts: cannot record the brief");
        }
    }

    /// Reminds people of what waits for them, when it is time.
    async fn remind(&mut self, now: u64) {
        let waiting = self.tracker.waiting();
        let oldest = waiting.first().map(|(_, t)| t.since_ms);
        if !schedule::reminder(
            self.settings().remind_every_ms,
            self.reminded_ms,
            oldest,
            now,
        ) {
            return;
        }
        let body = briefs::reminder(&waiting, &self.settings().zone, now);
        let subject = format!("Reminder: {} waiting for you", waiting.len());
        let origin = format!("reminder:{now}");
        let out = messages::for_briefs(&self.people, &["reminder"], &origin, &subject, &body);
        if !self.file_all(out).await {
            return;
        }
        self.reminded_ms = Some(now);
        let Some(store) = self.store() else {
            return;
        };
        if let Some(Err(e)) = blocking(move || persist::set_reminder(&store, now)).await {
            tracing::error!(error = %e, "alerts: cannot record the reminder");
        }
    }
}

/// Runs `f` on the blocking pool; `None` when that task stopped.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}
