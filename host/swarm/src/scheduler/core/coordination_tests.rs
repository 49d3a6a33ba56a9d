//! The coordinator's rules as the core applies them: picks, splits, limits, autoscaling
//! and conflicts.

use super::tests::worker;
use super::*;
use crate::config::SchedulerConfig;
use crate::coordinator::autoscale::{AutoscaleConfig, Limit, SwarmLimits};
use hypernet_model::tasks::Complexity;
use hypernet_model::tasks::blocks::Directive;
use hypernet_model::tasks::{TaskResult, TaskSpec};

fn no_reserve() -> SchedulerConfig {
    SchedulerConfig {
        reserve: false,
        ..SchedulerConfig::default()
    }
}

fn planned(title: &str, f: impl FnOnce(&mut TaskSpec)) -> PlannedTask {
    let mut spec = TaskSpec {
        title: title.into(),
        ..TaskSpec::default()
    };
    f(&mut spec);
    PlannedTask { key: None, spec }
}

fn file(c: &mut Core, p: PlannedTask) -> TaskId {
    c.file(vec![p], "person", 0).unwrap()[0].id
}

fn dispatched(c: &mut Core, now: u64) -> Vec<(TaskId, String)> {
    c.assign(now);
    std::mem::take(&mut c.fx.dispatch)
        .into_iter()
        .map(|d| (d.task, d.worker))
        .collect()
}

fn done(c: &mut Core, id: TaskId, now: u64) {
    let result = TaskResult {
        text: "done".into(),
        model: "sim/x".into(),
        ..TaskResult::default()
    };
    c.complete(id, c.task(id).unwrap().attempts, result, now);
}

fn events(c: &mut Core, kind: &str) -> Vec<serde_json::Value> {
    c.fx.events
        .iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, v)| v.clone())
        .collect()
}

#[test]
fn a_worker_picks_a_better_fit_over_a_slightly_more_urgent_task() {
    let mut c = Core::new(no_reserve(), vec![worker("writer", &["docs"])]);
    let code = file(
        &mut c,
        planned("code", |s| {
            s.priority = Priority::High;
            s.tags = vec!["code".into()];
        }),
    );
    let docs = file(&mut c, planned("docs", |s| s.tags = vec!["docs".into()]));
    // docs: 0.6·1.0 + 0.4·200/400 = 0.8; code: 0.6·0.6 + 0.4·300/400 = 0.66.
    assert_eq!(dispatched(&mut c, 0), vec![(docs, "writer".to_string())]);
    done(&mut c, docs, 1);
    assert_eq!(dispatched(&mut c, 2), vec![(code, "writer".to_string())]);
}

#[test]
fn complex_tasks_are_split_when_filed_and_the_parent_waits_for_the_chain() {
    let mut c = Core::new(no_reserve(), vec![worker("w", &[])]);
    let filed = c
        .file(
            vec![planned("Build the parser", |s| {
                s.complexity = Some(Complexity::Complex);
                s.tags = vec!["code".into()];
            })],
            "person",
            0,
        )
        .unwrap();
    let parent = filed[0].id;
    let subtasks: Vec<TaskId> = (1..=3).map(|n| TaskId(parent.0 + n)).collect();
    let titles: Vec<&str> = subtasks
        .iter()
        .map(|id| c.task(*id).unwrap().title.as_str())
        .collect();
    assert_eq!(
        titles,
        [
            "Design: Build the parser",
            "Implement: Build the parser",
            "Test: Build the parser"
        ]
    );
    assert_eq!(c.task(subtasks[0]).unwrap().priority, Priority::High);
    assert_eq!(c.task(subtasks[1]).unwrap().depends_on, vec![subtasks[0]]);
    assert!(
        subtasks
            .iter()
            .all(|s| c.task(*s).unwrap().parent == Some(parent))
    );
    assert_eq!(c.task(parent).unwrap().depends_on, vec![subtasks[2]]);
    assert_eq!(c.task(parent).unwrap().status, TaskStatus::Blocked);
    for (n, s) in subtasks.iter().enumerate() {
        assert_eq!(dispatched(&mut c, n as u64), vec![(*s, "w".to_string())]);
        done(&mut c, *s, n as u64);
    }
    assert_eq!(dispatched(&mut c, 9), vec![(parent, "w".to_string())]);
    // Simple tasks, and subtasks, are not split.
    let simple = file(&mut c, planned("Tidy", |s| s.tags = vec!["code".into()]));
    assert!(c.task(simple).unwrap().depends_on.is_empty());
}

#[test]
fn splitting_on_demand_sends_a_ready_task_back_to_waiting_once() {
    let mut c = Core::new(no_reserve(), Vec::new());
    let t = file(&mut c, planned("Manual", |s| s.tags = vec!["docs".into()]));
    assert_eq!(c.task(t).unwrap().status, TaskStatus::Ready);
    let parts = c.decompose(t, 5).unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(c.task(t).unwrap().status, TaskStatus::Blocked);
    assert_eq!(events(&mut c, "task.decomposed").len(), 1);
    let again = c.decompose(t, 6).unwrap_err().to_string();
    assert!(again.contains("already decomposed"), "{again}");
    let sub = c.decompose(parts[0].id, 6).unwrap_err().to_string();
    assert!(sub.contains("is a subtask of"), "{sub}");
    let plain = file(&mut c, planned("Think", |_| {}));
    let none = c.decompose(plain, 7).unwrap_err().to_string();
    assert!(none.contains("no decomposition rule matches"), "{none}");
    assert!(matches!(
        c.decompose(TaskId(99), 7),
        Err(CoreError::NoSuchTask(_))
    ));
}

