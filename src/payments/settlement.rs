//! From what Stripe answered to where the order stands and what the shopper is told.
//!
//! An answer settles its request first (the request is no longer recorded, in the same
//! statement as the intent it names), then moves the order. An order is fulfilled only by its
//! own intent, for its exact amount and currency at that moment
//! ([`crate::orders::OrderStore::fulfil`] checks it in the same statement). Anything else is a
//! review case: never paid, logged with both amounts, and the payment given back.

use stripe::StripeError;
use stripe_core::payment_intent::RetrievePaymentIntent;
use stripe_shared::{PaymentIntent, PaymentIntentStatus};
use stripe_types::Expandable;

use super::calls::{send_recorded, unanswered, Answer};
use super::context::internal;
use super::transport::{retryable, send_read};
use crate::app_state::AppState;
use crate::checkout::order::order_total;
use crate::checkout::{CheckoutError, OrderStatus, PaymentEvent, PaymentOutcome, Receipt};
use crate::orders::{CardShown, Fulfilment, Lease, Order, Payment, SentRequest, StripeCall};

/// Which call the answer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Pay,
    /// After 3-D Secure: an intent back in `requires_payment_method` means the hour ran out.
    Reconfirm,
}

/// What a failed Stripe call means for the shopper.
pub fn classify(err: StripeError, order_id: &str) -> CheckoutError {
    match err {
        StripeError::Stripe(api, 402) => CheckoutError::declined(api.code.as_ref().map(|c| c.as_str()), api.decline_code.as_deref()),
        err if retryable(&err) => {
            tracing::warn!(order_id, error = %err, "payment service unavailable");
            CheckoutError::PaymentServiceUnavailable
        }
        err => internal(err),
    }
}

fn is_unexpected_state(api: &stripe::ApiErrors) -> bool {
    api.code.as_ref().is_some_and(|c| c.as_str() == "payment_intent_unexpected_state")
}

fn is_idempotency_error(api: &stripe::ApiErrors) -> bool {
    api.type_ == stripe_shared::ApiErrorsType::IdempotencyError
}

/// Settles the answer to a payment step (a create, a confirm, a reconfirm). Only a card
/// decline makes the order payable with a new card; any other error leaves its binding to its
/// intent as it was. An answer that never came leaves the request recorded: it is settled
/// by replaying it (the next attempt, or the reconciler).
pub async fn settle_payment(
    state: &AppState,
    lease: &Lease,
    order: &Order,
    request: &SentRequest,
    answer: Result<Answer, StripeError>,
    step: Step,
) -> Result<PaymentOutcome, CheckoutError> {
    let key = request.key.as_str();
    let api = match answer {
        Ok(Answer::Intent(pi)) => return settle_answered_intent(state, lease, order, key, *pi, step).await,
        Ok(Answer::Refund(_)) => return Err(internal(format!("a refund answered the payment step {key}"))),
        Err(err) if unanswered(&err) => return Err(classify(err, &order.id)),
        Err(StripeError::Stripe(api, status)) => (api, status),
        Err(err) => {
            // Never sent (a key Stripe would refuse, say): nothing happened at Stripe.
            state.orders.answered(lease, key).await?;
            return Err(internal(err));
        }
    };
    let (api, status) = api;
    if status == 400 && is_idempotency_error(&api) {
        // Stripe holds this key with other parameters: this database lost its last writes
        // (a power loss took back the attempt counter). The request stays recorded until what
        // that key made is found.
        return match request.call {
            StripeCall::Create { .. } => super::replay::key_used_before(state, lease, order, request).await,
            _ => {
                tracing::error!(order_id = %order.id, key, "a key was already used with other parameters; settled once Stripe forgets it");
                Err(CheckoutError::PaymentServiceUnavailable)
            }
        };
    }
    // The answer names the intent it is about (a decline, an unexpected state): bound with it.
    match api.payment_intent.as_ref().filter(|_| matches!(request.call, StripeCall::Create { .. })) {
        Some(pi) => state.orders.attach_intent(lease, pi.id.as_str(), Some(key)).await?,
        None => state.orders.answered(lease, key).await?,
    }
    if status == 402 {
        let err = CheckoutError::declined(api.code.as_ref().map(|c| c.as_str()), api.decline_code.as_deref());
        return record(state, lease, PaymentEvent::Declined, Some(&err.to_string())).await.and(Err(err));
    }
    if status == 400 && is_unexpected_state(&api) {
        // The intent moved on (already confirmed, the hour ran out…): read where it stands.
        // Nothing is unsettled any more, so what Stripe holds is the answer.
        let id = api.payment_intent.as_ref().map(|pi| pi.id.to_string()).or_else(|| order.payment_intent_id.clone());
        let Some(id) = id else { return Err(internal("unexpected state without an intent")) };
        let current = send_read(state, &order.id, &RetrievePaymentIntent::new(id.as_str()).expand(vec!["payment_method".to_owned()]))
            .await
            .map_err(|e| classify(e, &order.id))?;
        if step == Step::Reconfirm && current.status == PaymentIntentStatus::RequiresPaymentMethod {
            let err = CheckoutError::AuthenticationExpired;
            return record(state, lease, PaymentEvent::Declined, Some(&err.to_string())).await.and(Err(err));
        }
        return Box::pin(settle_intent(state, lease, order, current, step)).await;
    }
    // Refused outright (a bad card id, say): nothing changed at Stripe.
    let about_card = api.param.as_deref().is_some_and(|p| p.starts_with("payment_method"));
    Err(if about_card { CheckoutError::InvalidPaymentMethod } else { internal(format!("Stripe refused a request ({status}): {:?}", api.message)) })
}

