//! Workers managed while the host runs, through the real binary and provider-sim: a paused
//! worker takes nothing, an added one takes work, a removed one leaves, a bad request is
//! refused naming the value, and every change outlives a restart.

use crate::util::{SIM, file, wait_for};
use hypernet_integration::{Env, eventually};
use serde_json::Value;

fn workers(env: &Env) -> Vec<Value> {
    env.run(&["workers", "--json"]).json()["items"]
        .as_array()
        .expect("a list")
        .clone()
}

fn named<'a>(list: &'a [Value], name: &str) -> Option<&'a Value> {
    list.iter().find(|w| w["name"] == name)
}

#[test]
fn workers_are_paused_added_and_removed_at_run_time_and_stay_so_after_a_restart() {
    let env = Env::new();
    env.manifest(&SIM.replace("latency_ms = 0", "latency_ms = 400"));
    env.config(
        "standing = []\n[personal_time]\nenabled = false\n\
         [[worker]]\nname = \"Ada\"\nmodel = \"sim/default\"\n\
         [[worker]]\nname = \"Bo\"\nmodel = \"sim/default\"\n",
    );
    let host = env.start();

    assert_eq!(
        env.run(&["workers", "pause", "ada"]).ok().trim(),
        "Ada: paused"
    );
    let first = file(&env, "one");
    let second = file(&env, "two");
    for id in [&first, &second] {
        let done = wait_for(&env, id, &["completed"]);
        assert_eq!(
            done["worker"], "Bo",
            "a paused worker takes nothing: {done}"
        );
    }
    let table = env.run(&["workers"]).ok().to_owned();
    let ada = table.lines().find(|l| l.starts_with("Ada")).unwrap();
    assert!(ada.contains(" paused "), "{table}");

    assert_eq!(
        env.run(&[
            "workers",
            "add",
            "Scout",
            "--model",
            "sim/default",
            "--role",
            "researcher"
        ])
        .ok()
        .trim(),
        "Scout: added (model sim/default)"
    );
    let refused = env.run(&["workers", "add", "Odd", "--model", "nope/x"]);
    assert!(
        refused
            .fails()
            .contains("`model`: no loaded provider serves `nope/x` (served: sim/)"),
        "{}",
        refused.stderr
    );
    let taken = env.run(&["workers", "add", "bo"]);
    assert!(
        taken.fails().contains("a worker is already named `Bo`"),
        "{}",
        taken.stderr
    );
    let nobody = env.run(&["workers", "pause", "Nobody"]);
    assert!(
        nobody
            .fails()
            .contains("no worker is named `Nobody` (workers: Ada, Bo, Scout)"),
        "{}",
        nobody.stderr
    );

    // Bo is busy with one task, so the other goes to Scout.
    let (a, b) = (file(&env, "three"), file(&env, "four"));
    let by: Vec<String> = [a, b]
        .iter()
        .map(|id| {
            wait_for(&env, id, &["completed"])["worker"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        by.contains(&"Scout".to_owned()),
        "the added worker took work: {by:?}"
    );

    let busy = file(&env, "five");
    eventually("Bo or Scout to start it", || {
        let t = env.api(&format!("/api/tasks/{busy}"), None).1;
        (t["status"] == "running").then_some(())
    });
    let running = env.api(&format!("/api/tasks/{busy}"), None).1;
    let runner = running["worker"].as_str().unwrap().to_owned();
    let removed = env.run(&["workers", "remove", &runner]).ok().to_owned();
    assert_eq!(
        removed.trim(),
        format!("{runner}: leaving when {busy} ends")
    );
    wait_for(&env, &busy, &["completed"]);
    eventually("the removed worker to leave", || {
        named(&workers(&env), &runner).is_none().then_some(())
    });

    drop(host);
    let _again = env.start();
    let list = workers(&env);
    assert!(named(&list, &runner).is_none(), "still removed: {list:?}");
    assert_eq!(named(&list, "Ada").unwrap()["paused"], true, "still paused");
    if runner != "Scout" {
        assert_eq!(named(&list, "Scout").unwrap()["added"], true, "still added");
    }
    assert_eq!(
        env.run(&["workers", "add", &runner]).ok().trim(),
        format!("{runner}: added (model sim/default)")
    );
    assert_eq!(
        env.run(&["workers", "resume", "Ada"]).ok().trim(),
        "Ada: taking tasks"
    );
    let last = file(&env, "six");
    wait_for(&env, &last, &["completed"]);
}
