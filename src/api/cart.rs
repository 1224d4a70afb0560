//! The checkout page's data and the cart's one change: quantities. Prices and totals are
//! computed on the server; the browser only ever says which product and how many.

use leptos::prelude::*;

use crate::domain::{CheckoutError, CheckoutView, OrderSummary};

#[server(prefix = "/api", endpoint = "checkout")]
pub async fn load_checkout() -> Result<CheckoutView, CheckoutError> {
    // The page cache read the view already: the page it keeps is rendered from that one.
    if let Some(view) = crate::server::page_cache::prepared_view() {
        return view;
    }
    let (state, session) = crate::server::payments::context::request_context().await?;
    crate::server::view::checkout_view(&state, &session, crate::server::language::request_locale())
        .await
}

/// Sets how many of a product the session's order holds (0 removes it).
#[server(prefix = "/api", endpoint = "set_quantity")]
pub async fn set_quantity(
    product_id: String,
    quantity: i64,
) -> Result<OrderSummary, CheckoutError> {
    use crate::domain::catalogue::check_quantity;
    use crate::domain::{OrderLine, OrderStatus};
    use crate::server::payments::context::request_context;
    let (state, session) = request_context().await?;
    let product = state.catalogue.find(&product_id)?;
    let position = state
        .catalogue
        .products
        .iter()
        .position(|p| p.id == product.id)
        .unwrap_or(0) as i64;
    let line = if quantity == 0 {
        OrderLine {
            product_id: product.id.clone(),
            name: product.name.clone(),
            quantity: 0,
            unit_amount: product.unit_amount,
        }
    } else {
        check_quantity(quantity)?;
        OrderLine::priced(&state.catalogue, &product.id, quantity)?
    };
    let order_id = session.ensure_order(&state).await?;
    if !state.orders.set_line(&order_id, &line, position).await? {
        let order = state
            .orders
            .get(&order_id)
            .await?
            .ok_or(CheckoutError::SessionExpired)?;
        return Err(match order.status {
            status if status.is_fulfilled() => CheckoutError::AlreadyPaid,
            OrderStatus::NeedsReview => CheckoutError::UnderReview,
            _ => CheckoutError::CartFrozen,
        });
    }
    let order = state
        .orders
        .get(&order_id)
        .await?
        .ok_or(CheckoutError::SessionExpired)?;
    Ok(state
        .catalogue
        .localize_summary(order.summary(), crate::server::language::request_locale()))
}
