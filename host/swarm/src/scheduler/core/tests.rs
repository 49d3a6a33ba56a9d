//! The scheduler's rules, exercised on the pure core.

use super::*;
use crate::config::{SchedulerConfig, StandingPriority, default_workers};
use crate::scheduler::call::CallSpec;
use crate::scheduler::reserve::Reserved;
use hypernet_model::tasks::TaskResult;
use hypernet_model::tasks::TaskSpec;

fn cfg(max_attempts: u32) -> SchedulerConfig {
    SchedulerConfig {
        max_attempts,
        retry_backoff_ms: 1_000,
        retry_backoff_max_ms: 3_000,
        ..SchedulerConfig::default()
    }
}

pub(super) fn worker(name: &str, caps: &[&str]) -> WorkerConfig {
    WorkerConfig {
        name: name.into(),
        account: "2.1".into(),
        address: String::new(),
        role: String::new(),
        capabilities: caps.iter().map(|c| c.to_string()).collect(),
        model: None,
        tier: Default::default(),
        grants: Vec::new(),
    }
}

fn core(workers: usize, max_attempts: u32) -> Core {
    let ws = (0..workers)
        .map(|i| worker(&format!("w{i}"), &[]))
        .collect();
    Core::new(cfg(max_attempts), ws)
}

fn spec(title: &str) -> PlannedTask {
    PlannedTask {
        key: None,
        spec: TaskSpec {
            title: title.into(),
            ..TaskSpec::default()
        },
    }
}

fn with(title: &str, f: impl FnOnce(&mut TaskSpec)) -> PlannedTask {
    let mut p = spec(title);
    f(&mut p.spec);
    p
}

fn file(c: &mut Core, p: PlannedTask) -> TaskId {
    c.file(vec![p], "person", 0).unwrap()[0].id
}

fn ok(text: &str) -> TaskResult {
    TaskResult {
        text: text.into(),
        model: "sim/x".into(),
        input_tokens: 10,
        output_tokens: 5,
        ..TaskResult::default()
    }
}

fn status(c: &Core, id: TaskId) -> TaskStatus {
    c.status_of(id).unwrap()
}

/// Assigns, offers the reservations as the loop does once the batch is durable, and
/// returns the dispatched task ids in order.
fn dispatched(c: &mut Core, now: u64) -> Vec<TaskId> {
    c.assign(now);
    offer(c);
    std::mem::take(&mut c.fx.dispatch)
        .into_iter()
        .map(|d| d.task)
        .collect()
}

/// Puts the batch's reservations in their slots; returns the reserved task ids.
fn offer(c: &mut Core) -> Vec<TaskId> {
    let slots = c.slots();
    std::mem::take(&mut c.fx.reserve)
        .into_iter()
        .map(|d| {
            let reserved = Reserved {
                task: d.task,
                attempt: d.attempt,
                spec: CallSpec::default(),
                prepared: None,
            };
            slots.put(d.worker_index, d.lane, reserved);
            d.task
        })
        .collect()
}

/// The lane of worker 0's running call (from its last dispatch).
fn lane_of(c: &mut Core, id: TaskId) -> (usize, u64) {
    let d =
        c.fx.dispatch
            .iter()
            .find(|d| d.task == id)
            .expect("dispatched in this batch");
    (d.worker_index, d.lane)
}

fn attempt(c: &Core, id: TaskId) -> u32 {
    c.task(id).unwrap().attempts
}

#[test]
fn ready_tasks_go_by_priority_then_age() {
    let mut c = core(1, 3);
    let low = file(&mut c, with("low", |s| s.priority = Priority::Low));
    let n1 = file(&mut c, spec("normal one"));
    let crit = file(&mut c, with("crit", |s| s.priority = Priority::Critical));
    let n2 = file(&mut c, spec("normal two"));
    let high = file(&mut c, with("high", |s| s.priority = Priority::High));
    let mut order = vec![];
    for now in 1..=5 {
        let d = dispatched(&mut c, now);
        assert_eq!(d.len(), 1, "one worker, one call at a time");
        order.push(d[0]);
        c.complete(d[0], 1, ok("done well"), now);
    }
    assert_eq!(order, [crit, high, n1, n2, low]);
}

#[test]
fn all_ready_tasks_run_concurrently_up_to_the_worker_count() {
    let mut c = core(3, 3);
    for i in 0..5 {
        file(&mut c, spec(&format!("t{i}")));
    }
    assert_eq!(dispatched(&mut c, 1).len(), 3);
    assert_eq!(c.in_flight(), 3);
    assert_eq!(dispatched(&mut c, 1).len(), 0, "no free worker");
}

