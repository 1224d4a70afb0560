//! The order store: SQLite through sqlx, migrations compiled in and run at start-up.
//! Every status change that matters is a single statement or transaction, so a crash
//! never leaves an order half paid, and fulfilment happens exactly once.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::checkout::order::order_total;
use crate::checkout::{Catalogue, OrderLine, OrderStatus, OrderSummary};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("order {0} has a status this version does not know: {1}")]
    UnknownStatus(String, String),
}

/// The migrations, in order; the SQL lives beside this file.
fn migrator() -> Migrator {
    let migrations = vec![Migration::new(
        1,
        Cow::Borrowed("orders"),
        MigrationType::Simple,
        Cow::Borrowed(include_str!("migrations/0001_orders.sql")),
        false,
    )];
    Migrator { migrations: Cow::Owned(migrations), ..Migrator::DEFAULT }
}

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
    /// A create call that may have reached Stripe without its answer reaching us.
    pub pending_create: Option<PendingCreate>,
}

/// The exact create-and-confirm request of an attempt, kept until its answer is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCreate {
    pub attempt: i64,
    pub payment_method_id: String,
    pub amount: i64,
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
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
}

/// Shopper-facing reference: 8 characters without look-alikes (no 0/O, 1/I).
fn new_reference() -> String {
    let s = random_string(b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789", 8);
    format!("{}-{}", &s[..4], &s[4..])
}

#[derive(Clone)]
pub struct OrderStore {
    pool: SqlitePool,
}

impl OrderStore {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<OrderStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        migrator().run(&pool).await?;
        Ok(OrderStore { pool })
    }

    /// A secret kept in the database, generated on first use (`len` random bytes).
    pub async fn server_secret(&self, name: &str, len: usize) -> Result<Vec<u8>, StoreError> {
        let fresh: Vec<u8> = (0..len).map(|_| rand::rng().random()).collect();
        sqlx::query("INSERT INTO server_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(&fresh)
            .execute(&self.pool)
            .await?;
        let row = sqlx::query("SELECT value FROM server_secrets WHERE name = ?").bind(name).fetch_one(&self.pool).await?;
        Ok(row.get::<Vec<u8>, _>("value"))
    }

    /// A new open order holding one unit of the catalogue's first product.
    pub async fn create_order(&self, catalogue: &Catalogue) -> Result<Order, StoreError> {
        let id = format!("ord_{}", random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 20));
        let product = catalogue.default_product();
        let t = now();
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO orders (id, reference, status, currency, created_at, updated_at) VALUES (?, ?, 'open', ?, ?, ?)")
            .bind(&id)
            .bind(new_reference())
            .bind(&catalogue.currency)
            .bind(t)
            .bind(t)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO order_lines (order_id, product_id, name, quantity, unit_amount, position) VALUES (?, ?, ?, 1, ?, 0)")
            .bind(&id)
            .bind(&product.id)
            .bind(&product.name)
            .bind(product.unit_amount)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(self.get(&id).await?.expect("just created"))
    }

    pub async fn get(&self, id: &str) -> Result<Option<Order>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT id, reference, status, currency, payment_intent_id, attempt, card_brand, card_last4,
                    pending_attempt, pending_payment_method, pending_amount FROM orders WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let status_text: String = row.get("status");
        let status = OrderStatus::parse(&status_text).ok_or_else(|| StoreError::UnknownStatus(id.to_owned(), status_text))?;
        let lines = sqlx::query("SELECT product_id, name, quantity, unit_amount FROM order_lines WHERE order_id = ? ORDER BY position, product_id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| OrderLine {
                product_id: r.get("product_id"),
                name: r.get("name"),
                quantity: r.get("quantity"),
                unit_amount: r.get("unit_amount"),
            })
            .collect();
        Ok(Some(Order {
            id: row.get("id"),
            reference: row.get("reference"),
            status,
            currency: row.get("currency"),
            lines,
            payment_intent_id: row.get("payment_intent_id"),
            attempt: row.get("attempt"),
            card_brand: row.get("card_brand"),
            card_last4: row.get("card_last4"),
            pending_create: match (row.get("pending_attempt"), row.get("pending_payment_method"), row.get("pending_amount")) {
                (Some(attempt), Some(payment_method_id), Some(amount)) => Some(PendingCreate { attempt, payment_method_id, amount }),
                _ => None,
            },
        }))
    }

    /// Sets a line's quantity (0 removes it) while the order is payable. Returns false when
    /// the order is no longer payable, changing nothing.
    pub async fn set_line(&self, order_id: &str, line: &OrderLine, position: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let payable = sqlx::query("UPDATE orders SET updated_at = ? WHERE id = ? AND status IN ('open', 'failed')")
            .bind(now())
            .bind(order_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !payable {
            return Ok(false);
        }
        if line.quantity == 0 {
            sqlx::query("DELETE FROM order_lines WHERE order_id = ? AND product_id = ?")
                .bind(order_id)
                .bind(&line.product_id)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query(
                "INSERT INTO order_lines (order_id, product_id, name, quantity, unit_amount, position) VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (order_id, product_id) DO UPDATE SET quantity = excluded.quantity, unit_amount = excluded.unit_amount, name = excluded.name",
            )
            .bind(order_id)
            .bind(&line.product_id)
            .bind(&line.name)
            .bind(line.quantity)
            .bind(line.unit_amount)
            .bind(position)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Records a new attempt before calling Stripe, so its idempotency key survives a crash.
    pub async fn next_attempt(&self, order_id: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("UPDATE orders SET attempt = attempt + 1, updated_at = ? WHERE id = ? RETURNING attempt")
            .bind(now())
            .bind(order_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get("attempt"))
    }

    /// Records a create-and-confirm before it is sent (see [`PendingCreate`]).
    pub async fn record_pending_create(&self, order_id: &str, pending: &PendingCreate) -> Result<(), StoreError> {
        sqlx::query("UPDATE orders SET pending_attempt = ?, pending_payment_method = ?, pending_amount = ?, updated_at = ? WHERE id = ?")
            .bind(pending.attempt)
            .bind(&pending.payment_method_id)
            .bind(pending.amount)
            .bind(now())
            .bind(order_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets a pending create whose answer said nothing was created (a validation error).
    pub async fn clear_pending_create(&self, order_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE orders SET pending_attempt = NULL, pending_payment_method = NULL, pending_amount = NULL WHERE id = ?")
            .bind(order_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Binds the order to its one PaymentIntent (only if it has none yet); the pending create
    /// is then answered.
    pub async fn attach_intent(&self, order_id: &str, payment_intent_id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE orders SET payment_intent_id = COALESCE(payment_intent_id, ?), pending_attempt = NULL,
             pending_payment_method = NULL, pending_amount = NULL, updated_at = ? WHERE id = ?",
        )
            .bind(payment_intent_id)
            .bind(now())
            .bind(order_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Moves a payable order to `status` (requires_action, processing, failed, open).
    pub async fn set_status(&self, order_id: &str, status: OrderStatus, last_error: Option<&str>) -> Result<(), StoreError> {
        sqlx::query("UPDATE orders SET status = ?, last_error = ?, updated_at = ? WHERE id = ? AND status NOT IN ('paid', 'authorised')")
            .bind(status.as_str())
            .bind(last_error)
            .bind(now())
            .bind(order_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks the order paid (or authorised) and fulfils it, in one transaction. Returns true
    /// the one time it fulfils; false if it was already done.
    pub async fn fulfil(
        &self,
        order_id: &str,
        payment_intent_id: &str,
        status: OrderStatus,
        amount: i64,
        card: (Option<String>, Option<String>),
    ) -> Result<bool, StoreError> {
        debug_assert!(matches!(status, OrderStatus::Paid | OrderStatus::Authorised));
        let t = now();
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE orders SET status = ?, card_brand = ?, card_last4 = ?, last_error = NULL, updated_at = ?
             WHERE id = ? AND payment_intent_id = ? AND status NOT IN ('paid', 'authorised')",
        )
        .bind(status.as_str())
        .bind(card.0)
        .bind(card.1)
        .bind(t)
        .bind(order_id)
        .bind(payment_intent_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        sqlx::query("INSERT INTO fulfilments (order_id, payment_intent_id, amount, fulfilled_at) VALUES (?, ?, ?, ?)")
            .bind(order_id)
            .bind(payment_intent_id)
            .bind(amount)
            .bind(t)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(order_id, payment_intent_id, amount, "order fulfilled");
        Ok(true)
    }

    /// How many orders were fulfilled (tests and the health check read this).
    pub async fn fulfilment_count(&self, order_id: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM fulfilments WHERE order_id = ?").bind(order_id).fetch_one(&self.pool).await?;
        Ok(row.get("n"))
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkout::catalogue::sample;

    async fn store() -> (OrderStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        (OrderStore::connect(&url).await.unwrap(), dir)
    }

    #[tokio::test]
    async fn a_new_order_starts_with_one_unit_of_the_first_product() {
        let (store, _dir) = store().await;
        let order = store.create_order(&sample()).await.unwrap();
        assert_eq!(order.status, OrderStatus::Open);
        assert_eq!(order.lines.len(), 1);
        assert_eq!(order.lines[0].product_id, "espresso");
        assert_eq!(order.summary().amount, 1450);
        assert_eq!(order.reference.len(), 9);
    }

    #[tokio::test]
    async fn fulfilment_happens_exactly_once() {
        let (store, _dir) = store().await;
        let order = store.create_order(&sample()).await.unwrap();
        store.attach_intent(&order.id, "pi_1").await.unwrap();
        let card = (Some("visa".to_owned()), Some("4242".to_owned()));
        assert!(store.fulfil(&order.id, "pi_1", OrderStatus::Paid, 1450, card.clone()).await.unwrap());
        assert!(!store.fulfil(&order.id, "pi_1", OrderStatus::Paid, 1450, card).await.unwrap());
        assert_eq!(store.fulfilment_count(&order.id).await.unwrap(), 1);
        assert_eq!(store.get(&order.id).await.unwrap().unwrap().status, OrderStatus::Paid);
    }

    #[tokio::test]
    async fn only_the_orders_own_intent_fulfils_it() {
        let (store, _dir) = store().await;
        let order = store.create_order(&sample()).await.unwrap();
        store.attach_intent(&order.id, "pi_1").await.unwrap();
        store.attach_intent(&order.id, "pi_2").await.unwrap();
        assert_eq!(store.get(&order.id).await.unwrap().unwrap().payment_intent_id.as_deref(), Some("pi_1"));
        assert!(!store.fulfil(&order.id, "pi_2", OrderStatus::Paid, 1450, (None, None)).await.unwrap());
    }

    #[tokio::test]
    async fn a_paid_order_cannot_be_changed() {
        let (store, _dir) = store().await;
        let order = store.create_order(&sample()).await.unwrap();
        store.attach_intent(&order.id, "pi_1").await.unwrap();
        store.fulfil(&order.id, "pi_1", OrderStatus::Paid, 1450, (None, None)).await.unwrap();
        let line = OrderLine::priced(&sample(), "filter", 2).unwrap();
        assert!(!store.set_line(&order.id, &line, 1).await.unwrap());
        store.set_status(&order.id, OrderStatus::Failed, Some("x")).await.unwrap();
        assert_eq!(store.get(&order.id).await.unwrap().unwrap().status, OrderStatus::Paid);
    }

    #[tokio::test]
    async fn attempts_count_up_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = OrderStore::connect(&url).await.unwrap();
        let order = store.create_order(&sample()).await.unwrap();
        assert_eq!(store.next_attempt(&order.id).await.unwrap(), 1);
        assert_eq!(store.next_attempt(&order.id).await.unwrap(), 2);
        let key = store.server_secret("cookie", 32).await.unwrap();
        drop(store);
        let reopened = OrderStore::connect(&url).await.unwrap();
        assert_eq!(reopened.get(&order.id).await.unwrap().unwrap().attempt, 2);
        assert_eq!(reopened.server_secret("cookie", 32).await.unwrap(), key, "the secret is kept");
    }
}
