//! Federation end to end: real `hypernet run` hosts, the real provider-sim library and a
//! real `nats-server` with JetStream. Tasks go to other swarms by model, by name and by
//! overflow; each completes exactly once across crashes of the origin, of the peer and of
//! the NATS server; a vanished peer's tasks are taken back; a cancel and a dependency cross
//! swarms; and federation off refuses a task filed for another swarm.

use hypernet_integration::nats::NatsServer;
use hypernet_integration::{Env, within};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How often each swarm publishes its status, ms (kept short so peers meet quickly).
const STATUS_EVERY_MS: u64 = 200;
/// How long a status lives without renewal, ms.
const STATUS_TTL_MS: u64 = 1000;
/// How long a peer may be silent before its tasks are taken back, ms.
const PEER_TIMEOUT_MS: u64 = 3000;
/// The timeout for the host crash tests, long enough that a restart never takes tasks back:
/// what they prove is recovery, not the take-back.
const PATIENT_TIMEOUT_MS: u64 = 60_000;
/// The timeout for the NATS crash test: longer than the NATS client's reconnection delay
/// (at most 4 s) and a status period, shorter than the outage the test makes.
const OUTAGE_TIMEOUT_MS: u64 = 6_000;

/// One swarm's setup.
struct Swarm<'a> {
    /// Its name.
    name: &'a str,
    /// The model prefixes its provider-sim serves.
    models: &'a [&'a str],
    /// How many workers it has.
    workers: usize,
    /// provider-sim's latency, ms.
    latency_ms: u64,
    /// provider-sim's jitter, ms.
    jitter_ms: u64,
    /// `peer_timeout_ms`.
    peer_timeout_ms: u64,
    /// More lines of `[federation]`.
    extra: &'a str,
}

impl<'a> Swarm<'a> {
    /// A swarm of one worker whose provider-sim serves `sim/` at once.
    fn new(name: &'a str) -> Swarm<'a> {
        Swarm {
            name,
            models: &["sim/"],
            workers: 1,
            latency_ms: 0,
            jitter_ms: 0,
            peer_timeout_ms: PEER_TIMEOUT_MS,
            extra: "",
        }
    }

    /// The same swarm, its provider-sim serving `cloud/` too.
    fn cloud(self) -> Swarm<'a> {
        Swarm {
            models: &["sim/", "cloud/"],
            ..self
        }
    }

    /// A world for it on `nats`: provider-sim and the routing rule sending tasks tagged
    /// `cloud` to `cloud/big`.
    fn env(&self, nats: &NatsServer) -> Env {
        let env = Env::new();
        let models: Vec<String> = self.models.iter().map(|m| format!("{m:?}")).collect();
        env.manifest(&format!(
            "[[plugin]]\nname = \"provider-sim\"\ncapabilities = [\"log\"]\n[plugin.config]\n\
             latency_ms = {}\njitter_ms = {}\nmodels = [{}]\n",
            self.latency_ms,
            self.jitter_ms,
            models.join(", ")
        ));
        let workers: String = (0..self.workers)
            .map(|i| {
                format!(
                    "[[worker]]\nname = \"W{i}\"\naccount = \"2.{}\"\n",
                    i % 6 + 1
                )
            })
            .collect();
        env.config(&format!(
            "standing = []\n[personal_time]\nenabled = false\n\
             [router]\nrules = [{{ if_tags_any = [\"cloud\"], model = \"cloud/big\" }}]\n\
             {workers}\
             [federation]\nenabled = true\nswarm = \"{}\"\nurls = [\"{}\"]\n\
             status_every_ms = {STATUS_EVERY_MS}\nstatus_ttl_ms = {STATUS_TTL_MS}\n\
             peer_timeout_ms = {}\n{}\n",
            self.name,
            nats.url(),
            self.peer_timeout_ms,
            self.extra
        ));
        env
    }
}

