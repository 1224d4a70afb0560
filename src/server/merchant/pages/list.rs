//! The order list: newest first, 20 a page, filtered by status or by need of the merchant.

use leptos::prelude::*;

use super::*;
use crate::server::merchant::store::{OrderFilter, OrderPage};

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
        if query.is_empty() {
            "/merchant".to_owned()
        } else {
            format!("/merchant?{}", query.join("&"))
        }
    };
    let filters = std::iter::once(OrderFilter::All)
        .chain(std::iter::once(OrderFilter::NeedsMerchant))
        .chain(OrderStatus::ALL.into_iter().map(OrderFilter::Status))
        .map(|f| {
            let label = match f {
                OrderFilter::All => td_string!(locale, merchant.all).to_string(),
                OrderFilter::NeedsMerchant => {
                    td_string!(locale, merchant.needs_attention).to_string()
                }
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
    let empty = page
        .orders
        .is_empty()
        .then(|| view! { <p>{td_string!(locale, merchant.no_orders)}</p> });
    html_page(
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
