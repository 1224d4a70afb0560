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

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::cards::{Behaviour, Decline};
use crate::error::{ApiError, ApiResult};
use crate::form::Form;
use crate::persist::{optional_static_str, static_str, Literal};
use crate::ids;
use crate::resources::charge::{self, Charge};
use crate::resources::{customer, fresh_metadata, merge_metadata, metadata_json, payment_method};
use crate::shape::through_model;
use crate::store::Store;

/// How long a manual-confirmation intent may wait in requires_action/requires_confirmation.
pub const CONFIRMATION_WINDOW_SECONDS: i64 = 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Processing,
    RequiresCapture,
    Canceled,
    Succeeded,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::RequiresPaymentMethod => "requires_payment_method",
            Status::RequiresConfirmation => "requires_confirmation",
            Status::RequiresAction => "requires_action",
            Status::Processing => "processing",
            Status::RequiresCapture => "requires_capture",
            Status::Canceled => "canceled",
            Status::Succeeded => "succeeded",
        }
    }
}

/// `last_payment_error` as kept on the intent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentError {
    #[serde(with = "static_str")]
    pub kind: Literal,
    #[serde(with = "static_str")]
    pub code: Literal,
    #[serde(with = "optional_static_str")]
    pub decline_code: Option<crate::persist::Literal>,
    pub message: String,
    pub payment_method: String,
    pub charge: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub seq: u64,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub status: Status,
    #[serde(with = "static_str")]
    pub capture_method: Literal,
    #[serde(with = "static_str")]
    pub confirmation_method: Literal,
    pub client_secret: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub payment_method: Option<String>,
    pub payment_method_types: Vec<String>,
    #[serde(with = "optional_static_str")]
    pub setup_future_usage: Option<crate::persist::Literal>,
    pub receipt_email: Option<String>,
    pub statement_descriptor_suffix: Option<String>,
    pub automatic_payment_methods: Option<bool>,
    pub latest_charge: Option<String>,
    pub last_payment_error: Option<PaymentError>,
    pub amount_capturable: i64,
    pub amount_received: i64,
    pub canceled_at: Option<i64>,
    #[serde(with = "optional_static_str")]
    pub cancellation_reason: Option<crate::persist::Literal>,
    /// When the intent began waiting for the cardholder or for the server's re-confirm.
    pub awaiting_since: Option<i64>,
    /// The PaymentMethod the cardholder authenticated, so the next confirm charges it.
    pub authenticated_payment_method: Option<String>,
    /// The id of the 3-D Secure source shown in `next_action`.
    pub three_d_secure_source: Option<String>,
    /// When a `processing` payment settles (emulator clock).
    #[serde(default)]
    pub processing_until: Option<i64>,
}

impl PaymentIntent {
    /// Back to requires_payment_method after 3-D Secure failed or its hour ran out; the card
    /// is dropped from the intent and named in `last_payment_error`, as Stripe does.
    fn fail_authentication(&mut self, message: &str) {
        let payment_method = self.payment_method.take().unwrap_or_default();
        self.status = Status::RequiresPaymentMethod;
        self.awaiting_since = None;
        self.authenticated_payment_method = None;
        self.last_payment_error = Some(PaymentError {
            kind: "invalid_request_error",
            code: "payment_intent_authentication_failure",
            decline_code: None,
            message: message.to_owned(),
            payment_method,
            charge: None,
        });
    }

