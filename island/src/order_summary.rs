use leptos::prelude::*;

use checkout::api::cart::SetQuantity;
use checkout::components::use_locale;
use checkout::domain::catalogue::MAX_QUANTITY;
use checkout::domain::{format_amount, CheckoutError, Offer, OrderSummary};
use checkout::i18n::td_string;

/// The order's lines with their quantities, and products that can be added.
#[component]
pub fn OrderSummaryTable(
    summary: Signal<OrderSummary>,
    products: Vec<Offer>,
    set_quantity: Action<SetQuantity, Result<OrderSummary, CheckoutError>>,
    /// True while a payment is in flight: the cart is frozen.
    locked: Signal<bool>,
) -> impl IntoView {
    let locale = use_locale();
    let currency = move || summary.with(|s| s.currency.clone());
    let busy = move || locked.get() || set_quantity.pending().get();
    let change = move |product_id: String, quantity: i64| {
        set_quantity.dispatch(SetQuantity {
            product_id,
            quantity,
        });
    };
    let addable = move || {
        let in_order: Vec<String> =
            summary.with(|s| s.lines.iter().map(|l| l.product_id.clone()).collect());
        products
            .iter()
            .filter(|p| !in_order.contains(&p.id))
            .cloned()
            .collect::<Vec<_>>()
    };
    view! {
        <section class="order-summary" aria-labelledby="summary-title" data-testid="order-summary">
            <h2 id="summary-title">{td_string!(locale, summary.your_order)} " " <span class="reference">{move || summary.with(|s| s.reference.clone())}</span></h2>
            <table>
                <tbody>
                    {move || summary.get().lines.into_iter().map(|line| {
                            let id = line.product_id.clone();
                            let remove_id = line.product_id.clone();
                            let line_total = format_amount(line.line_total(), &summary.with_untracked(|s| s.currency.clone()), locale);
                            view! {
                                <tr data-testid="order-line">
                                    <td>{line.name.clone()}</td>
                                    <td>
                                        <label class="visually-hidden" for=format!("qty-{id}")>{td_string!(locale, summary.quantity_of, name = line.name.clone())}</label>
                                        <input
                                            id=format!("qty-{id}")
                                            type="number"
                                            min="1"
                                            max=MAX_QUANTITY.to_string()
                                            value=line.quantity.to_string()
                                            disabled=busy
                                            on:change=move |ev| {
                                                if let Ok(q) = event_target_value(&ev).trim().parse::<i64>() {
                                                    change(id.clone(), q);
                                                }
                                            }
                                        />
                                    </td>
                                    <td class="amount">{line_total}</td>
                                    <td>
                                        <button
                                            type="button"
                                            class="link"
                                            disabled=busy
                                            aria-label=td_string!(locale, summary.remove_line, name = line.name.clone())
                                            on:click=move |_| change(remove_id.clone(), 0)
                                        >
                                            {td_string!(locale, summary.remove)}
                                        </button>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                </tbody>
                <tfoot>
                    <tr>
                        <th scope="row" colspan="2">{td_string!(locale, summary.total)}</th>
                        <td class="amount" data-testid="order-total">{move || summary.with(|s| format_amount(s.amount, &s.currency, locale))}</td>
                        <td></td>
                    </tr>
                </tfoot>
            </table>
            {move || summary.with(|s| s.lines.is_empty()).then(|| view! { <p class="empty">{td_string!(locale, summary.empty)}</p> })}
            <ul class="add-products">
                {move || addable().into_iter().map(|product| {
                        let id = product.id.clone();
                        view! {
                            <li>
                                <button type="button" class="secondary" disabled=busy on:click=move |_| change(id.clone(), 1)>
                                    {td_string!(locale, summary.add, name = product.name.clone(), price = format_amount(product.unit_amount, &currency(), locale))}
                                </button>
                            </li>
                        }
                    }).collect_view()}
            </ul>
        </section>
    }
}
