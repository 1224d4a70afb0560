//! The back office's actions on an order: capture (all or part), cancel an authorisation,
//! refund (all or part, several times up to what was captured). Each runs once per one-time
//! key (the confirmation form's): the key is stored before anything else, the Stripe call is
//! recorded with it as its idempotency key before it is sent (so a lost answer is settled by
//! replaying it, see `payments::replay`), and the order's lease keeps one action (or payment
//! step) at a time on an order, whatever the server. An action confirmed on a page that showed
//! the order as it no longer is (a refund made meanwhile, say) does nothing.

use super::locale;
use super::settlement::{settle_action, settle_unsettled_action};
use crate::domain::order::order_total;
use crate::domain::{format_amount, CheckoutError, OrderStatus};
use crate::i18n::td_string;
use crate::server::merchant::store::{ActionKind, ActionState};
use crate::server::payments::calls::send_recorded;
use crate::server::payments::lease::under_lease_waiting;
use crate::server::payments::replay::{settle_unsettled, Settled};
use crate::server::state::AppState;
use crate::server::store::{Lease, Order, StripeCall};

/// How long an action waits for an order another holder has (the reconciler reading it, a
/// payment step) before the merchant is told to try again.
const LEASE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(3);

/// What the merchant asked for, from the confirmation form.
#[derive(Debug, Clone)]
pub struct ActionRequest {
    pub key: String,
    pub order_id: String,
    pub kind: ActionKind,
    /// Minor units; `None` for the whole amount (capture, refund).
    pub amount: Option<i64>,
    /// The order as the confirmation page showed it (see [`basis`]).
    pub basis: String,
}

/// What an action depends on, as the confirmation page shows it: its status, what was
/// captured and refunded, and how often it was charged again. An action whose order no longer
/// stands so is refused: the merchant decided on what they saw.
pub async fn basis(state: &AppState, order: &Order) -> Result<String, CheckoutError> {
    let repeats = state.orders.repeat_count(&order.id).await?;
    Ok(format!(
        "{}.{}.{}.{repeats}",
        order.status.as_str(),
        order.amount_captured,
        order.amount_refunded
    ))
}

/// What became of an action: finished (done or refused, stored with its key), or not
/// finished yet and safe to send again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionResult {
    Finished(ActionState),
    TryAgain(String),
}

