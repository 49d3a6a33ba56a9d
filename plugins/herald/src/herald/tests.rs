use super::*;
use crate::modlog::LOG_CAPACITY;
use hypernet_plugin_api::ErrorCode;
use hypernet_plugin_api::testing::TestHost;

fn start(test: &TestHost, config: Value) -> Herald {
    let config: Config = serde_json::from_value(config).unwrap();
    Herald::validate(&config).unwrap();
    Herald::start(config, test.host()).unwrap()
}

fn outbound(sender: &str, tags: &[&str]) -> Value {
    json!({
        "to": "ana", "channel": "discord", "body": format!("hello from {sender}"),
        "sender": sender, "tags": tags,
    })
}

fn kinds(test: &TestHost, kind: &str) -> Vec<Value> {
    test.events()
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.payload)
        .collect()
}

fn approved_ids(test: &TestHost) -> Vec<Value> {
    kinds(test, EVENT_OUTBOUND_APPROVED)
        .into_iter()
        .map(|p| p["id"].clone())
        .collect()
}

/// Submits a message and walks it to `state` through legal moves.
fn review_in(herald: &mut Herald, state: ReviewState) -> String {
    let id = herald
        .query("submit_outbound", outbound("Trace", &[]))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let steps: &[ReviewState] = match state {
        ReviewState::Pending => &[],
        ReviewState::Approved => &[ReviewState::Approved],
        ReviewState::Held => &[ReviewState::Held],
        ReviewState::Escalated => &[ReviewState::Escalated],
        ReviewState::Released => &[ReviewState::Held, ReviewState::Released],
    };
    for &step in steps {
        move_to(herald, &id, step).unwrap();
    }
    id
}

/// Asks for `to` through the query that produces it.
fn move_to(herald: &mut Herald, id: &str, to: ReviewState) -> Result<Value, PluginError> {
    match to {
        ReviewState::Approved => herald.query("approve", json!({"id": id, "reviewer": "Ana"})),
        ReviewState::Held => herald.query(
            "hold",
            json!({"id": id, "reviewer": "Ana", "reason": "tone"}),
        ),
        ReviewState::Escalated => herald.query("escalate", json!({"id": id, "reason": "legal"})),
        ReviewState::Released => herald.query("release", json!({"id": id, "reviewer": "Ana"})),
        ReviewState::Pending => unreachable!("no query moves a review back to pending"),
    }
}

