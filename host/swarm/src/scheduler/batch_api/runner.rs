//! The I/O side of batches, on the async runtime: requests taken for a batch are collected
//! per provider and model for `collect_ms` (or until the batch is full), submitted through
//! the provider plugin's batch operations with the host's HTTP client, then polled every
//! `poll_ms` until the batch ends; each step's outcome is reported to the scheduler, which
//! records it durably. Nothing here decides about tasks.

use super::BatchApiConfig;
use crate::scheduler::call;
use hypernet_engine::Registry;
use hypernet_llm::HttpExecutor;
use hypernet_model::tasks::{TaskId, TaskResult};
use hypernet_plugin_api::protocol::provider::{self as ops, BatchSubmittedArgs};
use hypernet_plugin_api::provider::{
    BatchRequest, BatchStatus, BatchStep, HttpRequest, HttpResponse, ProviderError,
};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// One request of a task taken for a batch.
#[derive(Debug, Clone)]
pub struct Item {
    /// The task.
    pub task: TaskId,
    /// Its attempt.
    pub attempt: u32,
    /// The request, with its `custom_id`.
    pub request: BatchRequest,
}

/// What the runner is asked to do.
#[derive(Debug)]
pub enum Job {
    /// Add a request to the batch being collected for `provider` and `model`.
    Collect {
        /// The provider's address.
        provider: String,
        /// The model.
        model: String,
        /// The request.
        item: Item,
    },
    /// Poll a submitted batch until it ends.
    Poll {
        /// The provider's address.
        provider: String,
        /// The batch id.
        batch_id: String,
    },
}

/// What the runner tells the scheduler.
#[derive(Debug)]
pub enum Report {
    /// A batch was created with these tasks (task, attempt, custom id).
    Submitted {
        /// The provider's address.
        provider: String,
        /// The model.
        model: String,
        /// The provider's id of the batch.
        batch_id: String,
        /// Its tasks.
        entries: Vec<(TaskId, u32, String)>,
    },
    /// The submission failed: these tasks run as normal calls.
    NotSubmitted {
        /// The tasks (task, attempt, custom id).
        entries: Vec<(TaskId, u32, String)>,
        /// Why.
        reason: String,
    },
    /// The batch ended: each custom id's answer, or why it has none. A task found in
    /// none has no answer either.
    Ended {
        /// The batch id.
        batch_id: String,
        /// Answers by custom id.
        outcomes: HashMap<String, Result<TaskResult, String>>,
    },
    /// The batch failed, expired or was cancelled, with no answers.
    Failed {
        /// The batch id.
        batch_id: String,
        /// Why.
        reason: String,
    },
}

/// Where reports go.
pub type Reporter = Arc<dyn Fn(Report) + Send + Sync>;

/// The runner's handle. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Runner {
    jobs: mpsc::UnboundedSender<Job>,
}

/// What the runner's tasks share.
struct Env {
    registry: Arc<Registry>,
    http: HttpExecutor,
    cfg: BatchApiConfig,
    /// The most requests a batch may hold, by provider.
    limits: HashMap<String, usize>,
    report: Reporter,
}

impl Runner {
    /// Starts the runner on the current runtime; `limits` are the providers' most
    /// requests per batch.
    pub fn start(
        registry: Arc<Registry>,
        http: HttpExecutor,
        cfg: BatchApiConfig,
        limits: HashMap<String, usize>,
        report: Reporter,
    ) -> Runner {
        let (jobs, rx) = mpsc::unbounded_channel();
        let env = Arc::new(Env {
            registry,
            http,
            cfg,
            limits,
            report,
        });
        tokio::spawn(collect(env, rx));
        Runner { jobs }
    }

    /// Hands a job to the runner (dropped once the runtime stops).
    pub fn send(&self, job: Job) {
        let _ = self.jobs.send(job);
    }
}

/// Requests collected for one provider and model.
struct Group {
    /// When the batch goes out, full or not.
    due: Instant,
    limit: usize,
    items: Vec<Item>,
}

