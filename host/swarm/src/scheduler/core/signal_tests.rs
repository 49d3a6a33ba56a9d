//! Signals and directives in answers, exercised on the pure core.

use super::*;
use crate::config::SchedulerConfig;
use hypernet_model::tasks::blocks::Signal;
use hypernet_model::tasks::{TaskResult, TaskSpec};
use serde_json::Value;

fn core(workers: usize, max_attempts: u32) -> Core {
    let ws = (0..workers)
        .map(|i| WorkerConfig {
            name: format!("w{i}"),
            account: "2.1".into(),
            address: String::new(),
            role: String::new(),
            capabilities: Vec::new(),
            model: None,
            tier: Default::default(),
            grants: Vec::new(),
        })
        .collect();
    let cfg = SchedulerConfig {
        max_attempts,
        ..SchedulerConfig::default()
    };
    Core::new(cfg, ws)
}

fn file(c: &mut Core, title: &str) -> TaskId {
    let spec = TaskSpec {
        title: title.into(),
        ..TaskSpec::default()
    };
    c.file(vec![PlannedTask { key: None, spec }], "person", 0)
        .unwrap()[0]
        .id
}

fn answer(text: &str) -> TaskResult {
    TaskResult {
        text: text.into(),
        model: "sim/x".into(),
        input_tokens: 10,
        output_tokens: 5,
        ..TaskResult::default()
    }
}

/// Assigns and returns (task, worker name) of each call started.
fn start(c: &mut Core, now: u64) -> Vec<(TaskId, String)> {
    c.assign(now);
    std::mem::take(&mut c.fx.dispatch)
        .into_iter()
        .map(|d| (d.task, d.worker))
        .collect()
}

fn events(c: &mut Core, kind: &str) -> Vec<Value> {
    std::mem::take(&mut c.fx.events)
        .into_iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, v)| v)
        .collect()
}

fn finished(c: &Core, id: TaskId) -> &Task {
    c.fx.finished.iter().find(|t| t.id == id).expect("finished")
}

#[test]
fn a_low_confidence_signal_is_stored_on_the_result_and_announced() {
    let mut c = core(1, 3);
    let a = file(&mut c, "a");
    start(&mut c, 0);
    let text = "Probably 42.\n```signal\n{\"type\": \"low_confidence\", \"confidence\": 0.3, \"reason\": \"guessing\"}\n```";
    c.complete(a, 1, answer(text), 1);
    let task = finished(&c, a);
    assert_eq!(task.status, TaskStatus::Completed);
    let expected = Signal::LowConfidence {
        confidence: 0.3,
        reason: "guessing".into(),
    };
    assert_eq!(task.result.as_ref().unwrap().signals, vec![expected]);
    let announced = events(&mut c, "task.signal");
    assert_eq!(announced.len(), 1, "{announced:?}");
    assert_eq!(announced[0]["task"], "T-1");
    assert_eq!(announced[0]["worker"], "w0");
    assert_eq!(announced[0]["signal"]["type"], "low_confidence");
    assert_eq!(announced[0]["signal"]["confidence"], 0.3);
}

#[test]
fn a_rejected_task_goes_back_to_ready_uncharged_and_to_another_worker() {
    let mut c = core(2, 1);
    let a = file(&mut c, "a");
    let b = file(&mut c, "b");
    assert_eq!(
        start(&mut c, 0),
        [(a, "w0".to_owned()), (b, "w1".to_owned())]
    );
    let refusal = "```signal\n{\"type\": \"task_rejection\", \"reason\": \"out of scope\"}\n```";
    c.complete(a, 1, answer(refusal), 1);
    let task = c.task(a).expect("still held");
    assert_eq!(task.status, TaskStatus::Ready);
    assert!(task.result.is_none() && task.worker.is_none());
    assert_eq!(task.error.as_deref(), Some("rejected by w0: out of scope"));
    assert!(
        task.attempts < task.max_attempts,
        "the refusal used no attempt"
    );
    let rejected = events(&mut c, "task.rejected");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["task"], "T-1");
    assert_eq!(rejected[0]["worker"], "w0");
    assert_eq!(rejected[0]["reason"], "out of scope");
    assert_eq!(c.counts().failed_since_start, 0);
    assert_eq!(c.worker_stats(0).1.tasks_failed, 0);
    // Both workers free, w0 first in line: the one that did not refuse gets it.
    c.complete(b, 1, answer("b done"), 2);
    assert_eq!(start(&mut c, 3), [(a, "w1".to_owned())]);
    c.complete(a, 2, answer("a done"), 4);
    assert_eq!(finished(&c, a).status, TaskStatus::Completed);
}