    pub fn json(&self, store: &Store) -> ApiResult<Value> {
        let next_action = (self.status == Status::RequiresAction).then(|| {
            json!({
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {
                    "type": "three_d_secure_redirect",
                    "source": self.three_d_secure_source,
                    "stripe_js": format!("{}/3ds/challenge/{}", store.base_url, self.id),
                },
            })
        });
        let last_payment_error = match &self.last_payment_error {
            None => Value::Null,
            Some(e) => {
                let pm = store.payment_methods.get(&e.payment_method).map(|pm| pm.json()).transpose()?;
                json!({
                    "type": e.kind,
                    "code": e.code,
                    "decline_code": e.decline_code,
                    "message": e.message,
                    "charge": e.charge,
                    "doc_url": format!("https://stripe.com/docs/error-codes/{}", e.code.replace('_', "-")),
                    "payment_method": pm,
                })
            }
        };
        let draft = json!({
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_capturable": self.amount_capturable,
            "amount_details": { "tip": {} },
            "amount_received": self.amount_received,
            "application": null,
            "application_fee_amount": null,
            "automatic_payment_methods": self.automatic_payment_methods.map(|enabled| json!({ "allow_redirects": "always", "enabled": enabled })),
            "canceled_at": self.canceled_at,
            "cancellation_reason": self.cancellation_reason,
            "capture_method": self.capture_method,
            "client_secret": self.client_secret,
            "confirmation_method": self.confirmation_method,
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "customer_account": null,
            "description": self.description,
            "excluded_payment_method_types": null,
            "last_payment_error": last_payment_error,
            "latest_charge": self.latest_charge,
            "livemode": false,
            "managed_payments": null,
            "metadata": metadata_json(&self.metadata),
            "next_action": next_action,
            "on_behalf_of": null,
            "payment_method": self.payment_method,
            "payment_method_configuration_details": null,
            "payment_method_options": {
                "card": { "installments": null, "mandate_options": null, "network": null, "request_three_d_secure": "automatic" },
            },
            "payment_method_types": self.payment_method_types,
            "processing": null,
            "receipt_email": self.receipt_email,
            "review": null,
            "setup_future_usage": self.setup_future_usage,
            "shipping": null,
            "source": null,
            "statement_descriptor": null,
            "statement_descriptor_suffix": self.statement_descriptor_suffix,
            "status": self.status.as_str(),
            "transfer_data": null,
            "transfer_group": null,
        });
        through_model::<stripe_shared::PaymentIntent>(&draft)
    }
}

/// Looks an intent up, first applying what the clock decided: the one-hour confirmation
/// window, and the end of a `processing` payment.
pub fn load<'a>(store: &'a mut Store, id: &str, now: i64) -> ApiResult<&'a mut PaymentIntent> {
    let pi = store
        .payment_intents
        .get_mut(id)
        .ok_or_else(|| ApiError::resource_missing("payment_intent", id, "intent"))?;
    if pi.status == Status::Processing && pi.processing_until.is_some_and(|until| now >= until) {
        pi.processing_until = None;
        if let Some(pm_id) = pi.payment_method.clone() {
            succeed(store, id, &pm_id, false, now);
        }
    }
    let pi = store.payment_intents.get_mut(id).ok_or_else(|| ApiError::resource_missing("payment_intent", id, "intent"))?;
    let waiting = matches!(pi.status, Status::RequiresAction | Status::RequiresConfirmation);
    if pi.confirmation_method == "manual" && waiting {
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
    store.payment_intents.get(id).ok_or_else(|| ApiError::resource_missing("payment_intent", id, "intent"))
}

/// Renders an intent after applying the confirmation window.
pub fn retrieve(store: &mut Store, id: &str, now: i64) -> ApiResult<Value> {
    load(store, id, now)?;
    store.payment_intents[id].json(store)
}

fn unexpected_state(store: &Store, id: &str, action: &str, allowed: &[Status]) -> ApiError {
    let pi = &store.payment_intents[id];
    let allowed: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
    let message = format!(
        "You cannot {action} this PaymentIntent because it has a status of {}. Only a PaymentIntent with one of the following statuses may be {}: {}.",
        pi.status.as_str(),
        past_tense(action),
        allowed.join(", ")
    );
    ApiError::unexpected_state(message, pi.json(store).unwrap_or(Value::Null))
}

fn past_tense(action: &str) -> String {
    match action {
        "confirm" => "confirmed".into(),
        "capture" => "captured".into(),
        "cancel" => "canceled".into(),
        "update" => "updated".into(),
        other => format!("{other}ed"),
    }
}

