//! Automatic entries from task outcomes: `task.completed` scores 70, `task.failed` 20, both
//! with source `system`, for the task's worker in the task's domain.

use crate::entry::Judgement;
use crate::score::{Score, Source};
use hypernet_plugin_api::Event;

/// Tags that name a domain; a task's domain is its first tag in this list, else `code`.
pub const TASK_DOMAINS: [&str; 9] = [
    "governance",
    "review",
    "architecture",
    "identity",
    "communication",
    "coordination",
    "research",
    "infrastructure",
    "outreach",
];

/// The domain of work for tasks with no domain tag.
pub const DEFAULT_DOMAIN: &str = "code";

/// Score of a completed task, in tenths (70.0).
const COMPLETED_TENTHS: u32 = 700;
/// Score of a failed task, in tenths (20.0).
const FAILED_TENTHS: u32 = 200;

/// The first tag (in the task's order) that names a domain, compared without case, else
/// `code`.
pub fn task_domain<'a>(tags: impl IntoIterator<Item = &'a str>) -> &'static str {
    tags.into_iter()
        .find_map(|tag| {
            TASK_DOMAINS
                .iter()
                .find(|d| d.eq_ignore_ascii_case(tag.trim()))
        })
        .copied()
        .unwrap_or(DEFAULT_DOMAIN)
}

/// The entry a host task event makes, if any: only `task.completed` and `task.failed` from
/// the host (a plugin cannot forge task outcomes), and only when the task names a worker.
pub fn judgement_for(event: &Event) -> Option<Judgement> {
    let tenths = match event.kind.as_str() {
        "task.completed" => COMPLETED_TENTHS,
        "task.failed" => FAILED_TENTHS,
        _ => return None,
    };
    if event.source != "host" {
        return None;
    }
    let p = &event.payload;
    let worker = p["worker"]
        .as_str()
        .map(str::trim)
        .filter(|w| !w.is_empty())?;
    let id = p["id"].as_str().unwrap_or_default();
    let title = p["title"].as_str().unwrap_or_default();
    let tags = p["tags"]
        .as_array()
        .map(|tags| tags.iter().filter_map(|t| t.as_str()).collect::<Vec<_>>())
        .unwrap_or_default();
    Some(Judgement {
        entity: worker.to_owned(),
        domain: task_domain(tags).to_owned(),
        score: Score::from_tenths(tenths)?,
        source: Source::System,
        evidence: format!("task {id}: {title}"),
        reviewer: None,
        task: (!id.is_empty()).then(|| id.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn domain_is_the_first_domain_tag_else_code() {
        assert_eq!(task_domain(["rust", "review", "governance"]), "review");
        assert_eq!(task_domain(["Governance", "review"]), "governance");
        assert_eq!(task_domain(["outreach"]), "outreach");
        assert_eq!(task_domain(["rust", "tests"]), "code");
        assert_eq!(task_domain([]), "code");
        // `code` is the fallback, not a tag that wins over later domain tags.
        assert_eq!(task_domain(["code", "research"]), "research");
    }

    #[test]
    fn only_host_outcomes_with_a_worker_count() {
        let payload = json!({"id": "T-9", "title": "t", "tags": [], "worker": "Trace"});
        let forged = Event::new("task.completed", "some-plugin", payload.clone());
        assert_eq!(judgement_for(&forged), None);
        let other = Event::new("task.running", "host", payload);
        assert_eq!(judgement_for(&other), None);
        let unassigned = Event::new(
            "task.failed",
            "host",
            json!({"id": "T-9", "title": "t", "tags": [], "worker": null}),
        );
        assert_eq!(judgement_for(&unassigned), None);
    }
}
