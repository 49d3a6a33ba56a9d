//! The console's state: what the host last said, the live output, what the person has
//! selected in each pane and what they are typing. Pure: the loop feeds it refreshes,
//! events and the outcomes of requests ([`App::refreshed`], [`App::event`],
//! [`App::outcome`]); the keys change it through [`super::keys`].

use super::api::Request;
use super::filter::Filter;
use super::output::{Delta, Outputs};
use super::snapshot::Snapshot;
use hypernet_model::tasks::{Clarification, Task, TaskId};
use hypernet_swarm::approvals::{Approval, ApprovalId};
use hypernet_swarm::workers::WorkerView;
use serde_json::Value;

/// The panes that take the focus, in the order Tab visits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    /// The task board.
    Tasks,
    /// The workers.
    Workers,
    /// Approval requests and questions.
    Waiting,
    /// The plugins.
    Plugins,
}

impl Pane {
    const ORDER: [Pane; 4] = [Pane::Tasks, Pane::Workers, Pane::Waiting, Pane::Plugins];

    fn index(self) -> usize {
        Pane::ORDER.iter().position(|p| *p == self).unwrap_or(0)
    }

    /// The pane `by` steps further in Tab order.
    pub fn step(self, by: isize) -> Pane {
        let len = Pane::ORDER.len() as isize;
        Pane::ORDER[(self.index() as isize + by).rem_euclid(len) as usize]
    }
}

/// The selection in one list, kept by key (a task id, a worker's name) so that it stays on
/// its item when the list changes, and falls to the item at its place when that goes.
#[derive(Debug, Clone, Default)]
struct Cursor {
    key: Option<String>,
    index: usize,
}

impl Cursor {
    /// Where the selection is in `keys`.
    fn index(&self, keys: &[String]) -> Option<usize> {
        if keys.is_empty() {
            return None;
        }
        let found = self
            .key
            .as_ref()
            .and_then(|k| keys.iter().position(|x| x == k));
        Some(found.unwrap_or(self.index.min(keys.len() - 1)))
    }

    fn select(&mut self, keys: &[String], index: usize) {
        self.index = index;
        self.key = keys.get(index).cloned();
    }

    /// Moves `by` items, stopping at either end.
    fn step(&mut self, keys: &[String], by: isize) {
        if let Some(at) = self.index(keys) {
            let to = (at as isize + by).clamp(0, keys.len() as isize - 1);
            self.select(keys, to as usize);
        }
    }

    /// Holds on to the selected item after the list changed.
    fn settle(&mut self, keys: &[String]) {
        match self.index(keys) {
            Some(at) => self.select(keys, at),
            None => self.key = None,
        }
    }
}

/// An item of the pane of things waiting on a person.
#[derive(Debug, Clone, Copy)]
pub enum Waiting<'a> {
    /// An action held for approval.
    Approval(&'a Approval),
    /// A task's question.
    Question(&'a Task, &'a Clarification),
}

impl Waiting<'_> {
    fn key(&self) -> String {
        match self {
            Waiting::Approval(a) => a.id.to_string(),
            Waiting::Question(t, _) => t.id.to_string(),
        }
    }
}

/// What the line under the panes is for while a person types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    /// The title of a new task.
    NewTask,
    /// The answer to a task's question.
    Answer {
        /// The task.
        task: TaskId,
        /// Its question.
        question: String,
    },
    /// `NAME [MODEL]` of a worker to add.
    AddWorker,
    /// Why an approval request is denied.
    Deny(ApprovalId),
    /// The text the board's titles contain.
    Filter,
}

impl PromptKind {
    /// The words before the typed text.
    pub fn label(&self) -> String {
        match self {
            PromptKind::NewTask => "New task title: ".into(),
            PromptKind::Answer { task, question } => format!("Answer {task} ({question}): "),
            PromptKind::AddWorker => "Add worker NAME [MODEL]: ".into(),
            PromptKind::Deny(id) => format!("Deny {id}, reason (optional): "),
            PromptKind::Filter => "Title contains: ".into(),
        }
    }
}

/// A line being typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// What for.
    pub kind: PromptKind,
    /// The text so far.
    pub text: String,
}

/// The outcome of the last action, or why it was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// What to say.
    pub text: String,
    /// Whether it went as asked.
    pub ok: bool,
}

