//! PaymentMethods of type `card`: created from raw card data (Stripe.js, or the API in test
//! mode) or from Stripe's `pm_card_…` test ids; attached to and detached from Customers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::cards::{self, Behaviour};
use crate::error::{ApiError, ApiResult};
use crate::form::Form;
use crate::ids;
use crate::resources::{fresh_metadata, merge_metadata, metadata_json};
use crate::shape::through_model;
use crate::store::Store;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Card {
    /// Kept to decide outcomes; never rendered.
    pub number: String,
    #[serde(with = "crate::persist::static_str")]
    pub brand: crate::persist::Literal,
    pub exp_month: i64,
    pub exp_year: i64,
    pub cvc_given: bool,
}

impl Card {
    pub fn behaviour(&self) -> Behaviour {
        cards::behaviour_of(&self.number)
    }

    pub fn last4(&self) -> &str {
        &self.number[self.number.len() - 4..]
    }

    /// The `card` hash shared by PaymentMethods and a charge's `payment_method_details`.
    pub fn details_json(&self) -> Value {
        json!({
            "brand": self.brand,
            "checks": {
                "address_line1_check": null,
                "address_postal_code_check": null,
                "cvc_check": if self.cvc_given { "pass" } else { "unchecked" },
            },
            "country": "US",
            "display_brand": self.brand,
            "exp_month": self.exp_month,
            "exp_year": self.exp_year,
            "fingerprint": ids::fingerprint(&self.number),
            "funding": "credit",
            "last4": self.last4(),
            "networks": { "available": [self.brand], "preferred": null },
            "regulated_status": "unregulated",
            "three_d_secure_usage": { "supported": true },
            "wallet": null,
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BillingDetails {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(with = "crate::persist::static_str_keys")]
    pub address: BTreeMap<&'static str, String>,
}

const ADDRESS_FIELDS: [&str; 6] = ["city", "country", "line1", "line2", "postal_code", "state"];

impl BillingDetails {
    pub fn take(form: &mut Form) -> ApiResult<BillingDetails> {
        let mut details = BillingDetails::default();
        let Some(mut billing) = form.take_form("billing_details")? else {
            return Ok(details);
        };
        details.name = billing.take_str("name")?.filter(|s| !s.is_empty());
        details.email = billing.take_str("email")?.filter(|s| !s.is_empty());
        details.phone = billing.take_str("phone")?.filter(|s| !s.is_empty());
        if let Some(mut address) = billing.take_form("address")? {
            for field in ADDRESS_FIELDS {
                if let Some(v) = address.take_str(field)?.filter(|s| !s.is_empty()) {
                    details.address.insert(field, v);
                }
            }
            address.finish()?;
        }
        billing.finish()?;
        Ok(details)
    }

    pub fn json(&self) -> Value {
        let address: serde_json::Map<String, Value> = ADDRESS_FIELDS
            .iter()
            .map(|f| {
                (
                    (*f).to_owned(),
                    self.address.get(f).map_or(Value::Null, |v| json!(v)),
                )
            })
            .collect();
        json!({
            "address": address,
            "email": self.email,
            "name": self.name,
            "phone": self.phone,
            "tax_id": null,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentMethod {
    pub id: String,
    pub seq: u64,
    pub created: i64,
    pub card: Card,
    pub billing_details: BillingDetails,
    pub customer: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// Saved for later off-session payments by a payment with `setup_future_usage`.
    pub set_up_for_off_session: bool,
    /// Charged successfully while attached to no Customer: Stripe refuses to use it again.
    pub consumed: bool,
}

impl PaymentMethod {
    pub fn json(&self) -> ApiResult<Value> {
        let draft = json!({
            "id": self.id,
            "object": "payment_method",
            "allow_redisplay": "unspecified",
            "billing_details": self.billing_details.json(),
            "card": self.card.details_json(),
            "created": self.created,
            "customer": self.customer,
            "customer_account": null,
            "livemode": false,
            "metadata": metadata_json(&self.metadata),
            "type": "card",
        });
        through_model::<stripe_shared::PaymentMethod>(&draft)
    }
}

/// Card errors at creation are 402s, as Stripe sends them.
fn card_error(code: &'static str, message: &str, param: &str) -> ApiError {
    let mut err = ApiError::card(code, None, message).with_param(param);
    err.saved = false;
    err
}

/// Validates raw card data the way Stripe does at PaymentMethod creation.
pub fn card_from_form(mut card: Form, now: i64) -> ApiResult<Card> {
    let number: String = card
        .require_str("number")?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let exp_month = card
        .take_i64("exp_month")?
        .ok_or_else(|| ApiError::parameter_missing("card[exp_month]"))?;
    let exp_year = card
        .take_i64("exp_year")?
        .ok_or_else(|| ApiError::parameter_missing("card[exp_year]"))?;
    let cvc = card.take_str("cvc")?.filter(|c| !c.is_empty());
    card.finish()?;

    if !cards::luhn_valid(&number) {
        return Err(card_error(
            "incorrect_number",
            "Your card number is incorrect.",
            "number",
        ));
    }
    let brand = cards::brand_of(&number);
    if !(1..=12).contains(&exp_month) {
        return Err(card_error(
            "invalid_expiry_month",
            "Your card's expiration month is invalid.",
            "exp_month",
        ));
    }
    // Two-digit years mean 20YY, as Stripe reads them.
    let exp_year = if (0..100).contains(&exp_year) {
        2000 + exp_year
    } else {
        exp_year
    };
    let (year, month) = year_month(now);
    if exp_year < year || exp_year > year + 50 {
        return Err(card_error(
            "invalid_expiry_year",
            "Your card's expiration year is invalid.",
            "exp_year",
        ));
    }
    if exp_year == year && exp_month < month {
        return Err(card_error(
            "invalid_expiry_month",
            "Your card's expiration month is invalid.",
            "exp_month",
        ));
    }
    if let Some(cvc) = &cvc {
        if !cvc.bytes().all(|b| b.is_ascii_digit()) || cvc.len() != cards::cvc_length(brand) {
            return Err(card_error(
                "invalid_cvc",
                "Your card's security code is invalid.",
                "cvc",
            ));
        }
    }
    Ok(Card {
        number,
        brand,
        exp_month,
        exp_year,
        cvc_given: cvc.is_some(),
    })
}

/// Calendar year and month (1–12) of a Unix time, in UTC.
pub fn year_month(unix: i64) -> (i64, i64) {
    // Civil-from-days (Howard Hinnant's algorithm).
    let days = unix.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month)
}

/// `POST /v1/payment_methods`.
pub fn create(store: &mut Store, mut form: Form, now: i64) -> ApiResult<Value> {
    let kind = form.require_str("type")?;
    if kind != "card" {
        return Err(ApiError::invalid_value(
            "type",
            format!("The emulator supports PaymentMethods of type `card` only, not `{kind}`."),
        ));
    }
    let card_form = form
        .take_form("card")?
        .ok_or_else(|| ApiError::parameter_missing("card"))?;
    let billing_details = BillingDetails::take(&mut form)?;
    let metadata = fresh_metadata(form.take_metadata("metadata")?);
    // Sent by Stripe.js; accepted and ignored as Stripe does.
    form.take_str("payment_user_agent")?;
    form.take_str("time_on_page")?;
    form.take_str("referrer")?;
    form.finish()?;
    let card = card_from_form(card_form, now)?;
    let id = create_from_card(store, card, billing_details, metadata, now);
    get(store, &id)?.json()
}

pub fn create_from_card(
    store: &mut Store,
    card: Card,
    billing_details: BillingDetails,
    metadata: BTreeMap<String, String>,
    now: i64,
) -> String {
    let id = ids::new_id("pm");
    let seq = store.seq();
    store.payment_methods.insert(
        id.clone(),
        PaymentMethod {
            id: id.clone(),
            seq,
            created: now,
            card,
            billing_details,
            customer: None,
            metadata,
            set_up_for_off_session: false,
            consumed: false,
        },
    );
    id
}

/// Resolves a `payment_method` parameter: an existing id, or one of Stripe's `pm_card_…`
/// test ids, which makes a fresh PaymentMethod as Stripe does.
pub fn resolve(store: &mut Store, given: &str, now: i64) -> ApiResult<String> {
    if store.payment_methods.contains_key(given) {
        return Ok(given.to_owned());
    }
    if let Some(test_card) = cards::card_for_token(given) {
        let (year, _) = year_month(now);
        let card = Card {
            number: test_card.number.to_owned(),
            brand: cards::brand_of(test_card.number),
            exp_month: 12,
            exp_year: year + 3,
            cvc_given: true,
        };
        return Ok(create_from_card(
            store,
            card,
            BillingDetails::default(),
            BTreeMap::new(),
            now,
        ));
    }
    Err(ApiError::resource_missing(
        "payment_method",
        given,
        "payment_method",
    ))
}

fn get_mut<'a>(store: &'a mut Store, id: &str) -> ApiResult<&'a mut PaymentMethod> {
    store
        .payment_methods
        .get_mut(id)
        .ok_or_else(|| ApiError::resource_missing("payment_method", id, "payment_method"))
}

pub fn get<'a>(store: &'a Store, id: &str) -> ApiResult<&'a PaymentMethod> {
    store
        .payment_methods
        .get(id)
        .ok_or_else(|| ApiError::resource_missing("payment_method", id, "payment_method"))
}

/// `POST /v1/payment_methods/:id` (metadata and billing details).
pub fn update(store: &mut Store, id: &str, mut form: Form) -> ApiResult<Value> {
    get(store, id)?;
    let billing = if form.contains("billing_details") {
        Some(BillingDetails::take(&mut form)?)
    } else {
        None
    };
    let metadata = form.take_metadata("metadata")?;
    form.finish()?;
    let pm = get_mut(store, id)?;
    if let Some(billing) = billing {
        pm.billing_details = billing;
    }
    if let Some(metadata) = metadata {
        merge_metadata(&mut pm.metadata, metadata);
    }
    pm.json()
}

/// `POST /v1/payment_methods/:id/attach`.
pub fn attach(store: &mut Store, id: &str, mut form: Form) -> ApiResult<Value> {
    let customer = form.require_str("customer")?;
    form.finish()?;
    crate::resources::customer::get(store, &customer)?;
    let pm = get(store, id)?;
    match &pm.customer {
        Some(current) if *current == customer => {}
        Some(_) => {
            return Err(ApiError::invalid(
                "payment_method_unexpected_state",
                "The payment method you provided has already been attached to a customer.",
            ))
        }
        None if pm.consumed => {
            return Err(ApiError::invalid(
                "payment_method_unexpected_state",
                "This PaymentMethod was previously used without being attached to a Customer or was detached from a Customer, and may not be used again.",
            ))
        }
        None => {}
    }
    let pm = get_mut(store, id)?;
    pm.customer = Some(customer);
    pm.json()
}

/// `POST /v1/payment_methods/:id/detach`: the PaymentMethod can never be used again.
pub fn detach(store: &mut Store, id: &str, form: Form) -> ApiResult<Value> {
    form.finish()?;
    let pm = get(store, id)?;
    if pm.customer.is_none() {
        return Err(ApiError::invalid(
            "payment_method_unexpected_state",
            "The payment method you provided is not attached to a customer so detachment is impossible.",
        ));
    }
    let pm = get_mut(store, id)?;
    pm.customer = None;
    pm.consumed = true;
    pm.set_up_for_off_session = false;
    pm.json()
}

/// `GET /v1/payment_methods?customer=…` and `GET /v1/customers/:id/payment_methods`.
pub fn list(store: &Store, customer: &str, mut form: Form, url: &str) -> ApiResult<Value> {
    crate::resources::customer::get(store, customer)?;
    if let Some(kind) = form.take_str("type")? {
        if kind != "card" {
            return Err(ApiError::invalid_value(
                "type",
                format!("Invalid type: {kind}"),
            ));
        }
    }
    let page = super::list::Page::take(&mut form)?;
    form.finish()?;
    let mut items: Vec<&PaymentMethod> = store
        .payment_methods
        .values()
        .filter(|pm| pm.customer.as_deref() == Some(customer))
        .collect();
    items.sort_by_key(|pm| std::cmp::Reverse(pm.seq));
    let rendered = items
        .into_iter()
        .map(|pm| Ok((pm.id.clone(), pm.json()?)))
        .collect::<ApiResult<Vec<_>>>()?;
    page.render(url, rendered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_map_to_calendar_months() {
        assert_eq!(year_month(0), (1970, 1));
        assert_eq!(year_month(1_795_000_000), (2026, 11)); // 2026-11-18
        assert_eq!(year_month(951_782_400), (2000, 2)); // 2000-02-29
    }
}
