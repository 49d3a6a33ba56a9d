//! Where the money goes, end to end: cache reads and writes reported by the loopback
//! Anthropic and OpenAI servers are charged at their rates, `hypernet cost` books the
//! spend by category against `[budget.targets]` with the savings of caching, compact
//! prompts and local routing, keeps it across a restart, and a tier rule routes a task to
//! the model of its tier. Real binary, real provider plugins, real redb file.

use hypernet_integration::mock_llm::{MockLlm, Reply};
use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};

use crate::util::MOCK_KEYS as KEYS;

/// Files one task and waits for it to complete.
fn run_task(env: &Env, task: Value) -> Value {
    let (status, body) = env.api("/api/tasks", Some(&json!({ "tasks": [task] })));
    assert_eq!(status, 200, "{body}");
    let id = body["tasks"][0]["id"].as_str().expect("an id").to_owned();
    let task = eventually("the task to finish", || {
        let t = env.api(&format!("/api/tasks/{id}"), None).1;
        matches!(t["status"].as_str(), Some("completed" | "failed")).then_some(t)
    });
    assert_eq!(task["status"], "completed", "{task}");
    task
}

fn saving(report: &Value, kind: &str) -> i64 {
    let rows = report["savings"].as_array().expect("savings");
    let row = rows.iter().find(|r| r["kind"] == kind).expect(kind);
    row["today_micros"].as_i64().expect("a number")
}

fn category<'a>(report: &'a Value, name: &str) -> &'a Value {
    let rows = report["categories"].as_array().expect("categories");
    rows.iter().find(|r| r["category"] == name).expect(name)
}

#[test]
fn cached_tokens_are_charged_at_their_rates_and_the_report_books_them() {
    let mock = MockLlm::start();
    // Sonnet writes 2,000 prompt tokens to the cache, then reads them; gpt-4.1 reads 2,000
    // of a 3,000-token prompt.
    mock.script(
        "/v1/messages",
        [
            Reply::anthropic_cached_text("first", 100, 50, 0, 2_000),
            Reply::anthropic_cached_text("second", 100, 50, 2_000, 0),
        ],
    );
    mock.script(
        "/v1/chat/completions",
        [Reply::openai_cached_text("third", 3_000, 100, 2_000)],
    );
    let env = Env::on_mock_providers(
        &mock,
        "anthropic/claude-sonnet-4-5",
        "[personal_time]\nenabled = false\n\
         [router]\nrules = [{ if_tags_any = [\"oa\"], model = \"openai/gpt-4.1\" }]\n\
         [budget]\ndaily_limit_usd = 10.0\n\
         [budget.targets]\nidentity_usd = 0.000001\nwork_usd = 1.0\nheadroom_usd = 1.5\n",
    );
    let host = env.start_with_env(&KEYS);
    let first = run_task(&env, json!({ "title": "Write the first part" }));
    let second = run_task(&env, json!({ "title": "Write the second part" }));
    let third = run_task(
        &env,
        json!({ "title": "Write the third part", "tags": ["oa"] }),
    );

    // Sonnet: $3 in, $0.30 a cached read, $3.75 a cache write, $15 out per million.
    assert_eq!(first["result"]["cache_write_tokens"], 2_000, "{first}");
    assert_eq!(first["result"]["input_tokens"], 2_100);
    assert_eq!(first["result"]["cost_micros"], 100 * 3 + 7_500 + 50 * 15);
    assert_eq!(second["result"]["cache_read_tokens"], 2_000, "{second}");
    assert_eq!(second["result"]["cost_micros"], 100 * 3 + 600 + 50 * 15);
    // gpt-4.1: $2 in, $0.50 a cached read, $8 out per million.
    assert_eq!(third["result"]["cache_read_tokens"], 2_000, "{third}");
    assert_eq!(third["result"]["cost_micros"], 1_000 * 2 + 1_000 + 100 * 8);

    let spent = 8_550 + 1_650 + 3_800;
    // The budget's view is refreshed apart from the tasks'.
    let budget = eventually("the three calls charged", || {
        let b = env.run(&["budget", "--json"]).json();
        (b["spent_today_micros"] == spent).then_some(b)
    });
    let sonnet = &budget["per_model"]["anthropic/claude-sonnet-4-5"];
    assert_eq!(
        (&sonnet["cache_read_tokens"], &sonnet["cache_write_tokens"]),
        (&json!(2_000), &json!(2_000)),
        "{budget}"
    );

    let report = env.run(&["cost", "--json"]).json();
    // Reads saved 2,000 × ($3 − $0.30) and 2,000 × ($2 − $0.50); the write cost
    // 2,000 × ($3.75 − $3) more than plain input.
    assert_eq!(
        saving(&report, "caching"),
        5_400 + 3_000 - 1_500,
        "{report}"
    );
    assert_eq!(report["projection"]["today_micros"], spent);
    let identity = category(&report, "identity");
    let work = category(&report, "work");
    let identity_micros = identity["today_micros"].as_u64().unwrap();
    assert!(
        identity_micros > 0,
        "the identity prompt is booked: {report}"
    );
    assert_eq!(
        identity_micros + work["today_micros"].as_u64().unwrap(),
        spent,
        "{report}"
    );
    assert_eq!(identity["within_target"], false, "{report}");
    assert_eq!(work["within_target"], true, "{report}");
    assert_eq!(report["per_model"]["openai/gpt-4.1"]["calls"], 1);
    assert_eq!(report["per_worker"]["Coder"]["calls"], 3);
    assert_eq!(report["days"].as_array().map(Vec::len), Some(1));
    let projected = report["projection"]["end_of_day_micros"].as_u64().unwrap();
    assert!(projected >= spent, "{report}");

    let text = env.run(&["cost"]).ok().to_owned();
    for needle in [
        "caching",
        "identity",
        "OVER",
        "end_of_month",
        "anthropic/claude-sonnet-4-5",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from:\n{text}");
    }

    // The day's record survives a restart.
    host.stop();
    let _again = env.start_with_env(&KEYS);
    let after = env.run(&["cost", "--json"]).json();
    assert_eq!(after["projection"]["today_micros"], spent);
    assert_eq!(saving(&after, "caching"), saving(&report, "caching"));
    assert_eq!(
        category(&after, "identity")["today_micros"],
        identity["today_micros"]
    );
}

