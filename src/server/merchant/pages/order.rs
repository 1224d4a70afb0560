//! An order's page: its facts, what needs the merchant, a request awaiting Stripe, and the
//! actions it allows now.

use leptos::prelude::*;

use super::*;
use crate::server::merchant::store::ActionKind;
use crate::server::store::StripeCall;

/// What an action on this order may do now (the form offers only these).
pub struct Offers {
    pub capture: bool,
    pub cancel: bool,
    pub refund: bool,
    pub charge_again: Option<String>,
}

pub fn offers(order: &Order, saved_card: Option<String>) -> Offers {
    Offers {
        capture: order.status == OrderStatus::Authorised,
        cancel: order.status == OrderStatus::Authorised,
        refund: order.status == OrderStatus::Paid && order.amount_captured > order.amount_refunded,
        charge_again: saved_card,
    }
}

/// A message at the top of the order page: the outcome of the last action.
pub enum Flash {
    Done(String),
    Refused(String),
}

pub fn order(
    order: &Order,
    flash: Option<Flash>,
    offers: Offers,
    dashboard: Option<&str>,
) -> String {
    let locale = locale();
    let flash = flash.map(|f| match f {
        Flash::Done(m) => {
            view! { <p class="flash done" role="status" data-testid="action-result">{m}</p> }
                .into_any()
        }
        Flash::Refused(m) => {
            view! { <p class="flash refused" role="alert" data-testid="action-result">{m}</p> }
                .into_any()
        }
    });
    let total = order_total(&order.lines).unwrap_or(0);
    let confirm_url = format!("/merchant/orders/{}/confirm", order.id);
    let amount_form = |kind: ActionKind, label: String, hint: String| {
        view! {
            <form method="get" action=confirm_url.clone() class="action">
                <input type="hidden" name="action" value=kind.as_str()/>
                <label>
                    {label.clone()}
                    <input name="amount" inputmode="decimal" placeholder=hint.clone() aria-describedby=format!("{}-hint", kind.as_str())/>
                </label>
                <small id=format!("{}-hint", kind.as_str())>{td_string!(locale, merchant.leave_empty, amount = hint.clone())}</small>
                <button type="submit" data-testid=format!("{}-button", kind.as_str())>{label}</button>
            </form>
        }
    };
    let plain_form = |kind: ActionKind, label: String| {
        view! {
            <form method="get" action=confirm_url.clone() class="action">
                <input type="hidden" name="action" value=kind.as_str()/>
                <button type="submit" data-testid=format!("{}-button", kind.as_str())>{label}</button>
            </form>
        }
    };
    let capture = offers.capture.then(|| {
        amount_form(
            ActionKind::Capture,
            td_string!(locale, merchant.capture).to_string(),
            money(order, total),
        )
    });
    let cancel = offers.cancel.then(|| {
        plain_form(
            ActionKind::Cancel,
            td_string!(locale, merchant.cancel_authorisation).to_string(),
        )
    });
    let refund = offers.refund.then(|| {
        amount_form(
            ActionKind::Refund,
            td_string!(locale, merchant.refund).to_string(),
            money(order, order.amount_captured - order.amount_refunded),
        )
    });
    let charge_again = offers.charge_again.map(|card| {
        plain_form(
            ActionKind::ChargeAgain,
            td_string!(
                locale,
                merchant.charge_again,
                card,
                amount = money(order, total)
            )
            .to_string(),
        )
    });
    let lines = order
        .lines
        .iter()
        .map(|l| view! { <li>{td_string!(locale, merchant.line, quantity = l.quantity, name = l.name.clone(), price = money(order, l.unit_amount))}</li> })
        .collect_view();
    // The linked id sits inside the sentence, whose word order is the language's.
    let repeat = order.repeat_of.clone().map(|of| {
        let [before, after, _] =
            around_marks(&td_string!(locale, merchant.repeat_of, order = MARKS[0]).to_string());
        view! { <p>{before} <a href=format!("/merchant/orders/{of}")>{of.clone()}</a>{after}</p> }
    });
    let last_error = order
        .last_error
        .clone()
        .map(|e| view! { <p class="last-error" data-testid="last-error">{e}</p> });
    let attention = order.attention.clone().map(|reason| {
        view! {
            <section class="attention" role="alert" data-testid="attention">
                <h2>{td_string!(locale, merchant.attention_heading)}</h2>
                <p>{reason}</p>
                <form method="post" action=format!("/merchant/orders/{}/recheck", order.id)>
                    <button type="submit" data-testid="recheck-button">{td_string!(locale, merchant.recheck)}</button>
                </form>
            </section>
        }
    });
    let awaiting = order.request.as_ref().map(|request| {
        let what = match &request.call {
            StripeCall::Refund { amount, .. } => td_string!(locale, merchant.request_refund, amount = money(order, *amount)).to_string(),
            StripeCall::Capture { amount, .. } => td_string!(locale, merchant.request_capture, amount = money(order, *amount)).to_string(),
            StripeCall::Release { .. } | StripeCall::ReviewRelease { .. } => td_string!(locale, merchant.request_release).to_string(),
            StripeCall::ReviewRefund { .. } => td_string!(locale, merchant.request_refund, amount = money(order, order.amount_captured)).to_string(),
            _ => td_string!(locale, merchant.request_payment).to_string(),
        };
        view! { <p class="flash awaiting" role="status" data-testid="awaiting-stripe">{td_string!(locale, merchant.awaiting_stripe, what, when = when(request.sent_at, locale))}</p> }
    });
    html_page(
        title(td_string!(locale, merchant.order_title, reference = order.reference.clone()).to_string()),
        view! {
            {header()}
            <h1>{td_string!(locale, merchant.order_heading, reference = order.reference.clone())}</h1>
            {flash}
            {attention}
            {awaiting}
            <dl class="order-facts">
                <dt>{td_string!(locale, merchant.col_status)}</dt><dd>{status_badge(order)}</dd>
                <dt>{td_string!(locale, merchant.created)}</dt><dd>{when(order.created_at, locale)}</dd>
                <dt>{td_string!(locale, merchant.col_total)}</dt><dd data-testid="total">{money(order, total)}</dd>
                <dt>{td_string!(locale, merchant.col_captured)}</dt><dd data-testid="captured">{money(order, order.amount_captured)}</dd>
                <dt>{td_string!(locale, merchant.col_refunded)}</dt><dd data-testid="refunded">{money(order, order.amount_refunded)}</dd>
                <dt>{td_string!(locale, merchant.col_card)}</dt><dd>{card(order)}</dd>
                <dt>{td_string!(locale, merchant.col_intent)}</dt><dd>{intent_link(order, dashboard)}</dd>
                <dt>{td_string!(locale, merchant.order_id)}</dt><dd><code>{order.id.clone()}</code></dd>
            </dl>
            {repeat}
            {last_error}
            <ul class="lines">{lines}</ul>
            <section class="actions" aria-label=td_string!(locale, merchant.actions)>{capture}{cancel}{refund}{charge_again}</section>
        }
        .into_any(),
    )
}
