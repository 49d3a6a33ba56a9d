//! Delegation to other swarms, exercised on the pure core: where a ready task goes, how a
//! peer's answer is applied (once, and only for its round), taking tasks back from a silent
//! peer, and filing what other swarms delegate here.

use super::tests::worker;
use super::*;
use crate::config::SchedulerConfig;
use crate::federation::{Applied, FederationConfig, PeerStatus, RemoteUpdate};
use hypernet_model::tasks::{RemoteOrigin, TaskResult, TaskSpec};
use hypernet_model::tier::Tier;

const TIMEOUT: u64 = 30_000;

fn fed(overflow: bool) -> FederationConfig {
    FederationConfig {
        enabled: true,
        swarm: "desk".into(),
        overflow,
        peer_timeout_ms: TIMEOUT,
        ..FederationConfig::default()
    }
}

/// A federated core with `workers` workers whose providers serve `sim/`.
fn core(workers: usize, overflow: bool) -> Core {
    let ws = (0..workers)
        .map(|i| worker(&format!("w{i}"), &[]))
        .collect();
    let mut c = Core::new(
        SchedulerConfig {
            default_model: "sim/default".into(),
            ..SchedulerConfig::default()
        },
        ws,
    );
    c.configure_federation(&fed(overflow));
    c.set_served_models(vec!["sim/".into()]);
    c
}

fn peer(name: &str, models: &[&str], workers: usize, free: usize) -> PeerStatus {
    PeerStatus {
        swarm: name.into(),
        models: models.iter().map(|m| m.to_string()).collect(),
        providers: Vec::new(),
        workers,
        free,
        queue: 0,
        accepts: true,
        version: "0".into(),
        key: "k".into(),
        updated_ms: 0,
    }
}

fn file(c: &mut Core, title: &str, f: impl FnOnce(&mut TaskSpec)) -> TaskId {
    let mut spec = TaskSpec {
        title: title.into(),
        ..TaskSpec::default()
    };
    f(&mut spec);
    c.file(vec![PlannedTask { key: None, spec }], "person", 0)
        .unwrap()[0]
        .id
}

fn status(c: &Core, id: TaskId) -> TaskStatus {
    c.status_of(id).unwrap()
}

fn events(c: &mut Core, kind: &str) -> Vec<serde_json::Value> {
    c.fx.events
        .iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, p)| p.clone())
        .collect()
}

fn answer(from: &str, task: TaskId, round: u32, status: TaskStatus, last: bool) -> RemoteUpdate {
    RemoteUpdate {
        from: from.into(),
        task,
        round,
        remote_task: TaskId(90),
        status,
        last,
        worker: Some("Trace".into()),
        result: (status == TaskStatus::Completed).then(|| TaskResult {
            text: "done there".into(),
            model: "cloud/big".into(),
            input_tokens: 7,
            output_tokens: 3,
            ..TaskResult::default()
        }),
        error: (status == TaskStatus::Failed).then(|| "it broke".into()),
        signature: Some(("sig".into(), "key".into())),
    }
}

#[test]
fn a_task_filed_for_a_swarm_waits_for_it_and_never_runs_here() {
    let mut c = core(2, false);
    let id = file(&mut c, "for the cloud", |s| s.swarm = Some("cloud".into()));
    c.assign(0);
    assert!(c.fx.dispatch.is_empty(), "no worker here takes it");
    assert_eq!(status(&c, id), TaskStatus::Ready);
    c.peers_seen(Some(vec![peer("cloud", &["sim/"], 4, 4)]), 10);
    c.fx.events.clear();
    c.assign(10);
    assert_eq!(status(&c, id), TaskStatus::Delegated);
    let delegated = events(&mut c, "task.delegated");
    assert_eq!(delegated.len(), 1);
    assert_eq!(delegated[0]["swarm"], "cloud");
    assert_eq!(delegated[0]["round"], 1);
    assert_eq!(delegated[0]["spec"]["title"], "for the cloud");
    assert_eq!(delegated[0]["why"], "filed for swarm cloud");
    // Filed for this swarm by name: it runs here.
    let here = file(&mut c, "for the desk", |s| s.swarm = Some("desk".into()));
    c.assign(20);
    assert_eq!(status(&c, here), TaskStatus::Running);
}