/// Options a confirm takes, from `create(confirm=true)` or `POST …/confirm`.
#[derive(Debug, Default)]
pub struct Confirm {
    pub payment_method: Option<String>,
    pub off_session: bool,
    pub error_on_requires_action: bool,
    pub receipt_email: Option<String>,
    pub setup_future_usage: Option<&'static str>,
}

impl Confirm {
    fn take(form: &mut Form) -> ApiResult<Confirm> {
        let off_session = match form.take_nonempty("off_session")?.as_deref() {
            None | Some("false") => false,
            Some("true" | "one_off" | "recurring") => true,
            Some(other) => {
                return Err(ApiError::invalid_value("off_session", format!("Invalid off_session: {other}")))
            }
        };
        // Accepted as Stripe does; they change nothing for cards here.
        form.take_str("return_url")?;
        form.take_bool("use_stripe_sdk")?;
        if let Some(mut options) = form.take_form("payment_method_options")? {
            if let Some(mut card) = options.take_form("card")? {
                card.take_enum("request_three_d_secure", &["any", "automatic", "challenge"])?;
                card.finish()?;
            }
            options.finish()?;
        }
        Ok(Confirm {
            payment_method: form.take_nonempty("payment_method")?,
            off_session,
            error_on_requires_action: form.take_bool("error_on_requires_action")?.unwrap_or(false),
            receipt_email: form.take_nonempty("receipt_email")?,
            setup_future_usage: form.take_enum("setup_future_usage", &["off_session", "on_session"])?,
        })
    }
}

/// Smallest amount Stripe charges, in minor units (50 cents or the local equivalent).
fn minimum_amount(currency: &str) -> i64 {
    match currency {
        "jpy" => 50,
        "gbp" => 30,
        "huf" => 17500,
        "inr" | "mxn" => 1000,
        "hkd" | "sek" | "nok" | "dkk" => 300,
        _ => 50,
    }
}

fn check_amount(amount: i64, currency: &str) -> ApiResult<()> {
    let minimum = minimum_amount(currency);
    if amount < minimum {
        return Err(ApiError::invalid(
            "amount_too_small",
            format!("Amount must be at least {minimum} {currency} in the currency's smallest unit."),
        )
        .with_param("amount"));
    }
    if amount > 99_999_999 {
        return Err(ApiError::invalid("amount_too_large", "Amount must be no more than 99999999.").with_param("amount"));
    }
    Ok(())
}

fn check_currency(currency: &str) -> ApiResult<String> {
    let lower = currency.to_ascii_lowercase();
    match lower.parse::<stripe_types::Currency>() {
        Ok(stripe_types::Currency::Unknown(_)) | Err(_) => Err(ApiError::invalid_value(
            "currency",
            format!("Invalid currency: {lower}. Stripe currently supports these currencies: usd, eur, gbp, …"),
        )),
        Ok(_) => Ok(lower),
    }
}

