//! The store's tests, one file per guarantee, on SQLite or, when `CHECKOUT_TEST_POSTGRES`
//! names a server, PostgreSQL (`scripts/test.sh` runs them on both). Here: what they share.

#![allow(dead_code)]

use std::borrow::Cow;
use std::time::Duration;

use sqlx::migrate::{Migration, Migrator};
use sqlx::Row;

use crate::domain::catalogue::sample;
use crate::domain::PaymentEvent;
use crate::server::store::sql::Sql;
use crate::server::store::*;

mod attempts;
mod backoff;
mod cart;
mod connection;
mod fulfilment;
mod lease;
mod migrations;
mod order;
mod queue;
mod refunds;
mod requests;
mod shoppers;
mod status;

/// Names a PostgreSQL server (`postgres://user@host:port/db`) to run these tests on instead
/// of SQLite: `scripts/test.sh` runs them on both.
pub(crate) const POSTGRES_VARIABLE: &str = "CHECKOUT_TEST_POSTGRES";

/// A test's own database: a SQLite file in a temporary directory, or a new database on the
/// PostgreSQL server `CHECKOUT_TEST_POSTGRES` names.
pub(crate) struct TestDatabase {
    url: String,
    _dir: Option<tempfile::TempDir>,
}

pub(crate) async fn test_database() -> TestDatabase {
    match std::env::var(POSTGRES_VARIABLE) {
        Ok(server) => {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let name = format!(
                "t_{}",
                random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 16)
            );
            let mut admin = sqlx::AnyConnection::connect(&server)
                .await
                .expect("CHECKOUT_TEST_POSTGRES: cannot connect");
            sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .unwrap();
            let (base, _) = server.rsplit_once('/').expect("postgres://…/database");
            TestDatabase {
                url: format!("{base}/{name}"),
                _dir: None,
            }
        }
        Err(_) => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("t.db").display());
            TestDatabase {
                url,
                _dir: Some(dir),
            }
        }
    }
}

pub(crate) async fn store() -> (OrderStore, TestDatabase) {
    let database = test_database().await;
    (OrderStore::connect(&database.url).await.unwrap(), database)
}

pub(crate) const LEASE: Duration = Duration::from_secs(30);

/// Runs `write` under a lease on the order taken for it, and gives the lease back.
pub(crate) async fn leased<T>(
    store: &OrderStore,
    id: &str,
    write: impl AsyncFnOnce(&Lease) -> T,
) -> T {
    let lease = store
        .take_lease(id, LEASE)
        .await
        .unwrap()
        .expect("the order is free");
    let done = write(&lease).await;
    store.release(&lease).await.unwrap();
    done
}

/// A stored order bound to `pi` (under a lease, as the payment flow does it).
pub(crate) async fn order_with_intent(store: &OrderStore, pi: &str) -> Order {
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    leased(store, &id, async |l| {
        store.attach_intent(l, pi, None).await.unwrap()
    })
    .await;
    store.get(&id).await.unwrap().unwrap()
}

/// A recorded create of 1450 (the sample's default cart) as attempt `n` would send it.
pub(crate) fn create(order_id: &str, n: i64) -> SentRequest {
    let call = StripeCall::Create {
        payment_method: "pm_card_visa".into(),
        amount: 1450,
        customer: None,
        save_card: false,
    };
    SentRequest {
        key: format!("checkout-{order_id}-attempt-{n}-create"),
        call,
        sent_at: now(),
    }
}

/// A recorded confirm of `pi` as attempt `n` would send it.
pub(crate) fn confirm(order_id: &str, pi: &str, n: i64) -> SentRequest {
    let call = StripeCall::Confirm {
        payment_intent: pi.into(),
        payment_method: "pm_card_visa".into(),
    };
    SentRequest {
        key: format!("checkout-{order_id}-attempt-{n}-confirm"),
        call,
        sent_at: now(),
    }
}

pub(crate) fn payment<'a>(
    pi: &'a str,
    event: PaymentEvent,
    amount: i64,
    currency: &'a str,
) -> Payment<'a> {
    Payment {
        payment_intent_id: pi,
        event,
        amount,
        currency,
    }
}

pub(crate) fn visa() -> CardShown {
    CardShown {
        brand: Some("visa".to_owned()),
        last4: Some("4242".to_owned()),
    }
}

pub(crate) async fn fulfil(store: &OrderStore, id: &str, paid: Payment<'_>) -> Fulfilment {
    leased(store, id, async |l| {
        store.fulfil(l, paid, visa()).await.unwrap()
    })
    .await
}

pub(crate) async fn record(store: &OrderStore, id: &str, event: PaymentEvent) -> bool {
    leased(store, id, async |l| {
        store.record(l, event, None).await.unwrap()
    })
    .await
}

/// Makes the lease run out now, as if its holder had stalled past it.
pub(crate) async fn expire_lease(store: &OrderStore, id: &str) {
    Sql::new("UPDATE orders SET lease_expires_at = ? WHERE id = ?")
        .bind(now() - 1)
        .bind(id)
        .execute(&store.pool)
        .await
        .unwrap();
}

/// The fulfilment recorded for the order: its intent and amount.
pub(crate) async fn fulfilment_of(store: &OrderStore, order_id: &str) -> Option<(String, i64)> {
    let row = sqlx::query("SELECT payment_intent_id, amount FROM fulfilments WHERE order_id = $1")
        .bind(order_id)
        .fetch_optional(&store.pool)
        .await
        .unwrap();
    row.map(|r| (r.get("payment_intent_id"), r.get("amount")))
}

/// Takes every order due by `by`, as a pass does, and says which were taken, in order.
pub(crate) async fn one_pass(store: &OrderStore, by: i64) -> Vec<String> {
    let mut taken = vec![];
    loop {
        let due = store.due(by, 100).await.unwrap();
        if due.is_empty() {
            return taken;
        }
        for order in due {
            if let Some(lease) = store.take_due(&order, by, LEASE).await.unwrap() {
                taken.push(order.id.clone());
                store.release(&lease).await.unwrap();
            }
        }
    }
}
