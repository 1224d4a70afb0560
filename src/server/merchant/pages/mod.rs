//! The back office's pages: plain server-rendered HTML (Leptos views rendered to a string,
//! so text is escaped as on the checkout page) with plain forms, usable with or without
//! JavaScript, and no WASM of their own.

use leptos::prelude::*;

use super::locale;
use crate::components::{around_marks, MARKS};
use crate::domain::{format_amount, order::order_total, OrderStatus};
use crate::i18n::{td_string, I18nLocaleTrait, Locale};

use crate::server::store::Order;

mod confirm;
mod dashboard;
mod list;
mod order;
pub use confirm::confirm;
pub use dashboard::dashboard;
pub use list::list;
pub use order::{offers, order, Flash, Offers};

/// Orders on one page of the list.
pub const PER_PAGE: i64 = 20;

/// The stylesheet's path: the build's, so fixed for the life of the process.
pub static STYLESHEET: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// `Back office: {page}` in the request's language.
pub(super) fn title(page: String) -> String {
    td_string!(locale(), merchant.title, page).to_string()
}

pub(super) fn html_page(title: String, body: AnyView) -> String {
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

pub(super) fn header() -> AnyView {
    let locale = locale();
    view! {
        <header class="merchant-header">
            <nav aria-label=td_string!(locale, merchant.dashboard.sections)>
                <a href="/merchant">{td_string!(locale, merchant.orders)}</a>" "
                <a href="/merchant/dashboard">{td_string!(locale, merchant.dashboard.title)}</a>
            </nav>
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
    super::PATH
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "/merchant".to_owned())
}

pub fn login(wrong_token: bool) -> String {
    let locale = locale();
    let error = wrong_token.then(|| view! { <p class="payment-error" role="alert">{td_string!(locale, merchant.wrong_token)}</p> });
    html_page(
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

pub(super) fn money(order: &Order, amount: i64) -> String {
    format_amount(amount, &order.currency, locale())
}

/// A time as the merchant's language writes it, in UTC: `27 Nov 2026, 18:05 UTC` or
/// `27 nov. 2026, 18:05 UTC`.
pub fn when(seconds: i64, locale: Locale) -> String {
    let seconds = seconds.max(0);
    let (year, month, day) = civil_date(seconds.div_euclid(86_400));
    let minutes = seconds.rem_euclid(86_400) / 60;
    const EN: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const FR: [&str; 12] = [
        "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
        "déc.",
    ];
    let month = match locale {
        Locale::en => EN[month as usize - 1],
        Locale::fr => FR[month as usize - 1],
    };
    format!(
        "{day} {month} {year}, {:02}:{:02} UTC",
        minutes / 60,
        minutes % 60
    )
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
        OrderStatus::AuthorisationExpired => {
            td_string!(locale, merchant.status.authorisation_expired)
        }
    }
    .to_string()
}

pub(super) fn card(order: &Order) -> String {
    match (&order.card_brand, &order.card_last4) {
        (Some(brand), Some(last4)) => {
            format!("{} •••• {last4}", crate::domain::money::brand_name(brand))
        }
        _ => "—".into(),
    }
}

pub(super) fn lines(order: &Order) -> String {
    order
        .lines
        .iter()
        .map(|l| format!("{} × {}", l.quantity, l.name))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn intent_link(order: &Order, dashboard: Option<&str>) -> AnyView {
    match (&order.payment_intent_id, dashboard) {
        (Some(pi), Some(base)) => view! { <a href=format!("{base}{pi}") rel="noreferrer" target="_blank"><code>{pi.clone()}</code></a> }.into_any(),
        (Some(pi), None) => view! { <code>{pi.clone()}</code> }.into_any(),
        (None, _) => "—".into_any(),
    }
}

pub(super) fn status_badge(order: &Order) -> AnyView {
    let status = order.status.as_str();
    view! { <span class=format!("status status-{status}") data-testid="order-status">{status_label(order.status)}</span> }.into_any()
}

pub fn message(heading: &str, text: &str) -> String {
    html_page(
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
