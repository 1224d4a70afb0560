//! `pay` and `reconfirm`, as Stripe's guide has them, under the order's lease: one holder at
//! a time talks to Stripe about an order, and one PaymentIntent serves it (a new one only
//! after Stripe canceled the last). Every POST is recorded with its key before it is sent
//! (see `calls.rs`); a request whose answer was lost is settled by replaying it before
//! anything new starts (see `replay.rs`).

use stripe::StripeError;
use stripe_core::payment_intent::RetrievePaymentIntent;
use stripe_shared::{PaymentIntent, PaymentIntentStatus};

use super::calls::{attempt_key, send_recorded, unanswered, Answer};
use super::context::internal;
use super::intent::settle_intent;
use super::lease::holding;
use super::replay::{settle_unsettled, Settled};
use super::settlement::{classify, settle_payment, Step};
use super::transport::send_read;
use crate::domain::order::order_total;
use crate::domain::{CheckoutError, OrderStatus, PaymentEvent, PaymentMethodId, PaymentOutcome};
use crate::server::session::Session;
use crate::server::state::AppState;
use crate::server::store::{AttemptPath, Lease, Order, SentRequest, StripeCall};

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
///
/// `client` is the shopper's address (see `card_testing::client`): the attempt is refused,
/// before anything else, when it is over a card-testing limit.
pub async fn pay_order(
    state: &AppState,
    session: &Session,
    client: Option<&str>,
    payment_method: &PaymentMethodId,
    choice: CardChoice,
) -> Result<PaymentOutcome, CheckoutError> {
    let Some(order_id) = session.order_id() else {
        return Err(CheckoutError::SessionExpired);
    };
    let path = match choice {
        CardChoice::Saved => AttemptPath::SavedCard,
        _ => AttemptPath::NewCard,
    };
    let attempt = crate::server::card_testing::admit(state, &order_id, client, path).await?;
    let result = pay_with(state, session, payment_method, choice).await;
    attempt.end(state, &result).await;
    result
}

async fn pay_with(
    state: &AppState,
    session: &Session,
    payment_method: &PaymentMethodId,
    choice: CardChoice,
) -> Result<PaymentOutcome, CheckoutError> {
    let payment_method_id = payment_method.as_str();
    let terms = super::saved_cards::terms_for(state, session, payment_method_id, choice).await?;
    // An order stored by this payment has no intent yet: its create is recorded as it is stored.
    let first_create = |order: &Order| {
        let amount = order_total(&order.lines).ok()?;
        Some(SentRequest {
            key: attempt_key(&order.id, 1, "create"),
            call: create_call(payment_method_id, amount, &terms),
            sent_at: state.stripe.clock().now(),
        })
    };
    let (lease, stored_now) = session.lease_order(state, first_create).await?;
    holding(state, lease, async |lease| {
        pay_leased(state, lease, stored_now, payment_method_id, &terms).await
    })
    .await
}

/// What a shopper is told about an order that takes no card.
pub fn refuse_card(status: OrderStatus) -> Result<(), CheckoutError> {
    match status {
        status if status.accepts_card() => Ok(()),
        status if status.is_fulfilled() => Err(CheckoutError::AlreadyPaid),
        OrderStatus::NeedsReview => Err(CheckoutError::UnderReview),
        OrderStatus::Canceled | OrderStatus::AuthorisationExpired => {
            Err(CheckoutError::OrderClosed)
        }
        _ => Err(CheckoutError::PaymentInProgress),
    }
}

/// The order as stored now.
pub(super) async fn reread(state: &AppState, lease: &Lease) -> Result<Order, CheckoutError> {
    state
        .orders
        .get(&lease.order_id)
        .await?
        .ok_or(CheckoutError::SessionExpired)
}

