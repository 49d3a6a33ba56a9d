//! The real `channel-discord` plugin through the real binary against a loopback server that
//! answers as Discord does: messages through per-worker webhooks (name, picture, mention,
//! split, a 429's `retry_after` honoured), signed interactions (a `/task` filed and
//! answered by editing the deferred response, a bad signature refused, PING answered),
//! and the slash commands registered by `hypernet channels setup discord`.

use crate::util::{SIM, send_message, settled};
use ed25519_dalek::{Signer, SigningKey};
use hypernet_integration::mock_llm::{MockLlm, Recorded, Reply, default_reply};
use hypernet_integration::{Env, Host, eventually};
use serde_json::{Value, json};
use std::time::Duration;

const DEFAULT_HOOK: &str = "111111111111111111/default-token";
const SCOUT_HOOK: &str = "222222222222222222/scout-token";
const BOT_TOKEN: &str = "bot-token-7f3a91";

/// Discord's answers: the created message (`wait=true`) for webhook posts and edits, the
/// commands for their bulk overwrite; LLM paths as the LLM mock answers them.
fn discord(recorded: &Recorded) -> Reply {
    let path = recorded.path.as_str();
    if path.starts_with("/api/v10/webhooks/") {
        let id = 1_300_000_000_000_000_000u64 + recorded.body.len() as u64;
        return Reply::json(
            200,
            json!({ "id": id.to_string(), "type": 0, "channel_id": "5", "content": recorded.json()["content"] }),
        );
    }
    if path.starts_with("/api/v10/applications/") {
        return Reply::json(200, recorded.json());
    }
    default_reply(recorded)
}

/// The application's key pair: the host gets the public half.
fn key() -> SigningKey {
    SigningKey::from_bytes(&[11u8; 32])
}

/// A host with channel-discord on the mock, provider-sim for its one worker, and ada on
/// Discord as user 42.
fn start(mock: &MockLlm, channels: &str) -> (Env, Host) {
    let env = Env::new();
    env.manifest(&format!(
        "{SIM}\n[[plugin]]\nname = \"channel-discord\"\ncapabilities = [\"log\"]\n[plugin.config]\n\
         base_url = \"{}/api/v10\"\navatar_url = \"https://example.org/swarm.png\"\n\
         application_id = \"555\"\npublic_key = \"{}\"\n\
         [plugin.config.personalities.scout]\nwebhook_env = \"HN_TEST_DISCORD_SCOUT\"\n\
         username = \"Scout\"\navatar_url = \"https://example.org/scout.png\"\n",
        mock.url(),
        hex::encode(key().verifying_key().to_bytes()),
    ));
    env.config(&format!(
        "standing = []\n{channels}\n[[worker]]\nname = \"Coder\"\naccount = \"2.1\"\nmodel = \"sim/default\"\n\n\
         [[person]]\nname = \"ada\"\nchannels = {{ discord = \"42\" }}\nreceives = [\"questions\", \"approvals\", \"failures\", \"alerts\"]\n"
    ));
    let host = env.start_with_env(&[
        ("HN_TEST_DISCORD_SCOUT", SCOUT_HOOK),
        ("DISCORD_WEBHOOK", DEFAULT_HOOK),
        ("DISCORD_BOT_TOKEN", BOT_TOKEN),
    ]);
    (env, host)
}

/// Sends `text` to ada on Discord from `sender`; the message id.
fn send(env: &Env, sender: &str, text: &str) -> String {
    send_message(
        env,
        &json!({ "to": "ada", "channel": "discord", "sender": sender, "body": text }),
    )
}

/// Posts an interaction to the host, signed with `signer`.
fn interact(env: &Env, body: &Value, signer: &SigningKey) -> (u16, String) {
    let body = body.to_string();
    let timestamp = "1700000000";
    let signature = hex::encode(
        signer
            .sign(format!("{timestamp}{body}").as_bytes())
            .to_bytes(),
    );
    let r = env.request(
        "POST",
        "/api/channels/discord/interactions",
        &[
            ("Content-Type", "application/json"),
            ("X-Signature-Ed25519", &signature),
            ("X-Signature-Timestamp", timestamp),
        ],
        body.as_bytes(),
    );
    (r.status, r.body)
}

