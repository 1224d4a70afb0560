//! The back office's actions on an order: capture (all or part), cancel an authorisation,
//! refund (all or part, several times up to what was captured). Each runs once per one-time
//! key (the confirmation form's): the key is stored before anything else, the Stripe call
//! carries it as its idempotency key, and the order's lease keeps one action (or payment
//! step) at a time on an order, whatever the server.

use stripe::StripeError;
use stripe_core::payment_intent::{CancelPaymentIntent, CapturePaymentIntent, RetrievePaymentIntent};
use stripe_core::refund::CreateRefund;
use stripe_shared::PaymentIntent;
use stripe_types::Expandable;

use super::locale;
use crate::app_state::AppState;
use crate::checkout::order::order_total;
use crate::checkout::{format_amount, CheckoutError, OrderStatus};
use crate::i18n::td_string;
use crate::orders::{ActionKind, ActionState, Claim, Order};
use crate::payments::context::internal;
use crate::payments::flow::under_lease_waiting;
use crate::payments::settlement::settle_authorisation;
use crate::payments::transport::{retryable, send, send_read};

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
    match state.orders.begin_action(&request.key, &request.order_id, request.kind, request.amount).await {
        Ok(Some(ActionState::Running)) => {}
        Ok(Some(finished)) => return ActionResult::Finished(finished),
        Ok(None) => return ActionResult::Finished(ActionState::Refused(td_string!(locale(), merchant.other_action).to_string())),
        Err(err) => return ActionResult::TryAgain(internal_message(err)),
    }
    let outcome = under_lease_waiting(state, &request.order_id, LEASE_PATIENCE, async |claim| Ok(run_claimed(state, claim, request).await)).await;
    match outcome {
        Ok(result) => result,
        Err(CheckoutError::PaymentInProgress) => ActionResult::TryAgain(td_string!(locale(), merchant.busy).to_string()),
        Err(err) => ActionResult::TryAgain(err.message(locale())),
    }
}

fn internal_message(err: impl std::fmt::Display + 'static) -> String {
    internal(err).message(locale())
}

async fn run_claimed(state: &AppState, claim: &Claim, request: &ActionRequest) -> ActionResult {
    // A double submit that waited for the lease finds the first one's answer.
    match state.orders.action_state(&request.key).await {
        Ok(Some(ActionState::Running)) => {}
        Ok(Some(finished)) => return ActionResult::Finished(finished),
        Ok(None) => return ActionResult::TryAgain("The action was not recorded. Start again from the order.".into()),
        Err(err) => return ActionResult::TryAgain(internal_message(err)),
    }
    let order = match state.orders.get(&claim.order_id).await {
        Ok(Some(order)) => order,
        Ok(None) => return finish(state, request, ActionState::Refused("No such order.".into())).await,
        Err(err) => return ActionResult::TryAgain(internal_message(err)),
    };
    let result = match request.kind {
        ActionKind::Capture => capture(state, &order, request).await,
        ActionKind::Cancel => cancel(state, &order, request).await,
        ActionKind::Refund => refund(state, &order, request).await,
        ActionKind::ChargeAgain => crate::merchant::repeat::charge_again(state, &order, request).await,
    };
    match result {
        Ok(finished) => finish(state, request, finished).await,
        Err(try_again) => ActionResult::TryAgain(try_again),
    }
}

async fn finish(state: &AppState, request: &ActionRequest, finished: ActionState) -> ActionResult {
    match state.orders.finish_action(&request.key, &finished).await {
        Ok(()) => ActionResult::Finished(finished),
        Err(err) => ActionResult::TryAgain(internal_message(err)),
    }
}

/// A step's result: finished (done or refused), or `Err` with why it may be sent again.
pub type Step = Result<ActionState, String>;

pub fn refused(message: impl std::fmt::Display) -> Step {
    Ok(ActionState::Refused(message.to_string()))
}

/// What a failed Stripe call means for an action: Stripe's refusal is final (its message is
/// written for the account owner); an outage or timeout may be retried with the same key.
pub fn stripe_failure(order: &Order, err: StripeError) -> Step {
    match err {
        err if retryable(&err) => Err(td_string!(locale(), merchant.stripe_silent).to_string()),
        StripeError::Stripe(api, _) => {
            tracing::warn!(order_id = %order.id, code = api.code.as_ref().map(|c| c.as_str()), "back office: Stripe refused an action");
            let reason = api.message.unwrap_or_else(|| td_string!(locale(), merchant.no_reason).to_string());
            refused(td_string!(locale(), merchant.stripe_refused, reason))
        }
        err => Err(internal_message(err)),
    }
}

