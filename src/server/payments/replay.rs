//! Settling a request that went out without its answer (see `orders::requests`). Stripe's
//! answer to "did my request happen?" is the request itself, sent again with the same key:
//! the first request's stored result, or 409 while it still runs. Reading the object is no
//! answer: a request can reach Stripe and execute after the read. So, while Stripe keeps the
//! key (24 hours by its clock), the request is replayed; after, nothing sent that long ago
//! still executes, and what Stripe holds is the answer: a lost create's intent is looked for
//! among the intents made around it, page after page, across passes if need be.

use stripe::StripeError;
use stripe_core::payment_intent::ListPaymentIntent;
use stripe_shared::{PaymentIntent, PaymentIntentStatus};
use stripe_types::{RangeBoundsTs, RangeQueryTs};

use super::calls::{send_call, stripe_now, unanswered, Answer, REPLAY_WINDOW_SECONDS};
use super::intent::settle_intent;
use super::review::settle_give_back;
use super::settlement::{classify, settle_payment, Step};
use super::transport::send_read;
use crate::domain::{CheckoutError, PaymentOutcome};
use crate::server::state::AppState;
use crate::server::store::{Lease, Order, SentRequest, StripeCall};

/// How far around a lost create's time its intent is looked for (clocks differ, requests
/// arrive late).
const LOOKUP_SLACK_SECONDS: i64 = 3600;
/// Pages of 100 intents one step reads before it lets the order go (the search goes on from
/// where it stopped, in the next step or pass).
const LOOKUP_PAGES_PER_STEP: usize = 10;

/// What settling the order's unsettled request gave.
#[derive(Debug)]
pub enum Settled {
    /// Nothing was unsettled, or the request's answer is written and the order stands where
    /// it says: read it again to go on.
    Order,
    /// A payment step (create, confirm, reconfirm) was answered: what the shopper is told of it.
    Payment(Result<PaymentOutcome, CheckoutError>),
    /// A back-office action's request: its answer, for the back office to settle (it finishes
    /// the action too; see `merchant::settlement`).
    Action(UnsettledAction),
}

/// A back-office action's request and what settling it gave: Stripe's answer to its replay,
/// or none when Stripe no longer keeps its key.
#[derive(Debug)]
pub struct UnsettledAction {
    pub request: SentRequest,
    pub answer: Option<Result<Answer, StripeError>>,
}

/// Settles the order's unsettled request, if it has one: replays it under its key (or, past
/// Stripe's window, reads what Stripe holds). `Err` while it cannot be settled yet (still
/// running at Stripe, Stripe out of reach, a long search not finished): no other request may
/// start on the order meanwhile.
pub async fn settle_unsettled(
    state: &AppState,
    lease: &Lease,
    order: &Order,
) -> Result<Settled, CheckoutError> {
    let Some(request) = order.request.clone() else {
        return Ok(Settled::Order);
    };
    let age = stripe_now(state, &order.id).await? - request.sent_at;
    if age >= REPLAY_WINDOW_SECONDS {
        return settle_by_what_stripe_holds(state, lease, order, request).await;
    }
    if request.call == StripeCall::Unknown {
        // Sent by an earlier version that kept no copy: nothing to replay, so it is waited out.
        return Err(CheckoutError::PaymentInProgress);
    }
    tracing::info!(order_id = %order.id, key = %request.key, "replaying a request whose answer was lost");
    let answer = match send_call(state, order, &request.call, &request.key).await {
        // Still running at Stripe (409), or Stripe out of reach: still unsettled.
        Err(err) if unanswered(&err) => return Err(classify(err, &order.id)),
        answer => answer,
    };
    match &request.call {
        StripeCall::Create { .. } | StripeCall::Confirm { .. } => Ok(Settled::Payment(
            settle_payment(state, lease, order, &request, answer, Step::Pay).await,
        )),
        StripeCall::Reconfirm { .. } => Ok(Settled::Payment(
            settle_payment(state, lease, order, &request, answer, Step::Reconfirm).await,
        )),
        StripeCall::Update { .. } | StripeCall::CancelUnused { .. } => {
            super::flow::settle_preparation(state, lease, order, &request, answer)
                .await
                .map(|_| Settled::Order)
        }
        StripeCall::ReviewRefund { .. } | StripeCall::ReviewRelease { .. } => {
            settle_give_back(state, lease, order, &request, answer)
                .await
                .map(|()| Settled::Order)
        }
        StripeCall::Capture { .. } | StripeCall::Release { .. } | StripeCall::Refund { .. } => {
            Ok(Settled::Action(UnsettledAction {
                request,
                answer: Some(answer),
            }))
        }
        StripeCall::Unknown => Err(CheckoutError::PaymentInProgress),
    }
}

