//! What workers say about their tasks and carry between them, through the real binary and
//! the real provider plugins against the loopback mock LLM: a question that waits for a
//! person's answer (across a restart), refusals, signals kept on results, swarm directives,
//! memory of recent tasks in later prompts (across a restart), personal time and its log,
//! and a repeated tool error stopped as a loop.

use crate::util::{CHAT, MOCK_KEYS, file, wait_for};
use hypernet_integration::mock_llm::{MockLlm, Reply};
use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};

/// One worker, `Coder`, on a paid OpenAI model at the mock; no tools, no personal time
/// unless `extra` says otherwise.
fn world(mock: &MockLlm, extra: &str) -> Env {
    let extra = if extra.contains("[personal_time]") {
        extra.to_owned()
    } else {
        format!("[personal_time]\nenabled = false\n{extra}")
    };
    Env::on_mock_providers(
        mock,
        "openai/gpt-4o-mini",
        &format!("[http]\nstream = false\n[tools]\nenabled = false\n{extra}"),
    )
}

fn signal(body: Value) -> String {
    format!("```signal\n{body}\n```")
}

/// The system and last user message of a recorded chat request.
fn prompts(request: &Value) -> (String, String) {
    let messages = request["messages"].as_array().expect("messages");
    let text = |m: &Value| m["content"].as_str().unwrap_or_default().to_owned();
    (text(&messages[0]), text(messages.last().unwrap()))
}

#[test]
fn a_question_waits_for_a_persons_answer_across_a_restart() {
    let mock = MockLlm::start();
    mock.script(
        CHAT,
        [
            Reply::openai_text(
                &format!(
                    "I need to know one thing.\n{}",
                    signal(json!({"type": "clarification_needed", "question": "Which wall?"}))
                ),
                10,
                5,
            ),
            Reply::openai_text("Something else, done.", 10, 5),
            Reply::openai_text("Painted the north wall.", 10, 5),
        ],
    );
    let env = world(&mock, "");
    let host = env.start_with_env(&MOCK_KEYS);
    let id = file(&env, "Paint the wall");
    let task = wait_for(&env, &id, &["needs_input", "completed", "failed"]);
    assert_eq!(task["status"], "needs_input", "{task}\n{}", host.log());
    assert_eq!(task["clarifications"][0]["question"], "Which wall?");
    assert_eq!(task["clarifications"][0]["asked_by"], "Coder");
    // The person who filed it is told, through the outbox.
    let message = eventually("the question to be sent", || {
        let list = env.api("/api/messages", None).1;
        list["items"]
            .as_array()?
            .iter()
            .find(|m| m["tags"] == json!(["notice", "clarification"]))
            .cloned()
    });
    assert_eq!(message["to"], "person");
    assert_eq!(message["sender"], "Coder");
    let body = message["body"].as_str().unwrap();
    assert!(body.contains("Which wall?") && body.contains(&format!("hypernet task answer {id}")));
    eventually("the status to count it", || {
        let status = env.api("/api/status", None).1;
        (status["tasks"]["needs_input"] == 1).then_some(())
    });

    // A restart keeps it waiting; nothing is called meanwhile.
    host.stop();
    let host = env.start_with_env(&MOCK_KEYS);
    assert_eq!(
        wait_for(&env, &id, &["needs_input"])["status"],
        "needs_input"
    );
    assert_eq!(mock.requests_to(CHAT).len(), 1);
    let shown = env.run(&["task", "show", &id]).ok().to_owned();
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("question:") && l.ends_with("Which wall? (asked by Coder)")),
        "{shown}"
    );

    // Only a waiting task takes an answer.
    let other = file(&env, "Something else");
    wait_for(&env, &other, &["completed"]);
    let refused = env.run(&["task", "answer", &other, "no"]);
    assert!(
        refused.fails().contains("not waiting for an answer"),
        "{}",
        refused.stderr
    );

    let answered = env.run(&["task", "answer", &id, "The north one."]);
    assert!(
        answered.ok().starts_with(&format!("{id}: ready")),
        "{}",
        answered.stdout
    );
    let task = wait_for(&env, &id, &["completed", "failed"]);
    assert_eq!(task["status"], "completed", "{task}\n{}", host.log());
    assert_eq!(task["result"]["text"], "Painted the north wall.");
    // Waiting for the answer cost no attempt, and `max_attempts` is still the default 3.
    assert_eq!(
        (&task["attempts"], &task["max_attempts"]),
        (&json!(1), &json!(3))
    );
    let calls = mock.requests_to(CHAT);
    let last = calls
        .iter()
        .map(|c| prompts(&c.json()).1)
        .find(|user| user.starts_with("Paint the wall") && user.contains("Answer:"))
        .expect("the answered call");
    assert!(
        last.ends_with("Question: Which wall?\nAnswer: The north one."),
        "{last}"
    );
}

