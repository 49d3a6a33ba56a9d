//! People and the durable outbox, through the real binary: `[[person]]` checked at start,
//! a message to a person stored with one delivery per channel of theirs, a delivery to a
//! channel that is not loaded retried with backoff and kept across a restart, then marked
//! failed with the reason; the channels API with no channel loaded.

use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};

const PEOPLE: &str = "standing = []\n\
[channels]\nmax_attempts = 3\nretry_base_ms = 300\nretry_max_ms = 600\n\
[[person]]\nname = \"ada\"\nchannels = { telegram = \"4242\", email = \"ada@example.org\" }\n\
[[person]]\nname = \"bo\"\nreceives = [\"alerts\"]\n";

fn message(env: &Env, id: &str) -> Value {
    let (status, all) = env.api("/api/messages", None);
    assert_eq!(status, 200, "{all}");
    all["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|m| m["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no message {id} in {all}"))
}

#[test]
fn a_bad_person_entry_stops_the_start_with_its_name() {
    let env = Env::new();
    env.manifest("");
    env.config("standing = []\n[[person]]\nname = \"ada\"\nchanels = {}\n");
    let log = env.try_start().err().expect("refused");
    assert!(log.contains("unknown field `chanels`"), "{log}");
    env.config(
        "standing = []\n[[person]]\nname = \"a\"\nchannels = { telegram = \"1\" }\n\
         [[person]]\nname = \"b\"\nchannels = { telegram = \"1\" }\n",
    );
    let log = env.try_start().err().expect("refused");
    assert!(
        log.contains("persons `a` and `b` share the telegram address `1`"),
        "{log}"
    );
}

#[test]
fn deliveries_to_a_missing_channel_are_retried_across_a_restart_then_fail() {
    let env = Env::new();
    env.manifest("");
    env.config(PEOPLE);
    let host = env.start();
    let (status, filed) = env.api(
        "/api/messages",
        Some(&json!({ "to": "ada", "body": "The build is green", "thread": "T-9" })),
    );
    assert_eq!(status, 200, "{filed}");
    let id = filed["id"].as_str().expect("an id").to_owned();
    assert_eq!(
        filed["status"], "queued",
        "stored before it is sent: {filed}"
    );
    let channels: Vec<&str> = filed["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| d["channel"].as_str().unwrap())
        .collect();
    assert_eq!(
        channels,
        ["email", "telegram"],
        "one per channel of ada: {filed}"
    );
    // A person without channels is written to in the log; a named channel they lack is refused.
    let (_, bo) = env.api("/api/messages", Some(&json!({ "to": "bo", "body": "hi" })));
    assert_eq!(
        (&bo["status"], &bo["deliveries"][0]["channel"]),
        (&json!("sent"), &json!("log")),
        "{bo}"
    );
    let (status, refused) = env.api(
        "/api/messages",
        Some(&json!({ "to": "bo", "body": "hi", "channel": "discord" })),
    );
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("person `bo` has no address on channel `discord`"),
        "{refused}"
    );
    // One attempt made, the next waits: no channel plugin is loaded.
    let tried = eventually("a first attempt", || {
        let m = message(&env, &id);
        (m["deliveries"][0]["attempts"].as_u64() >= Some(1)).then_some(m)
    });
    assert!(
        tried["deliveries"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("no channel `email` is loaded"),
        "{tried}"
    );
    host.kill9();
    let host = env.start();
    let failed = eventually("the deliveries to fail for good", || {
        let m = message(&env, &id);
        (m["status"] == "failed").then_some(m)
    });
    for d in failed["deliveries"].as_array().unwrap() {
        assert_eq!(
            (&d["status"], &d["attempts"]),
            (&json!("failed"), &json!(3)),
            "{failed}"
        );
    }
    drop(host);
}

#[test]
fn with_no_channel_loaded_the_channels_api_says_so() {
    let env = Env::new();
    env.manifest("");
    env.config(PEOPLE);
    let _host = env.start();
    let (status, list) = env.api("/api/channels", None);
    assert_eq!((status, list), (200, json!([])));
    let answer = env.request("POST", "/api/channels/telegram/webhook", &[], b"{}");
    assert_eq!(answer.status, 404, "{}", answer.body);
    let run = env.run(&["channels", "list"]);
    assert!(run.ok().contains("no channel is loaded"), "{}", run.ok());
    // `setup` is the guarded route, not the channel's open endpoint.
    let unauthorized = env.request("POST", "/api/channels/discord/setup", &[], b"");
    assert_eq!(unauthorized.status, 401, "{}", unauthorized.body);
    let run = env.run(&["channels", "setup", "discord"]);
    assert!(
        run.fails().contains("no channel `discord` is loaded"),
        "{}",
        run.fails()
    );
}
