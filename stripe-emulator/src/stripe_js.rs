//! The Stripe.js v3 stand-in: the script at `/v3/`, the card iframe it mounts, and the
//! 3-D Secure challenge it opens (with "Complete authentication" / "Fail authentication").

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::ApiError;
use crate::form::Form;
use crate::resources::payment_intent;
use crate::server::RequestId;
use crate::Emulator;

const SCRIPT: &str = include_str!("../assets/stripe-v3.js");
const CARD_FRAME: &str = include_str!("../assets/card-frame.html");
const CHALLENGE: &str = include_str!("../assets/challenge.html");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

pub async fn script() -> Response {
    asset("application/javascript; charset=utf-8", SCRIPT)
}

pub async fn card_frame() -> Response {
    asset("text/html; charset=utf-8", CARD_FRAME)
}

pub async fn challenge_page() -> Response {
    asset("text/html; charset=utf-8", CHALLENGE)
}

/// The cardholder's answer from the challenge page: `client_secret` and `outcome`.
pub async fn authenticate(
    State(emulator): State<Arc<Emulator>>,
    axum::Extension(RequestId(request_id)): axum::Extension<RequestId>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let result = (|| {
        let mut form = Form::parse(&body)?;
        let secret = form.require_str("client_secret")?;
        let passed = match form.require_str("outcome")?.as_str() {
            "complete" => true,
            "fail" => false,
            other => {
                return Err(ApiError::invalid_value(
                    "outcome",
                    format!("Invalid outcome: {other}"),
                ))
            }
        };
        form.finish()?;
        let now = emulator.clock.now();
        let mut store = emulator.lock_store();
        payment_intent::authenticate(&mut store, &id, &secret, passed, now)?;
        Ok(payment_intent::get(&store, &id)?.status.as_str())
    })();
    emulator.save();
    match result {
        Ok(status) => (StatusCode::OK, axum::Json(json!({ "status": status }))).into_response(),
        Err(err) => (err.status, axum::Json(err.body(&request_id))).into_response(),
    }
}