#[test]
fn chains_and_diamonds_unblock_when_every_dependency_completes() {
    let mut c = core(4, 3);
    let a = file(&mut c, spec("a"));
    let b = file(&mut c, with("b", |s| s.depends_on = vec![a.to_string()]));
    let d2 = file(&mut c, with("c", |s| s.depends_on = vec![a.to_string()]));
    let d = file(
        &mut c,
        with("d", |s| s.depends_on = vec![b.to_string(), d2.to_string()]),
    );
    assert_eq!(status(&c, b), TaskStatus::Blocked);
    assert_eq!(
        c.task(d).unwrap().blocked_reason.as_deref(),
        Some("waiting for T-2, T-3")
    );
    assert_eq!(dispatched(&mut c, 1), [a]);
    c.complete(a, 1, ok("a done"), 2);
    assert_eq!(dispatched(&mut c, 2), [b, d2]);
    c.complete(b, 1, ok("b done"), 3);
    assert_eq!(status(&c, d), TaskStatus::Blocked);
    assert_eq!(
        c.task(d).unwrap().blocked_reason.as_deref(),
        Some("waiting for T-3")
    );
    c.complete(d2, 1, ok("c done"), 4);
    assert_eq!(status(&c, d), TaskStatus::Ready);
    assert_eq!(c.task(d).unwrap().blocked_reason, None);
}

#[test]
fn a_failed_dependency_blocks_with_a_reason_until_it_is_retried_and_completes() {
    let mut c = core(2, 1);
    let a = file(&mut c, spec("a"));
    let b = file(&mut c, with("b", |s| s.depends_on = vec![a.to_string()]));
    dispatched(&mut c, 1);
    c.fail(a, 1, "boom".into(), 2);
    assert_eq!(status(&c, a), TaskStatus::Failed);
    assert_eq!(status(&c, b), TaskStatus::Blocked, "not ready, not lost");
    assert_eq!(
        c.task(b).unwrap().blocked_reason.as_deref(),
        Some("dependency T-1 failed: boom")
    );
    // The batch is written; the failed task has left memory, so a retry in a later batch
    // brings it back from its stored copy.
    std::mem::take(&mut c.fx);
    let mut stored = Task::new(a, spec("a").spec, vec![], "person", 1, 0);
    stored.status = TaskStatus::Failed;
    stored.attempts = 1;
    assert!(
        c.retry(a, None).is_err(),
        "without the stored copy it is unknown"
    );
    c.retry(a, Some(stored)).unwrap();
    assert_eq!(
        c.task(b).unwrap().blocked_reason.as_deref(),
        Some("waiting for T-1")
    );
    assert_eq!(dispatched(&mut c, 3), [a]);
    assert_eq!(attempt(&c, a), 2, "a retry by hand grants one more attempt");
    c.complete(a, 2, ok("a done"), 4);
    assert_eq!(status(&c, b), TaskStatus::Ready);
}

#[test]
fn a_cancelled_dependency_blocks_with_a_reason() {
    let mut c = core(1, 3);
    let a = file(&mut c, spec("a"));
    let b = file(&mut c, with("b", |s| s.depends_on = vec![a.to_string()]));
    c.cancel(a, None, 1).unwrap();
    assert_eq!(
        c.task(b).unwrap().blocked_reason.as_deref(),
        Some("dependency T-1 was cancelled")
    );
    assert_eq!(status(&c, b), TaskStatus::Blocked);
}

#[test]
fn a_cancelled_task_retried_by_hand_waits_for_its_dependencies_again() {
    let mut c = core(1, 3);
    let a = file(&mut c, spec("a"));
    let b = file(&mut c, with("b", |s| s.depends_on = vec![a.to_string()]));
    let d = file(&mut c, with("d", |s| s.depends_on = vec![b.to_string()]));
    c.cancel(b, None, 1).unwrap();
    assert_eq!(
        c.task(d).unwrap().blocked_reason.as_deref(),
        Some("dependency T-2 was cancelled")
    );
    // Written, and the host restarted: the cancelled task is known only from the store, and
    // nothing records any more that it waited for `a`.
    let mut stored =
        c.fx.finished
            .iter()
            .rev()
            .find(|t| t.id == b)
            .unwrap()
            .clone();
    assert_eq!(stored.status, TaskStatus::Cancelled);
    assert_eq!(
        stored.blocked_reason, None,
        "a cancelled task waits for nothing"
    );
    std::mem::take(&mut c.fx);
    c.waiting_on.get_mut(&a).unwrap().retain(|t| *t != b);
    stored.attempts = 0;
    c.retry(b, Some(stored)).unwrap();
    assert_eq!(status(&c, b), TaskStatus::Blocked);
    assert_eq!(
        c.task(b).unwrap().blocked_reason.as_deref(),
        Some("waiting for T-1")
    );
    assert_eq!(
        c.task(d).unwrap().blocked_reason.as_deref(),
        Some("waiting for T-2"),
        "its dependents wait for it again"
    );
    assert_eq!(dispatched(&mut c, 2), [a]);
    c.complete(a, 1, ok("a done"), 3);
    assert_eq!(status(&c, b), TaskStatus::Ready, "woken by its dependency");
    assert_eq!(dispatched(&mut c, 4), [b]);
    c.complete(b, 1, ok("b done"), 5);
    assert_eq!(status(&c, d), TaskStatus::Ready);
    // Completed tasks are not retried.
    let err = c.retry(b, None).unwrap_err();
    assert_eq!(err.to_string(), "T-2: a completed task cannot become ready");
}