/// A one-time key as the confirmation page makes them.
pub fn well_formed_key(key: &str) -> bool {
    key.len() == 32 && key.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub async fn run(state: &AppState, request: &ActionRequest) -> ActionResult {
    match state
        .orders
        .begin_action(
            &request.key,
            &request.order_id,
            request.kind,
            request.amount,
        )
        .await
    {
        Ok(Some(ActionState::Running)) => {}
        Ok(Some(finished)) => return ActionResult::Finished(finished),
        Ok(None) => {
            return ActionResult::Finished(ActionState::Refused(
                td_string!(locale(), merchant.other_action).to_string(),
            ))
        }
        Err(err) => return ActionResult::TryAgain(CheckoutError::from(err).message(locale())),
    }
    let outcome = under_lease_waiting(state, &request.order_id, LEASE_PATIENCE, async |lease| {
        run_leased(state, lease, request).await
    })
    .await;
    match outcome {
        Ok(finished) => ActionResult::Finished(finished),
        Err(CheckoutError::PaymentInProgress) => {
            ActionResult::TryAgain(td_string!(locale(), merchant.busy).to_string())
        }
        Err(CheckoutError::PaymentServiceUnavailable) => {
            ActionResult::TryAgain(td_string!(locale(), merchant.stripe_silent).to_string())
        }
        Err(err) => ActionResult::TryAgain(err.message(locale())),
    }
}

/// The action under the order's lease: finished (`Ok`), or `Err` with why it may be sent again.
async fn run_leased(
    state: &AppState,
    lease: &Lease,
    request: &ActionRequest,
) -> Result<ActionState, CheckoutError> {
    // A double submit that waited for the lease finds the first one's answer.
    if let Some(finished) = finished(state, request).await? {
        return Ok(finished);
    }
    let Some(mut order) = state.orders.get(&lease.order_id).await? else {
        return finish(
            state,
            request,
            ActionState::Refused("No such order.".into()),
        )
        .await;
    };
    if order.request.is_some() {
        // An earlier request on the order is unsettled (this action's own first send, or
        // another's): it is settled first, by its replay, and may have finished this action.
        if let Settled::Action(action) = settle_unsettled(state, lease, &order).await? {
            settle_unsettled_action(state, lease, &order, action, locale()).await?;
        }
        if let Some(finished) = finished(state, request).await? {
            return Ok(finished);
        }
        order = state
            .orders
            .get(&lease.order_id)
            .await?
            .ok_or(CheckoutError::Internal)?;
    }
    if basis(state, &order).await? != request.basis {
        return finish(
            state,
            request,
            ActionState::Refused(td_string!(locale(), merchant.changed_since).to_string()),
        )
        .await;
    }
    let call = match request.kind {
        ActionKind::Capture => capture(&order, request),
        ActionKind::Cancel => release(&order, request),
        ActionKind::Refund => refund(&order, request),
        ActionKind::ChargeAgain => {
            let step = crate::server::merchant::repeat::charge_again(state, &order, request).await;
            return match step {
                Ok(finished) => finish(state, request, finished).await,
                Err(try_again) => Err(try_again),
            };
        }
    };
    let call = match call {
        Ok(call) => call,
        Err(refused) => return finish(state, request, refused).await,
    };
    let (sent, answer) = send_recorded(
        state,
        lease,
        &order,
        None,
        format!("merchant-{}", request.key),
        call,
    )
    .await?;
    settle_action(state, lease, &order, &sent, answer, locale()).await
}

/// The action's outcome if it is finished already.
async fn finished(
    state: &AppState,
    request: &ActionRequest,
) -> Result<Option<ActionState>, CheckoutError> {
    match state.orders.action_state(&request.key).await? {
        Some(ActionState::Running) => Ok(None),
        Some(finished) => Ok(Some(finished)),
        None => Ok(Some(ActionState::Refused(
            "The action was not recorded. Start again from the order.".into(),
        ))),
    }
}

async fn finish(
    state: &AppState,
    request: &ActionRequest,
    finished: ActionState,
) -> Result<ActionState, CheckoutError> {
    state.orders.finish_action(&request.key, &finished).await?;
    Ok(finished)
}

fn refused(message: impl std::fmt::Display) -> ActionState {
    ActionState::Refused(message.to_string())
}

fn intent_of(order: &Order) -> Result<String, ActionState> {
    order
        .payment_intent_id
        .clone()
        .ok_or_else(|| refused(td_string!(locale(), merchant.no_payment)))
}

fn money(order: &Order, amount: i64) -> String {
    format_amount(amount, &order.currency, locale())
}

/// The capture the merchant asked for, or why it is refused.
fn capture(order: &Order, request: &ActionRequest) -> Result<StripeCall, ActionState> {
    if order.status != OrderStatus::Authorised {
        return Err(refused(td_string!(
            locale(),
            merchant.only_authorised_capture,
            status = super::pages::status_label(order.status)
        )));
    }
    let authorised = order_total(&order.lines).unwrap_or(0);
    let amount = request.amount.unwrap_or(authorised);
    if amount <= 0 || amount > authorised {
        return Err(refused(td_string!(
            locale(),
            merchant.capture_between,
            min = money(order, 1),
            max = money(order, authorised)
        )));
    }
    Ok(StripeCall::Capture {
        payment_intent: intent_of(order)?,
        amount,
        action: request.key.clone(),
    })
}

/// The release of the authorisation, or why it is refused.
fn release(order: &Order, request: &ActionRequest) -> Result<StripeCall, ActionState> {
    if order.status != OrderStatus::Authorised {
        return Err(refused(td_string!(
            locale(),
            merchant.only_authorised_cancel,
            status = super::pages::status_label(order.status)
        )));
    }
    Ok(StripeCall::Release {
        payment_intent: intent_of(order)?,
        action: request.key.clone(),
    })
}

/// The refund the merchant asked for, or why it is refused.
fn refund(order: &Order, request: &ActionRequest) -> Result<StripeCall, ActionState> {
    if order.status != OrderStatus::Paid {
        return Err(refused(td_string!(
            locale(),
            merchant.only_paid_refund,
            status = super::pages::status_label(order.status)
        )));
    }
    let remaining = order.amount_captured - order.amount_refunded;
    let amount = request.amount.unwrap_or(remaining);
    if remaining <= 0 {
        return Err(refused(td_string!(locale(), merchant.refunded_in_full)));
    }
    if amount <= 0 || amount > remaining {
        let (remaining, captured, refunded) = (
            money(order, remaining),
            money(order, order.amount_captured),
            money(order, order.amount_refunded),
        );
        return Err(refused(td_string!(
            locale(),
            merchant.at_most,
            remaining,
            captured,
            refunded
        )));
    }
    Ok(StripeCall::Refund {
        payment_intent: intent_of(order)?,
        amount,
        action: request.key.clone(),
    })
}
