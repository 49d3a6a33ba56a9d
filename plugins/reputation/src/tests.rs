//! Tests of the subsystem through its queries and events, on an in-memory host. Expected
//! numbers are worked out by hand in the comments.

use super::*;
use hypernet_plugin_api::ErrorCode;
use hypernet_plugin_api::testing::TestHost;

fn start(test: &TestHost) -> Reputation {
    Reputation::start(serde_json::from_value(json!({})).unwrap(), test.host()).unwrap()
}

fn record(rep: &mut Reputation, entity: &str, domain: &str, score: Value, source: &str) -> Value {
    let reviewer = (source == "peer").then_some("Reviewer");
    rep.query(
        "record",
        json!({"entity": entity, "domain": domain, "score": score, "source": source,
               "reviewer": reviewer, "evidence": format!("{source} {score}")}),
    )
    .unwrap()
}

fn scores(rep: &mut Reputation, entity: &str) -> Value {
    rep.query("scores", json!({ "entity": entity })).unwrap()
}

fn task_event(kind: &str, id: &str, title: &str, tags: Value, worker: Value) -> Event {
    Event::new(
        kind,
        "host",
        json!({"id": id, "from": "running", "status": kind, "title": title, "tags": tags,
               "worker": worker, "model": "sim/fast"}),
    )
}

fn entry_keys(test: &TestHost) -> Vec<String> {
    test.host().kv_list("entry/").unwrap()
}

#[test]
fn weighted_domain_scores_and_overall_by_hand() {
    let test = TestHost::new("reputation");
    let mut rep = start(&test);
    let out = record(&mut rep, "Trace", "code", json!(80), "peer");
    assert_eq!(out["domain_score"], json!(80.0));
    // (80·1.0 + 60·0.3) / 1.3 = 98 / 1.3 = 75.3846… → 75.4
    let out = record(&mut rep, "Trace", "code", json!(60), "self");
    assert_eq!(out["domain_score"], json!(75.4));
    assert_eq!(out["entry"]["id"], "REP-000002");
    // review: (50·0.8 + 65.5·0.7) / 1.5 = (40 + 45.85) / 1.5 = 57.2333… → 57.2
    record(&mut rep, "Trace", "review", json!(50), "system");
    record(&mut rep, "Trace", "review", json!(65.5), "retroactive");
    // research: 33 other → 33.0
    record(&mut rep, "Trace", "research", json!(33), "other");
    // overall: (75.4 + 57.2 + 33.0) / 3 = 165.6 / 3 = 55.2
    let s = scores(&mut rep, "Trace");
    assert_eq!(
        s,
        json!({"domains": {"code": 75.4, "review": 57.2, "research": 33.0}, "overall": 55.2})
    );
    // Numbers leave with one decimal.
    assert_eq!(
        s.to_string(),
        r#"{"domains":{"code":75.4,"research":33.0,"review":57.2},"overall":55.2}"#
    );
    let e = rep.query("entity", json!({"entity": "Trace"})).unwrap();
    assert_eq!(
        e,
        json!({"entity": "Trace",
               "domains": {"code": 75.4, "review": 57.2, "research": 33.0},
               "overall": 55.2, "entries": 5})
    );
}

#[test]
fn overall_is_the_mean_of_rounded_domain_scores() {
    let test = TestHost::new("reputation");
    let mut rep = start(&test);
    // code: 72.5 peer, 72.6 peer → 72.55 → 72.6 (half away from zero)
    record(&mut rep, "Loom", "code", json!(72.5), "peer");
    record(&mut rep, "Loom", "code", json!(72.6), "peer");
    // review: 72.4 → 72.4
    record(&mut rep, "Loom", "review", json!(72.4), "peer");
    // Mean of the domain scores as reported: (72.6 + 72.4) / 2 = 72.5.
    assert_eq!(
        scores(&mut rep, "Loom"),
        json!({"domains": {"code": 72.6, "review": 72.4}, "overall": 72.5})
    );

    // Here rounding first matters. code: (80·1.0 + 60·0.3) / 1.3 = 75.3846… → 75.4;
    // review: 50.1. Overall (75.4 + 50.1) / 2 = 62.75 → 62.8, where the unrounded mean
    // (75.3846… + 50.1) / 2 = 62.74… would give 62.7.
    record(&mut rep, "Pike", "code", json!(80), "peer");
    record(&mut rep, "Pike", "code", json!(60), "self");
    record(&mut rep, "Pike", "review", json!(50.1), "peer");
    assert_eq!(
        scores(&mut rep, "Pike"),
        json!({"domains": {"code": 75.4, "review": 50.1}, "overall": 62.8})
    );
}

