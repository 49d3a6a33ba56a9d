//! What each key does: it changes the console's state and may ask the loop to send a
//! request, refresh or quit ([`Effect`]). A key that cannot act on the selection says why
//! in the status line rather than doing nothing.

use super::api::Request;
use super::app::{App, Pane, Prompt, PromptKind, Waiting};
use super::snapshot::open_question;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// What the loop does after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Only draw again.
    Nothing,
    /// Send this to the host.
    Send(Request),
    /// Read the host again (the filter changed).
    Refresh,
    /// Leave the console.
    Quit,
}

/// Lines PageUp and PageDown scroll the detail.
const PAGE: u16 = 10;

/// Handles one key.
pub fn handle(app: &mut App, key: KeyEvent) -> Effect {
    if key.kind == KeyEventKind::Release {
        return Effect::Nothing;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Effect::Quit;
    }
    if app.help {
        app.help = false;
        return Effect::Nothing;
    }
    if app.prompt.is_some() {
        return typing(app, key);
    }
    match key.code {
        KeyCode::Char('q') | KeyCode::Esc => return Effect::Quit,
        KeyCode::Char('?') => app.help = true,
        KeyCode::Tab => app.focus = app.focus.step(1),
        KeyCode::BackTab => app.focus = app.focus.step(-1),
        KeyCode::Up | KeyCode::Char('k') => app.step(-1),
        KeyCode::Down | KeyCode::Char('j') => app.step(1),
        KeyCode::Home => app.step(isize::MIN / 2),
        KeyCode::End => app.step(isize::MAX / 2),
        KeyCode::PageUp => app.scroll = app.scroll.saturating_sub(PAGE),
        KeyCode::PageDown => app.scroll = app.scroll.saturating_add(PAGE),
        KeyCode::Char('n') => prompt(app, PromptKind::NewTask, ""),
        KeyCode::Char('+') => prompt(app, PromptKind::AddWorker, ""),
        KeyCode::Char('/') => {
            let text = app.filter.text.clone();
            prompt(app, PromptKind::Filter, &text);
        }
        KeyCode::Char('s') => return refilter(app, |f| f.next_status()),
        KeyCode::Char('S') => return refilter(app, |f| f.previous_status()),
        KeyCode::Char('c') => return on_task(app, Request::Cancel),
        KeyCode::Char('r') => return on_task(app, Request::Retry),
        KeyCode::Char('a') => answer(app),
        KeyCode::Char('y') => return approve(app),
        KeyCode::Char('d') => deny(app),
        KeyCode::Char('p') => return pause_or_resume(app),
        KeyCode::Char('-') => return remove_worker(app),
        KeyCode::Char('e') => return toggle_plugin(app),
        _ => {}
    }
    Effect::Nothing
}

fn prompt(app: &mut App, kind: PromptKind, text: &str) {
    app.prompt = Some(Prompt {
        kind,
        text: text.to_owned(),
    });
}

fn refilter(app: &mut App, change: impl FnOnce(&mut super::filter::Filter)) -> Effect {
    change(&mut app.filter);
    app.settle();
    Effect::Refresh
}

/// A key while a line is typed: editing, Enter to act, Esc to leave it.
fn typing(app: &mut App, key: KeyEvent) -> Effect {
    let Some(prompt) = app.prompt.as_mut() else {
        return Effect::Nothing;
    };
    let filtering = prompt.kind == PromptKind::Filter;
    match key.code {
        KeyCode::Enter => {
            let Prompt { kind, text } = app.prompt.take().expect("a prompt is open");
            return submit(app, kind, text);
        }
        KeyCode::Esc => {
            app.prompt = None;
            if filtering {
                return refilter(app, |f| f.text.clear());
            }
            return Effect::Nothing;
        }
        KeyCode::Backspace => {
            prompt.text.pop();
        }
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            prompt.text.clear();
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            prompt.text.push(c);
        }
        _ => return Effect::Nothing,
    }
    edited(app, filtering)
}

/// Pasted text goes into the line being typed, as one line.
pub fn paste(app: &mut App, text: &str) -> Effect {
    let Some(prompt) = app.prompt.as_mut() else {
        return Effect::Nothing;
    };
    let one_line = text.replace(['\r', '\n', '\t'], " ");
    prompt.text.push_str(&one_line);
    let filtering = prompt.kind == PromptKind::Filter;
    edited(app, filtering)
}

