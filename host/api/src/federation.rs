//! `GET /api/federation`: this swarm's peers, their capabilities and load, and the tasks
//! delegated in and out.

use super::AppState;
use axum::Json;
use axum::extract::State;
use hypernet_swarm::scheduler::core::delegation::FederationView;

/// Show the peers and the tasks crossing swarms.
#[utoipa::path(
    get,
    path = "/api/federation",
    tag = "federation",
    operation_id = "show_federation",
    responses((status = 200, description = "Peers and delegated tasks (`enabled: false` when federation is off)", body = FederationView)),
)]
pub(super) async fn show(State(state): State<AppState>) -> Json<FederationView> {
    Json(state.scheduler.federation().await)
}
