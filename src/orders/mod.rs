//! The order store: SQLite (the embedded default) or PostgreSQL (several servers on one
//! database), through sqlx's `Any` driver with one set of SQL for both: `$n` parameters,
//! which both take, and only portable SQL. What differs is side by side here: the
//! connection settings and each database's migrations (compiled in, run at start-up).
//!
//! Every guarantee that must hold across requests and server processes is a conditional
//! update here, and every caller learns whether its write took:
//! - one server at a time talks to Stripe about an order: a lease ([`OrderStore::claim`]);
//! - the cart changes only while no money moves or may move ([`OrderStore::set_line`]);
//! - an order is fulfilled once, and only by an intent of its exact amount and currency
//!   ([`OrderStore::fulfil`]);
//! - statuses move only as [`OrderStatus::after`] allows ([`OrderStore::record`]).

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::checkout::order::order_total;
use crate::checkout::{Catalogue, OrderLine, OrderStatus, OrderSummary, PaymentEvent};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("order {0} has a status this version does not know: {1}")]
    UnknownStatus(String, String),
    #[error("order {0}: this server's lease ran out and another server took the order over")]
    ClaimLost(String),
    #[error("order {order_id} is bound to PaymentIntent {bound}, not {offered}")]
    OtherIntent { order_id: String, bound: String, offered: String },
}

/// The database behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; anything else is a SQLite file.
    pub fn of(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") { Backend::Postgres } else { Backend::Sqlite }
    }
}

/// The migrations, in order; the SQL lives beside this file.
fn migrator(backend: Backend) -> Migrator {
    let migration = |version, name, sql, no_tx| Migration::new(version, Cow::Borrowed(name), MigrationType::Simple, Cow::Borrowed(sql), no_tx);
    let migrations = match backend {
        // SQLite's history: its tables were rebuilt as the schema grew (SQLite cannot alter a CHECK).
        Backend::Sqlite => vec![
            migration(1, "orders", include_str!("migrations/sqlite/0001_orders.sql"), false),
            migration(2, "money integrity", include_str!("migrations/sqlite/0002_money_integrity.sql"), false),
            migration(3, "guide options", include_str!("migrations/sqlite/0003_guide_options.sql"), false),
            migration(4, "server leases", include_str!("migrations/sqlite/0004_server_leases.sql"), false),
            migration(5, "fulfilment trigger", include_str!("migrations/sqlite/0005_fulfilment_trigger.sql"), false),
            migration(6, "lines with order", include_str!("migrations/sqlite/0006_lines_with_order.sql"), false),
        ],
        // PostgreSQL starts at the schema SQLite reached with its third migration.
        Backend::Postgres => vec![
            migration(3, "schema", include_str!("migrations/postgres/0003_schema.sql"), false),
            migration(4, "server leases", include_str!("migrations/postgres/0004_server_leases.sql"), false),
            migration(5, "fulfilment trigger", include_str!("migrations/postgres/0005_fulfilment_trigger.sql"), false),
            migration(6, "lines with order", include_str!("migrations/postgres/0006_lines_with_order.sql"), false),
        ],
    };
    Migrator { migrations: Cow::Owned(migrations), ..Migrator::DEFAULT }
}

/// How many connections a server keeps, and how long a request waits for one (then the
/// shopper is told to try again): `DATABASE_MAX_CONNECTIONS`, `DATABASE_ACQUIRE_TIMEOUT_MS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings { max_connections: 8, acquire_timeout: Duration::from_secs(5) }
    }
}

/// A pooled connection idle this long is pinged before use (a database restarted meanwhile
/// costs a reconnect, not a failed request).
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

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
    /// A confirm or update whose answer did not come back.
    pub in_doubt: bool,
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
    pub created_at: i64,
    pub updated_at: i64,
}

/// The exact create-and-confirm request of an attempt, kept until its answer is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCreate {
    pub attempt: i64,
    pub payment_method_id: String,
    pub amount: i64,
    /// When it was sent (seconds since the epoch, this server's clock).
    pub created_at: i64,
    /// The shopper's Stripe Customer, and whether the payment saves the card for later.
    pub customer_id: Option<String>,
    pub save_card: bool,
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
            lines: vec![OrderLine { product_id: product.id.clone(), name: product.name.clone(), quantity: 1, unit_amount: product.unit_amount }],
            payment_intent_id: None,
            attempt: 0,
            card_brand: None,
            card_last4: None,
            pending_create: None,
            in_doubt: false,
            review_refund: None,
            last_error: None,
            amount_captured: 0,
            amount_refunded: 0,
            customer_id: None,
            repeat_of: None,
            off_session_payment_method: None,
            created_at: t,
            updated_at: t,
        }
    }
}