/// A payment step's answer is an intent: the common one (this order's payment taken) is
/// bound, fulfilled and answered in one statement; anything else binds it with the answer,
/// then goes the long way, which says why.
async fn settle_answered_intent(state: &AppState, lease: &Lease, order: &Order, key: &str, pi: PaymentIntent, step: Step) -> Result<PaymentOutcome, CheckoutError> {
    if let Some(event) = fulfilling_event(&pi).filter(|_| is_for(order, &pi)) {
        let currency = pi.currency.to_string();
        let payment = Payment { payment_intent_id: pi.id.as_str(), event, amount: pi.amount, currency: &currency };
        if state.orders.bind_and_fulfil(lease, key, payment, card_of(&pi)).await? {
            return Ok(fulfilled(state, order, &pi, event).await);
        }
    }
    state.orders.attach_intent(lease, pi.id.as_str(), Some(key)).await?;
    settle_intent(state, lease, order, pi, step).await
}

/// The event a payment that took the money is: succeeded, or authorised for capture later.
fn fulfilling_event(pi: &PaymentIntent) -> Option<PaymentEvent> {
    match pi.status {
        PaymentIntentStatus::Succeeded => Some(PaymentEvent::Succeeded),
        PaymentIntentStatus::RequiresCapture => Some(PaymentEvent::Authorised),
        _ => None,
    }
}

/// Moves the order as `event` says; a refusal means the order was settled meanwhile.
async fn record(state: &AppState, lease: &Lease, event: PaymentEvent, message: Option<&str>) -> Result<(), CheckoutError> {
    if state.orders.record(lease, event, message).await? {
        return Ok(());
    }
    let now = state.orders.get(&lease.order_id).await?.map(|o| o.status);
    tracing::warn!(order_id = %lease.order_id, ?event, ?now, "the order was settled meanwhile; not moved");
    Err(match now {
        Some(status) if status.is_fulfilled() => CheckoutError::AlreadyPaid,
        Some(OrderStatus::NeedsReview) => CheckoutError::UnderReview,
        _ => CheckoutError::PaymentInProgress,
    })
}

