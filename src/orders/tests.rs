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

/// Runs `write` under a lease on the order taken for it, and gives the lease back.
async fn leased<T>(store: &OrderStore, id: &str, write: impl AsyncFnOnce(&Lease) -> T) -> T {
    let lease = store.take_lease(id, LEASE).await.unwrap().expect("the order is free");
    let done = write(&lease).await;
    store.release(&lease).await.unwrap();
    done
}

/// A stored order bound to `pi` (under a lease, as the payment flow does it).
async fn order_with_intent(store: &OrderStore, pi: &str) -> Order {
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    leased(store, &id, async |l| store.attach_intent(l, pi, None).await.unwrap()).await;
    store.get(&id).await.unwrap().unwrap()
}

/// A recorded create of 1450 (the sample's default cart) as attempt `n` would send it.
fn create(order_id: &str, n: i64) -> SentRequest {
    let call = StripeCall::Create { payment_method: "pm_card_visa".into(), amount: 1450, customer: None, save_card: false };
    SentRequest { key: format!("checkout-{order_id}-attempt-{n}-create"), call, sent_at: now() }
}

/// A recorded confirm of `pi` as attempt `n` would send it.
fn confirm(order_id: &str, pi: &str, n: i64) -> SentRequest {
    let call = StripeCall::Confirm { payment_intent: pi.into(), payment_method: "pm_card_visa".into() };
    SentRequest { key: format!("checkout-{order_id}-attempt-{n}-confirm"), call, sent_at: now() }
}

fn payment<'a>(pi: &'a str, event: PaymentEvent, amount: i64, currency: &'a str) -> Payment<'a> {
    Payment { payment_intent_id: pi, event, amount, currency }
}

fn visa() -> CardShown {
    CardShown { brand: Some("visa".to_owned()), last4: Some("4242".to_owned()) }
}

async fn fulfil(store: &OrderStore, id: &str, paid: Payment<'_>) -> Fulfilment {
    leased(store, id, async |l| store.fulfil(l, paid, visa()).await.unwrap()).await
}

async fn record(store: &OrderStore, id: &str, event: PaymentEvent) -> bool {
    leased(store, id, async |l| store.record(l, event, None).await.unwrap()).await
}

/// Makes the lease run out now, as if its holder had stalled past it.
async fn expire_lease(store: &OrderStore, id: &str) {
    Sql::new("UPDATE orders SET lease_expires_at = ? WHERE id = ?").bind(now() - 1).bind(id).execute(&store.pool).await.unwrap();
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
    assert_eq!(order.next_check_at, None, "nothing to watch");
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
    let (lease, stored_now) = store.open_leased(&new, &sample(), LEASE, |_| None).await.unwrap().expect("a new order is stored leased");
    let as_stored = store.get(&new).await.unwrap().unwrap();
    assert_eq!(as_stored.summary(), Order::unsaved(&new, &sample()).summary());
    assert_eq!(stored_now, Some(as_stored), "the order returned is the order stored");
    assert!(store.open_leased(&new, &sample(), LEASE, |_| None).await.unwrap().is_none(), "one lease at a time");
    assert!(store.take_lease(&new, LEASE).await.unwrap().is_none());
    assert!(store.lease_held(&lease).await.unwrap());
    store.release(&lease).await.unwrap();
    assert!(store.open_leased(&new, &sample(), LEASE, |_| None).await.unwrap().is_some(), "free again once given back");

    let stored = new_order_id();
    store.open_order(&stored, &sample()).await.unwrap();
    assert!(store.set_line(&stored, &OrderLine::priced(&sample(), "filter", 2).unwrap(), 1).await.unwrap());
    let before = store.get(&stored).await.unwrap().unwrap();
    let (lease, stored_now) = store.open_leased(&stored, &sample(), LEASE, |_| None).await.unwrap().expect("a stored order is leased");
    assert_eq!(stored_now, None, "an order stored before is read when needed");
    assert_eq!(store.get(&stored).await.unwrap().unwrap().lines, before.lines, "its cart is kept");
    assert!(store.lease_held(&lease).await.unwrap());
}

