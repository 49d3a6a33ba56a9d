//! Tests of the whole subsystem through its queries and events, on a `TestHost`.

use super::*;
use hypernet_plugin_api::testing::TestHost;

const DAY: u64 = 24 * 60 * 60 * 1000;

fn start(test: &TestHost) -> Economy {
    Economy::start(Config::default(), test.host()).unwrap()
}

fn q(eco: &mut Economy, name: &str, args: Value) -> Value {
    eco.query(name, args)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn gpu(eco: &mut Economy, who: &str, tokens: u64) {
    q(
        eco,
        "record_gpu",
        json!({"contributor": who, "tokens": tokens}),
    );
}

fn human(eco: &mut Economy, who: &str) {
    q(
        eco,
        "record_human",
        json!({"contributor": who, "record": "docs"}),
    );
}

fn ai(eco: &mut Economy, who: &str, tokens: u64, quality: &str) {
    q(
        eco,
        "record_ai",
        json!({"worker": who, "tokens": tokens, "quality": quality}),
    );
}

/// `[(contributor, amount)]` of one pool.
fn payouts(result: &Value, pool: &str) -> Vec<(String, String)> {
    result["pools"][pool]["payouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["contributor"].as_str().unwrap().to_owned(),
                p["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn worked_distribution_of_90() {
    let test = TestHost::new("economy");
    let mut eco = start(&test);
    // GPU: alice 300 tokens, bob 100 → 3:1.
    gpu(&mut eco, "alice", 200);
    gpu(&mut eco, "alice", 100);
    gpu(&mut eco, "bob", 100);
    // Human: carol 2 records, dave 1 → 2:1.
    human(&mut eco, "carol");
    human(&mut eco, "carol");
    human(&mut eco, "dave");
    // AI: w1 600 tokens at 1.0 and 400 at 1.5 → 1000 tokens, average quality 1.25 → weight
    // 1250; w2 500 tokens at 0.5 → weight 250. Σ = 1500.
    ai(&mut eco, "w1", 600, "1.0");
    ai(&mut eco, "w1", 400, "1.5");
    ai(&mut eco, "w2", 500, "0.5");

    let r = q(
        &mut eco,
        "distribute",
        json!({"revenue": 90, "period": "all"}),
    );
    // Pools: 90 / 3 = 30 each; development 30 → human 15, AI 15.
    assert_eq!(r["revenue"], "90.0000");
    assert_eq!(r["pools"]["gpu"]["amount"], "30.0000");
    assert_eq!(r["pools"]["development"], "30.0000");
    assert_eq!(r["pools"]["human"]["amount"], "15.0000");
    assert_eq!(r["pools"]["ai"]["amount"], "15.0000");
    assert_eq!(r["pools"]["platform"], "30.0000");
    // GPU: 30 × 300/400 = 22.5; 30 × 100/400 = 7.5.
    assert_eq!(
        payouts(&r, "gpu"),
        pairs(&[("alice", "22.5000"), ("bob", "7.5000")])
    );
    assert_eq!(r["pools"]["gpu"]["payouts"][0]["tokens"], 300);
    // Human: 15 × 2/3 = 10; 15 × 1/3 = 5.
    assert_eq!(
        payouts(&r, "human"),
        pairs(&[("carol", "10.0000"), ("dave", "5.0000")])
    );
    assert_eq!(r["pools"]["human"]["payouts"][0]["records"], 2);
    // AI: 15 × 1250/1500 = 12.5; 15 × 250/1500 = 2.5.
    assert_eq!(
        payouts(&r, "ai"),
        pairs(&[("w1", "12.5000"), ("w2", "2.5000")])
    );
    assert_eq!(r["pools"]["ai"]["payouts"][0]["average_quality"], "1.2500");
    for pool in ["gpu", "human", "ai"] {
        assert_eq!(r["pools"][pool]["paid"], true);
        assert_eq!(r["pools"][pool]["unallocated"], "0.0000");
    }
    // Announced with the pool amounts.
    let ev = test.events().pop().unwrap();
    assert_eq!(ev.kind, "economy.distributed");
    assert_eq!(
        ev.payload,
        json!({"period": "all", "revenue": "90.0000", "pools": {"gpu": "30.0000",
            "development": "30.0000", "human": "15.0000", "ai": "15.0000", "platform": "30.0000"}})
    );
}

#[test]
fn thirds_and_payouts_round_to_four_decimals_and_sum_exactly() {
    let test = TestHost::new("economy");
    let mut eco = start(&test);
    for who in ["a", "b", "c"] {
        gpu(&mut eco, who, 1);
        human(&mut eco, who);
    }
    let r = q(
        &mut eco,
        "distribute",
        json!({"revenue": "100", "period": "all"}),
    );
    // 100 / 3 = 33.33333… → 33.3333 for GPU and development; the platform takes the rest:
    // 100 − 2 × 33.3333 = 33.3334.
    assert_eq!(r["pools"]["gpu"]["amount"], "33.3333");
    assert_eq!(r["pools"]["development"], "33.3333");
    assert_eq!(r["pools"]["platform"], "33.3334");
    // Development 33.3333 / 2 = 16.66665 → 16.6667 (half away from zero); AI the rest 16.6666.
    assert_eq!(r["pools"]["human"]["amount"], "16.6667");
    assert_eq!(r["pools"]["ai"]["amount"], "16.6666");
    // GPU 33.3333 / 3 = 11.1111 exactly.
    assert_eq!(
        payouts(&r, "gpu"),
        pairs(&[("a", "11.1111"), ("b", "11.1111"), ("c", "11.1111")])
    );
    // Human 16.6667 / 3 = 5.55556…: each 5.5555 rounded down, 0.0002 left, given to the
    // first two by name (equal remainders) → sums to 16.6667 exactly, nothing over-paid.
    assert_eq!(
        payouts(&r, "human"),
        pairs(&[("a", "5.5556"), ("b", "5.5556"), ("c", "5.5555")])
    );
    assert_eq!(r["pools"]["human"]["paid_total"], "16.6667");
    assert_eq!(r["pools"]["human"]["unallocated"], "0.0000");
    // More than 4 decimals of revenue, or a negative revenue, is refused.
    let err = eco
        .query("distribute", json!({"revenue": "1.00001", "period": "all"}))
        .unwrap_err();
    assert!(err.message().contains("more than 4 decimals"), "{err}");
    assert!(
        eco.query("distribute", json!({"revenue": -1, "period": "all"}))
            .is_err()
    );
    assert!(
        eco.query("distribute", json!({"revenue": 1, "period": "yearly"}))
            .unwrap_err()
            .message()
            .contains("yearly")
    );
}

#[test]
fn the_smallest_revenue_splits_half_away_from_zero() {
    let test = TestHost::new("economy");
    let mut eco = start(&test);
    // 0.0003 / 3 = 0.0001 per third; development 0.0001 / 2 = 0.00005 → 0.0001 human, 0 AI.
    let r = q(
        &mut eco,
        "distribute",
        json!({"revenue": "0.0003", "period": "all"}),
    );
    assert_eq!(r["pools"]["human"]["amount"], "0.0001");
    assert_eq!(r["pools"]["ai"]["amount"], "0.0000");
    assert_eq!(r["pools"]["platform"], "0.0001");
}

#[test]
fn empty_pools_are_unpaid_and_say_so() {
    let test = TestHost::new("economy");
    let mut eco = start(&test);
    gpu(&mut eco, "alice", 10);
    // Quality 0 gives the AI contribution no weight.
    ai(&mut eco, "w1", 100, "0");
    let r = q(
        &mut eco,
        "distribute",
        json!({"revenue": 30, "period": "all"}),
    );
    assert_eq!(r["pools"]["gpu"]["paid"], true);
    assert_eq!(payouts(&r, "gpu"), pairs(&[("alice", "10.0000")]));
    for pool in ["human", "ai"] {
        assert_eq!(r["pools"][pool]["paid"], false, "{pool}");
        assert!(
            r["pools"][pool]["reason"]
                .as_str()
                .unwrap()
                .starts_with("no ")
        );
        assert_eq!(r["pools"][pool]["payouts"], json!([]));
        assert_eq!(r["pools"][pool]["paid_total"], "0.0000");
        assert_eq!(r["pools"][pool]["unallocated"], "5.0000");
    }
    assert!(r["pools"]["gpu"].get("reason").is_none());
}

#[test]
fn ai_weight_below_one_leaves_the_rest_unallocated() {
    let test = TestHost::new("economy");
    let mut eco = start(&test);
    // 1 token × 0.5 = weight 0.5 < 1 → denominator 1 → 10 × 0.5 / 1 = 5 of the 10.
    ai(&mut eco, "w", 1, "0.5");
    let r = q(
        &mut eco,
        "distribute",
        json!({"revenue": 60, "period": "all"}),
    );
    assert_eq!(r["pools"]["ai"]["amount"], "10.0000");
    assert_eq!(payouts(&r, "ai"), pairs(&[("w", "5.0000")]));
    assert_eq!(r["pools"]["ai"]["unallocated"], "5.0000");
}

#[test]
fn periods_filter_by_recording_time() {
    let test = TestHost::new("economy");
    let mut eco = start(&test);
    let now = 40 * DAY;
    // Ages: 35 d, 10 d, exactly 7 d (included in weekly), 3 d, exactly 24 h, 1 h.
    for (age, tokens) in [
        (35 * DAY, 1),
        (10 * DAY, 10),
        (7 * DAY, 100),
        (3 * DAY, 1000),
        (DAY, 10_000),
        (3_600_000, 100_000),
    ] {
        test.set_now_ms(now - age);
        gpu(&mut eco, "g", tokens);
    }
    test.set_now_ms(now);
    let counted = |eco: &mut Economy, period: &str| {
        let r = q(eco, "distribute", json!({"revenue": 3, "period": period}));
        (
            r["since_ms"].as_u64().unwrap(),
            r["pools"]["gpu"]["payouts"][0]["tokens"].as_u64().unwrap(),
        )
    };
    assert_eq!(counted(&mut eco, "daily"), (now - DAY, 110_000));
    assert_eq!(counted(&mut eco, "weekly"), (now - 7 * DAY, 111_100));
    assert_eq!(counted(&mut eco, "monthly"), (now - 30 * DAY, 111_110));
    assert_eq!(counted(&mut eco, "30d"), (now - 30 * DAY, 111_110));
    assert_eq!(counted(&mut eco, "all"), (0, 111_111));
    // The ledger filters the same way.
    let l = q(&mut eco, "ledger", json!({"since_ms": now - 7 * DAY}));
    assert_eq!(l["count"], 4);
    assert_eq!(l["totals"]["gpu_tokens"], 111_100);
}

#[test]
fn quality_is_clamped_and_averaged_to_two_decimals() {
    let test = TestHost::new("economy");
    let mut eco = start(&test);
    let e = q(
        &mut eco,
        "record_ai",
        json!({"worker": "hi", "tokens": 1, "quality": 7}),
    );
    assert_eq!(e["quality"], "2.0000");
    let e = q(
        &mut eco,
        "record_ai",
        json!({"worker": "lo", "tokens": 1, "quality": "-3"}),
    );
    assert_eq!(e["quality"], "0.0000");
    let e = q(&mut eco, "record_ai", json!({"worker": "d", "tokens": 1}));
    assert_eq!(e["quality"], "1.0000");
    // a: (1.0 + 1.01) / 2 = 1.005 → 1.01 (half away from zero).
    ai(&mut eco, "a", 100, "1.0");
    ai(&mut eco, "a", 100, "1.01");
    // b: (1.0 + 1.0049) / 2 = 1.00245 → 1.00.
    ai(&mut eco, "b", 100, "1.0");
    ai(&mut eco, "b", 100, "1.0049");
    let r = q(
        &mut eco,
        "distribute",
        json!({"revenue": 6, "period": "all"}),
    );
    let avg = |who: &str| {
        r["pools"]["ai"]["payouts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["contributor"] == who)
            .unwrap()["average_quality"]
            .clone()
    };
    assert_eq!(avg("a"), "1.0100");
    assert_eq!(avg("b"), "1.0000");
    assert_eq!(avg("hi"), "2.0000");
    assert_eq!(avg("lo"), "0.0000");
    // Weights: hi 1×2 = 2, lo 0, d 1×1 = 1, a 200×1.01 = 202, b 200×1 = 200 → Σ 405; the AI
    // pool is 1. a: 202/405 = 0.49876… ; b: 200/405 = 0.49382… ; hi 0.00493…; d 0.00246….
    // Floors 0.4987 + 0.4938 + 0.0049 + 0.0024 = 0.9998; the two 0.0001s left go to the
    // largest remainders: d (…0.6913) and a (…0.6543) → a 0.4988, d 0.0025.
    assert_eq!(
        payouts(&r, "ai"),
        pairs(&[
            ("a", "0.4988"),
            ("b", "0.4938"),
            ("d", "0.0025"),
            ("hi", "0.0049"),
            ("lo", "0.0000"),
        ])
    );
    assert_eq!(r["pools"]["ai"]["paid_total"], "1.0000");
}

#[test]
fn completed_tasks_become_ai_contributions_and_reviews_set_quality() {
    let test = TestHost::new("economy");
    test.set_now_ms(1234);
    let mut eco = start(&test);
    let payload = json!({"id": "T-9", "title": "x", "tags": [], "worker": "coder",
        "model": "m", "input_tokens": 700, "output_tokens": 300, "cost_micros": 5});
    eco.on_event(&Event::new("task.completed", "host", payload.clone()))
        .unwrap();
    // Delivered twice: still one contribution.
    eco.on_event(&Event::new("task.completed", "host", payload))
        .unwrap();
    eco.on_event(&Event::new("task.failed", "host", json!({"id": "T-10"})))
        .unwrap();
    let l = q(&mut eco, "ledger", json!({"kind": "ai"}));
    assert_eq!(l["count"], 1);
    assert_eq!(
        l["entries"][0],
        json!({"id": "CON-000001", "at_ms": 1234, "contributor": "coder", "kind": "ai",
               "tokens": 1000, "quality": "1.0000", "task": "T-9"})
    );
    let events = test.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "economy.contribution");
    assert_eq!(
        events[0].payload,
        json!({"id": "CON-000001", "kind": "ai", "contributor": "coder", "tokens": 1000})
    );
    // A review sets the quality, clamped, and it is stored.
    let e = q(
        &mut eco,
        "set_quality",
        json!({"task": "T-9", "quality": 2.5}),
    );
    assert_eq!(e["quality"], "2.0000");
    assert_eq!(test.kv("entry/CON-000001").unwrap()["quality"], "2.0000");
    let err = eco
        .query("set_quality", json!({"task": "T-404", "quality": 1}))
        .unwrap_err();
    assert_eq!(err.message(), "no AI contribution for task `T-404`");
    // Recording the same task by hand is refused.
    let err = eco
        .query(
            "record_ai",
            json!({"worker": "w", "tokens": 1, "task": "T-9"}),
        )
        .unwrap_err();
    assert!(err.message().contains("CON-000001"), "{err}");
}

#[test]
fn wallets_earn_spend_and_transfer_atomically() {
    let test = TestHost::new("economy");
    let mut eco = start(&test);
    assert_eq!(
        q(&mut eco, "earn", json!({"wallet": "w1", "amount": "10.5"})),
        json!({"wallet": "w1", "balance": "10.5000"})
    );
    assert_eq!(
        q(&mut eco, "spend", json!({"wallet": "w1", "amount": 0.5}))["balance"],
        "10.0000"
    );
    let err = eco
        .query("spend", json!({"wallet": "w1", "amount": 11}))
        .unwrap_err();
    assert_eq!(
        err.message(),
        "wallet `w1` has a balance of 10.0000, short of 11.0000"
    );
    let t = q(
        &mut eco,
        "transfer",
        json!({"from": "w1", "to": "w2", "amount": "4"}),
    );
    assert_eq!(
        t,
        json!({"from": {"wallet": "w1", "balance": "6.0000"},
               "to": {"wallet": "w2", "balance": "4.0000"}})
    );
    // Refused transfer changes neither side, in memory or in storage.
    assert!(
        eco.query(
            "transfer",
            json!({"from": "w1", "to": "w2", "amount": "6.0001"})
        )
        .unwrap_err()
        .message()
        .contains("balance of 6.0000")
    );
    assert_eq!(
        q(&mut eco, "wallets", Value::Null),
        json!({"wallets": {"w1": "6.0000", "w2": "4.0000"}, "total": "10.0000"})
    );
    assert_eq!(
        test.kv(WALLETS_KEY).unwrap(),
        json!({"w1": "6.0000", "w2": "4.0000"})
    );
    assert_eq!(
        q(&mut eco, "balance", json!({"wallet": "nobody"}))["balance"],
        "0.0000"
    );
    // A failed write leaves the wallets as they were.
    test.deny(hypernet_plugin_api::Capability::Kv);
    assert!(
        eco.query("transfer", json!({"from": "w1", "to": "w2", "amount": 1}))
            .is_err()
    );
    assert_eq!(
        q(&mut eco, "balance", json!({"wallet": "w1"}))["balance"],
        "6.0000"
    );
    assert_eq!(
        q(&mut eco, "balance", json!({"wallet": "w2"}))["balance"],
        "4.0000"
    );
}

#[test]
fn distribution_can_credit_ai_wallets() {
    let test = TestHost::new("economy");
    let mut eco = start(&test);
    ai(&mut eco, "w1", 300, "1");
    ai(&mut eco, "w2", 100, "1");
    q(&mut eco, "earn", json!({"wallet": "w1", "amount": 1}));
    // R = 120 → development 40 → AI 20 → w1 15, w2 5.
    let r = q(
        &mut eco,
        "distribute",
        json!({"revenue": 120, "period": "all", "credit": true}),
    );
    assert_eq!(r["credited"], true);
    assert_eq!(
        q(&mut eco, "balance", json!({"wallet": "w1"}))["balance"],
        "16.0000"
    );
    assert_eq!(
        q(&mut eco, "balance", json!({"wallet": "w2"}))["balance"],
        "5.0000"
    );
    // Without `credit`, nothing moves.
    q(
        &mut eco,
        "distribute",
        json!({"revenue": 120, "period": "all"}),
    );
    assert_eq!(
        q(&mut eco, "balance", json!({"wallet": "w2"}))["balance"],
        "5.0000"
    );
}

#[test]
fn a_second_instance_reloads_everything() {
    let test = TestHost::new("economy");
    let mut eco = start(&test);
    gpu(&mut eco, "alice", 5);
    human(&mut eco, "carol");
    eco.on_event(&Event::new(
        "task.completed",
        "host",
        json!({"id": "T-1", "worker": "w", "input_tokens": 1, "output_tokens": 2}),
    ))
    .unwrap();
    q(
        &mut eco,
        "set_quality",
        json!({"task": "T-1", "quality": "1.5"}),
    );
    q(&mut eco, "earn", json!({"wallet": "w", "amount": 3}));
    let before = q(&mut eco, "ledger", Value::Null);
    drop(eco);

    let mut again = start(&test);
    assert_eq!(q(&mut again, "ledger", Value::Null), before);
    assert_eq!(before["count"], 3);
    assert_eq!(before["entries"][2]["quality"], "1.5000");
    assert_eq!(
        q(&mut again, "balance", json!({"wallet": "w"}))["balance"],
        "3.0000"
    );
    // The counter continues, and the task index survived (no second entry for T-1).
    let e = q(
        &mut again,
        "record_gpu",
        json!({"contributor": "bob", "tokens": "7"}),
    );
    assert_eq!(e["id"], "CON-000004");
    again
        .on_event(&Event::new("task.completed", "host", json!({"id": "T-1"})))
        .unwrap();
    assert_eq!(q(&mut again, "ledger", Value::Null)["count"], 4);
}

#[test]
fn counter_recovers_from_an_entry_written_ahead_of_it() {
    let test = TestHost::new("economy");
    let mut eco = start(&test);
    gpu(&mut eco, "a", 1);
    // As if the process died between writing entry 2 and the counter.
    test.host().kv_put(NEXT_ID_KEY, &1u64).unwrap();
    let mut again = start(&test);
    assert_eq!(
        q(
            &mut again,
            "record_gpu",
            json!({"contributor": "b", "tokens": 1})
        )["id"],
        "CON-000002"
    );
}

#[test]
fn a_hundred_contributions_back_to_back_keep_exact_totals() {
    let test = TestHost::new("economy");
    let mut eco = start(&test);
    // GPU contributor i (1..=100) processes i tokens: Σ = 5050.
    for i in 1..=100u64 {
        gpu(&mut eco, &format!("g{i:03}"), i);
    }
    let l = q(&mut eco, "ledger", json!({"kind": "gpu"}));
    assert_eq!(l["count"], 100);
    assert_eq!(l["totals"]["gpu_tokens"], 5050);
    assert_eq!(l["entries"][99]["id"], "CON-000100");
    assert_eq!(test.events().len(), 100);
    // R = 30.3 → GPU pool 10.1; shares 10.1 × i / 5050 = i × 0.002: all exact.
    let r = q(
        &mut eco,
        "distribute",
        json!({"revenue": "30.3", "period": "all"}),
    );
    let paid = payouts(&r, "gpu");
    assert_eq!(paid.len(), 100);
    assert_eq!(paid[0], ("g001".to_owned(), "0.0020".to_owned()));
    assert_eq!(paid[99], ("g100".to_owned(), "0.2000".to_owned()));
    assert_eq!(r["pools"]["gpu"]["paid_total"], "10.1000");
    // R = 10 → GPU pool 3.3333 over weights 1..100: paid in full, to the 0.0001.
    let r = q(
        &mut eco,
        "distribute",
        json!({"revenue": 10, "period": "all"}),
    );
    assert_eq!(r["pools"]["gpu"]["paid_total"], "3.3333");
    assert_eq!(r["pools"]["gpu"]["unallocated"], "0.0000");
    let sum: i128 = payouts(&r, "gpu")
        .iter()
        .map(|(_, a)| Fixed::parse(a).unwrap().units())
        .sum();
    assert_eq!(Fixed::from_units(sum).to_string(), "3.3333");
}

#[test]
fn bad_arguments_are_refused_by_name() {
    let test = TestHost::new("economy");
    let mut eco = start(&test);
    let msg = |eco: &mut Economy, name: &str, args: Value| {
        eco.query(name, args).unwrap_err().message().to_owned()
    };
    assert!(msg(&mut eco, "record_gpu", json!({"contributor": "a"})).contains("`tokens`"));
    assert!(msg(&mut eco, "record_human", json!({"contributor": "a"})).contains("`record`"));
    assert!(msg(&mut eco, "earn", json!({"wallet": "w", "amount": "x"})).contains("earn.amount"));
    assert!(msg(&mut eco, "ledger", json!({"kind": "robot"})).contains("robot"));
    assert_eq!(msg(&mut eco, "nope", Value::Null), "unknown query `nope`");
    assert!(serde_json::from_value::<Config>(json!({"x": 1})).is_err());
}

#[test]
fn a_misspelt_field_is_refused_by_name_not_recorded_as_the_default() {
    let test = TestHost::new("economy");
    let mut eco = start(&test);
    let err = eco
        .query(
            "record_ai",
            json!({"worker": "Trace", "tokens": 100, "qualty": 1.5}),
        )
        .unwrap_err();
    assert_eq!(
        err.message(),
        "`record_ai`: unknown field `qualty`, expected one of `worker`, `tokens`, `quality`, \
         `task`"
    );
    let err = eco
        .query("wallets", json!({"wallet": "Trace"}))
        .unwrap_err();
    assert!(
        err.message().contains("`wallets`: unknown field `wallet`"),
        "{err}"
    );
    assert_eq!(
        q(&mut eco, "ledger", json!({}))["count"],
        0,
        "nothing recorded"
    );
}