#[test]
fn cycles_and_unknown_dependencies_are_refused() {
    let mut c = core(1, 3);
    let member = |key: &str, deps: &[&str]| PlannedTask {
        key: Some(key.into()),
        spec: TaskSpec {
            title: format!("task {key}"),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            ..TaskSpec::default()
        },
    };
    let err = c
        .file(
            vec![
                member("plan", &["test"]),
                member("build", &["plan"]),
                member("test", &["build"]),
            ],
            "p",
            0,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "dependency cycle: plan -> test -> build -> plan"
    );
    assert_eq!(c.next_id(), 1, "nothing of a refused batch is filed");
    let err = c.file(vec![member("x", &["T-99"])], "p", 0).unwrap_err();
    assert_eq!(err.to_string(), "`depends_on`: no task T-99");
    let err = c.file(vec![member("x", &["later"])], "p", 0).unwrap_err();
    assert!(
        err.to_string().contains("neither a task id nor a key"),
        "{err}"
    );
    // A valid plan: members filed dependencies first, chained by keys.
    let filed = c
        .file(
            vec![
                member("test", &["build"]),
                member("build", &["plan"]),
                member("plan", &[]),
            ],
            "p",
            0,
        )
        .unwrap();
    let ids: Vec<u64> = filed.iter().map(|f| f.id.0).collect();
    assert_eq!(
        ids,
        [3, 2, 1],
        "ids follow dependency order; answers follow the request"
    );
    assert_eq!(c.task(TaskId(3)).unwrap().depends_on, [TaskId(2)]);
}

#[test]
fn duplicates_of_unfinished_tasks_return_the_existing_one() {
    let mut c = core(1, 3);
    let first = c
        .file(
            vec![with("Fix the build", |s| {
                s.description = "CI is red".into()
            })],
            "p",
            0,
        )
        .unwrap();
    let again = c
        .file(
            vec![with("  fix THE build ", |s| {
                s.description = "ci is  red".into()
            })],
            "p",
            0,
        )
        .unwrap();
    assert!(first[0].created);
    assert_eq!(
        again[0],
        Filed {
            id: first[0].id,
            created: false
        }
    );
    dispatched(&mut c, 1);
    c.complete(first[0].id, 1, ok("fixed it"), 2);
    let later = c
        .file(
            vec![with("Fix the build", |s| {
                s.description = "CI is red".into()
            })],
            "p",
            3,
        )
        .unwrap();
    assert!(later[0].created, "a finished task is not a duplicate");
}

#[test]
fn an_origin_files_one_task_ever_held_finished_or_stored() {
    let mut c = core(1, 3);
    let origin = "channel:telegram:77";
    let from = |title: &str| with(title, |s| s.origin = Some(origin.into()));
    let first = c.file(vec![from("Paint the wall")], "ada", 0).unwrap()[0].clone();
    assert!(first.created);
    assert_eq!(c.origin_of(origin), Some(first.id), "held");
    dispatched(&mut c, 1);
    c.complete(first.id, 1, ok("painted"), 2);
    // Finished in this batch, not written yet, and even with other content: the same
    // origin is the same task.
    let same = Filed {
        id: first.id,
        created: false,
    };
    let again = c.file(vec![from("Paint the fence")], "ada", 3).unwrap()[0].clone();
    assert_eq!(again, same);
    let other = c
        .file(
            vec![with("Paint the fence", |s| {
                s.origin = Some("channel:telegram:78".into())
            })],
            "ada",
            3,
        )
        .unwrap()[0]
        .clone();
    assert!(other.created);
    // Once the batch is written the core keeps no finished task's origin: the loop finds
    // it in the store and tells the core, for the batch that files it.
    std::mem::take(&mut c.fx);
    assert_eq!(c.origin_of(origin), None, "not kept in memory");
    assert!(c.origins.len() == 1, "only the held task's origin");
    c.note_stored_origin(origin, first.id);
    let later = c.file(vec![from("Paint the gate")], "ada", 4).unwrap()[0].clone();
    assert_eq!(later, same);
    std::mem::take(&mut c.fx);
    assert_eq!(c.origin_of(origin), None, "told for one batch only");

    // A restored core keeps the origins of the tasks it holds, not of finished ones.
    let mut restored = core(1, 3);
    let mut done = Task::new(first.id, from("Paint the wall").spec, vec![], "ada", 3, 0);
    done.status = TaskStatus::Completed;
    restored.restore_task(done);
    let open = Task::new(
        other.id,
        with("Paint the fence", |s| {
            s.origin = Some("channel:telegram:78".into())
        })
        .spec,
        vec![],
        "ada",
        3,
        0,
    );
    restored.restore_task(open);
    assert_eq!(restored.origin_of(origin), None);
    assert_eq!(restored.origin_of("channel:telegram:78"), Some(other.id));
}

