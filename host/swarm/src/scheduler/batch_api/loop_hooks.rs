//! The scheduler loop's side of batches: which providers take them (asked once, at
//! start), the runner started and handed the stored batches to poll, and each task taken
//! for a batch handed to the runner once the scheduler batch that took it is durable.

use super::BatchApiConfig;
use super::book::Batchable;
use super::runner::{Item, Job, Reporter, Runner};
use crate::scheduler::call::{self, ProviderMap};
use crate::scheduler::{Command, Loop, effects};
use hypernet_engine::Registry;
use hypernet_llm::HttpExecutor;
use hypernet_plugin_api::ErrorCode;
use hypernet_plugin_api::protocol::provider as ops;
use hypernet_plugin_api::provider::BatchRequest;
use std::collections::HashMap;
use std::sync::{Arc, mpsc};

/// The providers that take batches, by address, with the most requests a batch may hold.
/// A provider built before batch operations existed answers `NotFound`: it has none.
pub async fn batch_limits(registry: &Registry) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for address in registry.provider_addresses() {
        match registry
            .provider_call::<ops::BatchSupport>(&address, &())
            .await
        {
            Ok(Some(limits)) => {
                tracing::info!(provider = %address, max_requests = limits.max_requests, "provider takes batches");
                out.insert(address, limits.max_requests);
            }
            Ok(None) => {}
            Err(e) if e.code() == ErrorCode::NotFound => {}
            Err(e) => {
                tracing::warn!(provider = %address, error = %e, "provider did not say whether it takes batches")
            }
        }
    }
    out
}

/// Which provider takes batches for a model: the one serving it, when it takes them.
pub fn batchable(providers: Arc<ProviderMap>, limits: &HashMap<String, usize>) -> Batchable {
    let takes: Vec<String> = limits.keys().cloned().collect();
    Box::new(move |model| {
        providers
            .provider_for(model)
            .filter(|p| takes.iter().any(|t| t == p))
            .map(str::to_owned)
    })
}

/// Starts the runner (when `[batch_api] enabled`), reporting to the scheduler through `tx`.
pub(in crate::scheduler) fn start_runner(
    cfg: &BatchApiConfig,
    registry: Arc<Registry>,
    http: HttpExecutor,
    limits: HashMap<String, usize>,
    tx: &mpsc::Sender<Command>,
) -> Option<Runner> {
    if !cfg.enabled {
        return None;
    }
    let tx = tx.clone();
    let report: Reporter = Arc::new(move |report| {
        let _ = tx.send(Command::BatchApi(report));
    });
    Some(Runner::start(registry, http, cfg.clone(), limits, report))
}

impl Loop {
    /// Hands the tasks taken for a batch in the scheduler batch just written to the
    /// runner: each with its worker's prompt, without tools.
    pub(in crate::scheduler) fn hand_to_batch_runner(&mut self) {
        let taken = self.core.take_batch_submissions();
        let Some(runner) = &self.batch_runner else {
            return;
        };
        for t in taken {
            let d = effects::Dispatch {
                task: t.task,
                attempt: t.attempt,
                worker: t.worker,
                model: t.model.clone(),
                max_tokens: t.max_tokens,
                worker_index: t.worker_index,
                lane: 0,
            };
            let Some(mut spec) = self.call_spec(&d) else {
                continue;
            };
            spec.tools = Arc::new([]);
            spec.exec = None;
            let mut request = call::first_request(&spec);
            request.stream = false;
            runner.send(Job::Collect {
                provider: t.provider,
                model: t.model,
                item: Item {
                    task: t.task,
                    attempt: t.attempt,
                    request: BatchRequest {
                        custom_id: t.custom_id,
                        request,
                    },
                },
            });
        }
    }

    /// Has the runner poll every batch still stored.
    pub(in crate::scheduler) fn poll_stored_batches(&self, batches: Vec<super::book::StoredBatch>) {
        let Some(runner) = &self.batch_runner else {
            return;
        };
        for b in batches {
            tracing::info!(batch = %b.id, provider = %b.provider, tasks = b.entries.len(), "polling a batch submitted before the restart");
            runner.send(Job::Poll {
                provider: b.provider,
                batch_id: b.id,
            });
        }
    }
}