/// Past Stripe's window: no replay (it would run as a new request), and nothing sent then
/// still executes. A create's intent is looked for; any other request is simply settled, and
/// the next step reads the order's intent.
async fn settle_by_what_stripe_holds(
    state: &AppState,
    lease: &Lease,
    order: &Order,
    request: SentRequest,
) -> Result<Settled, CheckoutError> {
    if let StripeCall::Create { .. } = request.call {
        let around = (
            request.sent_at - LOOKUP_SLACK_SECONDS,
            request.sent_at + LOOKUP_SLACK_SECONDS,
        );
        return match find_intent_of(state, lease, order, around).await? {
            Some(pi) => {
                tracing::info!(order_id = %order.id, payment_intent = %pi.id, "found the PaymentIntent of a create whose answer was lost");
                state
                    .orders
                    .attach_intent(lease, pi.id.as_str(), Some(&request.key))
                    .await?;
                Ok(Settled::Payment(
                    settle_intent(state, lease, order, pi, Step::Pay).await,
                ))
            }
            None => {
                tracing::info!(order_id = %order.id, "a create whose answer was lost made no PaymentIntent");
                state.orders.answered(lease, &request.key).await?;
                Ok(Settled::Order)
            }
        };
    }
    tracing::info!(order_id = %order.id, key = %request.key, "a request older than Stripe's idempotency window: settled by what Stripe holds");
    if request.call.action().is_some() {
        return Ok(Settled::Action(UnsettledAction {
            request,
            answer: None,
        }));
    }
    state.orders.answered(lease, &request.key).await?;
    Ok(Settled::Order)
}

/// Stripe already holds this attempt's create key with other parameters: this database lost
/// its last writes (a power loss took back the attempt counter, see `OrderStore::connect`).
/// Whatever that earlier create made is the order's intent: it is looked for over the 24 hours
/// Stripe keeps keys, and settled, rather than a second one made.
pub async fn key_used_before(
    state: &AppState,
    lease: &Lease,
    order: &Order,
    request: &SentRequest,
) -> Result<PaymentOutcome, CheckoutError> {
    tracing::error!(order_id = %order.id, "a create key was already used with other parameters: looking for the intent it made");
    let now = stripe_now(state, &order.id).await?;
    match find_intent_of(
        state,
        lease,
        order,
        (
            now - 24 * 3600 - LOOKUP_SLACK_SECONDS,
            now + LOOKUP_SLACK_SECONDS,
        ),
    )
    .await?
    {
        Some(pi) => {
            state
                .orders
                .attach_intent(lease, pi.id.as_str(), Some(&request.key))
                .await?;
            settle_intent(state, lease, order, pi, Step::Pay).await
        }
        None => {
            state.orders.answered(lease, &request.key).await?;
            Err(CheckoutError::PaymentServiceUnavailable)
        }
    }
}

/// The order's live (not canceled) intent among those created within `between`, read 100 at
/// a time from where the last search stopped. `PaymentInProgress` when this step's pages ran
/// out before the list did: the next step (or pass) reads on.
async fn find_intent_of(
    state: &AppState,
    lease: &Lease,
    order: &Order,
    between: (i64, i64),
) -> Result<Option<PaymentIntent>, CheckoutError> {
    let created = RangeQueryTs::Bounds(RangeBoundsTs {
        gte: Some(between.0),
        lte: Some(between.1),
        ..Default::default()
    });
    let mut after = order.lookup_cursor.clone();
    for _ in 0..LOOKUP_PAGES_PER_STEP {
        let mut request = ListPaymentIntent::new().created(created).limit(100);
        if let Some(after) = &after {
            request = request.starting_after(after.as_str());
        }
        let page = send_read(state, &order.id, &request)
            .await
            .map_err(|e: StripeError| classify(e, &order.id))?;
        let found = page.data.iter().find(|pi| {
            pi.metadata.get("order_id") == Some(&order.id)
                && pi.status != PaymentIntentStatus::Canceled
        });
        if let Some(pi) = found {
            return Ok(Some(pi.clone()));
        }
        match page.data.last() {
            Some(last) if page.has_more => {
                after = Some(last.id.to_string());
                state
                    .orders
                    .save_lookup_cursor(lease, last.id.as_str())
                    .await?;
            }
            _ => return Ok(None),
        }
    }
    tracing::info!(order_id = %order.id, "still looking for the intent of a create whose answer was lost; the search goes on in the next pass");
    Err(CheckoutError::PaymentInProgress)
}
