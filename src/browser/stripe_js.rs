//! Typed bindings to Stripe.js v3 (hydrate only): `Stripe`, `Elements`, the card element,
//! `createPaymentMethod` and `handleCardAction`, with promises turned into futures and
//! Stripe.js's `{error}` results into [`CheckoutError`]s. The payment's steps, which use
//! them, are in `browser_payment.rs`.

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::domain::CheckoutError;
use crate::i18n::{I18nLocaleTrait, Locale};

#[wasm_bindgen]
extern "C" {
    /// An instance made by the global `Stripe(publishableKey)`.
    pub type Stripe;

    #[wasm_bindgen(js_name = Stripe, catch)]
    fn new_stripe(publishable_key: &str, options: &JsValue) -> Result<Stripe, JsValue>;

    #[wasm_bindgen(method)]
    fn elements(this: &Stripe) -> Elements;

    #[wasm_bindgen(method, js_name = createPaymentMethod)]
    fn create_payment_method(this: &Stripe, data: &JsValue) -> Promise;

    #[wasm_bindgen(method, js_name = handleCardAction)]
    fn handle_card_action(this: &Stripe, client_secret: &str) -> Promise;

    pub type Elements;

    #[wasm_bindgen(method)]
    fn create(this: &Elements, kind: &str, options: &JsValue) -> CardElement;

    /// The Card Element (`elements.create('card')`).
    pub type CardElement;

    #[wasm_bindgen(method)]
    fn mount(this: &CardElement, selector: &str);

    #[wasm_bindgen(method)]
    fn on(this: &CardElement, event: &str, handler: &Function);

    #[wasm_bindgen(method)]
    fn update(this: &CardElement, options: &JsValue);
}

/// Stripe.js's error object: `{type, code, message}`.
#[derive(Debug, Clone)]
struct StripeJsError {
    code: Option<String>,
    message: Option<String>,
}

fn string_field(value: &JsValue, name: &str) -> Option<String> {
    Reflect::get(value, &JsValue::from_str(name))
        .ok()
        .and_then(|v| v.as_string())
}

/// `{error}` or the named result of a Stripe.js promise.
async fn result_of(promise: Promise, result_field: &str) -> Result<JsValue, StripeJsError> {
    let value = JsFuture::from(promise).await.map_err(|_| StripeJsError {
        code: None,
        message: None,
    })?;
    let error = Reflect::get(&value, &JsValue::from_str("error")).unwrap_or(JsValue::UNDEFINED);
    if !error.is_undefined() && !error.is_null() {
        return Err(StripeJsError {
            code: string_field(&error, "code"),
            message: string_field(&error, "message"),
        });
    }
    Reflect::get(&value, &JsValue::from_str(result_field)).map_err(|_| StripeJsError {
        code: None,
        message: None,
    })
}

/// Waits for the `<script id="stripe-js">` the server rendered (in parallel with the WASM) to
/// define `window.Stripe`: at once if it already has, else on the script's `load` event.
async fn stripe_loaded() -> Result<(), CheckoutError> {
    let window = web_sys::window().ok_or(CheckoutError::PaymentFormUnavailable)?;
    let defined =
        || Reflect::get(&window, &JsValue::from_str("Stripe")).is_ok_and(|s| s.is_function());
    if defined() {
        return Ok(());
    }
    let script = window
        .document()
        .and_then(|d| d.get_element_by_id("stripe-js"))
        .ok_or(CheckoutError::PaymentFormUnavailable)?;
    // No event can fire between the check above and these listeners: no await between them.
    let loaded = Promise::new(&mut |resolve, reject| {
        let _ = script.add_event_listener_with_callback("load", &resolve);
        let _ = script.add_event_listener_with_callback("error", &reject);
    });
    JsFuture::from(loaded)
        .await
        .map_err(|_| CheckoutError::PaymentFormUnavailable)?;
    if defined() {
        Ok(())
    } else {
        Err(CheckoutError::PaymentFormUnavailable)
    }
}

fn options(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&object, &JsValue::from_str(k), v);
    }
    object.into()
}

/// Stripe.js, its Card Element mounted on the page, and the payment flow over them.
pub struct PaymentElements {
    stripe: Stripe,
    card: CardElement,
    // Kept alive as long as the element reports changes.
    _on_change: Closure<dyn FnMut(JsValue)>,
}

impl PaymentElements {
    /// Loads Stripe.js and mounts the Card Element on `#element_id`; `on_change` receives
    /// Stripe.js's validation message for what is typed (or `None` once it is fine).
    pub async fn mount(
        publishable_key: &str,
        locale: Locale,
        element_id: &str,
        on_change: impl Fn(Option<String>) + 'static,
    ) -> Result<PaymentElements, CheckoutError> {
        stripe_loaded().await?;
        // Stripe.js writes the card fields' own messages in the page's language.
        let stripe = new_stripe(
            publishable_key,
            &options(&[("locale", JsValue::from_str(locale.as_str()))]),
        )
        .map_err(|_| CheckoutError::PaymentFormUnavailable)?;
        let card = stripe
            .elements()
            .create("card", &options(&[("hidePostalCode", JsValue::TRUE)]));
        card.mount(&format!("#{element_id}"));
        let on_change = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let error = Reflect::get(&event, &JsValue::from_str("error"))
                .ok()
                .filter(|e| !e.is_undefined() && !e.is_null());
            on_change(error.and_then(|e| string_field(&e, "message")));
        });
        card.on("change", on_change.as_ref().unchecked_ref());
        Ok(PaymentElements {
            stripe,
            card,
            _on_change: on_change,
        })
    }

    /// Disables the card fields while a payment is in flight.
    pub fn set_disabled(&self, disabled: bool) {
        self.card
            .update(&options(&[("disabled", JsValue::from_bool(disabled))]));
    }

    pub async fn create_payment_method(&self) -> Result<String, CheckoutError> {
        let data = options(&[
            ("type", JsValue::from_str("card")),
            ("card", self.card.clone()),
        ]);
        let payment_method = result_of(self.stripe.create_payment_method(&data), "paymentMethod")
            .await
            .map_err(|e| {
                e.message
                    .map(CheckoutError::Card)
                    .unwrap_or(CheckoutError::PaymentFormUnavailable)
            })?;
        string_field(&payment_method, "id").ok_or(CheckoutError::PaymentFormUnavailable)
    }

    /// `handleCardAction`: 3-D Secure for the intent of `client_secret`.
    pub async fn authenticate(&self, client_secret: &str) -> Result<(), CheckoutError> {
        result_of(
            self.stripe.handle_card_action(client_secret),
            "paymentIntent",
        )
        .await
        .map(|_| ())
        .map_err(|e| match e.code.as_deref() {
            Some("payment_intent_authentication_failure") => CheckoutError::AuthenticationFailed,
            _ => e
                .message
                .map(CheckoutError::Card)
                .unwrap_or(CheckoutError::AuthenticationFailed),
        })
    }
}
