//! An order and its lines: stored by the first request that changes or pays it (a glance
//! stores nothing), in one statement with its lines and, for a payment, its first request
//! and its lease.

use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::lease::{lease_end, Lease, Taking};
use super::sql::Sql;
use super::{now, random_string, status_of, OrderStore, SentRequest, StoreError, StripeCall};
use crate::domain::order::order_total;
use crate::domain::{Catalogue, OrderLine, OrderStatus, OrderSummary};

/// An order as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: String,
    pub reference: String,
    pub status: OrderStatus,
    pub currency: String,
    pub lines: Vec<OrderLine>,
    pub payment_intent_id: Option<String>,
    pub attempt: i64,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    /// A Stripe POST sent without its answer known (see [`requests`]).
    pub request: Option<SentRequest>,
    /// Where the search for a lost create's intent stopped.
    pub lookup_cursor: Option<String>,
    /// The refund of a payment that did not match the order (needs_review).
    pub review_refund: Option<String>,
    pub last_error: Option<String>,
    /// What Stripe holds of the payment, as last read from it.
    pub amount_captured: i64,
    pub amount_refunded: i64,
    /// The shopper's Stripe Customer, when the payment saves a card or uses a saved one.
    pub customer_id: Option<String>,
    /// A repeat order the merchant charged without the shopper: the order it repeats, and
    /// the saved card it charges.
    pub repeat_of: Option<String>,
    pub off_session_payment_method: Option<String>,
    /// Why the order needs the merchant, if it does.
    pub attention: Option<String>,
    /// When the reconciler next looks at it, and how often it found it unchanged.
    pub next_check_at: Option<i64>,
    pub checks: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Order {
    pub fn summary(&self) -> OrderSummary {
        OrderSummary {
            reference: self.reference.clone(),
            lines: self.lines.clone(),
            amount: order_total(&self.lines).unwrap_or(0),
            currency: self.currency.clone(),
            status: self.status,
        }
    }

    /// The order a browser sees before it changes anything: nothing is stored for a glance.
    pub fn unsaved(id: &str, catalogue: &Catalogue) -> Order {
        let product = catalogue.default_product();
        let t = now();
        Order {
            id: id.to_owned(),
            reference: reference_for(id),
            status: OrderStatus::Open,
            currency: catalogue.currency.clone(),
            lines: vec![OrderLine {
                product_id: product.id.clone(),
                name: product.name.clone(),
                quantity: 1,
                unit_amount: product.unit_amount,
            }],
            payment_intent_id: None,
            attempt: 0,
            card_brand: None,
            card_last4: None,
            request: None,
            lookup_cursor: None,
            review_refund: None,
            last_error: None,
            amount_captured: 0,
            amount_refunded: 0,
            customer_id: None,
            repeat_of: None,
            off_session_payment_method: None,
            attention: None,
            next_check_at: None,
            checks: 0,
            created_at: t,
            updated_at: t,
        }
    }
}

/// A new order id; the order is stored only when the shopper first changes or pays it.
pub fn new_order_id() -> String {
    format!(
        "ord_{}",
        random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 20)
    )
}

/// Shopper-facing reference derived from the order id (so a page can show it before the
/// order is stored): 8 characters without look-alikes (no 0/O, 1/I).
pub fn reference_for(order_id: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let digest = Sha256::digest(order_id.as_bytes());
    let s: String = digest
        .iter()
        .take(8)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    format!("{}-{}", &s[..4], &s[4..])
}

pub(crate) const ORDER_COLUMNS: &str = "id, reference, status, currency, payment_intent_id, attempt, card_brand, card_last4, request_key, request_call,
    request_sent_at, lookup_cursor, review_refund, last_error, amount_captured, amount_refunded, customer_id, repeat_of,
    off_session_payment_method, attention, next_check_at, checks, created_at, updated_at";

/// An order from a row of [`ORDER_COLUMNS`] and its lines.
pub(crate) fn order_from_row(row: &AnyRow, lines: Vec<OrderLine>) -> Result<Order, StoreError> {
    let id: String = row.get("id");
    let status = status_of(&id, row.get("status"))?;
    Ok(Order {
        reference: row.get("reference"),
        status,
        currency: row.get("currency"),
        lines,
        payment_intent_id: row.get("payment_intent_id"),
        attempt: row.get("attempt"),
        card_brand: row.get("card_brand"),
        card_last4: row.get("card_last4"),
        request: SentRequest::from_row(row)?,
        lookup_cursor: row.get("lookup_cursor"),
        review_refund: row.get("review_refund"),
        last_error: row.get("last_error"),
        amount_captured: row.get("amount_captured"),
        amount_refunded: row.get("amount_refunded"),
        customer_id: row.get("customer_id"),
        repeat_of: row.get("repeat_of"),
        off_session_payment_method: row.get("off_session_payment_method"),
        attention: row.get("attention"),
        next_check_at: row.get("next_check_at"),
        checks: row.get("checks"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        id,
    })
}

/// A new order's lines as migration 6's trigger reads them from `orders.new_lines`: a JSON
/// array, in the cart's order (the trigger numbers their positions); none for no lines.
pub(crate) fn lines_json(lines: &[OrderLine]) -> Option<String> {
    if lines.is_empty() {
        return None;
    }
    let lines: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::json!({"product_id": l.product_id, "name": l.name, "quantity": l.quantity, "unit_amount": l.unit_amount}))
        .collect();
    Some(serde_json::Value::Array(lines).to_string())
}