fn intent_of(order: &Order) -> Result<&str, Step> {
    order.payment_intent_id.as_deref().ok_or_else(|| refused(td_string!(locale(), merchant.no_payment)))
}

fn money(order: &Order, amount: i64) -> String {
    format_amount(amount, &order.currency, locale())
}

async fn capture(state: &AppState, order: &Order, request: &ActionRequest) -> Step {
    if order.status != OrderStatus::Authorised {
        return refused(td_string!(locale(), merchant.only_authorised_capture, status = super::pages::status_label(order.status)));
    }
    let authorised = order_total(&order.lines).unwrap_or(0);
    let amount = request.amount.unwrap_or(authorised);
    if amount <= 0 || amount > authorised {
        return refused(td_string!(locale(), merchant.capture_between, min = money(order, 1), max = money(order, authorised)));
    }
    let pi = match intent_of(order) {
        Ok(pi) => pi,
        Err(step) => return step,
    };
    let call = CapturePaymentIntent::new(pi).amount_to_capture(amount);
    match send(state, &order.id, &call, &format!("merchant-{}", request.key)).await {
        Ok(captured) => {
            settle_authorisation(state, order, &captured).await.map_err(|e| e.message(locale()))?;
            let done = td_string!(locale(), merchant.captured, amount = money(order, captured.amount_received), total = money(order, authorised));
            Ok(ActionState::Done(done.to_string()))
        }
        Err(err) => {
            // No longer held (expired, canceled elsewhere): the order learns where it stands.
            if let Ok(current) = send_read(state, &order.id, &RetrievePaymentIntent::new(pi)).await {
                let _ = settle_authorisation(state, order, &current).await;
            }
            stripe_failure(order, err)
        }
    }
}

async fn cancel(state: &AppState, order: &Order, request: &ActionRequest) -> Step {
    if order.status != OrderStatus::Authorised {
        return refused(td_string!(locale(), merchant.only_authorised_cancel, status = super::pages::status_label(order.status)));
    }
    let pi = match intent_of(order) {
        Ok(pi) => pi,
        Err(step) => return step,
    };
    let call = CancelPaymentIntent::new(pi);
    match send(state, &order.id, &call, &format!("merchant-{}", request.key)).await {
        Ok(canceled) => {
            settle_authorisation(state, order, &canceled).await.map_err(|e| e.message(locale()))?;
            let done = td_string!(locale(), merchant.canceled, amount = money(order, order_total(&order.lines).unwrap_or(0)));
            Ok(ActionState::Done(done.to_string()))
        }
        Err(err) => stripe_failure(order, err),
    }
}

async fn refund(state: &AppState, order: &Order, request: &ActionRequest) -> Step {
    if order.status != OrderStatus::Paid {
        return refused(td_string!(locale(), merchant.only_paid_refund, status = super::pages::status_label(order.status)));
    }
    let remaining = order.amount_captured - order.amount_refunded;
    let amount = request.amount.unwrap_or(remaining);
    if remaining <= 0 {
        return refused(td_string!(locale(), merchant.refunded_in_full));
    }
    if amount <= 0 || amount > remaining {
        let (remaining, captured, refunded) = (money(order, remaining), money(order, order.amount_captured), money(order, order.amount_refunded));
        return refused(td_string!(locale(), merchant.at_most, remaining, captured, refunded));
    }
    let pi = match intent_of(order) {
        Ok(pi) => pi,
        Err(step) => return step,
    };
    let call = CreateRefund::new().payment_intent(pi).amount(amount);
    if let Err(err) = send(state, &order.id, &call, &format!("merchant-{}", request.key)).await {
        return stripe_failure(order, err);
    }
    // The database takes Stripe's own totals, so the two agree whatever happened before.
    record_amounts(state, order, pi).await?;
    Ok(ActionState::Done(td_string!(locale(), merchant.refunded, amount = money(order, amount)).to_string()))
}

/// Reads what the intent's charge captured and refunded, and stores it.
pub async fn record_amounts(state: &AppState, order: &Order, pi: &str) -> Result<(), String> {
    let read = RetrievePaymentIntent::new(pi).expand(vec!["latest_charge".to_owned()]);
    let intent: PaymentIntent = send_read(state, &order.id, &read).await.map_err(|e| {
        tracing::warn!(order_id = %order.id, %e, "back office: refund made, but its charge could not be read");
        td_string!(locale(), merchant.refund_unread).to_string()
    })?;
    let Some(Expandable::Object(charge)) = intent.latest_charge else { return Err(internal_message("intent without its charge")) };
    state.orders.set_refunded(&order.id, charge.amount_captured, charge.amount_refunded).await.map_err(internal_message)?;
    Ok(())
}
