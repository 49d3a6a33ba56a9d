//! Deferrable tasks through batch APIs, exercised on the pure core: taken for a batch
//! without a worker and reserved at half price, answers settled at the batch price, a
//! cancelled task's answer ignored, tasks without an answer back to ready at no attempt,
//! and a restart keeping a stored batch's tasks.

use super::*;
use crate::budget::{BudgetConfig, Price};
use crate::scheduler::batch_api::BatchApiConfig;
use crate::scheduler::batch_api::book::Change;
use crate::scheduler::batch_api::runner::Report;
use hypernet_model::tasks::{BatchState, TaskResult, TaskSpec};
use std::collections::HashMap as Map;

/// A core with one worker on `batched/x` (a provider that takes batches) and prices that
/// per million tokens of 1 $ in and 100 $ out.
fn core() -> Core {
    let worker = WorkerConfig {
        name: "w0".into(),
        account: "2.1".into(),
        address: String::new(),
        role: String::new(),
        capabilities: vec![],
        model: Some("batched/x".into()),
        tier: Default::default(),
        grants: Vec::new(),
    };
    let mut c = Core::new(SchedulerConfig::default(), vec![worker]);
    let budget = Budget::new(&BudgetConfig {
        prices: [
            ("batched/".to_owned(), Price::new(1.0, 100.0)),
            ("plain/".to_owned(), Price::new(1.0, 100.0)),
        ]
        .into(),
        ..BudgetConfig::default()
    });
    let limits = LimitsConfig {
        max_tokens: 100,
        ..LimitsConfig::default()
    };
    c.configure(RouterConfig::default(), limits, budget);
    c.configure_batch_api(
        BatchApiConfig {
            enabled: true,
            defer_at_or_below: Some(Priority::Low),
            ..BatchApiConfig::default()
        },
        Box::new(|model: &str| {
            model
                .starts_with("batched/")
                .then(|| "provider-b".to_owned())
        }),
    );
    c
}

fn file(c: &mut Core, title: &str, priority: Priority, deferrable: bool) -> TaskId {
    let planned = PlannedTask {
        key: None,
        spec: TaskSpec {
            title: title.into(),
            priority,
            deferrable,
            ..TaskSpec::default()
        },
    };
    c.file(vec![planned], "person", 0).unwrap()[0].id
}

fn answer() -> TaskResult {
    TaskResult {
        text: "a fine answer".into(),
        model: "batched/x".into(),
        input_tokens: 0,
        output_tokens: 10,
        ..TaskResult::default()
    }
}

/// Takes the deferrable tasks, then assigns the rest, as the loop does.
fn step(c: &mut Core, now: u64) {
    c.collect_deferrable(now);
    c.assign(now);
}

fn submitted(c: &mut Core, ids: &[TaskId]) {
    let entries = ids
        .iter()
        .map(|&id| {
            (
                id,
                1,
                crate::scheduler::batch_api::book::Book::custom_id(id, 1),
            )
        })
        .collect();
    c.batch_report(
        Report::Submitted {
            provider: "provider-b".into(),
            model: "batched/x".into(),
            batch_id: "batch_1".into(),
            entries,
        },
        10,
    );
}

#[test]
fn deferrable_tasks_are_taken_for_a_batch_without_a_worker_at_half_the_reservation() {
    let mut c = core();
    let flagged = file(&mut c, "flagged", Priority::High, true);
    let low = file(&mut c, "low", Priority::Low, false);
    let normal = file(&mut c, "normal", Priority::Normal, false);
    step(&mut c, 1);
    let taken = c.take_batch_submissions();
    let ids: Vec<TaskId> = taken.iter().map(|t| t.task).collect();
    assert_eq!(ids, [flagged, low]);
    assert_eq!(taken[0].custom_id, format!("{flagged}-1"));
    assert_eq!(taken[0].provider, "provider-b");
    // The worker is free for the normal task, which is dispatched as a call.
    let dispatched: Vec<TaskId> = c.fx.dispatch.iter().map(|d| d.task).collect();
    assert_eq!(dispatched, [normal]);
    for id in [flagged, low] {
        let t = c.task(id).unwrap();
        assert_eq!(t.status, TaskStatus::Running);
        assert_eq!(t.batch.as_ref().unwrap().state, BatchState::Collecting);
        assert!(c.in_batch(id));
    }
    // The worst case (100 tokens out at 100 $/M plus the prompt) at half price.
    let full = c.budget().price("batched/x").cost_micros(0, 100);
    assert!(c.budget.held_micros(flagged) >= full / 2);
    assert!(c.budget.held_micros(flagged) < full);
}

