use super::*;
use crate::checkout::catalogue::sample;

async fn store() -> (OrderStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    (OrderStore::connect(&url).await.unwrap(), dir)
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
    store.set_in_doubt(&claim, true).await.unwrap();
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
    store.record_pending_create(&claim, &PendingCreate { attempt: 1, payment_method_id: "pm_1".into(), amount: 1450, created_at: now() }).await.unwrap();
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
    assert!(matches!(store.next_attempt(&first).await, Err(StoreError::ClaimLost(_))), "the old holder writes nothing");
    assert!(matches!(store.attach_intent(&first, "pi_x").await, Err(StoreError::ClaimLost(_))));
    assert_eq!(store.next_attempt(&second).await.unwrap(), 1);
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
    assert!(store.next_attempt(&stale).await.is_err());
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
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = OrderStore::connect(&url).await.unwrap();
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    let claim = store.claim(&id, LEASE).await.unwrap().unwrap();
    assert_eq!(store.next_attempt(&claim).await.unwrap(), 1);
    assert_eq!(store.next_attempt(&claim).await.unwrap(), 2);
    let key = store.server_secret("cookie", 32).await.unwrap();
    drop(store);
    let reopened = OrderStore::connect(&url).await.unwrap();
    assert_eq!(reopened.get(&id).await.unwrap().unwrap().attempt, 2);
    assert_eq!(reopened.server_secret("cookie", 32).await.unwrap(), key, "the secret is kept");
}

#[tokio::test]
async fn a_database_of_the_first_schema_is_migrated_without_losing_orders() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    {
        let options = SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true).foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
        let first = Migrator { migrations: Cow::Owned(vec![migrator().migrations[0].clone()]), ..Migrator::DEFAULT };
        first.run(&pool).await.unwrap();
        sqlx::query("INSERT INTO orders (id, reference, status, currency, payment_intent_id, created_at, updated_at) VALUES ('ord_old', 'AAAA-BBBB', 'paid', 'eur', 'pi_old', 1, 1)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO order_lines VALUES ('ord_old', 'espresso', 'Espresso beans', 2, 1450, 0)").execute(&pool).await.unwrap();
        pool.close().await;
    }
    let store = OrderStore::connect(&url).await.unwrap();
    let order = store.get("ord_old").await.unwrap().unwrap();
    assert_eq!((order.status, order.summary().amount), (OrderStatus::Paid, 2900));
    assert!(store.record("ord_old", PaymentEvent::Mismatched, None).await.is_ok(), "the new status is accepted by the schema");
}

#[tokio::test]
async fn the_reconciler_finds_unsettled_orders_that_no_server_holds() {
    let (store, _dir) = store().await;
    let processing = order_with_intent(&store, "pi_1").await;
    store.record(&processing.id, PaymentEvent::Processing, None).await.unwrap();
    let paid = order_with_intent(&store, "pi_2").await;
    store.fulfil(&paid.id, "pi_2", PaymentEvent::Succeeded, 1450, "eur", CardShown::default()).await.unwrap();
    let found = store.to_reconcile(Duration::from_secs(60), 10).await.unwrap();
    assert_eq!(found, vec![processing.id.clone()]);
    let claim = store.claim(&processing.id, LEASE).await.unwrap().unwrap();
    assert!(store.to_reconcile(Duration::from_secs(60), 10).await.unwrap().is_empty(), "held by a server");
    store.release(&claim).await.unwrap();
}
