//! The failure ladder through the real binary, the real `provider-openai` plugin and the
//! loopback mock LLM: a rate-limited worker is suspended while the others keep working; a
//! worker out of credits is suspended (its task failed at once) until a one-token probe to
//! its model succeeds.

use crate::util::{OPENAI_KEY, file};
use hypernet_integration::mock_llm::{MockLlm, Reply};
use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};

/// Workers on paid (non-local) models, so the ladder applies to them.
fn world(mock: &MockLlm, ladder: &str, workers: &[&str]) -> Env {
    let env = Env::new();
    env.manifest(&format!(
        "[[plugin]]\nname = \"provider-openai\"\ncapabilities = [\"log\"]\n[plugin.config]\nbase_url = \"{}\"\napi_key_env = \"HN_TEST_OPENAI_KEY\"\n",
        mock.openai_base_url()
    ));
    let mut config = format!(
        "standing = []\n[personal_time]\nenabled = false\n[scheduler]\nretry_backoff_ms = 100\nreserve = false\n[http]\nmax_retries = 0\nstream = false\n[ladder]\n{ladder}\n"
    );
    for w in workers {
        config.push_str(&format!(
            "\n[[worker]]\nname = \"{w}\"\nmodel = \"openai/gpt-4o-mini\"\n"
        ));
    }
    env.config(&config);
    env
}

fn finished(env: &Env, id: &str) -> Value {
    eventually(&format!("{id} to complete"), || {
        let t = env.api(&format!("/api/tasks/{id}"), None).1;
        (t["status"] == "completed").then_some(t)
    })
}

fn worker(env: &Env, name: &str) -> Value {
    env.api(&format!("/api/workers/{name}"), None).1
}

#[test]
fn a_rate_limited_worker_is_suspended_and_the_others_keep_working() {
    let mock = MockLlm::start();
    let env = world(&mock, "rate_limit_ms = 600000", &["First", "Second"]);
    mock.script(
        "/v1/chat/completions",
        [Reply::openai_error(
            429,
            "requests",
            "rate_limit_exceeded",
            "slow down",
        )],
    );
    let host = env.start_with_env(&OPENAI_KEY);
    let first = file(&env, "Hit the limit");
    let t = finished(&env, &first);
    assert_eq!(t["worker"], "Second", "{t}\n{}", host.log());
    let w = worker(&env, "First");
    assert_eq!(w["suspension_reason"], "rate limited", "{w}");
    assert!(w["suspended_until_ms"].as_u64().is_some(), "{w}");
    assert!(worker(&env, "Second")["suspended_until_ms"].is_null());
    for i in 0..3 {
        let id = file(&env, &format!("Later work {i}"));
        let t = finished(&env, &id);
        assert_eq!(
            t["worker"], "Second",
            "a suspended worker gets no call: {t}"
        );
    }
    // One failed call plus four answers: no probe before the suspension's time.
    assert_eq!(mock.requests_to("/v1/chat/completions").len(), 5);
    let status = env.api("/api/status", None).1;
    assert_eq!(status["breaker"]["open"], false, "{status}");
    assert_eq!(status["breaker"]["consecutive_failures"], 0, "{status}");
}

#[test]
fn a_worker_out_of_credits_resumes_only_after_a_probe_succeeds() {
    let mock = MockLlm::start();
    let env = world(&mock, "credit_recheck_ms = 1500", &["Solo"]);
    mock.script("/v1/chat/completions", [Reply::openai_quota_exhausted()]);
    let host = env.start_with_env(&OPENAI_KEY);
    let spent = file(&env, "Spend money");
    let w = eventually("the worker to be suspended", || {
        let w = worker(&env, "Solo");
        w["suspended_until_ms"].as_u64().map(|_| w)
    });
    assert_eq!(w["suspension_reason"], "credits exhausted", "{w}");
    // Exhausted credits cannot succeed on another attempt: the task fails at once.
    let t = env.api(&format!("/api/tasks/{spent}"), None).1;
    assert_eq!(
        (&t["status"], &t["attempts"]),
        (&json!("failed"), &json!(1)),
        "{t}"
    );
    eventually("the worker to resume", || {
        worker(&env, "Solo")["suspended_until_ms"]
            .is_null()
            .then_some(())
    });
    let later = file(&env, "Spend again");
    finished(&env, &later);
    // The failed call, the probes (one token: the worker's and the route's), then the new
    // task: it waited for the probes.
    let calls = mock.requests_to("/v1/chat/completions");
    let limits: Vec<Value> = calls
        .iter()
        .map(|c| {
            let body = c.json();
            body.get("max_completion_tokens")
                .or_else(|| body.get("max_tokens"))
                .cloned()
                .unwrap_or(Value::Null)
        })
        .collect();
    assert_eq!(limits.len(), 4, "{limits:?}\n{}", host.log());
    assert_ne!(limits[0], json!(1));
    assert_eq!(limits[1..3], [json!(1), json!(1)], "{limits:?}");
    assert_ne!(limits[3], json!(1));
    let log = host.log();
    assert!(
        log.contains("worker resumed") && log.contains("route resumed"),
        "{log}"
    );
}
