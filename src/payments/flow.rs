//! `pay` and `reconfirm`, as Stripe's guide has them, under the order's lease: one server at
//! a time talks to Stripe about an order, and one PaymentIntent serves it (a new one only
//! after Stripe canceled the last). Every POST carries a key derived from the order and an
//! attempt number stored first.

use std::collections::HashMap;

use stripe::StripeError;
use stripe_core::payment_intent::{CancelPaymentIntent, ConfirmPaymentIntent, CreatePaymentIntent, ListPaymentIntent, RetrievePaymentIntent, UpdatePaymentIntent};
use stripe_shared::{PaymentIntent, PaymentIntentStatus};
use stripe_types::{RangeBoundsTs, RangeQueryTs};

use super::context::internal;
use super::settlement::{classify, settle, settle_intent, Step};
use super::transport::{send, send_read};
use crate::app_state::AppState;
use crate::checkout::order::order_total;
use crate::config::CaptureMode;
use crate::checkout::{CheckoutError, OrderStatus, PaymentEvent, PaymentOutcome};
use crate::orders::{now, Claim, Order, PendingCreate};
use crate::session::Session;

/// Stripe keeps an idempotent result for 24 hours; a create older than this is never replayed.
const REPLAY_WINDOW_SECONDS: i64 = 23 * 3600;
/// How far back (and, for clock skew, forward) of a lost create its intent is looked for.
const LOOKUP_SLACK_SECONDS: i64 = 3600;
/// Pages of 100 intents read when looking for a lost create's intent.
const LOOKUP_PAGES: usize = 20;

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

/// Runs `step` under the order's lease, giving the lease back after; a payment already under
/// way (this server or another) is answered as such.
pub async fn under_lease<T>(state: &AppState, order_id: &str, step: impl AsyncFnOnce(&Claim) -> Result<T, CheckoutError>) -> Result<T, CheckoutError> {
    under_lease_waiting(state, order_id, std::time::Duration::ZERO, step).await
}

/// [`under_lease`], waiting up to `patience` for a lease held by someone else to be given
/// back or run out (the reconciler holds an order for a moment while it reads it).
pub async fn under_lease_waiting<T>(
    state: &AppState,
    order_id: &str,
    patience: std::time::Duration,
    step: impl AsyncFnOnce(&Claim) -> Result<T, CheckoutError>,
) -> Result<T, CheckoutError> {
    let started = std::time::Instant::now();
    let claim = loop {
        match state.orders.claim(order_id, state.lease).await.map_err(internal)? {
            Some(claim) => break claim,
            None if started.elapsed() < patience => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            None => return Err(CheckoutError::PaymentInProgress),
        }
    };
    holding(state, claim, step).await
}

/// Runs `step` under `claim`, giving the lease back after.
pub async fn holding<T>(state: &AppState, claim: Claim, step: impl AsyncFnOnce(&Claim) -> Result<T, CheckoutError>) -> Result<T, CheckoutError> {
    // Boxed: a step's future is large, and it is polled deep inside the router's.
    let result = Box::pin(step(&claim)).await;
    if let Err(err) = state.orders.release(&claim).await {
        // The lease runs out by itself.
        tracing::error!(order_id = %claim.order_id, %err, "releasing the order's lease failed");
    }
    result
}

/// Which card pays, as the shopper chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardChoice {
    /// A card typed now, used for this payment only.
    New,
    /// A card typed now, saved for later if the payment succeeds (the guide's Customer and
    /// `setup_future_usage=off_session`), for this e-mail address.
    NewSaved { email: String },
    /// A card this browser saved before.
    Saved,
}

/// The terms of the order's intent besides its amount: they decide whether an existing
/// intent can be confirmed again or must be replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentTerms {
    pub customer_id: Option<String>,
    pub save_card: bool,
}

/// `pay(payment_method_id)`: confirm the order's PaymentIntent with this card (creating it the
/// first time). The order is stored now if the browser only glanced at it so far. A request
/// without the page's cookie is refused: only the page knows what the shopper was shown.
pub async fn pay_order(state: &AppState, session: &Session, payment_method_id: &str, choice: CardChoice) -> Result<PaymentOutcome, CheckoutError> {
    let payment_method_id = check_payment_method_id(payment_method_id)?;
    if session.order_id().is_none() {
        return Err(CheckoutError::SessionExpired);
    }
    let terms = super::saved_cards::terms_for(state, session, payment_method_id, choice).await?;
    // An order stored by this payment has no intent yet: its create is recorded as it is stored.
    let first_create = |order: &Order| Some(create_to_record(payment_method_id, order_total(&order.lines).ok()?, &terms));
    let (claim, stored_now) = session.claim_order(state, first_create).await?;
    holding(state, claim, async |claim| pay_claimed(state, claim, stored_now, payment_method_id, &terms).await).await
}

