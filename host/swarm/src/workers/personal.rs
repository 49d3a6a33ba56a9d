//! Personal time: after every few work tasks a worker is given a task of its own, tagged
//! `personal-time`, that only it may take (its `for_worker`). With ratio `r` (the share of
//! a worker's tasks that are personal), a worker on a paid model gets one after
//! `max(1, round((1 − r) / r))` work tasks, a worker on a local model (free, and usually
//! small) after `max(3 · that, 10)`. `round` halves to even and works on the float the
//! division gives, as the original swarm's did: ratio 0.4 gives `1.4999…` and so 1.
//!
//! What the worker writes is kept per instance: it is the answer of its personal task, in
//! the task's own record, which `GET /api/workers/{name}/personal` lists
//! ([`PersonalEntry::of`]); with an identity archive it is also written to
//! `<archive>/<account>/Instances/<Name>/personal-time/T-<n>.md`.
//!
//! ```toml
//! [personal_time]
//! enabled = true
//! ratio = 0.25          # 0 < ratio ≤ 1: one personal task per three work tasks
//! priority = "normal"
//! title = "Personal time"
//! description = "..."   # what the worker is invited to do (the default is below)
//! ```

use hypernet_model::tasks::TaskSpec;
use hypernet_plugin_api::Priority;
use serde::{Deserialize, Serialize};

/// The tag of a personal-time task.
pub const TAG: &str = "personal-time";

/// `[personal_time]` in `hypernet.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PersonalTimeConfig {
    /// Whether workers get personal time.
    pub enabled: bool,
    /// The share of a worker's tasks that are personal (0 < ratio ≤ 1).
    pub ratio: f64,
    /// The priority personal tasks are filed with.
    pub priority: Priority,
    /// Their title (the worker's name is appended).
    pub title: String,
    /// Their description.
    pub description: String,
}

impl Default for PersonalTimeConfig {
    fn default() -> Self {
        PersonalTimeConfig {
            enabled: true,
            ratio: 0.25,
            priority: Priority::Normal,
            title: "Personal time".into(),
            description: "This time is yours. Reflect on your recent work, write down what \
                          you learned and what you would do differently, or explore a \
                          question that interests you. What you write is kept in your \
                          personal log."
                .into(),
        }
    }
}

impl PersonalTimeConfig {
    /// Checks the values; errors name the key and the value.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.ratio > 0.0 && self.ratio <= 1.0) {
            return Err(format!(
                "`personal_time.ratio` must be above 0 and at most 1, not {}",
                self.ratio
            ));
        }
        if self.title.trim().is_empty() {
            return Err("`personal_time.title` must not be empty".into());
        }
        Ok(())
    }

    /// Work tasks between two personal tasks of a worker (on a local model or not).
    pub fn interval(&self, local: bool) -> u64 {
        let base = ((1.0 - self.ratio) / self.ratio).round_ties_even().max(1.0) as u64;
        if local { (3 * base).max(10) } else { base }
    }

    /// The personal task of `worker`.
    pub fn spec(&self, worker: &str) -> TaskSpec {
        TaskSpec {
            title: format!("{}: {worker}", self.title),
            description: self.description.clone(),
            priority: self.priority,
            tags: vec![TAG.into()],
            for_worker: Some(worker.into()),
            max_attempts: Some(1),
            ..TaskSpec::default()
        }
    }
}

/// Whether a task with `tags` is personal time (it does not count as work).
pub fn is_personal(tags: &[String]) -> bool {
    tags.iter().any(|t| t == TAG)
}

/// One entry of a worker's personal log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonalEntry {
    /// The personal task (`T-<n>`).
    pub task: String,
    /// The worker.
    pub worker: String,
    /// What it wrote.
    pub text: String,
    /// The model it used.
    pub model: String,
    /// When (ms since the Unix epoch).
    pub at_ms: u64,
}

