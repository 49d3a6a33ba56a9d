//! Worker memory, personal time and tasks filed for one worker, on the pure core.

use super::*;
use crate::workers::memory::Outcome;
use crate::workers::personal;
use hypernet_model::tasks::TaskStatus;
use hypernet_model::tasks::{TaskResult, TaskSpec};

fn core(workers: usize, model: &str) -> Core {
    let ws = (0..workers)
        .map(|i| WorkerConfig {
            name: format!("w{i}"),
            account: "2.1".into(),
            address: String::new(),
            role: String::new(),
            capabilities: Vec::new(),
            model: Some(model.into()),
            tier: Default::default(),
            grants: Vec::new(),
        })
        .collect();
    let cfg = SchedulerConfig {
        max_attempts: 1,
        reserve: false,
        ..SchedulerConfig::default()
    };
    Core::new(cfg, ws)
}

fn file(c: &mut Core, spec: TaskSpec) -> Result<TaskId, CoreError> {
    Ok(c.file(vec![PlannedTask { key: None, spec }], "person", 0)?[0].id)
}

fn titled(title: &str) -> TaskSpec {
    TaskSpec {
        title: title.into(),
        ..TaskSpec::default()
    }
}

fn answer(text: &str) -> TaskResult {
    TaskResult {
        text: text.into(),
        model: "sim/x".into(),
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

#[test]
fn a_worker_remembers_its_recent_tasks_up_to_the_bound() {
    let mut c = core(1, "sim/x");
    let memory = MemoryConfig {
        max_entries: 2,
        ..MemoryConfig::default()
    };
    c.configure_workers(memory, PersonalTimeConfig::default());
    for (i, text) in ["first answer", "second answer", ""].iter().enumerate() {
        let id = file(&mut c, titled(&format!("t{i}"))).unwrap();
        start(&mut c, i as u64);
        // The empty answer looks like an error: a failure, remembered as one.
        c.complete(id, 1, answer(text), i as u64 + 1);
    }
    let (name, m) = c.worker_memory(0);
    assert_eq!(name, "w0");
    let kept: Vec<(&str, Outcome)> = m
        .entries
        .iter()
        .map(|e| (e.title.as_str(), e.outcome))
        .collect();
    assert_eq!(kept, [("t1", Outcome::Completed), ("t2", Outcome::Failed)]);
    assert_eq!(m.entries[0].summary, "second answer");
    assert!(
        m.entries[1]
            .summary
            .starts_with("output looks like an error")
    );
    assert!(
        c.fx.workers.contains(&0),
        "the memory is written with the stats"
    );
}

#[test]
fn memories_are_rebuilt_from_the_restored_tasks_of_each_worker() {
    let mut c = core(2, "sim/x");
    let done = |id: u64, worker: &str| {
        let mut t = Task::new(
            TaskId(id),
            titled(&format!("t{id}")),
            vec![],
            "person",
            1,
            0,
        );
        t.status = TaskStatus::Completed;
        t.worker = Some(worker.into());
        t.finished_ms = Some(id);
        t.result = Some(answer(&format!("answer {id}")));
        t
    };
    c.restore_task(done(1, "w1"));
    c.restore_task(done(2, "w0"));
    c.restore_task(done(3, "w1"));
    let mut running = done(4, "w1");
    running.status = TaskStatus::Running;
    c.restore_task(running);
    c.restore_task(done(5, "gone"));
    let ids = |c: &Core, w| -> Vec<u64> {
        c.worker_memory(w)
            .1
            .entries
            .iter()
            .map(|e| e.task.0)
            .collect()
    };
    assert_eq!(ids(&c, 0), [2]);
    assert_eq!(ids(&c, 1), [1, 3], "unfinished tasks are not remembered");
    assert_eq!(c.worker_memory(1).1.entries[1].summary, "answer 3");
}

#[test]
fn personal_time_follows_every_interval_of_work() {
    let mut c = core(1, "openai/gpt-4o");
    c.configure_workers(MemoryConfig::default(), PersonalTimeConfig::default());
    let personal_open = |c: &Core| -> Vec<TaskId> {
        c.active
            .values()
            .filter(|t| personal::is_personal(&t.tags))
            .map(|t| t.id)
            .collect()
    };
    // Ratio 0.25: one personal task after three work tasks.
    for i in 0..3 {
        assert!(
            personal_open(&c).is_empty(),
            "filed too early, after {i} tasks"
        );
        let id = file(&mut c, titled(&format!("work {i}"))).unwrap();
        assert_eq!(start(&mut c, i), [(id, "w0".to_owned())]);
        c.complete(id, 1, answer("done"), i + 1);
    }
    let open = personal_open(&c);
    assert_eq!(open.len(), 1);
    let p = c.task(open[0]).unwrap();
    assert_eq!(p.for_worker.as_deref(), Some("w0"));
    assert_eq!(p.title, "Personal time: w0");
    assert_eq!(
        c.worker_stats(0).1.work_since_personal,
        0,
        "reset once filed"
    );
    let p = p.id;
    assert_eq!(start(&mut c, 10), [(p, "w0".to_owned())]);
    c.complete(p, 1, answer("I reflected."), 11);
    let log = &c.fx.personal;
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].worker.as_str(), log[0].text.as_str()),
        ("w0", "I reflected.")
    );
    assert_eq!(log[0].task, p.to_string());
    assert_eq!(
        c.worker_stats(0).1.work_since_personal,
        0,
        "personal time is not work"
    );
    assert!(personal_open(&c).is_empty());
}

