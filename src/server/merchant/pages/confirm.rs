//! An action's confirmation: its question, its one-time key, and the order as shown.

use leptos::prelude::*;

use super::*;
use crate::server::merchant::store::ActionKind;

/// The confirmation of an action; `retry` says why the last send of this same key did not
/// finish (sending it again cannot do the action twice).
pub fn confirm(
    order: &Order,
    kind: ActionKind,
    amount: Option<i64>,
    key: &str,
    basis: &str,
    retry: Option<&str>,
) -> String {
    let locale = locale();
    let retry = retry.map(|m| view! { <p class="flash refused" role="alert" data-testid="action-result">{m.to_owned()}</p> });
    let total = order_total(&order.lines).unwrap_or(0);
    let question = match kind {
        ActionKind::Capture => td_string!(
            locale,
            merchant.q_capture,
            amount = money(order, amount.unwrap_or(total)),
            total = money(order, total)
        ),
        ActionKind::Cancel => td_string!(locale, merchant.q_cancel, amount = money(order, total)),
        ActionKind::Refund => td_string!(
            locale,
            merchant.q_refund,
            amount = money(
                order,
                amount.unwrap_or(order.amount_captured - order.amount_refunded)
            )
        ),
        ActionKind::ChargeAgain => td_string!(
            locale,
            merchant.q_charge_again,
            amount = money(order, total)
        ),
    }
    .to_string();
    let amount = amount.map(|a| view! { <input type="hidden" name="amount" value=a.to_string()/> });
    html_page(
        title(td_string!(locale, merchant.confirm_title).to_string()),
        view! {
            {header()}
            <h1>{td_string!(locale, merchant.order_heading, reference = order.reference.clone())}</h1>
            {retry}
            <form method="post" action=format!("/merchant/orders/{}/actions", order.id) class="confirm">
                <p data-testid="confirm-question">{question}</p>
                <input type="hidden" name="action" value=kind.as_str()/>
                <input type="hidden" name="key" value=key.to_owned()/>
                <input type="hidden" name="basis" value=basis.to_owned()/>
                {amount}
                <button type="submit" data-testid="confirm-button">{td_string!(locale, merchant.confirm)}</button>
                " "
                <a href=format!("/merchant/orders/{}", order.id)>{td_string!(locale, merchant.back)}</a>
            </form>
        }
        .into_any(),
    )
}