/// What a shopper is told about an order that takes no card.
pub fn refuse_card(status: OrderStatus) -> Result<(), CheckoutError> {
    match status {
        status if status.accepts_card() => Ok(()),
        status if status.is_fulfilled() => Err(CheckoutError::AlreadyPaid),
        OrderStatus::NeedsReview => Err(CheckoutError::UnderReview),
        OrderStatus::Canceled | OrderStatus::AuthorisationExpired => Err(CheckoutError::OrderClosed),
        _ => Err(CheckoutError::PaymentInProgress),
    }
}

/// Pays the claimed order with this card on these terms (the shopper's `pay`, or the
/// merchant's charge of a saved card for a repeat order). `stored_now`: the order, if this
/// request has just stored it under the claim (it is then not read again), with the create
/// it sends first recorded if it has a pending one.
pub async fn pay_claimed(
    state: &AppState,
    claim: &Claim,
    stored_now: Option<Order>,
    payment_method_id: &str,
    terms: &PaymentTerms,
) -> Result<PaymentOutcome, CheckoutError> {
    let stored_by_this_payment = stored_now.is_some();
    let mut order = match stored_now {
        Some(order) => order,
        None => state.orders.get(&claim.order_id).await.map_err(internal)?.ok_or(CheckoutError::SessionExpired)?,
    };
    refuse_card(order.status)?;
    let amount = order_total(&order.lines)?;
    if let Some(pending) = order.pending_create.clone().filter(|_| stored_by_this_payment) {
        return create_and_settle(state, claim, &order, &pending).await;
    }

    let mut current = current_intent(state, claim, &order).await?;
    if let Some(pi) = &current {
        match pi.status {
            // Already decided: what it decided is the answer, whatever card was offered now.
            PaymentIntentStatus::Succeeded | PaymentIntentStatus::RequiresCapture | PaymentIntentStatus::Processing => {
                return settle_intent(state, claim, &order, pi.clone(), Step::Pay).await;
            }
            PaymentIntentStatus::Canceled => {
                tracing::info!(order_id = %order.id, payment_intent = %pi.id, "the order's intent was canceled: a new one replaces it");
                state.orders.record(&order.id, PaymentEvent::IntentCanceled, None).await.map_err(internal)?;
                order = state.orders.get(&order.id).await.map_err(internal)?.ok_or(CheckoutError::SessionExpired)?;
                current = None;
            }
            _ if terms_of(pi) != *terms => {
                // Another customer, or saving the card or not: Stripe cannot unset either on
                // an intent, so this one (which took no money) is canceled and replaced.
                let cancel = CancelPaymentIntent::new(pi.id.as_str());
                let canceled = send(state, &order.id, &cancel, &format!("checkout-{}-cancel-{}", order.id, pi.id)).await;
                match canceled {
                    Ok(canceled) if canceled.status == PaymentIntentStatus::Canceled => {}
                    other => return settle(state, claim, &order, other, Step::Pay).await,
                }
                tracing::info!(order_id = %order.id, payment_intent = %pi.id, "the payment's terms changed: a new intent replaces the old one");
                state.orders.record(&order.id, PaymentEvent::IntentCanceled, None).await.map_err(internal)?;
                order = state.orders.get(&order.id).await.map_err(internal)?.ok_or(CheckoutError::SessionExpired)?;
                current = None;
            }
            _ => {}
        }
    }

    let Some(pi) = current else {
        // Recorded before the call: until its answer is known, no other create is sent.
        let pending = create_to_record(payment_method_id, amount, terms);
        let pending = state.orders.record_pending_create(claim, pending).await.map_err(internal)?;
        return create_and_settle(state, claim, &order, &pending).await;
    };
    // Sent without a known answer until settled.
    let attempt = state.orders.begin_confirm(claim).await.map_err(internal)?;
    let key = |step: &str| attempt_key(&order.id, attempt, step);
    if pi.amount != amount || pi.currency != state.currency {
        // The cart changed after a decline: the intent charges what the order costs now.
        let update = UpdatePaymentIntent::new(pi.id.as_str()).amount(amount).currency(state.currency.clone());
        let updated = send(state, &order.id, &update, &key("amount")).await;
        match updated {
            Ok(updated) if updated.amount == amount && updated.currency == state.currency => {}
            Ok(updated) => {
                return Err(internal(format!("intent {} answered amount {} to an update to {amount}", updated.id, updated.amount)));
            }
            Err(err) => return settle(state, claim, &order, Err(err), Step::Pay).await,
        }
    }
    let confirm = ConfirmPaymentIntent::new(pi.id.as_str()).payment_method(payment_method_id).expand(vec!["payment_method".to_owned()]);
    let answer = send(state, &order.id, &confirm, &key("confirm")).await;
    settle(state, claim, &order, answer, Step::Pay).await
}

