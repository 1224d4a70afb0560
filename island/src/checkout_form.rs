use leptos::prelude::*;

use checkout::api::cart::SetQuantity;
use checkout::domain::CheckoutView;

use crate::payment_form::CardPayment;
use crate::{OrderSummaryTable, PaymentForm, ReceiptPanel};

/// The id of the page's data block: the [`CheckoutView`] the island starts from.
pub const CHECKOUT_VIEW_ID: &str = "checkout-view";

/// The order and its payment; the receipt in their place once paid. What shows is read from
/// the two actions: the cart's last answer, and the payment's pending state and result.
/// The page's one island: all that hydrates. It takes no props (leptos would decode them with
/// serde_json, see `wire.rs`): the page provides its data, and writes it into the HTML for
/// the browser.
#[island]
pub fn CheckoutForm() -> impl IntoView {
    let view = checkout_view();
    provide_context(view.locale);
    let locale = view.locale;
    let set_quantity = Action::new_local(|args: &SetQuantity| {
        checkout::api::calls::set_quantity(args.product_id.clone(), args.quantity)
    });
    let first = view.order.clone();
    // The order as the server last answered it.
    let summary = Memo::new(move |previous: Option<&checkout::domain::OrderSummary>| {
        match set_quantity.value().get() {
            Some(Ok(updated)) => updated,
            _ => previous.cloned().unwrap_or_else(|| first.clone()),
        }
    });
    let cart_error = move || {
        set_quantity
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.message(locale))
    };
    let payment = CardPayment::new(&view.stripe, locale);
    let products = view.products;
    let saved_cards = view.saved_cards;
    // The form is hydrated once and never rebuilt: once paid it is hidden and the receipt
    // shows beside it. Swapping the two (an `Either`) put a rebuild of the whole form into the
    // WASM that never runs (measured: see README "Performance").
    let paid = Memo::new(move |_| payment.receipt().is_some());
    view! {
        <div class="checkout-steps" hidden=move || paid.get()>
            <OrderSummaryTable summary=summary.into() products set_quantity locked=payment.action.pending().into()/>
            {move || cart_error().map(|e| view! { <p class="cart-error" role="alert">{e}</p> })}
            <PaymentForm summary=summary.into() payment cart_busy=set_quantity.pending().into() saved_cards/>
        </div>
        {move || paid.get().then(|| untrack(move || payment.receipt()).map(|r| view! { <ReceiptPanel receipt=r/> }))}
    }
}

/// On the server, the page provides the view; in the browser, it is read from the page.
fn checkout_view() -> CheckoutView {
    #[cfg(feature = "hydrate")]
    let view = checkout::domain::wire::read_page_data(CHECKOUT_VIEW_ID);
    #[cfg(not(feature = "hydrate"))]
    let view = use_context::<CheckoutView>();
    view.expect("the checkout page provides its data")
}
