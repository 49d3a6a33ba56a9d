//! Batched execution, exercised on the pure core: grouping, splitting back, shares,
//! falling back to single calls.

use super::*;
use crate::budget::{BudgetConfig, Price};
use crate::scheduler::batching::BatchingConfig;
use crate::scheduler::batching::call::Finished;
use crate::scheduler::batching::shares::Layout;
use hypernet_llm::CallError;
use hypernet_model::tasks::{Complexity, TaskResult, TaskSpec};
use hypernet_plugin_api::provider::ProviderError;

const PRICE: Price = Price::new(3.0, 15.0);

/// A core with `workers` workers on `paid/x`, batching as `batching` says.
fn core(workers: usize, batching: BatchingConfig) -> Core {
    let ws = (0..workers)
        .map(|i| WorkerConfig {
            model: Some("paid/x".into()),
            ..super::tests::worker(&format!("w{i}"), &[])
        })
        .collect();
    let mut c = Core::new(SchedulerConfig::default(), ws);
    let budget = Budget::new(&BudgetConfig {
        prices: [("paid/".to_owned(), PRICE)].into(),
        ..BudgetConfig::default()
    });
    let limits = LimitsConfig {
        max_tokens: 100,
        ..LimitsConfig::default()
    };
    c.configure(RouterConfig::default(), limits, budget);
    c.configure_batching(batching);
    c
}

fn docs(title: &str) -> PlannedTask {
    PlannedTask {
        key: None,
        spec: TaskSpec {
            title: title.into(),
            tags: vec!["docs".into()],
            ..TaskSpec::default()
        },
    }
}

/// Files `plans` in one batch and assigns.
fn file_and_assign(c: &mut Core, plans: Vec<PlannedTask>) -> Vec<TaskId> {
    let ids = c
        .file(plans, "person", 0)
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect();
    c.assign(1);
    ids
}

fn answered(ids: &[TaskId], texts: &[&str]) -> String {
    ids.iter()
        .zip(texts)
        .map(|(id, t)| format!("<answer task=\"{id}\">\n{t}\n</answer>\n"))
        .collect()
}

fn finished(c: &Core, tasks: &[TaskId], outcome: Result<TaskResult, CallError>) -> Finished {
    Finished {
        tasks: tasks
            .iter()
            .map(|&id| (id, c.task(id).unwrap().attempts))
            .collect(),
        layout: Layout {
            shared_chars: 2_000,
            own_chars: vec![100; tasks.len()],
        },
        single_chars: vec![2_000; tasks.len()],
        outcome,
    }
}

fn result(text: String) -> TaskResult {
    TaskResult {
        text,
        model: "paid/x".into(),
        input_tokens: 1_001,
        output_tokens: 301,
        ..TaskResult::default()
    }
}

#[test]
fn simple_docs_tasks_ready_together_go_to_one_worker_as_one_call() {
    let mut c = core(2, BatchingConfig::default());
    let ids = file_and_assign(
        &mut c,
        vec![docs("Fix a typo"), docs("Add a line"), docs("Reword")],
    );
    assert!(c.fx.dispatch.is_empty(), "{:?}", c.fx.dispatch);
    let batches = std::mem::take(&mut c.fx.batches);
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    assert_eq!(
        b.tasks,
        ids.iter().map(|&id| (id, 1)).collect::<Vec<_>>(),
        "each running on its first attempt, the most urgent (oldest) first"
    );
    assert_eq!(b.call.max_tokens, 300, "room for every answer");
    for &id in &ids {
        let t = c.task(id).unwrap();
        assert_eq!(t.status, TaskStatus::Running);
        assert_eq!(t.worker.as_deref(), Some(b.call.worker.as_str()));
        assert_eq!(t.model, "paid/x");
    }
    // Each holds its own reservation; the other worker is free.
    assert_eq!(c.budget_view(1).reservations, 3);
    assert_eq!(c.counts().busy_workers, 1);
}

