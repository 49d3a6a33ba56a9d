//! Workers paused, resumed, added and removed at run time, on the pure core.

use super::roster::{Roster, RosterChange};
use super::*;
use hypernet_model::tasks::{TaskResult, TaskSpec};

fn worker(name: &str) -> WorkerConfig {
    WorkerConfig {
        name: name.into(),
        account: "2.1".into(),
        address: String::new(),
        role: String::new(),
        capabilities: Vec::new(),
        model: Some("sim/x".into()),
        tier: Default::default(),
        grants: Vec::new(),
    }
}

fn core(names: &[&str]) -> Core {
    let cfg = SchedulerConfig {
        max_attempts: 1,
        reserve: false,
        ..SchedulerConfig::default()
    };
    Core::new(cfg, names.iter().map(|n| worker(n)).collect())
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

/// Assigns; the names of the workers whose calls started.
fn started(c: &mut Core) -> Vec<String> {
    c.assign(1);
    std::mem::take(&mut c.fx.dispatch)
        .into_iter()
        .map(|d| d.worker)
        .collect()
}

fn answer() -> TaskResult {
    TaskResult {
        text: "done".into(),
        model: "sim/x".into(),
        ..TaskResult::default()
    }
}

fn names(c: &Core) -> Vec<String> {
    c.worker_views().into_iter().map(|w| w.name).collect()
}

fn change(c: &mut Core, change: RosterChange) -> Result<crate::workers::WorkerView, CoreError> {
    c.change_roster(change, 1)
}

#[test]
fn a_paused_worker_takes_nothing_until_resumed() {
    let mut c = core(&["Ada"]);
    let view = change(&mut c, RosterChange::Pause("ada".into())).unwrap();
    assert!(view.paused && view.name == "Ada");
    file(&mut c, "t");
    assert!(started(&mut c).is_empty(), "paused: no call");
    assert!(c.fx.roster, "the change is written");
    assert!(c.roster().paused.contains("Ada"));
    change(&mut c, RosterChange::Resume("Ada".into())).unwrap();
    assert_eq!(started(&mut c), ["Ada"]);
    let kinds: Vec<&str> = c.fx.events.iter().map(|(k, _)| k.as_str()).collect();
    assert!(
        kinds.contains(&"worker.paused") && kinds.contains(&"worker.unpaused"),
        "{kinds:?}"
    );
}

#[test]
fn an_added_worker_takes_tasks_and_a_taken_or_bad_name_is_refused() {
    let mut c = core(&["Ada"]);
    let added = change(&mut c, RosterChange::Add(worker("Scout"))).unwrap();
    assert!(added.added && !added.ephemeral);
    assert_eq!(names(&c), ["Ada", "Scout"]);
    file(&mut c, "one");
    file(&mut c, "two");
    let mut busy = started(&mut c);
    busy.sort();
    assert_eq!(busy, ["Ada", "Scout"]);
    let taken = change(&mut c, RosterChange::Add(worker("scout"))).unwrap_err();
    assert_eq!(
        taken.to_string(),
        "`name`: a worker is already named `Scout`"
    );
    let bad = change(&mut c, RosterChange::Add(worker("two words"))).unwrap_err();
    assert!(bad.to_string().contains("one word"), "{bad}");
    assert_eq!(c.roster().added.len(), 1);
}

#[test]
fn a_removed_worker_leaves_at_once_when_idle_and_after_its_call_when_busy() {
    let mut c = core(&["Ada", "Bo", "Cy"]);
    change(&mut c, RosterChange::Remove("Cy".into())).unwrap();
    assert_eq!(names(&c), ["Ada", "Bo"]);
    let t = file(&mut c, "t");
    let first = started(&mut c);
    assert_eq!(first.len(), 1);
    let busy = first[0].clone();
    let view = change(&mut c, RosterChange::Remove(busy.clone())).unwrap();
    assert_eq!(view.current_task, Some(t.to_string()), "shown as it was");
    assert!(names(&c).contains(&busy), "still making its call");
    // Nothing new goes to it meanwhile.
    file(&mut c, "u");
    assert!(!started(&mut c).contains(&busy));
    c.complete(t, 1, answer(), 2);
    assert!(!names(&c).contains(&busy), "gone once its call ended");
    let missing = change(&mut c, RosterChange::Pause(busy.clone())).unwrap_err();
    assert!(matches!(missing, CoreError::NoSuchWorker(_)));
    assert!(
        missing.to_string().contains("no worker is named"),
        "{missing}"
    );
}

#[test]
fn the_last_worker_stays() {
    let mut c = core(&["Ada"]);
    let e = change(&mut c, RosterChange::Remove("Ada".into())).unwrap_err();
    assert!(e.to_string().contains("last worker"), "{e}");
}

#[test]
fn the_stored_roster_is_applied_at_start_and_a_removed_worker_comes_back_when_added() {
    let mut c = core(&["Ada", "Bo"]);
    change(&mut c, RosterChange::Remove("Bo".into())).unwrap();
    change(&mut c, RosterChange::Add(worker("Scout"))).unwrap();
    change(&mut c, RosterChange::Pause("Scout".into())).unwrap();
    let stored: Roster = serde_json::from_value(serde_json::to_value(c.roster()).unwrap()).unwrap();

    let mut again = core(&["Ada", "Bo"]);
    again.restore_roster(stored);
    assert_eq!(names(&again), ["Ada", "Scout"]);
    let scout = again
        .worker_views()
        .into_iter()
        .find(|w| w.name == "Scout")
        .unwrap();
    assert!(scout.paused && scout.added);
    assert!(!again.fx.roster, "restoring writes nothing");

    // Bo was configured: adding the name brings it back as configured.
    let back = change(&mut again, RosterChange::Add(worker("bo"))).unwrap();
    assert_eq!(back.name, "Bo");
    assert!(!back.added);
    assert!(again.roster().removed.is_empty());
}