/// Collects requests into groups and submits each when due or full; starts polls.
async fn collect(env: Arc<Env>, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut groups: HashMap<(String, String), Group> = HashMap::new();
    loop {
        let next = groups.values().map(|g| g.due).min();
        let job = match next {
            Some(due) => tokio::select! {
                job = rx.recv() => job,
                () = tokio::time::sleep_until(due) => {
                    let now = Instant::now();
                    let ready: Vec<(String, String)> = groups
                        .iter()
                        .filter(|(_, g)| g.due <= now)
                        .map(|(k, _)| k.clone())
                        .collect();
                    for key in ready {
                        let group = groups.remove(&key).expect("listed");
                        tokio::spawn(submit(env.clone(), key.0, key.1, group.items));
                    }
                    continue;
                }
            },
            None => rx.recv().await,
        };
        let Some(job) = job else { return };
        match job {
            Job::Collect {
                provider,
                model,
                item,
            } => {
                let limit = env.limits.get(&provider).copied().unwrap_or(1);
                let key = (provider, model);
                let group = groups.entry(key.clone()).or_insert_with(|| Group {
                    due: Instant::now() + Duration::from_millis(env.cfg.collect_ms),
                    limit: limit.min(env.cfg.max_requests).max(1),
                    items: Vec::new(),
                });
                group.items.push(item);
                if group.items.len() >= group.limit {
                    let group = groups.remove(&key).expect("present");
                    tokio::spawn(submit(env.clone(), key.0, key.1, group.items));
                }
            }
            Job::Poll { provider, batch_id } => {
                tokio::spawn(poll(env.clone(), provider, batch_id));
            }
        }
    }
}

/// Sends `request` once; a non-2xx answer is classified by the provider.
async fn send(env: &Env, provider: &str, request: &HttpRequest) -> Result<HttpResponse, String> {
    let timeout = env.http.config().request_timeout();
    let response = env
        .http
        .send_once(request, timeout)
        .await
        .map_err(|e| e.to_string())?;
    if (200..300).contains(&response.status) {
        return Ok(response);
    }
    let error: ProviderError = env
        .registry
        .provider_call::<ops::ClassifyError>(provider, &response)
        .await
        .unwrap_or_else(|_| ProviderError::from_status(&response));
    Err(format!("{} {}: {error}", request.method, request.url))
}

/// Submits one batch and, once created, polls it.
async fn submit(env: Arc<Env>, provider: String, model: String, items: Vec<Item>) {
    let entries: Vec<(TaskId, u32, String)> = items
        .iter()
        .map(|i| (i.task, i.attempt, i.request.custom_id.clone()))
        .collect();
    match create(&env, &provider, &items).await {
        Ok(batch_id) => {
            tracing::info!(provider = %provider, model = %model, batch = %batch_id, requests = entries.len(), "batch submitted");
            (env.report)(Report::Submitted {
                provider: provider.clone(),
                model,
                batch_id: batch_id.clone(),
                entries,
            });
            poll(env, provider, batch_id).await;
        }
        Err(reason) => {
            tracing::warn!(provider = %provider, model = %model, error = %reason, "batch not submitted; its tasks run as normal calls");
            (env.report)(Report::NotSubmitted { entries, reason });
        }
    }
}

/// Runs the provider's submission steps; the batch id.
async fn create(env: &Env, provider: &str, items: &[Item]) -> Result<String, String> {
    let requests: Vec<BatchRequest> = items.iter().map(|i| i.request.clone()).collect();
    let plugin = |e: hypernet_plugin_api::PluginError| format!("provider `{provider}`: {e}");
    let mut step = env
        .registry
        .provider_call::<ops::SubmitBatch>(provider, &Cow::Borrowed(&requests[..]))
        .await
        .map_err(plugin)?
        .map_err(|e| e.to_string())?;
    loop {
        match step {
            BatchStep::Created { batch_id } => return Ok(batch_id),
            BatchStep::Send { request, state } => {
                let response = send(env, provider, &request).await?;
                let args = BatchSubmittedArgs {
                    state,
                    response: Cow::Borrowed(&response),
                };
                step = env
                    .registry
                    .provider_call::<ops::BatchSubmitted>(provider, &args)
                    .await
                    .map_err(plugin)?
                    .map_err(|e| e.to_string())?;
            }
        }
    }
}