/// The card a payment was made with, as Stripe reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardShown {
    pub brand: Option<String>,
    pub last4: Option<String>,
}

/// This server's lease on an order: held while it talks to Stripe about it.
#[derive(Debug)]
pub struct Claim {
    pub order_id: String,
    token: String,
    /// Given back already, by the statement that fulfilled the order.
    released: std::sync::atomic::AtomicBool,
}

impl Claim {
    /// A lease on `order_id` with a new token, not taken yet.
    fn new(order_id: &str) -> Claim {
        Claim { order_id: order_id.to_owned(), token: random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 24), released: Default::default() }
    }
}

/// A payment that may fulfil an order: its intent, what it paid, and how (`Succeeded` or
/// `Authorised`).
#[derive(Debug, Clone, Copy)]
struct Payment<'a> {
    order_id: &'a str,
    payment_intent_id: &'a str,
    event: PaymentEvent,
    amount: i64,
    currency: &'a str,
}

/// When a lease taken now for `lease` runs out (Unix seconds; at least a second from now).
fn lease_end(lease: Duration) -> i64 {
    now() + lease.as_secs().max(1) as i64
}

/// What [`OrderStore::fulfil`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fulfilment {
    /// This call fulfilled the order.
    Fulfilled,
    /// The same intent had already fulfilled it.
    AlreadyFulfilled,
    /// The intent's amount or currency is not the order's now.
    Mismatch { order_amount: i64, order_currency: String },
    /// The order is in a status that cannot be fulfilled (e.g. under review), or bound to
    /// another intent.
    NotFulfillable(OrderStatus),
}

impl StoreError {
    /// The database could not be reached or gave no connection in time: a lost connection,
    /// a server shutting down or starting up, a full pool. Whether a write in flight took is
    /// not known, and need not be: every write is conditional, so the next attempt finds out.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed) => true,
            // PostgreSQL's connection exceptions (class 08) and shutdowns (57P01–57P03).
            StoreError::Database(sqlx::Error::Database(db)) => db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
            _ => false,
        }
    }
}

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
}

/// A one-time key (32 letters and digits), for a back-office confirmation.
pub fn random_key() -> String {
    random_string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 32)
}

/// A new order id; the order is stored only when the shopper first changes or pays it.
pub fn new_order_id() -> String {
    format!("ord_{}", random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 20))
}

/// Shopper-facing reference derived from the order id (so a page can show it before the
/// order is stored): 8 characters without look-alikes (no 0/O, 1/I).
pub fn reference_for(order_id: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let digest = Sha256::digest(order_id.as_bytes());
    let s: String = digest.iter().take(8).map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect();
    format!("{}-{}", &s[..4], &s[4..])
}

/// `status IN ('a', 'b')` for the statuses `which` accepts: the SQL side of the state machine,
/// generated from it rather than written again.
fn status_in(which: impl Iterator<Item = OrderStatus>) -> String {
    let list: Vec<String> = which.map(|s| format!("'{}'", s.as_str())).collect();
    format!("status IN ({})", list.join(", "))
}

/// Orders no server (or request) holds: never leased, or the lease ran out. `now` is the
/// query's parameter `$now`. Qualified, so it reads the stored row in an upsert too.
fn lease_free(now: usize) -> String {
    format!("(orders.claim_token IS NULL OR orders.claim_expires_at < ${now})")
}

/// Orders whose cart may change: an editable status, nothing sent to Stripe without an answer
/// and no server talking to Stripe about it.
/// `now` is the query's parameter `$now`.
fn cart_may_change(now: usize) -> String {
    format!(
        "{} AND pending_attempt IS NULL AND in_doubt = 0 AND {}",
        status_in(OrderStatus::ALL.into_iter().filter(|s| s.is_editable())),
        lease_free(now)
    )
}

const ORDER_COLUMNS: &str = "id, reference, status, currency, payment_intent_id, attempt, card_brand, card_last4, pending_attempt,
    pending_payment_method, pending_amount, pending_created_at, in_doubt, review_refund, last_error, amount_captured, amount_refunded,
    customer_id, save_card, repeat_of, off_session_payment_method, created_at, updated_at";