#[tokio::test]
async fn a_payment_that_stores_its_order_records_its_first_create_with_it_and_a_stored_order_is_only_leased() {
    let (store, _dir) = store().await;
    let first_create = |order: &Order| {
        let call = StripeCall::Create { payment_method: "pm_card_visa".into(), amount: order.summary().amount, customer: Some("cus_Saved".into()), save_card: true };
        Some(SentRequest { key: format!("checkout-{}-attempt-1-create", order.id), call, sent_at: 1_700_000_000 })
    };
    let new = new_order_id();
    let (lease, stored_now) = store.open_leased(&new, &sample(), LEASE, first_create).await.unwrap().expect("stored leased");
    let as_stored = store.get(&new).await.unwrap().unwrap();
    assert_eq!(stored_now.as_ref(), Some(&as_stored), "the order returned is the order stored");
    assert_eq!(as_stored.request, first_create(&as_stored), "its first create is recorded with it, with its card, amount and terms");
    assert_eq!((as_stored.attempt, as_stored.customer_id.as_deref()), (1, Some("cus_Saved")), "as attempt 1");
    assert!(as_stored.next_check_at.is_some(), "due for the reconciler, should its answer be lost");
    store.release(&lease).await.unwrap();

    // Stored already: leased as it is, the first create not recorded again.
    let (lease, stored_now) = store.open_leased(&new, &sample(), LEASE, first_create).await.unwrap().expect("leased");
    assert_eq!(stored_now, None);
    assert_eq!(store.get(&new).await.unwrap().unwrap(), as_stored, "nothing recorded");
    store.release(&lease).await.unwrap();
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
    assert_eq!(store.repeat_count(&source.id).await.unwrap(), 1);
    let repeat = store.get(&repeat).await.unwrap().unwrap();
    assert_eq!(repeat.lines, source.lines, "the same lines, quantities, prices and order");
    assert_eq!(repeat.summary().amount, source.summary().amount);
}

#[tokio::test]
async fn fulfilment_happens_exactly_once() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    assert_eq!(fulfil(&store, &order.id, payment("pi_1", PaymentEvent::Succeeded, 1450, "eur")).await, Fulfilment::Fulfilled);
    assert_eq!(fulfil(&store, &order.id, payment("pi_1", PaymentEvent::Succeeded, 1450, "eur")).await, Fulfilment::AlreadyFulfilled);
    assert_eq!(store.fulfilment_count(&order.id).await.unwrap(), 1);
    let paid = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!((paid.status, paid.next_check_at), (OrderStatus::Paid, None), "paid: nothing more to watch");
}

/// The fulfilment recorded for the order: its intent and amount.
async fn fulfilment_of(store: &OrderStore, order_id: &str) -> Option<(String, i64)> {
    let row = sqlx::query("SELECT payment_intent_id, amount FROM fulfilments WHERE order_id = $1").bind(order_id).fetch_optional(&store.pool).await.unwrap();
    row.map(|r| (r.get("payment_intent_id"), r.get("amount")))
}

#[tokio::test]
async fn binding_and_fulfilling_at_once_answers_the_create_records_one_fulfilment_and_gives_the_lease_back() {
    let (store, _dir) = store().await;
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    let lease = store.take_lease(&id, LEASE).await.unwrap().unwrap();
    let request = create(&id, 1);
    store.record_request(&lease, Some(1), &request).await.unwrap();
    let paid = payment("pi_1", PaymentEvent::Succeeded, 1450, "eur");
    assert!(!store.bind_and_fulfil(&lease, "checkout-other-key", paid, visa()).await.unwrap(), "only the answer to the recorded request");
    assert!(store.bind_and_fulfil(&lease, &request.key, paid, visa()).await.unwrap());
    let again = store.bind_and_fulfil(&lease, &request.key, paid, visa()).await;
    assert!(matches!(again, Err(StoreError::LeaseLost(_))), "the lease went back with the fulfilment: {again:?}");
    let order = store.get(&id).await.unwrap().unwrap();
    assert_eq!((order.status, order.payment_intent_id.as_deref(), order.request), (OrderStatus::Paid, Some("pi_1"), None), "answered, bound, paid");
    assert_eq!((order.card_brand.as_deref(), order.amount_captured), (Some("visa"), 1450));
    assert_eq!(fulfilment_of(&store, &id).await, Some(("pi_1".to_owned(), 1450)));
    assert_eq!(fulfil(&store, &id, paid).await, Fulfilment::AlreadyFulfilled);
    let next = store.take_lease(&id, LEASE).await.unwrap().expect("the lease went back with the fulfilment");
    store.release(&lease).await.unwrap();
    assert!(store.take_lease(&id, LEASE).await.unwrap().is_none(), "the old lease cannot give back the next holder's");
    store.release(&next).await.unwrap();
}

#[tokio::test]
async fn an_authorisation_taken_by_its_first_answer_is_watched_for_stripes_release() {
    let (store, _dir) = store().await;
    let id = new_order_id();
    let (lease, _) = store.open_leased(&id, &sample(), LEASE, |o| Some(create(&o.id, 1))).await.unwrap().unwrap();
    let authorised = payment("pi_auth", PaymentEvent::Authorised, 1450, "eur");
    assert!(store.bind_and_fulfil(&lease, &create(&id, 1).key, authorised, visa()).await.unwrap());
    let order = store.get(&id).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Authorised);
    let due = order.next_check_at.expect("watched: Stripe releases it after seven days");
    assert!((now() + 3590..=now() + 3600).contains(&due), "at the authorisation check interval: {due}");
}