#[test]
fn failures_retry_with_doubling_backoff_up_to_max_attempts() {
    let mut c = core(1, 3);
    let a = file(&mut c, spec("a"));
    dispatched(&mut c, 0);
    c.fail(a, 1, "e1".into(), 10);
    assert_eq!(c.task(a).unwrap().retry_at_ms, Some(1_010));
    assert_eq!(c.next_due(&[]), Some(1_010));
    c.release_retries(1_009);
    assert_eq!(status(&c, a), TaskStatus::Failed);
    c.release_retries(1_010);
    assert_eq!(status(&c, a), TaskStatus::Ready);
    dispatched(&mut c, 1_010);
    c.fail(a, 2, "e2".into(), 2_000);
    assert_eq!(c.task(a).unwrap().retry_at_ms, Some(4_000), "doubled");
    c.release_retries(4_000);
    dispatched(&mut c, 4_000);
    c.fail(a, 3, "e3".into(), 5_000);
    assert_eq!(status(&c, a), TaskStatus::Failed);
    assert!(!c.holds(a), "attempts used up: failed for good");
    let (_, stats) = c.worker_stats(0);
    assert_eq!(stats.tasks_failed, 3);
}

#[test]
fn answers_for_cancelled_or_requeued_attempts_are_ignored() {
    let mut c = core(1, 3);
    let a = file(&mut c, spec("a"));
    dispatched(&mut c, 0);
    c.cancel(a, None, 1).unwrap();
    assert_eq!(c.in_flight(), 0, "cancelling frees the worker");
    c.complete(a, 1, ok("late answer"), 2);
    assert_eq!(status(&c, a), TaskStatus::Cancelled);
    let b = file(&mut c, spec("b"));
    dispatched(&mut c, 3);
    c.requeue_running(4);
    c.complete(b, 1, ok("stale"), 4);
    assert_eq!(status(&c, b), TaskStatus::Ready);
    assert_eq!(dispatched(&mut c, 5), [b]);
    assert_eq!(attempt(&c, b), 2);
}

#[test]
fn output_that_looks_like_an_error_is_a_failure() {
    let mut c = core(1, 1);
    let a = file(&mut c, spec("a"));
    dispatched(&mut c, 0);
    c.complete(a, 1, ok("[error: model overloaded]"), 1);
    assert_eq!(status(&c, a), TaskStatus::Failed);
}

#[test]
fn illegal_requests_are_refused_by_the_state_machine() {
    let mut c = core(1, 3);
    let a = file(&mut c, spec("a"));
    let err = c.retry(a, None).unwrap_err();
    assert_eq!(err.to_string(), "T-1: a ready task cannot become ready");
    dispatched(&mut c, 0);
    c.complete(a, 1, ok("done"), 1);
    let mut stored = Task::new(a, spec("a").spec, vec![], "person", 3, 0);
    stored.status = TaskStatus::Completed;
    let err = c.cancel(a, Some(stored), 2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "T-1: a completed task cannot become cancelled"
    );
    assert!(matches!(
        c.cancel(TaskId(42), None, 2),
        Err(CoreError::NoSuchTask(_))
    ));
}

#[test]
fn restore_requeues_interrupted_work_and_keeps_attempts() {
    let mut before = core(2, 3);
    let a = file(&mut before, spec("a"));
    let b = file(&mut before, spec("b"));
    let done = file(&mut before, spec("done"));
    dispatched(&mut before, 0);
    let stored: Vec<Task> = [a, b]
        .iter()
        .map(|id| before.task(*id).unwrap().clone())
        .collect();
    let mut finished = Task::new(done, spec("done").spec, vec![], "person", 3, 0);
    finished.status = TaskStatus::Completed;

    let mut after = core(2, 3);
    for t in stored.into_iter().chain([finished]) {
        after.restore_task(t);
    }
    after.requeue_interrupted(1);
    assert_eq!(status(&after, a), TaskStatus::Ready);
    assert_eq!(attempt(&after, a), 1, "the interrupted attempt counts");
    assert_eq!(status(&after, done), TaskStatus::Completed);
    assert!(!after.holds(done), "finished tasks stay out of memory");
    assert_eq!(after.next_id(), 4);
    assert_eq!(dispatched(&mut after, 1), [a, b]);
    assert_eq!(attempt(&after, a), 2);
}

