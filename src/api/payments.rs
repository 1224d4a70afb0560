//! The server functions of Stripe's "card payments without webhooks" flow (their work is
//! `server::payments`).
//!
//! `pay` takes the PaymentMethod id Stripe.js created and confirms the order's
//! PaymentIntent (creating it the first time); `reconfirm` confirms it again after
//! `stripe.handleCardAction` authenticated the card. The amount always comes from the
//! server's order. `POST /pay` (see `rest.rs`) answers the guide's JSON from the same code.

use leptos::prelude::*;

use crate::domain::{CheckoutError, PaymentOutcome, SavedCard};
#[cfg(feature = "ssr")]
use crate::domain::{PaymentIntentId, PaymentMethodId};
#[cfg(feature = "ssr")]
use crate::server::payments::{context, flow, reconfirm, saved_cards};

/// Pays the session's order with a PaymentMethod created by Stripe.js; with `save_email`,
/// the card is saved for this browser if the payment succeeds.
#[server(prefix = "/api", endpoint = "pay")]
pub async fn pay(
    payment_method_id: String,
    save_email: Option<String>,
) -> Result<PaymentOutcome, CheckoutError> {
    let (state, session) = context::request_context().await?;
    let choice = match save_email {
        Some(email) => flow::CardChoice::NewSaved { email },
        None => flow::CardChoice::New,
    };
    flow::pay_order(
        &state,
        &session,
        context::client_address().await.as_deref(),
        &PaymentMethodId::parse(&payment_method_id)?,
        choice,
    )
    .await
}

/// Pays the session's order with a card this browser saved (on session: 3-D Secure may
/// still be asked for).
#[server(prefix = "/api", endpoint = "pay_with_saved_card")]
pub async fn pay_with_saved_card(
    payment_method_id: String,
) -> Result<PaymentOutcome, CheckoutError> {
    let (state, session) = context::request_context().await?;
    flow::pay_order(
        &state,
        &session,
        context::client_address().await.as_deref(),
        &PaymentMethodId::parse(&payment_method_id)?,
        flow::CardChoice::Saved,
    )
    .await
}

/// Removes a card this browser saved; the cards left.
#[server(prefix = "/api", endpoint = "remove_saved_card")]
pub async fn remove_saved_card(payment_method_id: String) -> Result<Vec<SavedCard>, CheckoutError> {
    let (state, session) = context::request_context().await?;
    saved_cards::remove_saved_card(
        &state,
        &session,
        &PaymentMethodId::parse(&payment_method_id)?,
    )
    .await
}

/// Confirms the session's PaymentIntent again once the cardholder has authenticated.
#[server(prefix = "/api", endpoint = "reconfirm")]
pub async fn reconfirm(payment_intent_id: String) -> Result<PaymentOutcome, CheckoutError> {
    let (state, session) = context::request_context().await?;
    reconfirm::reconfirm_order(
        &state,
        &session,
        &PaymentIntentId::parse(&payment_intent_id)?,
    )
    .await
}