#[tokio::test]
async fn binding_and_fulfilling_at_once_changes_nothing_unless_attach_and_fulfil_would_both_succeed() {
    let (store, _dir) = store().await;
    let untouched = |order: Order| (order.status, order.payment_intent_id, order.card_brand, order.request.is_some());
    // Another amount or currency, or no longer this holder's lease: nothing bound, nothing fulfilled.
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    let lease = store.take_lease(&id, LEASE).await.unwrap().unwrap();
    let request = create(&id, 1);
    store.record_request(&lease, Some(1), &request).await.unwrap();
    assert!(!store.bind_and_fulfil(&lease, &request.key, payment("pi_1", PaymentEvent::Succeeded, 1449, "eur"), visa()).await.unwrap());
    assert!(!store.bind_and_fulfil(&lease, &request.key, payment("pi_1", PaymentEvent::Succeeded, 1450, "usd"), visa()).await.unwrap());
    store.release(&lease).await.unwrap();
    let lost = store.bind_and_fulfil(&lease, &request.key, payment("pi_1", PaymentEvent::Succeeded, 1450, "eur"), visa()).await;
    assert!(matches!(lost, Err(StoreError::LeaseLost(_))), "{lost:?}");
    assert_eq!(untouched(store.get(&id).await.unwrap().unwrap()), (OrderStatus::Open, None, None, true), "still unanswered");
    assert_eq!(fulfilment_of(&store, &id).await, None);
    // Bound to another intent: that one stays.
    let bound = order_with_intent(&store, "pi_2").await;
    let lease = store.take_lease(&bound.id, LEASE).await.unwrap().unwrap();
    let request = confirm(&bound.id, "pi_2", 1);
    store.record_request(&lease, Some(1), &request).await.unwrap();
    assert!(!store.bind_and_fulfil(&lease, &request.key, payment("pi_3", PaymentEvent::Succeeded, 1450, "eur"), visa()).await.unwrap());
    assert_eq!(untouched(store.get(&bound.id).await.unwrap().unwrap()), (OrderStatus::Open, Some("pi_2".to_owned()), None, true));
    assert_eq!(fulfilment_of(&store, &bound.id).await, None);
}

#[tokio::test]
async fn an_authorisation_is_fulfilled_once_and_its_capture_records_nothing_more() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    assert_eq!(fulfil(&store, &order.id, payment("pi_1", PaymentEvent::Authorised, 1450, "eur")).await, Fulfilment::Fulfilled);
    assert_eq!(fulfilment_of(&store, &order.id).await, Some(("pi_1".to_owned(), 1450)));
    assert!(leased(&store, &order.id, async |l| store.end_authorisation(l, PaymentEvent::Captured, 1450).await.unwrap()).await);
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
    let wrong_amount = fulfil(&store, &order.id, payment("pi_1", PaymentEvent::Succeeded, 1449, "eur")).await;
    assert_eq!(wrong_amount, Fulfilment::Mismatch { order_amount: 1450, order_currency: "eur".into() });
    let wrong_currency = fulfil(&store, &order.id, payment("pi_1", PaymentEvent::Succeeded, 1450, "usd")).await;
    assert!(matches!(wrong_currency, Fulfilment::Mismatch { .. }));
    assert_eq!(store.fulfilment_count(&order.id).await.unwrap(), 0);
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().status, OrderStatus::Open);
}

#[tokio::test]
async fn only_the_orders_own_intent_binds_and_fulfils_it() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    let other = leased(&store, &order.id, async |l| store.attach_intent(l, "pi_2", None).await).await;
    assert!(matches!(other, Err(StoreError::OtherIntent { .. })), "{other:?}");
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().payment_intent_id.as_deref(), Some("pi_1"));
    assert_eq!(fulfil(&store, &order.id, payment("pi_2", PaymentEvent::Succeeded, 1450, "eur")).await, Fulfilment::NotFulfillable(OrderStatus::Open));
}

#[tokio::test]
async fn a_paid_or_reviewed_order_never_changes() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    fulfil(&store, &order.id, payment("pi_1", PaymentEvent::Succeeded, 1450, "eur")).await;
    let line = OrderLine::priced(&sample(), "filter", 2).unwrap();
    assert!(!store.set_line(&order.id, &line, 1).await.unwrap());
    assert!(!record(&store, &order.id, PaymentEvent::Declined).await);
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().status, OrderStatus::Paid);

    let reviewed = order_with_intent(&store, "pi_2").await;
    assert!(record(&store, &reviewed.id, PaymentEvent::Mismatched).await);
    assert!(!record(&store, &reviewed.id, PaymentEvent::Succeeded).await);
    let late = fulfil(&store, &reviewed.id, payment("pi_2", PaymentEvent::Succeeded, 1450, "eur")).await;
    assert_eq!(late, Fulfilment::NotFulfillable(OrderStatus::NeedsReview));
}

