//! Operations endpoints: liveness, readiness, the OpenAPI document, and
//! metrics (served on their own listener).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::ApiDoc;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`, `degraded` (the bus is away: local connections still work),
    /// `unavailable` (the store is away) or `shutting_down`.
    pub status: &'static str,
    pub store: &'static str,
    pub bus: &'static str,
    pub node_id: String,
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The store and the bus answer.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses(
        (status = 200, description = "Ready, or degraded without the bus", body = Readiness),
        (status = 503, description = "The store is unreachable, or shutting down", body = Readiness),
    ))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let store_ok = state.app.store().ping().await.is_ok();
    let bus_ok = state.hub.bus().ping().await.is_ok();
    let status = if state.hub.is_shutting_down() {
        "shutting_down"
    } else if !store_ok {
        "unavailable"
    } else if !bus_ok {
        "degraded"
    } else {
        "ready"
    };
    let code = if matches!(status, "ready" | "degraded") {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        status,
        store: if store_ok { "ok" } else { "unreachable" },
        bus: if bus_ok { "ok" } else { "unreachable" },
        node_id: state.hub.node().to_string(),
    };
    (code, Json(body))
}

/// Prometheus metrics in the text exposition format, on the metrics
/// listener only (`crate::http::metrics_router`): not part of the API.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.hub.metrics().render(),
    )
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "ops",
    responses((status = 200, description = "The OpenAPI description of the HTTP API", content_type = "application/json", body = Object)))]
pub async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}
