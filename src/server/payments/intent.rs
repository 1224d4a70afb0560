//! From where an intent stands (succeeded, authorised, processing, waiting for 3-D Secure,
//! declined, canceled) to where its order stands, once nothing is unsettled on it: the order
//! is fulfilled only by its own intent for its exact amount and currency, a review case
//! otherwise, and the shopper gets a receipt.

use stripe_shared::{PaymentIntent, PaymentIntentStatus};
use stripe_types::Expandable;

use super::context::internal;
use super::settlement::{record, Step};
use crate::domain::order::order_total;
use crate::domain::{CheckoutError, OrderStatus, PaymentEvent, PaymentOutcome, Receipt};
use crate::server::state::AppState;
use crate::server::store::{CardShown, Fulfilment, Lease, Order, Payment};

/// Brings the order, bound to `pi` with nothing unsettled, to where its intent stands.
pub async fn settle_intent(
    state: &AppState,
    lease: &Lease,
    order: &Order,
    pi: PaymentIntent,
    step: Step,
) -> Result<PaymentOutcome, CheckoutError> {
    match pi.status {
        PaymentIntentStatus::Succeeded => {
            fulfil(state, lease, order, &pi, PaymentEvent::Succeeded).await
        }
        PaymentIntentStatus::RequiresCapture => {
            fulfil(state, lease, order, &pi, PaymentEvent::Authorised).await
        }
        PaymentIntentStatus::Processing => {
            record(state, lease, PaymentEvent::Processing, None).await?;
            Ok(PaymentOutcome::Completed(receipt(
                order,
                &pi,
                OrderStatus::Processing,
            )))
        }
        PaymentIntentStatus::RequiresAction => {
            let sdk_action = pi
                .next_action
                .as_ref()
                .is_some_and(|a| a.type_ == "use_stripe_sdk");
            match pi.client_secret.clone() {
                Some(client_secret) if sdk_action => {
                    record(state, lease, PaymentEvent::NeedsAuthentication, None).await?;
                    Ok(PaymentOutcome::RequiresAction {
                        payment_intent_id: pi.id.to_string(),
                        client_secret,
                    })
                }
                _ => Err(internal("requires_action without a use_stripe_sdk action")),
            }
        }
        PaymentIntentStatus::RequiresPaymentMethod => {
            let err = failure_of(&pi, step);
            record(state, lease, PaymentEvent::Declined, Some(&err.to_string())).await?;
            Err(err)
        }
        PaymentIntentStatus::Canceled => {
            record(state, lease, PaymentEvent::IntentCanceled, None).await?;
            Err(CheckoutError::PaymentCanceled)
        }
        // Authenticated but not confirmed yet: nothing to decide now.
        _ => Err(CheckoutError::PaymentInProgress),
    }
}

/// Why an intent is back in `requires_payment_method`, in the shopper's words.
pub fn failure_of(pi: &PaymentIntent, step: Step) -> CheckoutError {
    match pi.last_payment_error.as_deref() {
        Some(e)
            if e.code
                .as_ref()
                .is_some_and(|c| c.as_str() == "payment_intent_authentication_failure") =>
        {
            if step == Step::Reconfirm {
                CheckoutError::AuthenticationExpired
            } else {
                CheckoutError::AuthenticationFailed
            }
        }
        Some(e) => CheckoutError::declined(
            e.code.as_ref().map(|c| c.as_str()),
            e.decline_code.as_deref(),
        ),
        None => CheckoutError::AuthenticationExpired,
    }
}