#[test]
fn a_task_for_a_busy_worker_waits_for_it() {
    let mut c = core(2, "sim/x");
    let a = file(&mut c, titled("a")).unwrap();
    assert_eq!(start(&mut c, 0), [(a, "w0".to_owned())]);
    let mine = file(
        &mut c,
        TaskSpec {
            for_worker: Some("W0".into()),
            ..titled("for w0")
        },
    )
    .unwrap();
    assert_eq!(
        c.task(mine).unwrap().for_worker.as_deref(),
        Some("w0"),
        "its configured name"
    );
    assert!(
        start(&mut c, 1).is_empty(),
        "w1 is free but it is not for w1"
    );
    c.complete(a, 1, answer("done"), 2);
    assert_eq!(start(&mut c, 3), [(mine, "w0".to_owned())]);
}

#[test]
fn a_task_for_an_unknown_worker_is_refused_naming_the_workers() {
    let mut c = core(2, "sim/x");
    let e = file(
        &mut c,
        TaskSpec {
            for_worker: Some("Nobody".into()),
            ..titled("x")
        },
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`for_worker`: no worker is named `Nobody` (workers: w0, w1)"
    );
}

#[test]
fn local_workers_and_disabled_personal_time_file_nothing_early() {
    for (model, personal) in [
        ("sim/x", PersonalTimeConfig::default()),
        (
            "openai/gpt-4o",
            PersonalTimeConfig {
                enabled: false,
                ..PersonalTimeConfig::default()
            },
        ),
    ] {
        let mut c = core(1, model);
        c.configure_workers(MemoryConfig::default(), personal);
        for i in 0..9 {
            let id = file(&mut c, titled(&format!("work {i}"))).unwrap();
            start(&mut c, i);
            c.complete(id, 1, answer("done"), i + 1);
        }
        assert!(
            !c.active.values().any(|t| personal::is_personal(&t.tags)),
            "{model}: nine tasks are fewer than a local worker's ten"
        );
    }
}

#[test]
fn a_worker_waiting_for_its_boot_gets_no_task_until_it_ends() {
    use crate::identity::startup::Request;
    let mut c = core(2, "openai/gpt-4o");
    c.await_boot(["w0".to_owned()]);
    let a = file(&mut c, titled("a")).unwrap();
    let b = file(&mut c, titled("b")).unwrap();
    assert_eq!(start(&mut c, 1), [(a, "w1".to_owned())], "w0 boots first");
    c.boot_request(
        Request::Turn {
            worker: "w0".into(),
            turn: 2,
            turns: 8,
        },
        2,
    );
    let view = c.boot_view().unwrap();
    assert_eq!(
        (view.worker.as_deref(), view.turn, view.turns),
        (Some("w0"), 2, 8)
    );
    assert_eq!(view.waiting, ["w0"]);
    // A turn is reserved, then charged to the booting worker.
    let held = c.budget_view(3).reservations;
    let (reply, mut granted) = tokio::sync::oneshot::channel();
    c.boot_request(
        Request::Reserve {
            model: "openai/gpt-4o".into(),
            chars: 4_000,
            max_tokens: 512,
            reply,
        },
        3,
    );
    assert_eq!(granted.try_recv().unwrap(), Ok(()));
    assert_eq!(c.budget_view(3).reservations, held + 1);
    c.boot_request(
        Request::Settle {
            model: "openai/gpt-4o".into(),
            worker: "w0".into(),
            tokens: crate::budget::Tokens::plain(1_000, 100),
        },
        4,
    );
    let spent = c.budget_view(4);
    assert_eq!(spent.reservations, held);
    assert!(spent.spent_session_micros > 0, "{spent:?}");
    c.boot_request(
        Request::Finished {
            worker: "w0".into(),
            outcome: "done".into(),
            identities: Default::default(),
        },
        5,
    );
    assert!(c.boot_view().is_none());
    let kinds: Vec<String> = c.fx.events.iter().map(|(k, _)| k.clone()).collect();
    assert!(
        kinds.contains(&"boot.progress".to_owned()) && kinds.contains(&"boot.finished".to_owned())
    );
    assert_eq!(start(&mut c, 6), [(b, "w0".to_owned())]);
}