/// The create-and-confirm of this card, amount and terms, sent now (the store numbers its
/// attempt when it records it).
fn create_to_record(payment_method_id: &str, amount: i64, terms: &PaymentTerms) -> PendingCreate {
    PendingCreate {
        attempt: 0,
        payment_method_id: payment_method_id.to_owned(),
        amount,
        created_at: now(),
        customer_id: terms.customer_id.clone(),
        save_card: terms.save_card,
    }
}

/// Sends the recorded create-and-confirm `pending` and settles its answer.
async fn create_and_settle(state: &AppState, claim: &Claim, order: &Order, pending: &PendingCreate) -> Result<PaymentOutcome, CheckoutError> {
    let key = attempt_key(&order.id, pending.attempt, "create");
    let answer = send(state, &order.id, &create_request(state, order, pending), &key).await;
    if let Err(StripeError::Stripe(api, 400)) = &answer {
        if api.type_ == stripe_shared::ApiErrorsType::IdempotencyError {
            return key_used_before(state, claim, order).await;
        }
    }
    if let Err(StripeError::Stripe(api, 400 | 404)) = &answer {
        if api.payment_intent.is_none() {
            // Refused outright: nothing was created.
            state.orders.clear_pending_create(claim).await.map_err(internal)?;
        }
    }
    settle(state, claim, order, answer, Step::Pay).await
}

/// The idempotency key of one step of one attempt: `checkout-{order}-attempt-{n}-{step}`.
fn attempt_key(order_id: &str, attempt: i64, step: &str) -> String {
    format!("checkout-{order_id}-attempt-{attempt}-{step}")
}

/// Stripe already holds this attempt's create key with other parameters: this database lost
/// its last writes (a power loss took back the attempt counter, see `OrderStore::connect`).
/// Whatever that earlier create made is the order's intent: it is looked for over the 24
/// hours Stripe keeps keys, and settled, rather than a second one made.
async fn key_used_before(state: &AppState, claim: &Claim, order: &Order) -> Result<PaymentOutcome, CheckoutError> {
    tracing::error!(order_id = %order.id, "a create key was already used with other parameters: looking for the intent it made");
    match find_intent_of(state, order, now() - 24 * 3600).await? {
        Some(pi) => settle_intent(state, claim, order, pi, Step::Pay).await,
        None => {
            state.orders.clear_pending_create(claim).await.map_err(internal)?;
            Err(CheckoutError::PaymentServiceUnavailable)
        }
    }
}

/// The terms an intent was made with.
fn terms_of(pi: &PaymentIntent) -> PaymentTerms {
    PaymentTerms {
        customer_id: pi.customer.as_ref().map(|c| c.id().to_string()),
        save_card: pi.setup_future_usage == Some(stripe_shared::PaymentIntentSetupFutureUsage::OffSession),
    }
}

/// The order's intent as Stripe has it now: the bound one, or the one a lost create made.
async fn current_intent(state: &AppState, claim: &Claim, order: &Order) -> Result<Option<PaymentIntent>, CheckoutError> {
    match (&order.payment_intent_id, &order.pending_create) {
        (Some(id), _) => retrieve(state, order, id).await.map(Some),
        (None, Some(pending)) => recover_pending_create(state, claim, order, pending).await,
        (None, None) => Ok(None),
    }
}

