//! Standing priorities: tasks the scheduler files itself while the swarm is idle, once per
//! cooldown per title and never while a task of that title is unfinished; and when the loop
//! must next wake for timed work (a retry, a standing priority, the budget's next day, the
//! failure ladder, autoscaling).

use super::{Core, PlannedTask};
use crate::config::StandingPriority;
use hypernet_model::tasks::TaskSpec;
use std::collections::BTreeMap;

impl Core {
    /// Files the standing priorities that are due: only when idle, once per cooldown per
    /// title, never while an unfinished task of that title exists.
    pub fn file_standing(&mut self, list: &[StandingPriority], now_ms: u64) -> usize {
        if !self.is_idle() {
            return 0;
        }
        let mut filed = 0;
        for s in list {
            let cooled = self
                .cooldowns
                .get(&s.title)
                .is_none_or(|&last| now_ms >= last + s.cooldown_secs * 1000);
            let open = self.title_is_open(&s.title);
            if !cooled || open {
                continue;
            }
            let spec = TaskSpec {
                title: s.title.clone(),
                description: s.description.clone(),
                priority: s.priority,
                tags: s.tags.clone(),
                ..TaskSpec::default()
            };
            if self
                .file(vec![PlannedTask { key: None, spec }], "standing", now_ms)
                .is_ok()
            {
                self.cooldowns.insert(s.title.clone(), now_ms);
                self.fx.cooldowns = true;
                filed += 1;
            }
        }
        filed
    }

    fn title_is_open(&self, title: &str) -> bool {
        self.active
            .values()
            .any(|t| t.title == title && t.status.is_unfinished())
    }

    /// When the next timed action is due: a retry, or (when idle) a standing priority.
    pub fn next_due(&self, list: &[StandingPriority]) -> Option<u64> {
        let retry = self.retries.iter().next().map(|&(at, _)| at);
        let standing = if self.is_idle() {
            list.iter()
                .filter(|s| !self.title_is_open(&s.title))
                .filter_map(|s| {
                    self.cooldowns
                        .get(&s.title)
                        .map(|&l| l + s.cooldown_secs * 1000)
                })
                .min()
        } else {
            None
        };
        let scale = self
            .scaler
            .cfg
            .enabled
            .then(|| self.scaler.next_due(&self.pool()))
            .flatten();
        [
            retry,
            standing,
            self.budget_wake_ms,
            self.ladder.next_due(),
            scale,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Standing-priority cooldowns (title → last filed).
    pub fn cooldowns(&self) -> &BTreeMap<String, u64> {
        &self.cooldowns
    }
}