#[tokio::test]
async fn the_cart_is_frozen_while_money_may_move() {
    let (store, _dir) = store().await;
    let line = OrderLine::priced(&sample(), "espresso", 20).unwrap();
    let order = order_with_intent(&store, "pi_1").await;

    let lease = store.take_lease(&order.id, LEASE).await.unwrap().unwrap();
    assert!(!store.set_line(&order.id, &line, 0).await.unwrap(), "a holder is talking to Stripe");
    let request = confirm(&order.id, "pi_1", 1);
    store.record_request(&lease, Some(1), &request).await.unwrap();
    store.release(&lease).await.unwrap();
    assert!(!store.set_line(&order.id, &line, 0).await.unwrap(), "a confirm went out without an answer");
    leased(&store, &order.id, async |l| store.answered(l, &request.key).await.unwrap()).await;

    assert!(record(&store, &order.id, PaymentEvent::NeedsAuthentication).await);
    assert!(!store.set_line(&order.id, &line, 0).await.unwrap(), "3-D Secure under way");
    assert!(record(&store, &order.id, PaymentEvent::Declined).await);
    assert!(store.set_line(&order.id, &line, 0).await.unwrap(), "a decline makes the cart editable again");
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().summary().amount, 20 * 1450);

    let fresh = new_order_id();
    store.open_order(&fresh, &sample()).await.unwrap();
    leased(&store, &fresh, async |l| store.record_request(l, Some(1), &create(&fresh, 1)).await.unwrap()).await;
    assert_eq!(store.get(&fresh).await.unwrap().unwrap().attempt, 1, "the first attempt");
    assert!(!store.set_line(&fresh, &line, 0).await.unwrap(), "a create went out without an answer");
}

#[tokio::test]
async fn one_request_at_a_time_and_nothing_learnt_by_reading_is_written_while_one_is_unsettled() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    let lease = store.take_lease(&order.id, LEASE).await.unwrap().unwrap();
    let first = confirm(&order.id, "pi_1", 1);
    store.record_request(&lease, Some(1), &first).await.unwrap();
    let second = store.record_request(&lease, Some(2), &confirm(&order.id, "pi_1", 2)).await;
    assert!(matches!(second, Err(StoreError::Unsettled(_))), "no new key while one is unsettled: {second:?}");
    // A read says the intent was declined, or succeeded: the request may still execute, so
    // neither is written.
    assert!(!store.record(&lease, PaymentEvent::Declined, Some("declined")).await.unwrap());
    assert_eq!(store.fulfil(&lease, payment("pi_1", PaymentEvent::Succeeded, 1450, "eur"), visa()).await.unwrap(), Fulfilment::NotFulfillable(OrderStatus::Open));
    assert!(matches!(store.attach_intent(&lease, "pi_1", None).await, Err(StoreError::Unsettled(_))));
    let unchanged = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!((unchanged.status, unchanged.attempt, unchanged.request), (OrderStatus::Open, 1, Some(first.clone())));
    // Its answer settles it (another key's does not); then the next attempt may start.
    store.answered(&lease, "checkout-not-this-one").await.unwrap();
    assert!(store.get(&order.id).await.unwrap().unwrap().request.is_some());
    store.answered(&lease, &first.key).await.unwrap();
    assert!(store.record(&lease, PaymentEvent::Declined, Some("declined")).await.unwrap());
    store.record_request(&lease, Some(2), &confirm(&order.id, "pi_1", 2)).await.unwrap();
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().attempt, 2);
}

#[tokio::test]
async fn a_lease_lost_mid_step_lets_the_late_writer_change_nothing() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_old").await;
    let late = store.take_lease(&order.id, LEASE).await.unwrap().unwrap();
    let request = confirm(&order.id, "pi_old", 1);
    store.record_request(&late, Some(1), &request).await.unwrap();
    // The step outlives its lease; another holder takes the order over and settles it.
    expire_lease(&store, &order.id).await;
    let next = store.take_lease(&order.id, LEASE).await.unwrap().expect("taken over");
    store.answered(&next, &request.key).await.unwrap();
    assert!(store.record(&next, PaymentEvent::IntentCanceled, None).await.unwrap());
    store.attach_intent(&next, "pi_new", None).await.unwrap();
    let before = store.get(&order.id).await.unwrap().unwrap();

    let lost = |r: Result<bool, StoreError>| matches!(r, Err(StoreError::LeaseLost(_)));
    assert!(lost(store.record(&late, PaymentEvent::IntentCanceled, None).await), "an intent reset names no intent: it must not unbind the new one");
    assert!(lost(store.record(&late, PaymentEvent::Declined, Some("late")).await));
    assert!(matches!(store.fulfil(&late, payment("pi_new", PaymentEvent::Succeeded, 1450, "eur"), visa()).await, Err(StoreError::LeaseLost(_))));
    assert!(lost(store.bind_and_fulfil(&late, &request.key, payment("pi_old", PaymentEvent::Succeeded, 1450, "eur"), visa()).await));
    assert!(matches!(store.attach_intent(&late, "pi_old", Some(&request.key)).await, Err(StoreError::LeaseLost(_) | StoreError::OtherIntent { .. })));
    assert!(matches!(store.record_request(&late, Some(2), &confirm(&order.id, "pi_new", 2)).await, Err(StoreError::LeaseLost(_))));
    assert!(matches!(store.answered(&late, &request.key).await, Err(StoreError::LeaseLost(_))));
    assert!(lost(store.end_authorisation(&late, PaymentEvent::Captured, 1450).await));
    assert!(lost(store.set_refunded(&late, 1450, 100).await));
    assert!(lost(store.refund_answered(&late, &request.key, 100).await));
    assert!(lost(store.record_review_refund(&late, "re_1").await));
    assert!(matches!(store.needs_merchant(&late, "late").await, Err(StoreError::LeaseLost(_))));
    assert!(matches!(store.save_lookup_cursor(&late, "pi_x").await, Err(StoreError::LeaseLost(_))));
    assert!(!store.renew_lease(&late, LEASE).await.unwrap(), "a lost lease is not renewed");
    store.release(&late).await.unwrap();
    assert_eq!(store.get(&order.id).await.unwrap().unwrap(), before, "the late writer changed nothing");
    assert!(store.lease_held(&next).await.unwrap(), "and the next holder still holds it");
}

