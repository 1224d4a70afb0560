//! Test controls under `/_emulator/` (never under `/v1/`): reset, clock, faults.
//!
//! They take no key, so they answer only what a web page on another site cannot send: the
//! `Host` must be a loopback address (no DNS rebinding), and a POST must carry a JSON
//! content type, which a cross-site page can only send after a CORS preflight that the
//! emulator grants to loopback origins alone.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::faults::FaultRule;
use crate::Emulator;

pub fn router() -> Router<Arc<Emulator>> {
    Router::new()
        .route("/reset", post(reset))
        .route("/clock", get(clock))
        .route("/clock/advance", post(advance))
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/state", get(state))
        .layer(axum::middleware::from_fn(local_scripts_only))
}

async fn local_scripts_only(request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !crate::server::loopback_origin(&format!("http://{host}")) {
        let error = "the emulator's controls answer only requests addressed to a loopback host";
        return (StatusCode::FORBIDDEN, Json(json!({ "error": error }))).into_response();
    }
    let json_body = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if request.method() == Method::POST && !json_body {
        let error = "send controls with Content-Type: application/json (a cross-site page cannot, without a preflight)";
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Json(json!({ "error": error })),
        )
            .into_response();
    }
    next.run(request).await
}

async fn reset(State(emulator): State<Arc<Emulator>>) -> StatusCode {
    emulator.reset();
    StatusCode::NO_CONTENT
}

async fn clock(State(emulator): State<Arc<Emulator>>) -> Response {
    Json(json!({ "now": emulator.clock.now() })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: i64,
}

async fn advance(
    State(emulator): State<Arc<Emulator>>,
    body: Result<Json<Advance>, axum::extract::rejection::JsonRejection>,
) -> Response {
    match body {
        Ok(Json(Advance { seconds })) if seconds >= 0 => {
            emulator.clock.advance(seconds);
            emulator.save();
            Json(json!({ "now": emulator.clock.now() })).into_response()
        }
        Ok(_) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "seconds must be zero or more: the clock only moves forward" })),
        )
            .into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": e.body_text() })),
        )
            .into_response(),
    }
}

async fn list_faults(State(emulator): State<Arc<Emulator>>) -> Response {
    Json(json!({ "faults": emulator.faults.list() })).into_response()
}

async fn add_fault(
    State(emulator): State<Arc<Emulator>>,
    body: Result<Json<FaultRule>, axum::extract::rejection::JsonRejection>,
) -> Response {
    match body {
        Ok(Json(rule)) if rule.path.starts_with('/') && rule.count > 0 => {
            emulator.faults.add(rule.clone());
            (StatusCode::CREATED, Json(json!({ "fault": rule }))).into_response()
        }
        Ok(_) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "path must start with / and count must be at least 1" })),
        )
            .into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": e.body_text() })),
        )
            .into_response(),
    }
}

async fn clear_faults(State(emulator): State<Arc<Emulator>>) -> StatusCode {
    emulator.faults.clear();
    StatusCode::NO_CONTENT
}

/// Counts of what the account holds, by status: what tests assert about (no secrets shown).
async fn state(State(emulator): State<Arc<Emulator>>) -> Response {
    let now = emulator.clock.now();
    let mut store = emulator.lock_store();
    let ids: Vec<String> = store.payment_intents.keys().cloned().collect();
    let mut intents = Vec::new();
    for id in ids {
        if let Ok(pi) = crate::resources::payment_intent::load(&mut store, &id, now) {
            intents.push(json!({
                "id": pi.id,
                "status": pi.status.as_str(),
                "amount": pi.amount,
                "currency": pi.currency,
                "metadata": pi.metadata,
                "latest_charge": pi.latest_charge,
            }));
        }
    }
    let charges: Vec<_> = store
        .charges
        .values()
        .map(|c| json!({ "id": c.id, "payment_intent": c.payment_intent, "status": if c.succeeded() { "succeeded" } else { "failed" }, "amount": c.amount, "captured": c.captured }))
        .collect();
    Json(json!({
        "payment_intents": intents,
        "charges": charges,
        "payment_methods": store.payment_methods.len(),
        "customers": store.customers.len(),
        "refunds": store.refunds.len(),
    }))
    .into_response()
}
