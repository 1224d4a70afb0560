//! The checkout page's data and the cart's one change: quantities. Prices and totals are
//! computed on the server; the browser only ever says which product and how many.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::checkout::{CheckoutError, Offer, OrderSummary, SavedCard};

/// Where the page loads Stripe.js from, and with which key: never the secret key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripeJsConfig {
    pub publishable_key: String,
    pub js_url: String,
}

/// Everything the checkout page renders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutView {
    /// The page's language, chosen on the server (see `language.rs`).
    pub locale: crate::i18n::Locale,
    pub shop_name: String,
    pub order: OrderSummary,
    pub products: Vec<Offer>,
    pub stripe: StripeJsConfig,
    /// Payments go to the embedded local emulator, not to Stripe.
    pub local_emulator: bool,
    /// The cards this browser saved.
    pub saved_cards: Vec<SavedCard>,
}

#[server(prefix = "/api", endpoint = "checkout")]
pub async fn load_checkout() -> Result<CheckoutView, CheckoutError> {
    // The page cache read the view already: the page it keeps is rendered from that one.
    if let Some(view) = crate::page_cache::prepared_view() {
        return view;
    }
    let (state, session) = crate::payments::context::request_context().await?;
    checkout_view(&state, &session, crate::language::request_locale()).await
}

/// What the page shows this session, in `locale`.
#[cfg(feature = "ssr")]
pub async fn checkout_view(
    state: &crate::app_state::AppState,
    session: &crate::session::Session,
    locale: crate::i18n::Locale,
) -> Result<CheckoutView, CheckoutError> {
    use crate::payments::context::internal;
    // One read of the order per page; a glance writes nothing (the order is stored when it
    // first changes), and a finished order makes the next visit start a new one.
    let order_id = session.id_or_new(state);
    let order = if session.order_named_now() {
        // A first visit (or a finished order's next): its order was just named, so there is
        // nothing to read.
        crate::orders::Order::unsaved(&order_id, &state.catalogue)
    } else {
        match state.orders.get(&order_id).await.map_err(internal)? {
            Some(order) if !order.status.is_finished() => order,
            Some(_) => crate::orders::Order::unsaved(&session.start_new(state), &state.catalogue),
            None => crate::orders::Order::unsaved(&order_id, &state.catalogue),
        }
    };
    Ok(CheckoutView {
        locale,
        shop_name: state.shop_name.clone(),
        order: state.catalogue.localize_summary(order.summary(), locale),
        products: state.catalogue.localized(locale),
        stripe: state.stripe_js.clone(),
        local_emulator: state.local_emulator,
        saved_cards: crate::payments::saved_cards::saved_cards(state, session).await?,
    })
}

/// Sets how many of a product the session's order holds (0 removes it).
#[server(prefix = "/api", endpoint = "set_quantity")]
pub async fn set_quantity(product_id: String, quantity: i64) -> Result<OrderSummary, CheckoutError> {
    use crate::checkout::catalogue::check_quantity;
    use crate::checkout::{OrderLine, OrderStatus};
    use crate::payments::context::{internal, request_context};
    let (state, session) = request_context().await?;
    let product = state.catalogue.find(&product_id)?;
    let position = state.catalogue.products.iter().position(|p| p.id == product.id).unwrap_or(0) as i64;
    let line = if quantity == 0 {
        OrderLine { product_id: product.id.clone(), name: product.name.clone(), quantity: 0, unit_amount: product.unit_amount }
    } else {
        check_quantity(quantity)?;
        OrderLine::priced(&state.catalogue, &product.id, quantity)?
    };
    let order_id = session.ensure_order(&state).await?;
    if !state.orders.set_line(&order_id, &line, position).await.map_err(internal)? {
        let order = state.orders.get(&order_id).await.map_err(internal)?.ok_or(CheckoutError::SessionExpired)?;
        return Err(match order.status {
            status if status.is_fulfilled() => CheckoutError::AlreadyPaid,
            OrderStatus::NeedsReview => CheckoutError::UnderReview,
            _ => CheckoutError::CartFrozen,
        });
    }
    let order = state.orders.get(&order_id).await.map_err(internal)?.ok_or(CheckoutError::SessionExpired)?;
    Ok(state.catalogue.localize_summary(order.summary(), crate::language::request_locale()))
}