/// `POST /v1/payment_intents`.
pub fn create(store: &mut Store, mut form: Form, now: i64) -> ApiResult<Value> {
    let amount = form.take_i64("amount")?.ok_or_else(|| ApiError::parameter_missing("amount"))?;
    let currency = check_currency(&form.require_str("currency")?)?;
    check_amount(amount, &currency)?;
    let confirm = form.take_bool("confirm")?.unwrap_or(false);
    let confirmation_method = form.take_enum("confirmation_method", &["automatic", "manual"])?.unwrap_or("automatic");
    let capture_method = form.take_enum("capture_method", &["automatic", "automatic_async", "manual"])?.unwrap_or("automatic_async");
    let customer = form.take_nonempty("customer")?;
    let description = form.take_nonempty("description")?;
    let metadata = fresh_metadata(form.take_metadata("metadata")?);
    let statement_descriptor_suffix = form.take_nonempty("statement_descriptor_suffix")?;
    let payment_method_types = form.take_str_list("payment_method_types")?;
    let automatic_payment_methods = match form.take_form("automatic_payment_methods")? {
        Some(mut apm) => {
            let enabled = apm.take_bool("enabled")?.ok_or_else(|| ApiError::parameter_missing("automatic_payment_methods[enabled]"))?;
            apm.take_enum("allow_redirects", &["always", "never"])?;
            apm.finish()?;
            Some(enabled)
        }
        None => None,
    };
    let had_off_session = form.contains("off_session");
    let had_error_on_requires_action = form.contains("error_on_requires_action");
    let options = Confirm::take(&mut form)?;
    form.finish()?;

    if !confirm && had_off_session {
        return Err(ApiError::invalid_value("off_session", "You may only specify `off_session` when `confirm` is true."));
    }
    if !confirm && had_error_on_requires_action {
        return Err(ApiError::invalid_value(
            "error_on_requires_action",
            "You may only specify `error_on_requires_action` when `confirm` is true.",
        ));
    }
    let payment_method_types = payment_method_types.unwrap_or_else(|| vec!["card".to_owned()]);
    if let Some(other) = payment_method_types.iter().find(|t| *t != "card") {
        return Err(ApiError::invalid_value(
            "payment_method_types",
            format!("The emulator supports the `card` payment method type only, not `{other}`."),
        ));
    }
    if let Some(customer) = &customer {
        customer::get(store, customer)?;
    }
    let payment_method = options.payment_method.as_deref().map(|pm| payment_method::resolve(store, pm, now)).transpose()?;

    let id = ids::new_id("pi");
    let seq = store.seq();
    let pi = PaymentIntent {
        client_secret: ids::client_secret(&id),
        id: id.clone(),
        seq,
        created: now,
        amount,
        currency,
        status: if payment_method.is_some() { Status::RequiresConfirmation } else { Status::RequiresPaymentMethod },
        capture_method,
        confirmation_method,
        customer,
        description,
        metadata,
        payment_method: payment_method.clone(),
        payment_method_types,
        setup_future_usage: options.setup_future_usage,
        receipt_email: options.receipt_email.clone(),
        statement_descriptor_suffix,
        automatic_payment_methods,
        latest_charge: None,
        last_payment_error: None,
        amount_capturable: 0,
        amount_received: 0,
        canceled_at: None,
        cancellation_reason: None,
        awaiting_since: None,
        authenticated_payment_method: None,
        three_d_secure_source: None,
        processing_until: None,
    };
    store.payment_intents.insert(id.clone(), pi);
    if confirm {
        let options = Confirm { payment_method, ..options };
        confirm_intent(store, &id, options, now)?;
    }
    store.payment_intents[&id].json(store)
}

/// `POST /v1/payment_intents/:id/confirm` with a secret key.
pub fn confirm(store: &mut Store, id: &str, mut form: Form, now: i64) -> ApiResult<Value> {
    let options = Confirm::take(&mut form)?;
    form.finish()?;
    confirm_intent(store, id, options, now)?;
    store.payment_intents[id].json(store)
}

/// `POST /v1/payment_intents/:id/confirm` from Stripe.js (publishable key + client secret):
/// allowed only for automatic confirmation, as with Stripe.
pub fn confirm_from_browser(store: &mut Store, id: &str, mut form: Form, now: i64) -> ApiResult<Value> {
    let secret = form.require_str("client_secret")?;
    check_client_secret(store, id, &secret, now)?;
    if store.payment_intents[id].confirmation_method == "manual" {
        return Err(ApiError::invalid(
            "payment_intent_invalid_parameter",
            "This PaymentIntent's confirmation_method is `manual`: it can only be confirmed on your server with a secret key.",
        ));
    }
    let mut card_form = None;
    if let Some(mut pmd) = form.take_form("payment_method_data")? {
        let kind = pmd.require_str("type")?;
        if kind != "card" {
            return Err(ApiError::invalid_value("payment_method_data[type]", "Only card is supported."));
        }
        card_form = Some((pmd.take_form("card")?.ok_or_else(|| ApiError::parameter_missing("payment_method_data[card]"))?, payment_method::BillingDetails::take(&mut pmd)?));
        pmd.finish()?;
    }
    let mut options = Confirm::take(&mut form)?;
    form.finish()?;
    if let Some((card, billing)) = card_form {
        let card = payment_method::card_from_form(card, now)?;
        let created = payment_method::create_from_card(store, card, billing, BTreeMap::new(), now);
        options.payment_method = Some(created);
    }
    confirm_intent(store, id, options, now)?;
    store.payment_intents[id].json(store)
}