#[test]
fn a_model_whose_provider_takes_no_batches_is_called_normally() {
    let mut c = core();
    c.workers[0].model = "plain/x".into();
    let id = file(&mut c, "flagged", Priority::Normal, true);
    step(&mut c, 1);
    assert!(c.take_batch_submissions().is_empty());
    assert_eq!(c.fx.dispatch[0].task, id);
}

#[test]
fn answers_complete_at_the_batch_price_and_a_cancelled_tasks_answer_is_ignored() {
    let mut c = core();
    let a = file(&mut c, "a", Priority::Normal, true);
    let b = file(&mut c, "b", Priority::Normal, true);
    step(&mut c, 1);
    submitted(&mut c, &[a, b]);
    assert!(
        matches!(c.take_batch_changes().as_slice(), [Change::Put(batch)] if batch.entries.len() == 2)
    );
    assert_eq!(
        c.task(a).unwrap().batch.as_ref().unwrap().id.as_deref(),
        Some("batch_1")
    );
    c.cancel(b, None, 20).unwrap();
    let outcomes: Map<String, Result<TaskResult, String>> = [a, b]
        .iter()
        .map(|&id| (format!("{id}-1"), Ok(answer())))
        .collect();
    c.batch_report(
        Report::Ended {
            batch_id: "batch_1".into(),
            outcomes,
        },
        30,
    );
    let done = c.status_of(a);
    assert_eq!(done, Some(TaskStatus::Completed));
    let full = c.budget().price("batched/x").cost_micros(0, 10);
    assert_eq!(c.budget().view(30).spent_session_micros, full.div_ceil(2));
    assert_eq!(c.status_of(b), Some(TaskStatus::Cancelled));
    assert!(!c.in_batch(a) && !c.in_batch(b));
    assert_eq!(c.take_batch_changes(), [Change::Remove("batch_1".into())]);
    assert!(c.fx.events.iter().any(|(kind, _)| kind == "batch.ended"));
}

#[test]
fn a_task_without_an_answer_goes_back_to_ready_at_no_attempt_and_is_not_batched_again() {
    let mut c = core();
    let a = file(&mut c, "a", Priority::Normal, true);
    step(&mut c, 1);
    assert_eq!(c.take_batch_submissions().len(), 1);
    submitted(&mut c, &[a]);
    let max = c.task(a).unwrap().max_attempts;
    c.batch_report(
        Report::Failed {
            batch_id: "batch_1".into(),
            reason: "batch batch_1 expired with no results".into(),
        },
        30,
    );
    let t = c.task(a).unwrap();
    assert_eq!(t.status, TaskStatus::Ready);
    assert_eq!(t.max_attempts, max + 1, "the batch attempt is not counted");
    assert_eq!(t.batch.as_ref().unwrap().state, BatchState::FellBack);
    assert_eq!(c.budget.held_micros(a), 0);
    step(&mut c, 40);
    assert!(c.take_batch_submissions().is_empty(), "not batched again");
    assert_eq!(c.fx.dispatch.last().unwrap().task, a);
}

#[test]
fn a_restart_keeps_a_stored_batchs_tasks_running_and_requeues_those_still_collecting() {
    let mut c = core();
    let a = file(&mut c, "a", Priority::Normal, true);
    let b = file(&mut c, "b", Priority::Normal, true);
    step(&mut c, 1);
    submitted(&mut c, &[a]);
    let changes: [Change; 1] = c.take_batch_changes().try_into().unwrap();
    let [Change::Put(stored)] = changes else {
        panic!("one batch stored");
    };
    let tasks = [c.task(a).unwrap().clone(), c.task(b).unwrap().clone()];
    // A new core from the stored tasks and batches, as at start.
    let mut r = core();
    for t in tasks {
        r.restore_task(t);
    }
    let kept = r.restore_batches(vec![stored], 50);
    r.requeue_interrupted(50);
    assert_eq!(kept.len(), 1);
    assert_eq!(r.task(a).unwrap().status, TaskStatus::Running);
    assert!(r.in_batch(a));
    assert!(r.budget.held_micros(a) > 0, "reserved again");
    assert_eq!(
        r.task(b).unwrap().status,
        TaskStatus::Ready,
        "collecting: taken again"
    );
}
