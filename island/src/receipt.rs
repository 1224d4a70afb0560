use leptos::prelude::*;

use checkout::components::{around_marks, use_locale, MARKS};
use checkout::domain::money::brand_name;
use checkout::domain::{format_amount, OrderStatus, Receipt};
use checkout::i18n::td_string;

/// Replaces the form once the order is paid: reference, amount and card.
#[component]
pub fn ReceiptPanel(receipt: Receipt) -> impl IntoView {
    let locale = use_locale();
    let headline = match receipt.status {
        OrderStatus::Authorised => td_string!(locale, receipt.authorised),
        OrderStatus::Processing => td_string!(locale, receipt.processing),
        _ => td_string!(locale, receipt.successful),
    }
    .to_string();
    let authorised = receipt.status == OrderStatus::Authorised;
    let card = match (&receipt.card_brand, &receipt.card_last4) {
        (Some(brand), Some(last4)) => td_string!(
            locale,
            receipt.card_ending,
            brand = brand_name(brand),
            last4 = last4.clone()
        )
        .to_string(),
        _ => td_string!(locale, receipt.your_card).to_string(),
    };
    // The amount and the card are marked up inside the sentence, whose word order is the
    // language's: split the translation around them.
    let amount = format_amount(receipt.amount, &receipt.currency, locale);
    let sentence = match receipt.status {
        OrderStatus::Authorised => td_string!(
            locale,
            receipt.authorised_on,
            amount = MARKS[0],
            card = MARKS[1]
        )
        .to_string(),
        // Nothing is charged yet: the bank has not answered.
        OrderStatus::Processing => td_string!(
            locale,
            receipt.processing_on,
            amount = MARKS[0],
            card = MARKS[1]
        )
        .to_string(),
        _ => td_string!(
            locale,
            receipt.charged_to,
            amount = MARKS[0],
            card = MARKS[1]
        )
        .to_string(),
    };
    let parts = around_marks(&sentence);
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
            <p>{td_string!(locale, receipt.order)} " " <strong data-testid="order-reference">{receipt.reference.clone()}</strong></p>
            <p>
                {parts[0].clone()}
                <span data-testid="paid-amount">{amount}</span>
                {parts[1].clone()}
                <span data-testid="paid-card">{card}</span>
                {parts[2].clone()}
            </p>
            {authorised.then(|| view! { <p data-testid="capture-later">{td_string!(locale, receipt.capture_later)}</p> })}
        </section>
    }
}
