//! Without webhooks, the server itself brings every order to a known end. At start-up and
//! then every interval, a pass takes the orders due on the reconciler's queue (see
//! `orders::queue`), each under its lease, a few at a time:
//! - a request whose answer was lost is replayed under its key (see `payments/replay.rs`);
//! - `processing` payments are read until they succeed (fulfilled) or fail;
//! - 3-D Secure left waiting: an authenticated intent is confirmed, one back in
//!   `requires_payment_method` frees the order; a declined order whose intent succeeded after
//!   all is fulfilled (or reviewed and refunded);
//! - orders under review whose payment is not given back yet;
//! - authorisations, every `CHECKOUT_AUTHORISATION_CHECK_SECONDS`: Stripe releases one left
//!   uncaptured for seven days, and the order then shows `authorisation_expired`.
//!
//! An order it cannot settle on its own (a refund Stripe refuses for good, an intent missing
//! from the account) is listed in the back office as needing the merchant, and left alone.

use std::sync::Arc;
use std::time::Duration;

use stripe_shared::PaymentIntentStatus;

use super::merchant::settlement::settle_unsettled_action;
use super::payments::authorisation::settle_authorisation;
use super::payments::flow::retrieve;
use super::payments::intent::settle_intent;
use super::payments::lease::holding;
use super::payments::reconfirm::confirm_authenticated;
use super::payments::replay::{settle_unsettled, Settled};
use super::payments::review::give_back;
use super::payments::settlement::Step;
use crate::domain::{CheckoutError, OrderStatus};
pub use crate::server::config::ReconcileSettings;
use crate::server::state::AppState;
use crate::server::store::{now, DueOrder, Lease};
use crate::server::telemetry::record;

/// Orders read from the queue at a time.
const BATCH: i64 = 100;
/// Orders looked at together (each waits on Stripe most of its time).
const AT_ONCE: usize = 8;

/// The reconciler's lease (`server_leases`): one server at a time runs the passes.
pub const LEASE_NAME: &str = "reconciler";

/// How long a server holds the reconciler's lease after each renewal: a server that dies
/// keeps it that long at most, then another takes the passes over.
pub fn lease_for(interval: Duration) -> Duration {
    (interval * 2).max(Duration::from_secs(10))
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Orders it looked at.
    pub looked_at: usize,
    /// Of those, the ones whose status moved.
    pub settled: usize,
}

/// Runs passes for as long as the server runs, while this server holds the reconciler's
/// lease (renewed at each pass, and between batches), until `stop` says the server is
/// stopping. Every order is also taken under its own lease, so two servers' passes could never
/// settle one order twice; the lease spares the duplicate work. `holder` names this server
/// (its host and address): a server restarted in place, as `cargo leptos watch` does on every
/// edit, takes its passes back at once.
pub fn spawn(
    state: Arc<AppState>,
    holder: String,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let lease = lease_for(state.reconcile.interval);
        let mut ticks = tokio::time::interval(state.reconcile.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut holding = false;
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.wait_for(|stopping| *stopping) => break,
            }
            match state
                .orders
                .hold_server_lease(LEASE_NAME, &holder, lease)
                .await
            {
                Ok(true) => {
                    if !holding {
                        tracing::info!("reconciler: this server runs the passes");
                    }
                    holding = true;
                    let pass = run_pass_until(&state, Some(&stop), Some((&holder, lease))).await;
                    if pass.looked_at > 0 {
                        tracing::info!(
                            looked_at = pass.looked_at,
                            settled = pass.settled,
                            "reconciler: pass done"
                        );
                    }
                    after_pass(&state, pass).await;
                }
                Ok(false) => {
                    if holding {
                        tracing::warn!("reconciler: another server took the passes over");
                    }
                    holding = false;
                }
                Err(err) => {
                    tracing::error!(%err, "reconciler: cannot read its lease; the next pass tries again")
                }
            }
        }
        if holding {
            // Another server takes the passes over at once rather than when the lease runs out.
            if let Err(err) = state.orders.release_server_lease(LEASE_NAME, &holder).await {
                tracing::warn!(%err, "reconciler: its lease could not be given back; it runs out by itself");
            }
        }
        tracing::info!("reconciler: stopped");
    })
}

/// How long payment attempts are kept: the dashboard shows a week, the limits an hour.
const ATTEMPTS_KEPT_SECONDS: i64 = 30 * 86_400;

/// What the pass leaves: its figures and the backlog on the metrics, old attempts forgotten.
async fn after_pass(state: &AppState, pass: Pass) {
    if state.metrics.is_some() {
        record::reconciler_pass(pass.looked_at, pass.settled);
        let t = now();
        match state.orders.backlog(t).await {
            Ok(b) => record::backlog(
                b.due,
                b.oldest_due_at.map_or(0, |at| (t - at).max(0)),
                b.watched,
                b.needs_merchant,
            ),
            Err(err) => tracing::warn!(%err, "reconciler: cannot read its backlog"),
        }
    }
    if let Err(err) = state
        .orders
        .forget_attempts(now() - ATTEMPTS_KEPT_SECONDS)
        .await
    {
        tracing::warn!(%err, "reconciler: old payment attempts could not be forgotten");
    }
}

/// One pass over every order due now.
pub async fn run_pass(state: &Arc<AppState>) -> Pass {
    let pass = run_pass_until(state, None, None).await;
    after_pass(state, pass).await;
    pass
}

