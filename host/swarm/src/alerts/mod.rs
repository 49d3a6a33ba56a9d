//! Alerts and briefs: the swarm tells people when something is wrong, and otherwise keeps
//! quiet but for a morning brief, an evening recap and reminders of what waits for them.
//!
//! - [`config`]: `[alerts]`, the alert kinds, and their settings.
//! - [`detectors`]: what counts as an anomaly — the breaker opening, a worker suspended, a
//!   plugin failed, the budget near or at its limit, a stuck task, the failure rate — over
//!   the host's events, the budget's figures and the [`tracker`]'s watched tasks.
//! - [`collapse`]: the same alert again within `collapse_mins` is counted, not sent; the
//!   next one sent says how many were held back.
//! - [`schedule`]: when a brief or a reminder is due, in the configured time zone; a brief
//!   missed while the host was down goes out at the start if less than an hour late.
//! - [`briefs`]: what the briefs and reminders say.
//! - [`messages`]: who is told (`receives` `alerts` or `briefs`, less `alerts_off`).
//! - [`persist`]: the briefs' records in the store, so a restart sends none twice.
//!
//! Everything above is plain logic over `now_ms`; one task (`service.rs`) feeds it events
//! and the clock and files its messages with the [`Outbox`]. Every alert sent is also
//! logged (a warning) and announced as `alert.raised`, whoever receives it.

pub mod briefs;
pub mod collapse;
pub mod config;
pub mod detectors;
pub mod messages;
pub mod persist;
pub mod schedule;
mod service;
#[cfg(test)]
mod tests;
pub mod tracker;

pub use config::{AlertKind, AlertsConfig, Settings};

use crate::outbox::Outbox;
use crate::scheduler::Scheduler;
use hypernet_engine::Registry;
use std::sync::Arc;

/// What [`start`] needs, all built before it.
pub struct AlertsParts {
    /// The plugins and their event bus; the store.
    pub registry: Arc<Registry>,
    /// Where messages go; its people are who is told.
    pub outbox: Outbox,
    /// The budget and the queue, read from its snapshot.
    pub scheduler: Scheduler,
    /// `[alerts]`, checked.
    pub settings: Settings,
}

/// Starts the alerts and briefs on the current runtime. The task ends once the host drops
/// its registry.
pub fn start(parts: AlertsParts) {
    let AlertsParts {
        registry,
        outbox,
        scheduler,
        settings,
    } = parts;
    let people = outbox.people().clone();
    let service = service::Service::new(&registry, outbox.downgrade(), scheduler, people, settings);
    tokio::spawn(service.run());
}
