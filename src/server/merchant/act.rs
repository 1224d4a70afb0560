//! Acting on an order: the confirmation page, the confirmed action (once per key), and a
//! new look asked for an order that needed the merchant.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::*;
use crate::domain::parse_amount;
use crate::server::merchant::store::ActionKind;
use crate::server::store::Order;
use actions::{ActionRequest, ActionResult};
use browse::find_order;

#[derive(Deserialize)]
pub(super) struct ConfirmQuery {
    action: String,
    amount: Option<String>,
}

/// Reads the action and amount a form asked for; the error page otherwise.
pub(super) fn read_action(
    order: &Order,
    action: &str,
    amount: Option<&str>,
) -> Result<(ActionKind, Option<i64>), Problem> {
    let locale = locale();
    let kind = parse_kind(action)?;
    let amount = match amount.map(str::trim).filter(|a| !a.is_empty()) {
        None => None,
        Some(_) if !matches!(kind, ActionKind::Capture | ActionKind::Refund) => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                td_string!(locale, merchant.no_amount_here),
                td_string!(locale, merchant.takes_no_amount),
            ));
        }
        Some(text) => Some(parse_amount(text, &order.currency).ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                td_string!(locale, merchant.not_an_amount),
                td_string!(
                    locale,
                    merchant.not_an_amount_text,
                    text = format!("{text:?}")
                ),
            )
        })?),
    };
    Ok((kind, amount))
}

pub(super) fn parse_kind(action: &str) -> Result<ActionKind, Problem> {
    let locale = locale();
    ActionKind::parse(action).ok_or_else(|| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            td_string!(locale, merchant.unknown_action),
            td_string!(locale, merchant.no_such_action),
        )
    })
}

pub(super) async fn confirm_page(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(query): Query<ConfirmQuery>,
) -> Result<Response, Problem> {
    let order = find_order(&state, &id).await?;
    let (kind, amount) = read_action(&order, &query.action, query.amount.as_deref())?;
    let key = crate::server::store::random_key();
    let basis = actions::basis(&state, &order)
        .await
        .map_err(server_problem)?;
    Ok(page(
        StatusCode::OK,
        pages::confirm(&order, kind, amount, &key, &basis, None),
    ))
}

#[derive(Deserialize)]
pub(super) struct ActionForm {
    action: String,
    key: String,
    amount: Option<String>,
    /// The order as the confirmation page showed it.
    #[serde(default)]
    basis: String,
}

pub(super) async fn act(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, Problem> {
    let order = find_order(&state, &id).await?;
    if !actions::well_formed_key(&form.key) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            td_string!(locale(), merchant.start_again),
            td_string!(locale(), merchant.no_valid_key),
        ));
    }
    let kind = parse_kind(&form.action)?;
    // The confirmation page sends minor units.
    let amount = match form
        .amount
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        None => None,
        Some(text) => match text.parse::<i64>() {
            Ok(minor) if minor > 0 => Some(minor),
            _ => {
                return Err(Problem::new(
                    StatusCode::BAD_REQUEST,
                    td_string!(locale(), merchant.not_an_amount),
                    td_string!(locale(), merchant.amount_not_understood),
                ))
            }
        },
    };
    let request = ActionRequest {
        key: form.key.clone(),
        order_id: order.id.clone(),
        kind,
        amount,
        basis: form.basis.clone(),
    };
    tracing::info!(order_id = %order.id, action = kind.as_str(), amount, "back office: action confirmed");
    Ok(match actions::run(&state, &request).await {
        ActionResult::Finished(_) => {
            Redirect::to(&format!("/merchant/orders/{}?done={}", order.id, form.key))
                .into_response()
        }
        ActionResult::TryAgain(message) => {
            // The same key again: sending it once more cannot do the action twice.
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                pages::confirm(&order, kind, amount, &form.key, &form.basis, Some(&message)),
            )
        }
    })
}

/// The merchant has seen to an order that needed them: the reconciler looks at it again now.
pub(super) async fn recheck(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let order = find_order(&state, &id).await?;
    state
        .orders
        .recheck(&order.id)
        .await
        .map_err(server_problem)?;
    tracing::info!(order_id = %order.id, "back office: the order is looked at again");
    Ok(Redirect::to(&format!("/merchant/orders/{}", order.id)).into_response())
}
