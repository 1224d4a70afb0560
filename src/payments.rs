//! The two server functions of Stripe's "card payments without webhooks" flow.
//!
//! `pay` takes the PaymentMethod id Stripe.js created and confirms the order's
//! PaymentIntent (creating it the first time); `reconfirm` confirms it again after
//! `stripe.handleCardAction` authenticated the card. The amount always comes from the
//! server's order. `POST /pay` (see `rest.rs`) answers the guide's JSON from the same code.

use leptos::prelude::*;

use crate::checkout::{CheckoutError, PaymentOutcome, SavedCard};

#[cfg(feature = "ssr")]
pub mod actions;
#[cfg(feature = "ssr")]
pub mod calls;
#[cfg(feature = "ssr")]
pub mod context;
#[cfg(feature = "ssr")]
pub mod flow;
#[cfg(feature = "ssr")]
pub mod lease;
#[cfg(feature = "ssr")]
pub mod reconciler;
#[cfg(feature = "ssr")]
pub mod replay;
#[cfg(feature = "ssr")]
pub mod saved_cards;
#[cfg(feature = "ssr")]
pub mod settlement;
#[cfg(feature = "ssr")]
pub mod stripe_http;
#[cfg(feature = "ssr")]
pub mod transport;

/// Pays the session's order with a PaymentMethod created by Stripe.js; with `save_email`,
/// the card is saved for this browser if the payment succeeds.
#[server(prefix = "/api", endpoint = "pay")]
pub async fn pay(payment_method_id: String, save_email: Option<String>) -> Result<PaymentOutcome, CheckoutError> {
    let (state, session) = context::request_context().await?;
    let choice = match save_email {
        Some(email) => flow::CardChoice::NewSaved { email },
        None => flow::CardChoice::New,
    };
    flow::pay_order(&state, &session, &payment_method_id, choice).await
}

/// Pays the session's order with a card this browser saved (on session: 3-D Secure may
/// still be asked for).
#[server(prefix = "/api", endpoint = "pay_with_saved_card")]
pub async fn pay_with_saved_card(payment_method_id: String) -> Result<PaymentOutcome, CheckoutError> {
    let (state, session) = context::request_context().await?;
    flow::pay_order(&state, &session, &payment_method_id, flow::CardChoice::Saved).await
}

/// Removes a card this browser saved; the cards left.
#[server(prefix = "/api", endpoint = "remove_saved_card")]
pub async fn remove_saved_card(payment_method_id: String) -> Result<Vec<SavedCard>, CheckoutError> {
    let (state, session) = context::request_context().await?;
    saved_cards::remove_saved_card(&state, &session, &payment_method_id).await
}

/// Confirms the session's PaymentIntent again once the cardholder has authenticated.
#[server(prefix = "/api", endpoint = "reconfirm")]
pub async fn reconfirm(payment_intent_id: String) -> Result<PaymentOutcome, CheckoutError> {
    let (state, session) = context::request_context().await?;
    flow::reconfirm_order(&state, &session, &payment_intent_id).await
}