/// Reads the order's own intent. Not found means these keys open another account than the
/// one that made it: a configuration error, never a reason to make a new intent.
pub async fn retrieve(state: &AppState, order: &Order, id: &str) -> Result<PaymentIntent, CheckoutError> {
    let request = RetrievePaymentIntent::new(id).expand(vec!["payment_method".to_owned()]);
    match send_read(state, &order.id, &request).await {
        Ok(pi) => Ok(pi),
        Err(StripeError::Stripe(_, 404)) => {
            tracing::error!(
                order_id = %order.id, payment_intent = id,
                "CONFIGURATION ERROR: Stripe does not know this order's PaymentIntent. Are STRIPE_SECRET_KEY and the account that took the payment the same?"
            );
            Err(CheckoutError::Internal)
        }
        Err(err) => Err(classify(err, &order.id)),
    }
}

/// The guide's first call: create the order's PaymentIntent and confirm it at once.
fn create_request(state: &AppState, order: &Order, pending: &PendingCreate) -> CreatePaymentIntent {
    let mut metadata = HashMap::new();
    metadata.insert("order_id".to_owned(), order.id.clone());
    metadata.insert("order_reference".to_owned(), order.reference.clone());
    let capture = match state.capture {
        CaptureMode::Automatic => stripe_shared::PaymentIntentCaptureMethod::Automatic,
        CaptureMode::Manual => stripe_shared::PaymentIntentCaptureMethod::Manual,
    };
    let mut request = CreatePaymentIntent::new(pending.amount, state.currency.clone())
        .payment_method(pending.payment_method_id.as_str())
        .confirm(true)
        .confirmation_method(stripe_shared::PaymentIntentConfirmationMethod::Manual)
        .capture_method(capture)
        .metadata(metadata)
        .description(format!("Order {}", order.reference))
        .expand(vec!["payment_method".to_owned()]);
    if let Some(customer) = &pending.customer_id {
        request = request.customer(customer.as_str());
    }
    if pending.save_card {
        request = request.setup_future_usage(stripe_shared::PaymentIntentSetupFutureUsage::OffSession);
    }
    if order.off_session_payment_method.is_some() {
        // The merchant charges a saved card without the shopper (a repeat order).
        request = request.off_session(stripe_core::payment_intent::CreatePaymentIntentOffSession::Bool(true));
    }
    request
}

/// Answers a create whose answer was lost. First the intents made since it was sent are read
/// (Stripe's lists are consistent) for one carrying this order's id; if none is found, the
/// create is replayed with its key while Stripe still keeps that key, so a request still
/// executing there is waited for rather than doubled. Past that window an unlisted create
/// made nothing.
pub async fn recover_pending_create(state: &AppState, claim: &Claim, order: &Order, pending: &PendingCreate) -> Result<Option<PaymentIntent>, CheckoutError> {
    if let Some(pi) = find_intent_of(state, order, pending.created_at).await? {
        tracing::info!(order_id = %order.id, payment_intent = %pi.id, "found the PaymentIntent of an unanswered create");
        state.orders.attach_intent(claim, pi.id.as_str()).await.map_err(internal)?;
        return Ok(Some(pi));
    }
    if now() - pending.created_at >= REPLAY_WINDOW_SECONDS {
        tracing::info!(order_id = %order.id, "an unanswered create made no PaymentIntent");
        state.orders.clear_pending_create(claim).await.map_err(internal)?;
        return Ok(None);
    }
    let key = attempt_key(&order.id, pending.attempt, "create");
    match send(state, &order.id, &create_request(state, order, pending), &key).await {
        Ok(pi) => {
            state.orders.attach_intent(claim, pi.id.as_str()).await.map_err(internal)?;
            Ok(Some(pi))
        }
        // The replayed answer of a declined create names its intent.
        Err(StripeError::Stripe(api, _)) if api.payment_intent.is_some() => {
            let pi = api.payment_intent.expect("checked");
            state.orders.attach_intent(claim, pi.id.as_str()).await.map_err(internal)?;
            Ok(Some(pi))
        }
        Err(StripeError::Stripe(_, 400 | 404)) => {
            state.orders.clear_pending_create(claim).await.map_err(internal)?;
            Ok(None)
        }
        Err(err) => Err(classify(err, &order.id)),
    }
}

