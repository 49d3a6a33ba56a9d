//! Signals and directives in answers, exercised on the pure core.

use super::*;
use crate::config::SchedulerConfig;
use crate::tasks::blocks::Signal;
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

#[test]
fn the_refusing_worker_still_gets_the_task_when_no_one_else_is_free() {
    let mut c = core(1, 3);
    let a = file(&mut c, "a");
    start(&mut c, 0);
    let refusal = "```signal\n{\"type\": \"task_rejection\", \"reason\": \"no\"}\n```";
    c.complete(a, 1, answer(refusal), 1);
    assert_eq!(start(&mut c, 2), [(a, "w0".to_owned())]);
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
