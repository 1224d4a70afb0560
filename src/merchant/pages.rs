//! The back office's pages: plain server-rendered HTML (Leptos views rendered to a string,
//! so text is escaped as on the checkout page) with plain forms, usable with or without
//! JavaScript, and no WASM of their own.

use leptos::prelude::*;

use crate::i18n::Locale;
use crate::checkout::{format_amount, order::order_total, OrderStatus};
use crate::orders::{ActionKind, Order, OrderPage};

/// Orders on one page of the list.
pub const PER_PAGE: i64 = 20;

/// The stylesheet's path: the build's, so fixed for the life of the process.
pub static STYLESHEET: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn document(title: String, body: AnyView) -> String {
    let html = view! {
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <title>{title}</title>
                <link rel="stylesheet" href=STYLESHEET.get().cloned().unwrap_or_default()/>
            </head>
            <body>
                <main class="merchant">{body}</main>
            </body>
        </html>
    }
    .to_html();
    format!("<!DOCTYPE html>{html}")
}

fn header() -> AnyView {
    view! {
        <header class="merchant-header">
            <a href="/merchant">"Orders"</a>
            <form method="post" action="/merchant/logout">
                <button type="submit" class="link">"Log out"</button>
            </form>
        </header>
    }
    .into_any()
}

pub fn login(error: Option<&str>) -> String {
    let error = error.map(|e| view! { <p class="payment-error" role="alert">{e.to_owned()}</p> });
    document(
        "Back office: log in".into(),
        view! {
            <h1>"Back office"</h1>
            {error}
            <form method="post" action="/merchant/login" class="merchant-login">
                <label for="token">"Merchant token"</label>
                <input id="token" name="token" type="password" autocomplete="current-password" required/>
                <button type="submit">"Log in"</button>
            </form>
        }
        .into_any(),
    )
}

fn money(order: &Order, amount: i64) -> String {
    format_amount(amount, &order.currency, Locale::en)
}

fn when(seconds: i64) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds.max(0) as u64))
}

fn card(order: &Order) -> String {
    match (&order.card_brand, &order.card_last4) {
        (Some(brand), Some(last4)) => format!("{} •••• {last4}", crate::checkout::money::brand_name(brand)),
        _ => "—".into(),
    }
}

fn lines(order: &Order) -> String {
    order.lines.iter().map(|l| format!("{} × {}", l.quantity, l.name)).collect::<Vec<_>>().join(", ")
}

fn intent_link(order: &Order, dashboard: Option<&str>) -> AnyView {
    match (&order.payment_intent_id, dashboard) {
        (Some(pi), Some(base)) => view! { <a href=format!("{base}{pi}") rel="noreferrer" target="_blank"><code>{pi.clone()}</code></a> }.into_any(),
        (Some(pi), None) => view! { <code>{pi.clone()}</code> }.into_any(),
        (None, _) => "—".into_any(),
    }
}

fn status_badge(order: &Order) -> AnyView {
    let status = order.status.as_str();
    view! { <span class=format!("status status-{status}") data-testid="order-status">{status}</span> }.into_any()
}

pub fn list(page: &OrderPage, filter: Option<OrderStatus>, number: i64, dashboard: Option<&str>) -> String {
    let link = |status: Option<OrderStatus>, number: i64| {
        let mut query = vec![];
        if let Some(s) = status {
            query.push(format!("status={}", s.as_str()));
        }
        if number > 0 {
            query.push(format!("page={number}"));
        }
        if query.is_empty() { "/merchant".to_owned() } else { format!("/merchant?{}", query.join("&")) }
    };
    let filters = std::iter::once(None)
        .chain(OrderStatus::ALL.into_iter().map(Some))
        .map(|s| {
            let label = s.map_or("all", OrderStatus::as_str);
            let current = (s == filter).then_some("page");
            view! { <li><a href=link(s, 0) aria-current=current>{label}</a></li> }
        })
        .collect_view();
    let rows = page
        .orders
        .iter()
        .map(|o| {
            view! {
                <tr data-order-id=o.id.clone()>
                    <td><a href=format!("/merchant/orders/{}", o.id)>{o.reference.clone()}</a></td>
                    <td>{when(o.created_at)}</td>
                    <td>{lines(o)}</td>
                    <td class="amount">{money(o, order_total(&o.lines).unwrap_or(0))}</td>
                    <td>{status_badge(o)}</td>
                    <td>{card(o)}</td>
                    <td>{intent_link(o, dashboard)}</td>
                    <td class="amount" data-testid="captured">{money(o, o.amount_captured)}</td>
                    <td class="amount" data-testid="refunded">{money(o, o.amount_refunded)}</td>
                </tr>
            }
        })
        .collect_view();
    let previous = (number > 0).then(|| view! { <a rel="prev" href=link(filter, number - 1)>"Newer"</a> });
    let next = page.has_more.then(|| view! { <a rel="next" href=link(filter, number + 1)>"Older"</a> });
    let empty = page.orders.is_empty().then(|| view! { <p>"No orders."</p> });
    document(
        "Back office: orders".into(),
        view! {
            {header()}
            <h1>"Orders"</h1>
            <nav aria-label="Filter by status"><ul class="filters">{filters}</ul></nav>
            <table class="orders">
                <thead>
                    <tr>
                        <th scope="col">"Order"</th>
                        <th scope="col">"Time"</th>
                        <th scope="col">"Lines"</th>
                        <th scope="col">"Total"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Card"</th>
                        <th scope="col">"PaymentIntent"</th>
                        <th scope="col">"Captured"</th>
                        <th scope="col">"Refunded"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {empty}
            <nav class="pages" aria-label="Pages">{previous}" "{next}</nav>
        }
        .into_any(),
    )
}

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