/// Brings the order, bound to `pi` with nothing unsettled, to where its intent stands.
pub async fn settle_intent(state: &AppState, lease: &Lease, order: &Order, pi: PaymentIntent, step: Step) -> Result<PaymentOutcome, CheckoutError> {
    match pi.status {
        PaymentIntentStatus::Succeeded => fulfil(state, lease, order, &pi, PaymentEvent::Succeeded).await,
        PaymentIntentStatus::RequiresCapture => fulfil(state, lease, order, &pi, PaymentEvent::Authorised).await,
        PaymentIntentStatus::Processing => {
            record(state, lease, PaymentEvent::Processing, None).await?;
            Ok(PaymentOutcome::Completed(receipt(order, &pi, OrderStatus::Processing)))
        }
        PaymentIntentStatus::RequiresAction => {
            let sdk_action = pi.next_action.as_ref().is_some_and(|a| a.type_ == "use_stripe_sdk");
            match pi.client_secret.clone() {
                Some(client_secret) if sdk_action => {
                    record(state, lease, PaymentEvent::NeedsAuthentication, None).await?;
                    Ok(PaymentOutcome::RequiresAction { payment_intent_id: pi.id.to_string(), client_secret })
                }
                _ => Err(internal("requires_action without a use_stripe_sdk action")),
            }
        }
        PaymentIntentStatus::RequiresPaymentMethod => {
            let err = failure_of(&pi, step);
            record(state, lease, PaymentEvent::Declined, Some(&err.to_string())).await?;
            Err(err)
        }
        PaymentIntentStatus::Canceled => {
            record(state, lease, PaymentEvent::IntentCanceled, None).await?;
            Err(CheckoutError::PaymentCanceled)
        }
        // Authenticated but not confirmed yet: nothing to decide now.
        _ => Err(CheckoutError::PaymentInProgress),
    }
}

/// Why an intent is back in `requires_payment_method`, in the shopper's words.
pub fn failure_of(pi: &PaymentIntent, step: Step) -> CheckoutError {
    match pi.last_payment_error.as_deref() {
        Some(e) if e.code.as_ref().is_some_and(|c| c.as_str() == "payment_intent_authentication_failure") => {
            if step == Step::Reconfirm { CheckoutError::AuthenticationExpired } else { CheckoutError::AuthenticationFailed }
        }
        Some(e) => CheckoutError::declined(e.code.as_ref().map(|c| c.as_str()), e.decline_code.as_deref()),
        None => CheckoutError::AuthenticationExpired,
    }
}

/// Fulfils the order if the intent is exactly its payment; a review case otherwise.
async fn fulfil(state: &AppState, lease: &Lease, order: &Order, pi: &PaymentIntent, event: PaymentEvent) -> Result<PaymentOutcome, CheckoutError> {
    let outcome = if is_for(order, pi) {
        let currency = pi.currency.to_string();
        let payment = Payment { payment_intent_id: pi.id.as_str(), event, amount: pi.amount, currency: &currency };
        state.orders.fulfil(lease, payment, card_of(pi)).await?
    } else {
        Fulfilment::Mismatch { order_amount: order_total(&order.lines).unwrap_or(0), order_currency: order.currency.clone() }
    };
    match outcome {
        Fulfilment::Fulfilled | Fulfilment::AlreadyFulfilled => Ok(fulfilled(state, order, pi, event).await),
        Fulfilment::Mismatch { order_amount, order_currency } => {
            tracing::error!(
                order_id = %order.id, payment_intent = %pi.id,
                intent_amount = pi.amount, intent_currency = %pi.currency, intent_order_id = pi.metadata.get("order_id").map(String::as_str),
                order_amount, order_currency = %order_currency,
                "PaymentIntent does not match its order: not fulfilled; the order needs review and the payment is given back"
            );
            let reason = format!("intent {} for {} {}, order for {order_amount} {order_currency}", pi.id, pi.amount, pi.currency);
            record(state, lease, PaymentEvent::Mismatched, Some(&reason)).await?;
            give_back(state, lease, order, pi).await;
            Err(CheckoutError::UnderReview)
        }
        Fulfilment::NotFulfillable(OrderStatus::NeedsReview) => Err(CheckoutError::UnderReview),
        Fulfilment::NotFulfillable(status) => Err(internal(format!("order {} ({status:?}) cannot be fulfilled by {}", order.id, pi.id))),
    }
}