/// Stores a new order: its lines with it (a trigger stores them, migration 6, so no
/// transaction is needed to keep them together), its first request if it has one, leased to
/// `lease` until `until` if given.
fn insert_new_order(
    order: &Order,
    lease: Option<(&Lease, i64)>,
    next_check_at: Option<i64>,
) -> Sql {
    let request = order.request.as_ref();
    Sql::new(
        "INSERT INTO orders (id, reference, status, currency, created_at, updated_at, lease_token, lease_expires_at, attempt,
            request_key, request_call, request_sent_at, customer_id, next_check_at, new_lines)
         VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&order.id)
    .bind(&order.reference)
    .bind(&order.currency)
    .bind(order.created_at)
    .bind(order.updated_at)
    .bind(lease.map(|(l, _)| l.token().to_owned()))
    .bind(lease.map(|(_, until)| until))
    .bind(order.attempt)
    .bind(request.map(|r| r.key.clone()))
    .bind(request.map(SentRequest::call_json))
    .bind(request.map(|r| r.sent_at))
    .bind(order.customer_id.clone())
    .bind(next_check_at)
    .bind(lines_json(&order.lines))
}

impl OrderStore {
    /// Stores the order `id` with the default cart, unless it is stored already (concurrent
    /// first requests of one browser store it once).
    pub async fn open_order(&self, id: &str, catalogue: &Catalogue) -> Result<(), StoreError> {
        // Stored already (every pay after the first change): one read instead of a write.
        if Sql::new("SELECT 1 FROM orders WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .is_some()
        {
            return Ok(());
        }
        self.store_new(&Order::unsaved(id, catalogue)).await?;
        Ok(())
    }

    /// Takes the lease on the order `id` (see [`OrderStore::take_lease`]), storing the order
    /// first, already leased, if this is its first change; a new order is then returned as
    /// stored (nothing else can change it under the lease). `first_request` names the
    /// create-and-confirm the caller sends first for a new order, if any: it is recorded with
    /// the order (see [`requests`]), as attempt 1. `None` when another holder has the lease.
    ///
    /// One statement either way: an INSERT whose conflict takes the lease instead. Each way
    /// writes its own token, so the token it returns says which way it went.
    pub async fn open_leased(
        &self,
        id: &str,
        catalogue: &Catalogue,
        lease: Duration,
        first_request: impl FnOnce(&Order) -> Option<SentRequest>,
    ) -> Result<Option<(Lease, Option<Order>)>, StoreError> {
        let mut order = Order::unsaved(id, catalogue);
        if let Some(request) = first_request(&order) {
            order.attempt = 1;
            if let StripeCall::Create { customer, .. } = &request.call {
                order.customer_id = customer.clone();
            }
            order.next_check_at = Some(self.watch.soon());
            order.request = Some(request);
        }
        let (stored, leased) = (Lease::new(id), Lease::new(id));
        let sql = insert_new_order(&order, Some((&stored, lease_end(lease))), order.next_check_at)
            .push(" ON CONFLICT (id) DO UPDATE SET lease_token = ?, lease_expires_at = excluded.lease_expires_at WHERE ")
            .bind(leased.token())
            .join(Taking::Free.condition(now()))
            .push(" RETURNING lease_token");
        let Some(row) = sql.fetch_optional(&self.pool).await? else {
            // Stored and leased: free only if its holder's lease ran out.
            return Ok(self.take_lease(id, lease).await?.map(|lease| (lease, None)));
        };
        match row.get::<String, _>("lease_token") {
            token if token == stored.token() => Ok(Some((self.held(stored), Some(order)))),
            token if token == leased.token() => Ok(Some((self.held(leased), None))),
            _ => Err(StoreError::LeaseLost(id.to_owned())),
        }
    }

    /// Stores a new order and its lines, unleased; false (and nothing written) when an order
    /// of that id is stored already.
    pub(super) async fn store_new(&self, order: &Order) -> Result<bool, StoreError> {
        let inserted = insert_new_order(order, None, None)
            .push(" ON CONFLICT (id) DO NOTHING")
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(inserted == 1)
    }

    /// The order and its lines, in one query (a row per line; the order's columns repeat).
    pub async fn get(&self, id: &str) -> Result<Option<Order>, StoreError> {
        let sql = Sql::new(&format!(
            "SELECT {ORDER_COLUMNS}, l.product_id, l.name, l.quantity, l.unit_amount
             FROM orders LEFT JOIN order_lines l ON l.order_id = orders.id WHERE orders.id = ? ORDER BY l.position, l.product_id"
        ))
        .bind(id);
        let rows = sql.fetch_all(&self.pool).await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let lines = rows
            .iter()
            .filter_map(|r| {
                Some(OrderLine {
                    product_id: r.get::<Option<String>, _>("product_id")?,
                    name: r.get("name"),
                    quantity: r.get("quantity"),
                    unit_amount: r.get("unit_amount"),
                })
            })
            .collect();
        order_from_row(first, lines).map(Some)
    }

    pub(crate) async fn lines_of(&self, order_id: &str) -> Result<Vec<OrderLine>, StoreError> {
        let rows = Sql::new("SELECT product_id, name, quantity, unit_amount FROM order_lines WHERE order_id = ? ORDER BY position, product_id")
            .bind(order_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| OrderLine {
                product_id: r.get("product_id"),
                name: r.get("name"),
                quantity: r.get("quantity"),
                unit_amount: r.get("unit_amount"),
            })
            .collect())
    }
}
