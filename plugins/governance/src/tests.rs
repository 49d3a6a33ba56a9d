//! Plugin-level tests against the in-memory test host.

use super::*;
use hypernet_plugin_api::ErrorCode;
use hypernet_plugin_api::protocol::{BudgetSet, HostCommand, PermissionsSet};
use hypernet_plugin_api::testing::TestHost;

const HOUR: u64 = 3_600_000;

fn start(test: &TestHost, config: Value) -> Governance {
    Governance::start(serde_json::from_value(config).unwrap(), test.host()).unwrap()
}

/// A test host whose reputation plugin knows `scores` (entity → answer).
fn with_reputation(scores: Vec<(&str, Value)>) -> TestHost {
    let test = TestHost::new("governance");
    let scores: BTreeMap<String, Value> =
        scores.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    test.answer_queries("reputation", move |query, args| {
        assert_eq!(query, "scores");
        let entity = args["entity"].as_str().unwrap();
        Ok(scores
            .get(entity)
            .cloned()
            .unwrap_or(json!({"domains": {}, "overall": null})))
    });
    test
}

fn q(g: &mut Governance, name: &str, args: Value) -> Value {
    g.query(name, args)
        .unwrap_or_else(|e| panic!("{name} failed: {e}"))
}

fn err(g: &mut Governance, name: &str, args: Value) -> String {
    g.query(name, args)
        .expect_err(&format!("{name} should be refused"))
        .to_string()
}

