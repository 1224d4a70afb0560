//! The money the back office moves: what Stripe's answer to a capture, a release of an
//! authorisation or a refund means for the order and for the action the merchant confirmed.
//! An action's answer may come back to its own request, or to a replay of it (the merchant's
//! next action on the order, or the reconciler: see `payments::replay`).

use stripe::StripeError;
use stripe_core::payment_intent::RetrievePaymentIntent;
use stripe_shared::PaymentIntent;
use stripe_types::Expandable;

use crate::domain::order::order_total;
use crate::domain::{format_amount, CheckoutError};
use crate::i18n::{td_string, Locale};
use crate::server::merchant::store::ActionState;
use crate::server::payments::authorisation::settle_authorisation;
use crate::server::payments::calls::{unanswered, Answer};
use crate::server::payments::replay::UnsettledAction;
use crate::server::payments::settlement::classify;
use crate::server::payments::transport::send_read;
use crate::server::state::AppState;
use crate::server::store::{Lease, Order, SentRequest, StripeCall};

/// Settles the answer to a back-office action's request and finishes the action with what
/// it did, worded in `locale`. `Err` while it is unanswered (it is then sent again, never
/// twice: the key is the action's).
pub async fn settle_action(
    state: &AppState,
    lease: &Lease,
    order: &Order,
    request: &SentRequest,
    answer: Result<Answer, StripeError>,
    locale: Locale,
) -> Result<ActionState, CheckoutError> {
    let Some(action) = request.call.action() else {
        return Err(CheckoutError::Internal);
    };
    let money = |amount: i64| format_amount(amount, &order.currency, locale);
    let finished = match (&request.call, answer) {
        (_, Err(err)) if unanswered(&err) => {
            tracing::warn!(order_id = %order.id, key = %request.key, %err, "back office: Stripe did not answer an action");
            return Err(CheckoutError::PaymentServiceUnavailable);
        }
        (call, Err(err)) => {
            state.orders.answered(lease, &request.key).await?;
            if let StripeCall::Capture { payment_intent, .. } = call {
                // No longer held (expired, canceled elsewhere): the order learns where it stands.
                if let Ok(current) = send_read(
                    state,
                    &order.id,
                    &RetrievePaymentIntent::new(payment_intent.as_str()),
                )
                .await
                {
                    settle_authorisation(state, lease, order, &current).await?;
                }
            }
            let reason = match err {
                StripeError::Stripe(api, _) => {
                    tracing::warn!(order_id = %order.id, code = api.code.as_ref().map(|c| c.as_str()), "back office: Stripe refused an action");
                    api.message
                        .unwrap_or_else(|| td_string!(locale, merchant.no_reason).to_string())
                }
                err => err.to_string(),
            };
            ActionState::Refused(td_string!(locale, merchant.stripe_refused, reason).to_string())
        }
        (StripeCall::Capture { .. }, Ok(Answer::Intent(pi))) => {
            state.orders.answered(lease, &request.key).await?;
            settle_authorisation(state, lease, order, &pi).await?;
            let total = order_total(&order.lines).unwrap_or(0);
            ActionState::Done(
                td_string!(
                    locale,
                    merchant.captured,
                    amount = money(pi.amount_received),
                    total = money(total)
                )
                .to_string(),
            )
        }
        (StripeCall::Release { .. }, Ok(Answer::Intent(pi))) => {
            state.orders.answered(lease, &request.key).await?;
            settle_authorisation(state, lease, order, &pi).await?;
            ActionState::Done(
                td_string!(
                    locale,
                    merchant.canceled,
                    amount = money(order_total(&order.lines).unwrap_or(0))
                )
                .to_string(),
            )
        }
        (StripeCall::Refund { payment_intent, .. }, Ok(Answer::Refund(refund))) => {
            // Written with the answer: a reload shows it even if Stripe's totals cannot be read.
            state
                .orders
                .refund_answered(lease, &request.key, refund.amount)
                .await?;
            record_amounts(state, lease, order, payment_intent).await;
            ActionState::Done(
                td_string!(locale, merchant.refunded, amount = money(refund.amount)).to_string(),
            )
        }
        (call, Ok(_)) => {
            return Err(crate::server::payments::context::internal(format!(
                "an unexpected answer to {call:?}"
            )))
        }
    };
    state.orders.finish_action(action, &finished).await?;
    Ok(finished)
}

/// Settles an action's request that a replay (or Stripe's window) settled: its answer, or, lost
/// for good, what Stripe holds.
pub async fn settle_unsettled_action(
    state: &AppState,
    lease: &Lease,
    order: &Order,
    action: UnsettledAction,
    locale: Locale,
) -> Result<(), CheckoutError> {
    match action.answer {
        Some(answer) => settle_action(state, lease, order, &action.request, answer, locale)
            .await
            .map(|_| ()),
        None => settle_action_unknown(state, lease, order, &action.request, locale).await,
    }
}

/// An action whose answer was lost for longer than Stripe keeps its key: it is not sent again.
/// The order takes what Stripe holds, and the action says its answer was lost.
async fn settle_action_unknown(
    state: &AppState,
    lease: &Lease,
    order: &Order,
    request: &SentRequest,
    locale: Locale,
) -> Result<(), CheckoutError> {
    state.orders.answered(lease, &request.key).await?;
    match &request.call {
        StripeCall::Refund { payment_intent, .. } => {
            record_amounts(state, lease, order, payment_intent).await
        }
        StripeCall::Capture { payment_intent, .. } | StripeCall::Release { payment_intent, .. } => {
            let current = send_read(
                state,
                &order.id,
                &RetrievePaymentIntent::new(payment_intent.as_str()),
            )
            .await
            .map_err(|e| classify(e, &order.id))?;
            settle_authorisation(state, lease, order, &current).await?;
        }
        _ => {}
    }
    if let Some(action) = request.call.action() {
        state
            .orders
            .finish_action(
                action,
                &ActionState::Refused(td_string!(locale, merchant.answer_lost).to_string()),
            )
            .await?;
    }
    Ok(())
}

/// Reads what the intent's charge captured and refunded, and stores it, so the database and
/// Stripe agree whatever happened before (a refund made in Stripe's dashboard, say). Not read:
/// the order keeps what the answers said until the next read.
async fn record_amounts(state: &AppState, lease: &Lease, order: &Order, payment_intent: &str) {
    let read = RetrievePaymentIntent::new(payment_intent).expand(vec!["latest_charge".to_owned()]);
    let intent: Result<PaymentIntent, _> = send_read(state, &order.id, &read).await;
    let charge = match intent {
        Ok(PaymentIntent {
            latest_charge: Some(Expandable::Object(charge)),
            ..
        }) => charge,
        Ok(_) => {
            return tracing::warn!(order_id = %order.id, "back office: the intent came without its charge; amounts kept as answered")
        }
        Err(err) => {
            return tracing::warn!(order_id = %order.id, %err, "back office: the charge could not be read; amounts kept as answered")
        }
    };
    if let Err(err) = state
        .orders
        .set_refunded(lease, charge.amount_captured, charge.amount_refunded)
        .await
    {
        tracing::warn!(order_id = %order.id, %err, "back office: Stripe's totals could not be stored");
    }
}
