//! Routing, fallback and the budget, exercised on the pure core.

use super::*;
use crate::budget::{BudgetConfig, Price};
use crate::scheduler::call::CallSpec;
use crate::scheduler::reserve::Reserved;
use hypernet_llm::CallError;
use hypernet_model::tasks::{TaskResult, TaskSpec};
use hypernet_plugin_api::provider::ProviderError;

const PAID: &str = "paid/x";

fn paid_core(workers: usize, daily_usd: f64, router: RouterConfig) -> Core {
    core_of(&vec![PAID; workers], daily_usd, router)
}

/// A core with one worker per model (`w0`, `w1`, …).
fn core_of(models: &[&str], daily_usd: f64, router: RouterConfig) -> Core {
    let ws = models
        .iter()
        .enumerate()
        .map(|(i, model)| WorkerConfig {
            name: format!("w{i}"),
            account: "2.1".into(),
            address: String::new(),
            role: String::new(),
            capabilities: vec![],
            model: Some((*model).into()),
            tier: Default::default(),
            grants: Vec::new(),
        })
        .collect();
    let mut c = Core::new(
        SchedulerConfig {
            retry_backoff_ms: 1_000,
            ..SchedulerConfig::default()
        },
        ws,
    );
    let budget = Budget::new(&BudgetConfig {
        daily_limit_usd: Some(daily_usd),
        prices: [("paid/".to_owned(), Price::new(1.0, 100.0))].into(),
        ..BudgetConfig::default()
    });
    let limits = LimitsConfig {
        max_tokens: 100,
        ..LimitsConfig::default()
    };
    c.configure(router, limits, budget);
    c
}

fn file_n(c: &mut Core, n: usize) -> Vec<TaskId> {
    let batch = (0..n)
        .map(|i| PlannedTask {
            key: None,
            spec: TaskSpec {
                title: format!("task {i}"),
                ..TaskSpec::default()
            },
        })
        .collect();
    c.file(batch, "person", 0)
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect()
}

fn answer(tokens: u64) -> TaskResult {
    TaskResult {
        text: "a fine answer".into(),
        model: "x".into(),
        input_tokens: 20,
        output_tokens: tokens,
        ..TaskResult::default()
    }
}

/// Runs one scheduling step as the loop does: assign, offer reservations, take the
/// batch's effects.
fn step(c: &mut Core, now: u64) -> Effects {
    c.assign(now);
    let slots = c.slots();
    for d in std::mem::take(&mut c.fx.reserve) {
        let reserved = Reserved {
            task: d.task,
            attempt: d.attempt,
            spec: CallSpec::default(),
            prepared: None,
        };
        slots.put(d.worker_index, d.lane, reserved);
    }
    std::mem::take(&mut c.fx)
}

fn events(fx: &Effects, kind: &str) -> usize {
    fx.events.iter().filter(|(k, _)| k == kind).count()
}