#[test]
fn an_interrupted_last_attempt_fails_instead_of_running_again() {
    let mut before = core(2, 1);
    let a = file(&mut before, spec("a"));
    dispatched(&mut before, 0);
    let mut stored = vec![before.task(a).unwrap().clone()];
    // Stored ready with more attempts than allowed, as older releases could leave it.
    let b = TaskId(2);
    let mut over = Task::new(b, spec("b").spec, vec![], "person", 3, 0);
    over.attempts = 6;
    over.status = TaskStatus::Ready;
    stored.push(over);

    let mut after = core(2, 1);
    for t in stored {
        after.restore_task(t);
    }
    after.requeue_interrupted(5);
    for (id, error) in [
        (
            a,
            "attempts spent (1 of 1); the last was interrupted by a restart",
        ),
        (
            b,
            "attempts spent (6 of 3); the last was found ready after a restart",
        ),
    ] {
        assert_eq!(status(&after, id), TaskStatus::Failed);
        assert!(!after.holds(id), "failed for good");
        let written = after.fx.finished.iter().find(|t| t.id == id).unwrap();
        assert_eq!(written.error.as_deref(), Some(error));
    }
    assert!(dispatched(&mut after, 6).is_empty(), "nothing runs again");

    let mut c = core(1, 1);
    let d = file(&mut c, spec("d"));
    dispatched(&mut c, 0);
    c.requeue_running(1);
    assert_eq!(status(&c, d), TaskStatus::Failed, "at shutdown too");
}

#[test]
fn standing_priorities_only_when_idle_once_per_cooldown() {
    let list = vec![StandingPriority {
        title: "Review".into(),
        description: String::new(),
        priority: Priority::Normal,
        tags: vec![],
        cooldown_secs: 60,
    }];
    let mut c = core(1, 3);
    let busy = file(&mut c, spec("busy"));
    assert_eq!(c.file_standing(&list, 0), 0, "not while work is queued");
    dispatched(&mut c, 0);
    c.complete(busy, 1, ok("done"), 1);
    assert_eq!(c.file_standing(&list, 1_000), 1);
    assert!(c.fx.cooldowns);
    let review = TaskId(2);
    assert_eq!(c.task(review).unwrap().filed_by, "standing");
    dispatched(&mut c, 1_000);
    c.complete(review, 1, ok("reviewed"), 2_000);
    assert_eq!(c.file_standing(&list, 60_999), 0, "cooling down");
    assert_eq!(c.next_due(&list), Some(61_000));
    assert_eq!(c.file_standing(&list, 61_000), 1);
    assert_eq!(c.file_standing(&list, 200_000), 0, "its task is still open");
}

#[test]
fn workers_are_chosen_by_capability_match() {
    let mut c = Core::new(
        cfg(3),
        vec![
            worker("coder", &["code"]),
            worker("writer", &["docs", "review"]),
        ],
    );
    let docs = file(&mut c, with("write docs", |s| s.tags = vec!["docs".into()]));
    c.assign(0);
    let d = std::mem::take(&mut c.fx.dispatch);
    assert_eq!((d[0].task, d[0].worker.as_str()), (docs, "writer"));
    assert_eq!(
        d[0].model, "sim/default",
        "workers without a model use the default"
    );
    assert_eq!(default_workers().len(), 4);
}

#[test]
fn commands_on_one_task_in_one_batch_see_each_other() {
    // Cancel, then retry, before anything is written: the retry sees the cancel (the task
    // is found among the batch's finished ones) and files the task again, once.
    let mut c = core(1, 3);
    let busy = file(&mut c, spec("busy"));
    let a = file(&mut c, spec("a"));
    dispatched(&mut c, 0);
    c.cancel(a, None, 1).unwrap();
    c.retry(a, None).unwrap();
    assert_eq!(status(&c, a), TaskStatus::Ready);
    c.complete(busy, 1, ok("done"), 2);
    assert_eq!(dispatched(&mut c, 3), [a], "run once, not twice");
    c.complete(a, attempt(&c, a), ok("a done"), 3);
    assert_eq!(status(&c, a), TaskStatus::Completed);

    // An answer, then a cancel, in one batch: the result stays and the cancel is refused.
    let b = file(&mut c, spec("b"));
    dispatched(&mut c, 4);
    c.complete(b, 1, ok("the answer"), 5);
    let err = c.cancel(b, None, 6).unwrap_err();
    assert_eq!(
        err.to_string(),
        "T-3: a completed task cannot become cancelled"
    );
    let last = c.fx.finished.iter().rev().find(|t| t.id == b).unwrap();
    assert_eq!(last.status, TaskStatus::Completed);
    assert_eq!(last.result.as_ref().unwrap().text, "the answer");
}

