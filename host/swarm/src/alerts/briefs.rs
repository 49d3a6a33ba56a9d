//! What the morning brief, the evening recap and the reminders say: plain functions from
//! the figures to text. The brief covers what was done, what failed for good and what waits
//! on people since the last brief (of either kind), the queue, and the spend; the reminder
//! lists what waits.

use super::detectors::dollars;
use super::schedule::Zone;
use super::tracker::Tracked;
use crate::budget::BudgetView;
use hypernet_model::tasks::{Task, TaskId, TaskStatus};
use std::collections::BTreeMap;

/// The two briefs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Brief {
    /// The morning brief.
    Morning,
    /// The evening recap.
    Evening,
}

impl Brief {
    /// Both.
    pub const ALL: [Brief; 2] = [Brief::Morning, Brief::Evening];

    /// `morning`, `evening` (the store's key and the message's tag).
    pub fn name(self) -> &'static str {
        match self {
            Brief::Morning => "morning",
            Brief::Evening => "evening",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Brief::Morning => "Morning brief",
            Brief::Evening => "Evening recap",
        }
    }
}

/// At most this many tasks are named per line.
const NAMED: usize = 8;

/// Tasks finished since a moment: completed ones, and ones failed for good.
#[derive(Debug, Default, PartialEq)]
pub struct Finished {
    /// Completed: id and title, oldest first.
    pub done: Vec<(TaskId, String)>,
    /// Failed for good: id, title and error, oldest first.
    pub failed: Vec<(TaskId, String, String)>,
}

impl Finished {
    /// Collects from every stored task those finished at or after `since_ms`.
    pub fn since(tasks: impl IntoIterator<Item = Task>, since_ms: u64) -> Finished {
        let mut out = Finished::default();
        let mut all: Vec<Task> = tasks
            .into_iter()
            .filter(|t| t.finished_ms.is_some_and(|f| f >= since_ms))
            .collect();
        all.sort_by_key(|t| (t.finished_ms, t.id));
        for t in all {
            match t.status {
                TaskStatus::Completed => out.done.push((t.id, t.title)),
                TaskStatus::Failed if t.retry_at_ms.is_none() => {
                    out.failed
                        .push((t.id, t.title, t.error.unwrap_or_default()))
                }
                _ => {}
            }
        }
        out
    }
}

/// Everything a brief tells.
#[derive(Debug)]
pub struct Figures<'a> {
    /// Since when.
    pub since_ms: u64,
    /// Finished since then.
    pub finished: Finished,
    /// Waiting on people, oldest first.
    pub waiting: Vec<(TaskId, &'a Tracked)>,
    /// Held tasks by status (the scheduler's counts).
    pub queue: BTreeMap<String, u64>,
    /// The budget.
    pub budget: BudgetView,
}

fn named<T>(items: &[T], show: impl Fn(&T) -> String) -> String {
    let mut parts: Vec<String> = items.iter().take(NAMED).map(show).collect();
    if items.len() > NAMED {
        parts.push(format!("and {} more", items.len() - NAMED));
    }
    parts.join(", ")
}

