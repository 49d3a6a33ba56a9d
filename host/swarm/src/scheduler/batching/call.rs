//! The batched call itself: the lead task's system prompt, the batched message listing
//! every task, no tools, one answer; the outcome goes back to the scheduler with what it
//! needs to split it and share its cost.

use super::prompt::{self, Item};
use super::shares::Layout;
use crate::scheduler::effects::Dispatch;
use crate::scheduler::{Command, Loop, call};
use hypernet_llm::CallError;
use hypernet_model::tasks::{TaskId, TaskResult};

/// A batched call to start.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchDispatch {
    /// The call, as the first task's (its worker, model, lane; `max_tokens` for all).
    pub call: Dispatch,
    /// Every task of the call with its attempt, the first task first.
    pub tasks: Vec<(TaskId, u32)>,
}

/// A batched call's end, for the scheduler.
#[derive(Debug)]
pub struct Finished {
    /// Every task of the call with its attempt, in the prompt's order.
    pub tasks: Vec<(TaskId, u32)>,
    /// How the call's input divides among the tasks.
    pub layout: Layout,
    /// The characters each task's single call would have sent (system prompt, tools and
    /// its own message), for the saving.
    pub single_chars: Vec<usize>,
    /// The answer, or why there is none.
    pub outcome: Result<TaskResult, CallError>,
}

impl Loop {
    /// Starts a batched call on a new lane; its outcome comes back as one command.
    pub(in crate::scheduler) fn start_batch(&self, b: BatchDispatch) {
        let Some(mut spec) = self.base_spec(&b.call) else {
            return;
        };
        let items: Vec<Item> = b
            .tasks
            .iter()
            .filter_map(|(id, _)| {
                let task = self.core.task(*id)?;
                Some(Item {
                    id: id.to_string(),
                    text: crate::prompts::user_prompt(task),
                })
            })
            .collect();
        if items.len() != b.tasks.len() {
            return;
        }
        let built = prompt::build(&items);
        let system_chars = spec.system.chars().count();
        let tool_chars = crate::scheduler::tool_prompt_chars(&self.exec.tools.current());
        let single_chars = items
            .iter()
            .map(|i| system_chars + tool_chars + i.text.chars().count())
            .collect();
        let layout = Layout {
            shared_chars: system_chars + built.shared_chars,
            own_chars: built.own_chars,
        };
        spec.prompt = built.text;
        spec.max_tokens = b.call.max_tokens;
        let (registry, providers, http, tx, timeout, probe) = (
            self.registry.clone(),
            self.providers.clone(),
            self.http.clone(),
            self.tx.clone(),
            self.call_timeout,
            self.probe.clone(),
        );
        let tasks = b.tasks;
        self.runtime.spawn(async move {
            if let Some(probe) = &probe {
                probe(tasks[0].0);
            }
            let ids: Vec<String> = tasks.iter().map(|(id, _)| id.to_string()).collect();
            tracing::info!(tasks = ?ids, model = %spec.model, "batched call started");
            let outcome = call::run(registry, providers, http, spec, None, timeout, None).await;
            match &outcome {
                Ok(r) => {
                    tracing::info!(tasks = ?ids, tokens = r.input_tokens + r.output_tokens, "batched call finished")
                }
                Err(e) => tracing::warn!(tasks = ?ids, error = %e, "batched call failed"),
            }
            let _ = tx.send(Command::Batched(Box::new(Finished {
                tasks,
                layout,
                single_chars,
                outcome,
            })));
        });
    }
}
