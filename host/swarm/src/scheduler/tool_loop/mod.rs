//! The tool loop: model → tool calls → results fed back → model, until the model answers
//! without calling a tool or `[tools] max_steps` calls have been made.
//!
//! Its settings are `[tools]` ([`ToolsConfig`]): `enabled`, `max_steps` (model calls per
//! loop; a model still calling tools then fails the task), `repeat_limit` (the same call or
//! the same error this often stops it) and `fenced_models` (model prefixes without native
//! tool calling: tools described in the prompt, called with ```tool blocks, results sent
//! as a user message).
//!
//! Native calls (`Completion::tool_calls`) are answered with `ToolResult` blocks carrying
//! the call's id; fenced calls (```` ```tool ```` blocks, read by [`hypernet_model::tasks::blocks`])
//! with one user message listing each result. A failed tool — unknown, bad arguments,
//! refused, broken — is an error result the model reads, never a crash.
//!
//! Every model call after a task's first is paid for step by step: before it, the previous
//! call's usage is settled and the worst case of the next (its prompt characters / 4 input
//! tokens plus `max_tokens` output) is reserved through [`Steps::reserve`], which the
//! scheduler refuses when a budget limit would be crossed. Under [`Caps`] (conversation
//! mode) a call whose worst case would cross the task's own cap is not made either.
//!
//! The logic is written against the [`Steps`] trait (model, budget, tools), so tests drive
//! it with scripted answers.

use crate::budget::{Price, Tokens, estimate_tokens};
use crate::tools::ToolError;
pub use crate::tools::ToolsConfig;
use hypernet_llm::CallError;
use hypernet_model::tasks::blocks;
use hypernet_plugin_api::provider::{
    Completion, CompletionRequest, ContentBlock, Message, Role, ToolSpec,
};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;

/// What a system prompt says for a model that calls tools with fenced blocks.
pub fn fenced_instructions(tools: &[ToolSpec]) -> String {
    let mut text = String::from(
        "\n\n## Tools\nYou may call a tool by answering with a fenced block and nothing after it:\n\
         ```tool\n{\"name\": \"<tool>\", \"args\": {...}}\n```\n\
         The results come back in the next message. Answer without a tool block when done.\n",
    );
    for t in tools {
        text.push_str(&format!(
            "- `{}`: {} Arguments (JSON Schema): {}\n",
            t.name, t.description, t.input_schema
        ));
    }
    text
}

/// A task's own spending cap (conversation mode); `None` fields are unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Caps {
    /// Input plus output tokens of every call of the task.
    pub max_tokens: Option<u64>,
    /// Cost of every call of the task, micro-dollars.
    pub max_cost_micros: Option<u64>,
}

/// Tokens and cost of the calls made so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spent {
    /// Tokens (input counting cache reads and writes).
    pub tokens: Tokens,
    /// Cost at the model's price, micro-dollars.
    pub cost_micros: u64,
}

/// The world one task's loop talks to.
pub trait Steps: Send {
    /// Makes one model call.
    fn complete(
        &mut self,
        request: &CompletionRequest,
    ) -> impl Future<Output = Result<Completion, CallError>> + Send;
    /// Settles the previous call's tokens (`settle`, when given) and reserves `micros` for
    /// the next; `Err` with the reason when the budget refuses.
    fn reserve(
        &mut self,
        settle: Option<Tokens>,
        micros: u64,
    ) -> impl Future<Output = Result<(), String>> + Send;
    /// Runs a tool.
    fn tool(
        &mut self,
        name: &str,
        args: Value,
    ) -> impl Future<Output = Result<String, ToolError>> + Send;
    /// Files a request for a person to approve the held call `name(args)`; the request, or
    /// why it could not be filed (the model is told that instead). Without an approval
    /// queue, nothing is filed.
    fn request_approval(
        &mut self,
        name: &str,
        args: Value,
        reason: &str,
    ) -> impl Future<Output = Option<Result<Held, String>>> + Send {
        let _ = (name, args, reason);
        async { None }
    }
}

/// A tool call held for a person's approval.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    /// The request it waits on.
    pub approval: hypernet_model::ids::ApprovalId,
    /// The request's question, as the worker will be reminded of it.
    pub question: String,
}