/// Every task of a host.
fn tasks(env: &Env) -> Vec<Value> {
    let (status, page) = env.api("/api/tasks?limit=1000", None);
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

/// The task `id` of a host.
fn task(env: &Env, id: &str) -> Value {
    let (status, t) = env.api(&format!("/api/tasks/{id}"), None);
    assert_eq!(status, 200, "{t}");
    t
}

/// Files `specs` in one batch; their ids, in order.
fn file(env: &Env, specs: Vec<Value>) -> Vec<String> {
    let (status, body) = env.api("/api/tasks", Some(&json!({ "tasks": specs })));
    assert_eq!(status, 200, "{body}");
    body["tasks"]
        .as_array()
        .expect("the filed tasks")
        .iter()
        .map(|f| f["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// `GET /api/federation`.
fn federation(env: &Env) -> Value {
    let (status, view) = env.api("/api/federation", None);
    assert_eq!(status, 200, "{view}");
    view
}

/// Waits until `env`'s swarm sees each of `peers`.
fn sees(env: &Env, peers: &[&str]) {
    within(20, &format!("peers {peers:?} to be seen"), || {
        let view = federation(env);
        let seen: Vec<&str> = view["peers"]
            .as_array()?
            .iter()
            .filter_map(|p| p["swarm"].as_str())
            .collect();
        peers.iter().all(|p| seen.contains(p)).then_some(())
    });
}

/// How many of `tasks` have `status`.
fn count(tasks: &[Value], status: &str) -> usize {
    tasks.iter().filter(|t| t["status"] == status).count()
}

/// Waits until every task of `ids` at `env` is completed; the tasks.
fn all_completed(env: &Env, ids: &[String], secs: u64) -> Vec<Value> {
    within(secs, &format!("{} tasks to complete", ids.len()), || {
        let all = tasks(env);
        let mine: Vec<Value> = all
            .into_iter()
            .filter(|t| ids.iter().any(|id| t["id"] == id.as_str()))
            .collect();
        if let Some(t) = mine.iter().find(|t| t["status"] == "failed") {
            panic!("a task failed: {t}");
        }
        (mine.len() == ids.len() && count(&mine, "completed") == ids.len()).then_some(mine)
    })
}

/// The tasks `env` runs for swarm `origin`.
fn filed_by(env: &Env, origin: &str) -> Vec<Value> {
    tasks(env)
        .into_iter()
        .filter(|t| t["remote"]["swarm"] == origin)
        .collect()
}

/// Checks that over `peers` no task of `origin` has more than one completed copy, that no
/// delegation round (task, round) was filed twice, and that every copy is of one of `ids`;
/// returns the completed copies by origin task.
fn completed_once(ids: &[String], origin: &str, peers: &[&Env]) -> BTreeMap<String, Value> {
    let mut copies: BTreeMap<(String, u64), usize> = BTreeMap::new();
    let mut completed: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for peer in peers {
        for t in filed_by(peer, origin) {
            let id = t["remote"]["task"]
                .as_str()
                .expect("remote.task")
                .to_owned();
            let round = t["remote"]["round"].as_u64().expect("remote.round");
            *copies.entry((id.clone(), round)).or_default() += 1;
            assert_eq!(t["filed_by"], format!("swarm:{origin}"), "{t}");
            if t["status"] == "completed" {
                completed.entry(id).or_default().push(t);
            }
        }
    }
    assert!(
        copies.values().all(|&n| n == 1),
        "a delegation round filed twice: {copies:?}"
    );
    for (id, done) in &completed {
        assert!(ids.contains(id), "a copy of an unknown task {id}");
        assert_eq!(
            done.len(),
            1,
            "{id} completed {} times: {done:?}",
            done.len()
        );
    }
    completed
        .into_iter()
        .map(|(id, mut done)| (id, done.pop().expect("one")))
        .collect()
}

/// Checks that each of `origin_tasks` (completed at the origin) ran at a peer exactly once:
/// one completed copy in its round, known to the origin by id, the origin's worker shown as
/// `<copy's worker>@<peer>`, and the answer signed.
fn ran_remotely_once(origin_tasks: &[Value], origin: &str, peers: &[&Env]) {
    let ids: Vec<String> = origin_tasks
        .iter()
        .map(|t| t["id"].as_str().expect("an id").to_owned())
        .collect();
    let copies = completed_once(&ids, origin, peers);
    assert_eq!(copies.len(), ids.len(), "a task has no completed copy");
    for t in origin_tasks {
        let id = t["id"].as_str().unwrap();
        let copy = &copies[id];
        let d = &t["delegation"];
        assert_eq!(copy["remote"]["round"], d["round"], "{t}\n{copy}");
        assert_eq!(
            d["remote_task"], copy["id"],
            "the origin knows the copy: {t}"
        );
        let worker = t["worker"].as_str().expect("a worker");
        assert_eq!(
            worker,
            format!(
                "{}@{}",
                copy["worker"].as_str().unwrap(),
                d["swarm"].as_str().unwrap()
            ),
            "{t}"
        );
        assert!(d["signature"].is_string(), "{t}");
    }
}

/// `n` tasks filed for swarm `to`.
fn for_swarm(n: usize, to: &str, label: &str) -> Vec<Value> {
    (0..n)
        .map(|i| json!({ "title": format!("{label} {i}"), "swarm": to }))
        .collect()
}

#[test]
fn a_task_whose_model_only_a_peer_serves_completes_there_with_a_signed_answer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nats = NatsServer::start(dir.path());
    let a = Swarm::new("a").env(&nats);
    let b = Swarm::new("b").cloud().env(&nats);
    let _ha = a.start();
    let _hb = b.start();
    sees(&a, &["b"]);
    // More than the peer takes at once (twice its one worker): the rest wait for room.
    let ids = file(
        &a,
        (0..4)
            .map(|i| json!({ "title": format!("cloud work {i}"), "tags": ["cloud"] }))
            .collect(),
    );
    let done = all_completed(&a, &ids, 30);
    for t in &done {
        let d = &t["delegation"];
        assert_eq!(d["swarm"], "b", "{t}");
        assert!(
            d["why"].as_str().unwrap().contains("cloud/big"),
            "delegated for its model: {t}"
        );
        assert!(t["worker"].as_str().unwrap().ends_with("@b"), "{t}");
        assert_eq!(
            t["result"]["model"], "cloud/big",
            "run on the asked model: {t}"
        );
    }
    ran_remotely_once(&done, "a", &[&b]);
    let key = federation(&a)["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["swarm"] == "b")
        .expect("b is seen")["key"]
        .clone();
    assert!(key.as_str().is_some_and(|k| k.len() == 64), "{key}");
    for t in &done {
        assert_eq!(
            t["delegation"]["signer"], key,
            "signed by b's published key: {t}"
        );
    }
    let copies = filed_by(&b, "a");
    assert_eq!(copies.len(), ids.len());
    for c in &copies {
        assert_eq!(c["remote"]["model"], "cloud/big", "{c}");
    }
}

#[test]
fn a_task_filed_for_a_swarm_by_name_goes_there_and_nowhere_else() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nats = NatsServer::start(dir.path());
    let a = Swarm::new("a").env(&nats);
    let b = Swarm::new("b").env(&nats);
    let c = Swarm::new("c").env(&nats);
    let _ha = a.start();
    let _hb = b.start();
    let _hc = c.start();
    sees(&a, &["b", "c"]);
    // Filed before or after the peers are seen, they wait for swarm b.
    let ids = file(&a, for_swarm(3, "b", "for b"));
    let done = all_completed(&a, &ids, 30);
    for t in &done {
        assert_eq!(t["swarm"], "b", "{t}");
        assert_eq!(t["delegation"]["swarm"], "b", "{t}");
        assert_eq!(t["delegation"]["why"], "filed for swarm b", "{t}");
    }
    ran_remotely_once(&done, "a", &[&b]);
    assert!(tasks(&c).is_empty(), "swarm c got work: {:?}", tasks(&c));
}

#[test]
fn overflow_sends_what_no_local_worker_is_free_for_to_an_idle_peer_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nats = NatsServer::start(dir.path());
    let a = Swarm {
        latency_ms: 400,
        extra: "overflow = true",
        ..Swarm::new("a")
    }
    .env(&nats);
    let b = Swarm {
        workers: 2,
        latency_ms: 100,
        ..Swarm::new("b")
    }
    .env(&nats);
    let _ha = a.start();
    let _hb = b.start();
    sees(&a, &["b"]);
    let ids = file(
        &a,
        (0..12)
            .map(|i| json!({ "title": format!("overflowing {i}") }))
            .collect(),
    );
    let done = all_completed(&a, &ids, 40);
    let (remote, local): (Vec<Value>, Vec<Value>) = done
        .into_iter()
        .partition(|t| t["worker"].as_str().unwrap().contains('@'));
    assert!(!remote.is_empty(), "nothing overflowed to b");
    assert!(!local.is_empty(), "nothing ran at a");
    for t in &remote {
        assert_eq!(
            t["delegation"]["why"], "overflow: no worker here is free",
            "{t}"
        );
    }
    for t in &local {
        assert!(t["delegation"].is_null(), "ran here yet delegated: {t}");
        assert_eq!(t["worker"], "W0", "{t}");
    }
    ran_remotely_once(&remote, "a", &[&b]);
    assert_eq!(
        filed_by(&b, "a").len(),
        remote.len(),
        "b ran only what a shows as run there"
    );
}

/// The crash tests' swarms and work: `a` files `n` tasks for `b`, whose two workers take a
/// while; half are filed for `b` by name, half tagged for `cloud/big`, which only `b` serves
/// (more than `b` has room for at once: the rest wait at `a` for room).
fn crash_setup(nats: &NatsServer, n: usize, peer_timeout_ms: u64) -> (Env, Env, Vec<Value>) {
    let a = Swarm {
        peer_timeout_ms,
        ..Swarm::new("a")
    }
    .env(nats);
    let b = Swarm {
        workers: 2,
        latency_ms: 250,
        jitter_ms: 150,
        peer_timeout_ms,
        ..Swarm::new("b").cloud()
    }
    .env(nats);
    let specs = (0..n)
        .map(|i| {
            if i % 2 == 0 {
                json!({ "title": format!("crash {i}"), "swarm": "b" })
            } else {
                json!({ "title": format!("crash {i}"), "tags": ["cloud"] })
            }
        })
        .collect();
    (a, b, specs)
}

/// Waits until `b` has completed at least `k` tasks for `a`, and checks that `a` has not
/// all of `ids` completed yet (the crash that follows hits running work).
fn midway(a: &Env, b: &Env, ids: &[String], k: usize) {
    within(30, &format!("{k} tasks completed at b"), || {
        (count(&filed_by(b, "a"), "completed") >= k).then_some(())
    });
    let done = tasks(a)
        .iter()
        .filter(|t| t["status"] == "completed")
        .count();
    assert!(done < ids.len(), "the work ended before the crash");
}

#[test]
fn a_crash_of_the_origin_loses_no_delegated_task_and_runs_none_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nats = NatsServer::start(dir.path());
    let (a, b, specs) = crash_setup(&nats, 16, PATIENT_TIMEOUT_MS);
    let ha = a.start();
    let _hb = b.start();
    sees(&a, &["b"]);
    let ids = file(&a, specs);
    // At once, while the delegations are being published, then in the middle of the work.
    ha.kill9();
    let ha = a.start();
    midway(&a, &b, &ids, 3);
    ha.kill9();
    // The peer goes on while the origin is down; its answers wait in the stream.
    let before = count(&filed_by(&b, "a"), "completed");
    within(30, "b to finish more while a is down", || {
        (count(&filed_by(&b, "a"), "completed") > before).then_some(())
    });
    let _ha = a.start();
    let done = all_completed(&a, &ids, 60);
    ran_remotely_once(&done, "a", &[&b]);
    assert_eq!(filed_by(&b, "a").len(), ids.len());
}

#[test]
fn a_crash_of_the_peer_loses_no_delegated_task_and_runs_none_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nats = NatsServer::start(dir.path());
    let (a, b, specs) = crash_setup(&nats, 16, PATIENT_TIMEOUT_MS);
    let _ha = a.start();
    let hb = b.start();
    sees(&a, &["b"]);
    let ids = file(&a, specs);
    // As soon as it holds some of the work, then in the middle of it.
    within(20, "b to hold some of the work", || {
        (!filed_by(&b, "a").is_empty()).then_some(())
    });
    hb.kill9();
    let hb = b.start();
    midway(&a, &b, &ids, 3);
    hb.kill9();
    let _hb = b.start();
    let done = all_completed(&a, &ids, 60);
    ran_remotely_once(&done, "a", &[&b]);
    assert_eq!(filed_by(&b, "a").len(), ids.len());
}

