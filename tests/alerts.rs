//! Alerts and briefs through the real binary: a breaker forced open by a failing provider
//! at the loopback mock, a suspended worker and the failure rate, each told to the people
//! who receive alerts (less those who switched the kind off), repeats collapsed; the
//! budget's warning and exhaustion with a priced model; a stuck task; a morning brief sent
//! once across a restart while a missed evening recap is skipped; reminders of a waiting
//! question that stop once it is answered. People here have no channels: their messages
//! go to the host log, listed by `GET /api/messages` with their tags.

use crate::util::{CHAT, MOCK_KEYS, file, wait_for};
use hypernet_integration::mock_llm::{MockLlm, Reply};
use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};
use std::time::Duration;

/// ada receives alerts; bo too, less `bo_off`; cy receives briefs only.
fn people(bo_off: &str) -> String {
    format!(
        "[[person]]\nname = \"ada\"\nchannels = {{}}\nreceives = [\"alerts\"]\n\
         [[person]]\nname = \"bo\"\nreceives = [\"alerts\"]\nalerts_off = [{bo_off}]\n\
         [[person]]\nname = \"cy\"\nreceives = [\"briefs\"]\n"
    )
}

/// One worker, `Coder`, on a paid model at the mock; no personal time, no streaming, no
/// retries by the HTTP client; `extra` lines of `hypernet.toml`.
fn on_mock(mock: &MockLlm, extra: &str) -> Env {
    Env::on_mock_providers(
        mock,
        "openai/gpt-4o-mini",
        &format!(
            "[personal_time]\nenabled = false\n[http]\nstream = false\nmax_retries = 0\n{extra}"
        ),
    )
}

/// Every message, oldest first.
fn messages(env: &Env) -> Vec<Value> {
    let (code, body) = env.api("/api/messages?limit=1000", None);
    assert_eq!(code, 200, "{body}");
    body["items"].as_array().cloned().unwrap_or_default()
}

/// The messages to `to` carrying `tag`.
fn tagged(env: &Env, to: &str, tag: &str) -> Vec<Value> {
    messages(env)
        .into_iter()
        .filter(|m| {
            m["to"] == to
                && m["tags"]
                    .as_array()
                    .is_some_and(|t| t.contains(&json!(tag)))
        })
        .collect()
}

fn body(m: &Value) -> &str {
    m["body"].as_str().unwrap_or_default()
}

/// Waits until `to` has at least `n` messages tagged `tag`; them.
fn at_least(env: &Env, to: &str, tag: &str, n: usize) -> Vec<Value> {
    eventually(&format!("{n} `{tag}` messages to {to}"), || {
        let found = tagged(env, to, tag);
        (found.len() >= n).then_some(found)
    })
}

/// Lets at least two checks of the alerts service pass (it checks once a second).
fn two_checks() {
    std::thread::sleep(Duration::from_millis(2_200));
}

