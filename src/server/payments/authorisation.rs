//! An authorisation's end, as Stripe tells it: captured (all or part), canceled, or released
//! by Stripe after seven days uncaptured.

use stripe_shared::{PaymentIntent, PaymentIntentStatus};

use crate::domain::{CheckoutError, OrderStatus, PaymentEvent};
use crate::server::state::AppState;
use crate::server::store::{Lease, Order};

/// Brings an authorised order to where its intent stands: captured (paid, with what was
/// captured), canceled, released by Stripe after seven days, or still held. The new status
/// when the order moved.
pub async fn settle_authorisation(
    state: &AppState,
    lease: &Lease,
    order: &Order,
    pi: &PaymentIntent,
) -> Result<Option<OrderStatus>, CheckoutError> {
    let event = match (&pi.status, &pi.cancellation_reason) {
        (PaymentIntentStatus::Succeeded, _) => PaymentEvent::Captured,
        (
            PaymentIntentStatus::Canceled,
            Some(stripe_shared::PaymentIntentCancellationReason::Automatic),
        ) => PaymentEvent::AuthorisationExpired,
        (PaymentIntentStatus::Canceled, _) => PaymentEvent::AuthorisationCanceled,
        // Still held: the queue looks again after the check interval.
        _ => return Ok(None),
    };
    let captured = if event == PaymentEvent::Captured {
        pi.amount_received
    } else {
        0
    };
    let moved = state
        .orders
        .end_authorisation(lease, event, captured)
        .await?;
    if moved {
        tracing::info!(order_id = %order.id, payment_intent = %pi.id, ?event, captured, "authorisation ended");
    }
    Ok(moved.then(|| event.outcome()))
}
