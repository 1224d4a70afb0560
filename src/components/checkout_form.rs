use leptos::prelude::*;

use crate::cart::{CheckoutView, SetQuantity};
use crate::checkout::Receipt;
use crate::components::{OrderSummaryTable, PaymentForm, ReceiptPanel};

/// The order and its payment; replaced by the receipt once paid.
#[component]
pub fn CheckoutForm(view: CheckoutView) -> impl IntoView {
    let summary = RwSignal::new(view.order.clone());
    let receipt = RwSignal::new(None::<Receipt>);
    let paying = RwSignal::new(false);
    let set_quantity = ServerAction::<SetQuantity>::new();
    let cart_error = RwSignal::new(None::<String>);
    Effect::new(move |_| match set_quantity.value().get() {
        Some(Ok(updated)) => {
            cart_error.set(None);
            summary.set(updated);
        }
        Some(Err(err)) => cart_error.set(Some(err.to_string())),
        None => {}
    });
    let stripe = view.stripe.clone();
    let products = view.products.clone();
    view! {
        <Show
            when=move || receipt.with(Option::is_none)
            fallback=move || receipt.get().map(|r| view! { <ReceiptPanel receipt=r/> })
        >
            <OrderSummaryTable summary products=products.clone() set_quantity locked=paying.into()/>
            <Show when=move || cart_error.with(Option::is_some)>
                <p class="cart-error" role="alert">{move || cart_error.get()}</p>
            </Show>
            <PaymentForm
                summary
                stripe=stripe.clone()
                cart_busy=set_quantity.pending().into()
                paying
                on_paid=Callback::new(move |r: Receipt| receipt.set(Some(r)))
            />
        </Show>
    }
    .into_any()
}
