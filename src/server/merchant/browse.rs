//! The order list and an order's page.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::*;
use crate::domain::{OrderId, OrderStatus};
use crate::server::merchant::store::{ActionState, OrderFilter};
use crate::server::store::Order;
use pages::Flash;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
    /// `1`: the orders that need the merchant.
    attention: Option<String>,
    page: Option<i64>,
}

pub(super) async fn order_list(
    State(state): State<Arc<AppState>>,
    Query(query): Query<ListQuery>,
) -> Result<Response, Problem> {
    let filter = match (
        query.status.as_deref().filter(|s| !s.is_empty()),
        query.attention.as_deref(),
    ) {
        (None, Some("1")) => OrderFilter::NeedsMerchant,
        (None, _) => OrderFilter::All,
        (Some(s), _) => OrderFilter::Status(OrderStatus::parse(s).ok_or_else(|| {
            let locale = locale();
            Problem::new(
                StatusCode::BAD_REQUEST,
                td_string!(locale, merchant.unknown_status),
                td_string!(locale, merchant.no_such_status, status = format!("{s:?}")),
            )
        })?),
    };
    let number = query.page.unwrap_or(0).clamp(0, 1_000_000);
    let list = state
        .orders
        .list_orders(filter, number, pages::PER_PAGE)
        .await
        .map_err(server_problem)?;
    Ok(page(
        StatusCode::OK,
        pages::list(&list, filter, number, state.stripe_dashboard.as_deref()),
    ))
}

/// The order, or the page that says there is none.
pub(super) async fn find_order(state: &AppState, id: &str) -> Result<Order, Problem> {
    let missing = || {
        Problem::new(
            StatusCode::NOT_FOUND,
            td_string!(locale(), merchant.no_such_order),
            td_string!(locale(), merchant.no_order_with_id),
        )
    };
    let Some(id) = OrderId::parse(id) else {
        return Err(missing());
    };
    state
        .orders
        .get(id.as_str())
        .await
        .map_err(server_problem)?
        .ok_or_else(missing)
}

pub(super) async fn offers_for(state: &AppState, order: &Order) -> pages::Offers {
    let saved = repeat::saved_card_for(state, order).await;
    pages::offers(order, saved)
}

#[derive(Deserialize)]
pub(super) struct OrderQuery {
    /// The key of the action whose outcome to show.
    done: Option<String>,
}

pub(super) async fn order_page(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(query): Query<OrderQuery>,
) -> Result<Response, Problem> {
    let order = find_order(&state, &id).await?;
    let flash = match query
        .done
        .as_deref()
        .filter(|k| actions::well_formed_key(k))
    {
        Some(key) => match state.orders.action_state(key).await {
            Ok(Some(ActionState::Done(m))) => Some(Flash::Done(m)),
            Ok(Some(ActionState::Refused(m))) => Some(Flash::Refused(m)),
            _ => None,
        },
        None => None,
    };
    let offers = offers_for(&state, &order).await;
    Ok(page(
        StatusCode::OK,
        pages::order(&order, flash, offers, state.stripe_dashboard.as_deref()),
    ))
}