/// An order from a row of [`ORDER_COLUMNS`] and its lines.
fn order_from_row(row: &AnyRow, lines: Vec<OrderLine>) -> Result<Order, StoreError> {
    let id: String = row.get("id");
    let status_text: String = row.get("status");
    let status = OrderStatus::parse(&status_text).ok_or_else(|| StoreError::UnknownStatus(id.clone(), status_text))?;
    let pending_create = match (row.get("pending_attempt"), row.get("pending_payment_method"), row.get("pending_amount")) {
        (Some(attempt), Some(payment_method_id), Some(amount)) => Some(PendingCreate {
            attempt,
            payment_method_id,
            amount,
            created_at: row.get::<Option<i64>, _>("pending_created_at").unwrap_or_else(|| row.get("updated_at")),
            customer_id: row.get("customer_id"),
            save_card: row.get::<i64, _>("save_card") == 1,
        }),
        _ => None,
    };
    Ok(Order {
        id,
        reference: row.get("reference"),
        status,
        currency: row.get("currency"),
        lines,
        payment_intent_id: row.get("payment_intent_id"),
        attempt: row.get("attempt"),
        card_brand: row.get("card_brand"),
        card_last4: row.get("card_last4"),
        pending_create,
        in_doubt: row.get::<i64, _>("in_doubt") == 1,
        review_refund: row.get("review_refund"),
        last_error: row.get("last_error"),
        amount_captured: row.get("amount_captured"),
        amount_refunded: row.get("amount_refunded"),
        customer_id: row.get("customer_id"),
        repeat_of: row.get("repeat_of"),
        off_session_payment_method: row.get("off_session_payment_method"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    })
}

/// A new order's lines as migration 6's trigger reads them from `orders.new_lines`: a JSON
/// array, in the cart's order (the trigger numbers their positions); none for no lines.
fn lines_json(lines: &[OrderLine]) -> Option<String> {
    if lines.is_empty() {
        return None;
    }
    let lines: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::json!({"product_id": l.product_id, "name": l.name, "quantity": l.quantity, "unit_amount": l.unit_amount}))
        .collect();
    Some(serde_json::Value::Array(lines).to_string())
}

type StoreQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Stores a new order (binding `$1`–`$15` of it with [`bind_new_order`]): its lines with it,
/// and its pending create if it has one. One statement: a trigger stores the lines (migration
/// 6), so no transaction is needed to keep them together.
const INSERT_NEW_ORDER: &str = "INSERT INTO orders (id, reference, status, currency, created_at, updated_at, claim_token, claim_expires_at,
        attempt, pending_attempt, pending_payment_method, pending_amount, pending_created_at, customer_id, save_card, new_lines)
    VALUES ($1, $2, 'open', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";

/// Binds a new order to [`INSERT_NEW_ORDER`], leased to the claim until the given time if one
/// is given.
fn bind_new_order<'q>(query: StoreQuery<'q>, order: &'q Order, claim: Option<(&'q Claim, i64)>) -> StoreQuery<'q> {
    let pending = order.pending_create.as_ref();
    query
        .bind(&order.id)
        .bind(&order.reference)
        .bind(&order.currency)
        .bind(order.created_at)
        .bind(order.updated_at)
        .bind(claim.map(|(c, _)| c.token.as_str()))
        .bind(claim.map(|(_, until)| until))
        .bind(order.attempt)
        .bind(pending.map(|p| p.attempt))
        .bind(pending.map(|p| p.payment_method_id.as_str()))
        .bind(pending.map(|p| p.amount))
        .bind(pending.map(|p| p.created_at))
        .bind(order.customer_id.as_deref())
        .bind(i64::from(pending.is_some_and(|p| p.save_card)))
        .bind(lines_json(&order.lines))
}

#[derive(Clone)]
pub struct OrderStore {
    pool: AnyPool,
    backend: Backend,
}

impl OrderStore {
    /// Opens the database at `url` (a SQLite file, created if needed, or PostgreSQL) and
    /// brings its schema up to date.
    ///
    /// SQLite runs in WAL with `synchronous=NORMAL`: a commit is in the WAL file when it
    /// returns, so it survives the process dying at once; the disk catches up at each
    /// checkpoint (see [`OrderStore::spawn_checkpoints`]), which bounds what a power loss can
    /// take back. A commit costs ~0.04 ms here instead of ~0.9 ms with `FULL` (one fsync each).
    ///
    /// Checkpoints run off the request path: SQLite's own, run inside whichever commit finds
    /// 1,000 pages in the WAL (its default), cost that commit about 5 ms (copying and two
    /// fsyncs), every ~50 first payments in `examples/store_pay.rs`; they were its p99. They
    /// now start only at 16,384 pages, a backstop for a store without the background task.
    pub async fn connect(url: &str) -> Result<OrderStore, StoreError> {
        OrderStore::connect_with(url, PoolSettings::default()).await
    }

