//! The card form: Stripe.js's Card Element, the pay button, the spinner, the error region.
//! The flow is Stripe's guide: createPaymentMethod → `pay` → (handleCardAction → `reconfirm`).

use leptos::prelude::*;

use checkout::api::payments::RemoveSavedCard;
use checkout::components::use_locale;
use checkout::domain::StripeJsConfig;
use checkout::domain::{format_amount, CheckoutError, OrderSummary, PayWith, Receipt, SavedCard};
use checkout::i18n::{td_string, Locale};

use crate::Spinner;

/// Where the Card Element is mounted.
pub const CARD_ELEMENT_ID: &str = "card-element";

/// A payment by card: the mounted Card Element and the action that pays with it. Made by
/// the page, so the cart reads the action's `pending()` and the receipt its `value()`.
#[derive(Clone, Copy)]
pub struct CardPayment {
    pub action: Action<PayWith, Result<Receipt, CheckoutError>>,
    /// Stripe.js loaded and the Card Element mounted (browser only).
    card_ready: RwSignal<bool>,
    /// Stripe.js's message for what is typed, or why the form could not load.
    card_message: RwSignal<Option<String>>,
}

impl CardPayment {
    pub fn new(stripe: &StripeJsConfig, locale: Locale) -> CardPayment {
        let card_ready = RwSignal::new(false);
        let card_message = RwSignal::new(None::<String>);
        #[cfg(feature = "hydrate")]
        {
            let elements = StoredValue::new_local(
                None::<std::rc::Rc<checkout::browser::stripe_js::PaymentElements>>,
            );
            let config = stripe.clone();
            // Mounted once hydrated: Stripe.js loads in parallel with the WASM.
            Effect::new(move |_| {
                let config = config.clone();
                leptos::task::spawn_local(async move {
                    let on_change = move |error: Option<String>| card_message.set(error);
                    match checkout::browser::stripe_js::PaymentElements::mount(
                        &config.publishable_key,
                        locale,
                        CARD_ELEMENT_ID,
                        on_change,
                    )
                    .await
                    {
                        Ok(mounted) => {
                            elements.set_value(Some(std::rc::Rc::new(mounted)));
                            card_ready.set(true);
                        }
                        Err(err) => card_message.set(Some(err.message(locale))),
                    }
                });
            });
            let action = Action::new_local(move |with: &PayWith| {
                let elements = elements.get_value();
                let with = with.clone();
                async move {
                    match elements {
                        Some(elements) => {
                            checkout::browser::payment::pay_with(&elements, with).await
                        }
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
            CardPayment {
                action,
                card_ready,
                card_message,
            }
        }
        // The server renders the form but never pays: the action only runs in the browser.
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (stripe, locale);
            let action = Action::new_local(|_: &PayWith| async {
                Err::<Receipt, _>(CheckoutError::PaymentFormUnavailable)
            });
            CardPayment {
                action,
                card_ready,
                card_message,
            }
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
    /// The cards this browser saved, as the page was rendered.
    saved_cards: Vec<SavedCard>,
) -> impl IntoView {
    let locale = use_locale();
    let pending = payment.action.pending();
    let remove = Action::new_local(|args: &RemoveSavedCard| {
        checkout::api::calls::remove_saved_card(args.payment_method_id.clone())
    });
    // The saved cards as the server last answered; the first one is offered first.
    let first_cards = saved_cards.clone();
    let cards = Memo::new(
        move |previous: Option<&Vec<SavedCard>>| match remove.value().get() {
            Some(Ok(left)) => left,
            _ => previous.cloned().unwrap_or_else(|| first_cards.clone()),
        },
    );
    // `Some(id)`: pay with that saved card; `None`: with a new card.
    let chosen = RwSignal::new(saved_cards.first().map(|c| c.payment_method_id.clone()));
    Effect::new(move |_| {
        let left = cards.get();
        if chosen
            .get_untracked()
            .is_some_and(|id| !left.iter().any(|c| c.payment_method_id == id))
        {
            chosen.set(left.first().map(|c| c.payment_method_id.clone()));
        }
    });
    let new_card = move || chosen.with(Option::is_none);
    let save = RwSignal::new(false);
    let email = RwSignal::new(String::new());

    // What typed is wrong first; else why the last payment, or removal, failed.
    let error = move || {
        if pending.get() {
            return None;
        }
        let card_message = if new_card() {
            payment.card_message.get()
        } else {
            None
        };
        card_message
            .or_else(|| {
                payment
                    .action
                    .value()
                    .get()
                    .and_then(Result::err)
                    .map(|e| e.message(locale))
            })
            .or_else(|| {
                remove
                    .value()
                    .get()
                    .and_then(Result::err)
                    .map(|e| e.message(locale))
            })
    };
    // A failed payment's message takes the focus (what is typed wrong is announced, not focused).
    let error_region = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if payment.action.value().with(|v| matches!(v, Some(Err(_)))) {
            if let Some(region) = error_region.get_untracked() {
                let _ = region.focus();
            }
        }
    });
    let empty = move || summary.with(|s| s.lines.is_empty());
    let disabled = move || {
        !payment.card_ready.get()
            || pending.get()
            || cart_busy.get()
            || empty()
            || remove.pending().get()
    };
    let label = move || {
        summary.with(|s| {
            td_string!(
                locale,
                payment.pay,
                amount = format_amount(s.amount, &s.currency, locale)
            )
            .to_string()
        })
    };
    let pay_with = move || match chosen.get() {
        Some(id) => PayWith::SavedCard(id),
        None => PayWith::NewCard {
            save_email: save.get().then(|| email.get()),
        },
    };

    let saved_list = move || {
        let cards = cards.get();
        (!cards.is_empty()).then(|| {
            let options = cards
                .into_iter()
                .map(|card| {
                    let id = card.payment_method_id.clone();
                    let select = id.clone();
                    let checked = id.clone();
                    let remove_id = id.clone();
                    let label = card.label(locale);
                    view! {
                        <div class="saved-card" data-testid="saved-card">
                            <label>
                                <input
                                    type="radio"
                                    name="card-choice"
                                    value=id
                                    prop:checked=move || chosen.with(|c| c.as_deref() == Some(checked.as_str()))
                                    on:change=move |_| chosen.set(Some(select.clone()))
                                />
                                " " {label.clone()}
                            </label>
                            <button
                                type="button"
                                class="link"
                                data-testid="remove-saved-card"
                                aria-label=td_string!(locale, payment.remove_card, card = label.clone())
                                on:click=move |_| {
                                    remove.dispatch(RemoveSavedCard { payment_method_id: remove_id.clone() });
                                }
                            >
                                {td_string!(locale, payment.remove)}
                            </button>
                        </div>
                    }
                })
                .collect_view();
            view! {
                <div class="saved-cards" role="radiogroup" aria-label=td_string!(locale, payment.pay_with)>
                    {options}
                    <label class="new-card-choice">
                        <input
                            type="radio"
                            name="card-choice"
                            value="new"
                            data-testid="use-new-card"
                            prop:checked=move || chosen.with(Option::is_none)
                            on:change=move |_| chosen.set(None)
                        />
                        " " {td_string!(locale, payment.use_new_card)}
                    </label>
                </div>
            }
        })
    };

    view! {
        <form
            class="payment-form"
            aria-busy=move || pending.get().to_string()
            on:submit=move |ev| {
                ev.prevent_default();
                if !disabled() {
                    payment.action.dispatch(pay_with());
                }
            }
        >
            <fieldset disabled=move || pending.get()>
                <legend>{td_string!(locale, payment.card_details)}</legend>
                {saved_list}
                // Kept mounted while a saved card is chosen: Stripe.js runs 3-D Secure for both.
                <div class="new-card" class:hidden=move || !new_card()>
                    <div id=CARD_ELEMENT_ID class="card-element"></div>
                    <label class="save-card">
                        <input type="checkbox" data-testid="save-card" prop:checked=save on:change=move |ev| save.set(event_target_checked(&ev))/>
                        " " {td_string!(locale, payment.save_card)}
                    </label>
                    {move || save.get().then(|| view! {
                        <label class="save-email">
                            {td_string!(locale, payment.save_email)}
                            <input
                                type="email"
                                data-testid="save-email"
                                autocomplete="email"
                                required
                                prop:value=email
                                on:input=move |ev| email.set(event_target_value(&ev))
                            />
                        </label>
                    })}
                </div>
                <button type="submit" data-testid="pay-button" disabled=disabled>
                    {move || pending.get().then(|| view! { <Spinner/> })}
                    <span>{label}</span>
                </button>
            </fieldset>
            <div class="payment-error" role="alert" data-testid="payment-error" tabindex="-1" node_ref=error_region>{error}</div>
        </form>
    }
}