/// The event stream's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stream {
    /// Connecting (again).
    Connecting,
    /// Events arrive.
    Live,
    /// Lost, with why; it is tried again.
    Down(String),
}

/// Everything the console shows.
#[derive(Debug)]
pub struct App {
    /// The host's base URL.
    pub host: String,
    /// The latest refresh.
    pub snapshot: Option<Snapshot>,
    /// Why the latest refresh failed, when it did.
    pub unreachable: Option<String>,
    /// The event stream.
    pub stream: Stream,
    /// The pane the arrow keys move in.
    pub focus: Pane,
    /// The board's filter.
    pub filter: Filter,
    /// The line being typed, if any.
    pub prompt: Option<Prompt>,
    /// Whether the help is shown.
    pub help: bool,
    /// The last action's outcome.
    pub notice: Option<Notice>,
    /// Streamed answers.
    pub outputs: Outputs,
    /// Lines the detail is scrolled down.
    pub scroll: u16,
    cursors: [Cursor; 4],
    /// A task just filed, selected once the board shows it.
    follow: Option<TaskId>,
}

impl App {
    /// A console for the host at `host`, before its first refresh.
    pub fn new(host: impl Into<String>) -> App {
        App {
            host: host.into(),
            snapshot: None,
            unreachable: None,
            stream: Stream::Connecting,
            focus: Pane::Tasks,
            filter: Filter::default(),
            prompt: None,
            help: false,
            notice: None,
            outputs: Outputs::default(),
            scroll: 0,
            cursors: Default::default(),
            follow: None,
        }
    }

    /// The board: the tasks of the latest refresh the filter keeps.
    pub fn board(&self) -> Vec<&Task> {
        self.snapshot
            .iter()
            .flat_map(|s| &s.tasks)
            .filter(|t| self.filter.matches(t))
            .collect()
    }

    /// The workers.
    pub fn workers(&self) -> &[WorkerView] {
        self.snapshot.as_ref().map_or(&[], |s| &s.workers)
    }