/// Whether the intent says it pays this order (its `metadata.order_id`).
fn is_for(order: &Order, pi: &PaymentIntent) -> bool {
    pi.metadata.get("order_id") == Some(&order.id)
}

/// The order is fulfilled by `pi`: its card is remembered if the shopper saved it, and the
/// shopper gets the receipt.
async fn fulfilled(state: &AppState, order: &Order, pi: &PaymentIntent, event: PaymentEvent) -> PaymentOutcome {
    super::saved_cards::remember_saved_card(state, &order.id, pi).await;
    PaymentOutcome::Completed(receipt(order, pi, event.outcome()))
}

/// Gives back a payment that did not match its order (under review): refunds it, or releases
/// the authorisation, as a recorded request with a key of its own per intent. Unanswered, it is
/// replayed by the reconciler; refused for good, the order needs the merchant.
pub async fn give_back(state: &AppState, lease: &Lease, order: &Order, pi: &PaymentIntent) {
    let (call, key) = match pi.status {
        PaymentIntentStatus::Succeeded => (StripeCall::ReviewRefund { payment_intent: pi.id.to_string() }, format!("checkout-{}-review-refund-{}", order.id, pi.id)),
        PaymentIntentStatus::RequiresCapture => {
            (StripeCall::ReviewRelease { payment_intent: pi.id.to_string() }, format!("checkout-{}-review-cancel-{}", order.id, pi.id))
        }
        // Nothing taken (yet): a processing payment is given back once it succeeds.
        _ => return,
    };
    match send_recorded(state, lease, order, None, key, call).await {
        Ok((request, answer)) => {
            if let Err(err) = settle_give_back(state, lease, order, &request, answer).await {
                tracing::error!(order_id = %order.id, ?err, "giving back a mismatched payment is not settled; the reconciler goes on");
            }
        }
        Err(err) => tracing::error!(order_id = %order.id, ?err, "giving back a mismatched payment could not start; the reconciler tries again"),
    }
}

/// Settles the answer to a review's refund or release.
pub async fn settle_give_back(state: &AppState, lease: &Lease, order: &Order, request: &SentRequest, answer: Result<Answer, StripeError>) -> Result<(), CheckoutError> {
    let done = match answer {
        Ok(Answer::Refund(refund)) => refund.id.to_string(),
        Ok(Answer::Intent(pi)) => format!("canceled {}", pi.id),
        Err(err) if unanswered(&err) => return Err(classify(err, &order.id)),
        Err(err) => {
            // Stripe refuses for good (refunded already in its dashboard, say): the merchant
            // must look; retrying would be refused again.
            state.orders.answered(lease, &request.key).await?;
            let reason = match &err {
                StripeError::Stripe(api, status) => format!("Stripe refused to give back the payment ({status}): {}", api.message.as_deref().unwrap_or("no reason given")),
                err => format!("giving back the payment failed: {err}"),
            };
            state.orders.needs_merchant(lease, &reason).await?;
            return Ok(());
        }
    };
    state.orders.answered(lease, &request.key).await?;
    tracing::warn!(order_id = %order.id, refund = %done, "mismatched payment given back");
    state.orders.record_review_refund(lease, &done).await?;
    Ok(())
}

