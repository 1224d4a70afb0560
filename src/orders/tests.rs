use super::*;
use crate::checkout::catalogue::sample;

/// Names a PostgreSQL server (`postgres://user@host:port/db`) to run these tests on instead
/// of SQLite: `scripts/test.sh` runs them on both.
const POSTGRES_VARIABLE: &str = "CHECKOUT_TEST_POSTGRES";

/// A test's own database: a SQLite file in a temporary directory, or a new database on the
/// PostgreSQL server `CHECKOUT_TEST_POSTGRES` names.
struct TestDatabase {
    url: String,
    _dir: Option<tempfile::TempDir>,
}

async fn test_database() -> TestDatabase {
    match std::env::var(POSTGRES_VARIABLE) {
        Ok(server) => {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let name = format!("t_{}", random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 16));
            let mut admin = sqlx::AnyConnection::connect(&server).await.expect("CHECKOUT_TEST_POSTGRES: cannot connect");
            sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
            let (base, _) = server.rsplit_once('/').expect("postgres://…/database");
            TestDatabase { url: format!("{base}/{name}"), _dir: None }
        }
        Err(_) => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("t.db").display());
            TestDatabase { url, _dir: Some(dir) }
        }
    }
}

async fn store() -> (OrderStore, TestDatabase) {
    let database = test_database().await;
    (OrderStore::connect(&database.url).await.unwrap(), database)
}

const LEASE: Duration = Duration::from_secs(30);

/// A stored order bound to `pi` (through a claim, as the payment flow does it).
async fn order_with_intent(store: &OrderStore, pi: &str) -> Order {
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    let claim = store.claim(&id, LEASE).await.unwrap().unwrap();
    store.attach_intent(&claim, pi).await.unwrap();
    store.release(&claim).await.unwrap();
    store.get(&id).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_new_order_starts_with_one_unit_of_the_first_product_and_a_reference_from_its_id() {
    let (store, _dir) = store().await;
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    store.open_order(&id, &sample()).await.unwrap();
    let order = store.get(&id).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Open);
    assert_eq!(order.lines.len(), 1, "opening twice stores one order");
    assert_eq!(order.lines[0].product_id, "espresso");
    assert_eq!(order.summary().amount, 1450);
    assert_eq!(order.reference, reference_for(&id));
    assert_eq!(order.summary(), Order::unsaved(&id, &sample()).summary(), "the page shows what is then stored");
}

#[tokio::test]
async fn a_new_order_is_stored_with_all_its_lines_in_their_order_by_one_insert_and_only_once() {
    let (store, _dir) = store().await;
    let mut order = Order::unsaved(&new_order_id(), &sample());
    // Not in the order of their ids, and a name JSON must escape.
    order.lines = vec![
        OrderLine { name: "Filtre \"maison\" ☕ \\ 1/2".into(), ..OrderLine::priced(&sample(), "filter", 2).unwrap() },
        OrderLine::priced(&sample(), "espresso", 3).unwrap(),
    ];
    assert!(store.store_new(&order).await.unwrap());
    let stored = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!(stored.lines, order.lines, "every line, as given, in the cart's order");
    let kept: Option<String> = sqlx::query_scalar("SELECT new_lines FROM orders WHERE id = $1").bind(&order.id).fetch_one(&store.pool).await.unwrap();
    assert_eq!(kept, None, "order_lines is the only record of the lines");

    let again = Order { lines: vec![OrderLine::priced(&sample(), "espresso", 1).unwrap()], ..order.clone() };
    assert!(!store.store_new(&again).await.unwrap(), "an order is stored once");
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().lines, order.lines, "a second insert adds no line");
}

#[tokio::test]
async fn paying_stores_a_glanced_at_order_already_leased_and_leases_a_stored_one_as_it_is() {
    let (store, _dir) = store().await;
    let new = new_order_id();
    let (claim, stored_now) = store.open_claimed(&new, &sample(), LEASE, |_| None).await.unwrap().expect("a new order is stored leased");
    let as_stored = store.get(&new).await.unwrap().unwrap();
    assert_eq!(as_stored.summary(), Order::unsaved(&new, &sample()).summary());
    assert_eq!(stored_now, Some(as_stored), "the order returned is the order stored");
    assert!(store.open_claimed(&new, &sample(), LEASE, |_| None).await.unwrap().is_none(), "one lease at a time");
    assert!(store.claim(&new, LEASE).await.unwrap().is_none());
    store.begin_confirm(&claim).await.expect("the lease is this claim's");
    store.release(&claim).await.unwrap();
    assert!(store.open_claimed(&new, &sample(), LEASE, |_| None).await.unwrap().is_some(), "free again once given back");

    let stored = new_order_id();
    store.open_order(&stored, &sample()).await.unwrap();
    assert!(store.set_line(&stored, &OrderLine::priced(&sample(), "filter", 2).unwrap(), 1).await.unwrap());
    let before = store.get(&stored).await.unwrap().unwrap();
    let (claim, stored_now) = store.open_claimed(&stored, &sample(), LEASE, |_| None).await.unwrap().expect("a stored order is leased");
    assert_eq!(stored_now, None, "an order stored before is read when needed");
    assert_eq!(store.get(&stored).await.unwrap().unwrap().lines, before.lines, "its cart is kept");
    store.begin_confirm(&claim).await.expect("the lease is this claim's");
}

