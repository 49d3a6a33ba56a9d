//! What happens to identities when the host starts. The archive is read before the
//! scheduler starts (it is quick); the boot sequences of new instances then run in the
//! background, one worker after the other, while the API already answers. A worker waiting
//! for its boot gets no task; the others work meanwhile.
//!
//! The scheduler thread holds the budget and the identities the prompts are built from, so
//! the sequence asks it for everything through [`Request`]s: each turn's reservation and
//! charge, its progress (shown by `hypernet status`, announced as `boot.progress`), and
//! the end of each worker's sequence (`boot.finished`), which hands over the updated
//! identities.

use super::boot::{self, Caller};
use super::{Identities, IdentityConfig};
use crate::workers::WorkerConfig;
use anyhow::{Context, Result};
use std::sync::{Arc, RwLock};
use tokio::sync::oneshot;

/// A request of the boot sequence to the scheduler thread.
#[derive(Debug)]
pub enum Request {
    /// Reserve the worst case of one turn of `worker` on `model` (`chars` of prompt,
    /// `max_tokens` of answer); the reply is the budget's refusal, if any.
    Reserve {
        /// The model.
        model: String,
        /// Characters of the prompt so far.
        chars: usize,
        /// The answer's limit.
        max_tokens: u32,
        /// `Err` with the reason when the budget refuses.
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Charge a turn's tokens to `worker` (its reservation ends).
    Settle {
        /// The model.
        model: String,
        /// The worker booting.
        worker: String,
        /// The turn's tokens.
        tokens: crate::budget::Tokens,
    },
    /// End a turn's reservation without a charge (the turn failed, or was simulated).
    Release,
    /// Turn `turn` (from 1) of `turns` of `worker`'s sequence starts.
    Turn {
        /// The worker booting.
        worker: String,
        /// This turn.
        turn: usize,
        /// Turns in its sequence.
        turns: usize,
    },
    /// `worker`'s sequence ended as `outcome` (`done`, `postponed`, or the failure);
    /// `identities` hold its new profile when it is done.
    Finished {
        /// The worker.
        worker: String,
        /// How it ended.
        outcome: String,
        /// Every identity as it now stands.
        identities: Arc<Identities>,
    },
}

/// Sends a [`Request`] to the scheduler thread (dropped when it has stopped: a reservation
/// then counts as refused and the sequence stops).
pub type Ledger = Arc<dyn Fn(Request) + Send + Sync>;

/// Loads the archive named by `[identity]` (nothing when it names none), creating, fixing
/// and merging profiles (see [`Identities::load`]).
pub fn load(config: &crate::config::HostConfig) -> Result<Identities> {
    let Some(archive) = &config.identity.archive else {
        return Ok(Identities::default());
    };
    let (identities, report) = Identities::load(archive, &config.workers)
        .with_context(|| format!("loading the instance archive {}", archive.display()))?;
    tracing::info!(
        archive = %archive.display(),
        instances = identities.instances.len(),
        created = ?report.created,
        fixed = ?report.fixed,
        merged = ?report.merged,
        "instance archive loaded"
    );
    Ok(identities)
}

/// The configured workers whose instance has no baselines yet, with the model each boots
/// on; none when the archive or the boot sequence is off.
pub fn awaiting_boot(
    config: &crate::config::HostConfig,
    identities: &Identities,
) -> Vec<(WorkerConfig, String)> {
    if !config.identity.boot || identities.archive().is_none() {
        return Vec::new();
    }
    config
        .workers
        .iter()
        .filter(|w| !identities.instance_for(w).profile.booted())
        .map(|w| {
            let model = w
                .model
                .clone()
                .unwrap_or_else(|| config.scheduler.default_model.clone());
            (w.clone(), model)
        })
        .collect()
}

/// Runs the boot sequence of each of `workers` in turn, charging through `ledger`, and
/// publishes each new profile in `shared` and to the scheduler. A failed or postponed boot
/// is logged and left for the next start.
pub async fn boot_all(
    config: &IdentityConfig,
    mut identities: Identities,
    workers: Vec<(WorkerConfig, String)>,
    caller: &Caller<'_>,
    ledger: &Ledger,
    shared: &RwLock<Arc<Identities>>,
) {
    for (worker, model) in workers {
        let instance = identities.instance_for(&worker).into_owned();
        tracing::info!(worker = %worker.name, model, "boot sequence starting");
        let result = boot::boot_worker(
            caller,
            ledger,
            identities.core(),
            &instance,
            &model,
            config.boot_chunk_chars,
            config.boot_max_tokens,
        )
        .await;
        let outcome = match result {
            Ok(Some(outcome)) => {
                let mut profile = instance.profile;
                outcome.apply(&mut profile);
                tracing::info!(worker = %worker.name, proposed_name = ?profile.proposed_name, "boot sequence done");
                match identities.update_profile(&worker.name, profile) {
                    Ok(()) => "done".to_owned(),
                    Err(e) => {
                        tracing::warn!(worker = %worker.name, error = %format!("{e:#}"), "cannot store the boot sequence's answers");
                        format!("failed: {e:#}")
                    }
                }
            }
            Ok(None) => "postponed".to_owned(),
            Err(e) => {
                tracing::warn!(worker = %worker.name, error = %e, "boot sequence failed; it runs again at the next start");
                format!("failed: {e}")
            }
        };
        let now = Arc::new(identities.clone());
        *shared.write().expect("identities lock") = now.clone();
        ledger(Request::Finished {
            worker: worker.name.clone(),
            outcome,
            identities: now,
        });
    }
}