#[test]
fn a_model_no_provider_here_serves_goes_to_a_peer_that_serves_it() {
    let mut c = core(2, false);
    c.router.rules = vec![crate::router::Rule {
        if_tags_any: vec!["cloud".into()],
        if_tags_all: Vec::new(),
        min_priority: hypernet_plugin_api::Priority::Low,
        model: Some("cloud/big".into()),
        tier: None,
    }];
    c.peers_seen(
        Some(vec![
            peer("other", &["sim/"], 4, 4),
            peer("cloud", &["cloud/"], 4, 4),
        ]),
        0,
    );
    let remote = file(&mut c, "big thinking", |s| s.tags = vec!["cloud".into()]);
    let local = file(&mut c, "small thinking", |_| {});
    c.assign(0);
    assert_eq!(status(&c, remote), TaskStatus::Delegated);
    let d = c.task(remote).unwrap().delegation.clone().unwrap();
    assert_eq!(d.swarm, "cloud");
    assert_eq!(d.why, "model cloud/big has no provider here");
    assert_eq!(
        status(&c, local),
        TaskStatus::Running,
        "served here: it stays"
    );
}

/// A core whose router sends tasks tagged `cloud` to `cloud/big`, which no provider here
/// serves.
fn cloud_core(workers: usize) -> Core {
    let mut c = core(workers, false);
    c.router.rules = vec![crate::router::Rule {
        if_tags_any: vec!["cloud".into()],
        if_tags_all: Vec::new(),
        min_priority: hypernet_plugin_api::Priority::Low,
        model: Some("cloud/big".into()),
        tier: None,
    }];
    c
}

#[test]
fn a_task_only_a_peer_can_run_waits_for_the_peers_and_for_room_never_running_here() {
    let mut c = cloud_core(2);
    // Before the peers are known (a restart): it waits.
    let early = file(&mut c, "cloud 0", |s| s.tags = vec!["cloud".into()]);
    c.assign(0);
    assert!(c.fx.dispatch.is_empty(), "no worker here takes it");
    assert_eq!(status(&c, early), TaskStatus::Ready);
    // The peer has room for two (twice its one worker): the others wait for room.
    c.peers_seen(Some(vec![peer("cloud", &["cloud/"], 1, 1)]), 10);
    let more: Vec<TaskId> = (1..4)
        .map(|i| {
            file(&mut c, &format!("cloud {i}"), |s| {
                s.tags = vec!["cloud".into()]
            })
        })
        .collect();
    c.assign(10);
    assert!(c.fx.dispatch.is_empty(), "no worker here takes one");
    let all: Vec<TaskId> = std::iter::once(early).chain(more).collect();
    let delegated = |c: &Core| {
        all.iter()
            .filter(|&&id| status(c, id) == TaskStatus::Delegated)
            .count()
    };
    assert_eq!(delegated(&c), 2);
    // One answered: the next goes at the next look at the peers.
    let sent = *all
        .iter()
        .find(|&&id| status(&c, id) == TaskStatus::Delegated)
        .unwrap();
    let done = answer("cloud", sent, 1, TaskStatus::Completed, true);
    assert_eq!(c.apply_remote(done, 20), Applied::Changed);
    c.peers_seen(Some(vec![peer("cloud", &["cloud/"], 1, 0)]), 30);
    c.assign(30);
    assert_eq!(delegated(&c), 2, "two out again");
    assert_eq!(status(&c, sent), TaskStatus::Completed);
    assert!(c.fx.dispatch.is_empty(), "still none here");
}

#[test]
fn a_task_no_peer_can_run_either_goes_to_a_worker_here() {
    let mut c = cloud_core(1);
    c.peers_seen(Some(vec![peer("other", &["sim/"], 4, 4)]), 0);
    let id = file(&mut c, "nowhere", |s| s.tags = vec!["cloud".into()]);
    c.assign(0);
    // As without federation: it runs here (and its call fails for want of a provider).
    assert_eq!(status(&c, id), TaskStatus::Running);
}

#[test]
fn overflow_sends_only_what_no_free_worker_here_takes_and_only_to_peers_with_room() {
    let mut c = core(1, true);
    c.peers_seen(
        Some(vec![
            peer("busy", &["sim/"], 8, 0),
            peer("idle", &["sim/"], 2, 2),
        ]),
        0,
    );
    let ids: Vec<TaskId> = (0..8)
        .map(|i| file(&mut c, &format!("task {i}"), |_| {}))
        .collect();
    c.assign(0);
    let count = |c: &Core, s| ids.iter().filter(|&&id| status(c, id) == s).count();
    // One runs here, one is reserved for the busy worker, four (2 × 2 workers) go to the
    // idle peer, none to the peer with no free worker, the rest wait.
    assert_eq!(count(&c, TaskStatus::Running), 1);
    assert_eq!(count(&c, TaskStatus::Delegated), 4);
    for id in &ids {
        if let Some(d) = &c.task(*id).unwrap().delegation {
            assert_eq!(d.swarm, "idle");
            assert_eq!(d.why, "overflow: no worker here is free");
        }
    }
    assert_eq!(count(&c, TaskStatus::Ready), 2);
    // Without overflow nothing leaves.
    let mut plain = core(1, false);
    plain.peers_seen(Some(vec![peer("idle", &["sim/"], 2, 2)]), 0);
    let ids: Vec<TaskId> = (0..4)
        .map(|i| file(&mut plain, &format!("t{i}"), |_| {}))
        .collect();
    plain.assign(0);
    assert!(
        ids.iter()
            .all(|&id| status(&plain, id) != TaskStatus::Delegated)
    );
}