#[tokio::test]
async fn a_payment_that_stores_its_order_records_its_first_create_with_it_and_a_stored_order_is_only_leased() {
    let (store, _dir) = store().await;
    let first_create = |order: &Order| {
        Some(PendingCreate {
            attempt: 0,
            payment_method_id: "pm_card_visa".into(),
            amount: order.summary().amount,
            created_at: 1_700_000_000,
            customer_id: Some("cus_Saved".into()),
            save_card: true,
        })
    };
    let new = new_order_id();
    let (claim, stored_now) = store.open_claimed(&new, &sample(), LEASE, first_create).await.unwrap().expect("stored leased");
    let as_stored = store.get(&new).await.unwrap().unwrap();
    assert_eq!(stored_now.as_ref(), Some(&as_stored), "the order returned is the order stored");
    let pending = as_stored.pending_create.clone().expect("its first create is recorded with it");
    let expected = PendingCreate { attempt: 1, amount: as_stored.summary().amount, ..first_create(&as_stored).unwrap() };
    assert_eq!(pending, expected, "as attempt 1, with its card, amount and terms");
    assert_eq!((as_stored.attempt, as_stored.customer_id.as_deref()), (1, Some("cus_Saved")));
    assert_eq!(store.begin_confirm(&claim).await.unwrap(), 2, "the next attempt counts on from it");
    store.release(&claim).await.unwrap();

    // Stored already: leased as it is, the first create not recorded.
    let (claim, stored_now) = store.open_claimed(&new, &sample(), LEASE, first_create).await.unwrap().expect("leased");
    assert_eq!(stored_now, None);
    assert_eq!(store.get(&new).await.unwrap().unwrap().attempt, 2, "nothing recorded");
    store.release(&claim).await.unwrap();
}

#[tokio::test]
async fn a_repeat_order_copies_every_line_of_its_source_in_its_order() {
    let (store, _dir) = store().await;
    let source = new_order_id();
    store.open_order(&source, &sample()).await.unwrap();
    // Filter first, then espresso: not the order of their ids.
    let removed = OrderLine { quantity: 0, ..OrderLine::priced(&sample(), "espresso", 1).unwrap() };
    assert!(store.set_line(&source, &removed, 0).await.unwrap());
    for (position, (product, quantity)) in [(1, ("filter", 2)), (2, ("espresso", 3))] {
        assert!(store.set_line(&source, &OrderLine::priced(&sample(), product, quantity).unwrap(), position).await.unwrap());
    }
    let source = store.get(&source).await.unwrap().unwrap();
    let lines: Vec<(&str, i64)> = source.lines.iter().map(|l| (l.product_id.as_str(), l.quantity)).collect();
    assert_eq!(lines, [("filter", 2), ("espresso", 3)]);
    let repeat = new_order_id();
    store.open_repeat_order(&repeat, &source, "pm_card_visa").await.unwrap();
    let repeat = store.get(&repeat).await.unwrap().unwrap();
    assert_eq!(repeat.lines, source.lines, "the same lines, quantities, prices and order");
    assert_eq!(repeat.summary().amount, source.summary().amount);
}

#[tokio::test]
async fn fulfilment_happens_exactly_once() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    let card = CardShown { brand: Some("visa".to_owned()), last4: Some("4242".to_owned()) };
    let fulfil = || store.fulfil(&order.id, "pi_1", PaymentEvent::Succeeded, 1450, "eur", card.clone());
    assert_eq!(fulfil().await.unwrap(), Fulfilment::Fulfilled);
    assert_eq!(fulfil().await.unwrap(), Fulfilment::AlreadyFulfilled);
    assert_eq!(store.fulfilment_count(&order.id).await.unwrap(), 1);
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().status, OrderStatus::Paid);
}

