//! `GET /metrics` through the real binary: a scraper reads tasks, workers, model calls and
//! their durations, the budget, the breaker, the plugins and how far subscribers are
//! behind, in the OpenMetrics text format; a plugin disabled at run time shows as down.

use crate::util::{file, wait_for};
use hypernet_integration::{Env, eventually};

/// `name{labels} value` of a scrape, or `None` when the series is absent.
fn value(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?.strip_prefix(' ')?;
        rest.parse().ok()
    })
}

fn scrape(env: &Env) -> String {
    let response = env.request("GET", "/metrics", &[], b"");
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(response.body.ends_with("# EOF\n"), "{}", response.body);
    response.body
}

#[test]
fn a_scrape_shows_the_swarm_its_calls_and_its_plugins() {
    let env = Env::new();
    env.manifest(
        "[[plugin]]\nname = \"provider-sim\"\n[plugin.config]\nlatency_ms = 60\nfailure_rate = 0.0\n\
         [[plugin]]\nname = \"example\"\ncapabilities = [\"kv\"]\n",
    );
    env.config("standing = []\n[personal_time]\nenabled = false\n[identity]\nboot = false\n");
    let _host = env.start();
    let ids: Vec<String> = (0..3)
        .map(|i| file(&env, &format!("Count to {i}")))
        .collect();
    for id in &ids {
        wait_for(&env, id, &["completed"]);
    }
    let text = eventually("the example plugin to catch up", || {
        let text = scrape(&env);
        (value(&text, r#"hypernet_plugin_events_behind{service="example"}"#) == Some(0.0))
            .then_some(text)
    });
    assert_eq!(
        value(&text, r#"hypernet_tasks{status="completed"}"#),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value(&text, r#"hypernet_model_calls_today{model="sim/default"}"#),
        Some(3.0),
        "{text}"
    );
    let series = r#"{model="sim/default",outcome="ok"}"#;
    assert_eq!(
        value(&text, &format!("hypernet_model_call_seconds_count{series}")),
        Some(3.0),
        "{text}"
    );
    let took = value(&text, &format!("hypernet_model_call_seconds_sum{series}")).unwrap();
    assert!(took >= 0.18, "three calls of 60 ms took {took} s");
    let quick = r#"hypernet_model_call_seconds_bucket{le="0.05",model="sim/default",outcome="ok"}"#;
    assert_eq!(value(&text, quick), Some(0.0), "none under 50 ms: {text}");
    assert!(
        value(
            &text,
            r#"hypernet_model_input_tokens_today{model="sim/default"}"#
        )
        .unwrap()
            > 0.0
    );
    assert_eq!(value(&text, r#"hypernet_workers{state="busy"}"#), Some(0.0));
    assert_eq!(value(&text, "hypernet_breaker_open"), Some(0.0));
    assert_eq!(value(&text, "hypernet_budget_paused"), Some(0.0));
    assert!(value(&text, r#"hypernet_budget_dollars{kind="spent_today"}"#).is_some());
    for plugin in ["provider-sim", "example"] {
        let series = format!("hypernet_plugin_loaded{{plugin=\"{plugin}\"}}");
        assert_eq!(value(&text, &series), Some(1.0), "{text}");
    }

    env.run(&["plugins", "disable", "example"]).ok();
    let text = scrape(&env);
    assert_eq!(
        value(&text, r#"hypernet_plugin_loaded{plugin="example"}"#),
        Some(0.0),
        "{text}"
    );
}