#[tokio::test]
async fn a_lease_is_short_renewed_while_held_and_given_back_at_shutdown() {
    let (store, _dir) = store().await;
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    let lease = store.take_lease(&id, Duration::from_secs(1)).await.unwrap().unwrap();
    assert!(store.renew_lease(&lease, Duration::from_secs(3)).await.unwrap());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(store.take_lease(&id, LEASE).await.unwrap().is_none(), "renewed past its first second");
    assert!(store.lease_held(&lease).await.unwrap());
    let other = new_order_id();
    store.open_order(&other, &sample()).await.unwrap();
    let _held = store.take_lease(&other, LEASE).await.unwrap().unwrap();
    assert_eq!(store.leases_held().await.unwrap(), 2);
    assert_eq!(store.release_all_held().await, 2, "both go back");
    assert_eq!(store.leases_held().await.unwrap(), 0);
    assert!(store.take_lease(&id, LEASE).await.unwrap().is_some(), "free at once, not when it runs out");
}

#[tokio::test]
async fn an_expired_lease_is_taken_over() {
    let (store, _dir) = store().await;
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    let stale = store.take_lease(&id, Duration::from_secs(1)).await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let taken = store.take_lease(&id, LEASE).await.unwrap();
    assert!(taken.is_some(), "a crashed server does not keep the order");
    assert!(!store.lease_held(&stale).await.unwrap());

    // The same for a payment's lease on an order it stored.
    let paid = new_order_id();
    let (stale, _) = store.open_leased(&paid, &sample(), Duration::from_secs(1), |_| None).await.unwrap().unwrap();
    assert!(store.open_leased(&paid, &sample(), LEASE, |_| None).await.unwrap().is_none(), "held until it runs out");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (taken, stored_now) = store.open_leased(&paid, &sample(), LEASE, |_| None).await.unwrap().expect("taken over");
    assert_eq!(stored_now, None, "stored before: read when needed");
    assert!(matches!(store.record_request(&stale, Some(1), &create(&paid, 1)).await, Err(StoreError::LeaseLost(_))));
    store.record_request(&taken, Some(1), &create(&paid, 1)).await.expect("the lease is the new holder's");
}

#[tokio::test]
async fn concurrent_first_payments_of_one_order_store_it_once_and_one_of_them_holds_it() {
    let (store, _dir) = store().await;
    let id = new_order_id();
    let mut tries = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (store, id) = (store.clone(), id.clone());
        tries.spawn(async move { store.open_leased(&id, &sample(), LEASE, |o| Some(create(&o.id, 1))).await.unwrap() });
    }
    let held: Vec<_> = tries.join_all().await.into_iter().flatten().collect();
    assert_eq!(held.len(), 1, "one lease");
    let (lease, stored_now) = &held[0];
    assert_eq!(stored_now.as_ref(), store.get(&id).await.unwrap().as_ref(), "the holder stored it");
    assert_eq!(store.get(&id).await.unwrap().unwrap().lines, Order::unsaved(&id, &sample()).lines, "its lines once");
    assert!(store.lease_held(lease).await.unwrap());
}

#[tokio::test]
async fn a_canceled_intent_unbinds_the_order_for_a_new_one() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    record(&store, &order.id, PaymentEvent::NeedsAuthentication).await;
    assert!(record(&store, &order.id, PaymentEvent::IntentCanceled).await);
    let after = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!((after.status, after.payment_intent_id, after.next_check_at), (OrderStatus::Open, None, None));
}

#[tokio::test]
async fn attempts_count_up_and_survive_reopening() {
    let database = test_database().await;
    let url = database.url.clone();
    let store = OrderStore::connect(&url).await.unwrap();
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    leased(&store, &id, async |l| {
        store.record_request(l, Some(1), &create(&id, 1)).await.unwrap();
        store.answered(l, &create(&id, 1).key).await.unwrap();
        store.record_request(l, Some(2), &create(&id, 2)).await.unwrap();
    })
    .await;
    let key = store.server_secret("cookie", 32).await.unwrap();
    drop(store);
    let reopened = OrderStore::connect(&url).await.unwrap();
    let order = reopened.get(&id).await.unwrap().unwrap();
    assert_eq!((order.attempt, order.request.map(|r| r.key)), (2, Some(create(&id, 2).key)));
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
    assert!(leased(&store, "ord_old", async |l| store.set_refunded(l, 2900, 900).await.unwrap()).await, "the new columns are there");
    for status in ["needs_review", "canceled", "authorisation_expired"] {
        sqlx::query("UPDATE orders SET status = $1 WHERE id = 'ord_old'").bind(status).execute(&store.pool).await.expect("the schema accepts every status");
    }
}

