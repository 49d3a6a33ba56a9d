//! Budget routes: `GET /api/budget` shows limits and spend; `POST /api/budget` changes
//! the limits at run time (the scheduler applies them and tries waiting paid work again;
//! the change is an audit entry);
//! `GET /api/budget/history` is spend day by day.

use super::extract::{self, Query};
use super::openapi::refusals::StoreFailed;
use super::{ApiError, AppState, ErrorBody, blocking};
use axum::Json;
use axum::extract::State;
use hypernet_swarm::budget::BudgetView;
use hypernet_swarm::persist::TaskTables;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Body of `POST /api/budget`: the limits to change, in USD.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetBudget {
    /// New daily limit.
    #[serde(default)]
    daily_limit_usd: Option<f64>,
    /// New session limit.
    #[serde(default)]
    session_limit_usd: Option<f64>,
}

/// Show the limits, the spend (by model and by worker) and the reservations of calls in
/// flight.
#[utoipa::path(
    get,
    path = "/api/budget",
    tag = "budget",
    operation_id = "show_budget",
    responses((status = 200, description = "The budget", body = BudgetView)),
)]
pub(super) async fn show(State(state): State<AppState>) -> Json<BudgetView> {
    Json(state.scheduler.read_snapshot(|s| s.budget.clone()))
}

/// Raise or lower the limits at run time; waiting paid work is tried again.
#[utoipa::path(
    post,
    path = "/api/budget",
    tag = "budget",
    operation_id = "set_budget",
    request_body = SetBudget,
    responses(
        (status = 200, description = "The budget after the change", body = BudgetView),
        (status = 400, description = "`invalid`: no limit given, a negative or non-finite one, or an unknown field", body = ErrorBody),
    ),
)]
pub(super) async fn set(
    State(state): State<AppState>,
    extract::Json(body): extract::Json<SetBudget>,
) -> Result<Json<BudgetView>, ApiError> {
    for (key, value) in [
        ("daily_limit_usd", body.daily_limit_usd),
        ("session_limit_usd", body.session_limit_usd),
    ] {
        if let Some(v) = value
            && !(v >= 0.0 && v.is_finite())
        {
            return Err(ApiError::invalid(format!(
                "budget: `{key}` must be a non-negative number, not {v}"
            )));
        }
    }
    if body.daily_limit_usd.is_none() && body.session_limit_usd.is_none() {
        return Err(ApiError::invalid(
            "budget: give `daily_limit_usd`, `session_limit_usd` or both",
        ));
    }
    let view = state
        .scheduler
        .set_budget(body.daily_limit_usd, body.session_limit_usd)
        .await?;
    let detail = serde_json::json!({
        "via": "api",
        "daily_limit_usd": body.daily_limit_usd,
        "session_limit_usd": body.session_limit_usd,
        "daily_limit_micros": view.daily_limit_micros,
        "session_limit_micros": view.session_limit_micros,
    });
    super::audit::record(
        &state,
        hypernet_swarm::audit::AuditKind::BudgetChange,
        detail,
    )
    .await;
    Ok(Json(view))
}

/// `?days=` of `GET /api/budget/history`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Days back, today included (default 14, at most 366).
    #[param(minimum = 1, maximum = 366)]
    days: Option<u64>,
}

/// Spend of one UTC day, by when tasks finished.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Day {
    /// The date, `YYYY-MM-DD`.
    pub day: String,
    /// Cost of the tasks completed that day, in micro-dollars.
    pub cost_micros: u64,
    /// Their input plus output tokens.
    pub tokens: u64,
    /// Tasks completed that day.
    pub tasks: u64,
}

/// Spend day by day, oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct History {
    /// One entry per day, days without spend included.
    pub days: Vec<Day>,
}

const DAY_MS: u64 = 86_400_000;

/// A `days` parameter (1–366), `default` when absent.
pub(super) fn days_param(days: Option<u64>, default: u64) -> Result<u64, ApiError> {
    let days = days.unwrap_or(default);
    if !(1..=366).contains(&days) {
        return Err(ApiError::invalid(format!(
            "`days` must be between 1 and 366, not {days}"
        )));
    }
    Ok(days)
}

/// Show spend per UTC day, by when tasks finished.
#[utoipa::path(
    get,
    path = "/api/budget/history",
    tag = "budget",
    operation_id = "budget_history",
    params(HistoryQuery),
    responses(
        (status = 200, description = "One entry per day, oldest first", body = History),
        (status = 400, description = "`invalid`: an unknown parameter or `days` out of range", body = ErrorBody),
        StoreFailed,
    ),
)]
pub(super) async fn history(
    State(state): State<AppState>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<History>, ApiError> {
    let days = days_param(q.days, 14)?;
    let today = hypernet_model::clock::now_ms() / DAY_MS;
    let first = today.saturating_sub(days - 1);
    let store = state.registry.store().clone();
    let by_day = blocking(move || {
        let mut by_day: BTreeMap<u64, Day> = BTreeMap::new();
        store.for_each_task(|t| {
            if let (Some(r), Some(at)) = (&t.result, t.finished_ms)
                && at / DAY_MS >= first
            {
                let day = by_day.entry(at / DAY_MS).or_default();
                day.cost_micros += r.cost_micros;
                day.tokens += r.input_tokens + r.output_tokens;
                day.tasks += 1;
            }
        })?;
        Ok::<_, hypernet_store::StoreError>(by_day)
    })
    .await?;
    Ok(Json(History {
        days: (first..=today)
            .map(|d| Day {
                day: hypernet_model::clock::rfc3339_ms(d * DAY_MS)[..10].to_owned(),
                ..by_day.get(&d).cloned().unwrap_or_default()
            })
            .collect(),
    }))
}