/// One pass: the orders due when it starts, earliest due first, [`AT_ONCE`] at a time, until
/// none is left or `stop` says the server is stopping. Each order taken is pushed back on the
/// queue as it is taken, so a pass ends, and what it finds unchanged waits its backoff.
async fn run_pass_until(
    state: &Arc<AppState>,
    stop: Option<&tokio::sync::watch::Receiver<bool>>,
    server_lease: Option<(&str, Duration)>,
) -> Pass {
    let by = now();
    let mut pass = Pass::default();
    let stopping = || stop.is_some_and(|s| *s.borrow());
    loop {
        let due = match state.orders.due(by, BATCH).await {
            Ok(due) => due,
            Err(err) => {
                tracing::error!(%err, "reconciler: cannot read the orders due");
                return pass;
            }
        };
        if due.is_empty() || stopping() {
            return pass;
        }
        let mut looks = tokio::task::JoinSet::new();
        for order in due {
            while looks.len() >= AT_ONCE {
                if let Some(Ok(moved)) = looks.join_next().await {
                    pass.settled += usize::from(moved);
                }
            }
            if stopping() {
                break;
            }
            let lease = match state.orders.take_due(&order, by, state.lease).await {
                Ok(Some(lease)) => lease,
                Ok(None) => continue,
                Err(err) => {
                    tracing::error!(%err, order_id = %order.id, "reconciler: cannot take the order");
                    continue;
                }
            };
            pass.looked_at += 1;
            let state = state.clone();
            looks.spawn(async move { look_at(&state, lease, order).await });
        }
        while let Some(done) = looks.join_next().await {
            pass.settled += usize::from(done.unwrap_or(false));
        }
        if let Some((holder, lease)) = server_lease {
            // A long pass keeps the passes this server's.
            let _ = state
                .orders
                .hold_server_lease(LEASE_NAME, holder, lease)
                .await;
        }
    }
}

/// Looks at one due order under `lease`; whether its status moved.
async fn look_at(state: &AppState, lease: Lease, due: DueOrder) -> bool {
    let id = due.id.clone();
    let result = holding(state, lease, async |lease| {
        settle_order(state, lease, due.watched.status).await
    })
    .await;
    match result {
        Ok(Some(status)) => {
            tracing::info!(order_id = %id, ?status, "reconciler: order settled");
            true
        }
        Ok(None) | Err(CheckoutError::PaymentInProgress) => false,
        Err(err) => {
            tracing::warn!(order_id = %id, %err, "reconciler: order not settled yet");
            false
        }
    }
}

/// Brings the order as far as Stripe says it has come; its new status when it moved.
async fn settle_order(
    state: &AppState,
    lease: &Lease,
    before: OrderStatus,
) -> Result<Option<OrderStatus>, CheckoutError> {
    let Some(mut order) = state.orders.get(&lease.order_id).await? else {
        return Ok(None);
    };
    if order.request.is_some() {
        // Its outcome (a payment taken, a decline…) is written as it is settled.
        if let Settled::Action(action) = settle_unsettled(state, lease, &order).await? {
            settle_unsettled_action(state, lease, &order, action, state.default_locale).await?;
        }
        order = state
            .orders
            .get(&lease.order_id)
            .await?
            .ok_or(CheckoutError::SessionExpired)?;
    }
    let watched = matches!(
        order.status,
        OrderStatus::Processing
            | OrderStatus::RequiresAction
            | OrderStatus::Failed
            | OrderStatus::NeedsReview
            | OrderStatus::Authorised
    );
    let intent_id = match &order.payment_intent_id {
        Some(id) if watched && order.request.is_none() && order.attention.is_none() => id.clone(),
        _ => return Ok(moved(before, order.status)),
    };
    let pi = retrieve(state, lease, &order, &intent_id).await?;
    match (order.status, pi.status.clone()) {
        (OrderStatus::NeedsReview, _) => {
            if order.review_refund.is_none() {
                give_back(state, lease, &order, &pi).await;
            }
        }
        // Captured or canceled elsewhere, or released by Stripe after seven days.
        (OrderStatus::Authorised, _) => {
            settle_authorisation(state, lease, &order, &pi).await?;
        }
        // Still with the bank or the cardholder, or declined and not tried again: nothing to
        // write (a write would start its backoff over).
        (OrderStatus::Processing, PaymentIntentStatus::Processing)
        | (OrderStatus::RequiresAction, PaymentIntentStatus::RequiresAction)
        | (OrderStatus::Failed, PaymentIntentStatus::RequiresPaymentMethod) => {}
        (OrderStatus::RequiresAction, PaymentIntentStatus::RequiresConfirmation) => {
            // The cardholder authenticated, and the page never confirmed: confirm for them.
            outcome_settled(confirm_authenticated(state, lease, &order, &intent_id).await)?;
        }
        _ => outcome_settled(settle_intent(state, lease, &order, pi, Step::Pay).await)?,
    }
    let after = state
        .orders
        .get(&lease.order_id)
        .await?
        .map_or(before, |o| o.status);
    Ok(moved(before, after))
}

fn moved(before: OrderStatus, after: OrderStatus) -> Option<OrderStatus> {
    (after != before).then_some(after)
}

/// What the shopper would have been told is no failure of the reconciler's: a decline, a
/// review… are where the order ends. Anything else is.
fn outcome_settled<T>(outcome: Result<T, CheckoutError>) -> Result<(), CheckoutError> {
    match outcome {
        Ok(_) | Err(CheckoutError::Declined(_)) => Ok(()),
        Err(
            CheckoutError::AuthenticationFailed
            | CheckoutError::AuthenticationExpired
            | CheckoutError::PaymentCanceled
            | CheckoutError::UnderReview,
        ) => Ok(()),
        Err(err) => Err(err),
    }
}
