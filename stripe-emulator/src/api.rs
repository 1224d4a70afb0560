//! The `/v1` API: one pipeline for every request — faults, body checks, form parsing,
//! authentication, idempotency — then a dispatch table that reads like Stripe's reference.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::Value;

use crate::auth::{self, Credential};
use crate::error::{ApiError, ApiResult};
use crate::faults::FaultKind;
use crate::form::Form;
use crate::idempotency::{self, Begin};
use crate::resources::{charge, customer, payment_intent, payment_method, refund};
use crate::server::{ConnectionControl, RequestId};
use crate::store::Store;
use crate::Emulator;

/// The API version async-stripe 1.0.0-rc.10 pins, answered when the client names none.
pub const API_VERSION: &str = "2026-09-30.endive";
/// Largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

pub async fn handle(
    State(emulator): State<Arc<Emulator>>,
    Extension(connection): Extension<ConnectionControl>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let fault = emulator.faults.take(method.as_str(), &path);
    match fault.as_ref().map(|f| f.kind) {
        Some(FaultKind::Error500) => {
            let err = ApiError::internal(
                "An unexpected error occurred (fault injected by the Stripe emulator).",
            );
            let mut response = error_response(&err, &request_id, emulator.clock.now());
            response
                .headers_mut()
                .insert("stripe-should-retry", HeaderValue::from_static("true"));
            return response;
        }
        Some(FaultKind::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Some(FaultKind::Drop) => return connection.drop_without_answer().await,
        Some(FaultKind::Delay | FaultKind::Slow | FaultKind::PerformThenDrop) | None => {}
    }

    // A request that reached Stripe runs to its end whatever its client does meanwhile (a
    // timeout, a closed connection): it runs in a task of its own, which the connection's
    // end does not cancel. Only the answer is lost.
    let arrives_late = fault
        .as_ref()
        .filter(|f| f.kind == FaultKind::Delay)
        .map(|f| Duration::from_millis(f.delay_ms));
    let runs_for = fault
        .as_ref()
        .filter(|f| f.kind == FaultKind::Slow)
        .map(|f| Duration::from_millis(f.delay_ms));
    let query = uri.query().map(str::to_owned);
    let running = emulator.clone();
    let work = tokio::spawn(async move {
        if let Some(late) = arrives_late {
            tokio::time::sleep(late).await;
        }
        let response = respond(
            &running,
            &request_id,
            &method,
            &path,
            query.as_deref(),
            &headers,
            &body,
            runs_for,
        )
        .await;
        // Reads save too: looking an intent up applies the clock (an expired hour, a settled
        // payment), and a restart must not show a different history.
        running.save();
        response
    });
    let response = work
        .await
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    if fault.map(|f| f.kind) == Some(FaultKind::PerformThenDrop) {
        return connection.drop_without_answer().await;
    }
    response
}

fn error_response(err: &ApiError, request_id: &str, now: i64) -> Response {
    let mut response = json_response(err.status, err.body(request_id).to_string());
    dated(&mut response, now);
    response
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `Date` from the emulator's clock, as Stripe's own responses carry Stripe's time: a client
/// that measures Stripe's 24 hours of idempotency (see [`idempotency`]) by it sees the hours
/// a test moved the clock on.
fn dated(response: &mut Response, now: i64) {
    let at = std::time::UNIX_EPOCH + Duration::from_secs(now.max(0) as u64);
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(at)) {
        response.headers_mut().insert(header::DATE, v);
    }
}

#[allow(clippy::too_many_arguments)]
async fn respond(
    emulator: &Emulator,
    request_id: &str,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
    runs_for: Option<Duration>,
) -> Response {
    let version = headers
        .get("stripe-version")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64)
        .unwrap_or(API_VERSION)
        .to_owned();
    let mut response = match respond_inner(
        emulator, request_id, method, path, query, headers, body, runs_for,
    )
    .await
    {
        Ok(response) => response,
        Err(err) => error_response(&err, request_id, emulator.clock.now()),
    };
    if let Ok(v) = HeaderValue::from_str(&version) {
        response.headers_mut().insert("stripe-version", v);
    }
    // What Stripe tells its libraries: the same request may be sent again (nothing executed).
    if matches!(
        response.status(),
        StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS
    ) {
        response
            .headers_mut()
            .insert("stripe-should-retry", HeaderValue::from_static("true"));
    }
    dated(&mut response, emulator.clock.now());
    response
}