/// The PaymentMethod rules Stripe applies at confirmation.
fn check_payment_method_usable(store: &Store, pi: &PaymentIntent, pm_id: &str) -> ApiResult<()> {
    let pm = payment_method::get(store, pm_id)?;
    if pm.consumed {
        return Err(ApiError::invalid(
            "payment_method_unexpected_state",
            "The provided PaymentMethod was previously used with a PaymentIntent without Customer attachment, shared with a connected account, or was detached from a Customer. It may not be used again. To use a PaymentMethod multiple times, you must attach it to a Customer first.",
        )
        .with_param("payment_method"));
    }
    if let Some(owner) = &pm.customer {
        if pi.customer.as_deref() != Some(owner.as_str()) {
            return Err(ApiError::invalid(
                "payment_method_customer_mismatch",
                "The provided PaymentMethod belongs to a Customer, but you did not provide that Customer's ID with this PaymentIntent. Include the Customer ID and confirm again.",
            )
            .with_param("payment_method"));
        }
    }
    Ok(())
}

/// Confirms: charges the card, asks for 3-D Secure, or declines (HTTP 402).
pub fn confirm_intent(store: &mut Store, id: &str, options: Confirm, now: i64) -> ApiResult<()> {
    let allowed = [Status::RequiresPaymentMethod, Status::RequiresConfirmation, Status::RequiresAction];
    let status = load(store, id, now)?.status;
    if !allowed.contains(&status) {
        return Err(unexpected_state(store, id, "confirm", &allowed));
    }
    if let Some(given) = &options.payment_method {
        let pm_id = payment_method::resolve(store, given, now)?;
        let pi = store.payment_intents.get_mut(id).expect("loaded above");
        if pi.payment_method.as_deref() != Some(pm_id.as_str()) {
            pi.authenticated_payment_method = None;
        }
        pi.payment_method = Some(pm_id);
    }
    let Some(pm_id) = store.payment_intents[id].payment_method.clone() else {
        let pi = store.payment_intents[id].json(store)?;
        let mut err = ApiError::unexpected_state(
            "You cannot confirm this PaymentIntent because it's missing a payment method. Update the PaymentIntent with a payment method and then confirm it again.",
            pi,
        );
        err.saved = false;
        return Err(err);
    };
    check_payment_method_usable(store, &store.payment_intents[id], &pm_id)?;

    let pi = store.payment_intents.get_mut(id).expect("loaded above");
    if let Some(email) = options.receipt_email {
        pi.receipt_email = Some(email);
    }
    if options.setup_future_usage.is_some() {
        pi.setup_future_usage = options.setup_future_usage;
    }
    let authenticated =
        pi.status == Status::RequiresConfirmation && pi.authenticated_payment_method.as_deref() == Some(pm_id.as_str());
    let pm = &store.payment_methods[&pm_id];
    let behaviour = pm.card.behaviour();
    let needs_authentication = match behaviour {
        Behaviour::Succeeds | Behaviour::Declines(_) | Behaviour::ProcessingThenSucceeds => false,
        Behaviour::AuthenticateUnlessSetUp => !(options.off_session && pm.set_up_for_off_session),
        Behaviour::AuthenticateAlways | Behaviour::AuthenticateThenDecline(_) => true,
    };
    if needs_authentication && !authenticated {
        if options.off_session || options.error_on_requires_action {
            return decline(store, id, &pm_id, Decline::AuthenticationRequired, now);
        }
        let pi = store.payment_intents.get_mut(id).expect("loaded above");
        pi.status = Status::RequiresAction;
        pi.awaiting_since = Some(now);
        pi.last_payment_error = None;
        pi.three_d_secure_source = Some(ids::new_id("src"));
        return Ok(());
    }
    match behaviour {
        Behaviour::Declines(reason) => decline(store, id, &pm_id, reason, now),
        Behaviour::AuthenticateThenDecline(reason) => decline(store, id, &pm_id, reason, now),
        Behaviour::ProcessingThenSucceeds => {
            let pi = store.payment_intents.get_mut(id).expect("loaded above");
            pi.status = Status::Processing;
            pi.processing_until = Some(now + crate::cards::PROCESSING_SECONDS);
            pi.last_payment_error = None;
            pi.awaiting_since = None;
            Ok(())
        }
        _ => {
            succeed(store, id, &pm_id, authenticated, now);
            Ok(())
        }
    }
}

