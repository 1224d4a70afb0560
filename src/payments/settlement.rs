//! From what Stripe answered to where the order stands and what the shopper is told.
//!
//! An order is fulfilled only by its own intent, for its exact amount and currency at that
//! moment ([`crate::orders::OrderStore::fulfil`] checks it in the same statement). Anything
//! else is a review case: never paid, logged with both amounts, and the payment refunded.

use stripe::StripeError;
use stripe_core::payment_intent::{CancelPaymentIntent, RetrievePaymentIntent};
use stripe_core::refund::CreateRefund;
use stripe_shared::{PaymentIntent, PaymentIntentStatus};
use stripe_types::Expandable;

use super::context::internal;
use super::transport::{retryable, send, send_read};
use crate::app_state::AppState;
use crate::checkout::order::order_total;
use crate::checkout::{CheckoutError, OrderStatus, PaymentEvent, PaymentOutcome, Receipt};
use crate::orders::{CardShown, Claim, Fulfilment, Order};

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

/// Settles the answer to a confirm or create. Only a card decline makes the order payable
/// with a new card; any other error leaves its binding to its intent as it was.
pub async fn settle(state: &AppState, claim: &Claim, order: &Order, answer: Result<PaymentIntent, StripeError>, step: Step) -> Result<PaymentOutcome, CheckoutError> {
    let api = match answer {
        Ok(pi) => return settle_intent(state, claim, order, pi, step).await,
        Err(StripeError::Stripe(api, status)) if status == 402 || (status == 400 && is_unexpected_state(&api)) => (api, status),
        Err(StripeError::Stripe(api, status @ (400 | 404))) => {
            // Refused outright (a bad card id, say): nothing changed at Stripe.
            state.orders.clear_in_doubt(claim).await.map_err(internal)?;
            let about_card = api.param.as_deref().is_some_and(|p| p.starts_with("payment_method"));
            return Err(if about_card { CheckoutError::InvalidPaymentMethod } else { internal(format!("Stripe refused a request ({status}): {:?}", api.message)) });
        }
        // Unknown outcome (timeout, 5xx…): the order stays as it was, still in doubt.
        Err(err) => return Err(classify(err, &order.id)),
    };
    let (api, status) = api;
    if status == 402 {
        // A decline names its intent, now back in requires_payment_method.
        if let Some(pi) = &api.payment_intent {
            state.orders.attach_intent(claim, pi.id.as_str()).await.map_err(internal)?;
        }
        let err = CheckoutError::declined(api.code.as_ref().map(|c| c.as_str()), api.decline_code.as_deref());
        return record(state, order, PaymentEvent::Declined, Some(&err.to_string())).await.and(Err(err));
    }
    // The intent moved on (already confirmed, the hour ran out…): read where it stands.
    let id = api.payment_intent.as_ref().map(|pi| pi.id.to_string()).or_else(|| order.payment_intent_id.clone());
    let Some(id) = id else { return Err(internal("unexpected state without an intent")) };
    let current = send_read(state, &order.id, &RetrievePaymentIntent::new(id.as_str()).expand(vec!["payment_method".to_owned()]))
        .await
        .map_err(|e| classify(e, &order.id))?;
    if step == Step::Reconfirm && current.status == PaymentIntentStatus::RequiresPaymentMethod {
        let err = CheckoutError::AuthenticationExpired;
        return record(state, order, PaymentEvent::Declined, Some(&err.to_string())).await.and(Err(err));
    }
    Box::pin(settle_intent(state, claim, order, current, step)).await
}

/// Moves the order as `event` says; a refusal means the order was settled meanwhile.
async fn record(state: &AppState, order: &Order, event: PaymentEvent, message: Option<&str>) -> Result<(), CheckoutError> {
    if state.orders.record(&order.id, event, message).await.map_err(internal)? {
        return Ok(());
    }
    let now = state.orders.get(&order.id).await.map_err(internal)?.map(|o| o.status);
    tracing::warn!(order_id = %order.id, ?event, ?now, "the order was settled meanwhile; not moved");
    Err(match now {
        Some(status) if status.is_fulfilled() => CheckoutError::AlreadyPaid,
        Some(OrderStatus::NeedsReview) => CheckoutError::UnderReview,
        _ => CheckoutError::PaymentInProgress,
    })
}

