//! The state machine: each transition checks the intent's status first and fails as Stripe
//! would; what a card does comes from the test-card table.

use std::collections::BTreeMap;

use serde_json::Value;

use super::model::{CaptureMethod, ConfirmationMethod, PaymentError, PaymentIntent, Status};
use super::params::{check_amount, check_currency, Confirm};
use super::{get, get_mut, load};
use crate::cards::{Behaviour, Decline};
use crate::error::{ApiError, ApiResult, ErrorType};
use crate::form::Form;
use crate::ids;
use crate::resources::charge::{self, Charge};
use crate::resources::{customer, fresh_metadata, merge_metadata, payment_method};
use crate::store::Store;

fn unexpected_state(store: &Store, id: &str, action: &str, allowed: &[Status]) -> ApiError {
    let pi = match get(store, id) {
        Ok(pi) => pi,
        Err(missing) => return missing,
    };
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

/// `POST /v1/payment_intents`.
pub fn create(store: &mut Store, mut form: Form, now: i64) -> ApiResult<Value> {
    let amount = form
        .take_i64("amount")?
        .ok_or_else(|| ApiError::parameter_missing("amount"))?;
    let currency = check_currency(&form.require_str("currency")?)?;
    check_amount(amount, &currency)?;
    let confirm = form.take_bool("confirm")?.unwrap_or(false);
    let confirmation_method = ConfirmationMethod::from_name(
        form.take_enum("confirmation_method", &ConfirmationMethod::NAMES)?
            .unwrap_or("automatic"),
    );
    let capture_method = CaptureMethod::from_name(
        form.take_enum("capture_method", &CaptureMethod::NAMES)?
            .unwrap_or("automatic_async"),
    );
    let customer = form.take_nonempty("customer")?;
    let description = form.take_nonempty("description")?;
    let metadata = fresh_metadata(form.take_metadata("metadata")?);
    let statement_descriptor_suffix = form.take_nonempty("statement_descriptor_suffix")?;
    let payment_method_types = form.take_str_list("payment_method_types")?;
    let automatic_payment_methods = match form.take_form("automatic_payment_methods")? {
        Some(mut apm) => {
            let enabled = apm
                .take_bool("enabled")?
                .ok_or_else(|| ApiError::parameter_missing("automatic_payment_methods[enabled]"))?;
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
        return Err(ApiError::invalid_value(
            "off_session",
            "You may only specify `off_session` when `confirm` is true.",
        ));
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
    let payment_method = options
        .payment_method
        .as_deref()
        .map(|pm| payment_method::resolve(store, pm, now))
        .transpose()?;

    let id = ids::new_id("pi");
    let seq = store.seq();
    let pi = PaymentIntent {
        client_secret: ids::client_secret(&id),
        id: id.clone(),
        seq,
        created: now,
        amount,
        currency,
        status: if payment_method.is_some() {
            Status::RequiresConfirmation
        } else {
            Status::RequiresPaymentMethod
        },
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
        let options = Confirm {
            payment_method,
            ..options
        };
        confirm_intent(store, &id, options, now)?;
    }
    get(store, &id)?.json(store)
}

/// `POST /v1/payment_intents/:id/confirm` with a secret key.
pub fn confirm(store: &mut Store, id: &str, mut form: Form, now: i64) -> ApiResult<Value> {
    let options = Confirm::take(&mut form)?;
    form.finish()?;
    confirm_intent(store, id, options, now)?;
    get(store, id)?.json(store)
}

/// `POST /v1/payment_intents/:id/confirm` from Stripe.js (publishable key + client secret):
/// allowed only for automatic confirmation, as with Stripe.
pub fn confirm_from_browser(
    store: &mut Store,
    id: &str,
    mut form: Form,
    now: i64,
) -> ApiResult<Value> {
    let secret = form.require_str("client_secret")?;
    check_client_secret(store, id, &secret, now)?;
    if get(store, id)?.confirmation_method == ConfirmationMethod::Manual {
        return Err(ApiError::invalid(
            "payment_intent_invalid_parameter",
            "This PaymentIntent's confirmation_method is `manual`: it can only be confirmed on your server with a secret key.",
        ));
    }
    let mut card_form = None;
    if let Some(mut pmd) = form.take_form("payment_method_data")? {
        let kind = pmd.require_str("type")?;
        if kind != "card" {
            return Err(ApiError::invalid_value(
                "payment_method_data[type]",
                "Only card is supported.",
            ));
        }
        card_form = Some((
            pmd.take_form("card")?
                .ok_or_else(|| ApiError::parameter_missing("payment_method_data[card]"))?,
            payment_method::BillingDetails::take(&mut pmd)?,
        ));
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
    get(store, id)?.json(store)
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
    let status = load(store, id, now)?.status;
    if !Status::CONFIRMABLE.contains(&status) {
        return Err(unexpected_state(store, id, "confirm", &Status::CONFIRMABLE));
    }
    if let Some(given) = &options.payment_method {
        let pm_id = payment_method::resolve(store, given, now)?;
        let pi = get_mut(store, id)?;
        if pi.payment_method.as_deref() != Some(pm_id.as_str()) {
            pi.authenticated_payment_method = None;
        }
        pi.payment_method = Some(pm_id);
    }
    let Some(pm_id) = get(store, id)?.payment_method.clone() else {
        let pi = get(store, id)?.json(store)?;
        let mut err = ApiError::unexpected_state(
            "You cannot confirm this PaymentIntent because it's missing a payment method. Update the PaymentIntent with a payment method and then confirm it again.",
            pi,
        );
        err.saved = false;
        return Err(err);
    };
    check_payment_method_usable(store, get(store, id)?, &pm_id)?;

    let pi = get_mut(store, id)?;
    if let Some(email) = options.receipt_email {
        pi.receipt_email = Some(email);
    }
    if options.setup_future_usage.is_some() {
        pi.setup_future_usage = options.setup_future_usage;
    }
    let authenticated = pi.status == Status::RequiresConfirmation
        && pi.authenticated_payment_method.as_deref() == Some(pm_id.as_str());
    let pm = payment_method::get(store, &pm_id)?;
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
        let pi = get_mut(store, id)?;
        pi.status = Status::RequiresAction;
        pi.end_attempt(None);
        pi.awaiting_since = Some(now);
        pi.three_d_secure_source = Some(ids::new_id("src"));
        return Ok(());
    }
    match behaviour {
        Behaviour::Declines(reason) => decline(store, id, &pm_id, reason, now),
        Behaviour::AuthenticateThenDecline(reason) => decline(store, id, &pm_id, reason, now),
        Behaviour::ProcessingThenSucceeds => {
            let pi = get_mut(store, id)?;
            pi.status = Status::Processing;
            pi.processing_until = Some(now + crate::cards::PROCESSING_SECONDS);
            pi.end_attempt(None);
            Ok(())
        }
        _ => succeed(store, id, &pm_id, authenticated, now),
    }
}

fn new_charge(
    store: &mut Store,
    pi_id: &str,
    pm_id: &str,
    failure: Option<Decline>,
    authenticated: bool,
    now: i64,
) -> ApiResult<String> {
    let pi = get(store, pi_id)?;
    let pm = payment_method::get(store, pm_id)?;
    let captured = failure.is_none() && pi.capture_method != CaptureMethod::Manual;
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
    Ok(id)
}

/// The charge went through: `succeeded`, or `requires_capture` for manual capture; a card
/// paid with `setup_future_usage` is saved to the intent's Customer.
pub(super) fn succeed(
    store: &mut Store,
    id: &str,
    pm_id: &str,
    authenticated: bool,
    now: i64,
) -> ApiResult<()> {
    let charge_id = new_charge(store, id, pm_id, None, authenticated, now)?;
    let pi = get_mut(store, id)?;
    pi.latest_charge = Some(charge_id);
    pi.end_attempt(None);
    if pi.capture_method == CaptureMethod::Manual {
        pi.status = Status::RequiresCapture;
        pi.amount_capturable = pi.amount;
    } else {
        pi.status = Status::Succeeded;
        pi.amount_received = pi.amount;
    }
    let (customer, saving) = (pi.customer.clone(), pi.setup_future_usage);
    let pm = store
        .payment_methods
        .get_mut(pm_id)
        .ok_or_else(|| ApiError::resource_missing("payment_method", pm_id, "payment_method"))?;
    if saving == Some("off_session") {
        pm.set_up_for_off_session = true;
    }
    match (saving, customer) {
        (Some(_), Some(customer)) => pm.customer = Some(customer),
        _ if pm.customer.is_none() => pm.consumed = true,
        _ => {}
    }
    Ok(())
}

fn decline(store: &mut Store, id: &str, pm_id: &str, reason: Decline, now: i64) -> ApiResult<()> {
    let charge_id = new_charge(store, id, pm_id, Some(reason), false, now)?;
    let pi = get_mut(store, id)?;
    pi.status = Status::RequiresPaymentMethod;
    pi.payment_method = None;
    pi.latest_charge = Some(charge_id.clone());
    pi.end_attempt(Some(PaymentError {
        kind: ErrorType::CardError,
        code: reason.code(),
        decline_code: Some(reason.decline_code()),
        message: reason.message().to_owned(),
        payment_method: pm_id.to_owned(),
        charge: Some(charge_id.clone()),
    }));
    let mut err = ApiError::card(reason.code(), Some(reason.decline_code()), reason.message());
    err.param = reason.param().map(str::to_owned);
    err.charge = Some(charge_id);
    err.payment_intent = Some(get(store, id)?.json(store)?);
    err.payment_method = Some(payment_method::get(store, pm_id)?.json()?);
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
pub fn authenticate(
    store: &mut Store,
    id: &str,
    secret: &str,
    passed: bool,
    now: i64,
) -> ApiResult<()> {
    check_client_secret(store, id, secret, now)?;
    let pi = get_mut(store, id)?;
    if pi.status != Status::RequiresAction {
        return Err(unexpected_state(
            store,
            id,
            "authenticate",
            &[Status::RequiresAction],
        ));
    }
    // requires_action always carries the card being authenticated.
    let Some(pm_id) = pi.payment_method.clone() else {
        return Err(ApiError::internal(
            "requires_action without a payment method",
        ));
    };
    if !passed {
        pi.fail_authentication("We are unable to authenticate your payment method. Please choose a different payment method and try again.");
        return Ok(());
    }
    pi.authenticated_payment_method = Some(pm_id);
    pi.status = Status::RequiresConfirmation;
    // The server's re-confirm must come within the hour after authentication.
    pi.awaiting_since = Some(now);
    if pi.confirmation_method == ConfirmationMethod::Automatic {
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
    let currency = form
        .take_nonempty("currency")?
        .map(|c| check_currency(&c))
        .transpose()?;
    let payment_method = form.take_nonempty("payment_method")?;
    let customer = form.take_nonempty("customer")?;
    let description = form.take_str("description")?;
    let receipt_email = form.take_str("receipt_email")?;
    let metadata = form.take_metadata("metadata")?;
    let setup_future_usage =
        form.take_enum("setup_future_usage", &["off_session", "on_session"])?;
    let capture_method = form
        .take_enum("capture_method", &CaptureMethod::NAMES)?
        .map(CaptureMethod::from_name);
    form.finish()?;

    let payment_changes = amount.is_some()
        || currency.is_some()
        || payment_method.is_some()
        || customer.is_some()
        || setup_future_usage.is_some()
        || capture_method.is_some();
    if payment_changes && !Status::EDITABLE.contains(&get(store, id)?.status) {
        return Err(unexpected_state(store, id, "update", &Status::EDITABLE));
    }
    let pi = get(store, id)?;
    check_amount(
        amount.unwrap_or(pi.amount),
        currency.as_deref().unwrap_or(&pi.currency),
    )?;
    if let Some(customer) = &customer {
        customer::get(store, customer)?;
    }
    let payment_method = payment_method
        .map(|pm| payment_method::resolve(store, &pm, now))
        .transpose()?;

    let pi = get_mut(store, id)?;
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
        pi.end_attempt(None);
        pi.status = if pi.payment_method.is_some() {
            Status::RequiresConfirmation
        } else {
            Status::RequiresPaymentMethod
        };
    }
    get(store, id)?.json(store)
}

/// `POST /v1/payment_intents/:id/capture`.
pub fn capture(store: &mut Store, id: &str, mut form: Form, now: i64) -> ApiResult<Value> {
    let amount_to_capture = form.take_i64("amount_to_capture")?;
    let metadata = form.take_metadata("metadata")?;
    form.finish()?;
    load(store, id, now)?;
    if get(store, id)?.status != Status::RequiresCapture {
        return Err(unexpected_state(
            store,
            id,
            "capture",
            &[Status::RequiresCapture],
        ));
    }
    let pi = get_mut(store, id)?;
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
    // requires_capture always has the authorised charge.
    let charge_id = pi
        .latest_charge
        .clone()
        .ok_or_else(|| ApiError::internal("requires_capture without a charge"))?;
    let charge = store
        .charges
        .get_mut(&charge_id)
        .ok_or_else(|| ApiError::resource_missing("charge", &charge_id, "charge"))?;
    charge.captured = true;
    charge.amount_captured = amount;
    charge.balance_transaction = Some(charge::new_balance_transaction());
    get(store, id)?.json(store)
}

/// `POST /v1/payment_intents/:id/cancel`.
pub fn cancel(store: &mut Store, id: &str, mut form: Form, now: i64) -> ApiResult<Value> {
    let reason = form.take_enum(
        "cancellation_reason",
        &[
            "abandoned",
            "duplicate",
            "fraudulent",
            "requested_by_customer",
        ],
    )?;
    form.finish()?;
    load(store, id, now)?;
    if !Status::CANCELABLE.contains(&get(store, id)?.status) {
        return Err(unexpected_state(store, id, "cancel", &Status::CANCELABLE));
    }
    release_authorisation(store, id, reason.unwrap_or_default(), now)?;
    get(store, id)?.json(store)
}

/// Cancels the intent; an authorisation's uncaptured charge is given back to the card.
/// (`reason` "" is no reason; "automatic" is Stripe's own release after seven days.)
pub(super) fn release_authorisation(
    store: &mut Store,
    id: &str,
    reason: &'static str,
    now: i64,
) -> ApiResult<()> {
    let pi = get_mut(store, id)?;
    let was_authorised = pi.status == Status::RequiresCapture;
    pi.status = Status::Canceled;
    pi.canceled_at = Some(now);
    pi.cancellation_reason = (!reason.is_empty()).then_some(reason);
    pi.amount_capturable = 0;
    pi.awaiting_since = None;
    if was_authorised {
        if let Some(charge) = pi
            .latest_charge
            .clone()
            .and_then(|c| store.charges.get_mut(&c))
        {
            charge.amount_refunded = charge.amount;
            charge.amount_captured = 0;
        }
    }
    Ok(())
}