fn new_charge(store: &mut Store, pi_id: &str, pm_id: &str, failure: Option<Decline>, authenticated: bool, now: i64) -> String {
    let pi = &store.payment_intents[pi_id];
    let pm = &store.payment_methods[pm_id];
    let captured = failure.is_none() && pi.capture_method != "manual";
    let charge = Charge {
        id: ids::new_id("ch"),
        seq: 0,
        created: now,
        amount: pi.amount,
        amount_captured: if captured { pi.amount } else { 0 },
        amount_refunded: 0,
        captured,
        currency: pi.currency.clone(),
        customer: pi.customer.clone(),
        description: pi.description.clone(),
        metadata: pi.metadata.clone(),
        payment_intent: pi.id.clone(),
        payment_method: pm.id.clone(),
        card: pm.card.clone(),
        billing_details: pm.billing_details.clone(),
        receipt_email: pi.receipt_email.clone(),
        failure,
        authenticated,
        balance_transaction: captured.then(charge::new_balance_transaction),
    };
    let seq = store.seq();
    let id = charge.id.clone();
    store.charges.insert(id.clone(), Charge { seq, ..charge });
    id
}

fn succeed(store: &mut Store, id: &str, pm_id: &str, authenticated: bool, now: i64) {
    let charge_id = new_charge(store, id, pm_id, None, authenticated, now);
    let pi = store.payment_intents.get_mut(id).expect("caller loaded it");
    pi.latest_charge = Some(charge_id);
    pi.last_payment_error = None;
    pi.awaiting_since = None;
    pi.authenticated_payment_method = None;
    if pi.capture_method == "manual" {
        pi.status = Status::RequiresCapture;
        pi.amount_capturable = pi.amount;
    } else {
        pi.status = Status::Succeeded;
        pi.amount_received = pi.amount;
    }
    let (customer, saving) = (pi.customer.clone(), pi.setup_future_usage);
    let pm = store.payment_methods.get_mut(pm_id).expect("checked usable");
    if saving == Some("off_session") {
        pm.set_up_for_off_session = true;
    }
    match (saving, customer) {
        (Some(_), Some(customer)) => pm.customer = Some(customer),
        _ if pm.customer.is_none() => pm.consumed = true,
        _ => {}
    }
}

fn decline(store: &mut Store, id: &str, pm_id: &str, reason: Decline, now: i64) -> ApiResult<()> {
    let charge_id = new_charge(store, id, pm_id, Some(reason), false, now);
    let pi = store.payment_intents.get_mut(id).expect("caller loaded it");
    pi.status = Status::RequiresPaymentMethod;
    pi.payment_method = None;
    pi.latest_charge = Some(charge_id.clone());
    pi.awaiting_since = None;
    pi.authenticated_payment_method = None;
    pi.last_payment_error = Some(PaymentError {
        kind: "card_error",
        code: reason.code(),
        decline_code: Some(reason.decline_code()),
        message: reason.message().to_owned(),
        payment_method: pm_id.to_owned(),
        charge: Some(charge_id.clone()),
    });
    let mut err = ApiError::card(reason.code(), Some(reason.decline_code()), reason.message());
    err.param = reason.param().map(str::to_owned);
    err.charge = Some(charge_id);
    err.payment_intent = Some(store.payment_intents[id].json(store)?);
    err.payment_method = Some(store.payment_methods[pm_id].json()?);
    Err(err)
}