#[tokio::test]
async fn unanswered_requests_of_the_schema_before_become_recorded_requests_due_for_the_reconciler() {
    let database = test_database().await;
    let backend = Backend::of(&database.url);
    {
        // The schema before the safety net's migration (7), with a create left pending and a
        // confirm left in doubt by the version before it.
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new().max_connections(1).connect(&format!("{}{}", database.url, if backend == Backend::Sqlite { "?mode=rwc" } else { "" })).await.unwrap();
        let all = migrator(backend);
        let before: Vec<Migration> = all.migrations.iter().filter(|m| m.version < 7).cloned().collect();
        Migrator { migrations: Cow::Owned(before), ..Migrator::DEFAULT }.run(&pool).await.unwrap();
        for (id, pending, in_doubt) in [("ord_pending", "2", "0"), ("ord_doubt", "NULL", "1"), ("ord_quiet", "NULL", "0")] {
            let intent = if pending == "NULL" { format!("'pi_{id}'") } else { "NULL".to_owned() };
            let payment_method = if pending == "NULL" { "NULL" } else { "'pm_card_visa'" };
            let amount = if pending == "NULL" { "NULL" } else { "1450" };
            let created = if pending == "NULL" { "NULL" } else { "1700000000" };
            sqlx::raw_sql(&format!(
                "INSERT INTO orders (id, reference, status, currency, payment_intent_id, attempt, pending_attempt, pending_payment_method, pending_amount,
                    pending_created_at, in_doubt, customer_id, save_card, created_at, updated_at)
                 VALUES ('{id}', 'R-{id}', 'open', 'eur', {intent}, 2, {pending}, {payment_method}, {amount}, {created}, {in_doubt}, NULL, 0, 1, 1600000000)"
            ))
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    }
    let store = OrderStore::connect(&database.url).await.unwrap();
    let pending = store.get("ord_pending").await.unwrap().unwrap();
    let expected = SentRequest {
        key: "checkout-ord_pending-attempt-2-create".into(),
        call: StripeCall::Create { payment_method: "pm_card_visa".into(), amount: 1450, customer: None, save_card: false },
        sent_at: 1_700_000_000,
    };
    assert_eq!(pending.request, Some(expected), "the pending create, to be replayed byte for byte");
    let doubt = store.get("ord_doubt").await.unwrap().unwrap();
    assert_eq!(doubt.request.map(|r| (r.call, r.sent_at)), Some((StripeCall::Unknown, 1_600_000_000)), "a confirm whose request was not kept");
    assert_eq!(store.get("ord_quiet").await.unwrap().unwrap().request, None);
    let due: Vec<String> = store.due(now(), 10).await.unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(due.len(), 2, "both are due now: {due:?}");
    assert!(due.contains(&"ord_pending".to_owned()) && due.contains(&"ord_doubt".to_owned()));
}

#[tokio::test]
async fn an_authorisation_ends_once_captured_canceled_or_expired() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_auth").await;
    fulfil(&store, &order.id, payment("pi_auth", PaymentEvent::Authorised, 1450, "eur")).await;
    let authorised = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!((authorised.status, authorised.amount_captured), (OrderStatus::Authorised, 0), "nothing captured yet");
    let end = |id: String, event, captured| {
        let store = store.clone();
        async move { leased(&store, &id, async |l| store.end_authorisation(l, event, captured).await.unwrap()).await }
    };
    assert!(end(order.id.clone(), PaymentEvent::Captured, 1000).await);
    let paid = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!((paid.status, paid.amount_captured), (OrderStatus::Paid, 1000), "a partial capture");
    assert!(!end(order.id.clone(), PaymentEvent::AuthorisationCanceled, 0).await, "a captured payment is not canceled");
    assert!(!end(order.id.clone(), PaymentEvent::AuthorisationExpired, 0).await);
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().amount_captured, 1000);

    let other = order_with_intent(&store, "pi_auth2").await;
    fulfil(&store, &other.id, payment("pi_auth2", PaymentEvent::Authorised, 1450, "eur")).await;
    assert!(end(other.id.clone(), PaymentEvent::AuthorisationExpired, 0).await);
    assert_eq!(store.get(&other.id).await.unwrap().unwrap().status, OrderStatus::AuthorisationExpired);
    assert!(!end(other.id.clone(), PaymentEvent::Captured, 1450).await, "an expired authorisation is not captured");
}