#[test]
fn a_crash_of_the_nats_server_loses_no_delegated_task_and_runs_none_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut nats = NatsServer::start(dir.path());
    let (a, b, specs) = crash_setup(&nats, 16, OUTAGE_TIMEOUT_MS);
    let _ha = a.start();
    let _hb = b.start();
    sees(&a, &["b"]);
    let ids = file(&a, specs);
    midway(&a, &b, &ids, 3);
    nats.kill9();
    let killed = Instant::now();
    // Both swarms notice they cannot reach the servers.
    for env in [&a, &b] {
        within(20, "the NATS server to be missed", || {
            (federation(env)["reachable"] == false).then_some(())
        });
    }
    // The outage outlasts the peer timeout: not seeing a peer while the servers are down
    // is no sign that it is gone, and nothing is taken back.
    let outage = Duration::from_millis(OUTAGE_TIMEOUT_MS + 1_000);
    std::thread::sleep(outage.saturating_sub(killed.elapsed()));
    nats.restart();
    let done = all_completed(&a, &ids, 60);
    ran_remotely_once(&done, "a", &[&b]);
    assert_eq!(filed_by(&b, "a").len(), ids.len());
    for t in &done {
        assert_eq!(t["delegation"]["round"], 1, "taken back: {t}");
    }
}