/// Why a loop stopped without an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Halt {
    /// The task fails with this error.
    Failed(CallError),
    /// The task's cap would be crossed by the next call (the reason says which).
    Cap(String),
    /// A tool call waits for a person's approval; the task waits with it.
    Held(Held),
}

impl From<CallError> for Halt {
    fn from(e: CallError) -> Self {
        Halt::Failed(e)
    }
}

fn host(message: String) -> Halt {
    Halt::Failed(CallError::Host(message))
}

/// Runs loops for one task, keeping its spend, budget steps and repeat counts.
pub struct Runner<S> {
    /// The model, budget and tools.
    pub steps: S,
    cfg: ToolsConfig,
    price: Price,
    caps: Caps,
    fenced: bool,
    /// Whether the next call is covered by the reservation made when the task was assigned.
    first_covered: bool,
    /// Tokens and cost of every call so far.
    pub spent: Spent,
    /// The last call's tokens, not yet settled.
    unsettled: Option<Tokens>,
    calls: HashMap<String, u32>,
    errors: HashMap<String, u32>,
    /// The model id the provider last reported.
    pub model: String,
    /// Whether a simulated provider answered.
    pub simulated: bool,
}

impl<S: Steps> Runner<S> {
    /// A runner for one task. `first_covered`: the task's assignment reserved enough for
    /// the first call (the plain loop); otherwise that call is reserved here too.
    pub fn new(
        steps: S,
        cfg: ToolsConfig,
        price: Price,
        caps: Caps,
        fenced: bool,
        first_covered: bool,
    ) -> Self {
        Runner {
            steps,
            cfg,
            price,
            caps,
            fenced,
            first_covered,
            spent: Spent::default(),
            unsettled: None,
            calls: HashMap::new(),
            errors: HashMap::new(),
            model: String::new(),
            simulated: false,
        }
    }

    /// Settles the last call with nothing reserved after it: for a loop that stops
    /// without an answer (its tokens were spent all the same).
    pub async fn settle_last(&mut self) {
        if let Some(used) = self.unsettled.take()
            && let Err(e) = self.steps.reserve(Some(used), 0).await
        {
            tracing::warn!(error = %e, "the last call of a stopped loop was not settled");
        }
    }

    /// One model call, reserved and capped first.
    async fn call(&mut self, request: &CompletionRequest) -> Result<Completion, Halt> {
        let chars = request.system.as_deref().map_or(0, |s| s.chars().count())
            + request
                .messages
                .iter()
                .flat_map(|m| &m.content)
                .map(|b| match b {
                    ContentBlock::Text { text } => text.chars().count(),
                    ContentBlock::ToolUse { name, input, .. } => {
                        name.len() + input.to_string().len()
                    }
                    ContentBlock::ToolResult { content, .. } => content.chars().count(),
                })
                .sum::<usize>()
            + serde_json::to_string(&request.tools).map_or(0, |s| s.len());
        let input = estimate_tokens(chars);
        let output = u64::from(request.max_tokens);
        let worst = self.price.cost_micros(input, output);
        let used_tokens = self.spent.tokens.input + self.spent.tokens.output;
        if let Some(cap) = self.caps.max_tokens
            && used_tokens + input + output > cap
        {
            return Err(Halt::Cap(format!(
                "[conversation] max_tokens_per_task = {cap}: {used_tokens} used, the next call may take {}",
                input + output
            )));
        }
        if let Some(cap) = self.caps.max_cost_micros
            && self.spent.cost_micros + worst > cap
        {
            return Err(Halt::Cap(format!(
                "[conversation] max_cost_usd_per_task = {}: ${:.6} spent, the next call may cost ${:.6}",
                cap as f64 / 1e6,
                self.spent.cost_micros as f64 / 1e6,
                worst as f64 / 1e6
            )));
        }
        if std::mem::take(&mut self.first_covered) {
            debug_assert!(self.unsettled.is_none());
        } else {
            let settle = self.unsettled.take();
            self.steps
                .reserve(settle, worst)
                .await
                .map_err(|e| host(format!("budget: {e}")))?;
        }
        let completion = self.steps.complete(request).await?;
        let tokens = Tokens::of_call(&completion.usage);
        self.unsettled = Some(tokens);
        self.spent.tokens.add(&tokens);
        self.spent.cost_micros += self.price.cost_of(&tokens);
        self.model.clone_from(&completion.model);
        self.simulated |= completion.simulated;
        Ok(completion)
    }