#[test]
fn an_answer_is_applied_once_and_only_for_its_peer_and_round() {
    let mut c = core(1, false);
    c.peers_seen(Some(vec![peer("cloud", &["sim/"], 4, 4)]), 0);
    let first = file(&mut c, "first", |s| s.swarm = Some("cloud".into()));
    let after = c
        .file(
            vec![PlannedTask {
                key: None,
                spec: TaskSpec {
                    title: "after".into(),
                    depends_on: vec![first.to_string()],
                    ..TaskSpec::default()
                },
            }],
            "person",
            0,
        )
        .unwrap()[0]
        .id;
    c.assign(0);
    assert_eq!(status(&c, first), TaskStatus::Delegated);
    assert_eq!(status(&c, after), TaskStatus::Blocked);
    let wrong_peer = answer("elsewhere", first, 1, TaskStatus::Completed, true);
    assert_eq!(c.apply_remote(wrong_peer, 5), Applied::Stale);
    let wrong_round = answer("cloud", first, 2, TaskStatus::Completed, true);
    assert_eq!(c.apply_remote(wrong_round, 5), Applied::Stale);
    let running = answer("cloud", first, 1, TaskStatus::Running, false);
    assert_eq!(c.apply_remote(running, 5), Applied::Changed);
    let task = c.task(first).unwrap();
    assert_eq!(task.status, TaskStatus::Delegated);
    assert_eq!(task.worker.as_deref(), Some("Trace@cloud"));
    assert_eq!(
        task.delegation.as_ref().unwrap().remote_status,
        Some(TaskStatus::Running)
    );
    c.fx.events.clear();
    let done = answer("cloud", first, 1, TaskStatus::Completed, true);
    assert_eq!(c.apply_remote(done.clone(), 9), Applied::Changed);
    assert_eq!(status(&c, first), TaskStatus::Completed);
    let completed = events(&mut c, "task.completed");
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0]["worker"], "Trace@cloud");
    assert_eq!(completed[0]["swarm"], "cloud");
    assert_eq!(completed[0]["output_tokens"], 3);
    let stored = c.fx.finished.iter().find(|t| t.id == first).unwrap();
    assert_eq!(stored.result.as_ref().unwrap().text, "done there");
    let d = stored.delegation.as_ref().unwrap();
    assert_eq!(
        (d.signature.as_deref(), d.signer.as_deref()),
        (Some("sig"), Some("key"))
    );
    assert_eq!(
        status(&c, after),
        TaskStatus::Ready,
        "its dependent goes on"
    );
    assert_eq!(
        c.apply_remote(done, 10),
        Applied::Stale,
        "a repeat changes nothing"
    );
}

#[test]
fn a_failure_there_ends_it_here_only_when_it_is_the_last() {
    let mut c = core(1, false);
    c.peers_seen(Some(vec![peer("cloud", &["sim/"], 4, 4)]), 0);
    let id = file(&mut c, "fragile", |s| s.swarm = Some("cloud".into()));
    c.assign(0);
    c.apply_remote(answer("cloud", id, 1, TaskStatus::Failed, false), 1);
    assert_eq!(status(&c, id), TaskStatus::Delegated, "the peer retries");
    c.apply_remote(answer("cloud", id, 1, TaskStatus::Failed, true), 2);
    assert_eq!(status(&c, id), TaskStatus::Failed);
    let stored = c.fx.finished.iter().find(|t| t.id == id).unwrap();
    assert_eq!(
        stored.error.as_deref(),
        Some("failed at swarm cloud: it broke")
    );
}