#[test]
fn concurrent_calls_never_cross_the_limit_and_tasks_wait_instead_of_failing() {
    const LIMIT: u64 = 500_000; // $0.50; a call reserves about $0.01
    // 100 workers: up to 100 calls in flight at once, each holding a reservation.
    let mut c = paid_core(100, 0.5, RouterConfig::default());
    let mut most_in_flight = 0;
    let ids = file_n(&mut c, 100);
    let mut running: Vec<(TaskId, u32)> = Vec::new();
    let (mut exhausted, mut restored, mut completed) = (0, 0, 0);
    let mut seed: u64 = 7;
    let mut now = 1;
    let check = |c: &Core| {
        let committed = c.budget().committed_today();
        assert!(
            committed <= LIMIT,
            "settled + reserved {committed} > {LIMIT}"
        );
    };
    loop {
        let fx = step(&mut c, now);
        check(&c);
        exhausted += events(&fx, "budget.exhausted");
        restored += events(&fx, "budget.restored");
        running.extend(fx.dispatch.iter().map(|d| (d.task, d.attempt)));
        most_in_flight = most_in_flight.max(running.len());
        if running.is_empty() {
            break;
        }
        // Calls finish in a shuffled order, several per step, each under its reservation.
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let finishing = 1 + (seed >> 60) as usize % running.len().min(3);
        for _ in 0..finishing {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let (id, attempt) = running.remove((seed >> 33) as usize % running.len());
            c.complete(id, attempt, answer(10 + (seed >> 40) % 91), now);
            completed += 1;
            check(&c);
        }
        now += 1;
    }
    assert!(
        most_in_flight >= 40,
        "{most_in_flight} calls in flight at most"
    );
    assert!(completed > 40 && completed < 100, "{completed} completed");
    assert_eq!(exhausted, 1, "announced once");
    assert_eq!(restored, 0);
    assert!(c.budget().paused);
    let waiting = ids
        .iter()
        .filter(|id| c.status_of(**id) == Some(TaskStatus::Ready))
        .count();
    assert_eq!(
        waiting + completed,
        100,
        "the rest wait, ready; none failed"
    );
    assert_eq!(c.counts().failed_since_start, 0);
    // Paused: the loop wakes at the next budget day.
    assert_eq!(c.next_due(&[]), Some(c.budget().next_reset_ms(now)));

    // Raising the limit resumes them all.
    c.set_budget_limits(Some(100.0), None);
    let mut fx = step(&mut c, now);
    assert_eq!(events(&fx, "budget.restored"), 1);
    while !fx.dispatch.is_empty() || c.in_flight() > 0 {
        let ds: Vec<_> = fx.dispatch.iter().map(|d| (d.task, d.attempt)).collect();
        for (id, attempt) in ds {
            c.complete(id, attempt, answer(50), now);
        }
        now += 1;
        fx = step(&mut c, now);
    }
    assert!(
        ids.iter()
            .all(|id| c.status_of(*id) == Some(TaskStatus::Completed))
    );
    assert_eq!(c.budget().view(now).reserved_micros, 0);
    assert!(!c.budget().paused);
}

#[test]
fn settlement_prices_the_answer_and_failures_release_the_reservation() {
    let mut c = paid_core(2, 1.0, RouterConfig::default());
    let [a, b] = file_n(&mut c, 2)[..] else {
        unreachable!()
    };
    let fx = step(&mut c, 1);
    assert_eq!(fx.dispatch.len(), 2);
    assert_eq!(fx.dispatch[0].max_tokens, 100);
    assert!(c.budget().view(1).reserved_micros > 20_000);
    c.complete(a, 1, answer(30), 2);
    let done = c.fx.finished.iter().find(|t| t.id == a).unwrap();
    assert_eq!(done.result.as_ref().unwrap().cost_micros, 20 + 30 * 100);
    assert_eq!(done.model, PAID);
    assert_eq!(done.route_reason, "worker's model");
    c.fail(b, 1, "boom".into(), 2);
    let view = c.budget().view(2);
    assert_eq!(view.reserved_micros, 0);
    assert_eq!(view.spent_today_micros, 3_020);
    assert_eq!(view.per_worker.values().map(|u| u.calls).sum::<u64>(), 1);
    assert!(c.fx.budget, "the spend is written with the batch");
}

fn down() -> CallError {
    CallError::Provider(ProviderError::Overloaded {
        message: "busy".into(),
        retry_after_ms: None,
    })
}