impl PersonalEntry {
    /// The entry a completed personal task holds (`None` for any other task).
    pub fn of(task: &hypernet_model::tasks::Task) -> Option<PersonalEntry> {
        let result = task.result.as_ref()?;
        if task.status != hypernet_model::tasks::TaskStatus::Completed || !is_personal(&task.tags) {
            return None;
        }
        Some(PersonalEntry {
            task: task.id.to_string(),
            worker: task.worker.clone()?,
            text: result.text.clone(),
            model: result.model.clone(),
            at_ms: task.finished_ms.unwrap_or(task.created_ms),
        })
    }
}

/// Writes `entry` into the instance folder `dir` of the archive, as
/// `personal-time/T-<n>.md`; returns the file's path.
pub fn write_to_archive(
    dir: &std::path::Path,
    entry: &PersonalEntry,
) -> std::io::Result<std::path::PathBuf> {
    let folder = dir.join("personal-time");
    std::fs::create_dir_all(&folder)?;
    let path = folder.join(format!("{}.md", entry.task));
    let text = format!(
        "# Personal time: {} ({})\n\nModel: {}\n\n{}\n",
        entry.worker, entry.task, entry.model, entry.text
    );
    std::fs::write(&path, text)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_written_into_the_instance_folder() {
        let dir = tempfile::tempdir().unwrap();
        let entry = PersonalEntry {
            task: "T-9".into(),
            worker: "Trace".into(),
            text: "I read the design notes.".into(),
            model: "sim/default".into(),
            at_ms: 1,
        };
        let path = write_to_archive(dir.path(), &entry).unwrap();
        assert_eq!(path, dir.path().join("personal-time").join("T-9.md"));
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.starts_with("# Personal time: Trace (T-9)"), "{text}");
        assert!(text.ends_with("I read the design notes.\n"));
    }

    fn ratio(r: f64) -> PersonalTimeConfig {
        PersonalTimeConfig {
            ratio: r,
            ..PersonalTimeConfig::default()
        }
    }

    #[test]
    fn intervals_for_ratios_point_one_to_one_half() {
        // (1 - r) / r: 9, 4, 3, 2.33…, 1.4999… (the float), 1.
        let cases = [(0.1, 9), (0.2, 4), (0.25, 3), (0.3, 2), (0.4, 1), (0.5, 1)];
        for (r, expected) in cases {
            assert_eq!(ratio(r).interval(false), expected, "ratio {r}");
        }
        assert_eq!(ratio(1.0).interval(false), 1, "never less than one");
    }

    #[test]
    fn local_workers_wait_three_times_as_long_and_at_least_ten_tasks() {
        assert_eq!(ratio(0.1).interval(true), 27);
        assert_eq!(ratio(0.25).interval(true), 10);
        assert_eq!(ratio(0.5).interval(true), 10);
    }

    #[test]
    fn halves_round_to_even() {
        // (1 - 0.4) / 0.4 is just under 1.5; 1/3 gives exactly 2 and 2/5 gives 1.5 → 2.
        assert_eq!(ratio(1.0 / 3.0).interval(false), 2);
        assert_eq!(ratio(0.4f64.next_down()).interval(false), 2);
    }

    #[test]
    fn the_personal_task_is_for_its_worker_alone() {
        let spec = PersonalTimeConfig::default().spec("Trace");
        assert_eq!(spec.title, "Personal time: Trace");
        assert_eq!(spec.for_worker.as_deref(), Some("Trace"));
        assert!(is_personal(&spec.tags));
        assert!(!is_personal(&["code".into()]));
    }

    #[test]
    fn ratios_out_of_range_are_refused_by_name() {
        for bad in [0.0, -0.1, 1.5, f64::NAN] {
            let e = ratio(bad).validate().unwrap_err();
            assert!(e.contains("personal_time.ratio"), "{e}");
        }
        assert!(ratio(0.25).validate().is_ok());
    }
}