/// The order's live (not canceled) intent among those created since `sent_at`, newest first.
async fn find_intent_of(state: &AppState, order: &Order, sent_at: i64) -> Result<Option<PaymentIntent>, CheckoutError> {
    let since = RangeQueryTs::Bounds(RangeBoundsTs { gte: Some(sent_at - LOOKUP_SLACK_SECONDS), ..Default::default() });
    let mut after: Option<String> = None;
    for _ in 0..LOOKUP_PAGES {
        let mut request = ListPaymentIntent::new().created(since).limit(100);
        if let Some(after) = &after {
            request = request.starting_after(after.as_str());
        }
        let page = send_read(state, &order.id, &request).await.map_err(|e| classify(e, &order.id))?;
        let found = page.data.iter().find(|pi| {
            pi.metadata.get("order_id") == Some(&order.id) && pi.status != PaymentIntentStatus::Canceled
        });
        if let Some(pi) = found {
            return Ok(Some(pi.clone()));
        }
        match page.data.last() {
            Some(last) if page.has_more => after = Some(last.id.to_string()),
            _ => return Ok(None),
        }
    }
    // Too many intents to read: keep the create pending rather than risk a second intent.
    tracing::error!(order_id = %order.id, "could not finish looking for the intent of an unanswered create; it stays pending");
    Err(CheckoutError::PaymentServiceUnavailable)
}

/// `reconfirm(payment_intent_id)`: confirm again after 3-D Secure, for the session's own intent.
pub async fn reconfirm_order(state: &AppState, session: &Session, payment_intent_id: &str) -> Result<PaymentOutcome, CheckoutError> {
    let payment_intent_id = check_payment_intent_id(payment_intent_id)?;
    let order_id = session.order_id().ok_or(CheckoutError::SessionExpired)?;
    // A browser that never paid has no intent to confirm.
    state.orders.get(&order_id).await.map_err(internal)?.ok_or(CheckoutError::NotYourPayment)?;
    under_lease(state, &order_id, async |claim| reconfirm_claimed(state, claim, payment_intent_id).await).await
}

async fn reconfirm_claimed(state: &AppState, claim: &Claim, payment_intent_id: &str) -> Result<PaymentOutcome, CheckoutError> {
    let order = state.orders.get(&claim.order_id).await.map_err(internal)?.ok_or(CheckoutError::SessionExpired)?;
    // Only the order's own intent, checked before any Stripe call.
    if order.payment_intent_id.as_deref() != Some(payment_intent_id) {
        return Err(CheckoutError::NotYourPayment);
    }
    if order.status.is_fulfilled() {
        // A repeated reconfirm (double click, lost answer) gets the same receipt back.
        return Ok(PaymentOutcome::Completed(super::settlement::receipt_of(&order, order_total(&order.lines).unwrap_or(0), order.status)));
    }
    if order.status == OrderStatus::NeedsReview {
        return Err(CheckoutError::UnderReview);
    }
    confirm_authenticated(state, claim, &order, payment_intent_id).await
}

/// Confirms an intent the cardholder has authenticated (the browser's reconfirm, or the
/// reconciler for a page closed before it could).
pub async fn confirm_authenticated(state: &AppState, claim: &Claim, order: &Order, payment_intent_id: &str) -> Result<PaymentOutcome, CheckoutError> {
    let attempt = state.orders.begin_confirm(claim).await.map_err(internal)?;
    let confirm = ConfirmPaymentIntent::new(payment_intent_id).expand(vec!["payment_method".to_owned()]);
    let answer = send(state, &order.id, &confirm, &attempt_key(&order.id, attempt, "reconfirm")).await;
    settle(state, claim, order, answer, Step::Reconfirm).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_ids_reach_stripe() {
        assert!(check_payment_method_id("pm_1Pq2R3").is_ok());
        assert!(check_payment_method_id(&format!("pm_{}", "a".repeat(252))).is_ok(), "Stripe's longest ids pass");
        for bad in ["", "pm_", "pi_123", "pm_12 3", "pm_ab\u{0}c", "pm_é", "pm_x/../y", "pm_a-b", &format!("pm_{}", "a".repeat(253))] {
            assert_eq!(check_payment_method_id(bad), Err(CheckoutError::InvalidPaymentMethod), "{bad:?}");
        }
        assert!(check_payment_intent_id("pi_3Mtw").is_ok());
        assert_eq!(check_payment_intent_id("pm_3Mtw"), Err(CheckoutError::NotYourPayment));
    }

    #[test]
    fn an_order_that_takes_no_card_says_why() {
        assert_eq!(refuse_card(OrderStatus::Paid), Err(CheckoutError::AlreadyPaid));
        assert_eq!(refuse_card(OrderStatus::NeedsReview), Err(CheckoutError::UnderReview));
        assert_eq!(refuse_card(OrderStatus::Processing), Err(CheckoutError::PaymentInProgress));
        assert_eq!(refuse_card(OrderStatus::RequiresAction), Ok(()), "another card instead of an abandoned 3-D Secure");
    }
}
