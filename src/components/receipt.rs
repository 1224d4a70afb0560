use leptos::prelude::*;

use crate::checkout::money::brand_name;
use crate::checkout::{format_amount, OrderStatus, Receipt};

/// Replaces the form once the order is paid: reference, amount and card.
#[component]
pub fn ReceiptPanel(receipt: Receipt) -> impl IntoView {
    let headline = match receipt.status {
        OrderStatus::Authorised => "Payment authorised",
        OrderStatus::Processing => "Payment processing",
        _ => "Payment successful",
    };
    let authorised = receipt.status == OrderStatus::Authorised;
    let card = match (&receipt.card_brand, &receipt.card_last4) {
        (Some(brand), Some(last4)) => format!("{} ending in {last4}", brand_name(brand)),
        _ => "your card".to_owned(),
    };
    // The outcome takes the focus, so keyboard and screen-reader users land on it.
    let section = NodeRef::<leptos::html::Section>::new();
    Effect::new(move |_| {
        if let Some(section) = section.get() {
            let _ = section.focus();
        }
    });
    view! {
        <section class="receipt" data-testid="payment-success" role="status" tabindex="-1" node_ref=section>
            <h2>{headline}</h2>
            <p>"Order " <strong data-testid="order-reference">{receipt.reference.clone()}</strong></p>
            <p>
                <span data-testid="paid-amount">{format_amount(receipt.amount, &receipt.currency)}</span>
                {if authorised { " authorised on " } else { " charged to " }}
                <span data-testid="paid-card">{card}</span>
                "."
            </p>
            {authorised.then(|| view! { <p data-testid="capture-later">"Your card has been authorised; you will be charged when your order ships."</p> })}
        </section>
    }
}
