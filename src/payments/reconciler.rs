//! Without webhooks, the server itself brings every order to a known end: at start-up and
//! then every interval, it takes (under each order's lease, so one server at a time) the
//! orders whose outcome is not known and reads their intents:
//! - `processing` payments, until they succeed (fulfilled) or fail;
//! - creates whose answer never arrived (their intent is looked up by the order id);
//! - confirms whose answer was lost, and 3-D Secure left waiting: an authenticated intent
//!   is confirmed, one back in `requires_payment_method` frees the order;
//! - orders under review whose payment is not given back yet;
//! - authorisations, every `CHECKOUT_AUTHORISATION_CHECK_SECONDS`: Stripe releases one left
//!   uncaptured for seven days, and the order then shows `authorisation_expired`.

use std::sync::Arc;
use std::time::Duration;

use stripe_shared::PaymentIntentStatus;

use super::context::internal;
use super::flow::{confirm_authenticated, recover_pending_create, retrieve, under_lease};
use super::settlement::{refund_mismatched, settle_authorisation, settle_intent, Step};
use crate::app_state::AppState;
use crate::checkout::{CheckoutError, OrderStatus, PaymentOutcome};
use crate::orders::Claim;

/// How many orders one pass takes on.
const BATCH: i64 = 50;

/// The reconciler's lease (`server_leases`): one server at a time runs the passes.
const LEASE_NAME: &str = "reconciler";

#[derive(Debug, Clone, Copy)]
pub struct ReconcileSettings {
    /// Between passes (`CHECKOUT_RECONCILE_SECONDS`, default 60).
    pub interval: Duration,
    /// How long an unanswered request or a waiting 3-D Secure is left to its shopper first.
    pub grace: Duration,
    /// How often a held authorisation is read, to find the ones Stripe released.
    pub authorisation_check: Duration,
}

/// How long a server holds the reconciler's lease after each renewal: a server that dies
/// keeps it that long at most, then another takes the passes over.
pub fn lease_for(interval: Duration) -> Duration {
    (interval * 2).max(Duration::from_secs(10))
}

/// Runs passes for as long as the server runs, while this server holds the reconciler's
/// lease (renewed at each pass). Every order is also taken under its own lease, so two
/// servers' passes could never settle one order twice; the lease spares the duplicate work.
/// `holder` names this server (its host and address): a server restarted in place, as
/// `cargo leptos watch` does on every edit, takes its passes back at once.
pub fn spawn(state: Arc<AppState>, holder: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let lease = lease_for(state.reconcile.interval);
        let mut ticks = tokio::time::interval(state.reconcile.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut holding = false;
        loop {
            ticks.tick().await;
            match state.orders.hold_server_lease(LEASE_NAME, &holder, lease).await {
                Ok(true) => {
                    if !holding {
                        tracing::info!("reconciler: this server runs the passes");
                    }
                    holding = true;
                    run_pass(&state).await;
                }
                Ok(false) => {
                    if holding {
                        tracing::warn!("reconciler: another server took the passes over");
                    }
                    holding = false;
                }
                Err(err) => tracing::error!(%err, "reconciler: cannot read its lease; the next pass tries again"),
            }
        }
    })
}

/// One pass: returns how many orders it looked at.
pub async fn run_pass(state: &AppState) -> usize {
    let ids = match state.orders.to_reconcile(state.reconcile.grace, state.reconcile.authorisation_check, BATCH).await {
        Ok(ids) => ids,
        Err(err) => {
            tracing::error!(%err, "reconciler: cannot read the orders to settle");
            return 0;
        }
    };
    for id in &ids {
        match reconcile(state, id).await {
            Ok(Some(status)) => tracing::info!(order_id = %id, ?status, "reconciler: order settled"),
            Ok(None) => {}
            Err(CheckoutError::PaymentInProgress) => {}
            Err(err) => tracing::warn!(order_id = %id, %err, "reconciler: order not settled yet"),
        }
    }
    ids.len()
}

/// Settles one order if no other server holds it; the order's status after, when it moved.
async fn reconcile(state: &AppState, order_id: &str) -> Result<Option<OrderStatus>, CheckoutError> {
    let result = under_lease(state, order_id, async |claim| reconcile_claimed(state, claim).await).await;
    let after = state.orders.get(order_id).await.map_err(internal)?.map(|o| o.status);
    result.map(|moved| if moved { after } else { None })
}

async fn reconcile_claimed(state: &AppState, claim: &Claim) -> Result<bool, CheckoutError> {
    let Some(mut order) = state.orders.get(&claim.order_id).await.map_err(internal)? else { return Ok(false) };
    let before = order.status;
    if let (None, Some(pending)) = (&order.payment_intent_id, &order.pending_create) {
        let pending = pending.clone();
        recover_pending_create(state, claim, &order, &pending).await?;
        order = state.orders.get(&claim.order_id).await.map_err(internal)?.ok_or(CheckoutError::SessionExpired)?;
    }
    let Some(intent_id) = order.payment_intent_id.clone() else { return Ok(false) };
    let pi = retrieve(state, &order, &intent_id).await?;
    if order.status == OrderStatus::NeedsReview {
        if order.review_refund.is_none() {
            refund_mismatched(state, &order.id, &pi).await;
        }
        return Ok(false);
    }
    if order.status == OrderStatus::Authorised {
        // Captured or canceled elsewhere, or released by Stripe after seven days.
        return Ok(settle_authorisation(state, &order, &pi).await?.is_some());
    }
    if pi.status == PaymentIntentStatus::RequiresAction && order.status == OrderStatus::RequiresAction {
        // Still with the cardholder: nothing to record (recording would keep the order
        // looking fresh, and polled, for ever), but nothing is in doubt any more either.
        if order.in_doubt {
            state.orders.clear_in_doubt(claim).await.map_err(internal)?;
        }
        return Ok(false);
    }
    let outcome = if pi.status == PaymentIntentStatus::RequiresConfirmation && order.status == OrderStatus::RequiresAction {
        // The cardholder authenticated, and the page never confirmed: confirm for them.
        confirm_authenticated(state, claim, &order, &intent_id).await
    } else {
        settle_intent(state, claim, &order, pi, Step::Pay).await
    };
    match outcome {
        Ok(PaymentOutcome::Completed(_)) | Ok(PaymentOutcome::RequiresAction { .. }) | Err(CheckoutError::Declined(_)) => {}
        Err(CheckoutError::AuthenticationFailed | CheckoutError::AuthenticationExpired | CheckoutError::PaymentCanceled | CheckoutError::UnderReview) => {}
        Err(err) => return Err(err),
    }
    let after = state.orders.get(&claim.order_id).await.map_err(internal)?.map(|o| o.status);
    Ok(after != Some(before))
}