/// The fulfilment recorded for the order: its intent and amount.
async fn fulfilment_of(store: &OrderStore, order_id: &str) -> Option<(String, i64)> {
    let row = sqlx::query("SELECT payment_intent_id, amount FROM fulfilments WHERE order_id = $1").bind(order_id).fetch_optional(&store.pool).await.unwrap();
    row.map(|r| (r.get("payment_intent_id"), r.get("amount")))
}

#[tokio::test]
async fn binding_and_fulfilling_at_once_records_one_fulfilment_of_the_orders_total_and_gives_the_lease_back() {
    let (store, _dir) = store().await;
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    let claim = store.claim(&id, LEASE).await.unwrap().unwrap();
    store.record_pending_create(&claim, PendingCreate { attempt: 0, payment_method_id: "pm_1".into(), amount: 1450, created_at: now(), customer_id: None, save_card: false }).await.unwrap();
    let card = CardShown { brand: Some("visa".to_owned()), last4: Some("4242".to_owned()) };
    let bind_and_fulfil = || store.bind_and_fulfil(&claim, "pi_1", PaymentEvent::Succeeded, 1450, "eur", card.clone());
    assert!(bind_and_fulfil().await.unwrap());
    assert!(!bind_and_fulfil().await.unwrap(), "a paid order is fulfilled once");
    let order = store.get(&id).await.unwrap().unwrap();
    assert_eq!((order.status, order.payment_intent_id.as_deref(), order.pending_create), (OrderStatus::Paid, Some("pi_1"), None));
    assert_eq!((order.card_brand.as_deref(), order.amount_captured), (Some("visa"), 1450));
    assert_eq!(fulfilment_of(&store, &id).await, Some(("pi_1".to_owned(), 1450)));
    assert_eq!(store.fulfil(&id, "pi_1", PaymentEvent::Succeeded, 1450, "eur", card.clone()).await.unwrap(), Fulfilment::AlreadyFulfilled);
    let next = store.claim(&id, LEASE).await.unwrap().expect("the lease went back with the fulfilment");
    store.release(&claim).await.unwrap();
    assert!(store.claim(&id, LEASE).await.unwrap().is_none(), "the old claim cannot give back the next holder's lease");
    store.release(&next).await.unwrap();
}

#[tokio::test]
async fn binding_and_fulfilling_at_once_changes_nothing_unless_attach_and_fulfil_would_both_succeed() {
    let (store, _dir) = store().await;
    let untouched = |order: Order| (order.status, order.payment_intent_id, order.card_brand);
    // Another amount or currency, or no longer this server's lease: nothing bound, nothing fulfilled.
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    let claim = store.claim(&id, LEASE).await.unwrap().unwrap();
    let card = || CardShown { brand: Some("visa".to_owned()), last4: None };
    assert!(!store.bind_and_fulfil(&claim, "pi_1", PaymentEvent::Succeeded, 1449, "eur", card()).await.unwrap());
    assert!(!store.bind_and_fulfil(&claim, "pi_1", PaymentEvent::Succeeded, 1450, "usd", card()).await.unwrap());
    store.release(&claim).await.unwrap();
    assert!(!store.bind_and_fulfil(&claim, "pi_1", PaymentEvent::Succeeded, 1450, "eur", card()).await.unwrap());
    assert_eq!(untouched(store.get(&id).await.unwrap().unwrap()), (OrderStatus::Open, None, None));
    assert_eq!(fulfilment_of(&store, &id).await, None);
    // Bound to another intent: that one stays.
    let bound = order_with_intent(&store, "pi_2").await;
    let claim = store.claim(&bound.id, LEASE).await.unwrap().unwrap();
    assert!(!store.bind_and_fulfil(&claim, "pi_3", PaymentEvent::Succeeded, 1450, "eur", card()).await.unwrap());
    assert_eq!(untouched(store.get(&bound.id).await.unwrap().unwrap()), (OrderStatus::Open, Some("pi_2".to_owned()), None));
    assert_eq!(fulfilment_of(&store, &bound.id).await, None);
}

#[tokio::test]
async fn an_authorisation_is_fulfilled_once_and_its_capture_records_nothing_more() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    let authorised = store.fulfil(&order.id, "pi_1", PaymentEvent::Authorised, 1450, "eur", CardShown::default()).await.unwrap();
    assert_eq!(authorised, Fulfilment::Fulfilled);
    assert_eq!(fulfilment_of(&store, &order.id).await, Some(("pi_1".to_owned(), 1450)));
    assert!(store.end_authorisation(&order.id, PaymentEvent::Captured, 1450).await.unwrap());
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().status, OrderStatus::Paid);
    assert_eq!(store.fulfilment_count(&order.id).await.unwrap(), 1);
}