/// One line per waiting task, with the command that answers it.
fn waiting_lines(waiting: &[(TaskId, &Tracked)]) -> String {
    waiting
        .iter()
        .map(|(id, t)| {
            let who = t.worker.as_deref().unwrap_or("a worker");
            let question = t.question.as_deref().unwrap_or("(no question given)");
            match &t.approval {
                Some(aq) => format!(
                    "- {id} \"{}\": {aq}, {who} asks: {question} Answer with: approve {aq} | deny {aq} <reason>",
                    t.title
                ),
                None => format!(
                    "- {id} \"{}\": {who} asks: {question} Answer with: answer {id} <your answer>",
                    t.title
                ),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn spend(budget: &BudgetView) -> String {
    let of = |limit: Option<u64>| limit.map_or(String::new(), |l| format!(" of {}", dollars(l)));
    format!(
        "Spend: {} today{}; {} since the host started{}.{}",
        dollars(budget.spent_today_micros),
        of(budget.daily_limit_micros),
        dollars(budget.spent_session_micros),
        of(budget.session_limit_micros),
        if budget.paused {
            " Paid work is paused."
        } else {
            ""
        }
    )
}

fn queue(counts: &BTreeMap<String, u64>) -> String {
    let count = |k: &str| counts.get(k).copied().unwrap_or(0);
    let parts: Vec<String> = [
        ("ready", count("ready")),
        ("running", count("running") + count("assigned")),
        ("blocked", count("blocked") + count("pending")),
        ("failed awaiting a retry", count("failed")),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(what, n)| format!("{n} {what}"))
    .collect();
    if parts.is_empty() {
        "Pending: nothing.".to_owned()
    } else {
        format!("Pending: {}.", parts.join(", "))
    }
}

/// The subject and body of `brief` at `now_ms`.
pub fn brief(brief: Brief, figures: &Figures<'_>, zone: &Zone, now_ms: u64) -> (String, String) {
    let subject = format!(
        "{}, {} ({})",
        brief.title(),
        zone.day_and_clock(now_ms),
        zone.name()
    );
    let f = &figures.finished;
    let mut lines = vec![format!(
        "{subject}. Since {}:",
        zone.day_and_clock(figures.since_ms)
    )];
    lines.push(if f.done.is_empty() {
        "Done: nothing.".to_owned()
    } else {
        format!(
            "Done: {}: {}.",
            f.done.len(),
            named(&f.done, |(id, title)| format!("{id} \"{title}\""))
        )
    });
    if !f.failed.is_empty() {
        lines.push(format!(
            "Failed: {}: {}.",
            f.failed.len(),
            named(&f.failed, |(id, title, error)| format!(
                "{id} \"{title}\" ({error})"
            ))
        ));
    }
    if figures.waiting.is_empty() {
        lines.push("Waiting for you: nothing.".to_owned());
    } else {
        lines.push(format!("Waiting for you: {}.", figures.waiting.len()));
        lines.push(waiting_lines(&figures.waiting));
    }
    lines.push(queue(&figures.queue));
    lines.push(spend(&figures.budget));
    (subject, lines.join("\n"))
}

/// The body of a reminder of what waits (never called with nothing waiting).
pub fn reminder(waiting: &[(TaskId, &Tracked)], zone: &Zone, now_ms: u64) -> String {
    let oldest = waiting
        .iter()
        .map(|(_, t)| t.since_ms)
        .min()
        .unwrap_or(now_ms);
    format!(
        "Reminder: {} {} waiting for you, the oldest since {}.\n{}",
        waiting.len(),
        if waiting.len() == 1 {
            "question is"
        } else {
            "questions are"
        },
        zone.day_and_clock(oldest),
        waiting_lines(waiting)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: u64, status: TaskStatus, finished_ms: Option<u64>) -> Task {
        let mut t = crate::alerts::tests::task(id, status);
        t.finished_ms = finished_ms;
        t.error = Some("boom".into());
        t
    }

    fn utc() -> Zone {
        Zone::named("UTC").unwrap()
    }

    #[test]
    fn finished_since_keeps_completed_and_final_failures() {
        let mut retried = task(4, TaskStatus::Failed, Some(50));
        retried.retry_at_ms = Some(60);
        let tasks = vec![
            task(1, TaskStatus::Completed, Some(10)),
            task(2, TaskStatus::Completed, Some(40)),
            task(3, TaskStatus::Failed, Some(30)),
            retried,
            task(5, TaskStatus::Cancelled, Some(50)),
            task(6, TaskStatus::Ready, None),
        ];
        let f = Finished::since(tasks, 20);
        assert_eq!(f.done, [(TaskId(2), "t2".to_owned())]);
        assert_eq!(f.failed, [(TaskId(3), "t3".to_owned(), "boom".to_owned())]);
    }

    #[test]
    fn a_brief_tells_everything_in_a_few_lines() {
        let asking = Tracked {
            title: "Paint".into(),
            status: TaskStatus::NeedsInput,
            since_ms: 3_600_000,
            worker: Some("Coder".into()),
            question: Some("Which wall?".into()),
            approval: None,
            reported: false,
        };
        let approving = Tracked {
            title: "Deploy".into(),
            approval: Some("AQ-0002".into()),
            question: Some("run shell `make deploy`?".into()),
            ..asking.clone()
        };
        let figures = Figures {
            since_ms: 0,
            finished: Finished {
                done: (1..=10).map(|i| (TaskId(i), format!("d{i}"))).collect(),
                failed: vec![(TaskId(11), "Ship".into(), "refused".into())],
            },
            waiting: vec![(TaskId(12), &asking), (TaskId(13), &approving)],
            queue: [
                ("ready".to_owned(), 3),
                ("running".to_owned(), 1),
                ("assigned".to_owned(), 1),
            ]
            .into(),
            budget: BudgetView {
                spent_today_micros: 190_000,
                daily_limit_micros: Some(250_000),
                spent_session_micros: 1_234_567,
                ..BudgetView::default()
            },
        };
        let now = 8 * 3_600_000;
        let (subject, body) = brief(Brief::Morning, &figures, &utc(), now);
        assert_eq!(subject, "Morning brief, Thu 1 Jan 08:00 (UTC)");
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(
            lines[0],
            "Morning brief, Thu 1 Jan 08:00 (UTC). Since Thu 1 Jan 00:00:"
        );
        assert_eq!(
            lines[1],
            "Done: 10: T-1 \"d1\", T-2 \"d2\", T-3 \"d3\", T-4 \"d4\", T-5 \"d5\", T-6 \"d6\", T-7 \"d7\", T-8 \"d8\", and 2 more."
        );
        assert_eq!(lines[2], "Failed: 1: T-11 \"Ship\" (refused).");
        assert_eq!(lines[3], "Waiting for you: 2.");
        assert_eq!(
            lines[4],
            "- T-12 \"Paint\": Coder asks: Which wall? Answer with: answer T-12 <your answer>"
        );
        assert_eq!(
            lines[5],
            "- T-13 \"Deploy\": AQ-0002, Coder asks: run shell `make deploy`? Answer with: approve AQ-0002 | deny AQ-0002 <reason>"
        );
        assert_eq!(lines[6], "Pending: 3 ready, 2 running.");
        assert_eq!(
            lines[7],
            "Spend: $0.19 today of $0.25; $1.23 since the host started."
        );

        let quiet = Figures {
            since_ms: 0,
            finished: Finished::default(),
            waiting: Vec::new(),
            queue: BTreeMap::new(),
            budget: BudgetView::default(),
        };
        let (subject, body) = brief(Brief::Evening, &quiet, &utc(), now);
        assert!(subject.starts_with("Evening recap"));
        assert!(body.contains("Done: nothing.\nWaiting for you: nothing.\nPending: nothing.\nSpend: $0.00 today; $0.00 since"), "{body}");

        let text = reminder(&figures.waiting, &utc(), now);
        assert!(text.starts_with("Reminder: 2 questions are waiting for you, the oldest since Thu 1 Jan 01:00.\n- T-12"), "{text}");
    }
}
