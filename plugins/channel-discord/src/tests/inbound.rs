//! The Interactions endpoint: signatures, PING, commands, buttons.

use super::*;
use hypernet_plugin_api::channel::{Channel, Inbound};
use serde_json::{Value, json};

fn answer(i: &Inbound) -> Value {
    serde_json::from_str(&i.response.body).expect("JSON response")
}

fn command_body(data: Value, who: Value) -> String {
    let mut body = json!({
        "type": 2,
        "id": "1300000000000000001",
        "application_id": "999",
        "token": "interaction-token",
        "data": data,
    });
    body.as_object_mut()
        .unwrap()
        .extend(who.as_object().unwrap().clone());
    body.to_string()
}

fn in_guild(user: &str) -> Value {
    json!({ "guild_id": "7", "member": { "user": { "id": user }, "roles": [] } })
}

#[test]
fn a_ping_is_answered_pong() {
    let i = with_interactions().inbound(&signed(
        r#"{"type":1,"id":"1","application_id":"999","token":"t"}"#,
        None,
    ));
    assert_eq!(i.response.status, 200);
    assert_eq!(answer(&i), json!({ "type": 1 }));
    assert!(i.commands.is_empty());
}

#[test]
fn a_bad_or_missing_signature_is_401() {
    let body = r#"{"type":1}"#;
    let mut d = with_interactions();
    let wrong = hex::encode([1u8; 64]);
    assert_eq!(d.inbound(&signed(body, Some(&wrong))).response.status, 401);
    assert_eq!(
        d.inbound(&signed(body, Some("not hex"))).response.status,
        401
    );

    // A body changed after signing.
    let mut tampered = signed(body, None);
    tampered.body = r#"{"type":2}"#.into();
    assert_eq!(d.inbound(&tampered).response.status, 401);

    // Another timestamp than the one signed.
    let mut replayed = signed(body, None);
    replayed.headers[1].1 = "1700000001".into();
    assert_eq!(d.inbound(&replayed).response.status, 401);

    let mut bare = signed(body, None);
    bare.headers.retain(|(n, _)| n != "x-signature-ed25519");
    let i = d.inbound(&bare);
    assert_eq!(i.response.status, 401);
    assert!(
        i.response.body.contains("X-Signature-Ed25519"),
        "{}",
        i.response.body
    );
    assert!(i.commands.is_empty());

    // Signed by another key.
    let other = SigningKey::from_bytes(&[9u8; 32]);
    let forged = hex::encode(
        other
            .sign(format!("1700000000{body}").as_bytes())
            .to_bytes(),
    );
    assert_eq!(d.inbound(&signed(body, Some(&forged))).response.status, 401);
}

#[test]
fn a_slash_command_is_deferred_and_carried_as_a_command_line() {
    let body = command_body(
        json!({ "id": "5", "name": "task", "type": 1,
                "options": [{ "name": "description", "type": 3, "value": "Summarise the logs" }] }),
        in_guild("42"),
    );
    let i = with_interactions().inbound(&signed(&body, None));
    assert_eq!(i.response.status, 200);
    assert_eq!(answer(&i), json!({ "type": 5 }));
    assert_eq!(i.commands.len(), 1);
    let c = &i.commands[0];
    assert_eq!(c.id, "1300000000000000001");
    assert_eq!(c.from, "42");
    assert_eq!(c.text, "task Summarise the logs");
    assert_eq!(
        c.reply,
        Some(json!({ "application_id": "999", "token": "interaction-token" }))
    );
}

#[test]
fn options_join_in_the_defined_order_and_dms_name_the_user() {
    let body = command_body(
        json!({ "name": "deny", "options": [
            { "name": "reason", "type": 3, "value": "too costly" },
            { "name": "id", "type": 3, "value": "AQ-0001" },
        ] }),
        json!({ "user": { "id": "77" } }),
    );
    let i = with_interactions().inbound(&signed(&body, None));
    assert_eq!(i.commands[0].text, "deny AQ-0001 too costly");
    assert_eq!(i.commands[0].from, "77");

    let body = command_body(json!({ "name": "status" }), in_guild("42"));
    assert_eq!(
        with_interactions().inbound(&signed(&body, None)).commands[0].text,
        "status"
    );

    let body = command_body(
        json!({ "name": "ask", "options": [
            { "name": "question", "type": 3, "value": "how far along?" },
            { "name": "instance", "type": 3, "value": "scout" },
        ] }),
        in_guild("42"),
    );
    assert_eq!(
        with_interactions().inbound(&signed(&body, None)).commands[0].text,
        "ask scout how far along?"
    );
}

#[test]
fn a_button_press_sends_its_custom_id() {
    let body = json!({
        "type": 3,
        "id": "1300000000000000002",
        "application_id": "999",
        "token": "button-token",
        "data": { "custom_id": "approve AQ-0001", "component_type": 2 },
        "member": { "user": { "id": "42" } },
        "message": { "id": "8" },
    })
    .to_string();
    let i = with_interactions().inbound(&signed(&body, None));
    assert_eq!(i.response.status, 200);
    assert_eq!(answer(&i), json!({ "type": 5 }));
    let c = &i.commands[0];
    assert_eq!(
        (c.id.as_str(), c.from.as_str(), c.text.as_str()),
        ("1300000000000000002", "42", "approve AQ-0001")
    );
    assert_eq!(
        c.reply,
        Some(json!({ "application_id": "999", "token": "button-token" }))
    );
}

#[test]
fn malformed_interactions_are_400_and_carry_nothing() {
    let mut d = with_interactions();
    for body in [
        "not json".to_owned(),
        command_body(json!({ "name": "status" }), json!({})),
        json!({ "type": 3, "id": "1", "application_id": "9", "token": "t", "data": {}, "user": { "id": "4" } }).to_string(),
        json!({ "type": 4, "id": "1", "application_id": "9", "token": "t" }).to_string(),
    ] {
        let i = d.inbound(&signed(&body, None));
        assert_eq!(i.response.status, 400, "{body}: {}", i.response.body);
        assert!(i.commands.is_empty());
    }
}

#[test]
fn other_paths_and_an_unconfigured_key_are_refused() {
    let mut other = signed(r#"{"type":1}"#, None);
    other.path = "webhook".into();
    assert_eq!(with_interactions().inbound(&other).response.status, 404);

    let mut get = signed(r#"{"type":1}"#, None);
    get.method = "GET".into();
    assert_eq!(with_interactions().inbound(&get).response.status, 405);

    let i = plain().inbound(&signed(r#"{"type":1}"#, None));
    assert_eq!(i.response.status, 404);
    assert!(
        i.response.body.contains("public_key"),
        "{}",
        i.response.body
    );
}
