//! `setup`: registering the slash commands.

use super::*;
use hypernet_plugin_api::channel::Channel;
use serde_json::{Value, json};

#[test]
fn setup_overwrites_the_commands_with_the_bot_token() {
    let mut d = discord(
        "application_id = \"555\"\nbase_url = \"http://127.0.0.1:9/api\"",
        &[
            ("DISCORD_WEBHOOK", WEBHOOK),
            ("DISCORD_BOT_TOKEN", "bot-token"),
        ],
    );
    let requests = d.setup();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.url.as_str()),
        ("PUT", "http://127.0.0.1:9/api/applications/555/commands")
    );
    assert!(
        r.headers
            .contains(&("authorization".into(), "Bot bot-token".into()))
    );
    let commands: Value = serde_json::from_str(&r.body).unwrap();
    let names: Vec<&str> = commands
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "status", "task", "ask", "answer", "approve", "deny", "cancel", "retry"
        ]
    );
    let deny = &commands[5];
    assert_eq!(deny["type"], 1);
    assert_eq!(
        deny["options"],
        json!([
            { "type": 3, "name": "id", "description": "The approval, e.g. AQ-0001", "required": true },
            { "type": 3, "name": "reason", "description": "Why", "required": false },
        ])
    );
    assert_eq!(commands[2]["options"][0]["name"], "instance");
    assert_eq!(commands[0]["options"], json!([]));
    for c in commands.as_array().unwrap() {
        let description = c["description"].as_str().unwrap();
        assert!((1..=100).contains(&description.len()), "{description}");
    }
}

#[test]
fn setup_without_an_application_sends_nothing() {
    assert!(plain().setup().is_empty());
}
