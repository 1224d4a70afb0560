//! PaymentIntents and their state machine, as Stripe documents it:
//!
//! ```text
//! requires_payment_method ─▶ requires_confirmation ─▶ requires_action ─▶ requires_confirmation (manual)
//!          ▲                          │                      │                     │
//!          └──── decline / auth fail ─┴──────────────────────┘                     ▼
//!                                                           requires_capture | succeeded ; canceled
//! ```
//!
//! Each transition is a named function that checks the current status first and fails as
//! Stripe would. What a card does is read from the test-card table (`cards.rs`).
//!
//! `model` holds the intent and what each status allows, `params` what requests take,
//! `transitions` the state machine, `json` what Stripe sends; lookups and lists are here.

mod json;
mod model;
mod params;
mod transitions;

use serde_json::Value;

pub use model::{CaptureMethod, ConfirmationMethod, PaymentError, PaymentIntent, Status};
pub use params::Confirm;
pub use transitions::{
    authenticate, cancel, capture, check_client_secret, confirm, confirm_from_browser,
    confirm_intent, create, update,
};

use crate::error::{ApiError, ApiResult};
use crate::form::Form;
use crate::store::Store;

/// How long a manual-confirmation intent may wait in requires_action/requires_confirmation.
pub const CONFIRMATION_WINDOW_SECONDS: i64 = 3600;
/// How long Stripe holds an uncaptured card authorisation before it cancels the intent.
pub const AUTHORISATION_WINDOW_SECONDS: i64 = 7 * 24 * 3600;

/// Looks an intent up, first applying what the clock decided: the one-hour confirmation
/// window, the end of a `processing` payment, and the release of an authorisation left
/// uncaptured for seven days.
pub fn load<'a>(store: &'a mut Store, id: &str, now: i64) -> ApiResult<&'a mut PaymentIntent> {
    let pi = get_mut(store, id)?;
    if pi.status == Status::Processing && pi.processing_until.is_some_and(|until| now >= until) {
        pi.processing_until = None;
        if let Some(pm_id) = pi.payment_method.clone() {
            transitions::succeed(store, id, &pm_id, false, now)?;
        }
    }
    let pi = get(store, id)?;
    if pi.status == Status::RequiresCapture {
        let authorised_at = pi
            .latest_charge
            .as_ref()
            .and_then(|c| store.charges.get(c))
            .map(|c| c.created);
        if authorised_at.is_some_and(|at| now - at >= AUTHORISATION_WINDOW_SECONDS) {
            transitions::release_authorisation(store, id, "automatic", now)?;
        }
    }
    let pi = get_mut(store, id)?;
    if pi.confirmation_method == ConfirmationMethod::Manual && pi.status.awaits_confirmation() {
        if let Some(since) = pi.awaiting_since {
            if now - since > CONFIRMATION_WINDOW_SECONDS {
                pi.fail_authentication(
                    "The PaymentIntent was not confirmed within one hour of the cardholder's authentication, so it \
                     returned to requires_payment_method. Please provide a payment method and confirm again.",
                );
            }
        }
    }
    Ok(pi)
}

pub fn get<'a>(store: &'a Store, id: &str) -> ApiResult<&'a PaymentIntent> {
    store
        .payment_intents
        .get(id)
        .ok_or_else(|| ApiError::resource_missing("payment_intent", id, "intent"))
}

/// The intent to change, without the clock's decisions (see [`load`]).
fn get_mut<'a>(store: &'a mut Store, id: &str) -> ApiResult<&'a mut PaymentIntent> {
    store
        .payment_intents
        .get_mut(id)
        .ok_or_else(|| ApiError::resource_missing("payment_intent", id, "intent"))
}

/// Renders an intent after applying the confirmation window.
pub fn retrieve(store: &mut Store, id: &str, now: i64) -> ApiResult<Value> {
    load(store, id, now)?;
    get(store, id)?.json(store)
}

/// `GET /v1/payment_intents`.
pub fn list(store: &mut Store, mut form: Form, now: i64) -> ApiResult<Value> {
    let customer = form.take_nonempty("customer")?;
    let created = super::list::CreatedRange::take(&mut form)?;
    let page = super::list::Page::take(&mut form)?;
    form.finish()?;
    let mut ids: Vec<(u64, String)> = store
        .payment_intents
        .values()
        .filter(|pi| {
            (customer.is_none() || pi.customer == customer) && created.contains(pi.created)
        })
        .map(|pi| (pi.seq, pi.id.clone()))
        .collect();
    ids.sort_by_key(|(seq, _)| std::cmp::Reverse(*seq));
    let ids: Vec<String> = ids.into_iter().map(|(_, id)| id).collect();
    page.render_ids("/v1/payment_intents", &ids, |_, id| {
        load(store, id, now)?;
        get(store, id)?.json(store)
    })
}
