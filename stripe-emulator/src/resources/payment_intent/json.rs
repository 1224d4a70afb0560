//! An intent as Stripe sends it: built as JSON, then passed through async-stripe's model so
//! the shape is Stripe's.

use serde_json::{json, Value};

use super::model::{PaymentIntent, Status};
use crate::error::ApiResult;
use crate::resources::metadata_json;
use crate::shape::through_model;
use crate::store::Store;

impl PaymentIntent {
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
                let pm = store
                    .payment_methods
                    .get(&e.payment_method)
                    .map(|pm| pm.json())
                    .transpose()?;
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
            "capture_method": self.capture_method.as_str(),
            "client_secret": self.client_secret,
            "confirmation_method": self.confirmation_method.as_str(),
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