/// Checks a client secret given with a publishable key; a wrong one reveals nothing.
pub fn check_client_secret(store: &mut Store, id: &str, secret: &str, now: i64) -> ApiResult<()> {
    let pi = load(store, id, now)?;
    if pi.client_secret != secret {
        return Err(ApiError::invalid(
            "payment_intent_invalid_parameter",
            "The client_secret provided does not match any associated PaymentIntent on this account. Ensure the publishable key used belongs to the same account that created the PaymentIntent.",
        )
        .with_param("client_secret"));
    }
    Ok(())
}

/// The cardholder's answer to the 3-D Secure challenge (Stripe.js stand-in).
pub fn authenticate(store: &mut Store, id: &str, secret: &str, passed: bool, now: i64) -> ApiResult<()> {
    check_client_secret(store, id, secret, now)?;
    let pi = store.payment_intents.get_mut(id).expect("checked above");
    if pi.status != Status::RequiresAction {
        return Err(unexpected_state(store, id, "authenticate", &[Status::RequiresAction]));
    }
    let pm_id = pi.payment_method.clone().expect("requires_action always has a payment method");
    if !passed {
        pi.fail_authentication("We are unable to authenticate your payment method. Please choose a different payment method and try again.");
        return Ok(());
    }
    pi.authenticated_payment_method = Some(pm_id);
    pi.status = Status::RequiresConfirmation;
    // The server's re-confirm must come within the hour after authentication.
    pi.awaiting_since = Some(now);
    if pi.confirmation_method == "automatic" {
        // Stripe confirms automatic intents itself once the cardholder is through;
        // a decline is recorded on the intent, where Stripe.js reads it.
        let _ = confirm_intent(store, id, Confirm::default(), now);
    }
    Ok(())
}

/// `POST /v1/payment_intents/:id` (update).
pub fn update(store: &mut Store, id: &str, mut form: Form, now: i64) -> ApiResult<Value> {
    load(store, id, now)?;
    let amount = form.take_i64("amount")?;
    let currency = form.take_nonempty("currency")?.map(|c| check_currency(&c)).transpose()?;
    let payment_method = form.take_nonempty("payment_method")?;
    let customer = form.take_nonempty("customer")?;
    let description = form.take_str("description")?;
    let receipt_email = form.take_str("receipt_email")?;
    let metadata = form.take_metadata("metadata")?;
    let setup_future_usage = form.take_enum("setup_future_usage", &["off_session", "on_session"])?;
    let capture_method = form.take_enum("capture_method", &["automatic", "automatic_async", "manual"])?;
    form.finish()?;

    let payment_changes = amount.is_some()
        || currency.is_some()
        || payment_method.is_some()
        || customer.is_some()
        || setup_future_usage.is_some()
        || capture_method.is_some();
    let editable = [Status::RequiresPaymentMethod, Status::RequiresConfirmation, Status::RequiresAction];
    if payment_changes && !editable.contains(&store.payment_intents[id].status) {
        return Err(unexpected_state(store, id, "update", &editable));
    }
    let pi = &store.payment_intents[id];
    check_amount(amount.unwrap_or(pi.amount), currency.as_deref().unwrap_or(&pi.currency))?;
    if let Some(customer) = &customer {
        customer::get(store, customer)?;
    }
    let payment_method = payment_method.map(|pm| payment_method::resolve(store, &pm, now)).transpose()?;

    let pi = store.payment_intents.get_mut(id).expect("loaded above");
    if let Some(amount) = amount {
        pi.amount = amount;
    }
    if let Some(currency) = currency {
        pi.currency = currency;
    }
    if let Some(customer) = customer {
        pi.customer = Some(customer);
    }
    if let Some(v) = setup_future_usage {
        pi.setup_future_usage = Some(v);
    }
    if let Some(v) = capture_method {
        pi.capture_method = v;
    }
    if let Some(v) = description {
        pi.description = Some(v).filter(|s| !s.is_empty());
    }
    if let Some(v) = receipt_email {
        pi.receipt_email = Some(v).filter(|s| !s.is_empty());
    }
    if let Some(metadata) = metadata {
        merge_metadata(&mut pi.metadata, metadata);
    }
    if let Some(pm) = payment_method {
        pi.payment_method = Some(pm);
        pi.authenticated_payment_method = None;
    }
    if payment_changes {
        // Whatever was pending must be confirmed again against the new terms.
        pi.last_payment_error = None;
        pi.authenticated_payment_method = None;
        pi.awaiting_since = None;
        pi.status = if pi.payment_method.is_some() { Status::RequiresConfirmation } else { Status::RequiresPaymentMethod };
    }
    store.payment_intents[id].json(store)
}