const REFUSAL: &str = "```signal\n{\"type\": \"task_rejection\", \"reason\": \"no\"}\n```";

#[test]
fn the_refusing_worker_still_gets_the_task_when_no_one_else_is_free() {
    let mut c = core(2, 3);
    let a = file(&mut c, "a");
    let b = file(&mut c, "b");
    start(&mut c, 0);
    c.complete(a, 1, answer(REFUSAL), 1);
    // w1 still holds b: w0 is the only one free, and it gets a again.
    assert_eq!(start(&mut c, 2), [(a, "w0".to_owned())]);
    assert_eq!(c.task(a).unwrap().rejected_by, ["w0"]);
    assert!(c.task(b).is_some());
}

#[test]
fn a_task_every_worker_refused_fails_for_good_with_the_reason() {
    let mut c = core(2, 3);
    let a = file(&mut c, "a");
    start(&mut c, 0);
    c.complete(a, 1, answer(REFUSAL), 1);
    assert_eq!(start(&mut c, 2), [(a, "w1".to_owned())]);
    c.complete(a, 2, answer(REFUSAL), 3);
    let task = finished(&c, a);
    assert_eq!(task.status, TaskStatus::Failed);
    assert_eq!(task.rejected_by, ["w0", "w1"]);
    assert_eq!(
        task.error.as_deref(),
        Some("every worker refused it; last rejected by w1: no")
    );
    assert_eq!(task.retry_at_ms, None, "no automatic retry");
    assert!(start(&mut c, 4).is_empty());
}

#[test]
fn a_question_waits_for_an_answer_which_the_next_call_carries() {
    let mut c = core(1, 1);
    let a = file(&mut c, "a");
    start(&mut c, 0);
    let asks =
        "```signal\n{\"type\": \"clarification_needed\", \"question\": \"Which wall?\"}\n```";
    c.complete(a, 1, answer(asks), 1);
    let task = c.task(a).expect("held while waiting");
    assert_eq!(task.status, TaskStatus::NeedsInput);
    assert_eq!(task.clarifications[0].question, "Which wall?");
    assert_eq!(task.clarifications[0].asked_by, "w0");
    assert_eq!(
        (task.attempts, task.max_attempts),
        (0, 1),
        "asking used no attempt and `max_attempts` stays as filed"
    );
    let waiting = events(&mut c, "task.needs_input");
    assert_eq!(waiting[0]["question"], "Which wall?");
    assert_eq!(waiting[0]["filed_by"], "person");
    assert!(
        start(&mut c, 2).is_empty(),
        "nobody takes it while it waits"
    );
    assert_eq!(c.counts().by_status["needs_input"], 1);
    // Only a waiting task takes an answer, and an empty one is refused.
    assert!(matches!(c.answer(a, "  ", 3), Err(CoreError::Invalid(_))));
    c.answer(a, "The north one.", 3).unwrap();
    let again = c.answer(a, "twice", 3).unwrap_err();
    assert_eq!(again.to_string(), "T-1 is ready, not waiting for an answer");
    assert_eq!(
        c.task(a).unwrap().clarifications[0].answer.as_deref(),
        Some("The north one.")
    );
    assert_eq!(start(&mut c, 4), [(a, "w0".to_owned())]);
    let prompt = crate::prompts::user_prompt(c.task(a).unwrap());
    assert!(
        prompt.ends_with("Question: Which wall?\nAnswer: The north one."),
        "{prompt}"
    );
    // The hold gave its attempt back: this is attempt 1 again.
    c.complete(a, 1, answer("Painted the north wall."), 5);
    assert_eq!(finished(&c, a).status, TaskStatus::Completed);
    assert!(matches!(
        c.answer(a, "late", 6),
        Err(CoreError::NotWaiting { .. })
    ));
    assert!(matches!(
        c.answer(TaskId(99), "x", 6),
        Err(CoreError::NoSuchTask(_))
    ));
}

