//! `GET /metrics`: the host in the Prometheus/OpenMetrics text format, for a scraper. Call
//! durations are histograms observed as calls end; everything else is read when scraped —
//! the scheduler's snapshot (tasks, workers, today's calls, tokens and cost by model, the
//! budget, the breaker), the plugins' states and how far each subscriber is behind the
//! event log.

use super::AppState;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// The media type of the answer.
pub const CONTENT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A family of gauges over one label named `label`, its values set now.
fn gauges<'a>(
    registry: &mut Registry,
    name: &str,
    help: &str,
    label: &'static str,
    values: impl IntoIterator<Item = (&'a str, f64)>,
) {
    let family: Family<Vec<(String, String)>, Gauge<f64, AtomicU64>> = Family::default();
    for (value, n) in values {
        family
            .get_or_create(&vec![(label.to_owned(), value.to_owned())])
            .set(n);
    }
    registry.register(name, help, family);
}

/// One gauge with no labels.
fn gauge(registry: &mut Registry, name: &str, help: &str, value: f64) {
    let gauge: Gauge<f64, AtomicU64> = Gauge::default();
    gauge.set(value);
    registry.register(name, help, gauge);
}

/// The figures as text.
pub fn render(state: &AppState) -> String {
    let mut registry = Registry::with_prefix("hypernet");
    let (counts, budget, breaker) = state
        .scheduler
        .read_snapshot(|s| (s.counts.clone(), s.budget.clone(), s.breaker.clone()));
    let tasks = counts.by_status.iter().chain(&counts.finished);
    gauges(
        &mut registry,
        "tasks",
        "Tasks by status: the unfinished ones held, and every finished one stored",
        "status",
        tasks.map(|(s, n)| (s.as_str(), *n as f64)),
    );
    let idle = counts.workers.saturating_sub(counts.busy_workers);
    gauges(
        &mut registry,
        "workers",
        "Workers, busy (holding a task) or idle",
        "state",
        [("busy", counts.busy_workers as f64), ("idle", idle as f64)],
    );
    let per_model = |f: fn(&hypernet_swarm::budget::Usage) -> f64| {
        budget
            .per_model
            .iter()
            .map(move |(m, u)| (m.as_str(), f(u)))
            .collect::<Vec<_>>()
    };
    gauges(
        &mut registry,
        "model_calls_today",
        "Model calls since the budget's daily reset, by model",
        "model",
        per_model(|u| u.calls as f64),
    );
    gauges(
        &mut registry,
        "model_input_tokens_today",
        "Input tokens since the budget's daily reset, by model",
        "model",
        per_model(|u| u.input_tokens as f64),
    );
    gauges(
        &mut registry,
        "model_output_tokens_today",
        "Output tokens since the budget's daily reset, by model",
        "model",
        per_model(|u| u.output_tokens as f64),
    );
    gauges(
        &mut registry,
        "model_cost_dollars_today",
        "Spend since the budget's daily reset, by model, in dollars",
        "model",
        per_model(|u| u.cost_micros as f64 / 1e6),
    );
    let dollars = |micros: u64| micros as f64 / 1e6;
    let mut spend = vec![
        ("spent_today", dollars(budget.spent_today_micros)),
        ("spent_session", dollars(budget.spent_session_micros)),
        ("reserved", dollars(budget.reserved_micros)),
    ];
    spend.extend(
        budget
            .daily_limit_micros
            .map(|m| ("daily_limit", dollars(m))),
    );
    spend.extend(
        budget
            .session_limit_micros
            .map(|m| ("session_limit", dollars(m))),
    );
    gauges(
        &mut registry,
        "budget_dollars",
        "The budget: spent today and this session, reserved by calls in flight, the limits set",
        "kind",
        spend,
    );
    gauge(
        &mut registry,
        "budget_paused",
        "1 while paid work is paused by the budget",
        f64::from(u8::from(budget.paused)),
    );
    gauge(
        &mut registry,
        "breaker_open",
        "1 while the failure ladder's circuit breaker stops paid calls",
        f64::from(u8::from(breaker.open)),
    );
    let statuses = state.registry.statuses();
    gauges(
        &mut registry,
        "plugin_loaded",
        "1 for each plugin running, 0 for one disabled or failed",
        "plugin",
        statuses.iter().map(|p| {
            let up = p.state == hypernet_engine::PluginState::Loaded;
            (p.name.as_str(), f64::from(u8::from(up)))
        }),
    );
    let deliveries: Vec<_> = statuses.iter().flat_map(|p| &p.deliveries).collect();
    gauges(
        &mut registry,
        "plugin_events_behind",
        "Logged events a subscribing plugin service has not handled yet, by its address",
        "service",
        deliveries
            .iter()
            .map(|d| (d.address.as_str(), d.behind as f64)),
    );
    gauges(
        &mut registry,
        "plugin_events_dropped",
        "Events a plugin service never received because it stayed away past the log's retention",
        "service",
        deliveries
            .iter()
            .map(|d| (d.address.as_str(), d.dropped as f64)),
    );
    state.scheduler.call_metrics().register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)
        .expect("writing to a String does not fail");
    text
}

/// Show the host's figures in the OpenMetrics text format (Prometheus reads it).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "host",
    operation_id = "metrics",
    responses((
        status = 200,
        description = "Tasks by status, workers, model calls, tokens and cost by model today, call durations, the budget, the breaker, the plugins",
        body = String,
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8",
    )),
)]
pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    ([(CONTENT_TYPE, CONTENT)], render(&state)).into_response()
}