#[tokio::test]
async fn refunds_are_recorded_from_stripes_totals_and_the_answers_and_never_beyond_the_capture() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_r").await;
    fulfil(&store, &order.id, payment("pi_r", PaymentEvent::Succeeded, 1450, "eur")).await;
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().amount_captured, 1450);
    let refunded = |captured, refunded| {
        let store = store.clone();
        let id = order.id.clone();
        async move { leased(&store, &id, async |l| store.set_refunded(l, captured, refunded).await.unwrap()).await }
    };
    assert!(refunded(1450, 500).await);
    assert!(refunded(1450, 300).await);
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().amount_refunded, 500, "an older read does not undo a newer one");
    assert!(!refunded(1450, 1500).await, "more than captured is refused");
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().amount_refunded, 500);
    // A refund's own answer is written with it, once.
    let refund = SentRequest { key: "merchant-K".into(), call: StripeCall::Refund { payment_intent: "pi_r".into(), amount: 200, action: "K".into() }, sent_at: now() };
    leased(&store, &order.id, async |l| {
        store.record_request(l, None, &refund).await.unwrap();
        assert!(store.refund_answered(l, &refund.key, 200).await.unwrap());
        assert!(!store.refund_answered(l, &refund.key, 200).await.unwrap(), "an answer counts once");
    })
    .await;
    let after = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!((after.amount_refunded, after.request), (700, None));
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
async fn the_back_office_lists_orders_newest_first_by_page_status_and_need_of_the_merchant() {
    let (store, _dir) = store().await;
    let mut ids = vec![];
    for n in 0..5 {
        let id = order_with_intent(&store, &format!("pi_list{n}")).await.id;
        sqlx::query("UPDATE orders SET created_at = $1 WHERE id = $2").bind(1_000 + n).bind(&id).execute(&store.pool).await.unwrap();
        ids.push(id);
    }
    record(&store, &ids[1], PaymentEvent::Declined).await;
    record(&store, &ids[3], PaymentEvent::Declined).await;
    let first = store.list_orders(OrderFilter::All, 0, 2).await.unwrap();
    assert_eq!(first.orders.iter().map(|o| o.id.clone()).collect::<Vec<_>>(), vec![ids[4].clone(), ids[3].clone()]);
    assert!(first.has_more);
    let last = store.list_orders(OrderFilter::All, 2, 2).await.unwrap();
    assert_eq!(last.orders.iter().map(|o| o.id.clone()).collect::<Vec<_>>(), vec![ids[0].clone()]);
    assert!(!last.has_more);
    assert_eq!(last.orders[0].lines.len(), 1, "with their lines");
    let failed = store.list_orders(OrderFilter::Status(OrderStatus::Failed), 0, 10).await.unwrap();
    assert_eq!(failed.orders.iter().map(|o| o.id.clone()).collect::<Vec<_>>(), vec![ids[3].clone(), ids[1].clone()]);
    leased(&store, &ids[2], async |l| store.needs_merchant(l, "Stripe refused the refund").await.unwrap()).await;
    let attention = store.list_orders(OrderFilter::NeedsMerchant, 0, 10).await.unwrap();
    assert_eq!(attention.orders.iter().map(|o| (o.id.clone(), o.attention.clone())).collect::<Vec<_>>(), vec![(ids[2].clone(), Some("Stripe refused the refund".into()))]);
}

#[tokio::test]
async fn one_server_at_a_time_holds_a_server_lease_and_another_takes_it_when_it_runs_out_or_is_given_back() {
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
    // server-b stops (SIGTERM): it gives the lease back, and server-a takes it at once.
    store.release_server_lease("reconciler", "server-a").await.unwrap();
    assert!(!store.hold_server_lease("reconciler", "server-a", short).await.unwrap(), "only the holder gives it back");
    store.release_server_lease("reconciler", "server-b").await.unwrap();
    assert!(store.hold_server_lease("reconciler", "server-a", short).await.unwrap());
}