pub fn order(order: &Order, flash: Option<Flash>, offers: Offers, dashboard: Option<&str>) -> String {
    let flash = flash.map(|f| match f {
        Flash::Done(m) => view! { <p class="flash done" role="status" data-testid="action-result">{m}</p> }.into_any(),
        Flash::Refused(m) => view! { <p class="flash refused" role="alert" data-testid="action-result">{m}</p> }.into_any(),
    });
    let total = order_total(&order.lines).unwrap_or(0);
    let confirm_url = format!("/merchant/orders/{}/confirm", order.id);
    let amount_form = |kind: ActionKind, label: &'static str, hint: String| {
        view! {
            <form method="get" action=confirm_url.clone() class="action">
                <input type="hidden" name="action" value=kind.as_str()/>
                <label>
                    {label}
                    <input name="amount" inputmode="decimal" placeholder=hint.clone() aria-describedby=format!("{}-hint", kind.as_str())/>
                </label>
                <small id=format!("{}-hint", kind.as_str())>"Leave empty for " {hint}</small>
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
    let capture = offers.capture.then(|| amount_form(ActionKind::Capture, "Capture", money(order, total)));
    let cancel = offers.cancel.then(|| plain_form(ActionKind::Cancel, "Cancel authorisation".into()));
    let refund = offers.refund.then(|| amount_form(ActionKind::Refund, "Refund", money(order, order.amount_captured - order.amount_refunded)));
    let charge_again = offers.charge_again.map(|card| plain_form(ActionKind::ChargeAgain, format!("Charge again ({card}, {})", money(order, total))));
    let lines = order
        .lines
        .iter()
        .map(|l| view! { <li>{format!("{} × {} at {}", l.quantity, l.name, money(order, l.unit_amount))}</li> })
        .collect_view();
    let repeat = order.repeat_of.clone().map(|of| view! { <p>"Repeat of " <a href=format!("/merchant/orders/{of}")>{of.clone()}</a>", charged off session."</p> });
    let last_error = order.last_error.clone().map(|e| view! { <p class="last-error" data-testid="last-error">{e}</p> });
    document(
        format!("Back office: order {}", order.reference),
        view! {
            {header()}
            <h1>"Order " {order.reference.clone()}</h1>
            {flash}
            <dl class="order-facts">
                <dt>"Status"</dt><dd>{status_badge(order)}</dd>
                <dt>"Created"</dt><dd>{when(order.created_at)}</dd>
                <dt>"Total"</dt><dd data-testid="total">{money(order, total)}</dd>
                <dt>"Captured"</dt><dd data-testid="captured">{money(order, order.amount_captured)}</dd>
                <dt>"Refunded"</dt><dd data-testid="refunded">{money(order, order.amount_refunded)}</dd>
                <dt>"Card"</dt><dd>{card(order)}</dd>
                <dt>"PaymentIntent"</dt><dd>{intent_link(order, dashboard)}</dd>
                <dt>"Order id"</dt><dd><code>{order.id.clone()}</code></dd>
            </dl>
            {repeat}
            {last_error}
            <ul class="lines">{lines}</ul>
            <section class="actions" aria-label="Actions">{capture}{cancel}{refund}{charge_again}</section>
        }
        .into_any(),
    )
}

/// The confirmation of an action; `retry` says why the last send of this same key did not
/// finish (sending it again cannot do the action twice).
pub fn confirm(order: &Order, kind: ActionKind, amount: Option<i64>, key: &str, retry: Option<&str>) -> String {
    let retry = retry.map(|m| view! { <p class="flash refused" role="alert" data-testid="action-result">{m.to_owned()}</p> });
    let total = order_total(&order.lines).unwrap_or(0);
    let question = match kind {
        ActionKind::Capture => format!("Capture {} of the {} authorised?", money(order, amount.unwrap_or(total)), money(order, total)),
        ActionKind::Cancel => format!("Cancel the authorisation and release {} to the card?", money(order, total)),
        ActionKind::Refund => format!("Refund {}?", money(order, amount.unwrap_or(order.amount_captured - order.amount_refunded))),
        ActionKind::ChargeAgain => format!("Charge {} again to the saved card, without the shopper?", money(order, total)),
    };
    let amount = amount.map(|a| view! { <input type="hidden" name="amount" value=a.to_string()/> });
    document(
        "Back office: confirm".into(),
        view! {
            {header()}
            <h1>"Order " {order.reference.clone()}</h1>
            {retry}
            <form method="post" action=format!("/merchant/orders/{}/actions", order.id) class="confirm">
                <p data-testid="confirm-question">{question}</p>
                <input type="hidden" name="action" value=kind.as_str()/>
                <input type="hidden" name="key" value=key.to_owned()/>
                {amount}
                <button type="submit" data-testid="confirm-button">"Confirm"</button>
                " "
                <a href=format!("/merchant/orders/{}", order.id)>"Back"</a>
            </form>
        }
        .into_any(),
    )
}

pub fn message(title: &str, text: &str) -> String {
    document(
        format!("Back office: {title}"),
        view! {
            {header()}
            <h1>{title.to_owned()}</h1>
            <p role="alert">{text.to_owned()}</p>
            <p><a href="/merchant">"Back to the orders"</a></p>
        }
        .into_any(),
    )
}