/// What one poll learned.
enum Polled {
    /// Not ended, or not readable now: poll again.
    Again(Option<String>),
    /// Ended with these answers.
    Ended(HashMap<String, Result<TaskResult, String>>),
    /// No answers will come.
    Failed(String),
}

/// Polls a batch every `poll_ms` until it ends, then reports its answers.
async fn poll(env: Arc<Env>, provider: String, batch_id: String) {
    let every = Duration::from_millis(env.cfg.poll_ms);
    loop {
        tokio::time::sleep(every).await;
        match poll_once(&env, &provider, &batch_id).await {
            Polled::Again(None) => {}
            Polled::Again(Some(why)) => {
                tracing::warn!(provider = %provider, batch = %batch_id, error = %why, "batch poll failed; polling again")
            }
            Polled::Ended(outcomes) => {
                tracing::info!(provider = %provider, batch = %batch_id, answers = outcomes.len(), "batch ended");
                (env.report)(Report::Ended { batch_id, outcomes });
                return;
            }
            Polled::Failed(reason) => {
                tracing::warn!(provider = %provider, batch = %batch_id, reason = %reason, "batch failed; its tasks run as normal calls");
                (env.report)(Report::Failed { batch_id, reason });
                return;
            }
        }
    }
}

async fn poll_once(env: &Env, provider: &str, batch_id: &str) -> Polled {
    let plugin = |e: hypernet_plugin_api::PluginError| {
        Polled::Again(Some(format!("provider `{provider}`: {e}")))
    };
    let request = match env
        .registry
        .provider_call::<ops::PollBatch>(provider, &Cow::Borrowed(batch_id))
        .await
    {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return Polled::Failed(e.to_string()),
        Err(e) => return plugin(e),
    };
    let response = match env
        .http
        .send_once(&request, env.http.config().request_timeout())
        .await
    {
        Ok(r) => r,
        Err(e) => return Polled::Again(Some(e.to_string())),
    };
    if !(200..300).contains(&response.status) {
        let error = env
            .registry
            .provider_call::<ops::ClassifyError>(provider, &response)
            .await
            .unwrap_or_else(|_| ProviderError::from_status(&response));
        return if error.is_retryable() {
            Polled::Again(Some(error.to_string()))
        } else {
            Polled::Failed(format!("the batch cannot be read: {error}"))
        };
    }
    let status = match env
        .registry
        .provider_call::<ops::ParseBatchStatus>(provider, &response)
        .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Polled::Again(Some(e.to_string())),
        Err(e) => return plugin(e),
    };
    let results = match status {
        BatchStatus::InProgress => return Polled::Again(None),
        BatchStatus::Failed { reason } => return Polled::Failed(reason),
        BatchStatus::Ended { results } => results,
    };
    let mut outcomes = HashMap::new();
    for request in &results {
        // A results file that cannot be read now is read again at the next poll.
        let response = match send(env, provider, request).await {
            Ok(r) => r,
            Err(e) => return Polled::Again(Some(e)),
        };
        let read = match env
            .registry
            .provider_call::<ops::ParseBatchResults>(provider, &response)
            .await
        {
            Ok(Ok(read)) => read,
            Ok(Err(e)) => return Polled::Again(Some(e.to_string())),
            Err(e) => return plugin(e),
        };
        for outcome in read {
            let answer = outcome
                .outcome
                .map(call::task_result)
                .map_err(|e| e.to_string());
            outcomes.insert(outcome.custom_id, answer);
        }
    }
    Polled::Ended(outcomes)
}
