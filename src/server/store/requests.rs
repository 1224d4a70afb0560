//! The Stripe POST about an order that went out without its answer known. It is recorded,
//! with its idempotency key, before it is sent; it is settled only by replaying that key
//! (Stripe then answers the first request's result, or 409 while it still runs), or, once
//! Stripe no longer keeps the key, by what Stripe holds. While it is recorded no other POST
//! starts on the order, the cart is frozen, and no outcome learnt by reading may be written
//! (see `answered` in the writes of `mod.rs`): a request can execute at Stripe after a read.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::lease::Lease;
use super::sql::Sql;
use super::{now, OrderStore, StoreError, NOTHING_UNSETTLED};

/// What a recorded request asked Stripe to do: enough to send exactly the same request again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StripeCall {
    /// The guide's first call: create the order's intent and confirm it with this card.
    Create {
        payment_method: String,
        amount: i64,
        customer: Option<String>,
        save_card: bool,
    },
    /// The intent's amount, after the cart changed following a decline.
    Update {
        payment_intent: String,
        amount: i64,
    },
    /// Confirm the intent with another card.
    Confirm {
        payment_intent: String,
        payment_method: String,
    },
    /// Confirm again after 3-D Secure.
    Reconfirm {
        payment_intent: String,
    },
    /// Cancel an intent that took no money and whose terms (customer, saving the card) changed.
    CancelUnused {
        payment_intent: String,
    },
    /// Give back a payment that did not match its order: a refund, or an authorisation released.
    ReviewRefund {
        payment_intent: String,
    },
    ReviewRelease {
        payment_intent: String,
    },
    /// The back office's actions, each under its confirmation's one-time key.
    Capture {
        payment_intent: String,
        amount: i64,
        action: String,
    },
    Release {
        payment_intent: String,
        action: String,
    },
    Refund {
        payment_intent: String,
        amount: i64,
        action: String,
    },
    /// Sent by a version that did not record its requests (a confirm left in doubt): only
    /// its time is known, so only Stripe's pruning of its key settles it.
    Unknown,
}

impl StripeCall {
    /// The back-office action the request belongs to, if any.
    pub fn action(&self) -> Option<&str> {
        match self {
            StripeCall::Capture { action, .. }
            | StripeCall::Release { action, .. }
            | StripeCall::Refund { action, .. } => Some(action),
            _ => None,
        }
    }
}

/// A request recorded on its order: its key, what it asked, and when it was sent (Unix
/// seconds on Stripe's clock, as this server last read it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRequest {
    pub key: String,
    pub call: StripeCall,
    pub sent_at: i64,
}

impl SentRequest {
    pub(super) fn from_row(row: &sqlx::any::AnyRow) -> Result<Option<SentRequest>, StoreError> {
        let Some(key) = row.get::<Option<String>, _>("request_key") else {
            return Ok(None);
        };
        let text: String = row
            .get::<Option<String>, _>("request_call")
            .unwrap_or_default();
        let call = serde_json::from_str(&text)
            .map_err(|e| StoreError::Unreadable(key.clone(), e.to_string()))?;
        Ok(Some(SentRequest {
            key,
            call,
            sent_at: row.get::<Option<i64>, _>("request_sent_at").unwrap_or(0),
        }))
    }

    pub(super) fn call_json(&self) -> String {
        serde_json::to_string(&self.call).expect("a StripeCall is plain data")
    }
}

impl OrderStore {
    /// Records `request` as sent (before it is), under the lease, unless another request is
    /// still unsettled on the order: then `Unsettled`, and nothing is sent. `attempt` is the
    /// new attempt number when the request's key counts attempts. The reconciler looks at the
    /// order once the grace has passed, in case this server never gets the answer.
    pub async fn record_request(
        &self,
        lease: &Lease,
        attempt: Option<i64>,
        request: &SentRequest,
    ) -> Result<(), StoreError> {
        let customer = match &request.call {
            StripeCall::Create { customer, .. } => customer.clone(),
            _ => None,
        };
        let sql = Sql::new("UPDATE orders SET request_key = ?, request_call = ?, request_sent_at = ?, lookup_cursor = NULL,")
            .bind(&request.key)
            .bind(request.call_json())
            .bind(request.sent_at)
            .push(" attempt = COALESCE(?, attempt), customer_id = COALESCE(?, customer_id), next_check_at = ?, checks = 0")
            .bind(attempt)
            .bind(customer)
            .bind(self.watch.soon())
            .push(" WHERE request_key IS NULL")
            .join(lease.holds());
        if self.write(lease, sql).await? {
            return Ok(());
        }
        Err(StoreError::Unsettled(lease.order_id.clone()))
    }