#[test]
fn compact_prompts_and_local_routing_show_their_savings_and_a_tier_rule_routes() {
    let mock = MockLlm::start();
    let env = Env::new();
    env.manifest(&format!(
        "[[plugin]]\nname = \"provider-anthropic\"\ncapabilities = [\"log\"]\n[plugin.config]\n\
         base_url = \"{}\"\napi_key_env = \"HN_TEST_ANTHROPIC_KEY\"\n\n\
         [[plugin]]\nname = \"provider-sim\"\ncapabilities = [\"log\"]\n[plugin.config]\n\
         models = [\"sim/\"]\nlatency_ms = 5\n",
        mock.url()
    ));
    env.config(
        "standing = []\n[personal_time]\nenabled = false\n\
         [router]\nlocal_model = \"sim/default\"\n\
         rules = [{ if_tags_any = [\"docs\"], tier = \"standard\" }]\n\
         [[worker]]\nname = \"Coder\"\naccount = \"2.1\"\nmodel = \"anthropic/claude-sonnet-4-5\"\n",
    );
    let _host = env.start_with_env(&KEYS);
    // A docs task: the tier rule sends it to Sonnet (the standard model named), whose
    // prompt is the compact identity.
    let docs = run_task(
        &env,
        json!({ "title": "Tidy the README", "tags": ["docs"] }),
    );
    assert_eq!(docs["model"], "anthropic/claude-sonnet-4-5", "{docs}");
    assert!(
        docs["route_reason"]
            .as_str()
            .unwrap()
            .ends_with("tier standard"),
        "{docs}"
    );
    // A simple untagged task goes local-first to the free simulated model, in place of Sonnet.
    let local = run_task(&env, json!({ "title": "Say hello" }));
    assert_eq!(local["model"], "sim/default", "{local}");
    assert_eq!(local["result"]["cost_micros"], 0);

    let report = env.run(&["cost", "--json"]).json();
    assert!(saving(&report, "compact_prompts") > 0, "{report}");
    let sim_in = local["result"]["input_tokens"].as_u64().unwrap();
    let sim_out = local["result"]["output_tokens"].as_u64().unwrap();
    assert_eq!(
        saving(&report, "local_routing"),
        (sim_in * 3 + sim_out * 15) as i64,
        "the simulated call priced as Sonnet: {report}"
    );
    assert_eq!(saving(&report, "batch_api"), 0);
}

#[test]
fn a_tier_no_named_model_is_of_is_refused_naming_the_rule() {
    let env = Env::new();
    env.manifest(crate::util::SIM);
    env.config(
        "standing = []\n[router]\nrules = [{ if_tags_any = [\"x\"], tier = \"premium\" }]\n\
         [[worker]]\nname = \"Coder\"\naccount = \"2.1\"\nmodel = \"sim/default\"\n",
    );
    let log = env.try_start().err().expect("the host refuses the config");
    assert!(
        log.contains("router.rules[0]")
            && log.contains("premium")
            && log.contains("local: sim/default"),
        "{log}"
    );
    let bad_days = env.run(&["cost", "--days", "0"]);
    assert_eq!(bad_days.code, Some(2), "a usage error: {bad_days:?}");
    assert!(bad_days.stderr.contains("1..=366"), "{}", bad_days.stderr);
}
