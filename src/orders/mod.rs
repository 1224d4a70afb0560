//! The order store: SQLite (the embedded default) or PostgreSQL (several servers on one
//! database), through sqlx's `Any` driver with one set of SQL for both: `$n` parameters,
//! numbered by [`sql::Sql`], and only portable SQL. What differs is side by side here: the
//! connection settings and each database's migrations (compiled in, run at start-up).
//!
//! Every guarantee that must hold across requests and server processes is a conditional
//! update here, and every caller learns whether its write took:
//! - one holder at a time talks to Stripe about an order: a lease ([`lease`]), checked by
//!   every write made under it;
//! - one Stripe POST at a time is unsettled on an order, and nothing learnt by reading is
//!   written while one is ([`requests`]);
//! - the cart changes only while no money moves or may move ([`OrderStore::set_line`]);
//! - an order is fulfilled once, and only by an intent of its exact amount and currency
//!   ([`OrderStore::fulfil`]);
//! - statuses move only as [`OrderStatus::after`] allows ([`OrderStore::record`]);
//! - every order that needs watching is due for a look, and no set of orders starves the
//!   rest ([`queue`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Row};

use crate::checkout::order::order_total;
use crate::checkout::{Catalogue, OrderLine, OrderStatus, OrderSummary, PaymentEvent};

pub mod lease;
pub mod queue;
pub mod requests;
pub mod sql;

pub use lease::Lease;
pub use queue::{DueOrder, Watch, Watched};
pub use requests::{SentRequest, StripeCall};
use sql::Sql;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("order {0} has a status this version does not know: {1}")]
    UnknownStatus(String, String),
    #[error("the recorded request {0} cannot be read: {1}")]
    Unreadable(String, String),
    #[error("order {0}: this holder's lease ran out and another holder took the order over")]
    LeaseLost(String),
    #[error("order {0}: a request to Stripe is still unsettled")]
    Unsettled(String),
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
            migration(7, "safety net", include_str!("migrations/sqlite/0007_safety_net.sql"), false),
        ],
        // PostgreSQL starts at the schema SQLite reached with its third migration.
        Backend::Postgres => vec![
            migration(3, "schema", include_str!("migrations/postgres/0003_schema.sql"), false),
            migration(4, "server leases", include_str!("migrations/postgres/0004_server_leases.sql"), false),
            migration(5, "fulfilment trigger", include_str!("migrations/postgres/0005_fulfilment_trigger.sql"), false),
            migration(6, "lines with order", include_str!("migrations/postgres/0006_lines_with_order.sql"), false),
            migration(7, "safety net", include_str!("migrations/postgres/0007_safety_net.sql"), false),
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
            lines: vec![OrderLine { product_id: product.id.clone(), name: product.name.clone(), quantity: 1, unit_amount: product.unit_amount }],
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

/// The card a payment was made with, as Stripe reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardShown {
    pub brand: Option<String>,
    pub last4: Option<String>,
}

/// A payment that may fulfil an order: its intent, what it paid, and how (`Succeeded` or
/// `Authorised`).
#[derive(Debug, Clone, Copy)]
pub struct Payment<'a> {
    pub payment_intent_id: &'a str,
    pub event: PaymentEvent,
    pub amount: i64,
    pub currency: &'a str,
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

