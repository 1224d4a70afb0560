//! The card form: Stripe.js's Card Element, the pay button, the spinner, the error region.
//! The flow is Stripe's guide: createPaymentMethod → `pay` → (handleCardAction → `reconfirm`).

use leptos::prelude::*;

use crate::cart::StripeJsConfig;
use crate::checkout::{format_amount, CheckoutError, OrderSummary, Receipt};
use crate::components::Spinner;

/// Where the Card Element is mounted.
pub const CARD_ELEMENT_ID: &str = "card-element";

#[component]
pub fn PaymentForm(
    summary: RwSignal<OrderSummary>,
    stripe: StripeJsConfig,
    /// A cart change is in flight: paying waits for it.
    cart_busy: Signal<bool>,
    /// Set while a payment is in flight, for the rest of the page.
    paying: RwSignal<bool>,
    on_paid: Callback<Receipt>,
) -> impl IntoView {
    // Set once Stripe.js loaded and the Card Element is mounted (browser only).
    let card_ready = RwSignal::new(false);
    // What the alert region shows: Stripe.js's validation, a failed payment, a load failure.
    let message = RwSignal::new(None::<String>);

    #[cfg(feature = "hydrate")]
    let elements = {
        let elements = StoredValue::new_local(None::<std::rc::Rc<crate::stripe_js::PaymentElements>>);
        let config = stripe.clone();
        Effect::new(move |_| {
            let config = config.clone();
            leptos::task::spawn_local(async move {
                let on_change = move |error: Option<String>| message.set(error);
                match crate::stripe_js::PaymentElements::mount(&config.publishable_key, CARD_ELEMENT_ID, on_change).await {
                    Ok(mounted) => {
                        elements.set_value(Some(std::rc::Rc::new(mounted)));
                        card_ready.set(true);
                    }
                    Err(err) => message.set(Some(err.to_string())),
                }
            });
        });
        elements
    };
    #[cfg(not(feature = "hydrate"))]
    let _ = &stripe;

    let pay = Action::new_local(move |_: &()| {
        #[cfg(feature = "hydrate")]
        {
            let elements = elements.get_value();
            async move {
                match elements {
                    Some(elements) => crate::browser_payment::pay_with_card(&elements).await,
                    None => Err(CheckoutError::PaymentFormUnavailable),
                }
            }
        }
        // The server renders the form but never pays: the action only runs in the browser.
        #[cfg(not(feature = "hydrate"))]
        async move {
            Err::<Receipt, _>(CheckoutError::PaymentFormUnavailable)
        }
    });
    let pending = pay.pending();
    Effect::new(move |_| paying.set(pending.get()));
    Effect::new(move |_| match pay.value().get() {
        Some(Ok(receipt)) => on_paid.run(receipt),
        Some(Err(err)) => message.set(Some(err.to_string())),
        None => {}
    });
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let disabled = pending.get();
        elements.with_value(|e| {
            if let Some(e) = e {
                e.set_disabled(disabled);
            }
        });
    });

    let error = move || if pending.get() { None } else { message.get() };
    let empty = move || summary.with(|s| s.lines.is_empty());
    let disabled = move || !card_ready.get() || pending.get() || cart_busy.get() || empty();
    let label = move || summary.with(|s| format!("Pay {}", format_amount(s.amount, &s.currency)));

    view! {
        <form
            class="payment-form"
            aria-busy=move || pending.get().to_string()
            on:submit=move |ev| {
                ev.prevent_default();
                if !disabled() {
                    message.set(None);
                    pay.dispatch(());
                }
            }
        >
            <fieldset disabled=move || pending.get()>
                <legend>"Card details"</legend>
                <div id=CARD_ELEMENT_ID class="card-element"></div>
                <button type="submit" data-testid="pay-button" disabled=disabled>
                    <Show when=move || pending.get()>
                        <Spinner/>
                    </Show>
                    <span>{label}</span>
                </button>
            </fieldset>
            <div class="payment-error" role="alert" data-testid="payment-error">{error}</div>
        </form>
    }
    .into_any()
}