#[test]
fn an_unreadable_block_does_not_stop_the_answer_counting() {
    let mut c = core(1, 3);
    let a = file(&mut c, "a");
    start(&mut c, 0);
    let text = "Done.\n```signal\nnot json\n```\n```swarm\n{\"action\": \"explode\"}\n```";
    c.complete(a, 1, answer(text), 1);
    let task = finished(&c, a);
    assert_eq!(task.status, TaskStatus::Completed);
    assert!(task.result.as_ref().unwrap().signals.is_empty());
    assert!(events(&mut c, "task.signal").is_empty());
}

fn waiting_on(approval: u64) -> TaskResult {
    TaskResult {
        awaiting_approval: Some(hypernet_model::ids::ApprovalId(approval)),
        ..answer("May I call `shell` with {}? (AQ-0001: needs a yes)")
    }
}

#[test]
fn a_call_waiting_on_an_approval_resumes_with_the_decision() {
    use hypernet_model::ids::ApprovalId;
    let mut c = core(1, 1);
    let a = file(&mut c, "a");
    start(&mut c, 0);
    c.complete(a, 1, waiting_on(1), 1);
    let task = c.task(a).unwrap();
    assert_eq!(task.status, TaskStatus::NeedsInput);
    assert_eq!(task.clarifications[0].approval, Some(ApprovalId(1)));
    assert!(
        task.clarifications[0]
            .question
            .starts_with("May I call `shell`")
    );
    assert!(task.result.is_none(), "not an answer");
    assert_eq!(events(&mut c, "task.needs_input")[0]["approval"], "AQ-0001");
    let e = c.answer(a, "yes", 2).unwrap_err().to_string();
    assert!(e.contains("waits on approval request AQ-0001"), "{e}");
    c.resolve_approval(a, ApprovalId(2), "someone else's".into(), 2);
    assert_eq!(
        c.task(a).unwrap().status,
        TaskStatus::NeedsInput,
        "not its request"
    );
    c.resolve_approval(
        a,
        ApprovalId(1),
        "Approved by Ada; it ran once and returned:\nok".into(),
        3,
    );
    assert_eq!(start(&mut c, 4), [(a, "w0".to_owned())]);
    let prompt = crate::prompts::user_prompt(c.task(a).unwrap());
    assert!(
        prompt.ends_with("Answer: Approved by Ada; it ran once and returned:\nok"),
        "{prompt}"
    );
    // The hold cost no attempt: the resumed call is the first and only one filed for.
    let task = c.task(a).unwrap();
    assert_eq!((task.attempts, task.max_attempts), (1, 1));
    c.complete(a, 1, answer("Ran it."), 5);
    assert_eq!(finished(&c, a).status, TaskStatus::Completed);
}

#[test]
fn a_decision_that_comes_before_the_call_ends_is_kept_for_it() {
    let mut c = core(1, 1);
    let a = file(&mut c, "a");
    start(&mut c, 0);
    c.resolve_approval(
        a,
        hypernet_model::ids::ApprovalId(1),
        "Refused by Ada.".into(),
        1,
    );
    c.complete(a, 1, waiting_on(1), 2);
    let task = c.task(a).unwrap();
    assert_eq!(task.status, TaskStatus::Ready);
    assert_eq!(
        task.clarifications[0].answer.as_deref(),
        Some("Refused by Ada.")
    );
}

#[test]
fn a_task_for_one_worker_fails_once_that_worker_refuses() {
    let mut c = core(2, 3);
    let spec = TaskSpec {
        title: "mine".into(),
        for_worker: Some("w1".into()),
        ..TaskSpec::default()
    };
    let a = c
        .file(vec![PlannedTask { key: None, spec }], "person", 0)
        .unwrap()[0]
        .id;
    assert_eq!(start(&mut c, 0), [(a, "w1".to_owned())]);
    c.complete(a, 1, answer(REFUSAL), 1);
    let task = finished(&c, a);
    assert_eq!(
        task.status,
        TaskStatus::Failed,
        "w0 may not take it: nobody is left"
    );
    assert_eq!(task.rejected_by, ["w1"]);
}
