//! Saving a card for next time, as Stripe's guide does it: the shopper's Customer and
//! `setup_future_usage=off_session` on the payment, the card saved only if it succeeds.
//! Saved cards belong to the browser that saved them (its signed shopper cookie); an
//! e-mail address opens nothing.

use std::collections::HashMap;

use stripe::StripeError;
use stripe_core::customer::CreateCustomer;
use stripe_payment::payment_method::DetachPaymentMethod;
use stripe_shared::{PaymentIntent, PaymentIntentSetupFutureUsage};
use stripe_types::Expandable;

use super::flow::{CardChoice, PaymentTerms};
use super::settlement::classify;
use super::transport::send;
use crate::domain::PaymentMethodId;
use crate::domain::{CheckoutError, SavedCard};
use crate::server::session::Session;
use crate::server::state::AppState;

/// An address Stripe and a shop's mail can use: one `@`, something on both sides, a dot in
/// the domain, no spaces, at most 254 characters.
pub fn check_email(email: &str) -> Result<String, CheckoutError> {
    let email = email.trim();
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.split('.').count() >= 2
                && domain.split('.').all(|p| !p.is_empty())
        });
    if ok {
        Ok(email.to_owned())
    } else {
        Err(CheckoutError::InvalidEmail)
    }
}

/// The intent's terms for the shopper's choice; for a new saved card, the browser becomes a
/// shopper with a Stripe Customer first.
pub async fn terms_for(
    state: &AppState,
    session: &Session,
    payment_method_id: &str,
    choice: CardChoice,
) -> Result<PaymentTerms, CheckoutError> {
    match choice {
        CardChoice::New => Ok(PaymentTerms {
            customer_id: None,
            save_card: false,
        }),
        CardChoice::NewSaved { email } => {
            let email = check_email(&email)?;
            let browser_id = session.ensure_shopper(state);
            let customer_id = customer_of(state, &browser_id, &email).await?;
            Ok(PaymentTerms {
                customer_id: Some(customer_id),
                save_card: true,
            })
        }
        CardChoice::Saved => {
            let browser_id = session
                .shopper_id()
                .ok_or(CheckoutError::SavedCardUnknown)?;
            state
                .orders
                .saved_card_of(&browser_id, payment_method_id)
                .await?
                .ok_or(CheckoutError::SavedCardUnknown)?;
            let shopper = state.orders.shopper(&browser_id).await?;
            let customer_id = shopper
                .and_then(|s| s.stripe_customer_id)
                .ok_or(CheckoutError::SavedCardUnknown)?;
            Ok(PaymentTerms {
                customer_id: Some(customer_id),
                save_card: false,
            })
        }
    }
}

/// The browser's Stripe Customer, made once (its key is the browser's: concurrent first
/// saves make one Customer).
async fn customer_of(
    state: &AppState,
    browser_id: &str,
    email: &str,
) -> Result<String, CheckoutError> {
    state.orders.add_shopper(browser_id, email).await?;
    let shopper = state
        .orders
        .shopper(browser_id)
        .await?
        .ok_or(CheckoutError::Internal)?;
    if let Some(customer) = shopper.stripe_customer_id {
        return Ok(customer);
    }
    let mut metadata = HashMap::new();
    metadata.insert("browser_id".to_owned(), browser_id.to_owned());
    let create = CreateCustomer::new()
        .email(shopper.email.as_str())
        .metadata(metadata);
    let customer = send(
        state,
        browser_id,
        &create,
        &format!("checkout-{browser_id}-customer"),
    )
    .await
    .map_err(|e| classify(e, browser_id))?;
    state
        .orders
        .set_customer(browser_id, customer.id.as_str())
        .await?
        .ok_or(CheckoutError::Internal)
}

/// After a payment that saved its card: the card joins the browser's saved cards. A failure
/// here loses no money (Stripe keeps the card on the Customer) and is only logged.
pub async fn remember_saved_card(state: &AppState, order_id: &str, pi: &PaymentIntent) {
    if pi.setup_future_usage != Some(PaymentIntentSetupFutureUsage::OffSession) {
        return;
    }
    let (Some(customer), Some(Expandable::Object(pm))) = (&pi.customer, &pi.payment_method) else {
        return;
    };
    let Some(card) = &pm.card else { return };
    let saved = SavedCard {
        payment_method_id: pm.id.to_string(),
        brand: card.brand.clone(),
        last4: card.last4.clone(),
        exp_month: card.exp_month,
        exp_year: card.exp_year,
    };
    let remembered = match state
        .orders
        .shopper_of_customer(customer.id().as_str())
        .await
    {
        Ok(Some(browser_id)) => state.orders.remember_card(&browser_id, &saved).await,
        Ok(None) => {
            return tracing::warn!(
                order_id,
                "a saved card's Customer belongs to no browser of this shop"
            )
        }
        Err(err) => Err(err),
    };
    match remembered {
        Ok(()) => {
            tracing::info!(order_id, payment_method = %saved.payment_method_id, "card saved for the shopper")
        }
        Err(err) => tracing::error!(order_id, %err, "could not remember a saved card"),
    }
}

/// The browser's saved cards (none for a browser that never saved one).
pub async fn saved_cards(
    state: &AppState,
    session: &Session,
) -> Result<Vec<SavedCard>, CheckoutError> {
    match session.shopper_id() {
        Some(browser_id) => state
            .orders
            .saved_cards(&browser_id)
            .await
            .map_err(CheckoutError::from),
        None => Ok(vec![]),
    }
}

/// Removes one of the browser's saved cards: detached from its Customer at Stripe, then
/// forgotten here. The cards left.
pub async fn remove_saved_card(
    state: &AppState,
    session: &Session,
    payment_method: &PaymentMethodId,
) -> Result<Vec<SavedCard>, CheckoutError> {
    let payment_method_id = payment_method.as_str();
    let browser_id = session
        .shopper_id()
        .ok_or(CheckoutError::SavedCardUnknown)?;
    state
        .orders
        .saved_card_of(&browser_id, payment_method_id)
        .await?
        .ok_or(CheckoutError::SavedCardUnknown)?;
    let detach = DetachPaymentMethod::new(payment_method_id);
    match send(
        state,
        &browser_id,
        &detach,
        &format!("checkout-{browser_id}-detach-{payment_method_id}"),
    )
    .await
    {
        Ok(_) => {}
        // Already detached (elsewhere, or by a first try whose answer was lost).
        Err(StripeError::Stripe(_, 400 | 404)) => {}
        Err(err) => return Err(classify(err, &browser_id)),
    }
    state
        .orders
        .forget_card(&browser_id, payment_method_id)
        .await?;
    tracing::info!(payment_method = payment_method_id, "saved card removed");
    state
        .orders
        .saved_cards(&browser_id)
        .await
        .map_err(CheckoutError::from)
}

#[cfg(test)]
mod tests {
    use super::check_email;

    #[test]
    fn only_plausible_email_addresses_are_taken() {
        assert_eq!(
            check_email(" ada@example.com ").as_deref(),
            Ok("ada@example.com")
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "a da@example.com",
            "ada@example.",
            "ada@.com",
        ] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
        assert!(
            check_email(&format!("{}@example.com", "a".repeat(250))).is_err(),
            "too long"
        );
    }
}