/// After the typed line changed: the board narrows as a filter is typed.
fn edited(app: &mut App, filtering: bool) -> Effect {
    match app.prompt.as_ref() {
        Some(prompt) if filtering => {
            let text = prompt.text.clone();
            refilter(app, |f| f.text = text)
        }
        _ => Effect::Nothing,
    }
}

/// The typed line, acted on.
fn submit(app: &mut App, kind: PromptKind, text: String) -> Effect {
    let text = text.trim().to_owned();
    match kind {
        PromptKind::NewTask if text.is_empty() => {
            app.say("a task needs a title: nothing was filed", false);
        }
        PromptKind::NewTask => return Effect::Send(Request::File { title: text }),
        PromptKind::Answer { task, .. } if text.is_empty() => {
            app.say(format!("{task}: an empty answer was not sent"), false);
        }
        PromptKind::Answer { task, .. } => {
            return Effect::Send(Request::Answer { task, answer: text });
        }
        PromptKind::AddWorker => match worker_words(&text) {
            Ok((name, model)) => return Effect::Send(Request::AddWorker { name, model }),
            Err(why) => app.say(why, false),
        },
        PromptKind::Deny(id) => {
            let reason = Some(text).filter(|r| !r.is_empty());
            return Effect::Send(Request::Deny { id, reason });
        }
        PromptKind::Filter => {}
    }
    Effect::Nothing
}

/// `NAME [MODEL]`.
fn worker_words(text: &str) -> Result<(String, Option<String>), String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words[..] {
        [] => Err("a worker needs a name: nothing was added".into()),
        [name] => Ok((name.to_owned(), None)),
        [name, model] => Ok((name.to_owned(), Some(model.to_owned()))),
        _ => Err(format!(
            "`{text}`: type a worker's name and, if you like, its model (NAME [MODEL])"
        )),
    }
}

fn on_task(app: &mut App, request: fn(hypernet_model::tasks::TaskId) -> Request) -> Effect {
    match app.task() {
        Some(task) => Effect::Send(request(task.id)),
        None => {
            app.say("no task is selected", false);
            Effect::Nothing
        }
    }
}

/// `a`: the selected question, else the selected task's.
fn answer(app: &mut App) {
    let Some(task) = app.task() else {
        return app.say("no task is selected", false);
    };
    if let Some(q) = open_question(task) {
        let kind = PromptKind::Answer {
            task: task.id,
            question: q.question.clone(),
        };
        return prompt(app, kind, "");
    }
    let held = task.clarifications.last().and_then(|c| {
        c.approval
            .filter(|_| c.answer.is_none())
            .map(|id| id.to_string())
    });
    let why = match held {
        Some(id) => format!(
            "{} waits on approval request {id}: approve (y) or deny (d) it in the approvals pane",
            task.id
        ),
        None => format!("{} is {} and asks nothing", task.id, task.status),
    };
    app.say(why, false);
}

/// The approval request selected in the waiting pane, or why there is none.
fn approval(app: &mut App) -> Option<hypernet_swarm::approvals::ApprovalId> {
    match app.waiting_item() {
        Some(Waiting::Approval(a)) if app.focus == Pane::Waiting => Some(a.id),
        _ => {
            app.say(
                "select an approval request (AQ-…) in the approvals pane first (Tab moves there)",
                false,
            );
            None
        }
    }
}

fn approve(app: &mut App) -> Effect {
    approval(app).map_or(Effect::Nothing, |id| Effect::Send(Request::Approve(id)))
}

fn deny(app: &mut App) {
    if let Some(id) = approval(app) {
        prompt(app, PromptKind::Deny(id), "");
    }
}

fn pause_or_resume(app: &mut App) -> Effect {
    match app.worker() {
        Some(w) if w.paused => Effect::Send(Request::Resume(w.name.clone())),
        Some(w) => Effect::Send(Request::Pause(w.name.clone())),
        None => {
            app.say(
                "no worker is selected (Tab moves to the Workers pane)",
                false,
            );
            Effect::Nothing
        }
    }
}

fn remove_worker(app: &mut App) -> Effect {
    if app.focus != Pane::Workers {
        app.say(
            "select a worker in the Workers pane first (Tab moves there)",
            false,
        );
        return Effect::Nothing;
    }
    match app.worker() {
        Some(w) => Effect::Send(Request::RemoveWorker(w.name.clone())),
        None => {
            app.say("no worker is selected", false);
            Effect::Nothing
        }
    }
}