/// What a store error means for the shopper (logged here, where its detail is known): try
/// again in a moment when the database is out of reach, a payment in progress when the order
/// is another holder's or a request on it is unsettled, else something went wrong.
impl From<StoreError> for crate::checkout::CheckoutError {
    fn from(err: StoreError) -> Self {
        use crate::checkout::CheckoutError;
        match err {
            err if err.is_unavailable() => {
                tracing::error!(%err, "the order database is unavailable");
                CheckoutError::ShopUnavailable
            }
            err @ (StoreError::LeaseLost(_) | StoreError::Unsettled(_)) => {
                tracing::warn!(%err, "the step stops: the order is not this holder's to change now");
                CheckoutError::PaymentInProgress
            }
            err => {
                tracing::error!(%err, "checkout failed on the server");
                CheckoutError::Internal
            }
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

/// A status as stored, or the error that names the order.
fn status_of(id: &str, text: String) -> Result<OrderStatus, StoreError> {
    OrderStatus::parse(&text).ok_or_else(|| StoreError::UnknownStatus(id.to_owned(), text))
}

/// What is written when nothing is unsettled: an outcome learnt by reading Stripe is written
/// only while no request is out without its answer (see [`requests`]).
const NOTHING_UNSETTLED: &str = " AND request_key IS NULL";

const ORDER_COLUMNS: &str = "id, reference, status, currency, payment_intent_id, attempt, card_brand, card_last4, request_key, request_call,
    request_sent_at, lookup_cursor, review_refund, last_error, amount_captured, amount_refunded, customer_id, repeat_of,
    off_session_payment_method, attention, next_check_at, checks, created_at, updated_at";

/// An order from a row of [`ORDER_COLUMNS`] and its lines.
fn order_from_row(row: &AnyRow, lines: Vec<OrderLine>) -> Result<Order, StoreError> {
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

/// Stores a new order: its lines with it (a trigger stores them, migration 6, so no
/// transaction is needed to keep them together), its first request if it has one, leased to
/// `lease` until `until` if given.
fn insert_new_order(order: &Order, lease: Option<(&Lease, i64)>, next_check_at: Option<i64>) -> Sql {
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

#[derive(Clone)]
pub struct OrderStore {
    pool: AnyPool,
    backend: Backend,
    /// When orders are looked at by the reconciler.
    watch: Watch,
    /// The order leases this server holds (token → order), given back at shutdown.
    held: Arc<Mutex<HashMap<String, String>>>,
}

impl OrderStore {
    /// Opens the database at `url` (a SQLite file, created if needed, or PostgreSQL) and
    /// brings its schema up to date.
    ///
    /// SQLite runs in WAL with `synchronous=NORMAL`: a commit is in the WAL file when it
    /// returns, so it survives the process dying at once; the disk catches up at each
    /// checkpoint (see [`OrderStore::spawn_checkpoints`]), which bounds what a power loss can
    /// take back.
    ///
    /// Checkpoints run off the request path: SQLite's own, run inside whichever commit finds
    /// 1,000 pages in the WAL (its default), stall that commit (copying and two fsyncs); they
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
            // statement (a worker-thread hop for SQLite, the network for PostgreSQL). sqlx
            // already pings each connection it takes back; only one left idle a while is
            // pinged again before use.
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
        Ok(OrderStore { pool, backend, watch: Watch::default(), held: Arc::default() })
    }

    /// The store, looking at orders as `watch` says.
    pub fn with_watch(mut self, watch: Watch) -> OrderStore {
        self.watch = watch;
        self
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
        Sql::new("INSERT INTO server_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING").bind(name).bind(fresh).execute(&self.pool).await?;
        let row = Sql::new("SELECT value FROM server_secrets WHERE name = ?").bind(name).fetch_one(&self.pool).await?;
        Ok(row.get::<Vec<u8>, _>("value"))
    }

    /// Stores the order `id` with the default cart, unless it is stored already (concurrent
    /// first requests of one browser store it once).
    pub async fn open_order(&self, id: &str, catalogue: &Catalogue) -> Result<(), StoreError> {
        // Stored already (every pay after the first change): one read instead of a write.
        if Sql::new("SELECT 1 FROM orders WHERE id = ?").bind(id).fetch_optional(&self.pool).await?.is_some() {
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
        let sql = insert_new_order(&order, Some((&stored, lease::lease_end(lease))), order.next_check_at)
            .push(" ON CONFLICT (id) DO UPDATE SET lease_token = ?, lease_expires_at = excluded.lease_expires_at WHERE ")
            .bind(leased.token())
            .join(lease::lease_free(now()))
            .push(" RETURNING lease_token");
        let Some(row) = sql.fetch_optional(&self.pool).await? else { return Ok(None) };
        match row.get::<String, _>("lease_token") {
            token if token == stored.token() => Ok(Some((self.held(stored), Some(order)))),
            token if token == leased.token() => Ok(Some((self.held(leased), None))),
            _ => Err(StoreError::LeaseLost(id.to_owned())),
        }
    }

    /// Stores a new order and its lines, unleased; false (and nothing written) when an order
    /// of that id is stored already.
    async fn store_new(&self, order: &Order) -> Result<bool, StoreError> {
        let inserted = insert_new_order(order, None, None).push(" ON CONFLICT (id) DO NOTHING").execute(&self.pool).await?.rows_affected();
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
        let rows = Sql::new("SELECT product_id, name, quantity, unit_amount FROM order_lines WHERE order_id = ? ORDER BY position, product_id")
            .bind(order_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| OrderLine { product_id: r.get("product_id"), name: r.get("name"), quantity: r.get("quantity"), unit_amount: r.get("unit_amount") })
            .collect())
    }

    /// Sets a line's quantity (0 removes it) while the cart may change: an editable status,
    /// nothing sent to Stripe without its answer, and nobody holding the order. Returns false
    /// when it may not (a payment is under way, may have happened, or happened), changing
    /// nothing.
    pub async fn set_line(&self, order_id: &str, line: &OrderLine, position: i64) -> Result<bool, StoreError> {
        let t = now();
        let mut tx = self.pool.begin().await?;
        let editable = status_in(OrderStatus::ALL.into_iter().filter(|s| s.is_editable()));
        let may_change = Sql::new(&format!("UPDATE orders SET updated_at = ? WHERE id = ? AND {editable}{NOTHING_UNSETTLED} AND "))
            .bind(t)
            .bind(order_id)
            .join(lease::lease_free(t));
        if may_change.execute(&mut *tx).await?.rows_affected() != 1 {
            return Ok(false);
        }
        let change = if line.quantity == 0 {
            Sql::new("DELETE FROM order_lines WHERE order_id = ? AND product_id = ?").bind(order_id).bind(&line.product_id)
        } else {
            Sql::new(
                "INSERT INTO order_lines (order_id, product_id, name, quantity, unit_amount, position) VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (order_id, product_id) DO UPDATE SET quantity = excluded.quantity, unit_amount = excluded.unit_amount, name = excluded.name",
            )
            .bind(order_id)
            .bind(&line.product_id)
            .bind(&line.name)
            .bind(line.quantity)
            .bind(line.unit_amount)
            .bind(position)
        };
        change.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Binds the order to its PaymentIntent. With `answered`, the recorded request of that key
    /// is answered by it, in the same statement (a create's answer names the intent it made:
    /// the binding and the answer are one fact). Refused, loudly, when the order is bound to
    /// another intent.
    pub async fn attach_intent(&self, lease: &Lease, payment_intent_id: &str, answered: Option<&str>) -> Result<(), StoreError> {
        let mut sql = Sql::new("UPDATE orders SET payment_intent_id = ?, updated_at = ?").bind(payment_intent_id).bind(now());
        sql = match answered {
            Some(key) => sql
                .push(", request_key = NULL, request_call = NULL, request_sent_at = NULL, lookup_cursor = NULL WHERE request_key = ?")
                .bind(key),
            None => sql.push(&format!(" WHERE true{NOTHING_UNSETTLED}")),
        };
        let sql = sql.push(" AND (payment_intent_id IS NULL OR payment_intent_id = ?)").bind(payment_intent_id).join(lease.holds());
        if self.write(lease, sql).await? {
            return Ok(());
        }
        match self.get(&lease.order_id).await?.and_then(|o| o.payment_intent_id) {
            Some(bound) if bound != payment_intent_id => {
                Err(StoreError::OtherIntent { order_id: lease.order_id.clone(), bound, offered: payment_intent_id.to_owned() })
            }
            _ => Err(StoreError::Unsettled(lease.order_id.clone())),
        }
    }

    /// Moves the order as `event` says, if its status allows it (see [`OrderStatus::after`])
    /// and nothing is unsettled on it; schedules its next look. Returns whether it moved.
    pub async fn record(&self, lease: &Lease, event: PaymentEvent, last_error: Option<&str>) -> Result<bool, StoreError> {
        let target = event.outcome();
        let intent_reset = if event == PaymentEvent::IntentCanceled { ", payment_intent_id = NULL" } else { "" };
        let sql = Sql::new("UPDATE orders SET status = ?, last_error = ?, updated_at = ?,")
            .bind(target.as_str())
            .bind(last_error)
            .bind(now())
            .join(queue::next_check_after_move(self.watch.after_move(target), false))
            .push(&format!("{intent_reset} WHERE {}{NOTHING_UNSETTLED}", status_in(OrderStatus::before(event))))
            .join(lease.holds());
        self.write(lease, sql).await
    }

    /// Marks the order paid (`Succeeded`) or authorised (`Authorised`) and fulfils it, in one
    /// statement (the `orders_fulfilled` trigger records the fulfilment), only if the payment's
    /// intent is the order's and its amount and currency are the order's total and currency at
    /// this moment.
    pub async fn fulfil(&self, lease: &Lease, payment: Payment<'_>, card: CardShown) -> Result<Fulfilment, StoreError> {
        if self.fulfil_if(lease, None, &payment, card).await? {
            return Ok(Fulfilment::Fulfilled);
        }
        // Nothing changed: say why.
        let Some(order) = self.get(&lease.order_id).await? else { return Ok(Fulfilment::NotFulfillable(OrderStatus::Open)) };
        if order.status.is_fulfilled() {
            let by_this = order.payment_intent_id.as_deref() == Some(payment.payment_intent_id);
            return Ok(if by_this { Fulfilment::AlreadyFulfilled } else { Fulfilment::NotFulfillable(order.status) });
        }
        if order.payment_intent_id.as_deref() != Some(payment.payment_intent_id) || order.status.after(payment.event).is_none() || order.request.is_some() {
            return Ok(Fulfilment::NotFulfillable(order.status));
        }
        Ok(Fulfilment::Mismatch { order_amount: order_total(&order.lines).unwrap_or(0), order_currency: order.currency })
    }

    /// [`OrderStore::attach_intent`] (answering the request `answered`) then
    /// [`OrderStore::fulfil`] in one statement, for the common answer (a payment of this order
    /// that succeeded): true when both held and the order is fulfilled. The lease goes back in
    /// the same statement (nothing is left to do under it). False changes nothing: the caller
    /// takes the steps one by one, and they say why.
    pub async fn bind_and_fulfil(&self, lease: &Lease, answered: &str, payment: Payment<'_>, card: CardShown) -> Result<bool, StoreError> {
        let fulfilled = self.fulfil_if(lease, Some(answered), &payment, card).await?;
        if fulfilled {
            self.held.lock().unwrap_or_else(|p| p.into_inner()).remove(lease.token());
            lease.mark_released();
        }
        Ok(fulfilled)
    }

    /// The fulfilling UPDATE. With `answered` it also binds the intent (as `attach_intent`
    /// does: only an order bound to no other intent), answers that request and gives the lease
    /// back; without, the order must be bound to the intent already, with nothing unsettled.
    async fn fulfil_if(&self, lease: &Lease, answered: Option<&str>, payment: &Payment<'_>, card: CardShown) -> Result<bool, StoreError> {
        let Payment { payment_intent_id, event, amount, currency } = *payment;
        debug_assert!(matches!(event, PaymentEvent::Succeeded | PaymentEvent::Authorised));
        let t = now();
        let mut sql = Sql::new("UPDATE orders SET status = ?, card_brand = ?, card_last4 = ?, last_error = NULL, updated_at = ?, amount_captured = ?,")
            .bind(event.outcome().as_str())
            .bind(card.brand)
            .bind(card.last4)
            .bind(t)
            // An authorisation has captured nothing yet.
            .bind(if event == PaymentEvent::Succeeded { amount } else { 0 })
            .join(queue::next_check_after_move(self.watch.after_move(event.outcome()), answered.is_some()));
        sql = match answered {
            Some(key) => sql
                .push(
                    ", payment_intent_id = ?, request_key = NULL, request_call = NULL, request_sent_at = NULL, lookup_cursor = NULL,
                     lease_token = NULL, lease_expires_at = NULL WHERE request_key = ? AND (payment_intent_id IS NULL OR payment_intent_id = ?)",
                )
                .bind(payment_intent_id)
                .bind(key)
                .bind(payment_intent_id),
            None => sql.push(&format!(" WHERE payment_intent_id = ?{NOTHING_UNSETTLED}")).bind(payment_intent_id),
        };
        let sql = sql
            .push(&format!(
                " AND {} AND currency = ? AND (SELECT COALESCE(SUM(quantity * unit_amount), 0) FROM order_lines WHERE order_id = orders.id) = ?",
                status_in(OrderStatus::before(event))
            ))
            .bind(currency)
            .bind(amount)
            .join(lease.holds());
        let fulfilled = self.write(lease, sql).await?;
        if fulfilled {
            tracing::info!(order_id = %lease.order_id, payment_intent_id, amount, "order fulfilled");
        }
        Ok(fulfilled)
    }

    /// Ends an authorisation as `event` says (captured, canceled or expired), recording what
    /// Stripe captured; false when the order is no longer authorised (ended meanwhile).
    pub async fn end_authorisation(&self, lease: &Lease, event: PaymentEvent, amount_captured: i64) -> Result<bool, StoreError> {
        let sql = Sql::new("UPDATE orders SET status = ?, amount_captured = ?, last_error = NULL, updated_at = ?, next_check_at = NULL, checks = 0")
            .bind(event.outcome().as_str())
            .bind(amount_captured)
            .bind(now())
            .push(&format!(" WHERE {}{NOTHING_UNSETTLED}", status_in(OrderStatus::before(event))))
            .join(lease.holds());
        self.write(lease, sql).await
    }

    /// Records what Stripe's charge says was captured and refunded of a paid order. Amounts
    /// only grow: an older read never undoes a newer one.
    pub async fn set_refunded(&self, lease: &Lease, amount_captured: i64, amount_refunded: i64) -> Result<bool, StoreError> {
        let sql = Sql::new("UPDATE orders SET amount_captured = ?, amount_refunded = CASE WHEN amount_refunded > ? THEN amount_refunded ELSE ? END,")
            .bind(amount_captured)
            .bind(amount_refunded)
            .bind(amount_refunded)
            .push(" updated_at = ? WHERE status = 'paid' AND ? <= ?")
            .bind(now())
            .bind(amount_refunded)
            .bind(amount_captured)
            .join(lease.holds());
        self.write(lease, sql).await
    }

    /// The back office's refund `key` was answered: `amount` more is refunded, written with the
    /// answer in one statement, so a reload shows it even if Stripe's totals cannot be read.
    pub async fn refund_answered(&self, lease: &Lease, key: &str, amount: i64) -> Result<bool, StoreError> {
        let sql = Sql::new("UPDATE orders SET request_key = NULL, request_call = NULL, request_sent_at = NULL, next_check_at = NULL, checks = 0,")
            .push(" amount_refunded = CASE WHEN amount_refunded + ? > amount_captured THEN amount_captured ELSE amount_refunded + ? END, updated_at = ?")
            .bind(amount)
            .bind(amount)
            .bind(now())
            .push(" WHERE request_key = ?")
            .bind(key)
            .join(lease.holds());
        self.write(lease, sql).await
    }

    /// Remembers the refund of a mismatched payment, so it is made once; the order is then
    /// not looked at again.
    pub async fn record_review_refund(&self, lease: &Lease, refund: &str) -> Result<bool, StoreError> {
        let sql = Sql::new("UPDATE orders SET review_refund = ?, updated_at = ?, next_check_at = NULL, checks = 0")
            .bind(refund)
            .bind(now())
            .push(&format!(" WHERE status = 'needs_review'{NOTHING_UNSETTLED}"))
            .join(lease.holds());
        self.write(lease, sql).await
    }

    /// How often the order was fulfilled (0 or 1).
    pub async fn fulfilment_count(&self, order_id: &str) -> Result<i64, StoreError> {
        let row = Sql::new("SELECT COUNT(*) AS n FROM fulfilments WHERE order_id = ?").bind(order_id).fetch_one(&self.pool).await?;
        Ok(row.get("n"))
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

mod back_office;
mod shoppers;
pub use back_office::{ActionKind, ActionState, OrderFilter, OrderPage};
pub use shoppers::Shopper;

#[cfg(test)]
mod tests;
