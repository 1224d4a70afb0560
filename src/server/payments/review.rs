//! A payment that did not match its order (under review) is given back: refunded, or its
//! authorisation released, as a recorded request with a key of its own per intent.
//! Unanswered, the reconciler replays it; refused for good, the order needs the merchant.

use stripe::StripeError;
use stripe_shared::{PaymentIntent, PaymentIntentStatus};

use super::calls::{send_recorded, unanswered, Answer};
use super::settlement::classify;
use crate::domain::CheckoutError;
use crate::server::state::AppState;
use crate::server::store::{Lease, Order, SentRequest, StripeCall};

/// Gives back a payment that did not match its order (under review): refunds it, or releases
/// the authorisation, as a recorded request with a key of its own per intent. Unanswered, it is
/// replayed by the reconciler; refused for good, the order needs the merchant.
pub async fn give_back(state: &AppState, lease: &Lease, order: &Order, pi: &PaymentIntent) {
    let (call, key) = match pi.status {
        PaymentIntentStatus::Succeeded => (
            StripeCall::ReviewRefund {
                payment_intent: pi.id.to_string(),
            },
            format!("checkout-{}-review-refund-{}", order.id, pi.id),
        ),
        PaymentIntentStatus::RequiresCapture => (
            StripeCall::ReviewRelease {
                payment_intent: pi.id.to_string(),
            },
            format!("checkout-{}-review-cancel-{}", order.id, pi.id),
        ),
        // Nothing taken (yet): a processing payment is given back once it succeeds.
        _ => return,
    };
    match send_recorded(state, lease, order, None, key, call).await {
        Ok((request, answer)) => {
            if let Err(err) = settle_give_back(state, lease, order, &request, answer).await {
                tracing::error!(order_id = %order.id, ?err, "giving back a mismatched payment is not settled; the reconciler goes on");
            }
        }
        Err(err) => {
            tracing::error!(order_id = %order.id, ?err, "giving back a mismatched payment could not start; the reconciler tries again")
        }
    }
}

/// Settles the answer to a review's refund or release.
pub async fn settle_give_back(
    state: &AppState,
    lease: &Lease,
    order: &Order,
    request: &SentRequest,
    answer: Result<Answer, StripeError>,
) -> Result<(), CheckoutError> {
    let done = match answer {
        Ok(Answer::Refund(refund)) => refund.id.to_string(),
        Ok(Answer::Intent(pi)) => format!("canceled {}", pi.id),
        Err(err) if unanswered(&err) => return Err(classify(err, &order.id)),
        Err(err) => {
            // Stripe refuses for good (refunded already in its dashboard, say): the merchant
            // must look; retrying would be refused again.
            state.orders.answered(lease, &request.key).await?;
            let reason = match &err {
                StripeError::Stripe(api, status) => format!(
                    "Stripe refused to give back the payment ({status}): {}",
                    api.message.as_deref().unwrap_or("no reason given")
                ),
                err => format!("giving back the payment failed: {err}"),
            };
            state.orders.needs_merchant(lease, &reason).await?;
            return Ok(());
        }
    };
    state.orders.answered(lease, &request.key).await?;
    tracing::warn!(order_id = %order.id, refund = %done, "mismatched payment given back");
    state.orders.record_review_refund(lease, &done).await?;
    Ok(())
}
