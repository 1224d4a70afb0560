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
use tracing::Instrument;

use crate::app_state::AppState;
use crate::checkout::order::order_total;
use crate::checkout::{CheckoutError, OrderStatus, PaymentOutcome, Receipt};
use crate::orders::{Order, PendingCreate};
use crate::session::Session;

/// Tries per Stripe call when the network or Stripe fails transiently (never for a decline).
const MAX_TRIES: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

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

    let intent_id = match &order.payment_intent_id {
        Some(id) => Some(id.clone()),
        None => match &order.pending_create {
            Some(pending) => recover_pending_create(state, &order, pending).await?,
            None => None,
        },
    };
    let attempt = state.orders.next_attempt(&order.id).await.map_err(internal)?;
    let key = |step: &str| format!("checkout-{}-attempt-{attempt}-{step}", order.id);

    let result = match intent_id {
        None => {
            let pending = PendingCreate { attempt, payment_method_id: payment_method_id.to_owned(), amount };
            // Recorded before the call: if the answer is lost, the next try replays this request.
            state.orders.record_pending_create(&order.id, &pending).await.map_err(internal)?;
            let result = send(state, &order, &create_request(&order, &pending)?, &key("create")).await;
            if let Err(StripeError::Stripe(api, 400 | 404)) = &result {
                if api.payment_intent.is_none() {
                    // Stripe refused the request outright: nothing was created.
                    state.orders.clear_pending_create(&order.id).await.map_err(internal)?;
                }
            }
            result
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
    settle(state, &order, result).await
}

/// The guide's first call: create the order's PaymentIntent and confirm it at once.
fn create_request(order: &Order, pending: &PendingCreate) -> Result<CreatePaymentIntent, CheckoutError> {
    let mut metadata = std::collections::HashMap::new();
    metadata.insert("order_id".to_owned(), order.id.clone());
    metadata.insert("order_reference".to_owned(), order.reference.clone());
    let currency: stripe_types::Currency = order.currency.parse().map_err(internal)?;
    Ok(CreatePaymentIntent::new(pending.amount, currency)
        .payment_method(pending.payment_method_id.as_str())
        .confirm(true)
        .confirmation_method(stripe_shared::PaymentIntentConfirmationMethod::Manual)
        .metadata(metadata)
        .description(format!("Order {}", order.reference))
        .expand(vec!["payment_method".to_owned()]))
}

/// Replays a create whose answer was lost (same key, same parameters), so Stripe answers what
/// it did the first time, and returns the intent it made, if any.
async fn recover_pending_create(state: &AppState, order: &Order, pending: &PendingCreate) -> Result<Option<String>, CheckoutError> {
    let key = format!("checkout-{}-attempt-{}-create", order.id, pending.attempt);
    match send(state, order, &create_request(order, pending)?, &key).await {
        Ok(pi) => {
            tracing::info!(order_id = %order.id, payment_intent = %pi.id, "recovered the PaymentIntent of an unanswered create");
            state.orders.attach_intent(&order.id, pi.id.as_str()).await.map_err(internal)?;
            Ok(Some(pi.id.to_string()))
        }
        Err(StripeError::Stripe(api, _)) if api.payment_intent.is_some() => {
            let id = api.payment_intent.as_ref().map(|pi| pi.id.to_string()).expect("checked");
            state.orders.attach_intent(&order.id, &id).await.map_err(internal)?;
            Ok(Some(id))
        }
        Err(StripeError::Stripe(_, 400 | 404)) => {
            state.orders.clear_pending_create(&order.id).await.map_err(internal)?;
            Ok(None)
        }
        Err(err) => Err(classify(err, order)),
    }
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
    let attempt = state.orders.next_attempt(&order.id).await.map_err(internal)?;
    let confirm = ConfirmPaymentIntent::new(payment_intent_id).expand(vec!["payment_method".to_owned()]);
    let result = send(state, &order, &confirm, &format!("checkout-{}-attempt-{attempt}-reconfirm", order.id)).await;
    match settle(state, &order, result).await {
        // Stripe refuses to confirm an intent whose hour ran out: it has no card any more.
        Err(CheckoutError::PaymentInProgress) => Err(CheckoutError::AuthenticationExpired),
        other => other,
    }
}

/// Whether an intent needs no further confirmation.
fn settled(pi: &PaymentIntent) -> bool {
    matches!(pi.status, PaymentIntentStatus::Succeeded | PaymentIntentStatus::RequiresCapture | PaymentIntentStatus::Processing)
}

/// A POST to Stripe with the attempt's idempotency key, so Stripe executes it at most once
/// however often it is retried.
async fn send<R>(state: &AppState, order: &Order, request: &R, key: &str) -> Result<R::Output, StripeError>
where
    R: StripeRequest,
    R::Output: miniserde::Deserialize,
{
    let key = IdempotencyKey::new(key).map_err(|e| StripeError::ConfigError(e.to_string()))?;
    send_with(state, order, request, RequestStrategy::Idempotent(key)).await
}

/// A GET to Stripe: idempotent by nature.
async fn send_read<R>(state: &AppState, order: &Order, request: &R) -> Result<R::Output, StripeError>
where
    R: StripeRequest,
    R::Output: miniserde::Deserialize,
{
    send_with(state, order, request, RequestStrategy::Once).await
}

/// One Stripe call with bounded retries and backoff for transient failures only (never a
/// decline), each try logged.
async fn send_with<R>(state: &AppState, order: &Order, request: &R, strategy: RequestStrategy) -> Result<R::Output, StripeError>
where
    R: StripeRequest,
    R::Output: miniserde::Deserialize,
{
    let mut backoff = FIRST_BACKOFF;
    let mut tries = 0;
    loop {
        tries += 1;
        let call = request.customize().request_strategy(strategy.clone()).timeout(state.stripe_timeout).send(&state.stripe);
        // The client logs Stripe's Request-Id inside this span, so it carries the order id.
        let result = call.instrument(tracing::info_span!("stripe_call", order_id = %order.id)).await;
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
async fn settle(state: &AppState, order: &Order, result: Result<PaymentIntent, StripeError>) -> Result<PaymentOutcome, CheckoutError> {
    let pi = match result {
        Ok(pi) => pi,
        Err(StripeError::Stripe(api, status)) => {
            // A decline still names the intent: bind it to the order so the next try reuses it.
            let named = api.payment_intent.as_ref().map(|pi| pi.id.to_string());
            if let Some(id) = &named {
                state.orders.attach_intent(&order.id, id).await.map_err(internal)?;
            }
            let intent_id = order.payment_intent_id.clone().or(named);
            let err = classify(StripeError::Stripe(api, status), order);
            if let CheckoutError::PaymentInProgress = err {
                // Stripe says the intent cannot be confirmed now: look at where it stands.
                if let Some(intent_id) = intent_id {
                    let current = send_read(state, order, &RetrievePaymentIntent::new(intent_id.as_str()).expand(vec!["payment_method".to_owned()]))
                        .await
                        .map_err(|e| classify(e, order))?;
                    if settled(&current) {
                        return Box::pin(settle(state, order, Ok(current))).await;
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
    match next_step(&pi) {
        Next::Fulfil(status) => {
            state.orders.fulfil(&order.id, pi.id.as_str(), status, pi.amount, card.clone()).await.map_err(internal)?;
            Ok(PaymentOutcome::Completed(receipt(order, pi.amount, status, card)))
        }
        Next::Processing => {
            state.orders.set_status(&order.id, OrderStatus::Processing, None).await.map_err(internal)?;
            Ok(PaymentOutcome::Completed(receipt(order, pi.amount, OrderStatus::Processing, card)))
        }
        Next::Authenticate { client_secret } => {
            state.orders.set_status(&order.id, OrderStatus::RequiresAction, None).await.map_err(internal)?;
            Ok(PaymentOutcome::RequiresAction { payment_intent_id: pi.id.to_string(), client_secret })
        }
        Next::Failed(err) => {
            state.orders.set_status(&order.id, OrderStatus::Failed, Some(&err.to_string())).await.map_err(internal)?;
            Err(err)
        }
        Next::Unexpected(what) => Err(internal(what)),
    }
}

/// What an order becomes given its PaymentIntent after a confirmation.
#[derive(Debug, PartialEq)]
enum Next {
    /// Paid (`succeeded`) or authorised for later capture (`requires_capture`): fulfil once.
    Fulfil(OrderStatus),
    /// The bank is still deciding.
    Processing,
    /// 3-D Secure through Stripe.js, with the client secret for `handleCardAction`.
    Authenticate { client_secret: String },
    /// Back to `requires_payment_method`: declined, or authentication failed or ran out.
    Failed(CheckoutError),
    Unexpected(String),
}

fn next_step(pi: &PaymentIntent) -> Next {
    match pi.status {
        PaymentIntentStatus::Succeeded => Next::Fulfil(OrderStatus::Paid),
        PaymentIntentStatus::RequiresCapture => Next::Fulfil(OrderStatus::Authorised),
        PaymentIntentStatus::Processing => Next::Processing,
        PaymentIntentStatus::RequiresAction => {
            let sdk_action = pi.next_action.as_ref().is_some_and(|a| a.type_ == "use_stripe_sdk");
            match pi.client_secret.clone() {
                Some(client_secret) if sdk_action => Next::Authenticate { client_secret },
                _ => Next::Unexpected("requires_action without a use_stripe_sdk action".into()),
            }
        }
        PaymentIntentStatus::RequiresPaymentMethod => Next::Failed(match pi.last_payment_error.as_deref() {
            Some(e) if e.code.as_ref().is_some_and(|c| c.as_str() == "payment_intent_authentication_failure") => {
                CheckoutError::AuthenticationFailed
            }
            Some(e) => CheckoutError::declined(e.code.as_ref().map(|c| c.as_str()), e.decline_code.as_deref()),
            None => CheckoutError::AuthenticationExpired,
        }),
        ref other => Next::Unexpected(format!("unexpected PaymentIntent status {other:?} after confirming")),
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
    fn any_string_is_accepted_as_an_id_only_in_stripes_shape() {
        // Property: for arbitrary input (unicode, control characters, huge), the check never
        // panics and accepts exactly `pm_` + 1..=252 ASCII letters, digits or underscores.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet: Vec<char> = "pmi_aZ09-./ é\u{0}\n€😀\u{202e}".chars().collect();
        for _ in 0..20_000 {
            let len = (next() % 300) as usize;
            let body: String = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            let id = if next() % 2 == 0 { format!("pm_{body}") } else { body };
            let expected = id.len() <= 255
                && id.strip_prefix("pm_").is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
            assert_eq!(check_payment_method_id(&id).is_ok(), expected, "{id:?}");
        }
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

    /// A PaymentIntent as Stripe sends it, with `extra` fields on top.
    fn intent(status: &str, extra: &str) -> PaymentIntent {
        let json = format!(
            r#"{{"id":"pi_1","object":"payment_intent","amount":1450,"amount_capturable":0,"amount_received":0,
                "capture_method":"automatic","confirmation_method":"manual","created":1,"currency":"eur",
                "livemode":false,"metadata":{{}},"payment_method_types":["card"],"status":"{status}"{extra}}}"#
        );
        miniserde::json::from_str(&json).unwrap()
    }

    #[test]
    fn succeeded_and_requires_capture_fulfil_the_order() {
        assert_eq!(next_step(&intent("succeeded", "")), Next::Fulfil(OrderStatus::Paid));
        assert_eq!(next_step(&intent("requires_capture", "")), Next::Fulfil(OrderStatus::Authorised));
        assert_eq!(next_step(&intent("processing", "")), Next::Processing);
    }

    #[test]
    fn requires_action_hands_the_client_secret_to_stripe_js() {
        let pi = intent("requires_action", r#","client_secret":"pi_1_secret_x","next_action":{"type":"use_stripe_sdk","use_stripe_sdk":{}}"#);
        assert_eq!(next_step(&pi), Next::Authenticate { client_secret: "pi_1_secret_x".into() });
        let redirect = intent("requires_action", r#","client_secret":"pi_1_secret_x","next_action":{"type":"redirect_to_url"}"#);
        assert!(matches!(next_step(&redirect), Next::Unexpected(_)), "this flow only handles Stripe.js actions");
    }

    #[test]
    fn back_to_requires_payment_method_explains_why() {
        let declined = intent("requires_payment_method", r#","last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds"}"#);
        assert!(matches!(next_step(&declined), Next::Failed(CheckoutError::Declined(m)) if m.contains("insufficient funds")));
        let auth = intent("requires_payment_method", r#","last_payment_error":{"type":"invalid_request_error","code":"payment_intent_authentication_failure"}"#);
        assert_eq!(next_step(&auth), Next::Failed(CheckoutError::AuthenticationFailed));
    }

    #[test]
    fn an_intent_that_still_needs_confirming_is_unexpected() {
        assert!(matches!(next_step(&intent("requires_confirmation", "")), Next::Unexpected(_)));
        assert!(matches!(next_step(&intent("canceled", "")), Next::Unexpected(_)));
    }
}
