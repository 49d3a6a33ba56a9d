//! How a task's calls run: single-turn (one call, as [`super::call::run`]), a tool loop
//! ([`super::tool_loop`]) when tools are offered, or plan and steps
//! ([`super::conversation`]) for complex tasks. Here the loop meets the world: model calls
//! through the provider plugin and the HTTP executor (each under the call timeout), tools
//! from the [`ToolRegistry`](crate::tools::ToolRegistry) — called for the task's worker, in its workspace, under the
//! tier check ([`crate::tools::TierPermission`]) — and the budget through the scheduler
//! thread ([`Gate`]).
//! Cancelling the task drops the future, which stops the loop between or within calls.

use super::call::{self, CallSpec, PreparedCall, ProviderMap};
use super::call_metrics::Outcome;
use super::conversation::{self, ConversationConfig};
use super::output::Origin;
use super::tool_loop::{Caps, Halt, Held, Runner, Steps, ToolsConfig};
use crate::budget::Price;
use crate::tools::{ToolContext, ToolError};
use hypernet_engine::Registry;
use hypernet_llm::CallError;
use hypernet_llm::HttpExecutor;
use hypernet_model::tasks::{TaskId, TaskResult};
use hypernet_plugin_api::provider::{Completion, CompletionRequest};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// What a task's calls need beyond the first request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExecSpec {
    /// Plan and steps (a complex task with conversation mode on).
    pub conversation: bool,
    /// Tools are called with fenced blocks, not natively.
    pub fenced: bool,
    /// The model's price, for worst cases and caps.
    pub price: Price,
    /// The highest tier its tool calls may use whatever the worker's (a task another swarm
    /// delegated here: `[federation] remote_tier`).
    pub ceiling: Option<hypernet_model::tier::Tier>,
}

/// One step's money, asked of the scheduler: settle the last call's tokens, reserve the
/// next call's worst case.
#[derive(Debug)]
pub struct StepCharge {
    /// The task.
    pub task: TaskId,
    /// Its attempt.
    pub attempt: u32,
    /// The last call's tokens, to charge.
    pub settle: Option<crate::budget::Tokens>,
    /// To reserve for the next call, micro-dollars.
    pub reserve_micros: u64,
    /// `Err` with the reason when the reservation is refused.
    pub reply: oneshot::Sender<Result<(), String>>,
}

/// Hands a [`StepCharge`] to the scheduler thread.
pub type Gate = Arc<dyn Fn(StepCharge) + Send + Sync>;

/// What every task's calls share.
#[derive(Clone)]
pub struct Exec {
    /// The tools offered.
    pub tools: crate::tools::SharedTools,
    /// `[tools]`.
    pub tools_cfg: ToolsConfig,
    /// `[conversation]`.
    pub conversation: ConversationConfig,
    /// The budget, through the scheduler.
    pub gate: Gate,
    /// Each worker's permission check and folder.
    pub contexts: crate::tools::ToolContexts,
    /// Where held tool calls wait for a person.
    pub approvals: Option<crate::approvals::service::Approvals>,
    /// How long calls take, for `GET /metrics`.
    pub call_metrics: super::call_metrics::CallMetrics,
}

impl Exec {
    /// The context of `worker`'s tool calls in `task`.
    pub fn tool_context(&self, task: TaskId, worker: Arc<str>) -> ToolContext {
        self.contexts.context(task, worker)
    }
}

/// Where calls go.
#[derive(Clone)]
pub struct CallEnv {
    /// Plugins.
    pub registry: Arc<Registry>,
    /// Which provider serves which model.
    pub providers: Arc<ProviderMap>,
    /// The HTTP executor.
    pub http: HttpExecutor,
    /// Longest one model call may take.
    pub timeout: Duration,
    /// Tools, loop settings and the budget gate.
    pub exec: Arc<Exec>,
}

struct Live<'a> {
    env: &'a CallEnv,
    origin: &'a Origin,
    attempt: u32,
    prepared: Option<PreparedCall>,
    ctx: ToolContext,
    /// Injection phrases found in the outside content tools returned.
    flags: Vec<hypernet_model::tasks::InjectionFlag>,
}