#[test]
fn a_long_chain_in_one_batch_is_ordered_without_recursion() {
    let mut c = core(1, 3);
    let n = 20_000;
    let batch: Vec<PlannedTask> = (0..n)
        .map(|i| PlannedTask {
            key: Some(format!("k{i}")),
            spec: TaskSpec {
                title: format!("step {i}"),
                depends_on: if i + 1 < n {
                    vec![format!("k{}", i + 1)]
                } else {
                    vec![]
                },
                ..TaskSpec::default()
            },
        })
        .collect();
    let filed = c.file(batch, "p", 0).unwrap();
    assert_eq!(
        filed[n - 1].id,
        TaskId(1),
        "the last member depends on nothing: filed first"
    );
    assert_eq!(dispatched(&mut c, 1), [TaskId(1)]);
}

#[test]
fn a_refused_batch_changes_nothing() {
    let mut c = core(1, 3);
    let err = c
        .file(
            vec![spec("a"), with("b", |s| s.depends_on = vec!["T-99".into()])],
            "p",
            0,
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "`depends_on`: no task T-99");
    assert_eq!(c.next_id(), 1);
    assert!(c.fx.dirty.is_empty() && c.fx.events.is_empty());
    assert!(c.counts().by_status.is_empty());
}

#[test]
fn an_open_standing_title_does_not_make_the_scheduler_spin() {
    let list = vec![StandingPriority {
        title: "Review".into(),
        description: String::new(),
        priority: Priority::Normal,
        tags: vec![],
        cooldown_secs: 60,
    }];
    let mut c = core(1, 3);
    let dep = file(&mut c, spec("dep"));
    // A task with the standing title, blocked for good behind a cancelled dependency.
    file(
        &mut c,
        with("Review", |s| s.depends_on = vec![dep.to_string()]),
    );
    c.cancel(dep, None, 0).unwrap();
    c.cooldowns.insert("Review".into(), 0);
    assert!(c.is_idle());
    assert_eq!(c.file_standing(&list, 1_000_000), 0);
    assert_eq!(
        c.next_due(&list),
        None,
        "nothing is due, so the loop may sleep"
    );
}

#[test]
fn a_task_awaiting_its_retry_is_not_filed_twice() {
    let mut c = core(1, 3);
    let a = file(&mut c, spec("a"));
    dispatched(&mut c, 0);
    c.fail(a, 1, "flaky".into(), 1);
    let again = c.file(vec![spec("a")], "p", 2).unwrap();
    assert_eq!(
        again[0],
        Filed {
            id: a,
            created: false
        }
    );
}

/// Files `a` and `b` on a one-worker core: `a` runs, `b` is reserved and offered. Returns
/// them with the worker and the lane of `a`'s call.
fn a_running_b_reserved(c: &mut Core) -> (TaskId, TaskId, usize, u64) {
    let a = file(c, spec("a"));
    let b = file(c, spec("b"));
    c.assign(0);
    let (w, lane) = lane_of(c, a);
    assert_eq!(offer(c), [b]);
    c.fx = Effects::default();
    (a, b, w, lane)
}

fn no_reserve(workers: usize) -> Core {
    let ws = (0..workers)
        .map(|i| worker(&format!("w{i}"), &[]))
        .collect();
    Core::new(
        SchedulerConfig {
            reserve: false,
            ..cfg(3)
        },
        ws,
    )
}

#[test]
fn a_busy_worker_holds_its_next_task_durably_assigned() {
    let mut c = core(1, 3);
    let a = file(&mut c, spec("a"));
    let b = file(&mut c, spec("b"));
    let later = file(&mut c, spec("later"));
    c.assign(0);
    let (w, lane) = lane_of(&mut c, a);
    assert_eq!(offer(&mut c), [b], "one reservation per busy worker");
    assert_eq!(status(&c, b), TaskStatus::Assigned);
    assert!(
        c.fx.dirty.contains(&b),
        "the reservation is written with the batch"
    );
    assert_eq!(attempt(&c, b), 1);
    assert_eq!(status(&c, later), TaskStatus::Ready);
    assert_eq!(c.worker_views()[0].next_task.as_deref(), Some("T-2"));
    c.fx = Effects::default();

    // The call task takes the reservation as its call ends; the scheduler records the
    // start without starting anything itself.
    let taken = c
        .slots()
        .take_for_lane(w, lane)
        .expect("offered to this lane");
    assert_eq!((taken.task, taken.attempt), (b, 1));
    c.complete(a, 1, ok("done well"), 1);
    assert_eq!(status(&c, b), TaskStatus::Running);
    assert!(c.fx.dispatch.is_empty(), "already started by the call task");
    assert_eq!(c.in_flight(), 1);
    assert_eq!(dispatched(&mut c, 1), Vec::<TaskId>::new());
    assert_eq!(status(&c, later), TaskStatus::Assigned, "reserved next");
}