#[test]
fn each_worker_posts_with_its_webhook_name_and_picture_mentioning_the_person() {
    let mock = MockLlm::start_with(discord);
    let (env, host) = start(&mock, "");
    let scout = send(&env, "scout", "Found the *bug* in parser.rs");
    let critic = send(&env, "critic", "Looks fine to me");
    for id in [&scout, &critic] {
        let m = settled(&env, id);
        assert_eq!(m["status"], "sent", "{m}\n{}", host.log());
        assert_eq!(
            m["deliveries"][0]["handles"].as_array().map(Vec::len),
            Some(1),
            "{m}"
        );
    }

    let posts = mock.requests_to("/api/v10/webhooks/222222222222222222/scout-token");
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].query, "wait=true");
    assert_eq!(
        posts[0].json(),
        json!({
            "content": "<@42> Found the \\*bug\\* in parser.rs",
            "username": "Scout",
            "avatar_url": "https://example.org/scout.png",
            "allowed_mentions": { "parse": [], "users": ["42"] },
        })
    );
    let posts = mock.requests_to("/api/v10/webhooks/111111111111111111/default-token");
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].json()["username"], "critic");
    assert_eq!(
        posts[0].json()["avatar_url"],
        "https://example.org/swarm.png"
    );
    assert!(
        !host.log().contains("scout-token"),
        "a webhook token in the log"
    );
}

#[test]
fn a_long_text_goes_in_parts_and_a_429_is_retried_no_sooner_than_asked() {
    let mock = MockLlm::start_with(discord);
    let path = "/api/v10/webhooks/111111111111111111/default-token";
    // The first part goes through; the second is refused once for 1.5 s.
    mock.script(
        path,
        [
            Reply::json(200, json!({ "id": "9001" })),
            Reply::json(
                429,
                json!({ "message": "You are being rate limited.", "retry_after": 1.5, "global": false }),
            )
            .with_header("Retry-After", "1")
            .with_header("X-RateLimit-Reset-After", "1.2"),
        ],
    );
    // Without Discord's wait the retry would come after 50 ms.
    let (env, host) = start(
        &mock,
        "[channels]\nretry_base_ms = 50\nretry_max_ms = 100\n",
    );
    let text = "word ".repeat(700); // 3500 characters: two parts
    let id = send(&env, "critic", &text);
    let m = settled(&env, &id);
    assert_eq!(m["status"], "sent", "{m}\n{}", host.log());

    let posts = mock.requests_to(path);
    assert_eq!(
        posts.len(),
        3,
        "part 1, part 2 refused, part 2 again: {posts:?}"
    );
    let contents: Vec<String> = posts
        .iter()
        .map(|p| p.json()["content"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(contents.iter().all(|c| c.chars().count() <= 2000));
    assert!(contents[0].starts_with("<@42> word"));
    assert_eq!(
        contents[1], contents[2],
        "the refused part is the one sent again"
    );
    assert!(!contents[1].contains("<@42>"));
    assert_eq!(
        (contents[0].split_whitespace().count() - 1) + contents[1].split_whitespace().count(),
        700
    );
    let waited = posts[2].received - posts[1].received;
    assert!(
        waited >= Duration::from_millis(1500),
        "retried after {waited:?}, Discord asked for 1.5 s"
    );
    assert_eq!(m["deliveries"][0]["attempts"], 2, "{m}");
    assert_eq!(m["deliveries"][0]["handles"][0], "9001", "{m}");
}

#[test]
fn a_signed_task_command_files_a_task_and_edits_the_deferred_response() {
    let mock = MockLlm::start_with(discord);
    let (env, host) = start(&mock, "");
    let interaction = json!({
        "type": 2,
        "id": "1300000000000000077",
        "application_id": "555",
        "token": "interaction-token-1",
        "guild_id": "7",
        "member": { "user": { "id": "42", "username": "ada" } },
        "data": { "id": "9", "name": "task", "type": 1,
                  "options": [{ "name": "description", "type": 3, "value": "Summarise the build logs" }] },
    });
    let (status, body) = interact(&env, &interaction, &key());
    assert_eq!(status, 200, "{body}\n{}", host.log());
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({ "type": 5 })
    );

    let edit_path = "/api/v10/webhooks/555/interaction-token-1/messages/@original";
    let edit = eventually("the answer to edit the deferred response", || {
        mock.requests_to(edit_path).into_iter().next()
    });
    assert_eq!(edit.method, "PATCH");
    let content = edit.json()["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        content.starts_with("Filed T\\-") || content.starts_with("Filed T-"),
        "{content}"
    );
    let tasks = env.api("/api/tasks?limit=100", None).1;
    let filed = tasks["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|t| t["title"] == "Summarise the build logs")
                .cloned()
        })
        .unwrap_or_else(|| panic!("no task filed: {tasks}"));
    assert_eq!(filed["filed_by"], "ada", "{filed}");
    assert!(content.contains(filed["id"].as_str().unwrap()), "{content}");

    // The task's outcome follows through the webhook, from the worker who did it.
    let task_id = filed["id"].as_str().unwrap().to_owned();
    let outcome = eventually("the task's outcome on Discord", || {
        mock.requests_to("/api/v10/webhooks/111111111111111111/default-token")
            .into_iter()
            .find(|p| {
                p.json()["content"]
                    .as_str()
                    .is_some_and(|c| c.contains(&task_id))
            })
    });
    let outcome = outcome.json();
    assert!(
        outcome["content"].as_str().unwrap().starts_with("<@42> **"),
        "{outcome}"
    );
    let done = env.api(&format!("/api/tasks/{task_id}"), None).1;
    assert_eq!(outcome["username"], done["worker"], "{outcome}\n{done}");

    // The same interaction delivered again is not handled twice.
    let (status, _) = interact(&env, &interaction, &key());
    assert_eq!(status, 200);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(mock.requests_to(edit_path).len(), 1);
}

