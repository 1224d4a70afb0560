//! Every object the emulator sends is decoded by async-stripe's generated model and
//! re-encoded from it, so it has exactly the model's fields and is known to decode in
//! async-stripe. Then, like Stripe, fields it leaves out by default are dropped: `null`
//! top-level fields a resource does not show (sub-objects of other payment-method types,
//! unexpanded lists), and `null` members of polymorphic holders such as `next_action`.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// Top-level fields each resource always carries (Stripe's fixtures for API 2026-09-30).
const PAYMENT_INTENT_FIELDS: &[&str] = &[
    "amount",
    "amount_capturable",
    "amount_details",
    "amount_received",
    "application",
    "application_fee_amount",
    "automatic_payment_methods",
    "canceled_at",
    "cancellation_reason",
    "capture_method",
    "client_secret",
    "confirmation_method",
    "created",
    "currency",
    "customer",
    "customer_account",
    "description",
    "excluded_payment_method_types",
    "id",
    "last_payment_error",
    "latest_charge",
    "livemode",
    "managed_payments",
    "metadata",
    "next_action",
    "object",
    "on_behalf_of",
    "payment_method",
    "payment_method_configuration_details",
    "payment_method_options",
    "payment_method_types",
    "processing",
    "receipt_email",
    "review",
    "setup_future_usage",
    "shipping",
    "source",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "status",
    "transfer_data",
    "transfer_group",
];
const PAYMENT_METHOD_FIELDS: &[&str] = &[
    "allow_redisplay",
    "billing_details",
    "card",
    "created",
    "customer",
    "customer_account",
    "id",
    "livemode",
    "metadata",
    "object",
    "type",
];
const CUSTOMER_FIELDS: &[&str] = &[
    "address",
    "balance",
    "created",
    "currency",
    "default_source",
    "delinquent",
    "description",
    "discount",
    "email",
    "id",
    "invoice_prefix",
    "invoice_settings",
    "livemode",
    "metadata",
    "name",
    "next_invoice_sequence",
    "object",
    "phone",
    "preferred_locales",
    "shipping",
    "tax_exempt",
    "test_clock",
];
const CHARGE_FIELDS: &[&str] = &[
    "amount",
    "amount_captured",
    "amount_refunded",
    "application",
    "application_fee",
    "application_fee_amount",
    "balance_transaction",
    "billing_details",
    "calculated_statement_descriptor",
    "captured",
    "created",
    "currency",
    "customer",
    "description",
    "disputed",
    "failure_balance_transaction",
    "failure_code",
    "failure_message",
    "fraud_details",
    "id",
    "livemode",
    "metadata",
    "object",
    "on_behalf_of",
    "outcome",
    "paid",
    "payment_intent",
    "payment_method",
    "payment_method_details",
    "receipt_email",
    "receipt_number",
    "receipt_url",
    "refunded",
    "refunds",
    "review",
    "shipping",
    "source",
    "source_transfer",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "status",
    "transfer_data",
    "transfer_group",
];
const REFUND_FIELDS: &[&str] = &[
    "amount",
    "balance_transaction",
    "charge",
    "created",
    "currency",
    "customer",
    "customer_account",
    "destination_details",
    "id",
    "metadata",
    "object",
    "payment_intent",
    "payment_method",
    "reason",
    "receipt_number",
    "source_transfer_reversal",
    "status",
    "transfer_reversal",
];

/// Members whose `null` fields Stripe omits: they hold one variant of many.
const SPARSE_HOLDERS: &[&str] = &[
    "next_action",
    "payment_method_details",
    "last_payment_error",
    "outcome",
];

fn kept_fields(object: &str) -> Option<&'static [&'static str]> {
    match object {
        "payment_intent" => Some(PAYMENT_INTENT_FIELDS),
        "payment_method" => Some(PAYMENT_METHOD_FIELDS),
        "customer" => Some(CUSTOMER_FIELDS),
        "charge" => Some(CHARGE_FIELDS),
        "refund" => Some(REFUND_FIELDS),
        _ => None,
    }
}

/// Decodes `draft` with the async-stripe model `M`, re-encodes it, and trims it as Stripe does.
pub fn through_model<M>(draft: &Value) -> ApiResult<Value>
where
    M: miniserde::Deserialize + serde::Serialize,
{
    let text = draft.to_string();
    let model: M = miniserde::json::from_str(&text).map_err(|_| {
        tracing::error!(draft = %text, "object does not decode in async-stripe's model");
        ApiError::internal("The emulator built an object that does not match Stripe's model.")
    })?;
    let mut value = serde_json::to_value(&model).map_err(|e| ApiError::internal(e.to_string()))?;
    trim(&mut value);
    Ok(value)
}

fn trim(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(kept) = map
                .get("object")
                .and_then(Value::as_str)
                .and_then(kept_fields)
            {
                map.retain(|k, v| !v.is_null() || kept.contains(&k.as_str()));
            }
            for (key, child) in map.iter_mut() {
                if SPARSE_HOLDERS.contains(&key.as_str()) {
                    if let Value::Object(inner) = child {
                        drop_nulls(inner);
                    }
                }
                trim(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(trim),
        _ => {}
    }
}

fn drop_nulls(map: &mut Map<String, Value>) {
    map.retain(|_, v| !v.is_null());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_payment_method_types_are_dropped_but_fixture_fields_stay() {
        let mut v = serde_json::json!({"object": "payment_method", "customer": null, "sepa_debit": null, "card": {"x": null}});
        trim(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"object": "payment_method", "customer": null, "card": {"x": null}})
        );
    }
}