    /// Counts a call; the loop stops when it reaches the repeat limit.
    fn count_call(&mut self, name: &str, args: &Value) -> Result<(), Halt> {
        let key = format!("{name} {args}");
        let n = self.calls.entry(key.clone()).or_default();
        *n += 1;
        if *n >= self.cfg.repeat_limit {
            return Err(host(format!("loop detected: {key} called {n} times")));
        }
        Ok(())
    }

    /// Runs one tool, counting its error; the loop stops on the same error too often.
    async fn run_tool(&mut self, name: &str, args: Value) -> Result<Result<String, String>, Halt> {
        self.count_call(name, &args)?;
        match self.steps.tool(name, args.clone()).await {
            Ok(out) => Ok(Ok(out)),
            Err(ToolError::NeedsApproval { reason, .. }) => {
                match self.steps.request_approval(name, args, &reason).await {
                    Some(Ok(held)) => Err(Halt::Held(held)),
                    Some(Err(why)) => Ok(Err(format!(
                        "`{name}` needs a person's approval, but the request could not be filed: {why}"
                    ))),
                    None => Ok(Err(format!("`{name}` needs a person's approval: {reason}"))),
                }
            }
            Err(e) => {
                let e = e.to_string();
                let n = self.errors.entry(e.clone()).or_default();
                *n += 1;
                if *n >= self.cfg.repeat_limit {
                    return Err(host(format!(
                        "loop detected: the same error {n} times: {e}"
                    )));
                }
                Ok(Err(e))
            }
        }
    }

    /// Runs the loop from `request` until the model answers without calling a tool;
    /// returns that answer's text.
    pub async fn run(&mut self, mut request: CompletionRequest) -> Result<String, Halt> {
        let mut step = 0;
        loop {
            step += 1;
            let completion = self.call(&request).await?;
            let fenced_calls = if self.fenced {
                let found = blocks::parse(&completion.text);
                let malformed: Vec<String> = found
                    .malformed
                    .into_iter()
                    .filter(|m| m.starts_with("`tool`"))
                    .collect();
                (!found.tools.is_empty() || !malformed.is_empty())
                    .then_some((found.tools, malformed))
            } else {
                None
            };
            if completion.tool_calls.is_empty() && fenced_calls.is_none() {
                return Ok(completion.text);
            }
            if step >= self.cfg.max_steps {
                return Err(host(format!(
                    "tool loop stopped: the model still called tools after {step} steps ([tools] max_steps = {})",
                    self.cfg.max_steps
                )));
            }
            let mut assistant = Vec::new();
            if !completion.text.is_empty() {
                assistant.push(ContentBlock::Text {
                    text: completion.text.clone(),
                });
            }
            let mut results = Vec::new();
            if let Some((calls, malformed)) = fenced_calls {
                let mut text = String::new();
                for call in calls {
                    let label = format!("{} {}", call.name, call.args);
                    match self.run_tool(&call.name, call.args).await? {
                        Ok(out) => text.push_str(&format!("Result of {label}:\n{out}\n\n")),
                        Err(e) => text.push_str(&format!("Error from {label}: {e}\n\n")),
                    }
                }
                for m in malformed {
                    text.push_str(&format!("Error: {m}\n\n"));
                }
                results.push(ContentBlock::Text {
                    text: text.trim_end().to_owned(),
                });
            } else {
                for call in completion.tool_calls {
                    let (content, is_error) =
                        match self.run_tool(&call.name, call.arguments.clone()).await? {
                            Ok(out) => (out, false),
                            Err(e) => (e, true),
                        };
                    assistant.push(ContentBlock::ToolUse {
                        id: call.id.clone(),
                        name: call.name,
                        input: call.arguments,
                    });
                    results.push(ContentBlock::ToolResult {
                        tool_use_id: call.id,
                        content,
                        is_error,
                    });
                }
            }
            request.messages.push(Message {
                role: Role::Assistant,
                content: assistant,
            });
            request.messages.push(Message {
                role: Role::User,
                content: results,
            });
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
