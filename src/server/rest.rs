//! `POST /pay`: the JSON contract of Stripe's guide, so its own client script works against
//! this server unchanged. It calls the same code as the `pay`/`reconfirm` server functions.
//!
//! Request: `{"payment_method_id": "pm_…"}` or `{"payment_intent_id": "pi_…"}`.
//! Answer: `{"success": true}`, `{"processing": true}` (the bank has not answered yet: the
//! order is fulfilled when it does), `{"requires_action": true, "payment_intent_client_secret": "…"}`
//! or `{"error": "…"}` (with a 4xx/5xx status).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use crate::domain::{CheckoutError, OrderStatus, PaymentIntentId, PaymentMethodId, PaymentOutcome};
use crate::i18n::{td_string, Locale};
use crate::server::card_testing::client::ClientAddress;
use crate::server::payments::flow::{pay_order, CardChoice};
use crate::server::payments::reconfirm::reconfirm_order;
use crate::server::session::Session;
use crate::server::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayRequest {
    payment_method_id: Option<String>,
    payment_intent_id: Option<String>,
}

/// The guide's `{"error": …}` with the error's status, in the caller's language.
pub fn error(err: CheckoutError, locale: Locale) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(json!({ "error": err.message(locale) }))).into_response();
    if let Some(retry_after) = crate::server::security::retry_after(&err) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry_after);
    }
    response
}

pub async fn pay(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    client: Option<Extension<ClientAddress>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let locale = crate::server::language::negotiate(&headers, state.default_locale);
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if !json {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Json(json!({ "error": td_string!(locale, errors.not_json).to_string() })),
        )
            .into_response();
    }
    let request: PayRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => return error(CheckoutError::BadRequest, locale),
    };
    let outcome = match (request.payment_method_id, request.payment_intent_id) {
        (Some(pm), None) => match PaymentMethodId::parse(&pm) {
            Ok(pm) => {
                let client = client.and_then(|Extension(c)| c.0);
                pay_order(&state, &session, client.as_deref(), &pm, CardChoice::New).await
            }
            Err(err) => Err(err),
        },
        (None, Some(pi)) => match PaymentIntentId::parse(&pi) {
            Ok(pi) => reconfirm_order(&state, &session, &pi).await,
            Err(err) => Err(err),
        },
        _ => Err(CheckoutError::BadRequest),
    };
    match outcome {
        Ok(PaymentOutcome::Completed(receipt)) if receipt.status == OrderStatus::Processing => {
            Json(json!({ "processing": true })).into_response()
        }
        Ok(PaymentOutcome::Completed(_)) => Json(json!({ "success": true })).into_response(),
        Ok(PaymentOutcome::RequiresAction { client_secret, .. }) => {
            Json(json!({ "requires_action": true, "payment_intent_client_secret": client_secret }))
                .into_response()
        }
        Err(err) => error(err, locale),
    }
}