#[test]
fn a_reservation_the_call_task_missed_is_started_by_the_scheduler_on_a_new_lane() {
    let mut c = core(1, 3);
    let (a, b, w, old_lane) = a_running_b_reserved(&mut c);
    // The answer arrives before the call task looked at the slot.
    c.complete(a, 1, ok("done well"), 1);
    assert_eq!(status(&c, b), TaskStatus::Running);
    let (_, new_lane) = lane_of(&mut c, b);
    assert_ne!(new_lane, old_lane);
    let c_id = file(&mut c, spec("c"));
    assert_eq!(dispatched(&mut c, 2), [b], "started by the scheduler");
    assert_eq!(status(&c, c_id), TaskStatus::Assigned);
    assert!(
        c.slots().take_for_lane(w, old_lane).is_none(),
        "the old call task cannot take the new lane's reservation"
    );
    assert!(c.slots().take_for_lane(w, new_lane).is_some());
}

#[test]
fn a_more_urgent_task_takes_the_place_of_a_reservation() {
    let mut c = core(1, 3);
    let a = file(&mut c, spec("a"));
    let low = file(&mut c, with("low", |s| s.priority = Priority::Low));
    assert_eq!(dispatched(&mut c, 0), [a]);
    assert_eq!(status(&c, low), TaskStatus::Assigned);
    let crit = file(&mut c, with("crit", |s| s.priority = Priority::Critical));
    let normal = file(&mut c, spec("normal"));
    c.assign(1);
    assert_eq!(offer(&mut c), [crit]);
    assert_eq!(status(&c, low), TaskStatus::Ready);
    assert_eq!(
        attempt(&c, low),
        0,
        "a withdrawn reservation spends no attempt"
    );
    assert_eq!(c.task(low).unwrap().worker, None);
    assert_eq!(status(&c, normal), TaskStatus::Ready);
    // Equal or lower priority never displaces a reservation.
    c.assign(2);
    assert!(offer(&mut c).is_empty());
    assert_eq!(status(&c, crit), TaskStatus::Assigned);
}

#[test]
fn a_started_reservation_is_not_withdrawn() {
    let mut c = core(1, 3);
    let a = file(&mut c, spec("a"));
    let low = file(&mut c, with("low", |s| s.priority = Priority::Low));
    c.assign(0);
    let (w, lane) = lane_of(&mut c, a);
    offer(&mut c);
    c.slots()
        .take_for_lane(w, lane)
        .expect("the call task starts it");
    let crit = file(&mut c, with("crit", |s| s.priority = Priority::Critical));
    c.withdraw_reservations();
    assert_eq!(c.assign(1), 0);
    assert_eq!(status(&c, low), TaskStatus::Assigned, "its call is running");
    assert_eq!(status(&c, crit), TaskStatus::Ready);
    c.complete(a, 1, ok("done well"), 2);
    assert_eq!(status(&c, low), TaskStatus::Running);
    assert_eq!(attempt(&c, low), 1);
}

#[test]
fn cancelling_around_reservations_keeps_one_call_per_worker() {
    let mut c = core(1, 3);
    let (a, b, w, old_lane) = a_running_b_reserved(&mut c);
    // Cancelling the running task starts the reservation at once, on a new lane.
    c.cancel(a, None, 1).unwrap();
    assert_eq!(status(&c, b), TaskStatus::Running);
    assert_eq!(lane_of(&mut c, b).0, w);
    assert_eq!(c.in_flight(), 1);
    // Cancelling a reservation takes it back.
    let d = file(&mut c, spec("d"));
    dispatched(&mut c, 2);
    assert_eq!(status(&c, d), TaskStatus::Assigned);
    c.cancel(d, None, 3).unwrap();
    assert_eq!(status(&c, d), TaskStatus::Cancelled);
    assert!(c.slots().take_for_lane(w, old_lane).is_none());
    assert_eq!(c.worker_views()[0].next_task, None);
    c.complete(b, 1, ok("done well"), 4);
    assert_eq!(c.in_flight(), 0);
}

#[test]
fn shutdown_withdraws_reservations_and_restart_requeues_them_with_the_attempt() {
    let mut c = core(1, 3);
    let a = file(&mut c, spec("a"));
    let b = file(&mut c, spec("b"));
    dispatched(&mut c, 0);
    c.withdraw_reservations();
    assert_eq!(status(&c, b), TaskStatus::Ready);
    assert_eq!(attempt(&c, b), 0);

    // Killed with a reservation written: its call may have started, so it counts.
    let mut before = core(1, 3);
    file(&mut before, spec("a"));
    file(&mut before, spec("b"));
    dispatched(&mut before, 0);
    let stored: Vec<Task> = [a, b]
        .iter()
        .map(|id| before.task(*id).unwrap().clone())
        .collect();
    let mut after = core(1, 3);
    for t in stored {
        after.restore_task(t);
    }
    after.requeue_interrupted(1);
    assert_eq!(status(&after, b), TaskStatus::Ready);
    assert_eq!(attempt(&after, b), 1);
    assert_eq!(after.in_flight(), 0);
}