#[test]
fn the_queue_depth_hard_limit_refuses_filing_and_the_soft_one_warns() {
    let mut c = Core::new(no_reserve(), Vec::new());
    c.set_limit("max_task_queue_depth", Limit { soft: 1, hard: 2 })
        .unwrap();
    file(&mut c, planned("a", |_| {}));
    c.autoscale(0);
    assert_eq!(events(&mut c, "limits.warning").len(), 1);
    let err = c
        .file(
            vec![planned("b", |_| {}), planned("c", |_| {})],
            "person",
            0,
        )
        .unwrap_err();
    assert!(matches!(&err, CoreError::LimitReached(m) if m.contains("max_task_queue_depth")));
    file(&mut c, planned("b", |_| {}));
}

fn scaling(cooldown_secs: u64) -> Core {
    let mut c = Core::new(no_reserve(), vec![worker("solo", &[])]);
    c.configure_coordinator(
        &Default::default(),
        AutoscaleConfig {
            enabled: true,
            spawn_cooldown_secs: cooldown_secs,
            idle_despawn_secs: 100,
            ..AutoscaleConfig::default()
        },
        SwarmLimits::default(),
    );
    c
}

fn names(c: &Core) -> Vec<(String, bool)> {
    c.worker_views()
        .into_iter()
        .map(|w| (w.name, w.ephemeral))
        .collect()
}

#[test]
fn ephemeral_workers_come_when_work_piles_up_and_go_when_idle() {
    let mut c = scaling(60);
    let ids: Vec<TaskId> = (0..6)
        .map(|i| file(&mut c, planned(&format!("t{i}"), |_| {})))
        .collect();
    c.autoscale(0);
    c.autoscale(1_000);
    assert_eq!(names(&c).len(), 2, "one spawn per cooldown");
    c.autoscale(60_000);
    c.autoscale(60_001);
    assert_eq!(
        names(&c),
        vec![
            ("solo".to_string(), false),
            ("Spark-1".to_string(), true),
            ("Spark-2".to_string(), true)
        ],
        "the soft cap is 2"
    );
    assert_eq!(events(&mut c, "worker.spawned").len(), 2);
    for round in 0..2 {
        let d = dispatched(&mut c, 60_001 + round);
        assert_eq!(d.len(), 3);
        for (id, _) in &d {
            done(&mut c, *id, 60_003);
        }
    }
    assert!(ids.iter().all(|id| !c.holds(*id)));
    c.autoscale(160_002);
    assert_eq!(names(&c).len(), 3, "idle for 99.999 s only");
    c.autoscale(160_003);
    assert_eq!(names(&c), vec![("solo".to_string(), false)]);
    assert_eq!(events(&mut c, "worker.despawned").len(), 2);
    assert_eq!(c.counts().workers, 1);
    assert!(c.is_idle());
}

#[test]
fn directives_spawn_within_the_hard_cap_and_scale_down_idle_workers() {
    let mut c = scaling(60);
    c.on_directives(
        "solo",
        vec![Directive::Spawn {
            model: Some("sim/big".into()),
            count: 9,
            reason: "a long queue".into(),
        }],
    );
    let views = c.worker_views();
    assert_eq!(views.len(), 4, "three per directive");
    assert_eq!(views[3].model, "sim/big");
    c.on_directives(
        "solo",
        vec![Directive::Spawn {
            model: None,
            count: 3,
            reason: String::new(),
        }],
    );
    assert_eq!(c.worker_views().len(), 5, "the hard cap is 4");
    assert_eq!(c.worker_views()[4].model, "sim/default");
    c.on_directives("solo", vec![Directive::ScaleDown { count: 2 }]);
    assert_eq!(c.worker_views().len(), 3);
    // A despawned place is reused.
    c.on_directives(
        "solo",
        vec![Directive::Spawn {
            model: None,
            count: 1,
            reason: String::new(),
        }],
    );
    assert_eq!(c.worker_views().len(), 4);
    assert!(c.worker_views().iter().any(|w| w.name == "Spark-5"));
}

#[test]
fn running_tasks_sharing_a_tag_are_in_contention() {
    let mut c = Core::new(no_reserve(), vec![worker("a", &[]), worker("b", &[])]);
    let x = file(
        &mut c,
        planned("x", |s| s.tags = vec!["billing".into(), "code".into()]),
    );
    let y = file(&mut c, planned("y", |s| s.tags = vec!["billing".into()]));
    assert!(c.conflicts().is_empty());
    dispatched(&mut c, 0);
    let found = c.conflicts();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, "resource_contention");
    assert_eq!(found[0].tasks, vec![x, y]);
    assert_eq!(found[0].tags, vec!["billing".to_string()]);
}