/// Pays the leased order with this card on these terms (the shopper's `pay`, or the
/// merchant's charge of a saved card for a repeat order). `stored_now`: the order, if this
/// request has just stored it under the lease (it is then not read again), with the create it
/// sends first recorded.
pub async fn pay_leased(
    state: &AppState,
    lease: &Lease,
    stored_now: Option<Order>,
    payment_method_id: &str,
    terms: &PaymentTerms,
) -> Result<PaymentOutcome, CheckoutError> {
    if let Some(order) = stored_now {
        refuse_card(order.status)?;
        let request = order.request.clone().ok_or(CheckoutError::EmptyCart)?;
        let answer = super::calls::send_call(state, &order, &request.call, &request.key).await;
        return settle_payment(state, lease, &order, &request, answer, Step::Pay).await;
    }
    let mut order = reread(state, lease).await?;
    if order.request.is_some() {
        // An earlier request's answer was lost: it is settled first, and nothing new starts
        // until it is. If it took the payment, that is the shopper's answer.
        match settle_unsettled(state, lease, &order).await? {
            Settled::Payment(Ok(PaymentOutcome::Completed(receipt))) => {
                return Ok(PaymentOutcome::Completed(receipt))
            }
            // A back-office action's: the back office or the reconciler settles it.
            Settled::Action(_) => return Err(CheckoutError::PaymentInProgress),
            _ => {}
        }
        order = reread(state, lease).await?;
        if order.request.is_some() {
            return Err(CheckoutError::PaymentServiceUnavailable);
        }
    }
    refuse_card(order.status)?;
    let amount = order_total(&order.lines)?;

    let mut current = match &order.payment_intent_id {
        Some(id) => Some(retrieve(state, lease, &order, id).await?),
        None => None,
    };
    if let Some(pi) = &current {
        match pi.status {
            // Already decided: what it decided is the answer, whatever card was offered now.
            PaymentIntentStatus::Succeeded
            | PaymentIntentStatus::RequiresCapture
            | PaymentIntentStatus::Processing => {
                return settle_intent(state, lease, &order, pi.clone(), Step::Pay).await;
            }
            PaymentIntentStatus::Canceled => {
                tracing::info!(order_id = %order.id, payment_intent = %pi.id, "the order's intent was canceled: a new one replaces it");
                state
                    .orders
                    .record(lease, PaymentEvent::IntentCanceled, None)
                    .await?;
                order = reread(state, lease).await?;
                current = None;
            }
            _ if terms_of(pi) != *terms => {
                // Another customer, or saving the card or not: Stripe cannot unset either on
                // an intent, so this one (which took no money) is canceled and replaced.
                let call = StripeCall::CancelUnused {
                    payment_intent: pi.id.to_string(),
                };
                let (request, answer) = send_recorded(
                    state,
                    lease,
                    &order,
                    None,
                    format!("checkout-{}-cancel-{}", order.id, pi.id),
                    call,
                )
                .await?;
                settle_preparation(state, lease, &order, &request, answer).await?;
                tracing::info!(order_id = %order.id, payment_intent = %pi.id, "the payment's terms changed: a new intent replaces the old one");
                order = reread(state, lease).await?;
                current = None;
            }
            _ => {}
        }
    }

    let attempt = order.attempt + 1;
    let Some(pi) = current else {
        let call = create_call(payment_method_id, amount, terms);
        let (request, answer) = send_recorded(
            state,
            lease,
            &order,
            Some(attempt),
            attempt_key(&order.id, attempt, "create"),
            call,
        )
        .await?;
        return settle_payment(state, lease, &order, &request, answer, Step::Pay).await;
    };
    if pi.amount != amount || pi.currency != state.currency {
        // The cart changed after a decline: the intent charges what the order costs now.
        let call = StripeCall::Update {
            payment_intent: pi.id.to_string(),
            amount,
        };
        let (request, answer) = send_recorded(
            state,
            lease,
            &order,
            Some(attempt),
            attempt_key(&order.id, attempt, "amount"),
            call,
        )
        .await?;
        settle_preparation(state, lease, &order, &request, answer).await?;
    }
    let call = StripeCall::Confirm {
        payment_intent: pi.id.to_string(),
        payment_method: payment_method_id.to_owned(),
    };
    let (request, answer) = send_recorded(
        state,
        lease,
        &order,
        Some(attempt),
        attempt_key(&order.id, attempt, "confirm"),
        call,
    )
    .await?;
    settle_payment(state, lease, &order, &request, answer, Step::Pay).await
}