#[test]
fn a_forced_breaker_a_suspension_and_the_failure_rate_are_told_and_repeats_collapsed() {
    let mock = MockLlm::start();
    // Every call fails (no retry by the HTTP client): the tasks, then every probe.
    mock.script(
        CHAT,
        (0..400).map(|_| Reply::openai_error(500, "server_error", "server_error", "boom")),
    );
    let env = on_mock(
        &mock,
        &format!(
            "[scheduler]\nmax_attempts = 1\nreserve = false\n\
             [ladder]\nswarm_failures = 2\nworker_failures = 2\nbreaker_base_ms = 300\nbreaker_max_ms = 300\nworker_failure_ms = 300\n\
             [alerts]\ncollapse_mins = 0.05\nfailure_window = 2\n{}",
            people("\"breaker_opened\"")
        ),
    );
    let host = env.start_with_env(&MOCK_KEYS);
    let first = file(&env, "Fail once");
    wait_for(&env, &first, &["failed"]);
    let second = file(&env, "Fail twice");
    wait_for(&env, &second, &["failed"]);

    // The breaker: to ada (as the host log's message), not to bo who switched it off.
    let breaker = at_least(&env, "ada", "alert:breaker_opened", 1);
    assert_eq!(
        breaker[0]["tags"],
        json!(["notice", "alert", "alert:breaker_opened"])
    );
    assert_eq!(breaker[0]["sender"], "host");
    assert_eq!(breaker[0]["deliveries"][0]["channel"], "log");
    assert_eq!(breaker[0]["status"], "sent");
    assert!(
        body(&breaker[0]).starts_with("The circuit breaker opened after 2 failed calls in a row"),
        "{}",
        breaker[0]
    );
    // The suspension: to both.
    let suspended = at_least(&env, "ada", "alert:worker_suspended", 1);
    assert!(
        body(&suspended[0]).starts_with("Worker Coder is suspended until"),
        "{}",
        suspended[0]
    );
    at_least(&env, "bo", "alert:worker_suspended", 1);
    // Two finished tasks, both failed: above half.
    let rate = at_least(&env, "ada", "alert:failure_rate", 1);
    assert_eq!(
        body(&rate[0]),
        "2 of the last 2 finished tasks failed (100%, above 50%)."
    );

    // The failed probes reopen the breaker every few hundred ms; within 3 s they are only
    // counted, and the first one after says how many.
    let breaker = at_least(&env, "ada", "alert:breaker_opened", 2);
    let gap =
        breaker[1]["created_ms"].as_u64().unwrap() - breaker[0]["created_ms"].as_u64().unwrap();
    assert!(gap >= 3_000, "sent {gap} ms apart");
    let text = body(&breaker[1]);
    let more: u32 = text
        .split(" (and ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of repeats in {text}"));
    assert!(more >= 2, "{text}");
    assert!(
        text.contains(" more since ") && text.ends_with(')'),
        "{text}"
    );
    let suspended = at_least(&env, "ada", "alert:worker_suspended", 2);
    assert!(
        body(&suspended[1]).contains(" more since "),
        "{}",
        suspended[1]
    );

    // Nobody who switched a kind off or does not receive alerts got one of them.
    assert!(tagged(&env, "bo", "alert:breaker_opened").is_empty());
    assert!(tagged(&env, "cy", "alert").is_empty());
    let log = host.log();
    assert!(
        log.contains("alert: The circuit breaker opened"),
        "every alert is logged:\n{log}"
    );
}

#[test]
fn the_budget_warns_at_its_share_then_tells_it_is_exhausted() {
    let env = Env::new();
    // Each paid call costs 64 output tokens × $1000/Mtok = $0.064: three calls are $0.192,
    // 96% of $0.20 (past the 80% warning), and a fourth would cross the limit.
    env.manifest(
        "[[plugin]]\nname = \"provider-sim\"\ncapabilities = [\"log\"]\n[plugin.config]\n\
         models = [\"paid/\"]\nlocal = false\nlatency_ms = 20\noutput_tokens = 64\n",
    );
    env.config(&format!(
        "standing = []\n[personal_time]\nenabled = false\n\
         [[worker]]\nname = \"A\"\naccount = \"2.1\"\nmodel = \"paid/x\"\n\
         [limits]\nmax_tokens = 64\n\
         [budget]\ndaily_limit_usd = 0.2\n\
         [budget.prices]\n\"paid/\" = {{ input_per_mtok = 0.0, output_per_mtok = 1000.0 }}\n\
         {}",
        people("\"budget_warning\"")
    ));
    let host = env.start();
    let tasks: Vec<Value> = (0..4)
        .map(|i| json!({ "title": format!("paid task {i}") }))
        .collect();
    let (code, answer) = env.api("/api/tasks", Some(&json!({ "tasks": tasks })));
    assert_eq!(code, 200, "{answer}");

    let warning = at_least(&env, "ada", "alert:budget_warning", 1);
    assert_eq!(
        body(&warning[0]),
        "$0.19 spent today: 96% of the daily limit of $0.20.",
        "{}",
        host.log()
    );
    let exhausted = at_least(&env, "ada", "alert:budget_exhausted", 1);
    assert!(
        body(&exhausted[0]).starts_with("The budget is exhausted ("),
        "{}",
        exhausted[0]
    );
    at_least(&env, "bo", "alert:budget_exhausted", 1);
    two_checks();
    // Once per crossing, and not to bo, who switched the warning off.
    assert_eq!(tagged(&env, "ada", "alert:budget_warning").len(), 1);
    assert_eq!(tagged(&env, "ada", "alert:budget_exhausted").len(), 1);
    assert!(tagged(&env, "bo", "alert:budget_warning").is_empty());
}

#[test]
fn a_task_running_too_long_is_reported_once() {
    let mock = MockLlm::start();
    mock.script(
        CHAT,
        [Reply::openai_text("Done at last.", 10, 5).after(Duration::from_secs(5))],
    );
    let env = on_mock(
        &mock,
        &format!(
            "[scheduler]\nreserve = false\n[alerts]\nstuck_after_mins = 0.03\n{}",
            people("")
        ),
    );
    let _host = env.start_with_env(&MOCK_KEYS);
    let id = file(&env, "Take your time");
    let stuck = at_least(&env, "ada", "alert:task_stuck", 1);
    assert!(
        body(&stuck[0]).starts_with(&format!(
            "{id} \"Take your time\" has been running on Coder for"
        )),
        "{}",
        stuck[0]
    );
    wait_for(&env, &id, &["completed"]);
    assert_eq!(tagged(&env, "ada", "alert:task_stuck").len(), 1);
}

