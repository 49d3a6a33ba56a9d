//! Streamed answers as they arrive: the `task.output` events of the event stream, added up
//! per task and per call. A call's deltas come in `seq` order from 0, and a retried or
//! fallback call starts again at 0, so `seq` 0 always starts the text afresh. A delta seen
//! twice (a replay after reconnecting) is skipped; one that comes after a gap (the console
//! joined in the middle of a call, or missed events) is kept, after a mark of the gap.

use hypernet_model::tasks::TaskId;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Tasks whose output is kept; the one updated longest ago goes first.
const TASKS_KEPT: usize = 64;

/// Most text kept per task; the beginning is dropped past it (the tail is what is shown).
const TEXT_KEPT: usize = 256 * 1024;

/// Marks text that is missing: before the first delta seen, or between two.
pub const GAP: &str = "…";

/// The payload of a `task.output` event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Delta {
    /// The task.
    pub task: TaskId,
    /// The worker making the call.
    pub worker: String,
    /// The model answering.
    pub model: String,
    /// The text.
    pub delta: String,
    /// Its place in the call, from 0.
    pub seq: u64,
}

/// One task's latest call as streamed so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    /// The worker making the call.
    pub worker: String,
    /// The model answering.
    pub model: String,
    /// The text so far.
    pub text: String,
    /// Calls seen starting (`seq` 0) for this task.
    pub calls: u32,
    /// The `seq` expected next.
    next: u64,
    /// When it was last updated, in deltas received by the console (for eviction).
    touched: u64,
}

/// The streamed output of the tasks the console has seen streaming.
#[derive(Debug, Default)]
pub struct Outputs {
    tasks: BTreeMap<TaskId, Live>,
    received: u64,
}

impl Outputs {
    /// Adds one delta.
    pub fn add(&mut self, d: Delta) {
        self.received += 1;
        let touched = self.received;
        let live = self.tasks.entry(d.task).or_insert_with(|| Live {
            worker: d.worker.clone(),
            model: d.model.clone(),
            text: String::new(),
            calls: 0,
            next: 0,
            touched,
        });
        if d.seq == 0 {
            live.text.clear();
            live.calls += 1;
        } else if d.seq < live.next {
            return;
        } else if d.seq > live.next {
            live.text.push_str(GAP);
        }
        live.worker = d.worker;
        live.model = d.model;
        live.text.push_str(&d.delta);
        live.next = d.seq + 1;
        live.touched = touched;
        keep_tail(&mut live.text, TEXT_KEPT);
        if self.tasks.len() > TASKS_KEPT
            && let Some(oldest) = self
                .tasks
                .iter()
                .min_by_key(|(_, l)| l.touched)
                .map(|(id, _)| *id)
        {
            self.tasks.remove(&oldest);
        }
    }

    /// The task's streamed text so far, if any was seen.
    pub fn get(&self, task: TaskId) -> Option<&Live> {
        self.tasks.get(&task)
    }

    /// Forgets a task's output (it finished: its answer is stored with it).
    pub fn forget(&mut self, task: TaskId) {
        self.tasks.remove(&task);
    }

    /// The tasks with output kept.
    #[cfg(test)]
    fn tasks(&self) -> impl Iterator<Item = TaskId> + '_ {
        self.tasks.keys().copied()
    }
}

/// Drops the start of `text` so that it holds at most `max` bytes, after a [`GAP`] mark,
/// cutting at a character boundary.
fn keep_tail(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut cut = text.len() - max + GAP.len();
    while !text.is_char_boundary(cut) {
        cut += 1;
    }
    text.replace_range(..cut, GAP);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(task: u64, seq: u64, text: &str) -> Delta {
        Delta {
            task: TaskId(task),
            worker: "Trace".into(),
            model: "sim/default".into(),
            delta: text.into(),
            seq,
        }
    }

    #[test]
    fn deltas_add_up_per_task_and_a_new_call_starts_afresh() {
        let mut out = Outputs::default();
        out.add(delta(1, 0, "Hello"));
        out.add(delta(2, 0, "Other"));
        out.add(delta(1, 1, ", world"));
        let one = out.get(TaskId(1)).unwrap();
        assert_eq!((one.text.as_str(), one.calls), ("Hello, world", 1));
        assert_eq!(out.get(TaskId(2)).unwrap().text, "Other");
        // The call was retried: its text starts again.
        out.add(delta(1, 0, "Second try"));
        let one = out.get(TaskId(1)).unwrap();
        assert_eq!((one.text.as_str(), one.calls), ("Second try", 2));
    }

    #[test]
    fn replays_are_skipped_and_gaps_are_marked() {
        let mut out = Outputs::default();
        // Joined in the middle of a call.
        out.add(delta(3, 2, "middle"));
        assert_eq!(out.get(TaskId(3)).unwrap().text, "…middle");
        out.add(delta(3, 3, " end"));
        out.add(delta(3, 3, " end"));
        out.add(delta(3, 2, "middle"));
        assert_eq!(out.get(TaskId(3)).unwrap().text, "…middle end");
        out.add(delta(3, 6, " later"));
        assert_eq!(out.get(TaskId(3)).unwrap().text, "…middle end… later");
        out.forget(TaskId(3));
        assert!(out.get(TaskId(3)).is_none());
    }

    #[test]
    fn the_tasks_updated_longest_ago_are_dropped_first() {
        let mut out = Outputs::default();
        for task in 0..TASKS_KEPT as u64 {
            out.add(delta(task, 0, "x"));
        }
        out.add(delta(0, 1, "y"));
        out.add(delta(1000, 0, "new"));
        assert_eq!(out.tasks().count(), TASKS_KEPT);
        assert!(out.get(TaskId(1)).is_none(), "the least recently updated");
        assert!(out.get(TaskId(0)).is_some() && out.get(TaskId(1000)).is_some());
    }

    #[test]
    fn long_text_keeps_its_tail() {
        let mut text = "ab".repeat(10) + "é";
        keep_tail(&mut text, 8);
        assert!(text.starts_with(GAP) && text.ends_with("abé"), "{text}");
        assert!(text.len() <= 8, "{text}");
        let mut short = String::from("short");
        keep_tail(&mut short, 8);
        assert_eq!(short, "short");
    }
}