#[test]
fn only_qualifying_tasks_of_the_same_tags_share_a_call_within_the_limits() {
    let mut moderate = docs("Design the docs site");
    moderate.spec.complexity = Some(Complexity::Moderate);
    let mut other_tags = docs("Test the examples");
    other_tags.spec.tags = vec!["testing".into()];
    let mut c = core(
        1,
        BatchingConfig {
            max_tasks: 2,
            ..Default::default()
        },
    );
    let ids = file_and_assign(
        &mut c,
        vec![docs("A"), moderate, other_tags, docs("B"), docs("C")],
    );
    let batches = std::mem::take(&mut c.fx.batches);
    assert_eq!(batches.len(), 1);
    assert_eq!(
        batches[0].tasks.iter().map(|t| t.0).collect::<Vec<_>>(),
        [ids[0], ids[3]],
        "two at most, both docs and simple"
    );
    for &id in &[ids[1], ids[2], ids[4]] {
        assert_ne!(c.task(id).unwrap().status, TaskStatus::Running);
    }
    // Characters: a task too long for the room keeps its own call.
    let mut c = core(
        1,
        BatchingConfig {
            max_chars: 30,
            ..Default::default()
        },
    );
    let ids = file_and_assign(
        &mut c,
        vec![docs("Short"), docs(&"Long ".repeat(10)), docs("Tiny")],
    );
    let batches = std::mem::take(&mut c.fx.batches);
    assert_eq!(
        batches[0].tasks.iter().map(|t| t.0).collect::<Vec<_>>(),
        [ids[0], ids[2]]
    );
}

#[test]
fn batching_off_sends_single_calls() {
    let off = BatchingConfig {
        enabled: false,
        ..Default::default()
    };
    let mut c = core(1, off);
    let ids = file_and_assign(&mut c, vec![docs("A"), docs("B")]);
    assert!(c.fx.batches.is_empty());
    assert_eq!(
        c.fx.dispatch.iter().map(|d| d.task).collect::<Vec<_>>(),
        [ids[0]]
    );
}

#[test]
fn a_split_answer_completes_each_task_with_its_share_adding_up_to_the_call() {
    let mut c = core(1, BatchingConfig::default());
    let ids = file_and_assign(&mut c, vec![docs("A"), docs("B"), docs("C")]);
    let f = finished(
        &c,
        &ids,
        Ok(result(answered(
            &ids,
            &["one", "two two", "three three three"],
        ))),
    );
    c.batch_finished(f, 2);
    let call_cost = PRICE.cost_micros(1_001, 301);
    let mut sums = (0, 0, 0);
    for (&id, text) in ids.iter().zip(["one", "two two", "three three three"]) {
        let t = c
            .task(id)
            .unwrap_or_else(|| c.fx.finished.iter().find(|t| t.id == id).unwrap());
        assert_eq!(t.status, TaskStatus::Completed);
        assert_eq!(t.attempts, 1);
        let r = t.result.as_ref().unwrap();
        assert_eq!(r.text, text);
        sums.0 += r.input_tokens;
        sums.1 += r.output_tokens;
        sums.2 += r.cost_micros;
    }
    assert_eq!(sums, (1_001, 301, call_cost));
    let view = c.budget_view(2);
    let usage = &view.per_model["paid/x"];
    assert_eq!(
        (
            usage.calls,
            usage.input_tokens,
            usage.output_tokens,
            usage.cost_micros
        ),
        (1, 1_001, 301, call_cost),
        "one call charged once, in full"
    );
    assert_eq!(view.reservations, 0);
    assert_eq!(c.counts().busy_workers, 0, "the worker is free");
    assert_eq!(c.worker_stats(0).1.tasks_done, 3);
    let saving =
        c.fx.events
            .iter()
            .find(|(k, _)| k == "batch.answered")
            .map(|(_, p)| p["saving_micros"].as_u64().unwrap())
            .unwrap();
    // Three single calls of 500 input tokens each and their outputs, less the call.
    let outputs: u64 = ids
        .iter()
        .map(|&id| {
            let t = c.fx.finished.iter().find(|t| t.id == id).unwrap();
            PRICE.cost_micros(500, t.result.as_ref().unwrap().output_tokens)
        })
        .sum();
    assert_eq!(saving, outputs - call_cost);
}