    pub async fn connect_with(url: &str, settings: PoolSettings) -> Result<OrderStore, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(url);
        let options = AnyPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            // sqlx pings every connection it hands out by default: a round trip before each
            // statement (a worker-thread hop for SQLite, the network for PostgreSQL), a quarter
            // of a first payment's store time. sqlx already pings each connection it takes
            // back; only one left idle a while is pinged again before use.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        use sqlx::Connection;
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            });
        let pool = match backend {
            Backend::Sqlite => {
                // `mode=rwc` creates the file; the rest is set on each connection.
                let url = if url.contains('?') { url.to_owned() } else { format!("{url}?mode=rwc") };
                options
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            use sqlx::Executor;
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;
                                 PRAGMA wal_autocheckpoint = 16384;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => options.connect(url).await?,
        };
        migrator(backend).run(&pool).await?;
        Ok(OrderStore { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checkpoints the WAL every `every` (a PASSIVE checkpoint syncs the WAL to disk first):
    /// one fsync off the request path, so a power loss takes back at most the writes of the
    /// last `every`. Runs for the life of the runtime.
    pub fn spawn_checkpoints(&self, every: Duration) -> Option<tokio::task::JoinHandle<()>> {
        // PostgreSQL syncs its own log at each commit.
        if self.backend != Backend::Sqlite {
            return None;
        }
        let pool = self.pool.clone();
        Some(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                    tracing::warn!(%err, "WAL checkpoint failed; the next one tries again");
                }
            }
        }))
    }

    /// A secret kept in the database, generated on first use (`len` random bytes).
    pub async fn server_secret(&self, name: &str, len: usize) -> Result<Vec<u8>, StoreError> {
        let fresh: Vec<u8> = (0..len).map(|_| rand::rng().random()).collect();
        sqlx::query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(&fresh)
            .execute(&self.pool)
            .await?;
        let row = sqlx::query("SELECT value FROM server_secrets WHERE name = $1").bind(name).fetch_one(&self.pool).await?;
        Ok(row.get::<Vec<u8>, _>("value"))
    }

    /// Stores the order `id` with the default cart, unless it is stored already (concurrent
    /// first requests of one browser store it once).
    pub async fn open_order(&self, id: &str, catalogue: &Catalogue) -> Result<(), StoreError> {
        // Stored already (every pay after the first change): one read instead of a transaction.
        if sqlx::query("SELECT 1 FROM orders WHERE id = $1").bind(id).fetch_optional(&self.pool).await?.is_some() {
            return Ok(());
        }
        self.store_new(&Order::unsaved(id, catalogue)).await?;
        Ok(())
    }

    /// Takes the lease on the order `id` (see [`OrderStore::claim`]), storing the order first,
    /// already leased, if this is its first change; a new order is then returned as stored
    /// (nothing else can change it under the lease). `first_create` names the
    /// create-and-confirm the caller sends first for a new order, if any: it is stored with
    /// the order (see [`OrderStore::record_pending_create`]), as attempt 1. `None` when
    /// another server (or request) holds the lease.
    ///
    /// One statement either way: an INSERT whose conflict takes the lease instead. Each way
    /// writes its own token, so the token it returns says which way it went.
    pub async fn open_claimed(
        &self,
        id: &str,
        catalogue: &Catalogue,
        lease: Duration,
        first_create: impl FnOnce(&Order) -> Option<PendingCreate>,
    ) -> Result<Option<(Claim, Option<Order>)>, StoreError> {
        let mut order = Order::unsaved(id, catalogue);
        if let Some(pending) = first_create(&order) {
            order.attempt = 1;
            order.customer_id = pending.customer_id.clone();
            order.pending_create = Some(PendingCreate { attempt: 1, ..pending });
        }
        let (stored, leased) = (Claim::new(id), Claim::new(id));
        let sql = format!(
            "{INSERT_NEW_ORDER} ON CONFLICT (id) DO UPDATE SET claim_token = $16, claim_expires_at = excluded.claim_expires_at
             WHERE {} RETURNING claim_token",
            lease_free(17)
        );
        let row = bind_new_order(sqlx::query(&sql), &order, Some((&stored, lease_end(lease))))
            .bind(&leased.token)
            .bind(now())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        match row.get::<String, _>("claim_token") {
            token if token == stored.token => Ok(Some((stored, Some(order)))),
            token if token == leased.token => Ok(Some((leased, None))),
            _ => Err(StoreError::ClaimLost(id.to_owned())),
        }
    }

    /// Stores a new order and its lines, unleased; false (and nothing written) when an order
    /// of that id is stored already.
    async fn store_new(&self, order: &Order) -> Result<bool, StoreError> {
        let sql = format!("{INSERT_NEW_ORDER} ON CONFLICT (id) DO NOTHING");
        let inserted = bind_new_order(sqlx::query(&sql), order, None).execute(&self.pool).await?.rows_affected();
        Ok(inserted == 1)
    }

    /// The order and its lines, in one query (a row per line; the order's columns repeat).
    pub async fn get(&self, id: &str) -> Result<Option<Order>, StoreError> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS}, l.product_id, l.name, l.quantity, l.unit_amount
             FROM orders LEFT JOIN order_lines l ON l.order_id = orders.id WHERE orders.id = $1 ORDER BY l.position, l.product_id"
        );
        let rows = sqlx::query(&sql).bind(id).fetch_all(&self.pool).await?;
        let Some(first) = rows.first() else { return Ok(None) };
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

    async fn lines_of(&self, order_id: &str) -> Result<Vec<OrderLine>, StoreError> {
        let rows = sqlx::query("SELECT product_id, name, quantity, unit_amount FROM order_lines WHERE order_id = $1 ORDER BY position, product_id")
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

    /// Sets a line's quantity (0 removes it) while the cart may change. Returns false when it
    /// may not (a payment is under way, may have happened, or happened), changing nothing.
    pub async fn set_line(&self, order_id: &str, line: &OrderLine, position: i64) -> Result<bool, StoreError> {
        let t = now();
        let mut tx = self.pool.begin().await?;
        let may_change = sqlx::query(&format!("UPDATE orders SET updated_at = $1 WHERE id = $2 AND {}", cart_may_change(1)))
            .bind(t)
            .bind(order_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !may_change {
            return Ok(false);
        }
        if line.quantity == 0 {
            sqlx::query("DELETE FROM order_lines WHERE order_id = $1 AND product_id = $2")
                .bind(order_id)
                .bind(&line.product_id)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query(
                "INSERT INTO order_lines (order_id, product_id, name, quantity, unit_amount, position) VALUES ($1, $2, $3, $4, $5, $6)
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

    /// Takes the order's lease for `lease`, unless another server (or request) holds it.
    pub async fn claim(&self, order_id: &str, lease: Duration) -> Result<Option<Claim>, StoreError> {
        let claim = Claim::new(order_id);
        let sql = format!("UPDATE orders SET claim_token = $1, claim_expires_at = $2 WHERE id = $3 AND {}", lease_free(4));
        let taken = sqlx::query(&sql)
            .bind(&claim.token)
            .bind(lease_end(lease))
            .bind(order_id)
            .bind(now())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok((taken == 1).then_some(claim))
    }

    /// Takes, or renews, the lease on the work called `name` (done by one server at a time for
    /// them all) for `holder` until `lease` from now, unless another holder's lease is still
    /// running. Whether `holder` holds it now.
    pub async fn hold_server_lease(&self, name: &str, holder: &str, lease: Duration) -> Result<bool, StoreError> {
        let t = now();
        let held = sqlx::query(
            "INSERT INTO server_leases (name, holder, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE server_leases.holder = excluded.holder OR server_leases.expires_at < $4",
        )
        .bind(name)
        .bind(holder)
        .bind(t + lease.as_secs().max(1) as i64)
        .bind(t)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(held == 1)
    }

    /// Gives the lease back (a no-op if it already ran out and was taken by another server,
    /// or went back with the fulfilment, see [`OrderStore::bind_and_fulfil`]).
    pub async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        if claim.released.load(std::sync::atomic::Ordering::Acquire) {
            return Ok(());
        }
        sqlx::query("UPDATE orders SET claim_token = NULL, claim_expires_at = NULL WHERE id = $1 AND claim_token = $2")
            .bind(&claim.order_id)
            .bind(&claim.token)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Runs a write that only the lease holder may make; `ClaimLost` when it no longer holds it.
    /// `query` ends with `WHERE id = ? AND claim_token = ?`, left unbound.
    async fn under_claim<'q>(&self, claim: &'q Claim, query: StoreQuery<'q>) -> Result<(), StoreError> {
        let changed = query.bind(&claim.order_id).bind(&claim.token).execute(&self.pool).await?.rows_affected();
        if changed == 1 {
            Ok(())
        } else {
            Err(StoreError::ClaimLost(claim.order_id.clone()))
        }
    }

    /// Counts a new attempt that confirms the order's intent, and marks the confirm as sent
    /// without an answer (until it is settled): one write before the call, so the attempt's
    /// idempotency key survives a crash. The attempt's number.
    pub async fn begin_confirm(&self, claim: &Claim) -> Result<i64, StoreError> {
        let row = sqlx::query("UPDATE orders SET attempt = attempt + 1, in_doubt = 1, updated_at = $1 WHERE id = $2 AND claim_token = $3 RETURNING attempt")
            .bind(now())
            .bind(&claim.order_id)
            .bind(&claim.token)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.get("attempt")).ok_or_else(|| StoreError::ClaimLost(claim.order_id.clone()))
    }

    /// Counts a new attempt and records its create-and-confirm before it is sent (see
    /// [`PendingCreate`]), with its terms, so a replay sends exactly the same request. The
    /// pending create, with its attempt's number (`pending.attempt` is not read).
    pub async fn record_pending_create(&self, claim: &Claim, pending: PendingCreate) -> Result<PendingCreate, StoreError> {
        let row = sqlx::query(
            "UPDATE orders SET attempt = attempt + 1, pending_attempt = attempt + 1, pending_payment_method = $1, pending_amount = $2,
                    pending_created_at = $3, customer_id = $4, save_card = $5, updated_at = $6
             WHERE id = $7 AND claim_token = $8 AND payment_intent_id IS NULL RETURNING attempt",
        )
        .bind(&pending.payment_method_id)
        .bind(pending.amount)
        .bind(pending.created_at)
        .bind(&pending.customer_id)
        .bind(i64::from(pending.save_card))
        .bind(now())
        .bind(&claim.order_id)
        .bind(&claim.token)
        .fetch_optional(&self.pool)
        .await?;
        let attempt = row.map(|r| r.get("attempt")).ok_or_else(|| StoreError::ClaimLost(claim.order_id.clone()))?;
        Ok(PendingCreate { attempt, ..pending })
    }

    /// Forgets a pending create known to have created nothing.
    pub async fn clear_pending_create(&self, claim: &Claim) -> Result<(), StoreError> {
        let sql = "UPDATE orders SET pending_attempt = NULL, pending_payment_method = NULL, pending_amount = NULL, pending_created_at = NULL,
                   updated_at = $1 WHERE id = $2 AND claim_token = $3";
        self.under_claim(claim, sqlx::query(sql).bind(now())).await
    }

    /// Binds the order to its PaymentIntent (the pending create is then answered). Refused,
    /// loudly, when the order is bound to another one.
    pub async fn attach_intent(&self, claim: &Claim, payment_intent_id: &str) -> Result<(), StoreError> {
        let changed = sqlx::query(
            "UPDATE orders SET payment_intent_id = $1, pending_attempt = NULL, pending_payment_method = NULL, pending_amount = NULL,
             pending_created_at = NULL, updated_at = $2 WHERE id = $3 AND claim_token = $4 AND (payment_intent_id IS NULL OR payment_intent_id = $5)",
        )
        .bind(payment_intent_id)
        .bind(now())
        .bind(&claim.order_id)
        .bind(&claim.token)
        .bind(payment_intent_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if changed == 1 {
            return Ok(());
        }
        match self.get(&claim.order_id).await?.and_then(|o| o.payment_intent_id) {
            Some(bound) if bound != payment_intent_id => {
                Err(StoreError::OtherIntent { order_id: claim.order_id.clone(), bound, offered: payment_intent_id.to_owned() })
            }
            _ => Err(StoreError::ClaimLost(claim.order_id.clone())),
        }
    }

    /// The confirm or update sent without a known answer (see [`OrderStore::begin_confirm`])
    /// is answered: nothing is in doubt any more.
    pub async fn clear_in_doubt(&self, claim: &Claim) -> Result<(), StoreError> {
        let sql = "UPDATE orders SET in_doubt = 0, updated_at = $1 WHERE id = $2 AND claim_token = $3";
        self.under_claim(claim, sqlx::query(sql).bind(now())).await
    }

    /// Moves the order as `event` says, if its status allows it (see [`OrderStatus::after`]);
    /// what Stripe said is now known, so nothing is in doubt any more. Returns whether it moved.
    pub async fn record(&self, order_id: &str, event: PaymentEvent, last_error: Option<&str>) -> Result<bool, StoreError> {
        let target = event.outcome();
        let intent_reset = if event == PaymentEvent::IntentCanceled { ", payment_intent_id = NULL" } else { "" };
        let sql = format!(
            "UPDATE orders SET status = $1, last_error = $2, in_doubt = 0, updated_at = $3{intent_reset} WHERE id = $4 AND {}",
            status_in(OrderStatus::before(event))
        );
        let changed = sqlx::query(&sql).bind(target.as_str()).bind(last_error).bind(now()).bind(order_id).execute(&self.pool).await?.rows_affected();
        Ok(changed == 1)
    }

    /// Marks the order paid (`Succeeded`) or authorised (`Authorised`) and fulfils it, in one
    /// statement (the `orders_fulfilled` trigger records the fulfilment), only if
    /// `payment_intent_id` is its intent and `amount`/`currency` are its total and currency at
    /// this moment.
    pub async fn fulfil(
        &self,
        order_id: &str,
        payment_intent_id: &str,
        event: PaymentEvent,
        amount: i64,
        currency: &str,
        card: CardShown,
    ) -> Result<Fulfilment, StoreError> {
        let payment = Payment { order_id, payment_intent_id, event, amount, currency };
        if self.fulfil_if(None, &payment, card).await? {
            return Ok(Fulfilment::Fulfilled);
        }
        // Nothing changed: say why.
        let Some(order) = self.get(order_id).await? else { return Ok(Fulfilment::NotFulfillable(OrderStatus::Open)) };
        if order.status.is_fulfilled() {
            let by_this = order.payment_intent_id.as_deref() == Some(payment_intent_id);
            return Ok(if by_this { Fulfilment::AlreadyFulfilled } else { Fulfilment::NotFulfillable(order.status) });
        }
        if order.payment_intent_id.as_deref() != Some(payment_intent_id) || order.status.after(event).is_none() {
            return Ok(Fulfilment::NotFulfillable(order.status));
        }
        Ok(Fulfilment::Mismatch { order_amount: order_total(&order.lines).unwrap_or(0), order_currency: order.currency })
    }

    /// [`OrderStore::attach_intent`] then [`OrderStore::fulfil`] in one statement, for the
    /// common answer (a payment of this order that succeeded): true when both held and the
    /// order is fulfilled. The lease goes back in the same statement (nothing is left to do
    /// under it). False changes nothing: the caller takes the two steps one by one, and they
    /// say why.
    pub async fn bind_and_fulfil(
        &self,
        claim: &Claim,
        payment_intent_id: &str,
        event: PaymentEvent,
        amount: i64,
        currency: &str,
        card: CardShown,
    ) -> Result<bool, StoreError> {
        let payment = Payment { order_id: &claim.order_id, payment_intent_id, event, amount, currency };
        let fulfilled = self.fulfil_if(Some(claim), &payment, card).await?;
        if fulfilled {
            claim.released.store(true, std::sync::atomic::Ordering::Release);
        }
        Ok(fulfilled)
    }

    /// The fulfilling UPDATE; with a claim it also binds the intent (as `attach_intent` does:
    /// only under the claim, only an order bound to no other intent) and gives the lease back.
    async fn fulfil_if(&self, binding: Option<&Claim>, payment: &Payment<'_>, card: CardShown) -> Result<bool, StoreError> {
        let Payment { order_id, payment_intent_id, event, amount, currency } = *payment;
        debug_assert!(matches!(event, PaymentEvent::Succeeded | PaymentEvent::Authorised));
        let (bind, intent_is) = match binding {
            Some(_) => (
                ", payment_intent_id = $8, pending_attempt = NULL, pending_payment_method = NULL, pending_amount = NULL, pending_created_at = NULL,
                   claim_token = NULL, claim_expires_at = NULL",
                "(payment_intent_id IS NULL OR payment_intent_id = $8) AND claim_token = $11",
            ),
            None => ("", "payment_intent_id = $8"),
        };
        let t = now();
        let sql = format!(
            "UPDATE orders SET status = $1, card_brand = $2, card_last4 = $3, last_error = NULL, in_doubt = 0, updated_at = $4,
                    amount_captured = $5, checked_at = $6{bind}
             WHERE id = $7 AND {intent_is} AND {} AND currency = $9
               AND (SELECT COALESCE(SUM(quantity * unit_amount), 0) FROM order_lines WHERE order_id = orders.id) = $10",
            status_in(OrderStatus::before(event))
        );
        let mut query = sqlx::query(&sql)
            .bind(event.outcome().as_str())
            .bind(card.brand)
            .bind(card.last4)
            .bind(t)
            // An authorisation has captured nothing yet.
            .bind(if event == PaymentEvent::Succeeded { amount } else { 0 })
            .bind(t)
            .bind(order_id)
            .bind(payment_intent_id)
            .bind(currency)
            .bind(amount);
        if let Some(claim) = binding {
            query = query.bind(&claim.token);
        }
        let fulfilled = query.execute(&self.pool).await?.rows_affected() == 1;
        if fulfilled {
            tracing::info!(order_id, payment_intent_id, amount, "order fulfilled");
        }
        Ok(fulfilled)
    }

    /// Ends an authorisation as `event` says (captured, canceled or expired), recording what
    /// Stripe captured; false when the order is no longer authorised (ended meanwhile).
    pub async fn end_authorisation(&self, order_id: &str, event: PaymentEvent, amount_captured: i64) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE orders SET status = $1, amount_captured = $2, last_error = NULL, in_doubt = 0, checked_at = $3, updated_at = $4 WHERE id = $5 AND {}",
            status_in(OrderStatus::before(event))
        );
        let t = now();
        let changed = sqlx::query(&sql).bind(event.outcome().as_str()).bind(amount_captured).bind(t).bind(t).bind(order_id).execute(&self.pool).await?;
        Ok(changed.rows_affected() == 1)
    }

    /// Records what Stripe's charge says was captured and refunded of a paid order. Amounts
    /// only grow: an older read never undoes a newer one.
    pub async fn set_refunded(&self, order_id: &str, amount_captured: i64, amount_refunded: i64) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE orders SET amount_captured = $1, amount_refunded = CASE WHEN amount_refunded > $2 THEN amount_refunded ELSE $2 END,
                    updated_at = $3
             WHERE id = $4 AND status = 'paid' AND $2 <= $1",
        )
        .bind(amount_captured)
        .bind(amount_refunded)
        .bind(now())
        .bind(order_id)
        .execute(&self.pool)
        .await?;
        Ok(changed.rows_affected() == 1)
    }

    /// Notes that the reconciler read an authorisation that is still held.
    pub async fn mark_checked(&self, order_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE orders SET checked_at = $1 WHERE id = $2").bind(now()).bind(order_id).execute(&self.pool).await?;
        Ok(())
    }

    /// Remembers the refund of a mismatched payment, so it is made once.
    pub async fn record_review_refund(&self, order_id: &str, refund: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE orders SET review_refund = $1, updated_at = $2 WHERE id = $3 AND status = 'needs_review'")
            .bind(refund)
            .bind(now())
            .bind(order_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Orders whose outcome is not known, oldest first, that no server holds: `processing`
    /// intents; sends without an answer older than `grace`; 3-D Secure left waiting (for the
    /// two hours in which Stripe may still move it); reviews whose refund is not made;
    /// authorisations not read for `authorisation_check` (Stripe releases them after 7 days).
    pub async fn to_reconcile(&self, grace: Duration, authorisation_check: Duration, limit: i64) -> Result<Vec<String>, StoreError> {
        let t = now();
        let idle_since = t - grace.as_secs() as i64;
        let sql = format!(
            "SELECT id FROM orders
             WHERE {}
               AND (status = 'processing'
                    OR (status = 'needs_review' AND review_refund IS NULL AND payment_intent_id IS NOT NULL)
                    OR ((pending_attempt IS NOT NULL OR in_doubt = 1) AND updated_at < $2)
                    OR (status = 'requires_action' AND updated_at < $3 AND updated_at > $4)
                    OR (status = 'authorised' AND (checked_at IS NULL OR checked_at <= $5)))
             ORDER BY updated_at LIMIT $6",
            lease_free(1)
        );
        let rows = sqlx::query(&sql)
            .bind(t)
            .bind(idle_since)
            .bind(idle_since)
            .bind(t - 2 * 3600)
            .bind(t - authorisation_check.as_secs() as i64)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|r| r.get("id")).collect())
    }

    /// How often the order was fulfilled (0 or 1).
    pub async fn fulfilment_count(&self, order_id: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM fulfilments WHERE order_id = $1").bind(order_id).fetch_one(&self.pool).await?;
        Ok(row.get("n"))
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

mod back_office;
mod shoppers;
pub use back_office::{ActionKind, ActionState, OrderPage};
pub use shoppers::Shopper;

#[cfg(test)]
mod tests;