    /// The request `key` was answered (whatever the answer): it is no longer recorded. The
    /// reconciler reads the order after the grace, unless what the answer says is written
    /// first (it then schedules the order itself).
    pub async fn answered(&self, lease: &Lease, key: &str) -> Result<(), StoreError> {
        let sql = Sql::new("UPDATE orders SET request_key = NULL, request_call = NULL, request_sent_at = NULL, lookup_cursor = NULL,")
            .push(" next_check_at = ?, checks = 0 WHERE request_key = ?")
            .bind(self.watch.soon())
            .bind(key)
            .join(lease.holds());
        self.write(lease, sql).await?;
        Ok(())
    }

    /// Where the search for a lost create's intent stopped: the last intent read.
    pub async fn save_lookup_cursor(&self, lease: &Lease, cursor: &str) -> Result<(), StoreError> {
        let sql = Sql::new("UPDATE orders SET lookup_cursor = ? WHERE request_key IS NOT NULL")
            .bind(cursor)
            .join(lease.holds());
        if self.write(lease, sql).await? {
            Ok(())
        } else {
            Err(StoreError::Unsettled(lease.order_id.clone()))
        }
    }

    /// Binds the order to its PaymentIntent. With `answered`, the recorded request of that key
    /// is answered by it, in the same statement (a create's answer names the intent it made:
    /// the binding and the answer are one fact). Refused, loudly, when the order is bound to
    /// another intent.
    pub async fn attach_intent(
        &self,
        lease: &Lease,
        payment_intent_id: &str,
        answered: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut sql = Sql::new("UPDATE orders SET payment_intent_id = ?, updated_at = ?")
            .bind(payment_intent_id)
            .bind(now());
        sql = match answered {
            Some(key) => sql
                .push(", request_key = NULL, request_call = NULL, request_sent_at = NULL, lookup_cursor = NULL WHERE request_key = ?")
                .bind(key),
            None => sql.push(&format!(" WHERE true{NOTHING_UNSETTLED}")),
        };
        let sql = sql
            .push(" AND (payment_intent_id IS NULL OR payment_intent_id = ?)")
            .bind(payment_intent_id)
            .join(lease.holds());
        if self.write(lease, sql).await? {
            return Ok(());
        }
        match self
            .get(&lease.order_id)
            .await?
            .and_then(|o| o.payment_intent_id)
        {
            Some(bound) if bound != payment_intent_id => Err(StoreError::OtherIntent {
                order_id: lease.order_id.clone(),
                bound,
                offered: payment_intent_id.to_owned(),
            }),
            _ => Err(StoreError::Unsettled(lease.order_id.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StripeCall;

    #[test]
    fn a_call_is_kept_as_json_that_reads_back_the_same() {
        let calls = [
            StripeCall::Create {
                payment_method: "pm_1".into(),
                amount: 1450,
                customer: Some("cus_1".into()),
                save_card: true,
            },
            StripeCall::Refund {
                payment_intent: "pi_1".into(),
                amount: 500,
                action: "K".into(),
            },
            StripeCall::Unknown,
        ];
        for call in calls {
            let text = serde_json::to_string(&call).unwrap();
            assert_eq!(
                serde_json::from_str::<StripeCall>(&text).unwrap(),
                call,
                "{text}"
            );
        }
        // As migration 7 writes a create that was pending before it.
        let migrated = r#"{"kind":"create","payment_method":"pm_x","amount":1450,"customer":null,"save_card":false}"#;
        assert_eq!(
            serde_json::from_str::<StripeCall>(migrated).unwrap(),
            StripeCall::Create {
                payment_method: "pm_x".into(),
                amount: 1450,
                customer: None,
                save_card: false
            }
        );
    }
}