#[test]
fn content_review_hashes_and_numbers() {
    let test = TestHost::new("herald");
    let mut herald = start(&test, json!({}));
    let empty = herald
        .query("review_content", json!({"content": "", "source": "T-1"}))
        .unwrap();
    assert_eq!(empty["id"], "HR-0001");
    assert_eq!(empty["kind"], "content");
    assert_eq!(empty["state"], "pending");
    assert_eq!(
        empty["sha256"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let abc = herald
        .query("review_content", json!({"content": "abc", "source": "T-2"}))
        .unwrap();
    assert_eq!(abc["id"], "HR-0002");
    assert_eq!(
        abc["sha256"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        kinds(&test, EVENT_REVIEW_CREATED)[1],
        json!({"id": "HR-0002", "kind": "content", "state": "pending",
               "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"})
    );
    // Approving content announces a state change but no outbound message.
    herald
        .query("approve", json!({"id": "HR-0002", "reviewer": "Ana"}))
        .unwrap();
    assert_eq!(kinds(&test, EVENT_STATE_CHANGED).len(), 1);
    assert!(approved_ids(&test).is_empty());
}

#[test]
fn every_transition_through_the_queries() {
    let legal = [
        (ReviewState::Pending, ReviewState::Approved),
        (ReviewState::Pending, ReviewState::Held),
        (ReviewState::Pending, ReviewState::Escalated),
        (ReviewState::Held, ReviewState::Approved),
        (ReviewState::Held, ReviewState::Released),
        (ReviewState::Held, ReviewState::Escalated),
        (ReviewState::Escalated, ReviewState::Approved),
        (ReviewState::Escalated, ReviewState::Held),
        (ReviewState::Escalated, ReviewState::Released),
    ];
    let targets = [
        ReviewState::Approved,
        ReviewState::Held,
        ReviewState::Escalated,
        ReviewState::Released,
    ];
    let test = TestHost::new("herald");
    let mut herald = start(&test, json!({}));
    for from in ReviewState::ALL {
        for to in targets {
            let id = review_in(&mut herald, from);
            let changes_before = kinds(&test, EVENT_STATE_CHANGED).len();
            let result = move_to(&mut herald, &id, to);
            let stored = herald.query("review", json!({"id": id})).unwrap();
            if legal.contains(&(from, to)) {
                let review = result.unwrap_or_else(|e| panic!("{from} -> {to}: {e}"));
                assert_eq!(review["state"], to.as_str(), "{from} -> {to}");
                assert_eq!(stored["state"], to.as_str());
                let change = kinds(&test, EVENT_STATE_CHANGED).pop().unwrap();
                assert_eq!(
                    (&change["id"], &change["from"], &change["to"]),
                    (&json!(id), &json!(from.as_str()), &json!(to.as_str()))
                );
            } else {
                let err = result.expect_err(&format!("{from} -> {to} must be refused"));
                assert_eq!(err.code(), ErrorCode::Invalid);
                assert!(
                    err.message()
                        .contains(&format!("`{id}`: cannot move from `{from}` to `{to}`")),
                    "{}",
                    err.message()
                );
                assert_eq!(stored["state"], from.as_str(), "refused move left it alone");
                assert_eq!(kinds(&test, EVENT_STATE_CHANGED).len(), changes_before);
            }
        }
    }
}

#[test]
fn escalation_and_hold_notes() {
    let test = TestHost::new("herald");
    let mut herald = start(&test, json!({}));
    herald
        .query("submit_outbound", outbound("Trace", &[]))
        .unwrap();
    let review = herald
        .query(
            "escalate",
            json!({"id": "HR-0001", "reason": "mentions a person"}),
        )
        .unwrap();
    assert_eq!(review["notes"], json!(["Escalated: mentions a person"]));
    let review = herald
        .query(
            "hold",
            json!({"id": "HR-0001", "reviewer": "Ana", "reason": "check facts"}),
        )
        .unwrap();
    assert_eq!(
        review["notes"],
        json!(["Escalated: mentions a person", "Held: check facts"])
    );
    assert_eq!(review["history"][1]["by"], "Ana");
    let log = herald.query("log", json!({})).unwrap();
    assert_eq!(log["entries"][0]["action"], "hold");
    assert_eq!(log["entries"][0]["target"], "HR-0001");
    assert_eq!(log["entries"][0]["detail"], "check facts");
}

#[test]
fn auto_approves_by_tag_and_by_sender() {
    let test = TestHost::new("herald");
    let config = json!({"auto_approve_tags": ["routine"], "auto_approve_senders": ["Herald"]});
    let mut herald = start(&test, config);

    let by_tag = herald
        .query("submit_outbound", outbound("Trace", &["news", "routine"]))
        .unwrap();
    assert_eq!(by_tag["state"], "approved");
    assert_eq!(by_tag["notes"], json!(["auto-approved: tag `routine`"]));

    let by_sender = herald
        .query("submit_outbound", outbound("Herald", &[]))
        .unwrap();
    assert_eq!(by_sender["state"], "approved");
    assert_eq!(
        by_sender["notes"],
        json!(["auto-approved: sender `Herald`"])
    );

    // Neither rule matches: held back.
    let other = herald
        .query("submit_outbound", outbound("herald", &["Routine"]))
        .unwrap();
    assert_eq!(other["state"], "pending");

    assert_eq!(
        approved_ids(&test),
        vec![json!("HR-0001"), json!("HR-0002")]
    );
    let first = &kinds(&test, EVENT_OUTBOUND_APPROVED)[0];
    assert_eq!(first["message"], outbound("Trace", &["news", "routine"]));
    assert_eq!(first["state"], "approved");
}

#[test]
fn without_rules_nothing_is_auto_approved() {
    let test = TestHost::new("herald");
    let mut herald = start(&test, json!({}));
    let review = herald
        .query("submit_outbound", outbound("Herald", &["routine"]))
        .unwrap();
    assert_eq!(review["state"], "pending");
    assert!(approved_ids(&test).is_empty());
}

#[test]
fn held_message_is_announced_only_when_released() {
    let test = TestHost::new("herald");
    let mut herald = start(&test, json!({"auto_approve_tags": ["routine"]}));
    herald
        .query("submit_outbound", outbound("Trace", &["urgent"]))
        .unwrap();
    assert!(approved_ids(&test).is_empty(), "pending is not approved");
    herald
        .query(
            "hold",
            json!({"id": "HR-0001", "reviewer": "Ana", "reason": "tone"}),
        )
        .unwrap();
    herald
        .query("escalate", json!({"id": "HR-0001", "reason": "unsure"}))
        .unwrap();
    herald
        .query(
            "hold",
            json!({"id": "HR-0001", "reviewer": "Bo", "reason": "still unsure"}),
        )
        .unwrap();
    assert!(
        approved_ids(&test).is_empty(),
        "held/escalated is not approved"
    );

    let released = herald
        .query("release", json!({"id": "HR-0001", "reviewer": "Bo"}))
        .unwrap();
    assert_eq!(released["state"], "released");
    let announced = kinds(&test, EVENT_OUTBOUND_APPROVED);
    assert_eq!(announced.len(), 1);
    assert_eq!(announced[0]["id"], "HR-0001");
    assert_eq!(announced[0]["state"], "released");
    assert_eq!(announced[0]["by"], "Bo");
    assert_eq!(announced[0]["message"], outbound("Trace", &["urgent"]));
    // The announcement follows the state change it results from.
    let last_two: Vec<_> = test.events().into_iter().rev().take(2).collect();
    assert_eq!(last_two[0].kind, EVENT_OUTBOUND_APPROVED);
    assert_eq!(last_two[1].kind, EVENT_STATE_CHANGED);
}

#[test]
fn pending_lists_reviews_awaiting_a_decision() {
    let test = TestHost::new("herald");
    let mut herald = start(&test, json!({}));
    let pending = review_in(&mut herald, ReviewState::Pending);
    review_in(&mut herald, ReviewState::Approved);
    review_in(&mut herald, ReviewState::Held);
    let escalated = review_in(&mut herald, ReviewState::Escalated);
    review_in(&mut herald, ReviewState::Released);
    let queue = herald.query("pending", json!({})).unwrap();
    assert_eq!(queue["count"], 2);
    let ids: Vec<_> = queue["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(pending), json!(escalated)]);
    assert_eq!(herald.query("pending", Value::Null).unwrap()["count"], 2);
}

#[test]
fn log_is_bounded_in_memory_and_in_storage() {
    let test = TestHost::new("herald");
    let mut herald = start(&test, json!({}));
    let actions = [
        "welcome",
        "answer",
        "flag",
        "summarize",
        "translate",
        "hold",
    ];
    for i in 0..LOG_CAPACITY + 25 {
        test.set_now_ms(i as u64);
        herald
            .query(
                "record",
                json!({"action": actions[i % actions.len()], "actor": "Herald",
                       "detail": format!("n{i}")}),
            )
            .unwrap();
    }
    let log = herald.query("log", json!({"limit": 10_000})).unwrap();
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), LOG_CAPACITY);
    assert_eq!(log["kept"], LOG_CAPACITY);
    assert_eq!(log["last_seq"], LOG_CAPACITY + 25);
    assert_eq!(entries[0]["detail"], "n25", "the 25 oldest were dropped");
    assert_eq!(
        entries[LOG_CAPACITY - 1]["detail"],
        format!("n{}", LOG_CAPACITY + 24)
    );
    let stored = test.host().kv_list("log/").unwrap();
    assert_eq!(
        stored.len(),
        LOG_CAPACITY,
        "dropped entries leave storage too"
    );

    let recent = herald.query("log", json!({"limit": 3})).unwrap();
    let seqs: Vec<_> = recent["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![523, 524, 525]);
    assert_eq!(
        herald.query("log", json!({})).unwrap()["entries"]
            .as_array()
            .unwrap()
            .len(),
        50
    );

    // A restart sees the same bounded log and keeps numbering.
    let mut again = start(&test, json!({}));
    let entry = again
        .query("record", json!({"action": "flag", "actor": "Ana"}))
        .unwrap();
    assert_eq!(entry["seq"], LOG_CAPACITY + 26);
    assert_eq!(again.query("log", json!({})).unwrap()["kept"], LOG_CAPACITY);
    assert!(
        again
            .query("record", json!({"action": "ban", "actor": "Ana"}))
            .is_err()
    );
}

#[test]
fn a_restart_loses_nothing() {
    let test = TestHost::new("herald");
    let mut first = start(&test, json!({}));
    review_in(&mut first, ReviewState::Held);
    review_in(&mut first, ReviewState::Pending);
    let approved = review_in(&mut first, ReviewState::Approved);
    let before: Vec<_> = (1..=3)
        .map(|n| {
            first
                .query("review", json!({"id": format!("HR-{n:04}")}))
                .unwrap()
        })
        .collect();
    let announced = approved_ids(&test);
    assert_eq!(announced, vec![json!(approved)]);
    drop(first);

    let mut second = start(&test, json!({}));
    for (n, review) in before.iter().enumerate() {
        let id = format!("HR-{:04}", n + 1);
        assert_eq!(&second.query("review", json!({"id": id})).unwrap(), review);
    }
    // Nothing was announced by the restart, and the approved review is still final.
    assert_eq!(approved_ids(&test), announced);
    assert!(
        second
            .query("release", json!({"id": approved, "reviewer": "Ana"}))
            .is_err()
    );
    // Numbering continues after the last id.
    let next = second
        .query("review_content", json!({"content": "x", "source": "T-9"}))
        .unwrap();
    assert_eq!(next["id"], "HR-0004");
    // Release after the restart delivers the original message.
    second
        .query("release", json!({"id": "HR-0001", "reviewer": "Ana"}))
        .unwrap();
    let last = kinds(&test, EVENT_OUTBOUND_APPROVED).pop().unwrap();
    assert_eq!(last["id"], "HR-0001");
    assert_eq!(last["message"], outbound("Trace", &[]));
}

#[test]
fn a_hundred_submissions_get_consecutive_ids() {
    let test = TestHost::new("herald");
    let mut herald = start(&test, json!({"auto_approve_senders": ["Herald"]}));
    for n in 1..=100u64 {
        let sender = if n % 2 == 0 { "Herald" } else { "Trace" };
        let review = herald
            .query("submit_outbound", outbound(sender, &[]))
            .unwrap();
        assert_eq!(review["id"], format!("HR-{n:04}"));
    }
    let created: Vec<_> = kinds(&test, EVENT_REVIEW_CREATED)
        .into_iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<_> = (1..=100).map(|n| format!("HR-{n:04}")).collect();
    assert_eq!(created, expected);
    assert_eq!(approved_ids(&test).len(), 50);
    assert_eq!(herald.query("pending", json!({})).unwrap()["count"], 50);
    assert_eq!(test.kv("last_review"), Some(json!(100)));
    assert_eq!(test.host().kv_list("review/").unwrap().len(), 100);
}

#[test]
fn bad_arguments_and_config_are_refused_by_name() {
    let test = TestHost::new("herald");
    let mut herald = start(&test, json!({}));
    let err = herald
        .query(
            "submit_outbound",
            json!({"to": "ana", "channel": "x", "body": "hi"}),
        )
        .unwrap_err();
    assert!(err.message().contains("`submit_outbound`"), "{err}");
    assert!(err.message().contains("sender"), "{err}");
    let err = herald
        .query(
            "submit_outbound",
            json!({"to": " ", "channel": "x", "body": "hi", "sender": "T"}),
        )
        .unwrap_err();
    assert_eq!(err.message(), "`submit_outbound`: `to` must not be empty");
    let err = herald
        .query("approve", json!({"id": "HR-0009", "reviewer": "Ana"}))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert_eq!(err.message(), "no review `HR-0009`");
    let err = herald.query("review", json!({"id": "R-1"})).unwrap_err();
    assert!(err.message().contains("`R-1` is not a review id"), "{err}");
    let err = herald.query("nope", Value::Null).unwrap_err();
    assert_eq!(err.to_string(), "unknown query `nope`");
    assert!(test.events().is_empty(), "refused queries publish nothing");

    let bad = Config {
        auto_approve_tags: vec![" ".into()],
        auto_approve_senders: vec![],
    };
    assert!(
        Herald::validate(&bad)
            .unwrap_err()
            .message()
            .contains("auto_approve_tags")
    );
    assert!(serde_json::from_value::<Config>(json!({"auto_aprove_tags": []})).is_err());
}

#[test]
fn ids_are_never_reused_after_a_crash() {
    let test = TestHost::new("herald");
    let mut first = start(&test, json!({}));
    review_in(&mut first, ReviewState::Pending);
    drop(first);
    // A crash after numbering HR-0002 but before storing it: the counter is ahead.
    test.host().kv_put("last_review", &2u64).unwrap();
    let mut second = start(&test, json!({}));
    let next = second
        .query("submit_outbound", outbound("Trace", &[]))
        .unwrap();
    assert_eq!(next["id"], "HR-0003");
    assert_eq!(test.kv("last_review"), Some(json!(3)));
}

#[test]
fn start_trims_log_entries_left_beyond_the_bound() {
    let test = TestHost::new("herald");
    let host = test.host();
    // As if a crash stopped the herald between writing an entry and dropping the oldest.
    for seq in 1..=LOG_CAPACITY as u64 + 1 {
        let entry = json!({"seq": seq, "action": "answer", "actor": "Herald", "at_ms": seq});
        host.kv_put(&format!("log/{seq:012}"), &entry).unwrap();
    }
    let mut herald = start(&test, json!({}));
    assert_eq!(host.kv_list("log/").unwrap().len(), LOG_CAPACITY);
    assert!(test.kv("log/000000000001").is_none());
    let log = herald.query("log", json!({"limit": 1})).unwrap();
    assert_eq!(log["kept"], LOG_CAPACITY);
    assert_eq!(log["entries"][0]["seq"], LOG_CAPACITY + 1);
}

#[test]
fn a_held_message_can_later_be_approved_and_an_escalated_one_released() {
    let test = TestHost::new("herald");
    let mut herald = start(&test, json!({}));
    let held = review_in(&mut herald, ReviewState::Held);
    let escalated = review_in(&mut herald, ReviewState::Escalated);
    let approved = herald
        .query("approve", json!({"id": held, "reviewer": "Ana"}))
        .unwrap();
    assert_eq!(approved["state"], "approved");
    let released = herald
        .query("release", json!({"id": escalated, "reviewer": "Bo"}))
        .unwrap();
    assert_eq!(released["state"], "released");
    assert_eq!(approved_ids(&test), vec![json!(held), json!(escalated)]);
    // What makes no sense stays refused: releasing what was never held, leaving a final state.
    let pending = review_in(&mut herald, ReviewState::Pending);
    let err = herald
        .query("release", json!({"id": pending, "reviewer": "Bo"}))
        .unwrap_err();
    assert!(
        err.message()
            .contains("cannot move from `pending` to `released`"),
        "{err}"
    );
    assert!(
        herald
            .query(
                "hold",
                json!({"id": held, "reviewer": "Bo", "reason": "late"})
            )
            .is_err()
    );
}