#[test]
fn refusals_and_other_signals_are_kept_and_shown() {
    let mock = MockLlm::start();
    mock.script(
        CHAT,
        [
            Reply::openai_text(
                &signal(json!({"type": "task_rejection", "reason": "not my field"})),
                10,
                5,
            ),
            Reply::openai_text(
                &format!(
                    "About half done.\n{}\n{}",
                    signal(json!({"type": "low_confidence", "confidence": 0.4, "reason": "guessing"})),
                    signal(json!({"type": "partial_completion", "completed": ["part one"], "blocked_on": "data"}))
                ),
                10,
                5,
            ),
        ],
    );
    let env = world(&mock, "");
    let host = env.start_with_env(&MOCK_KEYS);
    // The only worker refuses: nobody is left, so the task fails for good, uncharged.
    let refused = file(&env, "Translate the poem");
    let task = wait_for(&env, &refused, &["failed", "completed"]);
    assert_eq!(task["status"], "failed", "{task}\n{}", host.log());
    assert_eq!(
        task["error"],
        "every worker refused it; last rejected by Coder: not my field"
    );
    assert_eq!(task["rejected_by"], json!(["Coder"]));
    assert_eq!(task["retry_at_ms"], Value::Null);
    let worker = env.api("/api/workers/Coder", None).1;
    assert_eq!(
        worker["stats"]["tasks_failed"], 0,
        "a refusal is not a failure"
    );

    let partial = file(&env, "Analyse the survey");
    let task = wait_for(&env, &partial, &["completed", "failed"]);
    assert_eq!(task["status"], "completed", "{task}");
    let signals = task["result"]["signals"].as_array().unwrap();
    assert_eq!(signals.len(), 2, "{task}");
    assert_eq!(signals[0]["type"], "low_confidence");
    assert_eq!(signals[0]["confidence"], 0.4);
    assert_eq!(signals[1]["type"], "partial_completion");
    assert_eq!(signals[1]["completed"], json!(["part one"]));
    assert_eq!(signals[1]["blocked_on"], "data");
}