#[test]
fn unknown_entity_has_no_scores() {
    let test = TestHost::new("reputation");
    let mut rep = start(&test);
    assert_eq!(
        scores(&mut rep, "Nobody"),
        json!({"domains": {}, "overall": null})
    );
    assert_eq!(
        rep.query("entity", json!({"entity": "Nobody"})).unwrap(),
        json!({"entity": "Nobody", "domains": {}, "overall": null, "entries": 0})
    );
}

#[test]
fn out_of_range_scores_are_refused_and_nothing_is_stored() {
    let test = TestHost::new("reputation");
    let mut rep = start(&test);
    for (score, shown) in [
        (json!(120), "120"),
        (json!(-5), "-5"),
        (json!(100.5), "100.5"),
    ] {
        let err = rep
            .query(
                "record",
                json!({"entity": "Trace", "domain": "code", "score": score, "source": "self"}),
            )
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Invalid);
        assert!(
            err.message()
                .contains(&format!("score {shown} is outside 0–100")),
            "{err}"
        );
    }
    let err = rep
        .query(
            "review",
            json!({"reviewer": "Loom", "entity": "Trace", "task": "T-1", "score": 101}),
        )
        .unwrap_err();
    assert!(err.message().contains("score 101"), "{err}");
    assert!(entry_keys(&test).is_empty());
    assert!(test.events().is_empty());
    assert_eq!(scores(&mut rep, "Trace")["overall"], Value::Null);
    // The boundaries themselves are accepted.
    record(&mut rep, "Trace", "code", json!(0), "self");
    record(&mut rep, "Trace", "code", json!(100), "self");
    assert_eq!(scores(&mut rep, "Trace")["domains"]["code"], json!(50.0));
}

#[test]
fn self_review_as_peer_is_refused() {
    let test = TestHost::new("reputation");
    let mut rep = start(&test);
    let err = rep
        .query(
            "review",
            json!({"reviewer": "Trace", "entity": "Trace", "task": "T-1", "score": 95,
                   "comment": "great work"}),
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Invalid);
    assert!(err.message().contains("cannot review itself"), "{err}");
    let err = rep
        .query(
            "record",
            json!({"entity": "Trace", "domain": "code", "score": 95, "source": "peer",
                   "reviewer": "Trace"}),
        )
        .unwrap_err();
    assert!(err.message().contains("cannot review itself"), "{err}");
    assert!(entry_keys(&test).is_empty());
    // Self-assessment goes in as `self`, at weight 0.3.
    let out = rep
        .query(
            "record",
            json!({"entity": "Trace", "domain": "code", "score": 95, "source": "self",
                   "reviewer": "Trace"}),
        )
        .unwrap();
    assert_eq!(out["entry"]["source"], "self");
}

#[test]
fn reviews_are_peer_entries_in_the_task_domain() {
    let test = TestHost::new("reputation");
    let mut rep = start(&test);
    rep.on_event(&task_event(
        "task.completed",
        "T-5",
        "Survey",
        json!(["research"]),
        json!("Trace"),
    ))
    .unwrap();
    let out = rep
        .query(
            "review",
            json!({"reviewer": "Loom", "entity": "Trace", "task": "T-5", "score": 90,
                   "comment": "thorough"}),
        )
        .unwrap();
    let entry = &out["entry"];
    assert_eq!(entry["source"], "peer");
    assert_eq!(entry["reviewer"], "Loom");
    assert_eq!(entry["domain"], "research");
    assert_eq!(entry["task"], "T-5");
    assert_eq!(entry["evidence"], "review of task T-5: thorough");
    // research: (70·0.8 + 90·1.0) / 1.8 = 146 / 1.8 = 81.111… → 81.1
    assert_eq!(out["domain_score"], json!(81.1));
    // A task never scored for the entity counts in `code`; an explicit domain wins.
    let out = rep
        .query(
            "review",
            json!({"reviewer": "Loom", "entity": "Trace", "task": "T-6", "score": 40}),
        )
        .unwrap();
    assert_eq!(out["entry"]["domain"], "code");
    assert_eq!(out["entry"]["evidence"], "review of task T-6");
    let out = rep
        .query(
            "review",
            json!({"reviewer": "Loom", "entity": "Trace", "task": "T-6", "score": 40,
                   "domain": "outreach"}),
        )
        .unwrap();
    assert_eq!(out["entry"]["domain"], "outreach");
}

