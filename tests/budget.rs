//! The budget end to end: paid calls stop at the daily limit without failing, `hypernet
//! budget` reports it, raising the limit through the API resumes them, and the day's spend
//! survives a restart; a free model keeps working meanwhile. Real binary, real provider-sim
//! library, real redb file.

use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};

/// Workers A on `paid/x` and B on `b_model`. Each paid call reserves and costs 64 output
/// tokens × $1000/Mtok = $0.064, so a $0.25 limit allows three calls; `free/` is not a
/// local prefix but is priced at 0.
fn setup(env: &Env, b_model: &str, daily_usd: f64) {
    env.manifest(
        "[[plugin]]\nname = \"provider-sim\"\ncapabilities = [\"log\"]\n[plugin.config]\n\
         models = [\"sim/\", \"paid/\", \"free/\"]\nlocal = false\nlatency_ms = 20\n\
         output_tokens = 64\n",
    );
    env.config(&format!(
        "standing = []\n\
         [personal_time]\nenabled = false\n\
         [[worker]]\nname = \"A\"\naccount = \"2.1\"\nmodel = \"paid/x\"\n\
         [[worker]]\nname = \"B\"\naccount = \"2.2\"\nmodel = \"{b_model}\"\n\
         [limits]\nmax_tokens = 64\n\
         [budget]\ndaily_limit_usd = {daily_usd:?}\n\
         [budget.prices]\n\"paid/\" = {{ input_per_mtok = 0.0, output_per_mtok = 1000.0 }}\n\
         \"free/\" = {{ input_per_mtok = 0.0, output_per_mtok = 0.0 }}\n",
    ));
}

fn statuses(env: &Env) -> Vec<String> {
    env.api("/api/tasks?limit=100", None).1["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|t| t["status"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn count(env: &Env, status: &str) -> usize {
    statuses(env).iter().filter(|s| *s == status).count()
}

fn budget(env: &Env) -> Value {
    env.run(&["budget", "--json"]).json()
}

#[test]
fn paid_work_waits_at_the_limit_resumes_when_raised_and_spend_survives_a_restart() {
    let env = Env::new();
    setup(&env, "paid/x", 0.25);
    let host = env.start();
    let tasks: Vec<Value> = (0..6)
        .map(|i| json!({ "title": format!("paid task {i}") }))
        .collect();
    let (code, body) = env.api("/api/tasks", Some(&json!({ "tasks": tasks })));
    assert_eq!(code, 200, "{body}");

    eventually("three calls to complete and the budget to pause", || {
        let b = budget(&env);
        (count(&env, "completed") == 3 && b["paused"] == true && b["reservations"] == 0)
            .then_some(())
    });
    let statuses = statuses(&env);
    assert_eq!(
        statuses.iter().filter(|s| *s == "ready").count(),
        3,
        "the rest wait, ready: {statuses:?}"
    );
    assert!(!statuses.iter().any(|s| s == "failed"), "{statuses:?}");
    let b = budget(&env);
    assert_eq!(b["spent_today_micros"], 192_000, "{b}");
    assert_eq!(b["daily_limit_micros"], 250_000, "{b}");
    assert_eq!(b["per_model"]["paid/x"]["calls"], 3, "{b}");
    let text = env.run(&["budget"]).ok().to_owned();
    assert!(text.contains("paused") && text.contains("paid/x"), "{text}");
    let show = env.run(&["task", "show", "T-1"]).ok().to_owned();
    assert!(show.contains("paid/x (worker's model)"), "{show}");

    let (code, body) = env.api("/api/budget", Some(&json!({ "daily_limit_usd": 1.0 })));
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["daily_limit_micros"], 1_000_000, "{body}");
    eventually("the waiting tasks to complete", || {
        (count(&env, "completed") == 6).then_some(())
    });
    eventually("the budget to resume", || {
        (budget(&env)["paused"] == false).then_some(())
    });
    assert_eq!(budget(&env)["spent_today_micros"], 384_000);
    assert_eq!(host.stop(), Some(0));

    let _host = env.start();
    let b = budget(&env);
    assert_eq!(
        b["spent_today_micros"], 384_000,
        "today's spend survives: {b}"
    );
    assert_eq!(b["spent_session_micros"], 0, "a new session: {b}");
    assert_eq!(b["per_worker"].as_object().map(|w| w.len()), Some(2), "{b}");
}

#[test]
fn a_free_model_keeps_working_while_the_paid_budget_is_exhausted() {
    let env = Env::new();
    // No paid call fits a zero budget.
    setup(&env, "free/x", 0.0);
    let host = env.start();
    let tasks: Vec<Value> = (0..4)
        .map(|i| json!({ "title": format!("task {i}") }))
        .collect();
    let (code, body) = env.api("/api/tasks", Some(&json!({ "tasks": tasks })));
    assert_eq!(code, 200, "{body}");
    eventually("every task to complete on the free model", || {
        (count(&env, "completed") == 4).then_some(())
    });
    let b = budget(&env);
    assert_eq!(b["per_model"]["free/x"]["calls"], 4, "{b}\n{}", host.log());
    assert_eq!(b["per_model"]["paid/x"], Value::Null, "{b}");
    assert_eq!(b["spent_today_micros"], 0, "{b}");
}

#[test]
fn a_call_is_priced_before_it_is_made_with_its_models_tier() {
    let env = Env::new();
    setup(&env, "sim/default", 1.0);
    let _host = env.start();

    let mini = env.run(&[
        "cost",
        "estimate",
        "--model",
        "openai/gpt-4o-mini",
        "--tokens",
        "10000",
        "--output-tokens",
        "1000",
    ]);
    assert_eq!(
        mini.ok(),
        "model:  openai/gpt-4o-mini (budget tier; priced as `openai/gpt-4o-mini`)\n\
         price:  $0.15 in, $0.6 out per million tokens\n\
         tokens: 10000 in, 1000 out\n\
         cost:   $0.002100\n"
    );
    let configured = env
        .run(&[
            "cost",
            "estimate",
            "--model",
            "paid/x",
            "--tokens",
            "0",
            "--output-tokens",
            "64",
            "--json",
        ])
        .json();
    assert_eq!(configured["priced_as"], "paid/", "{configured}");
    assert_eq!(configured["tier"], "premium");
    assert_eq!(
        configured["cost_micros"], 64_000,
        "what the budget charges for it"
    );
    let local = env
        .run(&[
            "cost",
            "estimate",
            "--model",
            "sim/default",
            "--tokens",
            "5000",
            "--json",
        ])
        .json();
    assert_eq!(
        (local["tier"].as_str(), local["cost_micros"].as_u64()),
        (Some("local"), Some(0))
    );
    let unknown = env.run(&[
        "cost",
        "estimate",
        "--model",
        "mystery/x",
        "--tokens",
        "1000",
    ]);
    assert!(
        unknown
            .ok()
            .contains("premium tier; no price known: charged at the highest built-in price"),
        "{}",
        unknown.stdout
    );

    let (code, refused) = env.api("/api/cost/estimate?input_tokens=5", None);
    assert_eq!(code, 400, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("model"),
        "{refused}"
    );
}