/// `POST /v1/payment_intents/:id/capture`.
pub fn capture(store: &mut Store, id: &str, mut form: Form, now: i64) -> ApiResult<Value> {
    let amount_to_capture = form.take_i64("amount_to_capture")?;
    let metadata = form.take_metadata("metadata")?;
    form.finish()?;
    load(store, id, now)?;
    if store.payment_intents[id].status != Status::RequiresCapture {
        return Err(unexpected_state(store, id, "capture", &[Status::RequiresCapture]));
    }
    let pi = store.payment_intents.get_mut(id).expect("loaded above");
    let amount = amount_to_capture.unwrap_or(pi.amount_capturable);
    if amount <= 0 || amount > pi.amount_capturable {
        return Err(ApiError::invalid(
            "amount_too_large",
            format!("The amount to capture ({amount}) must be positive and at most the capturable amount ({}).", pi.amount_capturable),
        )
        .with_param("amount_to_capture"));
    }
    pi.status = Status::Succeeded;
    pi.amount_received = amount;
    pi.amount_capturable = 0;
    if let Some(metadata) = metadata {
        merge_metadata(&mut pi.metadata, metadata);
    }
    let charge_id = pi.latest_charge.clone().expect("requires_capture has a charge");
    let charge = store.charges.get_mut(&charge_id).expect("latest charge exists");
    charge.captured = true;
    charge.amount_captured = amount;
    charge.balance_transaction = Some(charge::new_balance_transaction());
    store.payment_intents[id].json(store)
}

/// `POST /v1/payment_intents/:id/cancel`.
pub fn cancel(store: &mut Store, id: &str, mut form: Form, now: i64) -> ApiResult<Value> {
    let reason = form.take_enum("cancellation_reason", &["abandoned", "duplicate", "fraudulent", "requested_by_customer"])?;
    form.finish()?;
    load(store, id, now)?;
    let allowed = [
        Status::RequiresPaymentMethod,
        Status::RequiresCapture,
        Status::RequiresConfirmation,
        Status::RequiresAction,
        Status::Processing,
    ];
    if !allowed.contains(&store.payment_intents[id].status) {
        return Err(unexpected_state(store, id, "cancel", &allowed));
    }
    let pi = store.payment_intents.get_mut(id).expect("loaded above");
    let was_authorised = pi.status == Status::RequiresCapture;
    pi.status = Status::Canceled;
    pi.canceled_at = Some(now);
    pi.cancellation_reason = reason;
    pi.amount_capturable = 0;
    pi.awaiting_since = None;
    if was_authorised {
        // Releasing an authorisation refunds the uncaptured charge.
        if let Some(charge) = pi.latest_charge.clone().and_then(|c| store.charges.get_mut(&c)) {
            charge.amount_refunded = charge.amount;
            charge.amount_captured = 0;
        }
    }
    store.payment_intents[id].json(store)
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
        .filter(|pi| (customer.is_none() || pi.customer == customer) && created.contains(pi.created))
        .map(|pi| (pi.seq, pi.id.clone()))
        .collect();
    ids.sort_by_key(|(seq, _)| std::cmp::Reverse(*seq));
    let mut items = Vec::with_capacity(ids.len());
    for (_, id) in ids {
        load(store, &id, now)?;
        items.push((id.clone(), store.payment_intents[&id].json(store)?));
    }
    page.render("/v1/payment_intents", items)
}