#[test]
fn provider_down_goes_straight_to_the_next_fallback_then_backs_off() {
    let router = RouterConfig {
        fallback: vec!["sim/b".into(), "sim/c".into()],
        ..RouterConfig::default()
    };
    let mut c = paid_core(1, 1.0, router);
    let id = file_n(&mut c, 1)[0];
    let fx = step(&mut c, 1);
    assert_eq!(fx.dispatch[0].model, PAID);
    c.fail_call(id, 1, &down(), 2);
    assert_eq!(c.status_of(id), Some(TaskStatus::Ready), "no backoff");
    assert_eq!(c.budget().view(2).reserved_micros, 0);
    let fx = step(&mut c, 2);
    assert_eq!(fx.dispatch[0].model, "sim/b");
    let task = c.task(id).unwrap();
    assert_eq!(task.route_reason, "fallback after paid/x: overloaded");
    c.fail_call(
        id,
        2,
        &CallError::NoProvider {
            model: "sim/b".into(),
        },
        3,
    );
    let fx = step(&mut c, 3);
    assert_eq!(fx.dispatch[0].model, "sim/c");
    assert_eq!(
        c.task(id).unwrap().route_reason,
        "fallback after sim/b: no provider serves it"
    );
    // The chain is exhausted: the normal retry with backoff.
    c.fail_call(id, 3, &down(), 4);
    assert_eq!(c.status_of(id), Some(TaskStatus::Failed));
    assert!(c.task(id).unwrap().retry_at_ms.is_some());
    // Other errors never fall back.
    let other = file_n(&mut c, 1)[0];
    let _ = step(&mut c, 5);
    let auth = CallError::Provider(ProviderError::Auth {
        message: "bad key".into(),
    });
    c.fail_call(other, 1, &auth, 6);
    assert_eq!(c.status_of(other), Some(TaskStatus::Failed));
}

#[test]
fn over_budget_work_falls_back_to_a_free_model() {
    let router = RouterConfig {
        fallback: vec!["sim/default".into()],
        ..RouterConfig::default()
    };
    let mut c = paid_core(1, 0.0, router);
    let id = file_n(&mut c, 1)[0];
    let fx = step(&mut c, 1);
    assert_eq!(fx.dispatch[0].model, "sim/default");
    assert_eq!(
        c.task(id).unwrap().route_reason,
        "fallback after paid/x: over budget"
    );
    assert!(!c.budget().paused);
}

#[test]
fn a_free_worker_keeps_working_while_paid_work_waits() {
    let mut c = core_of(&[PAID, "lmstudio/q"], 0.0, RouterConfig::default());
    let ids = file_n(&mut c, 2);
    let fx = step(&mut c, 1);
    // The paid worker cannot afford either task; the free one takes the first.
    assert_eq!(fx.dispatch.len(), 1, "{:?}", fx.dispatch);
    assert_eq!(fx.dispatch[0].model, "lmstudio/q");
    assert_eq!(c.task(ids[0]).unwrap().worker.as_deref(), Some("w1"));
    // The second waits as the free worker's next call, not for the budget.
    assert_eq!(
        c.task(ids[1]).unwrap().worker.as_deref(),
        Some("w1"),
        "reserved for the free worker"
    );
    assert!(c.budget().paused, "paid work is paused all the same");
}

#[test]
fn rules_and_local_first_choose_the_model() {
    let router: RouterConfig = toml::from_str(
        "local_model = \"lmstudio/q\"\nrules = [{ if_tags_any = [\"security\"], model = \"paid/sec\" }]",
    )
    .unwrap();
    let mut c = paid_core(2, 10.0, router);
    let plain = file_n(&mut c, 1)[0];
    let sec = c
        .file(
            vec![PlannedTask {
                key: None,
                spec: TaskSpec {
                    title: "audit".into(),
                    tags: vec!["security".into()],
                    ..TaskSpec::default()
                },
            }],
            "person",
            0,
        )
        .unwrap()[0]
        .id;
    let fx = step(&mut c, 1);
    let model = |id| {
        fx.dispatch
            .iter()
            .find(|d| d.task == id)
            .unwrap()
            .model
            .clone()
    };
    assert_eq!(model(plain), "lmstudio/q");
    assert_eq!(model(sec), "paid/sec");
    assert_eq!(
        c.task(sec).unwrap().route_reason,
        "rule 1: tags any [security]"
    );
    assert_eq!(c.task(plain).unwrap().route_reason, "local-first: simple");
}

#[test]
fn cancelling_releases_a_reservation() {
    let mut c = paid_core(1, 1.0, RouterConfig::default());
    let [a, b] = file_n(&mut c, 2)[..] else {
        unreachable!()
    };
    let _ = step(&mut c, 1);
    assert_eq!(c.budget().view(1).reservations, 2, "running and reserved");
    c.cancel(b, None, 2).unwrap();
    c.cancel(a, None, 2).unwrap();
    assert_eq!(c.budget().view(2).reserved_micros, 0);
}
