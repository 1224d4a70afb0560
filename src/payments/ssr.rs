//! Server side of `pay` and `reconfirm`: the Stripe calls, and the order's transitions
//! that follow from what Stripe answers. One PaymentIntent per order, ever; every POST
//! carries an idempotency key derived from the order and an attempt number stored first.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use leptos::prelude::*;
use stripe::{IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_core::payment_intent::{ConfirmPaymentIntent, CreatePaymentIntent, RetrievePaymentIntent, UpdatePaymentIntent};
use stripe_shared::{PaymentIntent, PaymentIntentStatus};
use stripe_types::Expandable;

use crate::app_state::AppState;
use crate::checkout::order::order_total;
use crate::checkout::{CheckoutError, OrderStatus, PaymentOutcome, Receipt};
use crate::orders::Order;
use crate::session::Session;

/// Tries per Stripe call when the network or Stripe fails transiently (never for a decline).
const MAX_TRIES: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// How long one attempt may take before it counts as lost.
pub const STRIPE_TIMEOUT: Duration = Duration::from_secs(15);

/// The app state and the caller's session, from the request being served.
pub async fn request_context() -> Result<(Arc<AppState>, Session), CheckoutError> {
    let state = use_context::<Arc<AppState>>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function context");
        CheckoutError::Internal
    })?;
    let axum::Extension(session) = leptos_axum::extract::<axum::Extension<Session>>().await.map_err(|err| {
        tracing::error!(?err, "session missing from the request");
        CheckoutError::Internal
    })?;
    Ok((state, session))
}

/// Passes a result through, setting the HTTP status of an error on the response.
pub fn answer<T>(result: Result<T, CheckoutError>) -> Result<T, CheckoutError> {
    if let Err(err) = &result {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
        }
    }
    result
}

/// `pm_…` as Stripe.js makes them; anything else is refused before Stripe is called.
pub fn check_payment_method_id(id: &str) -> Result<&str, CheckoutError> {
    well_formed_id(id, "pm_").ok_or(CheckoutError::InvalidPaymentMethod)
}

/// `pi_…`; anything else is not a PaymentIntent of this shop.
pub fn check_payment_intent_id(id: &str) -> Result<&str, CheckoutError> {
    well_formed_id(id, "pi_").ok_or(CheckoutError::NotYourPayment)
}

fn well_formed_id<'a>(id: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = id.strip_prefix(prefix)?;
    (!rest.is_empty() && id.len() <= 255 && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')).then_some(id)
}

/// The session's order, after checking it exists and may still be paid.
async fn payable_order(state: &AppState, session: &Session) -> Result<Order, CheckoutError> {
    let order_id = session.order_id.as_deref().ok_or(CheckoutError::SessionExpired)?;
    let order = state.orders.get(order_id).await.map_err(internal)?.ok_or(CheckoutError::SessionExpired)?;
    match order.status {
        OrderStatus::Paid | OrderStatus::Authorised => Err(CheckoutError::AlreadyPaid),
        OrderStatus::Processing => Err(CheckoutError::PaymentInProgress),
        _ => Ok(order),
    }
}

fn internal(err: impl std::fmt::Display) -> CheckoutError {
    tracing::error!(%err, "checkout failed on the server");
    CheckoutError::Internal
}

