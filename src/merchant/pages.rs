//! The back office's pages: plain server-rendered HTML (Leptos views rendered to a string,
//! so text is escaped as on the checkout page) with plain forms, usable with or without
//! JavaScript, and no WASM of their own.

use leptos::prelude::*;

use super::locale;
use crate::components::{around_marks, MARKS};
use crate::checkout::{format_amount, order::order_total, OrderStatus};
use crate::i18n::{td_string, I18nLocaleTrait, Locale};
use crate::orders::{ActionKind, Order, OrderFilter, OrderPage, StripeCall};

/// Orders on one page of the list.
pub const PER_PAGE: i64 = 20;

/// The stylesheet's path: the build's, so fixed for the life of the process.
pub static STYLESHEET: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// `Back office: {page}` in the request's language.
fn title(page: String) -> String {
    td_string!(locale(), merchant.title, page).to_string()
}

fn document(title: String, body: AnyView) -> String {
    let html = view! {
        <html lang=locale().as_str()>
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
    let locale = locale();
    view! {
        <header class="merchant-header">
            <a href="/merchant">{td_string!(locale, merchant.orders)}</a>
            <form method="post" action="/merchant/logout">
                <button type="submit" class="link">{td_string!(locale, merchant.log_out)}</button>
            </form>
            <crate::components::LanguageSwitch current=locale return_to=current_path()/>
        </header>
    }
    .into_any()
}

/// The path of the page being rendered, for the language switch to come back to.
fn current_path() -> String {
    super::PATH.try_with(Clone::clone).unwrap_or_else(|_| "/merchant".to_owned())
}

pub fn login(wrong_token: bool) -> String {
    let locale = locale();
    let error = wrong_token.then(|| view! { <p class="payment-error" role="alert">{td_string!(locale, merchant.wrong_token)}</p> });
    document(
        title(td_string!(locale, merchant.log_in_title).to_string()),
        view! {
            <h1>{td_string!(locale, merchant.back_office)}</h1>
            <crate::components::LanguageSwitch current=locale return_to="/merchant/login"/>
            {error}
            <form method="post" action="/merchant/login" class="merchant-login">
                <label for="token">{td_string!(locale, merchant.token)}</label>
                <input id="token" name="token" type="password" autocomplete="current-password" required/>
                <button type="submit">{td_string!(locale, merchant.log_in)}</button>
            </form>
        }
        .into_any(),
    )
}

fn money(order: &Order, amount: i64) -> String {
    format_amount(amount, &order.currency, locale())
}

/// A time as the merchant's language writes it, in UTC: `27 Nov 2026, 18:05 UTC` or
/// `27 nov. 2026, 18:05 UTC`.
pub fn when(seconds: i64, locale: Locale) -> String {
    let seconds = seconds.max(0);
    let (year, month, day) = civil_date(seconds.div_euclid(86_400));
    let minutes = seconds.rem_euclid(86_400) / 60;
    const EN: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    const FR: [&str; 12] = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."];
    let month = match locale {
        Locale::en => EN[month as usize - 1],
        Locale::fr => FR[month as usize - 1],
    };
    format!("{day} {month} {year}, {:02}:{:02} UTC", minutes / 60, minutes % 60)
}

/// Days since 1970-01-01 → (year, month 1–12, day): Howard Hinnant's `civil_from_days`.
fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// An order status as the merchant's language names it.
pub fn status_label(status: OrderStatus) -> String {
    let locale = locale();
    match status {
        OrderStatus::Open => td_string!(locale, merchant.status.open),
        OrderStatus::RequiresAction => td_string!(locale, merchant.status.requires_action),
        OrderStatus::Processing => td_string!(locale, merchant.status.processing),
        OrderStatus::Authorised => td_string!(locale, merchant.status.authorised),
        OrderStatus::Paid => td_string!(locale, merchant.status.paid),
        OrderStatus::Failed => td_string!(locale, merchant.status.failed),
        OrderStatus::NeedsReview => td_string!(locale, merchant.status.needs_review),
        OrderStatus::Canceled => td_string!(locale, merchant.status.canceled),
        OrderStatus::AuthorisationExpired => td_string!(locale, merchant.status.authorisation_expired),
    }
    .to_string()
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
    view! { <span class=format!("status status-{status}") data-testid="order-status">{status_label(order.status)}</span> }.into_any()
}

pub fn list(page: &OrderPage, filter: OrderFilter, number: i64, dashboard: Option<&str>) -> String {
    let locale = locale();
    let link = |filter: OrderFilter, number: i64| {
        let mut query = vec![];
        match filter {
            OrderFilter::All => {}
            OrderFilter::Status(s) => query.push(format!("status={}", s.as_str())),
            OrderFilter::NeedsMerchant => query.push("attention=1".to_owned()),
        }
        if number > 0 {
            query.push(format!("page={number}"));
        }
        if query.is_empty() { "/merchant".to_owned() } else { format!("/merchant?{}", query.join("&")) }
    };
    let filters = std::iter::once(OrderFilter::All)
        .chain(std::iter::once(OrderFilter::NeedsMerchant))
        .chain(OrderStatus::ALL.into_iter().map(OrderFilter::Status))
        .map(|f| {
            let label = match f {
                OrderFilter::All => td_string!(locale, merchant.all).to_string(),
                OrderFilter::NeedsMerchant => td_string!(locale, merchant.needs_attention).to_string(),
                OrderFilter::Status(s) => status_label(s),
            };
            let current = (f == filter).then_some("page");
            view! { <li><a href=link(f, 0) aria-current=current>{label}</a></li> }
        })
        .collect_view();
    let rows = page
        .orders
        .iter()
        .map(|o| {
            view! {
                <tr data-order-id=o.id.clone()>
                    <td><a href=format!("/merchant/orders/{}", o.id)>{o.reference.clone()}</a></td>
                    <td>{when(o.created_at, locale)}</td>
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
    let previous = (number > 0).then(|| view! { <a rel="prev" href=link(filter, number - 1)>{td_string!(locale, merchant.newer)}</a> });
    let next = page.has_more.then(|| view! { <a rel="next" href=link(filter, number + 1)>{td_string!(locale, merchant.older)}</a> });
    let empty = page.orders.is_empty().then(|| view! { <p>{td_string!(locale, merchant.no_orders)}</p> });
    document(
        title(td_string!(locale, merchant.orders).to_string()),
        view! {
            {header()}
            <h1>{td_string!(locale, merchant.orders)}</h1>
            <nav aria-label=td_string!(locale, merchant.filter_by_status)><ul class="filters">{filters}</ul></nav>
            <table class="orders">
                <thead>
                    <tr>
                        <th scope="col">{td_string!(locale, merchant.col_order)}</th>
                        <th scope="col">{td_string!(locale, merchant.col_time)}</th>
                        <th scope="col">{td_string!(locale, merchant.col_lines)}</th>
                        <th scope="col">{td_string!(locale, merchant.col_total)}</th>
                        <th scope="col">{td_string!(locale, merchant.col_status)}</th>
                        <th scope="col">{td_string!(locale, merchant.col_card)}</th>
                        <th scope="col">{td_string!(locale, merchant.col_intent)}</th>
                        <th scope="col">{td_string!(locale, merchant.col_captured)}</th>
                        <th scope="col">{td_string!(locale, merchant.col_refunded)}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {empty}
            <nav class="pages" aria-label=td_string!(locale, merchant.pages)>{previous}" "{next}</nav>
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
    let locale = locale();
    let flash = flash.map(|f| match f {
        Flash::Done(m) => view! { <p class="flash done" role="status" data-testid="action-result">{m}</p> }.into_any(),
        Flash::Refused(m) => view! { <p class="flash refused" role="alert" data-testid="action-result">{m}</p> }.into_any(),
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
    let capture = offers.capture.then(|| amount_form(ActionKind::Capture, td_string!(locale, merchant.capture).to_string(), money(order, total)));
    let cancel = offers.cancel.then(|| plain_form(ActionKind::Cancel, td_string!(locale, merchant.cancel_authorisation).to_string()));
    let refund = offers
        .refund
        .then(|| amount_form(ActionKind::Refund, td_string!(locale, merchant.refund).to_string(), money(order, order.amount_captured - order.amount_refunded)));
    let charge_again = offers
        .charge_again
        .map(|card| plain_form(ActionKind::ChargeAgain, td_string!(locale, merchant.charge_again, card, amount = money(order, total)).to_string()));
    let lines = order
        .lines
        .iter()
        .map(|l| view! { <li>{td_string!(locale, merchant.line, quantity = l.quantity, name = l.name.clone(), price = money(order, l.unit_amount))}</li> })
        .collect_view();
    // The linked id sits inside the sentence, whose word order is the language's.
    let repeat = order.repeat_of.clone().map(|of| {
        let [before, after, _] = around_marks(&td_string!(locale, merchant.repeat_of, order = MARKS[0]).to_string());
        view! { <p>{before} <a href=format!("/merchant/orders/{of}")>{of.clone()}</a>{after}</p> }
    });
    let last_error = order.last_error.clone().map(|e| view! { <p class="last-error" data-testid="last-error">{e}</p> });
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
    document(
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

/// The confirmation of an action; `retry` says why the last send of this same key did not
/// finish (sending it again cannot do the action twice).
pub fn confirm(order: &Order, kind: ActionKind, amount: Option<i64>, key: &str, basis: &str, retry: Option<&str>) -> String {
    let locale = locale();
    let retry = retry.map(|m| view! { <p class="flash refused" role="alert" data-testid="action-result">{m.to_owned()}</p> });
    let total = order_total(&order.lines).unwrap_or(0);
    let question = match kind {
        ActionKind::Capture => td_string!(locale, merchant.q_capture, amount = money(order, amount.unwrap_or(total)), total = money(order, total)),
        ActionKind::Cancel => td_string!(locale, merchant.q_cancel, amount = money(order, total)),
        ActionKind::Refund => td_string!(locale, merchant.q_refund, amount = money(order, amount.unwrap_or(order.amount_captured - order.amount_refunded))),
        ActionKind::ChargeAgain => td_string!(locale, merchant.q_charge_again, amount = money(order, total)),
    }
    .to_string();
    let amount = amount.map(|a| view! { <input type="hidden" name="amount" value=a.to_string()/> });
    document(
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

pub fn message(heading: &str, text: &str) -> String {
    document(
        title(heading.to_owned()),
        view! {
            {header()}
            <h1>{heading.to_owned()}</h1>
            <p role="alert">{text.to_owned()}</p>
            <p><a href="/merchant">{td_string!(locale(), merchant.back_to_orders)}</a></p>
        }
        .into_any(),
    )
}

#[cfg(test)]
mod tests {
    use super::when;
    use crate::i18n::Locale;

    #[test]
    fn times_are_written_in_the_merchant_s_language_in_utc() {
        // 2026-11-27 18:05:09 UTC
        assert_eq!(when(1_795_802_709, Locale::en), "27 Nov 2026, 18:05 UTC");
        assert_eq!(when(1_795_802_709, Locale::fr), "27 nov. 2026, 18:05 UTC");
        assert_eq!(when(0, Locale::en), "1 Jan 1970, 00:00 UTC");
        // A leap day, and the last minute of a year.
        assert_eq!(when(951_782_400, Locale::fr), "29 févr. 2000, 00:00 UTC");
        assert_eq!(when(1_798_761_599, Locale::en), "31 Dec 2026, 23:59 UTC");
    }
}