#[test]
fn a_bad_signature_is_refused_and_a_ping_answered() {
    let mock = MockLlm::start_with(discord);
    let (env, _host) = start(&mock, "");
    let command = json!({
        "type": 2, "id": "1300000000000000078", "application_id": "555", "token": "t-2",
        "member": { "user": { "id": "42" } },
        "data": { "name": "task", "options": [{ "name": "description", "type": 3, "value": "Forged" }] },
    });
    let forger = SigningKey::from_bytes(&[12u8; 32]);
    let (status, body) = interact(&env, &command, &forger);
    assert_eq!(status, 401, "{body}");
    let r = env.request(
        "POST",
        "/api/channels/discord/interactions",
        &[("Content-Type", "application/json")],
        command.to_string().as_bytes(),
    );
    assert_eq!(r.status, 401, "{}", r.body);

    let (status, body) = interact(
        &env,
        &json!({ "type": 1, "id": "1", "application_id": "555", "token": "p" }),
        &key(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({ "type": 1 })
    );

    std::thread::sleep(Duration::from_millis(300));
    let tasks = env.api("/api/tasks?limit=100", None).1;
    assert!(!tasks.to_string().contains("Forged"), "{tasks}");
    assert!(
        mock.requests_to("/api/v10/webhooks/555/t-2/messages/@original")
            .is_empty()
    );
}

#[test]
fn setup_registers_the_slash_commands_with_the_bot_token() {
    let mock = MockLlm::start_with(discord);
    let (env, _host) = start(&mock, "");
    let steps = env.run(&["channels", "setup", "discord", "--json"]).json();
    assert_eq!(steps[0]["method"], "PUT", "{steps}");
    assert_eq!(steps[0]["status"], 200, "{steps}");
    let puts = mock.requests_to("/api/v10/applications/555/commands");
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert_eq!(puts[0].method, "PUT");
    assert_eq!(
        puts[0].header("authorization"),
        Some(format!("Bot {BOT_TOKEN}").as_str())
    );
    let names: Vec<String> = puts[0]
        .json()
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        names,
        [
            "status", "task", "ask", "answer", "approve", "deny", "cancel", "retry"
        ]
    );
}
