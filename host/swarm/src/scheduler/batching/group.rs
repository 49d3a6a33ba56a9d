//! Which tasks may share a call, and how many fit: a task qualifies when its complexity and
//! tags are among the configured ones and it is nothing but a task to answer (not delegated
//! by another swarm, no person's answers to carry, not deferrable: a deferrable task waits
//! for a provider's batch API instead); tasks share a call when they route to
//! the same model and carry the same tags, up to the configured count and characters.

use super::BatchingConfig;
use crate::router;
use hypernet_model::tasks::Task;
use std::collections::BTreeSet;

/// Whether `task` may share a call at all.
pub fn qualifies(cfg: &BatchingConfig, task: &Task) -> bool {
    let tags_ok = cfg.tags.is_empty()
        || (!task.tags.is_empty() && task.tags.iter().all(|t| cfg.tags.contains(t)));
    cfg.enabled
        && tags_ok
        && cfg.complexities.contains(&router::complexity_of(task))
        && task.remote.is_none()
        && task.clarifications.is_empty()
        && !task.deferrable
}

/// What the tasks of one call have in common: the model and the tags (in any order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupKey {
    model: String,
    tags: BTreeSet<String>,
}

impl GroupKey {
    /// The key of `task` routed to `model`.
    pub fn of(task: &Task, model: &str) -> GroupKey {
        GroupKey {
            model: model.to_owned(),
            tags: task.tags.iter().cloned().collect(),
        }
    }
}

/// What is left of a call's room as tasks join it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    tasks: usize,
    chars: usize,
}

impl Room {
    /// The room left beside a first task of `chars` characters; `None` when no other
    /// task could join it.
    pub fn beside(cfg: &BatchingConfig, chars: usize) -> Option<Room> {
        let room = Room {
            tasks: cfg.max_tasks.checked_sub(1)?,
            chars: cfg.max_chars.checked_sub(chars)?,
        };
        (room.tasks > 0 && room.chars > 0).then_some(room)
    }

    /// Whether a task of `chars` characters fits.
    pub fn fits(&self, chars: usize) -> bool {
        self.tasks > 0 && chars <= self.chars
    }

    /// Takes a task of `chars` characters in (it fits).
    pub fn take(&mut self, chars: usize) {
        self.tasks -= 1;
        self.chars -= chars;
    }

    /// Whether no more tasks may join.
    pub fn is_full(&self) -> bool {
        self.tasks == 0 || self.chars == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_model::tasks::{Complexity, TaskId, TaskSpec};
    use hypernet_plugin_api::Priority;

    fn task(tags: &[&str], priority: Priority, description: &str) -> Task {
        let spec = TaskSpec {
            title: "Write it".into(),
            description: description.into(),
            priority,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..TaskSpec::default()
        };
        Task::new(TaskId(1), spec, Vec::new(), "test", 3, 0)
    }

    #[test]
    fn simple_routine_tasks_qualify_and_others_do_not() {
        let cfg = BatchingConfig::default();
        assert!(qualifies(&cfg, &task(&["docs"], Priority::Normal, "")));
        assert!(qualifies(
            &cfg,
            &task(&["docs", "testing"], Priority::Low, "")
        ));
        // Not every tag routine; no tags; a complex one (critical and security-tagged).
        assert!(!qualifies(
            &cfg,
            &task(&["docs", "code"], Priority::Normal, "")
        ));
        assert!(!qualifies(&cfg, &task(&[], Priority::Normal, "")));
        assert!(!qualifies(
            &cfg,
            &task(&["docs"], Priority::Critical, &"x".repeat(1200))
        ));
        let mut explicit = task(&["docs"], Priority::Normal, "");
        explicit.complexity = Some(Complexity::Moderate);
        assert!(!qualifies(&cfg, &explicit));
        let moderate_too = BatchingConfig {
            complexities: vec![Complexity::Simple, Complexity::Moderate],
            ..Default::default()
        };
        assert!(qualifies(&moderate_too, &explicit));
        let any_tags = BatchingConfig {
            tags: Vec::new(),
            ..Default::default()
        };
        assert!(qualifies(&any_tags, &task(&[], Priority::Normal, "")));
        let off = BatchingConfig {
            enabled: false,
            ..Default::default()
        };
        assert!(!qualifies(&off, &task(&["docs"], Priority::Normal, "")));
        // A task a person already answered questions on keeps its own call.
        let mut answered = task(&["docs"], Priority::Normal, "");
        answered
            .clarifications
            .push(hypernet_model::tasks::Clarification {
                question: "Which file?".into(),
                asked_by: "Trace".into(),
                asked_ms: 0,
                answer: Some("README".into()),
                answered_ms: Some(1),
                approval: None,
            });
        assert!(!qualifies(&cfg, &answered));
        let mut deferrable = task(&["docs"], Priority::Normal, "");
        deferrable.deferrable = true;
        assert!(!qualifies(&cfg, &deferrable));
    }

    #[test]
    fn keys_match_on_model_and_tags_in_any_order() {
        let a = task(&["docs", "testing"], Priority::Normal, "");
        let b = task(&["testing", "docs"], Priority::High, "other");
        assert_eq!(GroupKey::of(&a, "m/x"), GroupKey::of(&b, "m/x"));
        assert_ne!(GroupKey::of(&a, "m/x"), GroupKey::of(&a, "m/y"));
        assert_ne!(
            GroupKey::of(&a, "m/x"),
            GroupKey::of(&task(&["docs"], Priority::Normal, ""), "m/x")
        );
    }

    #[test]
    fn the_room_counts_tasks_and_characters() {
        let cfg = BatchingConfig {
            max_tasks: 3,
            max_chars: 100,
            ..Default::default()
        };
        assert_eq!(Room::beside(&cfg, 100), None, "the first task fills it");
        assert_eq!(Room::beside(&cfg, 101), None);
        let mut room = Room::beside(&cfg, 40).unwrap();
        assert!(!room.fits(61));
        assert!(room.fits(60));
        room.take(30);
        assert!(!room.is_full() && room.fits(30) && !room.fits(31));
        room.take(10);
        assert!(room.is_full() && !room.fits(1), "three tasks at most");
        let two = BatchingConfig {
            max_tasks: 2,
            ..cfg
        };
        let mut room = Room::beside(&two, 10).unwrap();
        room.take(90);
        assert!(room.is_full());
    }
}