/// Brings the order to where its intent stands.
pub async fn settle_intent(state: &AppState, claim: &Claim, order: &Order, pi: PaymentIntent, step: Step) -> Result<PaymentOutcome, CheckoutError> {
    // The common answer, this order's payment taken: bound and fulfilled in one statement.
    // Anything else (and that statement refused) goes the long way, which says why.
    let event = match pi.status {
        PaymentIntentStatus::Succeeded => Some(PaymentEvent::Succeeded),
        PaymentIntentStatus::RequiresCapture => Some(PaymentEvent::Authorised),
        _ => None,
    };
    if let Some(event) = event.filter(|_| is_for(order, &pi)) {
        let currency = pi.currency.to_string();
        if state.orders.bind_and_fulfil(claim, pi.id.as_str(), event, pi.amount, &currency, card_of(&pi)).await.map_err(internal)? {
            return Ok(fulfilled(state, order, &pi, event).await);
        }
    }
    state.orders.attach_intent(claim, pi.id.as_str()).await.map_err(internal)?;
    match pi.status {
        PaymentIntentStatus::Succeeded => fulfil(state, order, &pi, PaymentEvent::Succeeded).await,
        PaymentIntentStatus::RequiresCapture => fulfil(state, order, &pi, PaymentEvent::Authorised).await,
        PaymentIntentStatus::Processing => {
            record(state, order, PaymentEvent::Processing, None).await?;
            Ok(PaymentOutcome::Completed(receipt(order, &pi, OrderStatus::Processing)))
        }
        PaymentIntentStatus::RequiresAction => {
            let sdk_action = pi.next_action.as_ref().is_some_and(|a| a.type_ == "use_stripe_sdk");
            match pi.client_secret.clone() {
                Some(client_secret) if sdk_action => {
                    record(state, order, PaymentEvent::NeedsAuthentication, None).await?;
                    Ok(PaymentOutcome::RequiresAction { payment_intent_id: pi.id.to_string(), client_secret })
                }
                _ => Err(internal("requires_action without a use_stripe_sdk action")),
            }
        }
        PaymentIntentStatus::RequiresPaymentMethod => {
            let err = failure_of(&pi, step);
            record(state, order, PaymentEvent::Declined, Some(&err.to_string())).await?;
            Err(err)
        }
        PaymentIntentStatus::Canceled => {
            record(state, order, PaymentEvent::IntentCanceled, None).await?;
            Err(CheckoutError::PaymentCanceled)
        }
        // Authenticated but not confirmed yet, or another confirm is on its way: nothing to
        // decide now; the sent request is answered, so nothing is in doubt.
        _ => {
            state.orders.clear_in_doubt(claim).await.map_err(internal)?;
            Err(CheckoutError::PaymentInProgress)
        }
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
async fn fulfil(state: &AppState, order: &Order, pi: &PaymentIntent, event: PaymentEvent) -> Result<PaymentOutcome, CheckoutError> {
    let outcome = if is_for(order, pi) {
        state.orders.fulfil(&order.id, pi.id.as_str(), event, pi.amount, &pi.currency.to_string(), card_of(pi)).await.map_err(internal)?
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
                "PaymentIntent does not match its order: not fulfilled; the order needs review and the payment is refunded"
            );
            let reason = format!("intent {} for {} {}, order for {order_amount} {order_currency}", pi.id, pi.amount, pi.currency);
            record(state, order, PaymentEvent::Mismatched, Some(&reason)).await?;
            refund_mismatched(state, &order.id, pi).await;
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

/// Gives back a payment that did not match its order: refunds it, or releases the
/// authorisation. Idempotent (one key per intent); on failure the reconciler tries again.
pub async fn refund_mismatched(state: &AppState, order_id: &str, pi: &PaymentIntent) {
    let done = match pi.status {
        PaymentIntentStatus::Succeeded => {
            let refund = CreateRefund::new().payment_intent(pi.id.as_str());
            send(state, order_id, &refund, &format!("checkout-{order_id}-review-refund-{}", pi.id)).await.map(|r| r.id.to_string())
        }
        PaymentIntentStatus::RequiresCapture => {
            let cancel = CancelPaymentIntent::new(pi.id.as_str());
            send(state, order_id, &cancel, &format!("checkout-{order_id}-review-cancel-{}", pi.id)).await.map(|p| format!("canceled {}", p.id))
        }
        // Nothing taken (yet): a processing payment is refunded once it succeeds.
        _ => return,
    };
    match done {
        Ok(refund) => {
            tracing::warn!(order_id, payment_intent = %pi.id, refund, amount = pi.amount, "mismatched payment given back");
            if let Err(err) = state.orders.record_review_refund(order_id, &refund).await {
                tracing::error!(order_id, %err, "recording the refund failed (it is idempotent: the reconciler records it again)");
            }
        }
        Err(err) => tracing::error!(order_id, payment_intent = %pi.id, %err, "refunding a mismatched payment failed; the reconciler tries again"),
    }
}

/// Brings an authorised order to where its intent stands: captured (paid, with what was
/// captured), canceled, released by Stripe after seven days, or still held. The new status
/// when the order moved.
pub async fn settle_authorisation(state: &AppState, order: &Order, pi: &PaymentIntent) -> Result<Option<OrderStatus>, CheckoutError> {
    let event = match (&pi.status, &pi.cancellation_reason) {
        (PaymentIntentStatus::Succeeded, _) => PaymentEvent::Captured,
        (PaymentIntentStatus::Canceled, Some(stripe_shared::PaymentIntentCancellationReason::Automatic)) => PaymentEvent::AuthorisationExpired,
        (PaymentIntentStatus::Canceled, _) => PaymentEvent::AuthorisationCanceled,
        _ => {
            state.orders.mark_checked(&order.id).await.map_err(internal)?;
            return Ok(None);
        }
    };
    let captured = if event == PaymentEvent::Captured { pi.amount_received } else { 0 };
    let moved = state.orders.end_authorisation(&order.id, event, captured).await.map_err(internal)?;
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
}