#[test]
fn a_vanished_peers_tasks_are_taken_back_and_completed_elsewhere() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nats = NatsServer::start(dir.path());
    let a = Swarm::new("a").env(&nats);
    // b takes the work and never answers: its calls take a minute.
    let b = Swarm {
        workers: 2,
        latency_ms: 60_000,
        ..Swarm::new("b").cloud()
    }
    .env(&nats);
    let c = Swarm::new("c").cloud().env(&nats);
    let _ha = a.start();
    let hb = b.start();
    sees(&a, &["b"]);
    let ids = file(
        &a,
        (0..2)
            .map(|i| json!({ "title": format!("stranded {i}"), "tags": ["cloud"] }))
            .collect(),
    );
    within(20, "b to run the tasks", || {
        (count(&filed_by(&b, "a"), "running") == ids.len()).then_some(())
    });
    // c, the other swarm serving cloud/, appears once b holds the work; then b vanishes.
    let _hc = c.start();
    sees(&a, &["c"]);
    hb.kill9();
    let done = all_completed(&a, &ids, 40);
    for t in &done {
        let d = &t["delegation"];
        assert_eq!(d["swarm"], "c", "{t}");
        assert_eq!(d["round"], 2, "a second round: {t}");
        assert!(t["worker"].as_str().unwrap().ends_with("@c"), "{t}");
    }
    ran_remotely_once(&done, "a", &[&c]);
}