#[test]
fn the_fulfilment_trigger_fires_from_exactly_the_statuses_a_payment_fulfils() {
    let statuses = |event| OrderStatus::before(event).map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ");
    assert_eq!(statuses(PaymentEvent::Succeeded), statuses(PaymentEvent::Authorised));
    let from = format!("OLD.status IN ({})", statuses(PaymentEvent::Succeeded));
    let to = format!("NEW.status IN ('{}', '{}')", OrderStatus::Paid.as_str(), OrderStatus::Authorised.as_str());
    for migration in [include_str!("migrations/sqlite/0005_fulfilment_trigger.sql"), include_str!("migrations/postgres/0005_fulfilment_trigger.sql")] {
        assert!(migration.contains(&from) && migration.contains(&to), "{from} … {to}");
    }
}

#[tokio::test]
async fn an_intent_of_another_amount_or_currency_does_not_fulfil_the_order() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    let wrong_amount = store.fulfil(&order.id, "pi_1", PaymentEvent::Succeeded, 1449, "eur", CardShown::default()).await.unwrap();
    assert_eq!(wrong_amount, Fulfilment::Mismatch { order_amount: 1450, order_currency: "eur".into() });
    let wrong_currency = store.fulfil(&order.id, "pi_1", PaymentEvent::Succeeded, 1450, "usd", CardShown::default()).await.unwrap();
    assert!(matches!(wrong_currency, Fulfilment::Mismatch { .. }));
    assert_eq!(store.fulfilment_count(&order.id).await.unwrap(), 0);
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().status, OrderStatus::Open);
}

#[tokio::test]
async fn only_the_orders_own_intent_binds_and_fulfils_it() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    let claim = store.claim(&order.id, LEASE).await.unwrap().unwrap();
    assert!(matches!(store.attach_intent(&claim, "pi_2").await, Err(StoreError::OtherIntent { .. })));
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().payment_intent_id.as_deref(), Some("pi_1"));
    let other = store.fulfil(&order.id, "pi_2", PaymentEvent::Succeeded, 1450, "eur", CardShown::default()).await.unwrap();
    assert_eq!(other, Fulfilment::NotFulfillable(OrderStatus::Open));
}

#[tokio::test]
async fn a_paid_or_reviewed_order_never_changes() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    store.fulfil(&order.id, "pi_1", PaymentEvent::Succeeded, 1450, "eur", CardShown::default()).await.unwrap();
    let line = OrderLine::priced(&sample(), "filter", 2).unwrap();
    assert!(!store.set_line(&order.id, &line, 1).await.unwrap());
    assert!(!store.record(&order.id, PaymentEvent::Declined, Some("x")).await.unwrap());
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().status, OrderStatus::Paid);

    let reviewed = order_with_intent(&store, "pi_2").await;
    assert!(store.record(&reviewed.id, PaymentEvent::Mismatched, None).await.unwrap());
    assert!(!store.record(&reviewed.id, PaymentEvent::Succeeded, None).await.unwrap());
    let late = store.fulfil(&reviewed.id, "pi_2", PaymentEvent::Succeeded, 1450, "eur", CardShown::default()).await.unwrap();
    assert_eq!(late, Fulfilment::NotFulfillable(OrderStatus::NeedsReview));
}

#[tokio::test]
async fn the_cart_is_frozen_while_money_may_move() {
    let (store, _dir) = store().await;
    let line = OrderLine::priced(&sample(), "espresso", 20).unwrap();
    let order = order_with_intent(&store, "pi_1").await;

    let claim = store.claim(&order.id, LEASE).await.unwrap().unwrap();
    assert!(!store.set_line(&order.id, &line, 0).await.unwrap(), "a server is talking to Stripe");
    store.begin_confirm(&claim).await.unwrap();
    store.release(&claim).await.unwrap();
    assert!(!store.set_line(&order.id, &line, 0).await.unwrap(), "a confirm went out without an answer");

    assert!(store.record(&order.id, PaymentEvent::NeedsAuthentication, None).await.unwrap());
    assert!(!store.set_line(&order.id, &line, 0).await.unwrap(), "3-D Secure under way");
    assert!(store.record(&order.id, PaymentEvent::Declined, Some("declined")).await.unwrap());
    assert!(store.set_line(&order.id, &line, 0).await.unwrap(), "a decline makes the cart editable again");
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().summary().amount, 20 * 1450);

    let fresh = new_order_id();
    store.open_order(&fresh, &sample()).await.unwrap();
    let claim = store.claim(&fresh, LEASE).await.unwrap().unwrap();
    let pending = store.record_pending_create(&claim, PendingCreate { attempt: 0, payment_method_id: "pm_1".into(), amount: 1450, created_at: now(), customer_id: None, save_card: false }).await.unwrap();
    assert_eq!(pending.attempt, 1, "the first attempt");
    store.release(&claim).await.unwrap();
    assert!(!store.set_line(&fresh, &line, 0).await.unwrap(), "a create went out without an answer");
}