fn submit(g: &mut Governance, ty: &str) -> String {
    q(
        g,
        "submit",
        json!({"type": ty, "title": "t", "body": "b", "author": "ada"}),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Submits and force-opens a proposal.
fn open(g: &mut Governance, ty: &str) -> String {
    let id = submit(g, ty);
    q(g, "open_voting", json!({"id": id, "force": true}));
    id
}

fn vote(g: &mut Governance, id: &str, voter: &str, choice: &str) -> Value {
    q(
        g,
        "vote",
        json!({"id": id, "voter": voter, "choice": choice}),
    )
}

fn event_kinds(test: &TestHost) -> Vec<String> {
    test.events().into_iter().map(|e| e.kind).collect()
}

#[test]
fn ids_and_full_lifecycle_with_events() {
    let test = TestHost::new("governance");
    let mut g = start(&test, json!({}));
    test.set_now_ms(1_000);
    assert_eq!(submit(&mut g, "code_change"), "GOV-0001");
    let id = submit(&mut g, "code_change");
    assert_eq!(id, "GOV-0002");
    let p = q(&mut g, "proposal", json!({"id": id}));
    assert_eq!(p["status"], "deliberation");
    assert_eq!(p["deliberation_ends_at_ms"], 1_000 + 24 * HOUR);
    test.set_now_ms(1_000 + 24 * HOUR);
    let p = q(&mut g, "open_voting", json!({"id": id}));
    assert_eq!(p["status"], "voting");
    assert_eq!(p["voting_ends_at_ms"], 1_000 + 72 * HOUR);
    for v in ["a", "b", "c"] {
        vote(&mut g, &id, v, "approve");
    }
    test.set_now_ms(1_000 + 72 * HOUR);
    let d = q(&mut g, "decide", json!({"id": id}));
    assert_eq!(d["status"], "passed");
    assert_eq!(d["tally"]["reason"], "passed (100.0% ≥ 60%, quorum 3/3)");
    let e = q(&mut g, "enact", json!({"id": id}));
    assert_eq!(e["status"], "enacted");
    assert_eq!(
        event_kinds(&test),
        vec![
            "governance.submitted",
            "governance.submitted",
            "governance.voting_opened",
            "governance.voted",
            "governance.voted",
            "governance.voted",
            "governance.decided",
            "governance.enacted",
        ]
    );
    let decided = &test.events()[6].payload;
    assert_eq!(decided["passed"], true);
    assert_eq!(decided["reason"], "passed (100.0% ≥ 60%, quorum 3/3)");
    let voted = &test.events()[3].payload;
    assert_eq!(voted["weight_source"], "equal");
    assert_eq!(voted["voter"], "a");
}

#[test]
fn submit_refusals() {
    let test = TestHost::new("governance");
    let mut g = start(&test, json!({}));
    let e = err(
        &mut g,
        "submit",
        json!({"type": "coup", "title": "t", "author": "a"}),
    );
    assert!(e.starts_with("unknown proposal type `coup`"), "{e}");
    let e = err(
        &mut g,
        "submit",
        json!({"type": "membership", "author": "a"}),
    );
    assert_eq!(e, "`submit` needs a non-empty string `title`");
    let e = err(
        &mut g,
        "submit",
        json!({"type": "membership", "title": "t"}),
    );
    assert_eq!(e, "`submit` needs a non-empty string `author`");
    let e = err(
        &mut g,
        "submit",
        json!({"type": "code_change", "title": "t", "author": "a", "budget": {"daily_limit_usd": 1.0}}),
    );
    assert_eq!(
        e,
        "a budget change needs a resource_allocation proposal, not code_change"
    );
    let e = err(
        &mut g,
        "submit",
        json!({"type": "membership", "title": "t", "author": "a", "limits": {"x": {"soft": 1, "hard": 2}}}),
    );
    assert_eq!(
        e,
        "limit changes need a policy_change proposal, not membership"
    );
    let e = err(
        &mut g,
        "submit",
        json!({"type": "policy_change", "title": "t", "author": "a", "limits": {"x": {"soft": 3, "hard": 2}}}),
    );
    assert_eq!(e, "limit `x`: soft 3 is above hard 2");
    let e = err(
        &mut g,
        "submit",
        json!({"type": "resource_allocation", "title": "t", "author": "a", "budget": {"daily_limit_usd": -1.0}}),
    );
    assert_eq!(e, "`budget.daily_limit_usd` must be a non-negative number");
    // Nothing was stored by the refusals; the next id is still the first.
    assert_eq!(submit(&mut g, "membership"), "GOV-0001");
    assert_eq!(
        err(&mut g, "proposal", json!({"id": "GOV-0404"})),
        "no proposal `GOV-0404`"
    );
    assert_eq!(err(&mut g, "nope", json!({})), "unknown query `nope`");
}

#[test]
fn voting_opens_only_after_deliberation_unless_forced() {
    let test = TestHost::new("governance");
    let mut g = start(&test, json!({}));
    let id = submit(&mut g, "policy_change");
    test.set_now_ms(48 * HOUR - 1);
    let e = err(&mut g, "open_voting", json!({"id": id}));
    assert_eq!(
        e,
        format!(
            "GOV-0001 is still in deliberation until {} (now {}); pass force to open early",
            48 * HOUR,
            48 * HOUR - 1
        )
    );
    // Votes are refused during deliberation.
    let e = err(
        &mut g,
        "vote",
        json!({"id": id, "voter": "v", "choice": "approve"}),
    );
    assert_eq!(
        e,
        "GOV-0001 is deliberation, votes are taken only while voting is open"
    );
    let p = q(&mut g, "open_voting", json!({"id": id, "force": true}));
    assert_eq!(p["voting_ends_at_ms"], 48 * HOUR - 1 + 72 * HOUR);
    let e = err(&mut g, "open_voting", json!({"id": id, "force": true}));
    assert_eq!(e, "GOV-0001 is voting, voting opens only from deliberation");
}

#[test]
fn vote_refusals() {
    let test = TestHost::new("governance");
    let mut g = start(&test, json!({}));
    let id = open(&mut g, "code_change");
    vote(&mut g, &id, "v1", "approve");
    let e = err(
        &mut g,
        "vote",
        json!({"id": id, "voter": "v1", "choice": "reject"}),
    );
    assert_eq!(e, "v1 has already voted on GOV-0001");
    let e = err(
        &mut g,
        "vote",
        json!({"id": id, "voter": "v2", "choice": "maybe"}),
    );
    assert_eq!(
        e,
        "unknown choice `maybe` (known: approve, reject, abstain)"
    );
    let e = err(&mut g, "vote", json!({"id": id, "choice": "approve"}));
    assert_eq!(e, "`vote` needs a non-empty string `voter`");
    // At the end of the voting period the vote is closed.
    test.set_now_ms(48 * HOUR);
    let e = err(
        &mut g,
        "vote",
        json!({"id": id, "voter": "v2", "choice": "approve"}),
    );
    assert_eq!(
        e,
        format!(
            "voting on GOV-0001 ended at {} (now {})",
            48 * HOUR,
            48 * HOUR
        )
    );
    // The refused votes left only the first.
    let p = q(&mut g, "proposal", json!({"id": id}));
    assert_eq!(p["votes"].as_array().unwrap().len(), 1);
    assert_eq!(p["votes"][0]["choice"], "approve");
}

#[test]
fn decide_enact_and_withdraw_refusals() {
    let test = TestHost::new("governance");
    let mut g = start(&test, json!({}));
    let id = submit(&mut g, "code_change");
    let e = err(&mut g, "decide", json!({"id": id, "force": true}));
    assert_eq!(
        e,
        "GOV-0001 is deliberation, only a proposal in voting can be decided"
    );
    let e = err(&mut g, "enact", json!({"id": id}));
    assert_eq!(
        e,
        "GOV-0001 is deliberation, only a passed proposal can be enacted"
    );
    q(&mut g, "open_voting", json!({"id": id, "force": true}));
    let e = err(&mut g, "withdraw", json!({"id": id, "author": "ada"}));
    assert_eq!(
        e,
        "GOV-0001 is voting, it can be withdrawn only before voting opens"
    );
    let e = err(&mut g, "decide", json!({"id": id}));
    assert_eq!(
        e,
        format!(
            "voting on GOV-0001 is open until {} (now 0); pass force to decide early",
            48 * HOUR
        )
    );
    // Forced decision with no votes: rejected for lack of quorum; cannot be enacted.
    let d = q(&mut g, "decide", json!({"id": id, "force": true}));
    assert_eq!(d["status"], "rejected");
    assert_eq!(d["tally"]["reason"], "quorum not met (0 < 3)");
    let e = err(&mut g, "enact", json!({"id": id}));
    assert_eq!(
        e,
        "GOV-0001 is rejected, only a passed proposal can be enacted"
    );
    let e = err(&mut g, "decide", json!({"id": id, "force": true}));
    assert_eq!(
        e,
        "GOV-0001 is rejected, only a proposal in voting can be decided"
    );

    // Enact only once.
    let id2 = open(&mut g, "code_change");
    for v in ["a", "b", "c"] {
        vote(&mut g, &id2, v, "approve");
    }
    q(&mut g, "decide", json!({"id": id2, "force": true}));
    q(&mut g, "enact", json!({"id": id2}));
    let e = err(&mut g, "enact", json!({"id": id2}));
    assert_eq!(e, "GOV-0002 has already been enacted");

    // Withdrawal: only the author, only in deliberation.
    let id3 = submit(&mut g, "membership");
    let e = err(&mut g, "withdraw", json!({"id": id3, "author": "eve"}));
    assert_eq!(e, "only the author (ada) may withdraw GOV-0003, not eve");
    let p = q(&mut g, "withdraw", json!({"id": id3, "author": "ada"}));
    assert_eq!(p["status"], "withdrawn");
    assert_eq!(test.events().last().unwrap().kind, "governance.withdrawn");
    let e = err(&mut g, "open_voting", json!({"id": id3, "force": true}));
    assert_eq!(
        e,
        "GOV-0003 is withdrawn, voting opens only from deliberation"
    );
    let e = err(
        &mut g,
        "comment",
        json!({"id": id3, "author": "x", "text": "late"}),
    );
    assert_eq!(e, "GOV-0003 was withdrawn and takes no comments");
}

#[test]
fn comments_are_numbered_across_proposals() {
    let test = TestHost::new("governance");
    let mut g = start(&test, json!({}));
    let a = submit(&mut g, "code_change");
    let b = submit(&mut g, "membership");
    let c1 = q(
        &mut g,
        "comment",
        json!({"id": a, "author": "x", "text": "one"}),
    );
    let c2 = q(
        &mut g,
        "comment",
        json!({"id": b, "author": "y", "text": "two"}),
    );
    assert_eq!(
        (c1["id"].as_str(), c2["id"].as_str()),
        (Some("C-00001"), Some("C-00002"))
    );
    let p = q(&mut g, "proposal", json!({"id": b}));
    assert_eq!(p["comments"][0]["text"], "two");
    assert_eq!(p["comments"][0]["author"], "y");
    let e = err(&mut g, "comment", json!({"id": a, "author": "x"}));
    assert_eq!(e, "`comment` needs a non-empty string `text`");
}

/// Each type's threshold and quorum, at the edge: quorum−1 votes fail, and a ratio just under
/// the threshold fails while the threshold itself passes.
#[test]
fn each_types_threshold_and_quorum() {
    let cases = [
        ("code_change", 600, 3, "60%"),
        ("policy_change", 670, 5, "67%"),
        ("resource_allocation", 500, 3, "50%"),
        ("membership", 750, 5, "75%"),
        ("standard_amendment", 800, 5, "80%"),
    ];
    for (ty, threshold, quorum, text) in cases {
        // No reputation plugin: every weight is 1.0, so vote counts set the ratio.
        let test = TestHost::new("governance");
        let mut g = start(&test, json!({}));
        // quorum − 1 approvals: quorum not met.
        let id = open(&mut g, ty);
        for i in 0..quorum - 1 {
            vote(&mut g, &id, &format!("v{i}"), "approve");
        }
        vote(&mut g, &id, "abstainer", "abstain");
        let d = q(&mut g, "decide", json!({"id": id, "force": true}));
        assert_eq!(
            d["tally"]["reason"],
            format!("quorum not met ({} < {quorum})", quorum - 1),
            "{ty}"
        );
        assert_eq!(d["tally"]["threshold_permille"], threshold);
        // Exactly at the threshold with 100 equal votes: passes; one approval fewer fails
        // (the per-mille edge itself is covered by the tally unit tests).
        for (approvals, passes) in [(threshold / 10, true), (threshold / 10 - 1, false)] {
            let id = open(&mut g, ty);
            for i in 0..100 {
                let choice = if i < approvals { "approve" } else { "reject" };
                vote(&mut g, &id, &format!("v{i}"), choice);
            }
            let d = q(&mut g, "decide", json!({"id": id, "force": true}));
            assert_eq!(d["tally"]["passed"], passes, "{ty} {approvals}");
            let pct = format!("{approvals}.0%");
            let want = if passes {
                format!("passed ({pct} ≥ {text}, quorum 100/{quorum})")
            } else {
                format!("threshold not met ({pct} < {text})")
            };
            assert_eq!(d["tally"]["reason"], want);
        }
    }
}

#[test]
fn weights_from_reputation_with_hand_computed_numbers() {
    let test = with_reputation(vec![
        // code 80, architecture missing → avg 40 → 0.5 + 0.6 = 1.1
        ("coder", json!({"domains": {"code": 80.0}, "overall": 80.0})),
        // (72.5 + 60)/2 = 66.25 → 0.5 + 0.99375 → 1.494
        (
            "architect",
            json!({"domains": {"code": 72.5, "architecture": 60.0}, "overall": 66.3}),
        ),
        // reputation only outside the proposal's domains → avg 0 → 0.5
        (
            "researcher",
            json!({"domains": {"research": 95.0}, "overall": 95.0}),
        ),
        // 100 and 100 → 0.5 + 1.5 = 2.0 (the cap)
        (
            "master",
            json!({"domains": {"code": 100.0, "architecture": 100.0}, "overall": 100.0}),
        ),
    ]);
    let mut g = start(&test, json!({}));
    let id = open(&mut g, "code_change");
    let cases = [
        ("coder", 1100, json!(1.1)),
        ("architect", 1494, json!(1.494)),
        ("researcher", 500, json!(0.5)),
        ("master", 2000, json!(2.0)),
        ("stranger", 500, json!(0.5)),
    ];
    for (voter, milli, w) in &cases {
        let out = vote(&mut g, &id, voter, "approve");
        assert_eq!(out["weight_milli"], *milli, "{voter}");
        assert_eq!(out["weight"], *w, "{voter}");
        assert_eq!(out["weight_source"], "reputation", "{voter}");
    }
    let t = q(&mut g, "tally", json!({"id": id}));
    assert_eq!(t["approve_milli"], 1100 + 1494 + 500 + 2000 + 500);
    let p = q(&mut g, "proposal", json!({"id": id}));
    assert_eq!(p["votes"][1]["weight_milli"], 1494);
    assert_eq!(p["votes"][1]["weight_source"], "reputation");
}

#[test]
fn weights_use_the_proposal_domains() {
    // infrastructure 90, coordination 30 on a resource_allocation → avg 60 → 1.4;
    // the same voter on a policy_change (governance only, missing) → 0.5.
    let test = with_reputation(vec![(
        "ops",
        json!({"domains": {"infrastructure": 90.0, "coordination": 30.0}, "overall": 60.0}),
    )]);
    let mut g = start(&test, json!({}));
    let a = open(&mut g, "resource_allocation");
    let b = open(&mut g, "policy_change");
    assert_eq!(vote(&mut g, &a, "ops", "reject")["weight_milli"], 1400);
    assert_eq!(vote(&mut g, &b, "ops", "reject")["weight_milli"], 500);
}

#[test]
fn unavailable_reputation_means_equal_weights_checked_at_vote_time() {
    let test = TestHost::new("governance");
    let mut g = start(&test, json!({}));
    let id = open(&mut g, "code_change");
    // No reputation plugin at all: 1.0 for everyone.
    let out = vote(&mut g, &id, "a", "approve");
    assert_eq!(
        (out["weight_milli"].clone(), out["weight_source"].clone()),
        (json!(1000), json!("equal"))
    );
    // Reputation appears: weights from it.
    test.answer_queries("reputation", |_, _| {
        Ok(json!({"domains": {"code": 100.0, "architecture": 100.0}, "overall": 100.0}))
    });
    let out = vote(&mut g, &id, "b", "approve");
    assert_eq!(
        (out["weight_milli"].clone(), out["weight_source"].clone()),
        (json!(2000), json!("reputation"))
    );
    // Reputation disabled at run time: back to equal weights.
    test.answer_queries("reputation", |_, _| {
        Err(PluginError::new(
            ErrorCode::Unavailable,
            "plugin `reputation` is disabled",
        ))
    });
    let out = vote(&mut g, &id, "c", "reject");
    assert_eq!(
        (out["weight_milli"].clone(), out["weight_source"].clone()),
        (json!(1000), json!("equal"))
    );
    // Query capability denied: also equal.
    test.deny(hypernet_plugin_api::Capability::Query);
    let out = vote(&mut g, &id, "d", "reject");
    assert_eq!(out["weight_source"], "equal");
    let t = q(&mut g, "tally", json!({"id": id}));
    assert_eq!(
        (t["approve_milli"].clone(), t["reject_milli"].clone()),
        (json!(3000), json!(2000))
    );
}

#[test]
fn tally_reason_texts_with_worked_numbers() {
    // Weights 1.1 + 0.5 approve, 1.4 reject: 1.6/3.0 = 53.3% < 60%.
    let test = with_reputation(vec![
        ("a", json!({"domains": {"code": 80.0}, "overall": 80.0})), // 1.1
        ("b", json!({"domains": {}, "overall": null})),             // 0.5
        (
            "c",
            json!({"domains": {"code": 60.0, "architecture": 60.0}, "overall": 60.0}),
        ), // 1.4
        (
            "d",
            json!({"domains": {"code": 100.0, "architecture": 100.0}, "overall": 100.0}),
        ), // 2.0
    ]);
    let mut g = start(&test, json!({}));
    let id = open(&mut g, "code_change");
    vote(&mut g, &id, "a", "approve");
    vote(&mut g, &id, "b", "approve");
    let t = q(&mut g, "tally", json!({"id": id}));
    assert_eq!(t["reason"], "quorum not met (2 < 3)");
    vote(&mut g, &id, "c", "reject");
    let d = q(&mut g, "decide", json!({"id": id, "force": true}));
    assert_eq!(d["tally"]["reason"], "threshold not met (53.3% < 60%)");
    assert_eq!(d["tally"]["approve"], json!(1.6));
    assert_eq!(d["tally"]["reject"], json!(1.4));
    assert_eq!(
        test.events().last().unwrap().payload["reason"],
        "threshold not met (53.3% < 60%)"
    );
    // 2.0 + 1.1 approve, 1.4 reject, 0.5 abstain: 3.1/4.5 = 68.9% ≥ 60%, quorum 3/3.
    let id = open(&mut g, "code_change");
    vote(&mut g, &id, "d", "approve");
    vote(&mut g, &id, "a", "approve");
    vote(&mut g, &id, "c", "reject");
    vote(&mut g, &id, "b", "abstain");
    let d = q(&mut g, "decide", json!({"id": id, "force": true}));
    assert_eq!(d["tally"]["reason"], "passed (68.9% ≥ 60%, quorum 3/3)");
    assert_eq!(d["tally"]["abstain_milli"], 500);
    let p = q(&mut g, "proposal", json!({"id": id}));
    assert_eq!(p["status"], "passed");
    assert_eq!(p["decision"]["reason"], "passed (68.9% ≥ 60%, quorum 3/3)");
}

fn pass(g: &mut Governance, args: Value) -> String {
    let id = q(g, "submit", args)["id"].as_str().unwrap().to_owned();
    q(g, "open_voting", json!({"id": id, "force": true}));
    for v in ["a", "b", "c", "d", "e"] {
        vote(g, &id, v, "approve");
    }
    q(g, "decide", json!({"id": id, "force": true}));
    id
}

#[test]
fn enacting_a_budget_proposal_runs_budget_set() {
    let test = TestHost::new("governance");
    let mut g = start(&test, json!({}));
    let id = pass(
        &mut g,
        json!({"type": "resource_allocation", "title": "more", "author": "ada",
               "budget": {"daily_limit_usd": 30.0, "session_limit_usd": 5.0}}),
    );
    assert!(
        test.host_commands().is_empty(),
        "nothing runs before enactment"
    );
    let e = q(&mut g, "enact", json!({"id": id}));
    assert_eq!(
        test.host_commands(),
        vec![HostCommand::BudgetSet(BudgetSet {
            daily_limit_usd: Some(30.0),
            session_limit_usd: Some(5.0)
        })]
    );
    assert_eq!(e["enactment"]["budget"]["answer"], json!({"ok": true}));
    let p = q(&mut g, "proposal", json!({"id": id}));
    assert_eq!(p["enactment"]["budget"]["answer"], json!({"ok": true}));
    assert_eq!(p["status"], "enacted");
    // A resource_allocation without a budget runs no command.
    let id = pass(
        &mut g,
        json!({"type": "resource_allocation", "title": "t", "author": "a"}),
    );
    q(&mut g, "enact", json!({"id": id}));
    assert_eq!(test.host_commands().len(), 1);
}

#[test]
fn a_refused_budget_command_is_recorded() {
    let test = TestHost::new("governance");
    let mut g = start(&test, json!({}));
    let id = pass(
        &mut g,
        json!({"type": "resource_allocation", "title": "t", "author": "a",
               "budget": {"daily_limit_usd": 10.0}}),
    );
    test.deny(hypernet_plugin_api::Capability::Commands);
    let e = q(&mut g, "enact", json!({"id": id}));
    assert_eq!(
        e["enactment"]["budget"]["error"],
        "plugin `governance` was not granted the `commands` capability"
    );
    assert_eq!(
        e["enactment"]["budget"]["args"],
        json!({"daily_limit_usd": 10.0, "session_limit_usd": null})
    );
    let p = q(&mut g, "proposal", json!({"id": id}));
    assert_eq!(p["enactment"], e["enactment"]);
}

#[test]
fn limits_default_check_and_change_by_policy() {
    let test = TestHost::new("governance");
    let mut g = start(
        &test,
        json!({"limits": {"max_task_queue_depth": {"soft": 100, "hard": 150}}}),
    );
    let l = q(&mut g, "limits", json!({}));
    assert_eq!(
        l["limits"]["max_concurrent_workers"],
        json!({"soft": 15, "hard": 30})
    );
    assert_eq!(
        l["limits"]["max_task_queue_depth"],
        json!({"soft": 100, "hard": 150})
    );
    let level = |g: &mut Governance, name: &str, value: u64| {
        q(g, "check_limit", json!({"name": name, "value": value}))["level"].clone()
    };
    assert_eq!(level(&mut g, "max_concurrent_workers", 14), "ok");
    assert_eq!(level(&mut g, "max_concurrent_workers", 15), "warning");
    assert_eq!(level(&mut g, "max_concurrent_workers", 30), "blocked");
    assert_eq!(level(&mut g, "max_task_queue_depth", 120), "warning");
    let undefined = q(&mut g, "check_limit", json!({"name": "nope", "value": 1}));
    assert_eq!(undefined["level"], "ok", "{undefined}");
    assert_eq!(undefined["defined"], false);
    assert_eq!(
        undefined["warning"],
        "no limit `nope` is defined (known: max_concurrent_workers, max_task_queue_depth); \
         allowed"
    );
    let e = err(&mut g, "check_limit", json!({"name": "nope", "value": -1}));
    assert_eq!(e, "`check_limit` needs a non-negative integer `value`");

    let id = pass(
        &mut g,
        json!({"type": "policy_change", "title": "scale", "author": "ada",
               "limits": {"max_concurrent_workers": {"soft": 40, "hard": 60}}}),
    );
    // Not applied before enactment.
    assert_eq!(level(&mut g, "max_concurrent_workers", 30), "blocked");
    q(&mut g, "enact", json!({"id": id}));
    assert_eq!(level(&mut g, "max_concurrent_workers", 30), "ok");
    assert_eq!(level(&mut g, "max_concurrent_workers", 40), "warning");
    assert_eq!(level(&mut g, "max_concurrent_workers", 60), "blocked");
    // Survives a restart, over the config's own value.
    let mut again = start(
        &test,
        json!({"limits": {"max_concurrent_workers": {"soft": 1, "hard": 2}}}),
    );
    assert_eq!(level(&mut again, "max_concurrent_workers", 59), "warning");
    assert_eq!(level(&mut again, "max_task_queue_depth", 120), "ok");
}

#[test]
fn configured_periods_apply() {
    let test = TestHost::new("governance");
    let mut g = start(
        &test,
        json!({"periods": {"code_change": {"deliberation_hours": 1, "voting_hours": 0.5}}}),
    );
    let id = submit(&mut g, "code_change");
    test.set_now_ms(HOUR - 1);
    assert!(g.query("open_voting", json!({"id": id})).is_err());
    test.set_now_ms(HOUR);
    let p = q(&mut g, "open_voting", json!({"id": id}));
    assert_eq!(p["voting_ends_at_ms"], HOUR + HOUR / 2);
    test.set_now_ms(HOUR + HOUR / 2);
    q(&mut g, "decide", json!({"id": id}));
    // Other types keep the table's periods.
    let id = submit(&mut g, "membership");
    assert_eq!(
        q(&mut g, "proposal", json!({"id": id}))["deliberation_ends_at_ms"],
        HOUR + HOUR / 2 + 48 * HOUR
    );
    let bad =
        serde_json::from_value::<Config>(json!({"periods": {"membership": {"voting_hours": -2}}}))
            .unwrap();
    assert!(Governance::start(bad, test.host()).is_err());
}

#[test]
fn a_restart_loses_nothing() {
    let test = with_reputation(vec![(
        "a",
        json!({"domains": {"code": 80.0}, "overall": 80.0}),
    )]);
    let mut g = start(&test, json!({}));
    let id = open(&mut g, "code_change");
    vote(&mut g, &id, "a", "approve");
    q(
        &mut g,
        "comment",
        json!({"id": id, "author": "a", "text": "yes"}),
    );
    let w = submit(&mut g, "membership");
    q(&mut g, "withdraw", json!({"id": w, "author": "ada"}));
    let before = q(&mut g, "proposal", json!({"id": id}));
    let list_before = q(&mut g, "list", json!({}));

    // A vote is its own record; the proposal record does not grow with votes.
    assert_eq!(test.kv("vote/GOV-0001/000001").unwrap()["voter"], "a");
    assert_eq!(test.kv("comment/GOV-0001/C-00001").unwrap()["text"], "yes");
    assert_eq!(test.kv("proposal/GOV-0001").unwrap()["votes"], json!([]));
    let mut again = start(&test, json!({}));
    assert_eq!(q(&mut again, "proposal", json!({"id": id})), before);
    assert_eq!(q(&mut again, "list", json!({})), list_before);
    assert_eq!(
        q(&mut again, "list", json!({"status": "withdrawn"}))["proposals"][0]["id"],
        w
    );
    // Counters continue, the one-vote rule holds across the restart.
    assert_eq!(submit(&mut again, "code_change"), "GOV-0003");
    assert_eq!(
        q(
            &mut again,
            "comment",
            json!({"id": id, "author": "b", "text": "no"})
        )["id"],
        "C-00002"
    );
    assert_eq!(
        err(
            &mut again,
            "vote",
            json!({"id": id, "voter": "a", "choice": "reject"})
        ),
        "a has already voted on GOV-0001"
    );
    vote(&mut again, &id, "b", "approve");
    vote(&mut again, &id, "c", "approve");
    let d = q(&mut again, "decide", json!({"id": id, "force": true}));
    // 1.1 + 0.5 + 0.5 approve.
    assert_eq!(d["tally"]["approve_milli"], 2100);
    assert_eq!(d["status"], "passed");
}

#[test]
fn list_filters_by_status() {
    let test = TestHost::new("governance");
    let mut g = start(&test, json!({}));
    submit(&mut g, "code_change");
    open(&mut g, "membership");
    let all = q(&mut g, "list", json!({}));
    assert_eq!(all["proposals"].as_array().unwrap().len(), 2);
    let voting = q(&mut g, "list", json!({"status": "voting"}));
    assert_eq!(
        voting["proposals"],
        json!([{"id": "GOV-0002", "type": "membership", "title": "t", "author": "ada", "status": "voting", "votes": 0}])
    );
}

#[test]
fn hundred_votes_back_to_back_give_exact_totals() {
    // Voter i has code score i (0..100) and no architecture: weight = 0.5 + i/2·1.5/100,
    // i.e. 500 + round(7.5·i) thousandths (half up).
    let test = TestHost::new("governance");
    test.answer_queries("reputation", |_, args| {
        let i: f64 = args["entity"].as_str().unwrap()[1..].parse().unwrap();
        Ok(json!({"domains": {"code": i}, "overall": i}))
    });
    let mut g = start(&test, json!({}));
    let id = open(&mut g, "code_change");
    let (mut approve, mut reject) = (0u64, 0u64);
    for i in 0..100u64 {
        let expected = 500 + (15 * i).div_ceil(2);
        let choice = if i % 3 == 0 { "reject" } else { "approve" };
        let out = vote(&mut g, &id, &format!("v{i}"), choice);
        assert_eq!(out["weight_milli"], expected, "v{i}");
        if choice == "approve" {
            approve += expected
        } else {
            reject += expected
        }
    }
    // Closed-form totals: Σ over i%3≠0 and i%3=0 of 500 + ceil(7.5 i).
    // By hand: Σ 15i/2 = 37125, plus ½ for each of the 50 odd i → 37150; + 100·500.
    // Rejects (i = 0, 3, …, 99): 34·500 + (15·1683 + 17)/2 = 17000 + 12631.
    assert_eq!((approve, reject), (57_519, 29_631));
    let t = q(&mut g, "tally", json!({"id": id}));
    assert_eq!(t["approve_milli"], approve);
    assert_eq!(t["reject_milli"], reject);
    assert_eq!(t["counted"], 100);
    // 57519 / 87150 = 0.66 exactly.
    let d = q(&mut g, "decide", json!({"id": id, "force": true}));
    assert_eq!(d["tally"]["reason"], "passed (66.0% ≥ 60%, quorum 100/3)");
}

#[test]
fn enacting_a_policy_with_tiers_runs_permissions_set_for_each() {
    let test = TestHost::new("governance");
    let mut g = start(&test, json!({}));
    let refused = err(
        &mut g,
        "submit",
        json!({"type": "resource_allocation", "title": "t", "author": "a",
               "permissions": [{"worker": "Trace", "tier": 3}]}),
    );
    assert!(
        refused.contains("tier changes need a policy_change proposal"),
        "{refused}"
    );
    let too_high = err(
        &mut g,
        "submit",
        json!({"type": "policy_change", "title": "t", "author": "a",
               "permissions": [{"worker": "Trace", "tier": 7}]}),
    );
    assert!(
        too_high.contains("tier 7 for `Trace` is not 0 to 4"),
        "{too_high}"
    );
    let id = pass(
        &mut g,
        json!({"type": "policy_change", "title": "trust Trace", "author": "ada",
               "permissions": [{"worker": "Trace", "tier": 3}, {"worker": "Keystone", "tier": 1}]}),
    );
    assert!(
        test.host_commands().is_empty(),
        "nothing runs before enactment"
    );
    let e = q(&mut g, "enact", json!({"id": id}));
    assert_eq!(
        test.host_commands(),
        vec![
            HostCommand::PermissionsSet(PermissionsSet {
                worker: "Trace".into(),
                tier: 3
            }),
            HostCommand::PermissionsSet(PermissionsSet {
                worker: "Keystone".into(),
                tier: 1
            }),
        ]
    );
    assert_eq!(
        e["enactment"]["permissions"][1]["answer"],
        json!({"ok": true})
    );
}

#[test]
fn every_query_refuses_unknown_fields_by_name() {
    let test = TestHost::new("governance");
    let mut g = start(&test, json!({}));
    let e = err(
        &mut g,
        "vote",
        json!({"id": "GOV-0001", "voter": "ada", "choise": "approve"}),
    );
    assert_eq!(
        e,
        "`vote`: unknown field `choise`, expected one of `id`, `voter`, `choice`"
    );
    let e = err(
        &mut g,
        "submit",
        json!({"type": "code_change", "title": "t", "author": "ada", "budjet": {}}),
    );
    assert!(e.contains("unknown field `budjet`"), "{e}");
    let e = err(&mut g, "limits", json!({"name": "x"}));
    assert!(e.contains("`limits`: unknown field `name`"), "{e}");
    // Nothing was filed by the refused submit.
    assert_eq!(q(&mut g, "list", json!({}))["proposals"], json!([]));
}
