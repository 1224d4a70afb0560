//! What the merchant back office stores: its sessions, the list of orders, and one row per
//! confirmed action so a double submit does it once.

use sqlx::Row;

use crate::domain::OrderStatus;
use crate::server::store::order::{lines_json, order_from_row, ORDER_COLUMNS};
use crate::server::store::sql::Sql;
use crate::server::store::{now, reference_for, Order, OrderStore, StoreError};

/// What a back-office action does to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Capture,
    Cancel,
    Refund,
    ChargeAgain,
}

impl ActionKind {
    pub const ALL: [ActionKind; 4] = [
        ActionKind::Capture,
        ActionKind::Cancel,
        ActionKind::Refund,
        ActionKind::ChargeAgain,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Capture => "capture",
            ActionKind::Cancel => "cancel",
            ActionKind::Refund => "refund",
            ActionKind::ChargeAgain => "charge_again",
        }
    }

    pub fn parse(s: &str) -> Option<ActionKind> {
        ActionKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where an action stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionState {
    /// Not finished: (still) to be run. Running it again is safe: its Stripe call carries
    /// the action's idempotency key.
    Running,
    /// Finished: what it did, or why it was refused.
    Done(String),
    Refused(String),
}

/// Which orders the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderFilter {
    All,
    Status(OrderStatus),
    /// The ones the reconciler could not settle on its own.
    NeedsMerchant,
}

/// A page of the order list.
pub struct OrderPage {
    pub orders: Vec<Order>,
    pub has_more: bool,
}

impl OrderStore {
    /// Orders newest first, all, of one status, or needing the merchant; `page` counts from 0.
    pub async fn list_orders(
        &self,
        filter: OrderFilter,
        page: i64,
        per_page: i64,
    ) -> Result<OrderPage, StoreError> {
        let sql = match filter {
            OrderFilter::All => Sql::new(&format!("SELECT {ORDER_COLUMNS} FROM orders")),
            OrderFilter::Status(status) => Sql::new(&format!(
                "SELECT {ORDER_COLUMNS} FROM orders WHERE status = ?"
            ))
            .bind(status.as_str()),
            OrderFilter::NeedsMerchant => Sql::new(&format!(
                "SELECT {ORDER_COLUMNS} FROM orders WHERE attention IS NOT NULL"
            )),
        };
        let sql = sql
            .push(" ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?")
            .bind(per_page + 1)
            .bind(page.max(0) * per_page);
        let rows = sql.fetch_all(&self.pool).await?;
        let has_more = rows.len() as i64 > per_page;
        let mut orders = Vec::with_capacity(rows.len());
        for row in rows.iter().take(per_page as usize) {
            let id: String = row.get("id");
            orders.push(order_from_row(row, self.lines_of(&id).await?)?);
        }
        Ok(OrderPage { orders, has_more })
    }

    /// How many repeat orders were made of `order_id` (charged again from the back office).
    pub async fn repeat_count(&self, order_id: &str) -> Result<i64, StoreError> {
        let row = Sql::new("SELECT COUNT(*) AS n FROM orders WHERE repeat_of = ?")
            .bind(order_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get("n"))
    }

    /// Stores a repeat of `source` (same lines, prices and customer) to be charged to a saved
    /// card without the shopper; once per id. One statement, its lines with it (migration 6).
    pub async fn open_repeat_order(
        &self,
        id: &str,
        source: &Order,
        payment_method_id: &str,
    ) -> Result<(), StoreError> {
        let t = now();
        sqlx::query(
            "INSERT INTO orders (id, reference, status, currency, customer_id, repeat_of, off_session_payment_method, created_at, updated_at, new_lines)
             VALUES ($1, $2, 'open', $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(reference_for(id))
        .bind(&source.currency)
        .bind(&source.customer_id)
        .bind(&source.id)
        .bind(payment_method_id)
        .bind(t)
        .bind(t)
        .bind(lines_json(&source.lines))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Says on the order why its last payment failed, in the merchant's words.
    pub async fn set_last_error(&self, order_id: &str, message: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE orders SET last_error = $1 WHERE id = $2")
            .bind(message)
            .bind(order_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn open_merchant_session(
        &self,
        token_hash: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM merchant_sessions WHERE expires_at < $1")
            .bind(now())
            .execute(&self.pool)
            .await?;
        sqlx::query("INSERT INTO merchant_sessions (token_hash, expires_at) VALUES ($1, $2)")
            .bind(token_hash)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn merchant_session_open(&self, token_hash: &str) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 FROM merchant_sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    pub async fn close_merchant_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM merchant_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records an action under its one-time key, unless that key was used already; either
    /// way, where the key's action stands. A key reused for another order or action is refused.
    pub async fn begin_action(
        &self,
        key: &str,
        order_id: &str,
        kind: ActionKind,
        amount: Option<i64>,
    ) -> Result<Option<ActionState>, StoreError> {
        sqlx::query(
            "INSERT INTO merchant_actions (action_key, order_id, kind, amount, outcome, created_at) VALUES ($1, $2, $3, $4, 'running', $5)
             ON CONFLICT (action_key) DO NOTHING",
        )
        .bind(key)
        .bind(order_id)
        .bind(kind.as_str())
        .bind(amount)
        .bind(now())
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(
            "SELECT order_id, kind, amount FROM merchant_actions WHERE action_key = $1",
        )
        .bind(key)
        .fetch_one(&self.pool)
        .await?;
        let same = row.get::<String, _>("order_id") == order_id
            && row.get::<String, _>("kind") == kind.as_str()
            && row.get::<Option<i64>, _>("amount") == amount;
        if !same {
            return Ok(None);
        }
        self.action_state(key).await
    }

    pub async fn action_state(&self, key: &str) -> Result<Option<ActionState>, StoreError> {
        let row =
            sqlx::query("SELECT outcome, message FROM merchant_actions WHERE action_key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|row| {
            let message: Option<String> = row.get("message");
            match row.get::<String, _>("outcome").as_str() {
                "done" => ActionState::Done(message.unwrap_or_default()),
                "refused" => ActionState::Refused(message.unwrap_or_default()),
                _ => ActionState::Running,
            }
        }))
    }

    /// Finishes a running action (once: a second finish changes nothing).
    pub async fn finish_action(&self, key: &str, state: &ActionState) -> Result<(), StoreError> {
        let (outcome, message) = match state {
            ActionState::Done(m) => ("done", m.as_str()),
            ActionState::Refused(m) => ("refused", m.as_str()),
            ActionState::Running => return Ok(()),
        };
        sqlx::query("UPDATE merchant_actions SET outcome = $1, message = $2 WHERE action_key = $3 AND outcome = 'running'")
            .bind(outcome)
            .bind(message)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