#[test]
fn a_task_cancelled_at_its_origin_is_cancelled_at_the_peer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nats = NatsServer::start(dir.path());
    let a = Swarm::new("a").env(&nats);
    let b = Swarm {
        latency_ms: 60_000,
        ..Swarm::new("b")
    }
    .env(&nats);
    let _ha = a.start();
    let _hb = b.start();
    let ids = file(&a, for_swarm(1, "b", "slow"));
    let id = &ids[0];
    let copy = within(20, "b to run the task", || {
        filed_by(&b, "a")
            .into_iter()
            .find(|t| t["status"] == "running")
    });
    within(20, "a to hear it runs", || {
        (task(&a, id)["delegation"]["remote_status"] == "running").then_some(())
    });
    let (status, body) = a.act(&format!("/api/tasks/{id}/cancel"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(task(&a, id)["status"], "cancelled");
    let copy_id = copy["id"].as_str().unwrap();
    within(20, "the copy at b to be cancelled", || {
        (task(&b, copy_id)["status"] == "cancelled").then_some(())
    });
    assert_eq!(
        task(&a, id)["status"],
        "cancelled",
        "the origin keeps it cancelled"
    );
}

#[test]
fn a_task_waits_for_its_dependency_run_at_another_swarm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nats = NatsServer::start(dir.path());
    let a = Swarm::new("a").env(&nats);
    let b = Swarm {
        latency_ms: 500,
        ..Swarm::new("b")
    }
    .env(&nats);
    let _ha = a.start();
    let _hb = b.start();
    let ids = file(
        &a,
        vec![
            json!({ "key": "x", "title": "X", "depends_on": ["y"] }),
            json!({ "key": "y", "title": "Y", "swarm": "b" }),
        ],
    );
    let (x, y) = (&ids[0], &ids[1]);
    let done = all_completed(&a, &ids, 30);
    let x_task = done.iter().find(|t| t["id"] == x.as_str()).unwrap();
    let y_task = done.iter().find(|t| t["id"] == y.as_str()).unwrap();
    assert_eq!(x_task["worker"], "W0", "X ran here: {x_task}");
    assert!(x_task["delegation"].is_null(), "{x_task}");
    assert!(
        y_task["worker"].as_str().unwrap().ends_with("@b"),
        "{y_task}"
    );
    let copy = ran_at(&b, y);
    let x_started = x_task["started_ms"].as_u64().expect("X started");
    assert!(
        x_started >= y_task["finished_ms"].as_u64().expect("Y finished"),
        "X started before Y's answer came: {x_task}\n{y_task}"
    );
    assert!(
        x_started >= copy["finished_ms"].as_u64().expect("the copy finished"),
        "X started before Y finished at b: {x_task}\n{copy}"
    );
}

