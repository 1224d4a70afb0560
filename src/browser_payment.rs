//! The payment's steps in the browser, as Stripe's guide has them: the card becomes a
//! PaymentMethod (Stripe.js), `pay` confirms it on the server, and when the bank asks,
//! 3-D Secure runs in Stripe.js and `reconfirm` confirms again (hydrate only).

use crate::checkout::{CheckoutError, PaymentOutcome, Receipt};
use crate::payments::{pay, reconfirm};
use crate::stripe_js::PaymentElements;

/// Card → `pay` → (3-D Secure → `reconfirm`): the receipt, or why not.
pub async fn pay_with_card(elements: &PaymentElements) -> Result<Receipt, CheckoutError> {
    let payment_method_id = elements.create_payment_method().await?;
    match pay(payment_method_id).await? {
        PaymentOutcome::Completed(receipt) => Ok(receipt),
        PaymentOutcome::RequiresAction { payment_intent_id, client_secret } => {
            if let Err(failed) = elements.authenticate(&client_secret).await {
                // Let the server read the failure now, so the order is free to change and
                // pay again; the shopper is told why authentication failed.
                let _ = reconfirm(payment_intent_id).await;
                return Err(failed);
            }
            match reconfirm(payment_intent_id).await? {
                PaymentOutcome::Completed(receipt) => Ok(receipt),
                PaymentOutcome::RequiresAction { .. } => Err(CheckoutError::AuthenticationFailed),
            }
        }
    }
}