#[test]
fn task_outcomes_record_system_entries_in_the_task_domain() {
    let test = TestHost::new("reputation");
    test.set_now_ms(1_700_000_000_000);
    let mut rep = start(&test);
    rep.on_event(&task_event(
        "task.completed",
        "T-1",
        "Fix parser",
        json!(["rust", "review", "governance"]),
        json!("Trace"),
    ))
    .unwrap();
    rep.on_event(&task_event(
        "task.failed",
        "T-2",
        "Port tests",
        json!(["rust"]),
        json!("Trace"),
    ))
    .unwrap();
    rep.on_event(&task_event(
        "task.failed",
        "T-3",
        "Ask around",
        json!(["outreach"]),
        json!("Loom"),
    ))
    .unwrap();
    // No worker, another kind, or a plugin posing as the host: nothing.
    rep.on_event(&task_event(
        "task.completed",
        "T-4",
        "Orphan",
        json!(["review"]),
        Value::Null,
    ))
    .unwrap();
    rep.on_event(&task_event(
        "task.running",
        "T-5",
        "Busy",
        json!([]),
        json!("Trace"),
    ))
    .unwrap();
    let mut forged = task_event("task.completed", "T-6", "x", json!([]), json!("Trace"));
    forged.source = "mallory".into();
    rep.on_event(&forged).unwrap();

    assert_eq!(
        scores(&mut rep, "Trace"),
        // first matching tag is `review`; untagged work is `code`; (70 + 20) / 2 = 45.0
        json!({"domains": {"review": 70.0, "code": 20.0}, "overall": 45.0})
    );
    assert_eq!(
        scores(&mut rep, "Loom"),
        json!({"domains": {"outreach": 20.0}, "overall": 20.0})
    );
    let trail = rep.query("entries", json!({"entity": "Trace"})).unwrap();
    assert_eq!(
        trail["entries"],
        json!([
            {"id": "REP-000002", "entity": "Trace", "domain": "code", "score": 20.0,
             "source": "system", "evidence": "task T-2: Port tests", "reviewer": null,
             "task": "T-2", "at_ms": 1_700_000_000_000u64},
            {"id": "REP-000001", "entity": "Trace", "domain": "review", "score": 70.0,
             "source": "system", "evidence": "task T-1: Fix parser", "reviewer": null,
             "task": "T-1", "at_ms": 1_700_000_000_000u64},
        ])
    );
    assert_eq!(entry_keys(&test).len(), 3);
    let published: Vec<Value> = test.events().into_iter().map(|e| e.payload).collect();
    assert_eq!(
        published,
        vec![
            json!({"id": "REP-000001", "entity": "Trace", "domain": "review", "score": 70.0,
                   "source": "system"}),
            json!({"id": "REP-000002", "entity": "Trace", "domain": "code", "score": 20.0,
                   "source": "system"}),
            json!({"id": "REP-000003", "entity": "Loom", "domain": "outreach", "score": 20.0,
                   "source": "system"}),
        ]
    );
    assert!(
        test.events()
            .iter()
            .all(|e| e.kind == "reputation.recorded")
    );
}