/// Takes every order due by `by`, as a pass does, and says which were taken, in order.
async fn one_pass(store: &OrderStore, by: i64) -> Vec<String> {
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

#[tokio::test]
async fn every_watched_order_is_due_and_each_look_pushes_it_back_so_none_holds_the_head() {
    let (store, _dir) = store().await;
    // 300 abandoned 3-D Secure orders that went due first, then one processing payment.
    let mut abandoned = vec![];
    for n in 0..300 {
        let order = order_with_intent(&store, &format!("pi_3ds{n}")).await;
        record(&store, &order.id, PaymentEvent::NeedsAuthentication).await;
        abandoned.push(order.id);
    }
    let processing = order_with_intent(&store, "pi_processing").await;
    record(&store, &processing.id, PaymentEvent::Processing).await;
    Sql::new("UPDATE orders SET next_check_at = ? WHERE id <> ?").bind(now() - 100).bind(&processing.id).execute(&store.pool).await.unwrap();
    Sql::new("UPDATE orders SET next_check_at = ? WHERE id = ?").bind(now() - 1).bind(&processing.id).execute(&store.pool).await.unwrap();

    let first = one_pass(&store, now()).await;
    assert_eq!(first.len(), 301, "one pass takes every due order once");
    assert_eq!(first.last(), Some(&processing.id), "earliest due first");
    let second = one_pass(&store, now()).await;
    assert!(second.is_empty(), "each was pushed back as it was taken: {} due again at once", second.len());
    let pushed = store.get(&abandoned[0]).await.unwrap().unwrap();
    assert_eq!(pushed.checks, 1);
    assert!(pushed.next_check_at.unwrap() > now(), "by its backoff");
    // Held by another holder: not taken, and still due for the next pass.
    let held = store.take_lease(&processing.id, LEASE).await.unwrap().unwrap();
    Sql::new("UPDATE orders SET next_check_at = ? WHERE id = ?").bind(now() - 1).bind(&processing.id).execute(&store.pool).await.unwrap();
    assert!(one_pass(&store, now()).await.is_empty());
    store.release(&held).await.unwrap();
    assert_eq!(one_pass(&store, now()).await, vec![processing.id.clone()]);
}

#[tokio::test]
async fn an_order_that_needs_the_merchant_leaves_the_queue_until_they_ask_for_a_new_look() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_review").await;
    record(&store, &order.id, PaymentEvent::Mismatched).await;
    Sql::new("UPDATE orders SET next_check_at = ? WHERE id = ?").bind(now() - 1).bind(&order.id).execute(&store.pool).await.unwrap();
    assert_eq!(one_pass(&store, now()).await, vec![order.id.clone()], "a refund to make is due");
    leased(&store, &order.id, async |l| store.needs_merchant(l, "Stripe refused the refund: already refunded").await.unwrap()).await;
    let waiting = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!((waiting.next_check_at, waiting.attention.as_deref()), (None, Some("Stripe refused the refund: already refunded")));
    assert!(one_pass(&store, now() + 365 * 86_400).await.is_empty(), "never retried by itself");
    assert!(!record(&store, &order.id, PaymentEvent::Mismatched).await || store.get(&order.id).await.unwrap().unwrap().next_check_at.is_none(), "a later write does not put it back");
    assert!(store.recheck(&order.id).await.unwrap());
    assert!(!store.recheck(&order.id).await.unwrap(), "once");
    assert_eq!(one_pass(&store, now()).await, vec![order.id.clone()], "due again at once");
}

#[tokio::test]
async fn a_pass_over_100000_orders_of_which_10_are_due_reads_the_10() {
    let (store, _dir) = store().await;
    let t = now();
    // 99,990 settled orders and 10 due ones, written in one statement each.
    let rows = |from: i64, count: i64, next: &str| {
        format!(
            "WITH RECURSIVE n(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM n WHERE i < {})
             INSERT INTO orders (id, reference, status, currency, created_at, updated_at, next_check_at)
             SELECT 'ord_bulk' || i, 'REF-' || i, 'paid', 'eur', {t}, {t}, {next} FROM n",
            from + count - 1
        )
    };
    sqlx::raw_sql(&rows(1, 99_990, "NULL")).execute(&store.pool).await.unwrap();
    sqlx::raw_sql(&rows(99_991, 10, &(t - 5).to_string())).execute(&store.pool).await.unwrap();
    if store.backend() == Backend::Postgres {
        sqlx::raw_sql("ANALYZE orders").execute(&store.pool).await.unwrap();
    }
    let due = store.due(t, 100).await.unwrap();
    let mut ids: Vec<String> = due.iter().map(|d| d.id.clone()).collect();
    ids.sort();
    let mut expected: Vec<String> = (99_991..=100_000).map(|i| format!("ord_bulk{i}")).collect();
    expected.sort();
    assert_eq!(ids, expected, "the 10 due, and only them");

    // How the database reads them: through the due index, never a scan of the table.
    let (explain, column) = match store.backend() {
        Backend::Sqlite => ("EXPLAIN QUERY PLAN ", "detail"),
        Backend::Postgres => ("EXPLAIN ", "QUERY PLAN"),
    };
    let rows = Sql::new(explain).join(queue::due_query(t, 100)).fetch_all(&store.pool).await.unwrap();
    let plan: Vec<String> = rows.iter().map(|r| r.get::<String, _>(column)).collect();
    let plan = plan.join("\n");
    assert!(plan.contains("orders_due"), "the due index: {plan}");
    assert!(!plan.contains("SCAN orders\n") && !plan.ends_with("SCAN orders") && !plan.contains("Seq Scan"), "no scan of the table: {plan}");
}

#[tokio::test]
async fn a_database_out_of_reach_tells_the_shopper_to_try_again_and_other_failures_do_not() {
    let (store, _db) = store().await;
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    store.pool.close().await;
    let err = store.get(&id).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert_eq!(crate::checkout::CheckoutError::from(err), crate::checkout::CheckoutError::ShopUnavailable);
    let other = StoreError::UnknownStatus(id.clone(), "lost".into());
    assert!(!other.is_unavailable());
    assert_eq!(crate::checkout::CheckoutError::from(other), crate::checkout::CheckoutError::Internal);
    assert_eq!(crate::checkout::CheckoutError::from(StoreError::LeaseLost(id)), crate::checkout::CheckoutError::PaymentInProgress);
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