#[tokio::test]
async fn one_claim_at_a_time_and_a_lost_claim_writes_nothing() {
    let (store, _dir) = store().await;
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    let first = store.claim(&id, LEASE).await.unwrap().expect("free");
    assert!(store.claim(&id, LEASE).await.unwrap().is_none(), "held");
    store.release(&first).await.unwrap();
    let second = store.claim(&id, LEASE).await.unwrap().expect("released");
    assert!(matches!(store.begin_confirm(&first).await, Err(StoreError::ClaimLost(_))), "the old holder writes nothing");
    assert!(matches!(store.attach_intent(&first, "pi_x").await, Err(StoreError::ClaimLost(_))));
    assert_eq!(store.begin_confirm(&second).await.unwrap(), 1);
}

#[tokio::test]
async fn an_expired_lease_is_taken_over() {
    let (store, _dir) = store().await;
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    let stale = store.claim(&id, Duration::from_secs(1)).await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let taken = store.claim(&id, LEASE).await.unwrap();
    assert!(taken.is_some(), "a crashed server does not keep the order");
    assert!(store.begin_confirm(&stale).await.is_err());

    // The same for a payment's lease on an order it stored.
    let paid = new_order_id();
    let (stale, _) = store.open_claimed(&paid, &sample(), Duration::from_secs(1), |_| None).await.unwrap().unwrap();
    assert!(store.open_claimed(&paid, &sample(), LEASE, |_| None).await.unwrap().is_none(), "held until it runs out");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (taken, stored_now) = store.open_claimed(&paid, &sample(), LEASE, |_| None).await.unwrap().expect("taken over");
    assert_eq!(stored_now, None, "stored before: read when needed");
    assert!(store.begin_confirm(&stale).await.is_err());
    store.begin_confirm(&taken).await.expect("the lease is the new holder's");
}

#[tokio::test]
async fn concurrent_first_payments_of_one_order_store_it_once_and_one_of_them_holds_it() {
    let (store, _dir) = store().await;
    let id = new_order_id();
    let mut tries = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (store, id) = (store.clone(), id.clone());
        tries.spawn(async move { store.open_claimed(&id, &sample(), LEASE, |_| None).await.unwrap() });
    }
    let held: Vec<_> = tries.join_all().await.into_iter().flatten().collect();
    assert_eq!(held.len(), 1, "one lease");
    let (claim, stored_now) = &held[0];
    assert_eq!(stored_now.as_ref(), store.get(&id).await.unwrap().as_ref(), "the holder stored it");
    assert_eq!(store.get(&id).await.unwrap().unwrap().lines, Order::unsaved(&id, &sample()).lines, "its lines once");
    store.begin_confirm(claim).await.expect("the lease is the holder's");
}

#[tokio::test]
async fn a_canceled_intent_unbinds_the_order_for_a_new_one() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    store.record(&order.id, PaymentEvent::NeedsAuthentication, None).await.unwrap();
    assert!(store.record(&order.id, PaymentEvent::IntentCanceled, None).await.unwrap());
    let after = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!((after.status, after.payment_intent_id), (OrderStatus::Open, None));
}

#[tokio::test]
async fn attempts_count_up_and_survive_reopening() {
    let database = test_database().await;
    let url = database.url.clone();
    let store = OrderStore::connect(&url).await.unwrap();
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    let claim = store.claim(&id, LEASE).await.unwrap().unwrap();
    assert_eq!(store.begin_confirm(&claim).await.unwrap(), 1);
    assert_eq!(store.begin_confirm(&claim).await.unwrap(), 2);
    let key = store.server_secret("cookie", 32).await.unwrap();
    drop(store);
    let reopened = OrderStore::connect(&url).await.unwrap();
    assert_eq!(reopened.get(&id).await.unwrap().unwrap().attempt, 2);
    assert_eq!(reopened.server_secret("cookie", 32).await.unwrap(), key, "the secret is kept");
}

