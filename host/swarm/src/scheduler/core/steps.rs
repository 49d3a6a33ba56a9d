//! The budget of a task that makes several calls (a tool loop, a conversation): before
//! each call after its first, the loop settles the previous call's tokens and reserves the
//! next call's worst case here; the last call is settled with the answer
//! ([`Core::complete`]), less what the earlier calls were charged.

use super::Core;
use crate::budget::Tokens;
use hypernet_model::tasks::TaskId;

/// What a task's earlier calls were charged, for one attempt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepSpend {
    /// The attempt the calls belong to.
    pub attempt: u32,
    /// Tokens charged.
    pub tokens: Tokens,
    /// Micro-dollars charged.
    pub cost_micros: u64,
}

impl Core {
    /// Adds the characters the offered tools put in every prompt to the worst case
    /// reserved for a task's first call.
    pub fn set_tool_prompt_chars(&mut self, chars: usize) {
        self.tool_chars = chars;
    }

    /// Charges `settle` (the tokens of the call just made) to task `id`, then
    /// reserves `micros` for its next call; `Err` with the reason when the reservation
    /// would cross a limit or the attempt is no longer running (the tokens are charged
    /// anyway: they were spent).
    pub fn step(
        &mut self,
        id: TaskId,
        attempt: u32,
        settle: Option<Tokens>,
        micros: u64,
        now_ms: u64,
    ) -> Result<(), String> {
        let current = self.is_current(id, attempt);
        if let Some(tokens) = settle
            && let Some(task) = self.active.get(&id)
        {
            let (model, worker) = (task.model.clone(), task.worker.clone().unwrap_or_default());
            let cost = self.charge(id, &model, &worker, tokens, now_ms);
            self.fx.budget = true;
            if current {
                let spend = self.step_spend.entry(id).or_default();
                if spend.attempt != attempt {
                    *spend = StepSpend {
                        attempt,
                        ..StepSpend::default()
                    };
                }
                spend.tokens.add(&tokens);
                spend.cost_micros += cost;
            }
        }
        if !current {
            return Err(format!("{id} attempt {attempt} is no longer running"));
        }
        self.budget
            .reserve(id, micros, now_ms)
            .map_err(|e| e.to_string())
    }

    /// What the earlier calls of `id`'s `attempt` were charged (zero for a single call).
    pub(super) fn take_step_spend(&mut self, id: TaskId, attempt: u32) -> StepSpend {
        self.step_spend
            .remove(&id)
            .filter(|s| s.attempt == attempt)
            .unwrap_or_default()
    }
}