fn toggle_plugin(app: &mut App) -> Effect {
    if app.focus != Pane::Plugins {
        app.say(
            "select a plugin in the Plugins pane first (Tab moves there)",
            false,
        );
        return Effect::Nothing;
    }
    match app.plugin() {
        Some(p) if p.loaded() => Effect::Send(Request::Disable(p.name.clone())),
        Some(p) => Effect::Send(Request::Enable(p.name.clone())),
        None => {
            app.say("no plugin is selected", false);
            Effect::Nothing
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::app::tests::app;
    use super::*;
    use hypernet_model::tasks::TaskId;
    use hypernet_swarm::approvals::ApprovalId;

    fn press(app: &mut App, code: KeyCode) -> Effect {
        handle(app, KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn typed(app: &mut App, text: &str) {
        for c in text.chars() {
            assert_eq!(press(app, KeyCode::Char(c)), Effect::Nothing);
        }
    }

    fn refused(app: &App) -> String {
        let notice = app.notice.clone().expect("a notice");
        assert!(!notice.ok, "{notice:?}");
        notice.text
    }

    #[test]
    fn n_files_a_task_with_the_typed_title() {
        let mut app = app();
        press(&mut app, KeyCode::Char('n'));
        typed(&mut app, "Survey the wall");
        press(&mut app, KeyCode::Backspace);
        assert_eq!(
            press(&mut app, KeyCode::Enter),
            Effect::Send(Request::File {
                title: "Survey the wal".into()
            })
        );
        assert!(app.prompt.is_none());
        // Keys typed into a prompt do not act: `q` is a letter there.
        press(&mut app, KeyCode::Char('n'));
        typed(&mut app, "q");
        assert_eq!(press(&mut app, KeyCode::Esc), Effect::Nothing);
        assert!(app.prompt.is_none());
        press(&mut app, KeyCode::Char('n'));
        assert_eq!(press(&mut app, KeyCode::Enter), Effect::Nothing);
        assert!(refused(&app).contains("needs a title"));
    }

    #[test]
    fn task_keys_act_on_the_selected_task() {
        let mut app = app();
        assert_eq!(
            press(&mut app, KeyCode::Char('c')),
            Effect::Send(Request::Cancel(TaskId(4)))
        );
        press(&mut app, KeyCode::Down);
        press(&mut app, KeyCode::Char('j'));
        assert_eq!(
            press(&mut app, KeyCode::Char('r')),
            Effect::Send(Request::Retry(TaskId(2)))
        );
        // T-2 waits on an approval, not an answer.
        assert_eq!(press(&mut app, KeyCode::Char('a')), Effect::Nothing);
        assert!(refused(&app).contains("waits on approval request AQ-0001"));
        press(&mut app, KeyCode::Char('k'));
        press(&mut app, KeyCode::Char('a'));
        typed(&mut app, "the users");
        assert_eq!(
            press(&mut app, KeyCode::Enter),
            Effect::Send(Request::Answer {
                task: TaskId(3),
                answer: "the users".into()
            })
        );
        press(&mut app, KeyCode::Home);
        press(&mut app, KeyCode::Char('a'));
        assert_eq!(refused(&app), "T-4 is running and asks nothing");
    }

    #[test]
    fn approvals_are_decided_in_the_waiting_pane() {
        let mut app = app();
        assert_eq!(press(&mut app, KeyCode::Char('y')), Effect::Nothing);
        assert!(refused(&app).contains("approvals pane"));
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Tab);
        assert_eq!(app.focus, Pane::Waiting);
        assert_eq!(
            press(&mut app, KeyCode::Char('y')),
            Effect::Send(Request::Approve(ApprovalId(1)))
        );
        press(&mut app, KeyCode::Char('d'));
        typed(&mut app, "not now");
        assert_eq!(
            press(&mut app, KeyCode::Enter),
            Effect::Send(Request::Deny {
                id: ApprovalId(1),
                reason: Some("not now".into())
            })
        );
        press(&mut app, KeyCode::Char('d'));
        assert_eq!(
            press(&mut app, KeyCode::Enter),
            Effect::Send(Request::Deny {
                id: ApprovalId(1),
                reason: None
            })
        );
        // The question below it is answered with `a`.
        press(&mut app, KeyCode::Down);
        assert_eq!(press(&mut app, KeyCode::Char('y')), Effect::Nothing);
        press(&mut app, KeyCode::Char('a'));
        assert!(matches!(
            app.prompt.as_ref().map(|p| &p.kind),
            Some(PromptKind::Answer { task: TaskId(3), question }) if question == "Who is it for?"
        ));
    }

    #[test]
    fn worker_keys_pause_resume_add_and_remove() {
        let mut app = app();
        assert_eq!(press(&mut app, KeyCode::Char('-')), Effect::Nothing);
        assert!(refused(&app).contains("Workers pane"));
        press(&mut app, KeyCode::Tab);
        // Ada is paused: `p` resumes her; Bo is not: `p` pauses him.
        assert_eq!(
            press(&mut app, KeyCode::Char('p')),
            Effect::Send(Request::Resume("Ada".into()))
        );
        press(&mut app, KeyCode::Down);
        assert_eq!(
            press(&mut app, KeyCode::Char('p')),
            Effect::Send(Request::Pause("Bo".into()))
        );
        assert_eq!(
            press(&mut app, KeyCode::Char('-')),
            Effect::Send(Request::RemoveWorker("Bo".into()))
        );
        press(&mut app, KeyCode::Char('+'));
        typed(&mut app, "Cy sim/fast");
        assert_eq!(
            press(&mut app, KeyCode::Enter),
            Effect::Send(Request::AddWorker {
                name: "Cy".into(),
                model: Some("sim/fast".into())
            })
        );
        press(&mut app, KeyCode::Char('+'));
        typed(&mut app, "Cy Lo sim/fast");
        assert_eq!(press(&mut app, KeyCode::Enter), Effect::Nothing);
        assert!(refused(&app).contains("NAME [MODEL]"));
    }

    #[test]
    fn e_toggles_the_selected_plugin() {
        let mut app = app();
        press(&mut app, KeyCode::BackTab);
        assert_eq!(app.focus, Pane::Plugins);
        assert_eq!(
            press(&mut app, KeyCode::Char('e')),
            Effect::Send(Request::Disable("provider-sim".into()))
        );
        press(&mut app, KeyCode::End);
        assert_eq!(
            press(&mut app, KeyCode::Char('e')),
            Effect::Send(Request::Enable("herald".into()))
        );
    }

    #[test]
    fn filters_change_with_s_and_slash_and_esc_clears_the_text() {
        let mut app = app();
        assert_eq!(press(&mut app, KeyCode::Char('s')), Effect::Refresh);
        assert_eq!(app.filter.label(), "open");
        assert_eq!(press(&mut app, KeyCode::Char('S')), Effect::Refresh);
        assert_eq!(app.filter.label(), "all");
        press(&mut app, KeyCode::Char('/'));
        assert_eq!(press(&mut app, KeyCode::Char('g')), Effect::Refresh);
        assert_eq!(press(&mut app, KeyCode::Char('a')), Effect::Refresh);
        assert_eq!(app.board().len(), 1, "narrowed while typing");
        assert_eq!(press(&mut app, KeyCode::Enter), Effect::Nothing);
        assert_eq!(app.filter.text, "ga");
        press(&mut app, KeyCode::Char('/'));
        assert_eq!(app.prompt.as_ref().unwrap().text, "ga", "editable again");
        assert_eq!(press(&mut app, KeyCode::Esc), Effect::Refresh);
        assert_eq!(app.filter.text, "");
        assert_eq!(app.board().len(), 4);
    }

    #[test]
    fn pasted_text_goes_into_the_prompt_as_one_line() {
        let mut app = app();
        assert_eq!(paste(&mut app, "ignored"), Effect::Nothing);
        press(&mut app, KeyCode::Char('n'));
        assert_eq!(paste(&mut app, "Two\nlines"), Effect::Nothing);
        assert_eq!(app.prompt.as_ref().unwrap().text, "Two lines");
        press(&mut app, KeyCode::Esc);
        press(&mut app, KeyCode::Char('/'));
        assert_eq!(paste(&mut app, "gate"), Effect::Refresh);
        assert_eq!(app.filter.text, "gate");
    }

    #[test]
    fn help_quit_and_scrolling() {
        let mut app = app();
        press(&mut app, KeyCode::Char('?'));
        assert!(app.help);
        assert_eq!(press(&mut app, KeyCode::Char('q')), Effect::Nothing);
        assert!(!app.help, "any key closes the help");
        press(&mut app, KeyCode::PageDown);
        assert_eq!(app.scroll, PAGE);
        press(&mut app, KeyCode::Down);
        assert_eq!(app.scroll, 0, "another task shows from its top");
        assert_eq!(press(&mut app, KeyCode::Esc), Effect::Quit);
        assert_eq!(press(&mut app, KeyCode::Char('q')), Effect::Quit);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        app.prompt = Some(Prompt {
            kind: PromptKind::NewTask,
            text: String::new(),
        });
        assert_eq!(handle(&mut app, ctrl_c), Effect::Quit);
    }
}