#[allow(clippy::too_many_arguments)]
async fn respond_inner(
    emulator: &Emulator,
    request_id: &str,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
    runs_for: Option<Duration>,
) -> ApiResult<Response> {
    if body.len() > BODY_LIMIT {
        return Err(ApiError::body_too_large(BODY_LIMIT));
    }
    if !body.is_empty() {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !content_type
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
        {
            return Err(ApiError::invalid_value(
                "Content-Type",
                format!("Invalid request: Stripe's API takes application/x-www-form-urlencoded bodies, not `{content_type}`."),
            ));
        }
    }
    let raw = if *method == Method::POST {
        &body[..]
    } else {
        query.unwrap_or("").as_bytes()
    };
    let mut form = Form::parse(raw)?;
    let key_param = form.take_str("key")?;
    let credential = emulator.keys.authenticate(headers, key_param.as_deref())?;

    let idempotency_key = match headers.get("idempotency-key") {
        Some(v) if *method == Method::POST => {
            let key = v.to_str().map_err(|_| {
                ApiError::invalid_value("Idempotency-Key", "Invalid idempotency key.")
            })?;
            idempotency::check_key(key)?;
            Some(key.to_owned())
        }
        _ => None,
    };
    let now = emulator.clock.now();
    let fingerprint = idempotency::fingerprint(method.as_str(), path, raw);
    if let Some(key) = &idempotency_key {
        if let Begin::Replay { status, body } =
            emulator.idempotency.begin(key, &fingerprint, now)?
        {
            let mut response = json_response(status, body);
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            echo_key(&mut response, key);
            return Ok(response);
        }
    }

    // Stripe locks the object a write changes while it executes: a second write to it meanwhile
    // is refused (429 lock_timeout), executes nothing and keeps no result for its key.
    let lock = match locked_object(method, path, raw) {
        Some(object) => match emulator.locks.take(&object) {
            Some(lock) => Some(lock),
            None => {
                if let Some(key) = &idempotency_key {
                    emulator.idempotency.abandon(key);
                }
                return Err(ApiError::lock_timeout(&object));
            }
        },
        None => None,
    };
    if let Some(duration) = runs_for {
        tokio::time::sleep(duration).await;
    }

    // A bug in one operation answers that request with a 500 and abandons its idempotency
    // key; it never takes the emulator (and the app embedding it) down.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut store = emulator.lock_store();
        dispatch(&mut store, &credential, method, path, form, now)
    }))
    .unwrap_or_else(|_| {
        tracing::error!(%method, path, "stripe-emulator: the request panicked; answered 500");
        Err(ApiError::internal(
            "The Stripe emulator failed on this request (see its log).",
        ))
    });
    let (status, text, saved) = match &result {
        Ok(value) => (StatusCode::OK, value.to_string(), true),
        Err(err) => (err.status, err.body(request_id).to_string(), err.saved),
    };
    if let Some(key) = &idempotency_key {
        if saved {
            emulator
                .idempotency
                .finish(key, &fingerprint, status, text.clone(), now);
        } else {
            emulator.idempotency.abandon(key);
        }
    }
    drop(lock);
    let mut response = json_response(status, text);
    if let Some(key) = &idempotency_key {
        echo_key(&mut response, key);
    }
    Ok(response)
}

/// The object a write locks while it executes: the PaymentIntent it changes (or refunds).
fn locked_object(method: &Method, path: &str, body: &[u8]) -> Option<String> {
    if *method != Method::POST {
        return None;
    }
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match segments.as_slice() {
        ["v1", "payment_intents", id] | ["v1", "payment_intents", id, _] => Some((*id).to_owned()),
        ["v1", "refunds"] => form_urlencoded::parse(body)
            .find(|(k, _)| k == "payment_intent" || k == "charge")
            .map(|(_, v)| v.into_owned()),
        _ => None,
    }
}

fn echo_key(response: &mut Response, key: &str) {
    if let Ok(v) = HeaderValue::from_str(key) {
        response.headers_mut().insert("idempotency-key", v);
    }
}

fn secret(credential: &Credential) -> ApiResult<()> {
    match credential {
        Credential::Secret => Ok(()),
        Credential::Publishable => Err(auth::secret_required()),
    }
}

