//! The task board's filters: a status set chosen by cycling (`s`, `S`) and a text the
//! titles must contain (`/`). The host applies them to the listing it sends; the console
//! applies the same rule ([`TaskFilter::matches`]) at once, so the board changes with the
//! key, before the next refresh.

use crate::format::url_part;
use hypernet_model::tasks::{Task, TaskStatus};
use hypernet_swarm::scheduler::persist::TaskFilter;

/// Which statuses the board shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Every task.
    All,
    /// The unfinished ones (not completed, failed or cancelled).
    Open,
    /// Only this status.
    Only(TaskStatus),
}

/// The order `s` steps through (`S` steps back).
const CYCLE: [StatusFilter; 9] = [
    StatusFilter::All,
    StatusFilter::Open,
    StatusFilter::Only(TaskStatus::Running),
    StatusFilter::Only(TaskStatus::NeedsInput),
    StatusFilter::Only(TaskStatus::Ready),
    StatusFilter::Only(TaskStatus::Blocked),
    StatusFilter::Only(TaskStatus::Completed),
    StatusFilter::Only(TaskStatus::Failed),
    StatusFilter::Only(TaskStatus::Cancelled),
];

impl StatusFilter {
    /// The statuses it keeps (empty: any).
    fn statuses(self) -> Vec<TaskStatus> {
        match self {
            StatusFilter::All => Vec::new(),
            StatusFilter::Open => TaskStatus::ALL
                .into_iter()
                .filter(|s| s.is_unfinished())
                .collect(),
            StatusFilter::Only(status) => vec![status],
        }
    }

    /// `all`, `open` or the status's name.
    pub fn label(self) -> &'static str {
        match self {
            StatusFilter::All => "all",
            StatusFilter::Open => "open",
            StatusFilter::Only(status) => status.as_str(),
        }
    }

    fn step(self, by: isize) -> StatusFilter {
        let at = CYCLE.iter().position(|s| *s == self).unwrap_or(0) as isize;
        let len = CYCLE.len() as isize;
        CYCLE[(at + by).rem_euclid(len) as usize]
    }
}

/// What the board shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The statuses.
    pub status: StatusFilter,
    /// Text the titles contain (any case); empty keeps every title.
    pub text: String,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            status: StatusFilter::All,
            text: String::new(),
        }
    }
}

impl Filter {
    /// The next status set (`s`).
    pub fn next_status(&mut self) {
        self.status = self.status.step(1);
    }

    /// The previous status set (`S`).
    pub fn previous_status(&mut self) {
        self.status = self.status.step(-1);
    }

    fn text(&self) -> Option<&str> {
        Some(self.text.trim()).filter(|t| !t.is_empty())
    }

    /// The host's own rule for the same filter.
    fn rule(&self) -> TaskFilter {
        TaskFilter {
            statuses: self.status.statuses(),
            text: self.text().map(str::to_owned),
            ..TaskFilter::default()
        }
    }

    /// Whether the board shows `task`.
    pub fn matches(&self, task: &Task) -> bool {
        self.rule().matches(task)
    }

    /// `GET /api/tasks` with this filter, at most `limit` tasks.
    pub fn path(&self, limit: usize) -> String {
        let mut path = format!("/api/tasks?limit={limit}");
        let statuses: Vec<&str> = self
            .status
            .statuses()
            .into_iter()
            .map(TaskStatus::as_str)
            .collect();
        if !statuses.is_empty() {
            path.push_str(&format!("&status={}", statuses.join(",")));
        }
        if let Some(text) = self.text() {
            path.push_str(&format!("&q={}", url_part(text)));
        }
        path
    }

    /// `open`, `open · "north"`: what the board's title shows.
    pub fn label(&self) -> String {
        match self.text() {
            Some(text) => format!("{} · \"{text}\"", self.status.label()),
            None => self.status.label().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_model::tasks::{TaskId, TaskSpec};

    fn task(title: &str, status: TaskStatus) -> Task {
        let spec = TaskSpec {
            title: title.into(),
            ..TaskSpec::default()
        };
        let mut task = Task::new(TaskId(1), spec, Vec::new(), "person", 3, 0);
        task.status = status;
        task
    }

    #[test]
    fn the_status_filter_cycles_both_ways() {
        let mut filter = Filter::default();
        let mut seen = vec![filter.status.label()];
        for _ in 0..CYCLE.len() {
            filter.next_status();
            seen.push(filter.status.label());
        }
        assert_eq!(
            seen,
            [
                "all",
                "open",
                "running",
                "needs_input",
                "ready",
                "blocked",
                "completed",
                "failed",
                "cancelled",
                "all"
            ]
        );
        filter.previous_status();
        assert_eq!(filter.status, StatusFilter::Only(TaskStatus::Cancelled));
        filter.next_status();
        filter.next_status();
        assert_eq!(filter.status, StatusFilter::Open);
    }

    #[test]
    fn filters_keep_matching_statuses_and_titles_in_any_case() {
        let running = task("Survey the North wall", TaskStatus::Running);
        let done = task("Paint the gate", TaskStatus::Completed);
        let mut filter = Filter::default();
        assert!(filter.matches(&running) && filter.matches(&done));
        filter.next_status(); // open
        assert!(filter.matches(&running) && !filter.matches(&done));
        filter.text = "  north ".into();
        assert!(filter.matches(&running));
        filter.text = "gate".into();
        assert!(!filter.matches(&running));
        filter.status = StatusFilter::Only(TaskStatus::Completed);
        assert!(filter.matches(&done));
        assert_eq!(filter.label(), "completed · \"gate\"");
        filter.text = " ".into();
        assert_eq!(filter.label(), "completed");
    }

    #[test]
    fn the_host_is_asked_for_the_same_tasks() {
        let mut filter = Filter::default();
        assert_eq!(filter.path(200), "/api/tasks?limit=200");
        filter.next_status();
        assert_eq!(
            filter.path(50),
            "/api/tasks?limit=50&status=pending,blocked,ready,assigned,running,needs_input,delegated"
        );
        filter.status = StatusFilter::Only(TaskStatus::Failed);
        filter.text = "north wall&co".into();
        assert_eq!(
            filter.path(5),
            "/api/tasks?limit=5&status=failed&q=north%20wall%26co"
        );
    }
}