#[test]
fn an_answer_that_cannot_be_split_sends_the_tasks_to_single_calls_with_their_attempts() {
    let mut c = core(1, BatchingConfig::default());
    let ids = file_and_assign(&mut c, vec![docs("A"), docs("B")]);
    let f = finished(&c, &ids, Ok(result("Both are done.".into())));
    c.batch_finished(f, 2);
    for &id in &ids {
        let t = c.task(id).unwrap();
        assert_eq!(
            (t.status, t.attempts, t.worker.clone()),
            (TaskStatus::Ready, 0, None)
        );
    }
    // The tokens were spent: charged, as one call.
    let usage = &c.budget_view(2).per_model["paid/x"];
    assert_eq!((usage.calls, usage.input_tokens), (1, 1_001));
    c.fx = Effects::default();
    c.assign(3);
    assert!(c.fx.batches.is_empty(), "no second batch for them");
    assert_eq!(
        c.fx.dispatch
            .iter()
            .map(|d| (d.task, d.attempt))
            .collect::<Vec<_>>(),
        [(ids[0], 1)]
    );
}

#[test]
fn a_failed_batched_call_gives_the_attempts_back_and_a_cancelled_task_is_left_out() {
    let mut c = core(1, BatchingConfig::default());
    let ids = file_and_assign(&mut c, vec![docs("A"), docs("B"), docs("C")]);
    let error = CallError::Provider(ProviderError::Server {
        status: 500,
        message: "boom".into(),
    });
    let f = finished(&c, &ids, Err(error));
    c.batch_finished(f, 2);
    for &id in &ids {
        assert_eq!(c.task(id).unwrap().attempts, 0);
        assert_eq!(c.task(id).unwrap().status, TaskStatus::Ready);
    }

    let mut c = core(1, BatchingConfig::default());
    let ids = file_and_assign(&mut c, vec![docs("A"), docs("B"), docs("C")]);
    let f = finished(&c, &ids, Ok(result(answered(&ids, &["a", "b", "c"]))));
    // The first (the worker's own) is cancelled while the call runs: the call goes on.
    c.cancel(ids[0], None, 2).unwrap();
    assert_eq!(c.counts().busy_workers, 1);
    c.batch_finished(f, 3);
    let status = |id| {
        c.task(id)
            .or_else(|| c.fx.finished.iter().rev().find(|t| t.id == id))
            .map(|t| t.status)
    };
    assert_eq!(status(ids[0]), Some(TaskStatus::Cancelled));
    assert_eq!(status(ids[1]), Some(TaskStatus::Completed));
    assert_eq!(status(ids[2]), Some(TaskStatus::Completed));
    let usage = &c.budget_view(3).per_model["paid/x"];
    assert_eq!(
        (usage.input_tokens, usage.cost_micros),
        (1_001, PRICE.cost_micros(1_001, 301)),
        "the cancelled task's share is charged too"
    );
    assert_eq!(c.counts().busy_workers, 0);
}

#[test]
fn a_busy_worker_reserves_no_task_that_a_batched_call_could_take() {
    let two = BatchingConfig {
        max_tasks: 2,
        ..Default::default()
    };
    let mut c = core(1, two);
    let ids = file_and_assign(&mut c, vec![docs("A"), docs("B"), docs("C")]);
    assert_eq!(c.fx.batches.len(), 1);
    assert!(c.fx.reserve.is_empty(), "{:?}", c.fx.reserve);
    assert_eq!(c.task(ids[2]).unwrap().status, TaskStatus::Ready);
    // Without batching, the busy worker holds the next one.
    let mut c = core(
        1,
        BatchingConfig {
            enabled: false,
            ..Default::default()
        },
    );
    let ids = file_and_assign(&mut c, vec![docs("A"), docs("B")]);
    assert_eq!(
        c.fx.reserve.iter().map(|d| d.task).collect::<Vec<_>>(),
        [ids[1]]
    );
}