/// The create-and-confirm of this card, amount and terms.
fn create_call(payment_method_id: &str, amount: i64, terms: &PaymentTerms) -> StripeCall {
    StripeCall::Create {
        payment_method: payment_method_id.to_owned(),
        amount,
        customer: terms.customer_id.clone(),
        save_card: terms.save_card,
    }
}

/// Settles the answer to a step that prepares a payment: the intent's new amount, or the
/// cancel of an intent whose terms changed. `Ok` when it did what it was sent for.
pub async fn settle_preparation(
    state: &AppState,
    lease: &Lease,
    order: &Order,
    request: &SentRequest,
    answer: Result<Answer, StripeError>,
) -> Result<(), CheckoutError> {
    let pi = match answer {
        Err(err) if unanswered(&err) => return Err(classify(err, &order.id)),
        Err(err) => {
            state.orders.answered(lease, &request.key).await?;
            return Err(classify(err, &order.id));
        }
        Ok(Answer::Refund(_)) => {
            return Err(internal(format!("a refund answered {}", request.key)))
        }
        Ok(Answer::Intent(pi)) => *pi,
    };
    state.orders.answered(lease, &request.key).await?;
    match &request.call {
        StripeCall::Update { amount, .. }
            if pi.amount == *amount && pi.currency == state.currency =>
        {
            Ok(())
        }
        StripeCall::Update { amount, .. } => Err(internal(format!(
            "intent {} answered amount {} to an update to {amount}",
            pi.id, pi.amount
        ))),
        StripeCall::CancelUnused { .. } if pi.status == PaymentIntentStatus::Canceled => {
            state
                .orders
                .record(lease, PaymentEvent::IntentCanceled, None)
                .await?;
            Ok(())
        }
        // Not canceled: it moved on (it took the payment meanwhile, say). What it stands at is the answer.
        _ => match settle_intent(state, lease, order, pi, Step::Pay).await {
            Ok(_) => Err(CheckoutError::PaymentInProgress),
            Err(err) => Err(err),
        },
    }
}

/// The terms an intent was made with.
fn terms_of(pi: &PaymentIntent) -> PaymentTerms {
    PaymentTerms {
        customer_id: pi.customer.as_ref().map(|c| c.id().to_string()),
        save_card: pi.setup_future_usage
            == Some(stripe_shared::PaymentIntentSetupFutureUsage::OffSession),
    }
}

/// Reads the order's own intent. Not found means these keys open another account than the
/// one that made it: a configuration error, never a reason to make a new intent; the order
/// then needs the merchant.
pub async fn retrieve(
    state: &AppState,
    lease: &Lease,
    order: &Order,
    id: &str,
) -> Result<PaymentIntent, CheckoutError> {
    let request = RetrievePaymentIntent::new(id).expand(vec!["payment_method".to_owned()]);
    match send_read(state, &order.id, &request).await {
        Ok(pi) => Ok(pi),
        Err(StripeError::Stripe(_, 404)) => {
            tracing::error!(
                order_id = %order.id, payment_intent = id,
                "CONFIGURATION ERROR: Stripe does not know this order's PaymentIntent. Are STRIPE_SECRET_KEY and the account that took the payment the same?"
            );
            let reason = format!("Stripe does not know this order's PaymentIntent {id}: is STRIPE_SECRET_KEY the key of the account that took the payment?");
            state.orders.needs_merchant(lease, &reason).await?;
            Err(CheckoutError::Internal)
        }
        Err(err) => Err(classify(err, &order.id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_that_takes_no_card_says_why() {
        assert_eq!(
            refuse_card(OrderStatus::Paid),
            Err(CheckoutError::AlreadyPaid)
        );
        assert_eq!(
            refuse_card(OrderStatus::NeedsReview),
            Err(CheckoutError::UnderReview)
        );
        assert_eq!(
            refuse_card(OrderStatus::Processing),
            Err(CheckoutError::PaymentInProgress)
        );
        assert_eq!(
            refuse_card(OrderStatus::RequiresAction),
            Ok(()),
            "another card instead of an abandoned 3-D Secure"
        );
    }
}
