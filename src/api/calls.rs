//! The browser's calls to the server functions (`cart.rs`, `payments.rs`): a `POST` of the
//! arguments as form fields, the answer read with [`wire::decode`], as server_fn's own client
//! sends and reads them; the server side is unchanged.
//!
//! Written by hand because server_fn's browser client (its generic codec, request and
//! streaming layers) made the gzipped WASM 13.6 KB larger than these five plain calls do
//! (measured: see README "Performance").

use serde::de::DeserializeOwned;

use crate::api::cart::SetQuantity;
use crate::api::payments::{Pay, PayWithSavedCard, Reconfirm, RemoveSavedCard};
#[cfg(feature = "hydrate")]
use crate::domain::wire;
use crate::domain::{CheckoutError, OrderSummary, PaymentOutcome, SavedCard};
use leptos::server_fn::ServerFn;

/// Sets how many of a product the order holds: the order as the server answers it.
pub async fn set_quantity(
    product_id: String,
    quantity: i64,
) -> Result<OrderSummary, CheckoutError> {
    call::<SetQuantity, _>(&[
        ("product_id", &product_id),
        ("quantity", &quantity.to_string()),
    ])
    .await
}

/// Pays with a PaymentMethod Stripe.js created (saved for this browser with `save_email`).
pub async fn pay(
    payment_method_id: String,
    save_email: Option<String>,
) -> Result<PaymentOutcome, CheckoutError> {
    let mut fields = vec![("payment_method_id", payment_method_id.as_str())];
    if let Some(email) = &save_email {
        fields.push(("save_email", email));
    }
    call::<Pay, _>(&fields).await
}

/// Pays with a card this browser saved.
pub async fn pay_with_saved_card(
    payment_method_id: String,
) -> Result<PaymentOutcome, CheckoutError> {
    call::<PayWithSavedCard, _>(&[("payment_method_id", &payment_method_id)]).await
}

/// Removes a card this browser saved: the cards left.
pub async fn remove_saved_card(payment_method_id: String) -> Result<Vec<SavedCard>, CheckoutError> {
    call::<RemoveSavedCard, _>(&[("payment_method_id", &payment_method_id)]).await
}

/// Confirms the order's PaymentIntent again after 3-D Secure.
pub async fn reconfirm(payment_intent_id: String) -> Result<PaymentOutcome, CheckoutError> {
    call::<Reconfirm, _>(&[("payment_intent_id", &payment_intent_id)]).await
}

/// `POST`s `fields` to the server function `F`. Errors as server_fn's client maps them: no
/// answer is `Network`, an answer that cannot be read is `BadRequest`, and an error status
/// carries the server's [`CheckoutError`].
async fn call<F: ServerFn, T: DeserializeOwned>(
    fields: &[(&str, &str)],
) -> Result<T, CheckoutError> {
    #[cfg(feature = "hydrate")]
    {
        let (ok, text) = post(F::PATH, fields).await?;
        if ok {
            wire::decode(&text).map_err(|_| CheckoutError::BadRequest)
        } else {
            Err(wire::decode(&text).unwrap_or(CheckoutError::BadRequest))
        }
    }
    // The server renders the page but never dispatches these: they run in the browser.
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (F::PATH, fields);
        Err(CheckoutError::Internal)
    }
}

/// A form `POST` with `fetch`: whether the status was a success, and the answer's text.
#[cfg(feature = "hydrate")]
async fn post(path: &str, fields: &[(&str, &str)]) -> Result<(bool, String), CheckoutError> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    let form = web_sys::UrlSearchParams::new().map_err(|_| CheckoutError::Internal)?;
    for (name, value) in fields {
        form.append(name, value);
    }
    let headers = web_sys::Headers::new().map_err(|_| CheckoutError::Internal)?;
    let _ = headers.set("Content-Type", "application/x-www-form-urlencoded");
    let _ = headers.set("Accept", "application/json");
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&form.to_string().into());
    let sent = leptos::prelude::window().fetch_with_str_and_init(path, &init);
    let response: web_sys::Response = JsFuture::from(sent)
        .await
        .map_err(|_| CheckoutError::Network)?
        .unchecked_into();
    let text = response.text().map_err(|_| CheckoutError::Network)?;
    let text = JsFuture::from(text)
        .await
        .map_err(|_| CheckoutError::Network)?;
    Ok((response.ok(), text.as_string().unwrap_or_default()))
}