/// `pay(payment_method_id)`: confirm the order's PaymentIntent with this card.
pub async fn pay_order(state: &AppState, session: &Session, payment_method_id: &str) -> Result<PaymentOutcome, CheckoutError> {
    let payment_method_id = check_payment_method_id(payment_method_id)?;
    let order_id = session.order_id.as_deref().ok_or(CheckoutError::SessionExpired)?;
    let _serialised = state.order_locks.lock(order_id).await;
    let order = payable_order(state, session).await?;
    let amount = order_total(&order.lines)?;
    let attempt = state.orders.next_attempt(&order.id).await.map_err(internal)?;
    let key = |step: &str| format!("checkout-{}-attempt-{attempt}-{step}", order.id);

    let result = match &order.payment_intent_id {
        None => {
            let mut metadata = std::collections::HashMap::new();
            metadata.insert("order_id".to_owned(), order.id.clone());
            metadata.insert("order_reference".to_owned(), order.reference.clone());
            let currency: stripe_types::Currency = order.currency.parse().map_err(internal)?;
            let create = CreatePaymentIntent::new(amount, currency)
                .payment_method(payment_method_id)
                .confirm(true)
                .confirmation_method(stripe_shared::PaymentIntentConfirmationMethod::Manual)
                .metadata(metadata)
                .description(format!("Order {}", order.reference))
                .expand(vec!["payment_method".to_owned()]);
            send(state, &order, &create, &key("create")).await
        }
        Some(intent_id) => {
            // A later attempt reuses the order's intent: never a second PaymentIntent.
            let current = send_read(state, &order, &RetrievePaymentIntent::new(intent_id.as_str()).expand(vec!["payment_method".to_owned()])).await;
            match current {
                Ok(pi) if settled(&pi) => Ok(pi),
                Ok(pi) => {
                    if pi.amount != amount {
                        send(state, &order, &UpdatePaymentIntent::new(intent_id.as_str()).amount(amount), &key("amount")).await.map_err(|e| classify(e, &order))?;
                    }
                    let confirm = ConfirmPaymentIntent::new(intent_id.as_str())
                        .payment_method(payment_method_id)
                        .expand(vec!["payment_method".to_owned()]);
                    send(state, &order, &confirm, &key("confirm")).await
                }
                Err(err) => Err(err),
            }
        }
    };
    settle(state, &order, amount, result).await
}

/// `reconfirm(payment_intent_id)`: confirm again after 3-D Secure, for the session's own intent.
pub async fn reconfirm_order(state: &AppState, session: &Session, payment_intent_id: &str) -> Result<PaymentOutcome, CheckoutError> {
    let payment_intent_id = check_payment_intent_id(payment_intent_id)?;
    let order_id = session.order_id.as_deref().ok_or(CheckoutError::SessionExpired)?;
    let _serialised = state.order_locks.lock(order_id).await;
    let order = state.orders.get(order_id).await.map_err(internal)?.ok_or(CheckoutError::SessionExpired)?;
    // Only the order's own intent, checked before any Stripe call.
    if order.payment_intent_id.as_deref() != Some(payment_intent_id) {
        return Err(CheckoutError::NotYourPayment);
    }
    if matches!(order.status, OrderStatus::Paid | OrderStatus::Authorised) {
        // A repeated reconfirm (double click, lost answer) gets the same receipt back.
        return Ok(PaymentOutcome::Completed(receipt(&order, order_total(&order.lines).unwrap_or(0), order.status, (order.card_brand.clone(), order.card_last4.clone()))));
    }
    let amount = order_total(&order.lines)?;
    let attempt = state.orders.next_attempt(&order.id).await.map_err(internal)?;
    let confirm = ConfirmPaymentIntent::new(payment_intent_id).expand(vec!["payment_method".to_owned()]);
    let result = send(state, &order, &confirm, &format!("checkout-{}-attempt-{attempt}-reconfirm", order.id)).await;
    match settle(state, &order, amount, result).await {
        // Stripe refuses to confirm an intent whose hour ran out: it has no card any more.
        Err(CheckoutError::PaymentInProgress) => Err(CheckoutError::AuthenticationExpired),
        other => other,
    }
}

/// Whether an intent needs no further confirmation.
fn settled(pi: &PaymentIntent) -> bool {
    matches!(pi.status, PaymentIntentStatus::Succeeded | PaymentIntentStatus::RequiresCapture | PaymentIntentStatus::Processing)
}