#[tokio::test]
async fn a_database_of_the_first_schema_is_migrated_without_losing_orders() {
    // SQLite's own history: PostgreSQL starts at today's schema.
    if std::env::var(POSTGRES_VARIABLE).is_ok() {
        return;
    }
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use std::str::FromStr;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    {
        let options = SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true).foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
        let first = Migrator { migrations: Cow::Owned(vec![migrator(Backend::Sqlite).migrations[0].clone()]), ..Migrator::DEFAULT };
        first.run(&pool).await.unwrap();
        sqlx::query("INSERT INTO orders (id, reference, status, currency, payment_intent_id, created_at, updated_at) VALUES ('ord_old', 'AAAA-BBBB', 'paid', 'eur', 'pi_old', 1, 1)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO order_lines VALUES ('ord_old', 'espresso', 'Espresso beans', 2, 1450, 0)").execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO fulfilments VALUES ('ord_old', 'pi_old', 2900, 1)").execute(&pool).await.unwrap();
        pool.close().await;
    }
    let store = OrderStore::connect(&url).await.unwrap();
    let order = store.get("ord_old").await.unwrap().unwrap();
    assert_eq!((order.status, order.summary().amount), (OrderStatus::Paid, 2900));
    assert_eq!((order.amount_captured, order.amount_refunded), (2900, 0), "a paid order captured what fulfilled it");
    assert_eq!(store.fulfilment_count("ord_old").await.unwrap(), 1, "fulfilments are kept");
    assert!(store.set_refunded("ord_old", 2900, 900).await.unwrap(), "the new columns are there");
    for status in ["needs_review", "canceled", "authorisation_expired"] {
        sqlx::query("UPDATE orders SET status = $1 WHERE id = 'ord_old'").bind(status).execute(&store.pool).await.expect("the schema accepts every status");
    }
}

#[tokio::test]
async fn the_reconciler_finds_unsettled_orders_that_no_server_holds() {
    let (store, _dir) = store().await;
    let processing = order_with_intent(&store, "pi_1").await;
    store.record(&processing.id, PaymentEvent::Processing, None).await.unwrap();
    let paid = order_with_intent(&store, "pi_2").await;
    store.fulfil(&paid.id, "pi_2", PaymentEvent::Succeeded, 1450, "eur", CardShown::default()).await.unwrap();
    let found = store.to_reconcile(Duration::from_secs(60), Duration::from_secs(3600), 10).await.unwrap();
    assert_eq!(found, vec![processing.id.clone()]);
    let claim = store.claim(&processing.id, LEASE).await.unwrap().unwrap();
    assert!(store.to_reconcile(Duration::from_secs(60), Duration::from_secs(3600), 10).await.unwrap().is_empty(), "held by a server");
    store.release(&claim).await.unwrap();
}

#[tokio::test]
async fn an_authorisation_ends_once_captured_canceled_or_expired() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_auth").await;
    store.fulfil(&order.id, "pi_auth", PaymentEvent::Authorised, 1450, "eur", CardShown::default()).await.unwrap();
    let authorised = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!((authorised.status, authorised.amount_captured), (OrderStatus::Authorised, 0), "nothing captured yet");
    assert!(store.end_authorisation(&order.id, PaymentEvent::Captured, 1000).await.unwrap());
    let paid = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!((paid.status, paid.amount_captured), (OrderStatus::Paid, 1000), "a partial capture");
    assert!(!store.end_authorisation(&order.id, PaymentEvent::AuthorisationCanceled, 0).await.unwrap(), "a captured payment is not canceled");
    assert!(!store.end_authorisation(&order.id, PaymentEvent::AuthorisationExpired, 0).await.unwrap());
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().amount_captured, 1000);

    let other = order_with_intent(&store, "pi_auth2").await;
    store.fulfil(&other.id, "pi_auth2", PaymentEvent::Authorised, 1450, "eur", CardShown::default()).await.unwrap();
    assert!(store.end_authorisation(&other.id, PaymentEvent::AuthorisationExpired, 0).await.unwrap());
    assert_eq!(store.get(&other.id).await.unwrap().unwrap().status, OrderStatus::AuthorisationExpired);
    assert!(!store.end_authorisation(&other.id, PaymentEvent::Captured, 1450).await.unwrap(), "an expired authorisation is not captured");
}

#[tokio::test]
async fn held_authorisations_are_read_again_after_the_check_interval() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_held").await;
    store.fulfil(&order.id, "pi_held", PaymentEvent::Authorised, 1450, "eur", CardShown::default()).await.unwrap();
    let grace = Duration::from_secs(60);
    assert!(store.to_reconcile(grace, Duration::from_secs(3600), 10).await.unwrap().is_empty(), "just read");
    assert_eq!(store.to_reconcile(grace, Duration::ZERO, 10).await.unwrap(), vec![order.id.clone()], "due again");
}

