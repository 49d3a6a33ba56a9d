//! The console drawn on a test terminal, read back as text.

use super::super::app::tests::app;
use super::super::app::{App, Pane, Prompt, PromptKind};
use super::super::snapshot::Snapshot;
use super::super::snapshot::tests::answers;
use super::draw;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

/// The screen as lines of text.
fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_shows(screen: &str, texts: &[&str]) {
    for text in texts {
        assert!(
            screen.contains(text),
            "{text:?} is not on the screen:\n{screen}"
        );
    }
}

fn output(task: &str, seq: u64, delta: &str) -> serde_json::Value {
    json!({"kind": "task.output", "payload": {"task": task, "worker": "Bo",
           "model": "sim/default", "delta": delta, "seq": seq}})
}

#[test]
fn everything_fits_on_80_by_24() {
    let mut app = app();
    app.stream = super::super::app::Stream::Live;
    let s = screen(&app, 80, 24);
    assert_shows(
        &s,
        &[
            "hypernet console",
            "127.0.0.1:7477 · live · open: needs_input 2, running 1",
            "budget today $1.2500 of $5.0000 (25%)",
            // The board, newest first.
            "▸ Tasks · all · 4 of 4",
            "  ID     STATUS      PRI  WORKER   TITLE",
            "› T-4    running     low  Bo       Paint the",
            "  T-3    needs_input high Ada      Survey th",
            "  T-1    completed   norm Ada      Count the",
            // The selected task's detail.
            "╭ T-4 ─",
            "running · low · Bo",
            "Paint the gate",
            "── waiting for the answer",
            // Workers with their state and task.
            "Workers · 1 busy of 2",
            "› Ada      paused",
            "  Bo       busy    T-4",
            // What waits on a person.
            "Approvals 1 · questions 1",
            "› AQ-0001 T-2 Bo send_message",
            "  T-3 asks: Who is it for?",
            // Plugins.
            "Plugins · 1 of 3 loaded",
            "› provider-sim     loaded",
            "  example          disabled",
            // The footer.
            "n new  c cancel  r retry  a answer  s status  / find  Tab pane  ? help  q quit",
        ],
    );
    assert_eq!(s.lines().count(), 24);
    assert!(s.lines().all(|l| l.chars().count() == 80));
}

#[test]
fn a_streaming_answer_shows_as_it_comes_and_follows_its_end() {
    let mut app = app();
    app.event(&output("T-4", 0, "The gate is "));
    app.event(&output("T-4", 1, "half painted."));
    let s = screen(&app, 80, 24);
    assert_shows(
        &s,
        &["── streaming answer (call 1)", "The gate is half painted."],
    );
    // Far more text than the pane holds: its end is what shows.
    let long: String = (0..200).map(|i| format!("line{i}\n")).collect();
    app.event(&output("T-4", 2, &long));
    let s = screen(&app, 80, 24);
    assert_shows(&s, &["line199"]);
    assert!(!s.contains("The gate is"), "the start scrolled away:\n{s}");
    // A new call starts the text afresh.
    app.event(&output("T-4", 0, "Again from the top."));
    assert_shows(&screen(&app, 80, 24), &["(call 2)", "Again from the top."]);
}

#[test]
fn a_finished_task_shows_its_answer_and_scrolls() {
    let mut app = app();
    app.step(3);
    let s = screen(&app, 80, 24);
    assert_shows(
        &s,
        &[
            "completed · normal · Ada",
            "── answer",
            "There are 42 stones.",
            "All of them grey.",
        ],
    );
    app.scroll = 50;
    let s = screen(&app, 80, 24);
    assert_shows(&s, &["All of them grey."]);
}

#[test]
fn questions_and_holds_show_in_the_detail() {
    let mut app = app();
    app.step(1);
    assert_shows(
        &screen(&app, 80, 24),
        &["Ada asked: Who is it for?", "answer: - (a answers)"],
    );
    app.step(1);
    assert_shows(
        &screen(&app, 100, 30),
        &["held: AQ-0001 waits for approval"],
    );
}

#[test]
fn the_focused_pane_and_its_keys_stand_out() {
    let mut app = app();
    app.focus = Pane::Workers;
    let s = screen(&app, 80, 24);
    assert_shows(
        &s,
        &[
            "▸ Workers",
            " Tasks · all",
            "p pause/resume  + add  - remove  Tab pane",
        ],
    );
    app.focus = Pane::Waiting;
    assert_shows(&screen(&app, 80, 24), &["y approve  d deny  a answer"]);
    app.focus = Pane::Plugins;
    assert_shows(&screen(&app, 80, 24), &["e enable/disable"]);
}

#[test]
fn the_status_line_shows_outcomes_and_prompts() {
    let mut app = app();
    assert_shows(&screen(&app, 80, 24), &["? shows every key"]);
    app.say("filed T-9", true);
    assert_shows(&screen(&app, 80, 24), &["✓ filed T-9"]);
    app.say(
        "cancel T-1: a completed task cannot become cancelled",
        false,
    );
    assert_shows(
        &screen(&app, 80, 24),
        &["✗ cancel T-1: a completed task cannot become cancelled"],
    );
    app.prompt = Some(Prompt {
        kind: PromptKind::NewTask,
        text: "Survey the wall".into(),
    });
    assert_shows(&screen(&app, 80, 24), &["New task title: Survey the wall"]);
    // A line longer than the screen shows its end.
    app.prompt.as_mut().unwrap().text = format!("{}END", "x".repeat(100));
    assert_shows(&screen(&app, 80, 24), &["xxxEND"]);
}

#[test]
fn help_lists_every_key() {
    let mut app = app();
    app.help = true;
    let s = screen(&app, 80, 24);
    for (keys, what) in super::chrome::HELP {
        assert_shows(&s, &[keys, what]);
    }
}

#[test]
fn the_header_tells_when_the_host_is_away_and_before_it_answers() {
    let mut app = App::new("http://127.0.0.1:7477");
    assert_shows(
        &screen(&app, 80, 24),
        &["127.0.0.1:7477 · connecting", "reading the host…"],
    );
    app.refreshed(Snapshot::parse(&answers()).unwrap());
    app.stream = super::super::app::Stream::Down("connection refused".into());
    assert_shows(
        &screen(&app, 120, 40),
        &["127.0.0.1:7477 · events lost: connection refused · open: needs_input 2"],
    );
    app.unreachable("no hypernet host is answering".into());
    let s = screen(&app, 120, 40);
    assert_shows(
        &s,
        &[
            "127.0.0.1:7477 · host not reachable: no hypernet host is answering",
            // The last view stays.
            "Paint the gate",
        ],
    );
    assert!(!s.contains("events lost"), "{s}");
}

#[test]
fn a_budget_without_a_limit_says_so() {
    let mut answers = answers();
    answers.budget["daily_limit_micros"] = json!(null);
    answers.budget["paused"] = json!(true);
    let mut app = App::new("http://127.0.0.1:7477");
    app.refreshed(Snapshot::parse(&answers).unwrap());
    assert_shows(
        &screen(&app, 80, 24),
        &["budget today $1.2500 (no daily limit) · paid work paused"],
    );
}

#[test]
fn a_tiny_terminal_is_drawn_without_failing() {
    let mut app = app();
    app.help = true;
    app.prompt = Some(Prompt {
        kind: PromptKind::NewTask,
        text: "Survey".into(),
    });
    for (width, height) in [(1, 1), (20, 5), (40, 12), (79, 23)] {
        let s = screen(&app, width, height);
        assert_eq!(s.lines().count(), height as usize);
    }
}
