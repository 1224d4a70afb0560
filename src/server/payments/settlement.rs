//! From what Stripe answered to where the order stands and what the shopper is told.
//!
//! An answer settles its request first (the request is no longer recorded, in the same
//! statement as the intent it names), then moves the order. An order is fulfilled only by its
//! own intent, for its exact amount and currency at that moment
//! ([`crate::server::store::OrderStore::fulfil`] checks it in the same statement). Anything else is a
//! review case: never paid, logged with both amounts, and the payment given back.

use stripe::StripeError;
use stripe_core::payment_intent::RetrievePaymentIntent;
use stripe_shared::{PaymentIntent, PaymentIntentStatus};

use super::calls::{unanswered, Answer};
use super::context::internal;
use super::intent::{card_of, fulfilled, is_for, settle_intent};
use super::transport::{retryable, send_read};
use crate::domain::{CheckoutError, OrderStatus, PaymentEvent, PaymentOutcome};
use crate::server::state::AppState;
use crate::server::store::{Lease, Order, Payment, SentRequest, StripeCall};

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
        StripeError::Stripe(api, 402) => CheckoutError::declined(
            api.code.as_ref().map(|c| c.as_str()),
            api.decline_code.as_deref(),
        ),
        err if retryable(&err) => {
            tracing::warn!(order_id, error = %err, "payment service unavailable");
            CheckoutError::PaymentServiceUnavailable
        }
        err => internal(err),
    }
}

fn is_unexpected_state(api: &stripe::ApiErrors) -> bool {
    api.code
        .as_ref()
        .is_some_and(|c| c.as_str() == "payment_intent_unexpected_state")
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
        Ok(Answer::Intent(pi)) => {
            return settle_answered_intent(state, lease, order, key, *pi, step).await
        }
        Ok(Answer::Refund(_)) => {
            return Err(internal(format!(
                "a refund answered the payment step {key}"
            )))
        }
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
            StripeCall::Create { .. } => {
                super::replay::key_used_before(state, lease, order, request).await
            }
            _ => {
                tracing::error!(order_id = %order.id, key, "a key was already used with other parameters; settled once Stripe forgets it");
                Err(CheckoutError::PaymentServiceUnavailable)
            }
        };
    }
    // The answer names the intent it is about (a decline, an unexpected state): bound with it.
    match api
        .payment_intent
        .as_ref()
        .filter(|_| matches!(request.call, StripeCall::Create { .. }))
    {
        Some(pi) => {
            state
                .orders
                .attach_intent(lease, pi.id.as_str(), Some(key))
                .await?
        }
        None => state.orders.answered(lease, key).await?,
    }
    if status == 402 {
        let err = CheckoutError::declined(
            api.code.as_ref().map(|c| c.as_str()),
            api.decline_code.as_deref(),
        );
        return record(state, lease, PaymentEvent::Declined, Some(&err.to_string()))
            .await
            .and(Err(err));
    }
    if status == 400 && is_unexpected_state(&api) {
        // The intent moved on (already confirmed, the hour ran out…): read where it stands.
        // Nothing is unsettled any more, so what Stripe holds is the answer.
        let id = api
            .payment_intent
            .as_ref()
            .map(|pi| pi.id.to_string())
            .or_else(|| order.payment_intent_id.clone());
        let Some(id) = id else {
            return Err(internal("unexpected state without an intent"));
        };
        let current = send_read(
            state,
            &order.id,
            &RetrievePaymentIntent::new(id.as_str()).expand(vec!["payment_method".to_owned()]),
        )
        .await
        .map_err(|e| classify(e, &order.id))?;
        if step == Step::Reconfirm && current.status == PaymentIntentStatus::RequiresPaymentMethod {
            let err = CheckoutError::AuthenticationExpired;
            return record(state, lease, PaymentEvent::Declined, Some(&err.to_string()))
                .await
                .and(Err(err));
        }
        return Box::pin(settle_intent(state, lease, order, current, step)).await;
    }
    // Refused outright (a bad card id, say): nothing changed at Stripe.
    let about_card = api
        .param
        .as_deref()
        .is_some_and(|p| p.starts_with("payment_method"));
    Err(if about_card {
        CheckoutError::InvalidPaymentMethod
    } else {
        internal(format!(
            "Stripe refused a request ({status}): {:?}",
            api.message
        ))
    })
}

/// A payment step's answer is an intent: the common one (this order's payment taken) is
/// bound, fulfilled and answered in one statement; anything else binds it with the answer,
/// then goes the long way, which says why.
async fn settle_answered_intent(
    state: &AppState,
    lease: &Lease,
    order: &Order,
    key: &str,
    pi: PaymentIntent,
    step: Step,
) -> Result<PaymentOutcome, CheckoutError> {
    if let Some(event) = fulfilling_event(&pi).filter(|_| is_for(order, &pi)) {
        let currency = pi.currency.to_string();
        let payment = Payment {
            payment_intent_id: pi.id.as_str(),
            event,
            amount: pi.amount,
            currency: &currency,
        };
        if state
            .orders
            .bind_and_fulfil(lease, key, payment, card_of(&pi))
            .await?
        {
            return Ok(fulfilled(state, order, &pi, event).await);
        }
    }
    state
        .orders
        .attach_intent(lease, pi.id.as_str(), Some(key))
        .await?;
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
pub(super) async fn record(
    state: &AppState,
    lease: &Lease,
    event: PaymentEvent,
    message: Option<&str>,
) -> Result<(), CheckoutError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decline_is_told_and_an_outage_is_retryable() {
        let api = |json: &str, status| {
            StripeError::Stripe(Box::new(miniserde::json::from_str(json).unwrap()), status)
        };
        let declined = classify(
            api(
                r#"{"type":"card_error","code":"card_declined","decline_code":"generic_decline"}"#,
                402,
            ),
            "ord_1",
        );
        assert!(matches!(declined, CheckoutError::Declined(_)));
        assert_eq!(
            classify(api(r#"{"type":"api_error"}"#, 503), "ord_1"),
            CheckoutError::PaymentServiceUnavailable
        );
        assert_eq!(
            classify(StripeError::Timeout, "ord_1"),
            CheckoutError::PaymentServiceUnavailable
        );
        assert_eq!(
            classify(api(r#"{"type":"invalid_request_error"}"#, 401), "ord_1"),
            CheckoutError::Internal
        );
    }

    #[test]
    fn only_an_answer_settles_a_request() {
        let api = |status| {
            StripeError::Stripe(
                Box::new(miniserde::json::from_str(r#"{"type":"api_error"}"#).unwrap()),
                status,
            )
        };
        for lost in [
            StripeError::Timeout,
            StripeError::ClientError("reset".into()),
            api(409),
            api(429),
            api(500),
            api(503),
        ] {
            assert!(unanswered(&lost), "{lost:?}: it may still execute");
        }
        for answer in [api(402), api(400), api(404)] {
            assert!(!unanswered(&answer), "{answer:?} is Stripe's answer");
        }
    }
}
