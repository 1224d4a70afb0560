//! What a load balancer and a monitoring system ask the server: `/healthz` (the process is
//! alive and its database answers), `/readyz` (it can take payments: database, schema and
//! Stripe all answer, and it is not stopping), `/metrics` (Prometheus, behind
//! `CHECKOUT_METRICS_TOKEN`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use stripe::StripeRequest;
use stripe_core::payment_intent::ListPaymentIntent;

use crate::server::state::AppState;

/// How long `/readyz` waits for Stripe: a probe must answer before the balancer gives up.
const STRIPE_PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// 200 when the database answers.
pub async fn healthz(State(state): State<Arc<AppState>>) -> (StatusCode, &'static str) {
    match state.orders.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(err) => {
            tracing::error!(%err, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// 200 with each check `ok` when the server can take payments; 503 naming what cannot.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let stopping = state.shutdown.is_stopping();
    let database = state.orders.ping().await.is_ok();
    let schema = database && state.orders.schema_is_current().await.unwrap_or(false);
    let stripe = stripe_answers(&state).await;
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let ready = !stopping && database && schema && stripe;
    if !ready {
        tracing::warn!(stopping, database, schema, stripe, "readiness: not ready");
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if stopping { "stopping" } else { word(ready) },
        "database": word(database),
        "schema": word(schema),
        "stripe": word(stripe),
    });
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// Stripe answers an authenticated read (one PaymentIntent listed) in time.
async fn stripe_answers(state: &AppState) -> bool {
    let list = ListPaymentIntent::new().limit(1);
    let call = list
        .customize()
        .request_strategy(stripe::RequestStrategy::Once)
        .timeout(STRIPE_PROBE_TIMEOUT)
        .send(&state.stripe);
    match call.await {
        Ok(_) => true,
        Err(err) => {
            tracing::warn!(error = %err, "readiness: Stripe did not answer");
            false
        }
    }
}

/// `GET /metrics`: Prometheus' text format for `Authorization: Bearer <CHECKOUT_METRICS_TOKEN>`,
/// 401 otherwise; no such page without the token.
pub async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(exporter) = &state.metrics else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let offered = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !crate::server::security::token_matches(&exporter.token().0, offered) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
            "the metrics need CHECKOUT_METRICS_TOKEN as a bearer token\n",
        )
            .into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        exporter.render(),
    )
        .into_response()
}
