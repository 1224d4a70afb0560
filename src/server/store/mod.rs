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
//!   rest ([`queue`]);
//! - a card attempt over a card-testing limit is never stored nor sent ([`attempts`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;
use sqlx::AnyPool;

use crate::domain::OrderStatus;

pub mod attempts;
mod cart;
mod connection;
pub mod fulfilment;
pub mod lease;
pub mod order;
pub mod queue;
pub mod requests;
mod secrets;
pub mod shoppers;
pub mod sql;
mod status;

pub use attempts::{Admission, AttemptLimits, AttemptOutcome, AttemptPath, Limit};
pub use connection::{Backend, PoolSettings};
pub use fulfilment::{CardShown, Fulfilment, Payment};
pub use lease::Lease;
pub use order::{new_order_id, reference_for, Order};
pub use queue::{Backlog, DueOrder, Watch, Watched};
pub use requests::{SentRequest, StripeCall};
pub use shoppers::Shopper;

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
    OtherIntent {
        order_id: String,
        bound: String,
        offered: String,
    },
}

impl StoreError {
    /// The database could not be reached or gave no connection in time: a lost connection,
    /// a server shutting down or starting up, a full pool. Whether a write in flight took is
    /// not known, and need not be: every write is conditional, so the next attempt finds out.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed,
            ) => true,
            // PostgreSQL's connection exceptions (class 08) and shutdowns (57P01–57P03).
            StoreError::Database(sqlx::Error::Database(db)) => db
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
            _ => false,
        }
    }
}

/// What a store error means for the shopper (logged here, where its detail is known): try
/// again in a moment when the database is out of reach, a payment in progress when the order
/// is another holder's or a request on it is unsettled, else something went wrong.
impl From<StoreError> for crate::domain::CheckoutError {
    fn from(err: StoreError) -> Self {
        use crate::domain::CheckoutError;
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
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub(crate) fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// A one-time key (32 letters and digits), for a back-office confirmation.
pub fn random_key() -> String {
    random_string(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        32,
    )
}

/// `status IN ('a', 'b')` for the statuses `which` accepts: the SQL side of the state machine,
/// generated from it rather than written again.
pub(crate) fn status_in(which: impl Iterator<Item = OrderStatus>) -> String {
    let list: Vec<String> = which.map(|s| format!("'{}'", s.as_str())).collect();
    format!("status IN ({})", list.join(", "))
}

/// A status as stored, or the error that names the order.
pub(crate) fn status_of(id: &str, text: String) -> Result<OrderStatus, StoreError> {
    OrderStatus::parse(&text).ok_or_else(|| StoreError::UnknownStatus(id.to_owned(), text))
}

/// What is written when nothing is unsettled: an outcome learnt by reading Stripe is written
/// only while no request is out without its answer (see [`requests`]).
pub(crate) const NOTHING_UNSETTLED: &str = " AND request_key IS NULL";

#[derive(Clone)]
pub struct OrderStore {
    /// The store's connections; other modules' SQL (the back office's) goes through them too.
    pub(crate) pool: AnyPool,
    backend: Backend,
    /// When orders are looked at by the reconciler.
    watch: Watch,
    /// The order leases this server holds (token → order), given back at shutdown.
    held: Arc<Mutex<HashMap<String, String>>>,
}

#[cfg(test)]
pub(crate) mod tests;