#[tokio::test]
async fn refunds_are_recorded_from_stripes_totals_and_never_beyond_the_capture() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_r").await;
    store.fulfil(&order.id, "pi_r", PaymentEvent::Succeeded, 1450, "eur", CardShown::default()).await.unwrap();
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().amount_captured, 1450);
    assert!(store.set_refunded(&order.id, 1450, 500).await.unwrap());
    assert!(store.set_refunded(&order.id, 1450, 300).await.unwrap());
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().amount_refunded, 500, "an older read does not undo a newer one");
    assert!(!store.set_refunded(&order.id, 1450, 1500).await.unwrap(), "more than captured is refused");
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().amount_refunded, 500);
}

#[tokio::test]
async fn an_action_key_does_its_action_once() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_a").await;
    let key = random_key();
    assert_eq!(store.begin_action(&key, &order.id, ActionKind::Refund, Some(500)).await.unwrap(), Some(ActionState::Running));
    assert_eq!(store.begin_action(&key, &order.id, ActionKind::Refund, Some(500)).await.unwrap(), Some(ActionState::Running), "not finished: may run again");
    store.finish_action(&key, &ActionState::Done("Refunded €5.00.".into())).await.unwrap();
    store.finish_action(&key, &ActionState::Refused("late".into())).await.unwrap();
    assert_eq!(store.begin_action(&key, &order.id, ActionKind::Refund, Some(500)).await.unwrap(), Some(ActionState::Done("Refunded €5.00.".into())));
    assert_eq!(store.begin_action(&key, &order.id, ActionKind::Refund, Some(900)).await.unwrap(), None, "a key is for one action");
    assert_eq!(store.begin_action(&key, &order.id, ActionKind::Capture, Some(500)).await.unwrap(), None);
}

#[tokio::test]
async fn saved_cards_belong_to_the_browser_that_saved_them() {
    let (store, _dir) = store().await;
    store.add_shopper("shp_a", "a@example.com").await.unwrap();
    store.add_shopper("shp_b", "a@example.com").await.unwrap();
    assert_eq!(store.set_customer("shp_a", "cus_1").await.unwrap().as_deref(), Some("cus_1"));
    assert_eq!(store.set_customer("shp_a", "cus_2").await.unwrap().as_deref(), Some("cus_1"), "one Customer per browser");
    let card = crate::checkout::SavedCard { payment_method_id: "pm_1".into(), brand: "visa".into(), last4: "4242".into(), exp_month: 12, exp_year: 2034 };
    store.remember_card("shp_a", &card).await.unwrap();
    store.remember_card("shp_b", &card).await.unwrap();
    assert_eq!(store.saved_cards("shp_a").await.unwrap(), vec![card.clone()]);
    assert!(store.saved_cards("shp_b").await.unwrap().is_empty(), "the same e-mail opens nothing");
    assert_eq!(store.saved_card_of("shp_b", "pm_1").await.unwrap(), None);
    assert!(!store.forget_card("shp_b", "pm_1").await.unwrap());
    assert_eq!(store.shopper_of_customer("cus_1").await.unwrap().as_deref(), Some("shp_a"));
    assert!(store.forget_card("shp_a", "pm_1").await.unwrap());
    assert!(store.saved_cards("shp_a").await.unwrap().is_empty());
}

#[tokio::test]
async fn the_back_office_lists_orders_newest_first_by_page_and_status() {
    let (store, _dir) = store().await;
    let mut ids = vec![];
    for n in 0..5 {
        let id = new_order_id();
        store.open_order(&id, &sample()).await.unwrap();
        sqlx::query("UPDATE orders SET created_at = $1 WHERE id = $2").bind(1_000 + n).bind(&id).execute(&store.pool).await.unwrap();
        ids.push(id);
    }
    store.record(&ids[1], PaymentEvent::Declined, Some("declined")).await.unwrap();
    store.record(&ids[3], PaymentEvent::Declined, Some("declined")).await.unwrap();
    let first = store.list_orders(None, 0, 2).await.unwrap();
    assert_eq!(first.orders.iter().map(|o| o.id.clone()).collect::<Vec<_>>(), vec![ids[4].clone(), ids[3].clone()]);
    assert!(first.has_more);
    let last = store.list_orders(None, 2, 2).await.unwrap();
    assert_eq!(last.orders.iter().map(|o| o.id.clone()).collect::<Vec<_>>(), vec![ids[0].clone()]);
    assert!(!last.has_more);
    assert_eq!(last.orders[0].lines.len(), 1, "with their lines");
    let failed = store.list_orders(Some(OrderStatus::Failed), 0, 10).await.unwrap();
    assert_eq!(failed.orders.iter().map(|o| o.id.clone()).collect::<Vec<_>>(), vec![ids[3].clone(), ids[1].clone()]);
}