#[test]
fn leaders_by_domain_score_then_name() {
    let test = TestHost::new("reputation");
    let mut rep = start(&test);
    record(&mut rep, "Wren", "code", json!(60), "peer");
    record(&mut rep, "Alder", "code", json!(60), "system");
    record(&mut rep, "Moss", "code", json!(90), "other");
    // Birch: (90·0.3 + 10·1.0) / 1.3 = 37 / 1.3 = 28.46… → 28.5, below its self-score
    record(&mut rep, "Birch", "code", json!(90), "self");
    record(&mut rep, "Birch", "code", json!(10), "peer");
    record(&mut rep, "Cedar", "review", json!(99), "peer");
    let out = rep.query("leaders", json!({"domain": "code"})).unwrap();
    assert_eq!(
        out,
        json!({"domain": "code", "leaders": [
            {"entity": "Moss", "score": 90.0, "entries": 1},
            {"entity": "Alder", "score": 60.0, "entries": 1},
            {"entity": "Wren", "score": 60.0, "entries": 1},
            {"entity": "Birch", "score": 28.5, "entries": 2},
        ]})
    );
    let out = rep
        .query("leaders", json!({"domain": "code", "limit": 2}))
        .unwrap();
    let names: Vec<_> = out["leaders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["entity"].clone())
        .collect();
    assert_eq!(names, vec![json!("Moss"), json!("Alder")]);
    assert_eq!(
        rep.query("leaders", json!({"domain": "outreach"})).unwrap(),
        json!({"domain": "outreach", "leaders": []})
    );
}

#[test]
fn leaders_default_limit_comes_from_config() {
    let test = TestHost::new("reputation");
    let config: Config = serde_json::from_value(json!({"leaders_limit": 2})).unwrap();
    let mut rep = Reputation::start(config, test.host()).unwrap();
    for name in ["A", "B", "C"] {
        record(&mut rep, name, "code", json!(50), "peer");
    }
    let out = rep.query("leaders", json!({"domain": "code"})).unwrap();
    assert_eq!(out["leaders"].as_array().unwrap().len(), 2);
    let out = rep
        .query("leaders", json!({"domain": "code", "limit": 3}))
        .unwrap();
    assert_eq!(out["leaders"].as_array().unwrap().len(), 3);
}

#[test]
fn evidence_trail_is_newest_first_with_domain_filter() {
    let test = TestHost::new("reputation");
    let mut rep = start(&test);
    test.set_now_ms(1000);
    record(&mut rep, "Trace", "code", json!(80), "peer");
    record(&mut rep, "Loom", "code", json!(10), "peer");
    test.set_now_ms(2000);
    record(&mut rep, "Trace", "review", json!(70), "system");
    test.set_now_ms(3000);
    record(&mut rep, "Trace", "code", json!(60.5), "self");
    let trail = rep.query("entries", json!({"entity": "Trace"})).unwrap();
    let rows: Vec<_> = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_owned(),
                e["evidence"].as_str().unwrap().to_owned(),
                e["at_ms"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("REP-000004".to_owned(), "self 60.5".to_owned(), 3000),
            ("REP-000003".to_owned(), "system 70".to_owned(), 2000),
            ("REP-000001".to_owned(), "peer 80".to_owned(), 1000),
        ]
    );
    assert_eq!(trail["entries"][2]["reviewer"], "Reviewer");
    let code = rep
        .query("entries", json!({"entity": "Trace", "domain": "code"}))
        .unwrap();
    let ids: Vec<_> = code["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("REP-000004"), json!("REP-000001")]);
    assert_eq!(
        rep.query("entries", json!({"entity": "Nobody"})).unwrap(),
        json!({"entity": "Nobody", "entries": []})
    );
}

#[test]
fn a_restart_loses_nothing() {
    let test = TestHost::new("reputation");
    let mut first = start(&test);
    record(&mut first, "Trace", "code", json!(80), "peer");
    record(&mut first, "Trace", "code", json!(60), "self");
    first
        .on_event(&task_event(
            "task.completed",
            "T-1",
            "Plan",
            json!(["architecture"]),
            json!("Loom"),
        ))
        .unwrap();
    let before: Vec<Value> = ["Trace", "Loom"]
        .iter()
        .map(|e| first.query("entity", json!({ "entity": e })).unwrap())
        .collect();
    let trail_before = first.query("entries", json!({"entity": "Trace"})).unwrap();
    assert_eq!(test.kv("counter"), Some(json!(3)));
    assert_eq!(
        entry_keys(&test),
        vec!["entry/REP-000001", "entry/REP-000002", "entry/REP-000003"]
    );
    drop(first);

    let mut second = start(&test);
    let after: Vec<Value> = ["Trace", "Loom"]
        .iter()
        .map(|e| second.query("entity", json!({ "entity": e })).unwrap())
        .collect();
    assert_eq!(after, before);
    assert_eq!(after[0]["domains"]["code"], json!(75.4));
    assert_eq!(
        second.query("entries", json!({"entity": "Trace"})).unwrap(),
        trail_before
    );
    // Numbering carries on after the stored entries.
    let out = record(&mut second, "Trace", "code", json!(50), "other");
    assert_eq!(out["entry"]["id"], "REP-000004");

    // Even with the counter lost, ids are not reused.
    test.host().kv_delete("counter").unwrap();
    let mut third = start(&test);
    let out = record(&mut third, "Loom", "code", json!(50), "other");
    assert_eq!(out["entry"]["id"], "REP-000005");
    assert_eq!(entry_keys(&test).len(), 5);
}

#[test]
fn a_hundred_entries_back_to_back_are_exact() {
    let test = TestHost::new("reputation");
    let mut rep = start(&test);
    for i in 0..100 {
        // Alternating: 50 × 90 peer and 50 × 40 self in `code`.
        let (score, source) = if i % 2 == 0 {
            (90, "peer")
        } else {
            (40, "self")
        };
        record(&mut rep, "Trace", "code", json!(score), source);
    }
    for _ in 0..100 {
        record(&mut rep, "Trace", "review", json!(33.3), "other");
    }
    // code: (50·90·1.0 + 50·40·0.3) / (50·1.0 + 50·0.3) = 5100 / 65 = 78.4615… → 78.5
    // review: 33.3 exactly; overall (78.5 + 33.3) / 2 = 55.9
    assert_eq!(
        rep.query("entity", json!({"entity": "Trace"})).unwrap(),
        json!({"entity": "Trace", "domains": {"code": 78.5, "review": 33.3},
               "overall": 55.9, "entries": 200})
    );
    let keys = entry_keys(&test);
    assert_eq!(keys.len(), 200);
    assert_eq!(keys.first().unwrap(), "entry/REP-000001");
    assert_eq!(keys.last().unwrap(), "entry/REP-000200");
    assert_eq!(test.kv("counter"), Some(json!(200)));
    assert_eq!(test.events().len(), 200);
    // And the same after a restart.
    let mut again = start(&test);
    assert_eq!(
        scores(&mut again, "Trace"),
        json!({"domains": {"code": 78.5, "review": 33.3}, "overall": 55.9})
    );
}

#[test]
fn bad_arguments_and_unknown_queries_are_named() {
    let test = TestHost::new("reputation");
    let mut rep = start(&test);
    let err = rep
        .query(
            "record",
            json!({"entity": "Trace", "domain": "code", "score": 50, "source": " "}),
        )
        .unwrap_err();
    assert!(
        err.message()
            .starts_with("`record`: `source` must not be empty"),
        "{err}"
    );
    let err = rep
        .query("scores", json!({"entity": "Trace", "domian": "code"}))
        .unwrap_err();
    assert!(err.message().contains("domian"), "{err}");
    let err = rep
        .query(
            "record",
            json!({"entity": " ", "domain": "code", "score": 50, "source": "self"}),
        )
        .unwrap_err();
    assert_eq!(err.message(), "`entity` must not be empty");
    let err = rep.query("nope", Value::Null).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert_eq!(err.message(), "unknown query `nope`");
}

#[test]
fn config_is_checked() {
    assert!(serde_json::from_value::<Config>(json!({"leaders_limt": 3})).is_err());
    let zero: Config = serde_json::from_value(json!({"leaders_limit": 0})).unwrap();
    assert!(Reputation::validate(&zero).is_err());
    let default: Config = serde_json::from_value(json!({})).unwrap();
    assert_eq!(default.leaders_limit, 10);
}

#[test]
fn a_task_outcome_delivered_again_after_a_restart_is_recorded_once() {
    let test = TestHost::new("reputation");
    let mut completed = task_event("task.completed", "T-1", "Fix", json!([]), json!("Trace"));
    completed.id = 41;
    start(&test).on_event(&completed).unwrap();
    // The host delivers again what it had not recorded as handled before a crash.
    let mut rep = start(&test);
    rep.on_event(&completed).unwrap();
    let mut next = task_event("task.failed", "T-2", "Port", json!([]), json!("Trace"));
    next.id = 42;
    rep.on_event(&next).unwrap();
    assert_eq!(entry_keys(&test).len(), 2, "one entry per event");
}

#[test]
fn any_other_source_type_is_kept_and_weighs_half() {
    let test = TestHost::new("reputation");
    let mut rep = start(&test);
    let out = record(&mut rep, "Trace", "code", json!(90), "boss");
    assert_eq!(out["entry"]["source"], "boss");
    // 80 peer + 90 boss: (80·1.0 + 90·0.5) / 1.5 = 125 / 1.5 = 83.3
    record(&mut rep, "Trace", "code", json!(80), "peer");
    assert_eq!(
        scores(&mut rep, "Trace"),
        json!({"domains": {"code": 83.3}, "overall": 83.3})
    );
    // The spelling survives a restart.
    let mut again = start(&test);
    let entries = again.query("entries", json!({"entity": "Trace"})).unwrap();
    assert_eq!(entries["entries"][1]["source"], "boss");
}
