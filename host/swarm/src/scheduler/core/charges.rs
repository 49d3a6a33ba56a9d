//! Charging a settled call: the budget is told what kind of call it was — its category
//! (work, or a worker's personal time), the identity prompt it carried and what a compact
//! prompt saved, and the paid model a free local call stood in for — so `hypernet cost`
//! can show where the money went and what was saved.

use super::Core;
use crate::budget::{CallShape, Category, Charge, Tokens};
use hypernet_model::tasks::TaskId;

impl Core {
    /// Settles the call `worker` made on `model` for task `id` and returns its cost in
    /// micro-dollars.
    pub(super) fn charge(
        &mut self,
        id: TaskId,
        model: &str,
        worker: &str,
        tokens: Tokens,
        now_ms: u64,
    ) -> u64 {
        let task = self.active.get(&id);
        let category = match task {
            Some(t) if t.tags.iter().any(|g| g == crate::workers::personal::TAG) => {
                Category::Personal
            }
            _ => Category::Work,
        };
        let config = self
            .workers
            .iter()
            .find(|w| w.config.name == worker)
            .map(|w| &w.config);
        let free = self.budget.price(model).is_free();
        let shape = match (task, config) {
            (Some(task), Some(config)) if !free => {
                let sizes = self.identities.prompt_sizes(config, model, &task.title);
                let tokens = crate::budget::estimate_tokens;
                if self.limits.is_compact(model, &task.tags) {
                    CallShape {
                        identity_tokens: tokens(sizes.compact_chars),
                        compact_saved_tokens: tokens(sizes.full_chars)
                            .saturating_sub(tokens(sizes.compact_chars)),
                    }
                } else {
                    CallShape {
                        identity_tokens: tokens(sizes.full_chars),
                        compact_saved_tokens: 0,
                    }
                }
            }
            _ => CallShape::default(),
        };
        // A free call stands in for the router's default model, else the worker's own.
        let instead_of = free
            .then(|| {
                self.router
                    .default_model
                    .as_deref()
                    .or(config.and_then(|c| c.model.as_deref()))
            })
            .flatten()
            .filter(|m| !self.budget.price(m).is_free())
            .map(str::to_owned);
        // A share of a batched call: the identity prompt was sent once for all its tasks.
        let share = self.take_share(id);
        let of = share.map_or(1, |s| s.of.max(1));
        let shape = CallShape {
            identity_tokens: shape.identity_tokens / of,
            compact_saved_tokens: shape.compact_saved_tokens / of,
        };
        let charge = Charge {
            category,
            shape,
            share,
            instead_of: instead_of.as_deref(),
            // Answered through a provider's batch API: at the batch price.
            batch_api: self.batch_api.holds(id),
            ..Charge::work(model, worker, tokens)
        };
        self.budget.settle(id, &charge, now_ms)
    }
}
