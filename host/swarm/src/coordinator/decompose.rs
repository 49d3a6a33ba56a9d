//! Splitting a large task into a chain of subtasks.
//!
//! The first rule that matches decides the shape:
//!
//! 1. the description mentions a phase, step or stage → Plan (high) / Implement / Test;
//! 2. a tag is `code` or `implementation` → Design (high) / Implement / Test;
//! 3. a tag is `docs` → Draft / Review.
//!
//! Each subtask depends on the one before it, inherits the parent's tags and priority (the
//! first of a high-marked shape gets at least high) and names the parent. The parent itself
//! waits on the last subtask (see [`crate::scheduler::core::Core::decompose`]).

use hypernet_model::tasks::PlannedTask;
use hypernet_model::tasks::{Task, TaskSpec};
use hypernet_plugin_api::Priority;

/// The stages of a shape, with whether the first one is raised to high priority.
fn shape(task: &Task) -> Option<(&'static [&'static str], bool)> {
    let description = task.description.to_lowercase();
    let has_tag = |names: &[&str]| {
        task.tags
            .iter()
            .any(|t| names.iter().any(|n| t.eq_ignore_ascii_case(n)))
    };
    if ["phase", "step", "stage"]
        .iter()
        .any(|w| description.contains(w))
    {
        Some((&["Plan", "Implement", "Test"], true))
    } else if has_tag(&["code", "implementation"]) {
        Some((&["Design", "Implement", "Test"], true))
    } else if has_tag(&["docs"]) {
        Some((&["Draft", "Review"], false))
    } else {
        None
    }
}

/// The chained subtasks of `task` as one batch (keys `stage-0`, `stage-1`, ...), or `None`
/// when no rule matches.
pub fn subtasks(task: &Task) -> Option<Vec<PlannedTask>> {
    let (stages, first_high) = shape(task)?;
    let planned = stages
        .iter()
        .enumerate()
        .map(|(i, stage)| {
            let priority = if i == 0 && first_high {
                task.priority.max(Priority::High)
            } else {
                task.priority
            };
            let description = if task.description.is_empty() {
                format!("{stage} step of {} ({}).", task.title, task.id)
            } else {
                format!(
                    "{stage} step of {} ({}).\n\n{}",
                    task.title, task.id, task.description
                )
            };
            PlannedTask {
                key: Some(format!("stage-{i}")),
                spec: TaskSpec {
                    title: format!("{stage}: {}", task.title),
                    description,
                    priority,
                    tags: task.tags.clone(),
                    depends_on: (i > 0)
                        .then(|| format!("stage-{}", i - 1))
                        .into_iter()
                        .collect(),
                    parent: Some(task.id),
                    ..TaskSpec::default()
                },
            }
        })
        .collect();
    Some(planned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_model::tasks::TaskId;

    fn task(description: &str, tags: &[&str], priority: Priority) -> Task {
        let spec = TaskSpec {
            title: "Ship it".into(),
            description: description.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            priority,
            ..TaskSpec::default()
        };
        Task::new(TaskId(7), spec, Vec::new(), "person", 3, 0)
    }

    fn summary(p: &[PlannedTask]) -> Vec<(String, Priority, Vec<String>)> {
        p.iter()
            .map(|p| {
                (
                    p.spec.title.clone(),
                    p.spec.priority,
                    p.spec.depends_on.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn phases_in_the_description_give_plan_implement_test() {
        let t = task("Do it in three Phases.", &["code"], Priority::Normal);
        let p = subtasks(&t).unwrap();
        assert_eq!(
            summary(&p),
            vec![
                ("Plan: Ship it".into(), Priority::High, vec![]),
                (
                    "Implement: Ship it".into(),
                    Priority::Normal,
                    vec!["stage-0".into()]
                ),
                (
                    "Test: Ship it".into(),
                    Priority::Normal,
                    vec!["stage-1".into()]
                ),
            ]
        );
        assert!(p.iter().all(|s| s.spec.parent == Some(TaskId(7))));
        assert!(p.iter().all(|s| s.spec.tags == vec!["code".to_string()]));
        assert!(p[1].spec.description.contains("Do it in three Phases."));
        assert!(
            p[0].spec
                .description
                .starts_with("Plan step of Ship it (T-7).")
        );
    }

    #[test]
    fn code_tags_give_design_implement_test() {
        let t = task("Write the parser.", &["Implementation"], Priority::Low);
        assert_eq!(
            summary(&subtasks(&t).unwrap()),
            vec![
                ("Design: Ship it".into(), Priority::High, vec![]),
                (
                    "Implement: Ship it".into(),
                    Priority::Low,
                    vec!["stage-0".into()]
                ),
                (
                    "Test: Ship it".into(),
                    Priority::Low,
                    vec!["stage-1".into()]
                ),
            ]
        );
        // A critical parent's first subtask stays critical.
        let t = task("", &["code"], Priority::Critical);
        assert_eq!(subtasks(&t).unwrap()[0].spec.priority, Priority::Critical);
    }

    #[test]
    fn docs_tags_give_draft_review() {
        let t = task("The manual.", &["docs"], Priority::High);
        assert_eq!(
            summary(&subtasks(&t).unwrap()),
            vec![
                ("Draft: Ship it".into(), Priority::High, vec![]),
                (
                    "Review: Ship it".into(),
                    Priority::High,
                    vec!["stage-0".into()]
                ),
            ]
        );
    }

    #[test]
    fn other_tasks_are_not_split() {
        assert!(subtasks(&task("Think hard.", &["research"], Priority::Normal)).is_none());
    }
}
