//! Budget routes: `GET /api/budget` shows limits and spend; `POST /api/budget` changes
//! the limits at run time (the scheduler applies them and tries waiting paid work again).

use super::{ApiError, AppState};
use crate::budget::BudgetView;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;

/// Body of `POST /api/budget`: the limits to change, in USD.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetBudget {
    /// New daily limit.
    #[serde(default)]
    daily_limit_usd: Option<f64>,
    /// New session limit.
    #[serde(default)]
    session_limit_usd: Option<f64>,
}

pub(super) async fn show(State(state): State<AppState>) -> Json<BudgetView> {
    Json(state.scheduler.snapshot().budget)
}

pub(super) async fn set(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<BudgetView>, ApiError> {
    let body: SetBudget =
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid(format!("budget: {e}")))?;
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
    Ok(Json(view))
}
