//! `reconfirm(payment_intent_id)`: after 3-D Secure, the server confirms the session's own
//! intent again (Stripe allows an hour for it); the reconciler does it for a page closed
//! before it could.

use super::attempts::Attempt;
use super::calls::{attempt_key, send_recorded};
use super::flow::reread;
use super::lease::under_lease;
use super::replay::{settle_unsettled, Settled};
use super::settlement::{settle_payment, Step};
use crate::domain::order::order_total;
use crate::domain::{CheckoutError, OrderStatus, PaymentIntentId, PaymentOutcome};
use crate::server::session::Session;
use crate::server::state::AppState;
use crate::server::store::{AttemptPath, Lease, Order, StripeCall};

/// `reconfirm(payment_intent_id)`: confirm again after 3-D Secure, for the session's own intent.
pub async fn reconfirm_order(
    state: &AppState,
    session: &Session,
    payment_intent: &PaymentIntentId,
) -> Result<PaymentOutcome, CheckoutError> {
    let payment_intent_id = payment_intent.as_str();
    let order_id = session.order_id().ok_or(CheckoutError::SessionExpired)?;
    // A browser that never paid has no intent to confirm.
    state
        .orders
        .get(&order_id)
        .await?
        .ok_or(CheckoutError::NotYourPayment)?;
    // The card was offered (and counted) with the attempt that asked for 3-D Secure.
    let attempt = Attempt::record(state, &order_id, AttemptPath::Reconfirm).await;
    let result = under_lease(state, &order_id, async |lease| {
        reconfirm_leased(state, lease, payment_intent_id).await
    })
    .await;
    attempt.end(state, &result).await;
    result
}

async fn reconfirm_leased(
    state: &AppState,
    lease: &Lease,
    payment_intent_id: &str,
) -> Result<PaymentOutcome, CheckoutError> {
    let mut order = reread(state, lease).await?;
    // Only the order's own intent, checked before any Stripe call.
    if order.payment_intent_id.as_deref() != Some(payment_intent_id) {
        return Err(CheckoutError::NotYourPayment);
    }
    if order.request.is_some() {
        // The last reconfirm's answer was lost (a double click, a timeout): its replay answers.
        match settle_unsettled(state, lease, &order).await? {
            Settled::Payment(outcome @ Ok(PaymentOutcome::Completed(_))) => return outcome,
            Settled::Action(_) => return Err(CheckoutError::PaymentInProgress),
            _ => {}
        }
        order = reread(state, lease).await?;
    }
    if order.status.is_fulfilled() {
        // A repeated reconfirm (double click, lost answer) gets the same receipt back.
        return Ok(PaymentOutcome::Completed(super::intent::receipt_of(
            &order,
            order_total(&order.lines).unwrap_or(0),
            order.status,
        )));
    }
    if order.status == OrderStatus::NeedsReview {
        return Err(CheckoutError::UnderReview);
    }
    confirm_authenticated(state, lease, &order, payment_intent_id).await
}

/// Confirms an intent the cardholder has authenticated (the browser's reconfirm, or the
/// reconciler for a page closed before it could).
pub async fn confirm_authenticated(
    state: &AppState,
    lease: &Lease,
    order: &Order,
    payment_intent_id: &str,
) -> Result<PaymentOutcome, CheckoutError> {
    let attempt = order.attempt + 1;
    let call = StripeCall::Reconfirm {
        payment_intent: payment_intent_id.to_owned(),
    };
    let (request, answer) = send_recorded(
        state,
        lease,
        order,
        Some(attempt),
        attempt_key(&order.id, attempt, "reconfirm"),
        call,
    )
    .await?;
    settle_payment(state, lease, order, &request, answer, Step::Reconfirm).await
}