/// Fulfils the order if the intent is exactly its payment; a review case otherwise.
async fn fulfil(
    state: &AppState,
    lease: &Lease,
    order: &Order,
    pi: &PaymentIntent,
    event: PaymentEvent,
) -> Result<PaymentOutcome, CheckoutError> {
    let outcome = if is_for(order, pi) {
        let currency = pi.currency.to_string();
        let payment = Payment {
            payment_intent_id: pi.id.as_str(),
            event,
            amount: pi.amount,
            currency: &currency,
        };
        state.orders.fulfil(lease, payment, card_of(pi)).await?
    } else {
        Fulfilment::Mismatch {
            order_amount: order_total(&order.lines).unwrap_or(0),
            order_currency: order.currency.clone(),
        }
    };
    match outcome {
        Fulfilment::Fulfilled | Fulfilment::AlreadyFulfilled => {
            Ok(fulfilled(state, order, pi, event).await)
        }
        Fulfilment::Mismatch {
            order_amount,
            order_currency,
        } => {
            tracing::error!(
                order_id = %order.id, payment_intent = %pi.id,
                intent_amount = pi.amount, intent_currency = %pi.currency, intent_order_id = pi.metadata.get("order_id").map(String::as_str),
                order_amount, order_currency = %order_currency,
                "PaymentIntent does not match its order: not fulfilled; the order needs review and the payment is given back"
            );
            let reason = format!(
                "intent {} for {} {}, order for {order_amount} {order_currency}",
                pi.id, pi.amount, pi.currency
            );
            record(state, lease, PaymentEvent::Mismatched, Some(&reason)).await?;
            super::review::give_back(state, lease, order, pi).await;
            Err(CheckoutError::UnderReview)
        }
        Fulfilment::NotFulfillable(OrderStatus::NeedsReview) => Err(CheckoutError::UnderReview),
        Fulfilment::NotFulfillable(status) => Err(internal(format!(
            "order {} ({status:?}) cannot be fulfilled by {}",
            order.id, pi.id
        ))),
    }
}

/// Whether the intent says it pays this order (its `metadata.order_id`).
pub(super) fn is_for(order: &Order, pi: &PaymentIntent) -> bool {
    pi.metadata.get("order_id") == Some(&order.id)
}

/// The order is fulfilled by `pi`: its card is remembered if the shopper saved it, and the
/// shopper gets the receipt.
pub(super) async fn fulfilled(
    state: &AppState,
    order: &Order,
    pi: &PaymentIntent,
    event: PaymentEvent,
) -> PaymentOutcome {
    super::saved_cards::remember_saved_card(state, &order.id, pi).await;
    PaymentOutcome::Completed(receipt(order, pi, event.outcome()))
}

pub(super) fn card_of(pi: &PaymentIntent) -> CardShown {
    match &pi.payment_method {
        Some(Expandable::Object(pm)) => match &pm.card {
            Some(card) => CardShown {
                brand: Some(card.brand.clone()),
                last4: Some(card.last4.clone()),
            },
            None => CardShown::default(),
        },
        _ => CardShown::default(),
    }
}

fn receipt(order: &Order, pi: &PaymentIntent, status: OrderStatus) -> Receipt {
    let card = card_of(pi);
    Receipt {
        reference: order.reference.clone(),
        amount: pi.amount,
        currency: order.currency.clone(),
        card_brand: card.brand,
        card_last4: card.last4,
        status,
    }
}

/// The receipt of an order already fulfilled, from what the store kept.
pub fn receipt_of(order: &Order, amount: i64, status: OrderStatus) -> Receipt {
    Receipt {
        reference: order.reference.clone(),
        amount,
        currency: order.currency.clone(),
        card_brand: order.card_brand.clone(),
        card_last4: order.card_last4.clone(),
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PaymentIntent as Stripe sends it, with `extra` fields on top.
    fn intent(status: &str, extra: &str) -> PaymentIntent {
        let json = format!(
            r#"{{"id":"pi_1","object":"payment_intent","amount":1450,"amount_capturable":0,"amount_received":0,
                "capture_method":"automatic","confirmation_method":"manual","created":1,"currency":"eur",
                "livemode":false,"metadata":{{}},"payment_method_types":["card"],"status":"{status}"{extra}}}"#
        );
        miniserde::json::from_str(&json).unwrap()
    }

    #[test]
    fn back_to_requires_payment_method_explains_why() {
        let declined = intent(
            "requires_payment_method",
            r#","last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds"}"#,
        );
        assert!(matches!(
            failure_of(&declined, Step::Pay),
            CheckoutError::Declined(crate::domain::error::DeclineReason::InsufficientFunds)
        ));
        let auth = intent(
            "requires_payment_method",
            r#","last_payment_error":{"type":"invalid_request_error","code":"payment_intent_authentication_failure"}"#,
        );
        assert_eq!(
            failure_of(&auth, Step::Pay),
            CheckoutError::AuthenticationFailed
        );
        assert_eq!(
            failure_of(&auth, Step::Reconfirm),
            CheckoutError::AuthenticationExpired,
            "after authenticating, the hour ran out"
        );
        assert_eq!(
            failure_of(&intent("requires_payment_method", ""), Step::Pay),
            CheckoutError::AuthenticationExpired
        );
    }
}