/// `HH:MM` in UTC, `offset_mins` from now.
fn utc_clock(offset_mins: i64) -> String {
    let now_mins = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 60;
    let mins = (now_mins + offset_mins).rem_euclid(24 * 60);
    format!("{:02}:{:02}", mins / 60, mins % 60)
}

#[test]
fn a_brief_missed_while_down_is_sent_once_and_one_missed_by_hours_is_skipped() {
    let env = Env::new();
    env.manifest(crate::util::SIM);
    // The morning brief was due ten minutes ago (within the hour: sent at the start); the
    // evening recap was due 21 hours ago (skipped).
    env.config(&format!(
        "standing = []\n[personal_time]\nenabled = false\n\
         [alerts]\ntimezone = \"UTC\"\nmorning = \"{}\"\nevening = \"{}\"\n{}",
        utc_clock(-10),
        utc_clock(3 * 60),
        people("")
    ));
    let host = env.start();
    let done = file(&env, "Something to report");
    wait_for(&env, &done, &["completed"]);
    let brief = at_least(&env, "cy", "brief:morning", 1);
    assert_eq!(
        brief[0]["tags"],
        json!(["notice", "brief", "brief:morning"])
    );
    let text = body(&brief[0]);
    assert!(
        text.starts_with("Morning brief, ") && text.contains("(UTC). Since "),
        "{text}"
    );
    assert!(
        text.contains("Waiting for you: nothing.") && text.contains("Spend: $0.00 today"),
        "{text}"
    );
    assert!(
        brief[0]["subject"]
            .as_str()
            .unwrap()
            .starts_with("Morning brief, ")
    );
    assert!(
        tagged(&env, "ada", "brief").is_empty(),
        "ada does not receive briefs"
    );
    assert_eq!(host.stop(), Some(0));

    let host = env.start();
    eventually("the briefs to be scheduled", || {
        host.log().contains("briefs scheduled").then_some(())
    });
    two_checks();
    assert_eq!(
        tagged(&env, "cy", "brief:morning").len(),
        1,
        "not sent again after a restart"
    );
    assert!(tagged(&env, "cy", "brief:evening").is_empty());
}

#[test]
fn reminders_of_a_waiting_question_stop_once_it_is_answered() {
    let mock = MockLlm::start();
    let question = json!({"type": "clarification_needed", "question": "Which wall?"});
    mock.script(
        CHAT,
        [
            Reply::openai_text(&format!("One question.\n```signal\n{question}\n```"), 10, 5),
            Reply::openai_text("Painted the north wall.", 10, 5),
        ],
    );
    let env = on_mock(
        &mock,
        &format!(
            "[tools]\nenabled = false\n[alerts]\nremind_every_hours = 0.0005\n{}",
            people("")
        ),
    );
    let _host = env.start_with_env(&MOCK_KEYS);
    two_checks();
    assert!(
        tagged(&env, "cy", "reminder").is_empty(),
        "nothing waits: no reminder"
    );
    let id = file(&env, "Paint the wall");
    wait_for(&env, &id, &["needs_input"]);
    let reminders = at_least(&env, "cy", "reminder", 2);
    let text = body(&reminders[0]);
    assert!(
        text.starts_with("Reminder: 1 question is waiting for you"),
        "{text}"
    );
    assert!(text.contains(&format!("- {id} \"Paint the wall\": Coder asks: Which wall? Answer with: answer {id} <your answer>")), "{text}");
    let gap =
        reminders[1]["created_ms"].as_u64().unwrap() - reminders[0]["created_ms"].as_u64().unwrap();
    assert!(gap >= 1_800, "reminded {gap} ms apart");

    env.run(&["task", "answer", &id, "The north one."]).ok();
    wait_for(&env, &id, &["completed"]);
    // A reminder filed just before the answer may still be on its way.
    std::thread::sleep(Duration::from_millis(500));
    let sent = tagged(&env, "cy", "reminder").len();
    two_checks();
    two_checks();
    assert_eq!(
        tagged(&env, "cy", "reminder").len(),
        sent,
        "nothing waits any more"
    );
}
