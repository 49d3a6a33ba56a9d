//! Status and summary routes: what the swarm is doing now and totals over every task.

use super::{ApiError, AppState, blocking};
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub(super) async fn status(State(state): State<AppState>) -> Json<Value> {
    let snap = state.scheduler.snapshot();
    let plugins = state.registry.statuses();
    let loaded = plugins
        .iter()
        .filter(|p| p.state.label() == "loaded")
        .count();
    Json(json!({
        "tasks": snap.counts.by_status,
        "workers": { "total": snap.counts.workers, "busy": snap.counts.busy_workers },
        "plugins": { "total": plugins.len(), "loaded": loaded },
        "batches_written": snap.batches,
        "uptime_ms": crate::bus::now_ms().saturating_sub(snap.started_ms),
    }))
}

/// Totals over every stored task.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Tasks by status.
    pub by_status: BTreeMap<String, u64>,
    /// Completed tasks by model.
    pub by_model: BTreeMap<String, u64>,
    /// Input plus output tokens of completed tasks.
    pub tokens: u64,
    /// Cost of completed tasks in micro-dollars.
    pub cost_micros: u64,
    /// All tasks.
    pub total: u64,
}

pub(super) async fn summary(State(state): State<AppState>) -> Result<Json<Summary>, ApiError> {
    let store = state.registry.store().clone();
    let summary = blocking(move || {
        let mut s = Summary::default();
        store.for_each_task(|t| {
            s.total += 1;
            *s.by_status.entry(t.status.to_string()).or_default() += 1;
            if let Some(r) = &t.result {
                *s.by_model.entry(r.model.clone()).or_default() += 1;
                s.tokens += r.input_tokens + r.output_tokens;
                s.cost_micros += r.cost_micros;
            }
        })?;
        Ok::<_, crate::store::StoreError>(s)
    })
    .await?;
    Ok(Json(summary))
}
