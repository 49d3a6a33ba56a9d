//! Cost routes: `GET /api/cost` shows where the money went (by day, model, worker and
//! category against the targets, the savings, a projection); `GET /api/cost/estimate`
//! prices a call before it is made, with the model's tier and where its price comes from.

use super::extract::Query;
use super::openapi::refusals::StoreFailed;
use super::{ApiError, AppState, ErrorBody, blocking};
use axum::Json;
use axum::extract::State;
use hypernet_swarm::budget::prices::Estimate;
use hypernet_swarm::budget::report::CostReport;
use serde::Deserialize;

/// `?days=`.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Budget days to cover, today's included (1–366, default 7).
    #[param(minimum = 1, maximum = 366)]
    pub days: Option<u64>,
}

/// Where the money went over the last days: spend by day, model, worker and category
/// (identity prompt, work, personal time, boot) against the targets of
/// `[budget.targets]`, what compact prompts, caching, local routing, batching and batch
/// APIs saved, and the spend projected to the end of the day and of the month.
#[utoipa::path(
    get,
    path = "/api/cost",
    tag = "budget",
    operation_id = "cost_report",
    params(ReportQuery),
    responses(
        (status = 200, description = "The report", body = CostReport),
        (status = 400, description = "`invalid`: an unknown parameter or `days` out of range", body = ErrorBody),
        StoreFailed,
    ),
)]
pub(super) async fn report(
    State(state): State<AppState>,
    Query(q): Query<ReportQuery>,
) -> Result<Json<CostReport>, ApiError> {
    let days = super::budget::days_param(q.days, 7)?;
    let scheduler = state.scheduler.clone();
    Ok(Json(blocking(move || scheduler.cost_report(days)).await?))
}

/// `?model=&input_tokens=&output_tokens=`.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EstimateQuery {
    /// The model, as a worker or the router names it (`anthropic/claude-sonnet-4-5`).
    pub model: String,
    /// Input tokens of the call.
    pub input_tokens: u64,
    /// Output tokens of the call (default 0).
    #[serde(default)]
    pub output_tokens: u64,
}

/// Price a call: the model's tier, its price per million tokens and where that comes from,
/// and the cost of the tokens given (rounded up to the micro-dollar, as calls are charged).
#[utoipa::path(
    get,
    path = "/api/cost/estimate",
    tag = "budget",
    operation_id = "estimate_cost",
    params(EstimateQuery),
    responses(
        (status = 200, description = "The estimate", body = Estimate),
        (status = 400, description = "`invalid`: a missing or empty model, a token count that is not a number, or an unknown parameter", body = ErrorBody),
    ),
)]
pub(super) async fn estimate(
    State(state): State<AppState>,
    Query(q): Query<EstimateQuery>,
) -> Result<Json<Estimate>, ApiError> {
    if q.model.trim().is_empty() {
        return Err(ApiError::invalid("`model` must name a model"));
    }
    Ok(Json(state.scheduler.estimate(
        &q.model,
        q.input_tokens,
        q.output_tokens,
    )))
}
