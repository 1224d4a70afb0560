//! The payment's steps in the browser, as Stripe's guide has them: the card becomes a
//! PaymentMethod (Stripe.js) or a saved card is chosen, `pay` confirms it on the server, and
//! when the bank asks, 3-D Secure runs in Stripe.js and `reconfirm` confirms again
//! (hydrate only).

use crate::api::calls::{pay, pay_with_saved_card, reconfirm};
use crate::browser::stripe_js::PaymentElements;
use crate::domain::{CheckoutError, PayWith, PaymentOutcome, Receipt};

/// Card → `pay` → (3-D Secure → `reconfirm`): the receipt, or why not.
pub async fn pay_with(elements: &PaymentElements, with: PayWith) -> Result<Receipt, CheckoutError> {
    let first = match with {
        PayWith::NewCard { save_email } => {
            let payment_method_id = elements.create_payment_method().await?;
            pay(payment_method_id, save_email).await?
        }
        PayWith::SavedCard(payment_method_id) => pay_with_saved_card(payment_method_id).await?,
    };
    match first {
        PaymentOutcome::Completed(receipt) => Ok(receipt),
        PaymentOutcome::RequiresAction {
            payment_intent_id,
            client_secret,
        } => {
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