#[test]
fn a_silent_peer_gets_its_tasks_taken_back_and_its_late_answer_is_ignored() {
    let mut c = core(1, false);
    c.peers_seen(Some(vec![peer("cloud", &["sim/"], 4, 4)]), 0);
    let id = file(&mut c, "far away", |s| s.swarm = Some("cloud".into()));
    c.assign(0);
    assert_eq!(status(&c, id), TaskStatus::Delegated);
    // The NATS servers cannot be read: nothing is taken back, however long.
    c.peers_seen(None, TIMEOUT * 3);
    assert_eq!(status(&c, id), TaskStatus::Delegated);
    // They can again, before the peer published anew: the outage is not its silence.
    let back = TIMEOUT * 3 + 10;
    c.peers_seen(Some(vec![]), back);
    assert_eq!(
        status(&c, id),
        TaskStatus::Delegated,
        "the outage does not count"
    );
    // The peer's status stops coming.
    c.peers_seen(Some(vec![]), back + TIMEOUT / 2);
    assert_eq!(status(&c, id), TaskStatus::Delegated, "not yet");
    c.fx.events.clear();
    c.peers_seen(Some(vec![]), back + TIMEOUT + 1);
    assert_eq!(status(&c, id), TaskStatus::Ready);
    let ready = events(&mut c, "task.ready");
    assert_eq!(ready[0]["recalled_from"], "cloud");
    assert_eq!(ready[0]["round"], 1);
    // It comes back and is delegated again: round 2; the answer for round 1 is stale.
    let later = back + TIMEOUT + 2;
    c.peers_seen(Some(vec![peer("cloud", &["sim/"], 4, 4)]), later);
    c.assign(later);
    assert_eq!(c.task(id).unwrap().delegation.as_ref().unwrap().round, 2);
    let late = answer("cloud", id, 1, TaskStatus::Completed, true);
    assert_eq!(c.apply_remote(late, later + 1), Applied::Stale);
    assert_eq!(status(&c, id), TaskStatus::Delegated);
}

#[test]
fn cancelling_a_delegated_task_names_the_peer_to_tell() {
    let mut c = core(1, false);
    c.peers_seen(Some(vec![peer("cloud", &["sim/"], 4, 4)]), 0);
    let id = file(&mut c, "never mind", |s| s.swarm = Some("cloud".into()));
    c.assign(0);
    c.fx.events.clear();
    c.cancel(id, None, 1).unwrap();
    let cancelled = events(&mut c, "task.cancelled");
    assert_eq!(cancelled[0]["delegated_to"], "cloud");
    assert_eq!(cancelled[0]["round"], 1);
    let answer = answer("cloud", id, 1, TaskStatus::Completed, true);
    assert_eq!(c.apply_remote(answer, 2), Applied::Stale);
}

#[test]
fn a_delegation_received_is_filed_once_capped_and_never_merged() {
    let mut c = core(1, false);
    let local = file(&mut c, "same words", |_| {});
    let origin = RemoteOrigin {
        swarm: "laptop".into(),
        task: TaskId(7),
        round: 1,
        tier: Tier::Destructive,
        model: Some("sim/default".into()),
    };
    let spec = TaskSpec {
        title: "same words".into(),
        ..TaskSpec::default()
    };
    let first = c.file_remote(vec![(spec.clone(), origin.clone())], 0);
    let id = first[0].as_ref().unwrap().id;
    assert_ne!(
        id, local,
        "not merged with a local task of the same content"
    );
    let again = c.file_remote(vec![(spec.clone(), origin.clone())], 1);
    let again = again[0].as_ref().unwrap();
    assert_eq!((again.id, again.created), (id, false), "filed once");
    let task = c.task(id).unwrap();
    let remote = task.remote.as_ref().unwrap();
    assert_eq!(remote.tier, Tier::OwnWorkspace, "capped by remote_tier");
    assert_eq!(task.filed_by, "swarm:laptop");
    assert_eq!(c.remote_task(&origin.key()), Some(id));
    let route = c.asked_route(task).unwrap();
    assert_eq!(route.model, "sim/default", "the model the origin chose");
    // A delegation withdrawn before it came is not filed.
    let later = RemoteOrigin {
        task: TaskId(8),
        ..origin
    };
    c.withdraw_remote(later.key());
    let refused = c.file_remote(vec![(spec, later)], 2);
    assert!(
        refused[0]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("withdrawn")
    );
}

#[test]
fn without_federation_a_filing_for_a_swarm_is_refused_by_field() {
    let mut c = Core::new(SchedulerConfig::default(), vec![worker("w", &[])]);
    let err = c
        .file(
            vec![PlannedTask {
                key: None,
                spec: TaskSpec {
                    title: "x".into(),
                    swarm: Some("cloud".into()),
                    ..TaskSpec::default()
                },
            }],
            "person",
            0,
        )
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("`swarm`: federation is off"), "{err}");
    let mut c = core(1, false);
    let err = c
        .file(
            vec![PlannedTask {
                key: None,
                spec: TaskSpec {
                    title: "x".into(),
                    swarm: Some("no.dots".into()),
                    ..TaskSpec::default()
                },
            }],
            "person",
            0,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"no.dots\" is not a swarm name"), "{err}");
}
