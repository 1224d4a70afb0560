//! The card form: Stripe.js's Card Element, the pay button, the spinner, the error region.
//! The flow is Stripe's guide: createPaymentMethod → `pay` → (handleCardAction → `reconfirm`).

use leptos::prelude::*;

use crate::cart::StripeJsConfig;
use crate::checkout::{format_amount, CheckoutError, OrderSummary, Receipt};
use crate::components::Spinner;

/// Where the Card Element is mounted.
pub const CARD_ELEMENT_ID: &str = "card-element";

/// A payment by card: the mounted Card Element and the action that pays with it. Made by
/// the page, so the cart reads the action's `pending()` and the receipt its `value()`.
#[derive(Clone, Copy)]
pub struct CardPayment {
    pub action: Action<(), Result<Receipt, CheckoutError>>,
    /// Stripe.js loaded and the Card Element mounted (browser only).
    card_ready: RwSignal<bool>,
    /// Stripe.js's message for what is typed, or why the form could not load.
    card_message: RwSignal<Option<String>>,
}

impl CardPayment {
    pub fn new(stripe: &StripeJsConfig) -> CardPayment {
        let card_ready = RwSignal::new(false);
        let card_message = RwSignal::new(None::<String>);
        #[cfg(feature = "hydrate")]
        {
            let elements = StoredValue::new_local(None::<std::rc::Rc<crate::stripe_js::PaymentElements>>);
            let config = stripe.clone();
            // Mounted once hydrated: Stripe.js loads in parallel with the WASM.
            Effect::new(move |_| {
                let config = config.clone();
                leptos::task::spawn_local(async move {
                    let on_change = move |error: Option<String>| card_message.set(error);
                    match crate::stripe_js::PaymentElements::mount(&config.publishable_key, CARD_ELEMENT_ID, on_change).await {
                        Ok(mounted) => {
                            elements.set_value(Some(std::rc::Rc::new(mounted)));
                            card_ready.set(true);
                        }
                        Err(err) => card_message.set(Some(err.to_string())),
                    }
                });
            });
            let action = Action::new_local(move |_: &()| {
                let elements = elements.get_value();
                async move {
                    match elements {
                        Some(elements) => crate::browser_payment::pay_with_card(&elements).await,
                        None => Err(CheckoutError::PaymentFormUnavailable),
                    }
                }
            });
            // The card fields are disabled with the rest of the form while a payment runs.
            let pending = action.pending();
            Effect::new(move |_| {
                let disabled = pending.get();
                elements.with_value(|e| {
                    if let Some(e) = e {
                        e.set_disabled(disabled);
                    }
                });
            });
            CardPayment { action, card_ready, card_message }
        }
        // The server renders the form but never pays: the action only runs in the browser.
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = stripe;
            let action = Action::new_local(|_: &()| async { Err::<Receipt, _>(CheckoutError::PaymentFormUnavailable) });
            CardPayment { action, card_ready, card_message }
        }
    }

    /// The receipt, once paid.
    pub fn receipt(&self) -> Option<Receipt> {
        self.action.value().get().and_then(Result::ok)
    }
}

#[component]
pub fn PaymentForm(
    summary: Signal<OrderSummary>,
    payment: CardPayment,
    /// A cart change is in flight: paying waits for it.
    cart_busy: Signal<bool>,
) -> impl IntoView {
    let pending = payment.action.pending();
    // What typed is wrong first; else why the last payment failed.
    let error = move || {
        if pending.get() {
            return None;
        }
        payment.card_message.get().or_else(|| payment.action.value().get().and_then(Result::err).map(|e| e.to_string()))
    };
    let empty = move || summary.with(|s| s.lines.is_empty());
    let disabled = move || !payment.card_ready.get() || pending.get() || cart_busy.get() || empty();
    let label = move || summary.with(|s| format!("Pay {}", format_amount(s.amount, &s.currency)));

    view! {
        <form
            class="payment-form"
            aria-busy=move || pending.get().to_string()
            on:submit=move |ev| {
                ev.prevent_default();
                if !disabled() {
                    payment.action.dispatch(());
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