#[tokio::test]
async fn one_server_at_a_time_holds_a_server_lease_and_another_takes_it_when_it_runs_out() {
    let (store, _db) = store().await;
    let short = Duration::from_secs(1);
    assert!(store.hold_server_lease("reconciler", "server-a", short).await.unwrap());
    assert!(store.hold_server_lease("reconciler", "server-a", short).await.unwrap(), "its holder renews it");
    assert!(!store.hold_server_lease("reconciler", "server-b", LEASE).await.unwrap(), "another server waits");
    assert!(store.hold_server_lease("other-work", "server-b", LEASE).await.unwrap(), "each lease is its own");
    // server-a stops renewing (it died): once its lease ran out, server-b takes over.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(store.hold_server_lease("reconciler", "server-b", LEASE).await.unwrap());
    assert!(!store.hold_server_lease("reconciler", "server-a", short).await.unwrap(), "the old holder does not take it back");
}

#[tokio::test]
async fn a_database_out_of_reach_tells_the_shopper_to_try_again_and_other_failures_do_not() {
    let (store, _db) = store().await;
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    store.pool.close().await;
    let err = store.get(&id).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert_eq!(crate::payments::context::internal(err), crate::checkout::CheckoutError::ShopUnavailable);
    let other = StoreError::UnknownStatus(id, "lost".into());
    assert!(!other.is_unavailable());
    assert_eq!(crate::payments::context::internal(other), crate::checkout::CheckoutError::Internal);
}

#[tokio::test]
async fn a_commit_never_checkpoints_sqlite_the_background_task_does() {
    let (store, database) = store().await;
    let Some(path) = database.url.strip_prefix("sqlite://") else { return };
    // Well past SQLite's default of 1,000 pages, after which a commit would checkpoint (and
    // the WAL file would be written again from its start: measured, it stays at 1,015 pages).
    for _ in 0..600 {
        store.open_order(&new_order_id(), &sample()).await.unwrap();
    }
    let page_size: i64 = sqlx::query("PRAGMA page_size").fetch_one(&store.pool).await.unwrap().get(0);
    let wal_pages = std::fs::metadata(format!("{path}-wal")).unwrap().len() as i64 / page_size;
    assert!(wal_pages > 2000, "every commit stays in the WAL until a checkpoint: {wal_pages} pages");

    // The WAL header's checkpoint sequence number (bytes 12..16) counts the times the WAL was
    // started again, which a writer does once a checkpoint has copied every frame. Read from
    // the file, it is seen without checkpointing anything.
    let restarts = || {
        use std::io::Read;
        let mut header = [0u8; 16];
        std::fs::File::open(format!("{path}-wal")).unwrap().read_exact(&mut header).unwrap();
        u32::from_be_bytes(header[12..16].try_into().unwrap())
    };
    let before = restarts();
    let _task = store.spawn_checkpoints(Duration::from_millis(10));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while restarts() == before {
        assert!(std::time::Instant::now() < deadline, "the background checkpoint never let the WAL start again");
        tokio::time::sleep(Duration::from_millis(20)).await;
        store.open_order(&new_order_id(), &sample()).await.unwrap();
    }
}

#[tokio::test]
async fn a_connection_the_database_closed_while_idle_is_replaced_before_use() {
    let (store, database) = store().await;
    // A SQLite connection is a file: nothing outside the process closes it.
    let Ok(server) = std::env::var(POSTGRES_VARIABLE) else { return };
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    // The database ends every connection of the store (as a restart does) while they are idle.
    use sqlx::Connection;
    let mut admin = sqlx::AnyConnection::connect(&server).await.unwrap();
    let name = database.url.rsplit('/').next().unwrap();
    let ended = sqlx::query("SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = $1")
        .bind(name)
        .fetch_one(&mut admin)
        .await
        .unwrap()
        .get::<i64, _>("n");
    assert!(ended >= 1, "the store's connections were ended");
    tokio::time::sleep(PING_AFTER_IDLE + Duration::from_millis(200)).await;
    assert_eq!(store.get(&id).await.unwrap().map(|o| o.id), Some(id), "the next read finds the order on a new connection");
}
