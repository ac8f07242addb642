use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use ichido_domain::Store;

use crate::app::AppState;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers and its writer runs.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, body = String), (status = 503, body = String)))]
pub async fn readyz(State(app): State<AppState>) -> (StatusCode, &'static str) {
    // Reads alone would answer while every write fails.
    if !app.ichido.store.writer_health().is_up() {
        tracing::warn!("not ready: the database writer is down");
        return (StatusCode::SERVICE_UNAVAILABLE, "database writer down");
    }
    match app.ichido.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, body = String)))]
pub async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    let health = app.ichido.store.writer_health();
    app.metrics.writer_up.set(i64::from(health.is_up()));
    app.metrics
        .writer_restarts
        .set(i64::try_from(health.restarts()).unwrap_or(i64::MAX));
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.encode(),
    )
}