/// The one completed copy at `peer` of origin task `id`.
fn ran_at(peer: &Env, id: &str) -> Value {
    let copies: Vec<Value> = tasks(peer)
        .into_iter()
        .filter(|t| t["remote"]["task"] == id)
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert_eq!(copies[0]["status"], "completed", "{}", copies[0]);
    copies[0].clone()
}

#[test]
fn with_federation_off_a_task_for_another_swarm_is_refused() {
    let env = Env::new();
    env.manifest(crate::util::SIM);
    env.config("standing = []\n[[worker]]\nname = \"W0\"\naccount = \"2.1\"\n");
    let _host = env.start();
    let (status, body) = env.api(
        "/api/tasks",
        Some(&json!({ "title": "away", "swarm": "b" })),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("`swarm`"), "{body}");
    assert!(tasks(&env).is_empty(), "nothing was filed");
    let view = federation(&env);
    assert_eq!(view["enabled"], false, "{view}");
    let out = env.run(&["federation", "status"]);
    assert!(out.ok().contains("federation is off"), "{}", out.stdout);
}

#[test]
fn federation_status_prints_the_peers_and_the_tasks_crossing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nats = NatsServer::start(dir.path());
    let a = Swarm::new("a").env(&nats);
    let b = Swarm {
        workers: 2,
        latency_ms: 60_000,
        ..Swarm::new("b").cloud()
    }
    .env(&nats);
    let _ha = a.start();
    let _hb = b.start();
    sees(&a, &["b"]);
    let ids = file(&a, for_swarm(1, "b", "long"));
    within(20, "a to hear the task runs at b", || {
        (task(&a, &ids[0])["delegation"]["remote_status"] == "running").then_some(())
    });
    // b's next status shows one of its two workers busy.
    let out = within(20, "a to see b's busy worker", || {
        let out = a.run(&["federation", "status"]);
        out.ok().contains(" 1/2 ").then_some(out)
    });
    let text = out.ok();
    assert!(text.contains("swarm a (connected)"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("PEER"))
        .unwrap_or_else(|| panic!("no peer table:\n{text}"));
    for column in ["MODELS", "FREE", "QUEUE", "ACCEPTS", "VERSION"] {
        assert!(lines[header].contains(column), "{text}");
    }
    let row: Vec<&str> = lines[header + 1].split_whitespace().collect();
    assert_eq!(row[0], "b", "{text}");
    assert_eq!(row[1], "cloud/,sim/", "{text}");
    assert_eq!(row[2], "1/2", "{text}");
    assert_eq!(row[4], "yes", "{text}");
    assert!(text.contains("delegated out: 1"), "{text}");
    let out_row = lines
        .iter()
        .find(|l| l.starts_with(ids[0].as_str()))
        .unwrap_or_else(|| panic!("no row for {}:\n{text}", ids[0]));
    assert!(out_row.contains("running"), "{text}");
    let json = a.run(&["federation", "status", "--json"]).json();
    assert_eq!(json["peers"][0]["swarm"], "b", "{json}");
    let peer_text = b.run(&["federation", "status"]);
    let peer_text = peer_text.ok();
    assert!(peer_text.contains("delegated in: 1"), "{peer_text}");
    assert!(
        peer_text.lines().any(|l| l.starts_with("a ")),
        "b sees a: {peer_text}"
    );
}
