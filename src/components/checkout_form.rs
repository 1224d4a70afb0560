use leptos::either::Either;
use leptos::prelude::*;

use crate::cart::{CheckoutView, SetQuantity};
use crate::components::payment_form::CardPayment;
use crate::components::{OrderSummaryTable, PaymentForm, ReceiptPanel};

/// The order and its payment; replaced by the receipt once paid. What shows is read from
/// the two actions: the cart's last answer, and the payment's pending state and result.
/// The page's one island: all that hydrates (its props travel in the HTML).
#[island]
pub fn CheckoutForm(view: CheckoutView) -> impl IntoView {
    provide_context(view.locale);
    let locale = view.locale;
    let set_quantity = ServerAction::<SetQuantity>::new();
    let first = view.order.clone();
    // The order as the server last answered it.
    let summary = Memo::new(move |previous: Option<&crate::checkout::OrderSummary>| match set_quantity.value().get() {
        Some(Ok(updated)) => updated,
        _ => previous.cloned().unwrap_or_else(|| first.clone()),
    });
    let cart_error = move || set_quantity.value().get().and_then(Result::err).map(|e| e.message(locale));
    let payment = CardPayment::new(&view.stripe, locale);
    let products = view.products.clone();
    let saved_cards = view.saved_cards.clone();
    // Plain closures and `Either` rather than `<Show>`: the same behaviour with less code in
    // the WASM (measured: see README "Performance"). The form is built once; only `paid`
    // flipping swaps it for the receipt.
    let paid = Memo::new(move |_| payment.receipt().is_some());
    move || {
        if paid.get() {
            Either::Left(untrack(move || payment.receipt()).map(|r| view! { <ReceiptPanel receipt=r/> }))
        } else {
            Either::Right(view! {
                <OrderSummaryTable summary=summary.into() products=products.clone() set_quantity locked=payment.action.pending().into()/>
                {move || cart_error().map(|e| view! { <p class="cart-error" role="alert">{e}</p> })}
                <PaymentForm summary=summary.into() payment cart_busy=set_quantity.pending().into() saved_cards=saved_cards.clone()/>
            })
        }
    }
}
