//! Customers: create, retrieve, update. Saved cards hang off them via PaymentMethod attach.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::form::Form;
use crate::ids;
use crate::resources::{fresh_metadata, merge_metadata, metadata_json, payment_method};
use crate::shape::through_model;
use crate::store::Store;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    pub seq: u64,
    pub created: i64,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub default_payment_method: Option<String>,
    pub invoice_prefix: String,
}

impl Customer {
    pub fn json(&self) -> ApiResult<Value> {
        let draft = json!({
            "id": self.id,
            "object": "customer",
            "address": null,
            "balance": 0,
            "created": self.created,
            "currency": null,
            "default_source": null,
            "delinquent": false,
            "description": self.description,
            "discount": null,
            "email": self.email,
            "invoice_prefix": self.invoice_prefix,
            "invoice_settings": {
                "custom_fields": null,
                "default_payment_method": self.default_payment_method,
                "footer": null,
                "rendering_options": null,
            },
            "livemode": false,
            "metadata": metadata_json(&self.metadata),
            "name": self.name,
            "next_invoice_sequence": 1,
            "phone": self.phone,
            "preferred_locales": [],
            "shipping": null,
            "tax_exempt": "none",
            "test_clock": null,
        });
        through_model::<stripe_shared::Customer>(&draft)
    }
}

fn get_mut<'a>(store: &'a mut Store, id: &str) -> ApiResult<&'a mut Customer> {
    store
        .customers
        .get_mut(id)
        .ok_or_else(|| ApiError::resource_missing("customer", id, "customer"))
}

pub fn get<'a>(store: &'a Store, id: &str) -> ApiResult<&'a Customer> {
    store
        .customers
        .get(id)
        .ok_or_else(|| ApiError::resource_missing("customer", id, "customer"))
}

struct Changes {
    email: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    description: Option<String>,
    metadata: Option<BTreeMap<String, String>>,
    default_payment_method: Option<String>,
}

fn take_changes(form: &mut Form) -> ApiResult<Changes> {
    let changes = Changes {
        email: form.take_str("email")?,
        name: form.take_str("name")?,
        phone: form.take_str("phone")?,
        description: form.take_str("description")?,
        metadata: form.take_metadata("metadata")?,
        default_payment_method: match form.take_form("invoice_settings")? {
            Some(mut settings) => {
                let pm = settings.take_str("default_payment_method")?;
                settings.finish()?;
                pm
            }
            None => None,
        },
    };
    if let Some(email) = changes.email.as_deref().filter(|e| !e.is_empty()) {
        if email.len() > 512 || !email.contains('@') {
            return Err(ApiError::invalid(
                "email_invalid",
                format!("Invalid email address: {email}"),
            )
            .with_param("email"));
        }
    }
    Ok(changes)
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

/// `POST /v1/customers`.
pub fn create(store: &mut Store, mut form: Form, now: i64) -> ApiResult<Value> {
    let changes = take_changes(&mut form)?;
    let payment_method = form.take_nonempty("payment_method")?;
    form.finish()?;
    let pm_id = payment_method
        .map(|pm| payment_method::resolve(store, &pm, now))
        .transpose()?;
    let id = ids::new_id("cus");
    let seq = store.seq();
    let customer = Customer {
        invoice_prefix: id[4..12].to_uppercase(),
        id: id.clone(),
        seq,
        created: now,
        email: non_empty(changes.email),
        name: non_empty(changes.name),
        phone: non_empty(changes.phone),
        description: non_empty(changes.description),
        metadata: fresh_metadata(changes.metadata),
        default_payment_method: None,
    };
    store.customers.insert(id.clone(), customer);
    if let Some(pm_id) = pm_id {
        payment_method::attach(
            store,
            &pm_id,
            Form::parse(format!("customer={id}").as_bytes())?,
        )?;
    }
    if let Some(default) = non_empty(changes.default_payment_method) {
        set_default(store, &id, default)?;
    }
    get(store, &id)?.json()
}

fn set_default(store: &mut Store, customer: &str, pm: String) -> ApiResult<()> {
    let attached = payment_method::get(store, &pm)?.customer.as_deref() == Some(customer);
    if !attached {
        return Err(ApiError::invalid_value(
            "invoice_settings[default_payment_method]",
            format!("The customer does not have a payment method with the ID {pm}. The payment method must be attached to the customer."),
        ));
    }
    get_mut(store, customer)?.default_payment_method = Some(pm);
    Ok(())
}

/// `POST /v1/customers/:id`.
pub fn update(store: &mut Store, id: &str, mut form: Form) -> ApiResult<Value> {
    get(store, id)?;
    let changes = take_changes(&mut form)?;
    form.finish()?;
    if let Some(default) = changes.default_payment_method.clone() {
        if default.is_empty() {
            get_mut(store, id)?.default_payment_method = None;
        } else {
            set_default(store, id, default)?;
        }
    }
    let customer = get_mut(store, id)?;
    // Stripe: a given field replaces the value; an empty string unsets it.
    if let Some(v) = changes.email {
        customer.email = non_empty(Some(v));
    }
    if let Some(v) = changes.name {
        customer.name = non_empty(Some(v));
    }
    if let Some(v) = changes.phone {
        customer.phone = non_empty(Some(v));
    }
    if let Some(v) = changes.description {
        customer.description = non_empty(Some(v));
    }
    if let Some(metadata) = changes.metadata {
        merge_metadata(&mut customer.metadata, metadata);
    }
    customer.json()
}
