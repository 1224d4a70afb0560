//! Charges: one per payment attempt that reached the card network, successful or failed,
//! referenced by the PaymentIntent's `latest_charge`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::cards::Decline;
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::resources::metadata_json;
use crate::resources::payment_method::{BillingDetails, Card};
use crate::shape::through_model;
use crate::store::Store;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Charge {
    pub id: String,
    pub seq: u64,
    pub created: i64,
    pub amount: i64,
    pub amount_captured: i64,
    pub amount_refunded: i64,
    pub captured: bool,
    pub currency: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub payment_intent: String,
    pub payment_method: String,
    pub card: Card,
    pub billing_details: BillingDetails,
    pub receipt_email: Option<String>,
    /// `None` for a successful charge.
    pub failure: Option<Decline>,
    pub authenticated: bool,
    pub balance_transaction: Option<String>,
}

impl Charge {
    pub fn succeeded(&self) -> bool {
        self.failure.is_none()
    }

    pub fn json(&self, store: &Store) -> ApiResult<Value> {
        let outcome = match self.failure {
            None => json!({
                "network_status": "approved_by_network",
                "reason": null,
                "risk_level": "normal",
                "risk_score": 32,
                "seller_message": "Payment complete.",
                "type": "authorized",
            }),
            Some(decline) => json!({
                "network_status": "declined_by_network",
                "reason": decline.decline_code(),
                "risk_level": "normal",
                "risk_score": 32,
                "seller_message": "The bank did not return any further details with this decline.",
                "type": "issuer_declined",
            }),
        };
        let mut card = self.card.details_json();
        let Some(card_map) = card.as_object_mut() else {
            return Err(ApiError::internal("card details are not an object"));
        };
        for key in [
            "display_brand",
            "generated_from",
            "networks",
            "three_d_secure_usage",
        ] {
            card_map.remove(key);
        }
        card_map.insert(
            "amount_authorized".into(),
            if self.succeeded() {
                json!(self.amount)
            } else {
                Value::Null
            },
        );
        card_map.insert("network".into(), json!(self.card.brand));
        card_map.insert("network_token".into(), json!({ "used": false }));
        card_map.insert(
            "three_d_secure".into(),
            if self.authenticated {
                json!({ "authentication_flow": "challenge", "result": "authenticated", "result_reason": null, "version": "2.2.0" })
            } else {
                Value::Null
            },
        );
        let refunds: Vec<Value> = {
            let mut refunds: Vec<_> = store
                .refunds
                .values()
                .filter(|r| r.charge == self.id)
                .collect();
            refunds.sort_by_key(|r| std::cmp::Reverse(r.seq));
            refunds
                .into_iter()
                .map(|r| r.json())
                .collect::<ApiResult<_>>()?
        };
        let draft = json!({
            "id": self.id,
            "object": "charge",
            "amount": self.amount,
            "amount_captured": self.amount_captured,
            "amount_refunded": self.amount_refunded,
            "application": null,
            "application_fee": null,
            "application_fee_amount": null,
            "balance_transaction": self.balance_transaction,
            "billing_details": self.billing_details.json(),
            "calculated_statement_descriptor": "EMULATED STRIPE",
            "captured": self.captured,
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "description": self.description,
            "disputed": false,
            "failure_balance_transaction": null,
            "failure_code": self.failure.map(|d| d.code()),
            "failure_message": self.failure.map(|d| d.message()),
            "fraud_details": {},
            "livemode": false,
            "metadata": metadata_json(&self.metadata),
            "on_behalf_of": null,
            "outcome": outcome,
            "paid": self.succeeded(),
            "payment_intent": self.payment_intent,
            "payment_method": self.payment_method,
            "payment_method_details": { "card": card, "type": "card" },
            "receipt_email": self.receipt_email,
            "receipt_number": null,
            "receipt_url": format!("https://pay.stripe.com/receipts/payment/{}", self.id),
            "refunded": self.amount_refunded > 0 && self.amount_refunded >= self.amount_captured,
            "refunds": {
                "object": "list",
                "data": refunds,
                "has_more": false,
                "url": format!("/v1/charges/{}/refunds", self.id),
            },
            "review": null,
            "shipping": null,
            "source": null,
            "source_transfer": null,
            "statement_descriptor": null,
            "statement_descriptor_suffix": null,
            "status": if self.succeeded() { "succeeded" } else { "failed" },
            "transfer_data": null,
            "transfer_group": null,
        });
        through_model::<stripe_shared::Charge>(&draft)
    }
}

pub fn get<'a>(store: &'a Store, id: &str) -> ApiResult<&'a Charge> {
    store
        .charges
        .get(id)
        .ok_or_else(|| ApiError::resource_missing("charge", id, "charge"))
}

pub fn new_balance_transaction() -> String {
    ids::new_id("txn")
}