/// Routes a request to its resource operation, then expands what `expand[]` asks for.
fn dispatch(
    store: &mut Store,
    credential: &Credential,
    method: &Method,
    path: &str,
    mut form: Form,
    now: i64,
) -> ApiResult<Value> {
    let expand = form.take_str_list("expand")?.unwrap_or_default();
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let get = *method == Method::GET;
    let post = *method == Method::POST;
    let mut value = match segments.as_slice() {
        ["v1", "payment_methods"] if post => payment_method::create(store, form, now)?,
        ["v1", "payment_methods"] if get => {
            secret(credential)?;
            let customer = form.require_str("customer")?;
            payment_method::list(store, &customer, form, "/v1/payment_methods")?
        }
        ["v1", "payment_methods", id] if get => {
            secret(credential)?;
            form.finish()?;
            payment_method::get(store, id)?.json()?
        }
        ["v1", "payment_methods", id] if post => {
            secret(credential)?;
            payment_method::update(store, id, form)?
        }
        ["v1", "payment_methods", id, "attach"] if post => {
            secret(credential)?;
            payment_method::attach(store, id, form)?
        }
        ["v1", "payment_methods", id, "detach"] if post => {
            secret(credential)?;
            payment_method::detach(store, id, form)?
        }

        ["v1", "payment_intents"] if post => {
            secret(credential)?;
            payment_intent::create(store, form, now)?
        }
        ["v1", "payment_intents"] if get => {
            secret(credential)?;
            payment_intent::list(store, form, now)?
        }
        ["v1", "payment_intents", id] if get => {
            let client_secret = form.take_str("client_secret")?;
            form.finish()?;
            if *credential == Credential::Publishable {
                let secret =
                    client_secret.ok_or_else(|| ApiError::parameter_missing("client_secret"))?;
                payment_intent::check_client_secret(store, id, &secret, now)?;
            }
            payment_intent::retrieve(store, id, now)?
        }
        ["v1", "payment_intents", id] if post => {
            secret(credential)?;
            payment_intent::update(store, id, form, now)?
        }
        ["v1", "payment_intents", id, "confirm"] if post => match credential {
            Credential::Secret => payment_intent::confirm(store, id, form, now)?,
            Credential::Publishable => payment_intent::confirm_from_browser(store, id, form, now)?,
        },
        ["v1", "payment_intents", id, "capture"] if post => {
            secret(credential)?;
            payment_intent::capture(store, id, form, now)?
        }
        ["v1", "payment_intents", id, "cancel"] if post => {
            secret(credential)?;
            payment_intent::cancel(store, id, form, now)?
        }

        ["v1", "customers"] if post => {
            secret(credential)?;
            customer::create(store, form, now)?
        }
        ["v1", "customers", id] if get => {
            secret(credential)?;
            form.finish()?;
            customer::get(store, id)?.json()?
        }
        ["v1", "customers", id] if post => {
            secret(credential)?;
            customer::update(store, id, form)?
        }
        ["v1", "customers", id, "payment_methods"] if get => {
            secret(credential)?;
            let url = format!("/v1/customers/{id}/payment_methods");
            payment_method::list(store, id, form, &url)?
        }

        ["v1", "charges", id] if get => {
            secret(credential)?;
            form.finish()?;
            charge::get(store, id)?.json(store)?
        }
        ["v1", "refunds"] if post => {
            secret(credential)?;
            refund::create(store, form, now)?
        }
        ["v1", "refunds", id] if get => {
            secret(credential)?;
            form.finish()?;
            refund::get(store, id)?.json()?
        }
        _ => return Err(ApiError::unknown_route(method.as_str(), path)),
    };
    expand_fields(store, &mut value, &expand, now)?;
    Ok(value)
}

/// Replaces ids by their objects for `expand[]` (top-level fields, as Stripe's first level).
fn expand_fields(
    store: &mut Store,
    value: &mut Value,
    expand: &[String],
    now: i64,
) -> ApiResult<()> {
    for field in expand {
        let cannot = || {
            ApiError::invalid_value(
                "expand",
                format!("This property cannot be expanded ({field})."),
            )
        };
        let id = match value.get(field.as_str()) {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Null) | Some(Value::Object(_)) => continue,
            _ => return Err(cannot()),
        };
        let object = match field.as_str() {
            "payment_method" => payment_method::get(store, &id)?.json()?,
            "customer" => customer::get(store, &id)?.json()?,
            "latest_charge" | "charge" => charge::get(store, &id)?.json(store)?,
            "payment_intent" => payment_intent::retrieve(store, &id, now)?,
            _ => return Err(cannot()),
        };
        value[field.as_str()] = object;
    }
    Ok(())
}