/// A POST to Stripe with the attempt's idempotency key; transient failures are retried
/// with the same key (so Stripe executes it at most once), declines never.
async fn send<R>(state: &AppState, order: &Order, request: &R, key: &str) -> Result<R::Output, StripeError>
where
    R: StripeRequest,
    R::Output: miniserde::Deserialize,
{
    let key = IdempotencyKey::new(key).map_err(|e| StripeError::ConfigError(e.to_string()))?;
    let mut backoff = FIRST_BACKOFF;
    let mut tries = 0;
    loop {
        tries += 1;
        let result = request
            .customize()
            .request_strategy(RequestStrategy::Idempotent(key.clone()))
            .timeout(STRIPE_TIMEOUT)
            .send(&state.stripe)
            .await;
        log_call(order, &request.build(), &result, tries);
        match result {
            Err(err) if retryable(&err) && tries < MAX_TRIES => {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            other => return other,
        }
    }
}

/// A GET to Stripe (idempotent by nature), with the same bounded retries.
async fn send_read<R>(state: &AppState, order: &Order, request: &R) -> Result<R::Output, StripeError>
where
    R: StripeRequest,
    R::Output: miniserde::Deserialize,
{
    let mut backoff = FIRST_BACKOFF;
    let mut tries = 0;
    loop {
        tries += 1;
        let result = request.customize().request_strategy(RequestStrategy::Once).timeout(STRIPE_TIMEOUT).send(&state.stripe).await;
        log_call(order, &request.build(), &result, tries);
        match result {
            Err(err) if retryable(&err) && tries < MAX_TRIES => {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            other => return other,
        }
    }
}

/// Timeouts, dropped connections and Stripe's transient statuses; never a 402 or other 4xx.
fn retryable(err: &StripeError) -> bool {
    match err {
        StripeError::Timeout | StripeError::ClientError(_) => true,
        StripeError::Stripe(_, status) => matches!(status, 409 | 429 | 500..=599),
        StripeError::JSONDeserialize(_) | StripeError::ConfigError(_) => false,
    }
}

/// One structured line per Stripe call: order, method and path, outcome. No keys, no secrets.
fn log_call<T>(order: &Order, request: &stripe_client_core::RequestBuilder, result: &Result<T, StripeError>, try_number: u32) {
    let method = format!("{:?}", request.method);
    match result {
        Ok(_) => tracing::info!(order_id = %order.id, method, path = %request.path, try_number, "stripe call succeeded"),
        Err(StripeError::Stripe(err, status)) => tracing::warn!(
            order_id = %order.id, method, path = %request.path, try_number, status,
            code = err.code.as_ref().map(|c| c.as_str()), decline_code = err.decline_code.as_deref(),
            request_log_url = err.request_log_url.as_deref(), "stripe answered an error"
        ),
        Err(err) => tracing::warn!(order_id = %order.id, method, path = %request.path, try_number, error = %err, "stripe call failed"),
    }
}

/// What a failed Stripe call means for the shopper and the order.
fn classify(err: StripeError, order: &Order) -> CheckoutError {
    match err {
        StripeError::Stripe(api, 402) => CheckoutError::declined(api.code.as_ref().map(|c| c.as_str()), api.decline_code.as_deref()),
        StripeError::Stripe(api, 400) if api.code.as_ref().is_some_and(|c| c.as_str() == "payment_intent_unexpected_state") => {
            CheckoutError::PaymentInProgress
        }
        err if retryable(&err) => {
            tracing::warn!(order_id = %order.id, error = %err, "payment service unavailable");
            CheckoutError::PaymentServiceUnavailable
        }
        err => internal(err),
    }
}

fn card_of(pi: &PaymentIntent) -> (Option<String>, Option<String>) {
    match &pi.payment_method {
        Some(Expandable::Object(pm)) => match &pm.card {
            Some(card) => (Some(card.brand.clone()), Some(card.last4.clone())),
            None => (None, None),
        },
        _ => (None, None),
    }
}

fn receipt(order: &Order, amount: i64, status: OrderStatus, card: (Option<String>, Option<String>)) -> Receipt {
    Receipt { reference: order.reference.clone(), amount, currency: order.currency.clone(), card_brand: card.0, card_last4: card.1, status }
}

/// Moves the order according to Stripe's answer and tells the browser what comes next.
async fn settle(
    state: &AppState,
    order: &Order,
    amount: i64,
    result: Result<PaymentIntent, StripeError>,
) -> Result<PaymentOutcome, CheckoutError> {
    let pi = match result {
        Ok(pi) => pi,
        Err(StripeError::Stripe(api, status)) => {
            // A decline still names the intent: bind it to the order so the next try reuses it.
            if let Some(pi) = &api.payment_intent {
                state.orders.attach_intent(&order.id, pi.id.as_str()).await.map_err(internal)?;
            }
            let err = classify(StripeError::Stripe(api, status), order);
            if let CheckoutError::PaymentInProgress = err {
                // Stripe says the intent cannot be confirmed now: look at where it stands.
                if let Some(intent_id) = state.orders.get(&order.id).await.map_err(internal)?.and_then(|o| o.payment_intent_id) {
                    let current = send_read(state, order, &RetrievePaymentIntent::new(intent_id.as_str()).expand(vec!["payment_method".to_owned()]))
                        .await
                        .map_err(|e| classify(e, order))?;
                    if settled(&current) {
                        return Box::pin(settle(state, order, amount, Ok(current))).await;
                    }
                }
                return Err(CheckoutError::PaymentInProgress);
            }
            let message = err.to_string();
            state.orders.set_status(&order.id, OrderStatus::Failed, Some(&message)).await.map_err(internal)?;
            return Err(err);
        }
        Err(err) => return Err(classify(err, order)),
    };
    state.orders.attach_intent(&order.id, pi.id.as_str()).await.map_err(internal)?;
    let card = card_of(&pi);
    match pi.status {
        PaymentIntentStatus::Succeeded | PaymentIntentStatus::RequiresCapture => {
            let status = if pi.status == PaymentIntentStatus::Succeeded { OrderStatus::Paid } else { OrderStatus::Authorised };
            state.orders.fulfil(&order.id, pi.id.as_str(), status, pi.amount, card.clone()).await.map_err(internal)?;
            Ok(PaymentOutcome::Completed(receipt(order, pi.amount, status, card)))
        }
        PaymentIntentStatus::Processing => {
            state.orders.set_status(&order.id, OrderStatus::Processing, None).await.map_err(internal)?;
            Ok(PaymentOutcome::Completed(receipt(order, pi.amount, OrderStatus::Processing, card)))
        }
        PaymentIntentStatus::RequiresAction => {
            let sdk_action = pi.next_action.as_ref().is_some_and(|a| a.type_ == "use_stripe_sdk");
            let secret = pi.client_secret.clone().filter(|_| sdk_action).ok_or_else(|| internal("requires_action without a use_stripe_sdk action"))?;
            state.orders.set_status(&order.id, OrderStatus::RequiresAction, None).await.map_err(internal)?;
            Ok(PaymentOutcome::RequiresAction { payment_intent_id: pi.id.to_string(), client_secret: secret })
        }
        PaymentIntentStatus::RequiresPaymentMethod => {
            let err = match pi.last_payment_error.as_deref() {
                Some(e) if e.code.as_ref().is_some_and(|c| c.as_str() == "payment_intent_authentication_failure") => CheckoutError::AuthenticationExpired,
                Some(e) => CheckoutError::declined(e.code.as_ref().map(|c| c.as_str()), e.decline_code.as_deref()),
                None => CheckoutError::AuthenticationExpired,
            };
            state.orders.set_status(&order.id, OrderStatus::Failed, Some(&err.to_string())).await.map_err(internal)?;
            Err(err)
        }
        other => Err(internal(format!("unexpected PaymentIntent status {other:?} after confirming"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_ids_reach_stripe() {
        assert!(check_payment_method_id("pm_1Pq2R3").is_ok());
        for bad in ["", "pm_", "pi_123", "pm_12 3", "pm_ab\u{0}c", "pm_é", "pm_x/../y", &format!("pm_{}", "a".repeat(300))] {
            assert_eq!(check_payment_method_id(bad), Err(CheckoutError::InvalidPaymentMethod), "{bad:?}");
        }
        assert!(check_payment_intent_id("pi_3Mtw").is_ok());
        assert_eq!(check_payment_intent_id("pm_3Mtw"), Err(CheckoutError::NotYourPayment));
    }

    #[test]
    fn only_transient_failures_are_retried() {
        assert!(retryable(&StripeError::Timeout));
        assert!(retryable(&StripeError::ClientError("connection reset".into())));
        let api = |code: u16| StripeError::Stripe(Box::new(serde_free_api_error()), code);
        assert!(retryable(&api(500)) && retryable(&api(503)) && retryable(&api(429)) && retryable(&api(409)));
        assert!(!retryable(&api(402)), "a decline is final");
        assert!(!retryable(&api(400)) && !retryable(&api(404)));
    }

    fn serde_free_api_error() -> stripe::ApiErrors {
        miniserde::json::from_str(r#"{"type":"api_error","message":"x"}"#).unwrap()
    }
}
