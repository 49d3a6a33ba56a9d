//! The failure ladder inside the core: suspended workers and an open breaker get no calls.

use super::*;
use crate::scheduler::ladder::{LadderConfig, ProbeTarget};
use hypernet_llm::CallError;
use hypernet_model::tasks::{TaskResult, TaskSpec};
use hypernet_plugin_api::provider::ProviderError;

fn paid_core(workers: &[&str], reserve: bool) -> Core {
    let ws = workers
        .iter()
        .map(|n| WorkerConfig {
            name: (*n).into(),
            account: "2.2".into(),
            address: String::new(),
            role: String::new(),
            capabilities: Vec::new(),
            model: Some("openai/gpt-4o".into()),
            tier: Default::default(),
            grants: Vec::new(),
        })
        .collect();
    let cfg = SchedulerConfig {
        reserve,
        max_attempts: 5,
        retry_backoff_ms: 10,
        ..SchedulerConfig::default()
    };
    let mut c = Core::new(cfg, ws);
    c.configure_ladder(
        LadderConfig {
            rate_limit_ms: 1_000,
            ..LadderConfig::default()
        },
        None,
    );
    c
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

fn dispatched(c: &mut Core, now: u64) -> Vec<(TaskId, String)> {
    c.assign(now);
    std::mem::take(&mut c.fx.dispatch)
        .into_iter()
        .map(|d| (d.task, d.worker))
        .collect()
}

fn rate_limited() -> CallError {
    CallError::Provider(ProviderError::RateLimited {
        message: "429".into(),
        retry_after_ms: None,
    })
}

fn kinds(c: &mut Core) -> Vec<String> {
    std::mem::take(&mut c.fx.events)
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

#[test]
fn a_rate_limited_worker_is_skipped_until_its_probe_succeeds() {
    let mut c = paid_core(&["A", "B"], false);
    let t1 = file(&mut c, "one");
    let t2 = file(&mut c, "two");
    let first = dispatched(&mut c, 1);
    assert_eq!(first.len(), 2);
    let (_, a_task) = (first[0].1.clone(), first[0].0);
    c.fail_call(a_task, 1, &rate_limited(), 2);
    assert!(kinds(&mut c).contains(&"worker.suspended".to_owned()));
    assert!(c.fx.ladder, "the suspension is persisted with the batch");
    let view = c.worker_views();
    assert_eq!(view[0].suspended_until_ms, Some(1_002));
    assert_eq!(view[0].suspension_reason.as_deref(), Some("rate limited"));
    // The other worker finishes and takes the failed task; A gets nothing.
    let other = if a_task == t1 { t2 } else { t1 };
    c.complete(
        other,
        1,
        TaskResult {
            text: "fine answer".into(),
            ..TaskResult::default()
        },
        3,
    );
    c.release_retries(100);
    let next = dispatched(&mut c, 100);
    assert_eq!(next, vec![(a_task, "B".to_owned())]);
    // Before its time no probe; then one probe, to the model that failed.
    assert!(c.fx.probes.is_empty());
    c.assign(1_002);
    let probes = std::mem::take(&mut c.fx.probes);
    assert_eq!(probes.len(), 1);
    assert_eq!(probes[0].target, ProbeTarget::Worker("A".into()));
    assert_eq!(probes[0].model, "openai/gpt-4o");
    let t3 = file(&mut c, "three");
    assert!(
        dispatched(&mut c, 1_003).is_empty(),
        "still suspended while probing"
    );
    c.probe_result(&ProbeTarget::Worker("A".into()), Ok(()), 1_004);
    assert!(kinds(&mut c).contains(&"worker.resumed".to_owned()));
    assert_eq!(dispatched(&mut c, 1_005), vec![(t3, "A".to_owned())]);
}

#[test]
fn a_suspended_workers_reservation_goes_back_to_ready() {
    let mut c = paid_core(&["A"], true);
    let t1 = file(&mut c, "one");
    let t2 = file(&mut c, "two");
    assert_eq!(dispatched(&mut c, 1), vec![(t1, "A".to_owned())]);
    assert_eq!(c.fx.reserve.len(), 1);
    let slots = c.slots();
    for d in std::mem::take(&mut c.fx.reserve) {
        slots.put(
            d.worker_index,
            d.lane,
            crate::scheduler::reserve::Reserved {
                task: d.task,
                attempt: d.attempt,
                spec: Default::default(),
                prepared: None,
            },
        );
    }
    c.fail_call(t1, 1, &rate_limited(), 2);
    assert_eq!(c.task(t2).unwrap().status, TaskStatus::Ready);
    assert_eq!(c.task(t2).unwrap().attempts, 0, "no attempt spent");
    assert!(dispatched(&mut c, 3).is_empty());
}

#[test]
fn the_open_breaker_stops_paid_calls_and_local_workers_are_exempt() {
    let mut c = paid_core(&["A", "B", "C", "D", "E", "F"], false);
    let ids: Vec<TaskId> = (0..6).map(|i| file(&mut c, &format!("t{i}"))).collect();
    let started = dispatched(&mut c, 1);
    assert_eq!(started.len(), 6);
    for (id, _) in &started[..5] {
        c.fail(*id, 1, "[error: upstream]".into(), 2);
    }
    assert!(kinds(&mut c).contains(&"breaker.opened".to_owned()));
    assert!(c.ladder().breaker_open());
    let _ = ids;
    c.complete(
        started[5].0,
        1,
        TaskResult {
            text: "fine answer".into(),
            ..TaskResult::default()
        },
        3,
    );
    c.release_retries(1_000);
    assert!(
        dispatched(&mut c, 1_000).is_empty(),
        "no call starts while open"
    );
    c.assign(30_002);
    let probes = std::mem::take(&mut c.fx.probes);
    assert!(probes.iter().any(|p| p.target == ProbeTarget::Breaker));
    c.probe_result(&ProbeTarget::Breaker, Ok(()), 30_003);
    assert!(kinds(&mut c).contains(&"breaker.closed".to_owned()));
    assert_eq!(dispatched(&mut c, 30_004).len(), 5);

    // A worker on a local model fails as often as it likes: never suspended.
    let mut local = Core::new(
        SchedulerConfig {
            max_attempts: 20,
            retry_backoff_ms: 1,
            retry_backoff_max_ms: 1,
            ..SchedulerConfig::default()
        },
        vec![WorkerConfig {
            name: "Qwen".into(),
            account: "2.5".into(),
            address: String::new(),
            role: String::new(),
            capabilities: Vec::new(),
            model: Some("lmstudio/qwen".into()),
            tier: Default::default(),
            grants: Vec::new(),
        }],
    );
    let id = file(&mut local, "local");
    for attempt in 1..=10 {
        assert_eq!(
            dispatched(&mut local, attempt * 10).len(),
            1,
            "attempt {attempt}"
        );
        local.fail_call(id, attempt as u32, &rate_limited(), attempt * 10 + 1);
        local.release_retries(attempt * 10 + 5);
    }
    assert!(!local.ladder().is_suspended("Qwen") && !local.ladder().breaker_open());
}

fn credits_exhausted() -> CallError {
    CallError::Provider(ProviderError::CreditsExhausted {
        message: "Your credit balance is too low".into(),
    })
}

#[test]
fn exhausted_credits_suspend_the_route_even_for_a_local_worker() {
    let mut c = paid_core(&["Local"], false);
    c.workers[0].model = "sim/default".into();
    c.configure(
        crate::router::RouterConfig {
            default_model: Some("openai/gpt-4o".into()),
            fallback: vec!["sim/default".into()],
            ..Default::default()
        },
        Default::default(),
        crate::budget::Budget::new(&Default::default()),
    );
    let t1 = file(&mut c, "one");
    let t2 = file(&mut c, "two");
    let first: Vec<String> = {
        c.assign(1);
        std::mem::take(&mut c.fx.dispatch)
            .into_iter()
            .map(|d| d.model)
            .collect()
    };
    assert_eq!(first, ["openai/gpt-4o"]);
    c.fail_call(t1, 1, &credits_exhausted(), 2);
    assert_eq!(c.status_of(t1), Some(TaskStatus::Failed));
    assert!(!c.holds(t1), "failed for good, not retried");
    assert!(kinds(&mut c).contains(&"route.suspended".to_owned()));
    assert!(
        !c.ladder.is_suspended("Local"),
        "a local worker is not suspended"
    );

    c.assign(3);
    let next = std::mem::take(&mut c.fx.dispatch);
    assert_eq!(next.len(), 1);
    assert_eq!((next[0].task, next[0].model.as_str()), (t2, "sim/default"));
    assert_eq!(
        c.task(t2).unwrap().route_reason,
        "fallback after openai/gpt-4o: route suspended (credits exhausted)"
    );

    // After its time, one probe decides; its success opens the route again.
    let due = c.ladder.due_probes(2 + 900_000);
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].target, ProbeTarget::Route("openai/gpt-4o".into()));
    c.probe_result(&due[0].target, Ok(()), 900_003);
    assert!(c.ladder.route_suspension("openai/gpt-4o").is_none());
    assert!(kinds(&mut c).contains(&"route.resumed".to_owned()));
}