#[test]
fn a_worker_remembers_its_recent_tasks_in_later_prompts_across_a_restart() {
    let mock = MockLlm::start();
    mock.script(
        CHAT,
        [
            Reply::openai_text("The plan has three parts.", 10, 5),
            Reply::openai_text("Built.", 10, 5),
            Reply::openai_text("Tested.", 10, 5),
        ],
    );
    let env = world(&mock, "[memory]\nmax_entries = 2\n");
    let host = env.start_with_env(&MOCK_KEYS);
    let first = file(&env, "Draft the plan");
    wait_for(&env, &first, &["completed"]);
    let second = file(&env, "Build the thing");
    wait_for(&env, &second, &["completed"]);
    let calls = mock.requests_to(CHAT);
    let (before, _) = prompts(&calls[0].json());
    assert!(
        !before.contains("# Your recent work"),
        "nothing to remember yet"
    );
    let (system, _) = prompts(&calls[1].json());
    assert!(
        system.contains(&format!(
            "# Your recent work\n- {first} \"Draft the plan\" (completed): The plan has three parts.\n"
        )),
        "{system}"
    );
    let worker = env.api("/api/workers/Coder", None).1;
    assert_eq!(worker["memory"].as_array().unwrap().len(), 2, "{worker}");
    let shown = env.run(&["worker", "Coder"]).ok().to_owned();
    assert!(
        shown.contains(&format!("recent work (oldest first):\n  {first} completed: Draft the plan — The plan has three parts.")),
        "{shown}"
    );

    host.stop();
    let _host = env.start_with_env(&MOCK_KEYS);
    let third = file(&env, "Test the thing");
    wait_for(&env, &third, &["completed"]);
    let (system, _) = prompts(&mock.requests_to(CHAT)[2].json());
    // Kept across the restart, and bounded: the oldest of three is forgotten.
    assert!(
        system.contains(&format!(
            "- {second} \"Build the thing\" (completed): Built."
        )),
        "{system}"
    );
    assert!(
        system.contains(&format!("- {first} \"Draft the plan\"")),
        "{system}"
    );
    let worker = env.api("/api/workers/Coder", None).1;
    let kept: Vec<&str> = worker["memory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert_eq!(kept, ["Build the thing", "Test the thing"]);
}

#[test]
fn personal_time_follows_work_and_its_output_is_kept_per_instance() {
    let mock = MockLlm::start();
    mock.script(
        CHAT,
        [
            Reply::openai_text("Work done.", 10, 5),
            Reply::openai_text("Today I learned to plan before building.", 10, 5),
        ],
    );
    // Ratio 0.5 on a paid model: personal time after every work task.
    let env = world(&mock, "[personal_time]\nratio = 0.5\n");
    let host = env.start_with_env(&MOCK_KEYS);
    let work = file(&env, "Do some work");
    wait_for(&env, &work, &["completed"]);
    let log = eventually("the personal log to have an entry", || {
        let page = env.api("/api/workers/Coder/personal", None).1;
        (page["total"] == 1).then_some(page)
    });
    let entry = &log["items"][0];
    assert_eq!(entry["worker"], "Coder");
    assert_eq!(entry["text"], "Today I learned to plan before building.");
    let task = entry["task"].as_str().unwrap();
    let file = env.data_dir().join(format!(
        "archive/2.1/Instances/Coder/personal-time/{task}.md"
    ));
    let kept = eventually("the archive copy", || std::fs::read_to_string(&file).ok());
    assert!(
        kept.contains("Today I learned to plan before building."),
        "{kept}"
    );
    let personal = wait_for(&env, task, &["completed"]);
    assert_eq!(personal["tags"], json!(["personal-time"]));
    assert_eq!(personal["for_worker"], "Coder");
    assert_eq!(personal["filed_by"], "host");
    // It gets the full identity prompt, and its own invitation as the message.
    let calls = mock.requests_to(CHAT);
    let (system, user) = prompts(&calls[1].json());
    assert!(
        user.starts_with("Personal time: Coder"),
        "{user}\n{}",
        host.log()
    );
    assert!(system.contains("# Who you are"), "{system}");
    assert_eq!(
        env.api("/api/workers/nobody/personal", None).0,
        404,
        "an unknown worker"
    );
}

#[test]
fn the_same_tool_error_repeated_fails_the_task_as_a_loop() {
    let mock = MockLlm::start();
    // Three different calls that meet the same error.
    let call = |x: u32| Reply::openai_tool_call("no_such_tool", json!({ "x": x }), 10, 10);
    mock.script(
        CHAT,
        [call(1), call(2), call(3), Reply::openai_text("never", 1, 1)],
    );
    let env = Env::on_mock_providers(
        &mock,
        "openai/gpt-4o-mini",
        "[http]\nstream = false\n[personal_time]\nenabled = false\n[tools]\nrepeat_limit = 3\n",
    );
    let host = env.start_with_env(&MOCK_KEYS);
    let (_, body) = env.api(
        "/api/tasks",
        Some(&json!({"title": "Spin", "max_attempts": 1})),
    );
    let id = body["id"].as_str().unwrap().to_owned();
    let task = wait_for(&env, &id, &["completed", "failed"]);
    assert_eq!(task["status"], "failed", "{task}\n{}", host.log());
    let error = task["error"].as_str().unwrap();
    assert!(
        error.starts_with("loop detected: the same error 3 times:"),
        "{error}"
    );
    assert!(error.contains("unknown tool `no_such_tool`"), "{error}");
    assert_eq!(
        mock.requests_to(CHAT).len(),
        3,
        "stopped before a fourth call"
    );
}

#[test]
fn swarm_directives_add_and_remove_workers_within_the_caps() {
    let mock = MockLlm::start();
    let directive = |body: Value| format!("```swarm\n{body}\n```");
    mock.script(
        CHAT,
        [
            Reply::openai_text(
                &format!(
                    "On it.\n{}",
                    directive(json!({"action": "spawn", "count": 5, "reason": "backlog"}))
                ),
                10,
                5,
            ),
            Reply::openai_text(
                &format!(
                    "Quiet now.\n{}",
                    directive(json!({"action": "scale_down", "count": 2}))
                ),
                10,
                5,
            ),
        ],
    );
    // Automatic scaling stays off; directives still work, within the hard cap.
    let env = world(&mock, "[autoscale]\nhard_cap = 2\n");
    let host = env.start_with_env(&MOCK_KEYS);
    let ephemeral = |env: &Env| -> usize {
        env.api("/api/workers", None).1["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["ephemeral"] == true)
            .count()
    };
    let first = file(&env, "Plan the backlog");
    assert_eq!(wait_for(&env, &first, &["completed"])["worker"], "Coder");
    // Five asked, at most three per directive, and two by the hard cap.
    eventually("two ephemeral workers", || {
        (ephemeral(&env) == 2).then_some(())
    });
    // For Coder alone, so that both ephemeral workers are idle when it answers.
    let (_, body) = env.api(
        "/api/tasks",
        Some(&json!({"title": "Wind down", "for_worker": "coder"})),
    );
    let second = body["id"].as_str().expect("an id").to_owned();
    let task = wait_for(&env, &second, &["completed", "failed"]);
    assert_eq!(task["worker"], "Coder", "{task}\n{}", host.log());
    eventually("the ephemeral workers to leave", || {
        (ephemeral(&env) == 0).then_some(())
    });
}

#[test]
fn every_earned_personal_time_is_granted_while_another_waits() {
    let env = Env::new();
    env.manifest(
        "[[plugin]]\nname = \"provider-sim\"\ncapabilities = [\"log\"]\n[plugin.config]\n\
         models = [\"paid/\"]\nlocal = false\nlatency_ms = 20\n",
    );
    // Ratio 0.5 on a (zero-priced) paid model: personal time after every work task, filed
    // at low priority so it waits while the high-priority work goes first.
    env.config(
        "standing = []\n\
         [personal_time]\nratio = 0.5\npriority = \"low\"\n\
         [[worker]]\nname = \"Trace\"\naccount = \"2.1\"\nmodel = \"paid/x\"\n\
         [budget.prices]\n\"paid/\" = { input_per_mtok = 0.0, output_per_mtok = 0.0 }\n",
    );
    let host = env.start();
    let work: Vec<Value> = (0..3)
        .map(|i| json!({ "title": format!("work {i}"), "priority": "high" }))
        .collect();
    let (status, body) = env.api("/api/tasks", Some(&json!({ "tasks": work })));
    assert_eq!(status, 200, "{body}");
    // Three work tasks earn three personal tasks: none is merged into one still waiting.
    let personal = eventually("three personal tasks to complete", || {
        let page = env.api("/api/tasks?limit=100", None).1;
        let personal: Vec<Value> = page["items"]
            .as_array()?
            .iter()
            .filter(|t| t["tags"] == json!(["personal-time"]))
            .cloned()
            .collect();
        (personal.len() == 3 && personal.iter().all(|t| t["status"] == "completed"))
            .then_some(personal)
    });
    for task in &personal {
        assert_eq!(task["for_worker"], "Trace", "{task}\n{}", host.log());
    }
    let log = env.api("/api/workers/Trace/personal", None).1;
    assert_eq!(log["total"], 3, "{log}");
}
