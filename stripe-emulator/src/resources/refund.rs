//! Refunds of a succeeded PaymentIntent's charge, in full or in part.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::form::Form;
use crate::ids;
use crate::resources::{charge, fresh_metadata, metadata_json, payment_intent};
use crate::shape::through_model;
use crate::store::Store;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refund {
    pub id: String,
    pub seq: u64,
    pub created: i64,
    pub amount: i64,
    pub charge: String,
    pub currency: String,
    pub customer: Option<String>,
    pub payment_intent: String,
    pub payment_method: String,
    #[serde(with = "crate::persist::optional_static_str")]
    pub reason: Option<crate::persist::Literal>,
    pub metadata: BTreeMap<String, String>,
    pub balance_transaction: String,
}

impl Refund {
    pub fn json(&self) -> ApiResult<Value> {
        let draft = json!({
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "balance_transaction": self.balance_transaction,
            "charge": self.charge,
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "customer_account": null,
            "destination_details": {
                "card": { "reference_status": "pending", "reference_type": "acquirer_reference_number", "type": "refund" },
                "type": "card",
            },
            "metadata": metadata_json(&self.metadata),
            "payment_intent": self.payment_intent,
            "payment_method": self.payment_method,
            "reason": self.reason,
            "receipt_number": null,
            "source_transfer_reversal": null,
            "status": "succeeded",
            "transfer_reversal": null,
        });
        through_model::<stripe_shared::Refund>(&draft)
    }
}

pub fn get<'a>(store: &'a Store, id: &str) -> ApiResult<&'a Refund> {
    store
        .refunds
        .get(id)
        .ok_or_else(|| ApiError::resource_missing("refund", id, "refund"))
}

/// `POST /v1/refunds` with `payment_intent` or `charge`.
pub fn create(store: &mut Store, mut form: Form, now: i64) -> ApiResult<Value> {
    let pi_id = form.take_nonempty("payment_intent")?;
    let charge_id = form.take_nonempty("charge")?;
    let amount = form.take_i64("amount")?;
    let reason = form.take_enum(
        "reason",
        &["duplicate", "fraudulent", "requested_by_customer"],
    )?;
    let metadata = fresh_metadata(form.take_metadata("metadata")?);
    form.finish()?;

    let charge_id = match (pi_id, charge_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_value(
                "charge",
                "You cannot specify both `charge` and `payment_intent`.",
            ))
        }
        (None, None) => return Err(ApiError::parameter_missing("charge")),
        (None, Some(charge_id)) => charge::get(store, &charge_id)?.id.clone(),
        (Some(pi_id), None) => {
            let pi = payment_intent::get(store, &pi_id)?;
            let succeeded_charge = pi
                .latest_charge
                .as_deref()
                .and_then(|c| store.charges.get(c))
                .filter(|c| c.succeeded() && c.captured);
            match succeeded_charge {
                Some(c) => c.id.clone(),
                None => {
                    return Err(ApiError::invalid(
                        "charge_not_refundable",
                        format!(
                        "This PaymentIntent ({pi_id}) does not have a successful charge to refund."
                    ),
                    )
                    .with_param("payment_intent"))
                }
            }
        }
    };
    let charge = charge::get(store, &charge_id)?;
    if !charge.succeeded() || !charge.captured {
        return Err(ApiError::invalid(
            "charge_not_refundable",
            format!("Charge {charge_id} has not been captured and cannot be refunded."),
        ));
    }
    let remaining = charge.amount_captured - charge.amount_refunded;
    if remaining <= 0 {
        return Err(ApiError::invalid(
            "charge_already_refunded",
            format!("Charge {charge_id} has already been refunded."),
        ));
    }
    let amount = amount.unwrap_or(remaining);
    if amount <= 0 {
        return Err(ApiError::invalid_value(
            "amount",
            "Invalid positive integer",
        ));
    }
    if amount > remaining {
        return Err(ApiError::invalid(
            "amount_too_large",
            format!("Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})"),
        )
        .with_param("amount"));
    }
    let (currency, customer, payment_intent, payment_method) = (
        charge.currency.clone(),
        charge.customer.clone(),
        charge.payment_intent.clone(),
        charge.payment_method.clone(),
    );
    let id = ids::new_id("re");
    let seq = store.seq();
    let refund = Refund {
        id: id.clone(),
        seq,
        created: now,
        amount,
        charge: charge_id.clone(),
        currency,
        customer,
        payment_intent,
        payment_method,
        reason,
        metadata,
        balance_transaction: charge::new_balance_transaction(),
    };
    store
        .charges
        .get_mut(&charge_id)
        .ok_or_else(|| ApiError::resource_missing("charge", &charge_id, "charge"))?
        .amount_refunded += amount;
    store.refunds.insert(id.clone(), refund);
    get(store, &id)?.json()
}