    /// Approval requests, then questions.
    pub fn waiting(&self) -> Vec<Waiting<'_>> {
        let Some(s) = &self.snapshot else {
            return Vec::new();
        };
        let approvals = s.approvals.iter().map(Waiting::Approval);
        let questions = s.questions().map(|(t, q)| Waiting::Question(t, q));
        approvals.chain(questions).collect()
    }

    /// The plugins.
    pub fn plugins(&self) -> &[super::snapshot::Plugin] {
        self.snapshot.as_ref().map_or(&[], |s| &s.plugins)
    }

    /// The keys of a pane's items, in order.
    fn keys(&self, pane: Pane) -> Vec<String> {
        match pane {
            Pane::Tasks => self.board().iter().map(|t| t.id.to_string()).collect(),
            Pane::Workers => self.workers().iter().map(|w| w.name.clone()).collect(),
            Pane::Waiting => self.waiting().iter().map(Waiting::key).collect(),
            Pane::Plugins => self.plugins().iter().map(|p| p.name.clone()).collect(),
        }
    }

    /// The place of the selected item of `pane`.
    pub fn selected(&self, pane: Pane) -> Option<usize> {
        self.cursors[pane.index()].index(&self.keys(pane))
    }

    /// Moves the selection of the focused pane `by` items.
    pub fn step(&mut self, by: isize) {
        let keys = self.keys(self.focus);
        let before = self.task().map(|t| t.id);
        self.cursors[self.focus.index()].step(&keys, by);
        if self.task().map(|t| t.id) != before {
            self.scroll = 0;
        }
    }

    /// The task selected on the board.
    pub fn board_task(&self) -> Option<&Task> {
        self.board().get(self.selected(Pane::Tasks)?).copied()
    }

    /// The task the task keys act on and the detail shows: the one whose request or
    /// question is selected while that pane has the focus, else the board's.
    pub fn task(&self) -> Option<&Task> {
        if self.focus == Pane::Waiting
            && let Some(item) = self.waiting_item()
        {
            return match item {
                Waiting::Question(t, _) => Some(t),
                Waiting::Approval(a) => self.find_task(a.task),
            };
        }
        self.board_task()
    }

    fn find_task(&self, id: TaskId) -> Option<&Task> {
        let s = self.snapshot.as_ref()?;
        s.waiting_tasks.iter().chain(&s.tasks).find(|t| t.id == id)
    }

    /// The selected worker.
    pub fn worker(&self) -> Option<&WorkerView> {
        self.workers().get(self.selected(Pane::Workers)?)
    }

    /// The selected approval request or question.
    pub fn waiting_item(&self) -> Option<Waiting<'_>> {
        let at = self.selected(Pane::Waiting)?;
        self.waiting().get(at).copied()
    }

    /// The selected plugin.
    pub fn plugin(&self) -> Option<&super::snapshot::Plugin> {
        self.plugins().get(self.selected(Pane::Plugins)?)
    }

    /// Takes in a refresh: the selections stay on their items, a task just filed is
    /// selected, and the output of finished tasks is dropped (their answer is stored).
    pub fn refreshed(&mut self, snapshot: Snapshot) {
        let finished: Vec<TaskId> = snapshot
            .tasks
            .iter()
            .filter(|t| !t.status.is_unfinished())
            .map(|t| t.id)
            .collect();
        for id in finished {
            self.outputs.forget(id);
        }
        self.snapshot = Some(snapshot);
        self.unreachable = None;
        self.settle();
    }

    /// Keeps every selection on its item after the lists changed (a refresh, a filter).
    pub fn settle(&mut self) {
        let before = self.task().map(|t| t.id);
        for pane in Pane::ORDER {
            let keys = self.keys(pane);
            self.cursors[pane.index()].settle(&keys);
        }
        if let Some(id) = self.follow {
            let keys = self.keys(Pane::Tasks);
            if let Some(at) = keys.iter().position(|k| *k == id.to_string()) {
                self.cursors[Pane::Tasks.index()].select(&keys, at);
                self.follow = None;
            }
        }
        if self.task().map(|t| t.id) != before {
            self.scroll = 0;
        }
    }

    /// Notes a failed refresh: the view keeps the last one and says why it is old.
    pub fn unreachable(&mut self, why: String) {
        self.unreachable = Some(why);
    }

    /// Takes in an event of the stream; true when it tells of a change worth a refresh.
    pub fn event(&mut self, event: &Value) -> bool {
        if event["kind"] != "task.output" {
            return true;
        }
        if let Ok(delta) = serde_json::from_value::<Delta>(event["payload"].clone()) {
            self.outputs.add(delta);
        }
        false
    }

    /// Takes in the outcome of a request: its result, or the host's refusal, in the
    /// status line; a task just filed is selected once it shows.
    pub fn outcome(&mut self, request: &Request, outcome: anyhow::Result<Value>) {
        let answered = outcome.and_then(|answer| {
            let text = request.done(&answer)?;
            Ok((text, request.filed(&answer)))
        });
        match answered {
            Ok((text, filed)) => {
                self.say(text, true);
                if filed.is_some() {
                    self.follow = filed;
                    self.focus = Pane::Tasks;
                    self.settle();
                }
            }
            Err(err) => self.say(format!("{}: {err:#}", request.describe()), false),
        }
    }

    /// Shows `text` in the status line.
    pub fn say(&mut self, text: impl Into<String>, ok: bool) {
        self.notice = Some(Notice {
            text: text.into(),
            ok,
        });
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::snapshot::tests::answers;
    use super::*;
    use serde_json::json;

    /// A console after one refresh of [`answers`].
    pub fn app() -> App {
        let mut app = App::new("http://127.0.0.1:7477");
        app.refreshed(Snapshot::parse(&answers()).unwrap());
        app
    }

    #[test]
    fn selections_follow_their_items_across_refreshes() {
        let mut app = app();
        assert_eq!(app.board_task().unwrap().id, TaskId(4), "the newest first");
        app.step(2);
        assert_eq!(app.board_task().unwrap().id, TaskId(2));
        app.step(10);
        assert_eq!(app.board_task().unwrap().id, TaskId(1), "stops at the end");
        // T-1 is filed again first: the selection stays on T-1, not on its place.
        let mut answers = answers();
        let items = answers.tasks["items"].as_array_mut().unwrap();
        let last = items.pop().unwrap();
        items.insert(0, last);
        app.refreshed(Snapshot::parse(&answers).unwrap());
        assert_eq!(app.selected(Pane::Tasks), Some(0));
        assert_eq!(app.board_task().unwrap().id, TaskId(1));
        // T-1 goes: the selection falls to what is now at its place.
        answers.tasks["items"].as_array_mut().unwrap().remove(0);
        app.refreshed(Snapshot::parse(&answers).unwrap());
        assert_eq!(app.board_task().unwrap().id, TaskId(4));
    }

    #[test]
    fn the_waiting_pane_lists_approvals_then_questions() {
        let mut app = app();
        let keys: Vec<String> = app.waiting().iter().map(Waiting::key).collect();
        assert_eq!(keys, ["AQ-0001", "T-3"]);
        app.focus = Pane::Waiting;
        assert_eq!(app.task().unwrap().id, TaskId(2), "the held task");
        app.step(1);
        assert_eq!(app.task().unwrap().id, TaskId(3), "the asking task");
        app.focus = Pane::Tasks;
        assert_eq!(app.task().unwrap().id, TaskId(4), "the board's again");
    }

    #[test]
    fn a_filed_task_is_selected_when_it_shows() {
        let mut app = app();
        let file = Request::File {
            title: "New".into(),
        };
        app.focus = Pane::Workers;
        app.outcome(&file, Ok(json!({"id": "T-9", "created": true})));
        assert_eq!(
            app.notice,
            Some(Notice {
                text: "filed T-9".into(),
                ok: true
            })
        );
        assert_eq!(app.focus, Pane::Tasks);
        let mut answers = answers();
        let mut new = answers.tasks["items"][0].clone();
        new["id"] = json!("T-9");
        new["status"] = json!("ready");
        answers.tasks["items"]
            .as_array_mut()
            .unwrap()
            .insert(0, new);
        app.step(1);
        app.refreshed(Snapshot::parse(&answers).unwrap());
        assert_eq!(app.board_task().unwrap().id, TaskId(9));
    }

    #[test]
    fn refusals_name_the_request_and_the_hosts_reason() {
        let mut app = app();
        let cancel = Request::Cancel(TaskId(1));
        app.outcome(
            &cancel,
            Err(anyhow::anyhow!(
                "a completed task cannot become cancelled (409 Conflict)"
            )),
        );
        let notice = app.notice.clone().unwrap();
        assert!(!notice.ok);
        assert_eq!(
            notice.text,
            "cancel T-1: a completed task cannot become cancelled (409 Conflict)"
        );
    }

    #[test]
    fn output_events_stream_in_and_finished_tasks_drop_theirs() {
        let mut app = app();
        let output = |task: &str, seq: u64, delta: &str| {
            json!({"id": 1, "kind": "task.output", "source": "host", "at_ms": 0,
                   "payload": {"task": task, "worker": "Bo", "model": "sim/default",
                               "delta": delta, "seq": seq}})
        };
        assert!(!app.event(&output("T-4", 0, "Paint")));
        assert!(!app.event(&output("T-4", 1, "ing")));
        assert!(!app.event(&output("T-1", 0, "old")));
        assert_eq!(app.outputs.get(TaskId(4)).unwrap().text, "Painting");
        assert!(app.event(&json!({"kind": "task.completed", "payload": {"id": "T-4"}})));
        app.refreshed(Snapshot::parse(&answers()).unwrap());
        assert!(app.outputs.get(TaskId(4)).is_some(), "T-4 still runs");
        assert!(app.outputs.get(TaskId(1)).is_none(), "T-1 has its answer");
    }

    #[test]
    fn the_filter_narrows_the_board_at_once() {
        let mut app = app();
        app.filter.text = "GATE".into();
        app.settle();
        let ids: Vec<TaskId> = app.board().iter().map(|t| t.id).collect();
        assert_eq!(ids, [TaskId(4)]);
        app.filter.text.clear();
        app.filter.status =
            super::super::filter::StatusFilter::Only(hypernet_model::tasks::TaskStatus::NeedsInput);
        app.settle();
        let ids: Vec<TaskId> = app.board().iter().map(|t| t.id).collect();
        assert_eq!(ids, [TaskId(3), TaskId(2)]);
        assert_eq!(app.board_task().unwrap().id, TaskId(3));
    }
}