impl Steps for Live<'_> {
    async fn complete(&mut self, request: &CompletionRequest) -> Result<Completion, CallError> {
        let env = self.env;
        let prepared = self.prepared.take().filter(|p| {
            let mut r = request.clone();
            r.stream = p.request().stream;
            *p.request() == r
        });
        let call = async {
            let prepared = match prepared {
                Some(p) => p,
                None => {
                    call::prepare_request(&env.registry, &env.providers, request.clone()).await?
                }
            };
            call::complete(&env.registry, &env.http, prepared, Some(self.origin)).await
        };
        let started = std::time::Instant::now();
        let result = match tokio::time::timeout(env.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(CallError::Host(format!(
                "the call to {} took longer than {:?}",
                request.model, env.timeout
            ))),
        };
        let outcome = match &result {
            Ok(_) => Outcome::Ok,
            Err(_) => Outcome::Error,
        };
        env.exec
            .call_metrics
            .observe(&request.model, outcome, started.elapsed());
        result
    }

    async fn reserve(
        &mut self,
        settle: Option<crate::budget::Tokens>,
        micros: u64,
    ) -> Result<(), String> {
        let (reply, rx) = oneshot::channel();
        (self.env.exec.gate)(StepCharge {
            task: self.origin.task,
            attempt: self.attempt,
            settle,
            reserve_micros: micros,
            reply,
        });
        rx.await
            .map_err(|_| "the scheduler has stopped".to_owned())?
    }

    async fn tool(&mut self, name: &str, args: Value) -> Result<String, ToolError> {
        tracing::info!(task = %self.ctx.task, tool = name, "tool called");
        let tools = self.env.exec.tools.current();
        let out = tools.call(&self.ctx, name, args).await?;
        if !tools.is_outside(name) {
            return Ok(out);
        }
        let source = format!("tool:{name}");
        let isolated = crate::security::isolate(&source, &out);
        for flag in isolated.flags {
            tracing::warn!(task = %self.ctx.task, tool = name, phrase = flag.phrase, "injection phrase in a tool's output");
            self.flags.push(hypernet_model::tasks::InjectionFlag {
                source: source.clone(),
                phrase: flag.phrase.to_owned(),
                count: flag.count,
            });
        }
        Ok(isolated.text)
    }

    async fn request_approval(
        &mut self,
        name: &str,
        args: Value,
        reason: &str,
    ) -> Option<Result<Held, String>> {
        let queue = self.env.exec.approvals.clone()?;
        let (task, worker) = (self.ctx.task, self.ctx.worker.clone());
        let (name, reason) = (name.to_owned(), reason.to_owned());
        let filed = tokio::task::spawn_blocking(move || {
            queue.request(
                task,
                &worker,
                &name,
                args,
                &reason,
                hypernet_model::clock::now_ms(),
            )
        })
        .await;
        Some(match filed {
            Ok(Ok(approval)) => Ok(Held {
                approval: approval.id,
                question: approval.question(),
            }),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        })
    }
}

/// Runs task `origin.task`'s calls for `attempt` as `spec` says; its result sums every
/// call's tokens (the scheduler charges the last call; earlier ones were charged as the
/// loop went).
pub async fn run_task(
    env: &CallEnv,
    spec: CallSpec,
    prepared: Option<PreparedCall>,
    attempt: u32,
    origin: &Origin,
) -> Result<TaskResult, CallError> {
    let Some(exec) = spec.exec else {
        return call::run(
            env.registry.clone(),
            env.providers.clone(),
            env.http.clone(),
            spec,
            prepared,
            env.timeout,
            Some(origin),
        )
        .await;
    };
    let live = Live {
        env,
        origin,
        attempt,
        prepared,
        ctx: env
            .exec
            .tool_context(origin.task, origin.worker.clone())
            .with_ceiling(exec.ceiling),
        flags: Vec::new(),
    };
    let cfg = &env.exec;
    let caps = if exec.conversation {
        cfg.conversation.caps()
    } else {
        Caps::default()
    };
    let mut runner = Runner::new(
        live,
        cfg.tools_cfg.clone(),
        exec.price,
        caps,
        exec.fenced,
        !exec.conversation,
    );
    let first = call::first_request(&spec);
    let outcome = if exec.conversation {
        conversation::run(&mut runner, &cfg.conversation, first).await
    } else {
        runner.run(first).await.map(|text| conversation::Outcome {
            text,
            signals: Vec::new(),
        })
    };
    let result = |runner: &Runner<Live<'_>>, text, signals, awaiting_approval| TaskResult {
        text,
        model: runner.model.clone(),
        input_tokens: runner.spent.tokens.input,
        output_tokens: runner.spent.tokens.output,
        cache_read_tokens: runner.spent.tokens.cache_read,
        cache_write_tokens: runner.spent.tokens.cache_write,
        cost_micros: 0,
        signals,
        simulated: runner.simulated,
        awaiting_approval,
        injection_flags: runner.steps.flags.clone(),
    };
    match outcome {
        Ok(out) => Ok(result(&runner, out.text, out.signals, None)),
        // Like an answer, the last call is settled by the scheduler.
        Err(Halt::Held(held)) => Ok(result(
            &runner,
            held.question,
            Vec::new(),
            Some(held.approval),
        )),
        Err(Halt::Failed(e)) => {
            runner.settle_last().await;
            Err(e)
        }
        Err(Halt::Cap(why)) => {
            runner.settle_last().await;
            Err(CallError::Host(format!(
                "stopped before any step finished: {why}"
            )))
        }
    }
}
