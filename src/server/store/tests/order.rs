//! An order stored with its lines, leased, with its first request, once.

use super::*;
use crate::domain::catalogue::sample;
use crate::domain::{OrderLine, OrderStatus};

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
    assert_eq!(
        order.summary(),
        Order::unsaved(&id, &sample()).summary(),
        "the page shows what is then stored"
    );
    assert_eq!(order.next_check_at, None, "nothing to watch");
}

#[tokio::test]
async fn a_new_order_is_stored_with_all_its_lines_in_their_order_by_one_insert_and_only_once() {
    let (store, _dir) = store().await;
    let mut order = Order::unsaved(&new_order_id(), &sample());
    // Not in the order of their ids, and a name JSON must escape.
    order.lines = vec![
        OrderLine {
            name: "Filtre \"maison\" ☕ \\ 1/2".into(),
            ..OrderLine::priced(&sample(), "filter", 2).unwrap()
        },
        OrderLine::priced(&sample(), "espresso", 3).unwrap(),
    ];
    assert!(store.store_new(&order).await.unwrap());
    let stored = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!(
        stored.lines, order.lines,
        "every line, as given, in the cart's order"
    );
    let kept: Option<String> = sqlx::query_scalar("SELECT new_lines FROM orders WHERE id = $1")
        .bind(&order.id)
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(kept, None, "order_lines is the only record of the lines");

    let again = Order {
        lines: vec![OrderLine::priced(&sample(), "espresso", 1).unwrap()],
        ..order.clone()
    };
    assert!(
        !store.store_new(&again).await.unwrap(),
        "an order is stored once"
    );
    assert_eq!(
        store.get(&order.id).await.unwrap().unwrap().lines,
        order.lines,
        "a second insert adds no line"
    );
}

#[tokio::test]
async fn paying_stores_a_glanced_at_order_already_leased_and_leases_a_stored_one_as_it_is() {
    let (store, _dir) = store().await;
    let new = new_order_id();
    let (lease, stored_now) = store
        .open_leased(&new, &sample(), LEASE, |_| None)
        .await
        .unwrap()
        .expect("a new order is stored leased");
    let as_stored = store.get(&new).await.unwrap().unwrap();
    assert_eq!(
        as_stored.summary(),
        Order::unsaved(&new, &sample()).summary()
    );
    assert_eq!(
        stored_now,
        Some(as_stored),
        "the order returned is the order stored"
    );
    assert!(
        store
            .open_leased(&new, &sample(), LEASE, |_| None)
            .await
            .unwrap()
            .is_none(),
        "one lease at a time"
    );
    assert!(store.take_lease(&new, LEASE).await.unwrap().is_none());
    assert!(store.lease_held(&lease).await.unwrap());
    store.release(&lease).await.unwrap();
    assert!(
        store
            .open_leased(&new, &sample(), LEASE, |_| None)
            .await
            .unwrap()
            .is_some(),
        "free again once given back"
    );

    let stored = new_order_id();
    store.open_order(&stored, &sample()).await.unwrap();
    assert!(store
        .set_line(
            &stored,
            &OrderLine::priced(&sample(), "filter", 2).unwrap(),
            1
        )
        .await
        .unwrap());
    let before = store.get(&stored).await.unwrap().unwrap();
    let (lease, stored_now) = store
        .open_leased(&stored, &sample(), LEASE, |_| None)
        .await
        .unwrap()
        .expect("a stored order is leased");
    assert_eq!(
        stored_now, None,
        "an order stored before is read when needed"
    );
    assert_eq!(
        store.get(&stored).await.unwrap().unwrap().lines,
        before.lines,
        "its cart is kept"
    );
    assert!(store.lease_held(&lease).await.unwrap());
}

#[tokio::test]
async fn a_payment_that_stores_its_order_records_its_first_create_with_it_and_a_stored_order_is_only_leased(
) {
    let (store, _dir) = store().await;
    let first_create = |order: &Order| {
        let call = StripeCall::Create {
            payment_method: "pm_card_visa".into(),
            amount: order.summary().amount,
            customer: Some("cus_Saved".into()),
            save_card: true,
        };
        Some(SentRequest {
            key: format!("checkout-{}-attempt-1-create", order.id),
            call,
            sent_at: 1_700_000_000,
        })
    };
    let new = new_order_id();
    let (lease, stored_now) = store
        .open_leased(&new, &sample(), LEASE, first_create)
        .await
        .unwrap()
        .expect("stored leased");
    let as_stored = store.get(&new).await.unwrap().unwrap();
    assert_eq!(
        stored_now.as_ref(),
        Some(&as_stored),
        "the order returned is the order stored"
    );
    assert_eq!(
        as_stored.request,
        first_create(&as_stored),
        "its first create is recorded with it, with its card, amount and terms"
    );
    assert_eq!(
        (as_stored.attempt, as_stored.customer_id.as_deref()),
        (1, Some("cus_Saved")),
        "as attempt 1"
    );
    assert!(
        as_stored.next_check_at.is_some(),
        "due for the reconciler, should its answer be lost"
    );
    store.release(&lease).await.unwrap();

    // Stored already: leased as it is, the first create not recorded again.
    let (lease, stored_now) = store
        .open_leased(&new, &sample(), LEASE, first_create)
        .await
        .unwrap()
        .expect("leased");
    assert_eq!(stored_now, None);
    assert_eq!(
        store.get(&new).await.unwrap().unwrap(),
        as_stored,
        "nothing recorded"
    );
    store.release(&lease).await.unwrap();
}

#[tokio::test]
async fn concurrent_first_payments_of_one_order_store_it_once_and_one_of_them_holds_it() {
    let (store, _dir) = store().await;
    let id = new_order_id();
    let mut tries = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (store, id) = (store.clone(), id.clone());
        tries.spawn(async move {
            store
                .open_leased(&id, &sample(), LEASE, |o| Some(create(&o.id, 1)))
                .await
                .unwrap()
        });
    }
    let held: Vec<_> = tries.join_all().await.into_iter().flatten().collect();
    assert_eq!(held.len(), 1, "one lease");
    let (lease, stored_now) = &held[0];
    assert_eq!(
        stored_now.as_ref(),
        store.get(&id).await.unwrap().as_ref(),
        "the holder stored it"
    );
    assert_eq!(
        store.get(&id).await.unwrap().unwrap().lines,
        Order::unsaved(&id, &sample()).lines,
        "its lines once"
    );
    assert!(store.lease_held(lease).await.unwrap());
}

#[tokio::test]
async fn attempts_count_up_and_survive_reopening() {
    let database = test_database().await;
    let url = database.url.clone();
    let store = OrderStore::connect(&url).await.unwrap();
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    leased(&store, &id, async |l| {
        store
            .record_request(l, Some(1), &create(&id, 1))
            .await
            .unwrap();
        store.answered(l, &create(&id, 1).key).await.unwrap();
        store
            .record_request(l, Some(2), &create(&id, 2))
            .await
            .unwrap();
    })
    .await;
    let key = store.server_secret("cookie", 32).await.unwrap();
    drop(store);
    let reopened = OrderStore::connect(&url).await.unwrap();
    let order = reopened.get(&id).await.unwrap().unwrap();
    assert_eq!(
        (order.attempt, order.request.map(|r| r.key)),
        (2, Some(create(&id, 2).key))
    );
    assert_eq!(
        reopened.server_secret("cookie", 32).await.unwrap(),
        key,
        "the secret is kept"
    );
}