/// Brings an authorised order to where its intent stands: captured (paid, with what was
/// captured), canceled, released by Stripe after seven days, or still held. The new status
/// when the order moved.
pub async fn settle_authorisation(state: &AppState, lease: &Lease, order: &Order, pi: &PaymentIntent) -> Result<Option<OrderStatus>, CheckoutError> {
    let event = match (&pi.status, &pi.cancellation_reason) {
        (PaymentIntentStatus::Succeeded, _) => PaymentEvent::Captured,
        (PaymentIntentStatus::Canceled, Some(stripe_shared::PaymentIntentCancellationReason::Automatic)) => PaymentEvent::AuthorisationExpired,
        (PaymentIntentStatus::Canceled, _) => PaymentEvent::AuthorisationCanceled,
        // Still held: the queue looks again after the check interval.
        _ => return Ok(None),
    };
    let captured = if event == PaymentEvent::Captured { pi.amount_received } else { 0 };
    let moved = state.orders.end_authorisation(lease, event, captured).await?;
    if moved {
        tracing::info!(order_id = %order.id, payment_intent = %pi.id, ?event, captured, "authorisation ended");
    }
    Ok(moved.then(|| event.outcome()))
}

fn card_of(pi: &PaymentIntent) -> CardShown {
    match &pi.payment_method {
        Some(Expandable::Object(pm)) => match &pm.card {
            Some(card) => CardShown { brand: Some(card.brand.clone()), last4: Some(card.last4.clone()) },
            None => CardShown::default(),
        },
        _ => CardShown::default(),
    }
}

fn receipt(order: &Order, pi: &PaymentIntent, status: OrderStatus) -> Receipt {
    let card = card_of(pi);
    Receipt { reference: order.reference.clone(), amount: pi.amount, currency: order.currency.clone(), card_brand: card.brand, card_last4: card.last4, status }
}

/// The receipt of an order already fulfilled, from what the store kept.
pub fn receipt_of(order: &Order, amount: i64, status: OrderStatus) -> Receipt {
    Receipt {
        reference: order.reference.clone(),
        amount,
        currency: order.currency.clone(),
        card_brand: order.card_brand.clone(),
        card_last4: order.card_last4.clone(),
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn back_to_requires_payment_method_explains_why() {
        let declined = intent("requires_payment_method", r#","last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds"}"#);
        assert!(matches!(failure_of(&declined, Step::Pay), CheckoutError::Declined(crate::checkout::error::DeclineReason::InsufficientFunds)));
        let auth = intent("requires_payment_method", r#","last_payment_error":{"type":"invalid_request_error","code":"payment_intent_authentication_failure"}"#);
        assert_eq!(failure_of(&auth, Step::Pay), CheckoutError::AuthenticationFailed);
        assert_eq!(failure_of(&auth, Step::Reconfirm), CheckoutError::AuthenticationExpired, "after authenticating, the hour ran out");
        assert_eq!(failure_of(&intent("requires_payment_method", ""), Step::Pay), CheckoutError::AuthenticationExpired);
    }

    #[test]
    fn a_decline_is_told_and_an_outage_is_retryable() {
        let api = |json: &str, status| StripeError::Stripe(Box::new(miniserde::json::from_str(json).unwrap()), status);
        let declined = classify(api(r#"{"type":"card_error","code":"card_declined","decline_code":"generic_decline"}"#, 402), "ord_1");
        assert!(matches!(declined, CheckoutError::Declined(_)));
        assert_eq!(classify(api(r#"{"type":"api_error"}"#, 503), "ord_1"), CheckoutError::PaymentServiceUnavailable);
        assert_eq!(classify(StripeError::Timeout, "ord_1"), CheckoutError::PaymentServiceUnavailable);
        assert_eq!(classify(api(r#"{"type":"invalid_request_error"}"#, 401), "ord_1"), CheckoutError::Internal);
    }

    #[test]
    fn only_an_answer_settles_a_request() {
        let api = |status| StripeError::Stripe(Box::new(miniserde::json::from_str(r#"{"type":"api_error"}"#).unwrap()), status);
        for lost in [StripeError::Timeout, StripeError::ClientError("reset".into()), api(409), api(429), api(500), api(503)] {
            assert!(unanswered(&lost), "{lost:?}: it may still execute");
        }
        for answer in [api(402), api(400), api(404)] {
            assert!(!unanswered(&answer), "{answer:?} is Stripe's answer");
        }
    }
}