#[test]
fn reservations_can_be_turned_off() {
    let mut c = no_reserve(1);
    let a = file(&mut c, spec("a"));
    let b = file(&mut c, spec("b"));
    assert_eq!(dispatched(&mut c, 0), [a]);
    assert_eq!(status(&c, b), TaskStatus::Ready);
    c.complete(a, 1, ok("done well"), 1);
    assert_eq!(dispatched(&mut c, 2), [b]);
}

/// Files and completes `n` tasks, `workers` at a time; returns every task that left memory
/// (what the loop writes), in order.
fn work_through(c: &mut Core, n: usize, now: u64) -> Vec<Task> {
    let mut left = Vec::new();
    let mut filed = 0;
    while filed < n {
        let batch: Vec<PlannedTask> = (filed..(filed + 8).min(n))
            .map(|i| spec(&format!("routine {i}")))
            .collect();
        filed += batch.len();
        c.file(batch, "person", now).unwrap();
        for id in dispatched(c, now) {
            c.complete(id, 1, ok("done"), now);
        }
        left.append(&mut std::mem::take(&mut c.fx).finished);
    }
    left
}

#[test]
fn a_dependency_on_a_task_finished_long_ago_resolves_in_memory_and_after_a_restore() {
    let mut c = core(8, 1);
    let done = file(&mut c, spec("done long ago"));
    let failed = file(&mut c, spec("failed long ago"));
    let cancelled = file(&mut c, spec("cancelled long ago"));
    c.cancel(cancelled, None, 1).unwrap();
    let running = dispatched(&mut c, 1);
    assert_eq!(running, [done, failed]);
    c.complete(done, 1, ok("done"), 2);
    c.fail(failed, 1, "boom".into(), 2);
    let mut stored = std::mem::take(&mut c.fx).finished;
    stored.extend(work_through(&mut c, 5_000, 3));
    assert_eq!(stored.len(), 5_003);
    // T-1 completed, T-2 failed, T-3 cancelled, T-4 to T-5003 completed: four runs.
    assert_eq!(c.finished.runs(), 4);
    assert_eq!(c.finished.len(), 5_003);

    let check = |c: &mut Core| {
        let on = |dep: TaskId| {
            with(&format!("after {dep}"), |s| {
                s.depends_on = vec![dep.to_string()]
            })
        };
        let after_done = file(c, on(done));
        let after_failed = file(c, on(failed));
        let after_cancelled = file(c, on(cancelled));
        let after_recent = file(c, on(TaskId(5_003)));
        assert_eq!(status(c, after_done), TaskStatus::Ready);
        assert_eq!(status(c, after_recent), TaskStatus::Ready);
        assert_eq!(status(c, after_failed), TaskStatus::Blocked);
        assert_eq!(
            c.task(after_failed).unwrap().blocked_reason.as_deref(),
            Some("dependency T-2 failed")
        );
        assert_eq!(
            c.task(after_cancelled).unwrap().blocked_reason.as_deref(),
            Some("dependency T-3 was cancelled")
        );
        assert!(c.knows(TaskId(2_500)));
        assert!(!c.knows(TaskId(5_004 + 4)), "not filed yet");
    };
    check(&mut c);

    // A restart restores the same from the stored tasks.
    let mut restored = core(8, 1);
    for task in stored {
        restored.restore_task(task);
    }
    restored.requeue_interrupted(10);
    assert_eq!(restored.finished.runs(), 4);
    assert_eq!(restored.finished.len(), 5_003);
    check(&mut restored);
}

#[test]
fn the_indexes_give_back_the_room_a_burst_took() {
    let mut c = core(8, 1);
    let burst: Vec<PlannedTask> = (0..20_000).map(|i| spec(&format!("burst {i}"))).collect();
    c.file(burst, "person", 0).unwrap();
    assert!(c.active.capacity() >= 20_000);
    c.shrink_spare();
    assert!(
        c.active.capacity() >= 20_000,
        "nothing to give back while they are held"
    );
    for id in 1..=20_000 {
        c.cancel(TaskId(id), None, 1).unwrap();
    }
    std::mem::take(&mut c.fx);
    assert!(c.active.is_empty());
    c.shrink_spare();
    let slot = std::mem::size_of::<(TaskId, Task)>();
    assert!(
        c.active.capacity() * slot <= 16 * 1024,
        "{} slots of {slot} bytes kept",
        c.active.capacity()
    );
    assert!(
        c.dedup.capacity() <= 1_024,
        "{} slots kept",
        c.dedup.capacity()
    );
    // Work goes on as before.
    let after = file(&mut c, spec("after the burst"));
    assert_eq!(dispatched(&mut c, 2), [after]);
}
