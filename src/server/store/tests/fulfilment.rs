//! Fulfilled once, by the order's own intent for its exact amount and currency.

use super::*;
use crate::domain::catalogue::sample;
use crate::domain::{OrderStatus, PaymentEvent};

#[tokio::test]
async fn fulfilment_happens_exactly_once() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    assert_eq!(
        fulfil(
            &store,
            &order.id,
            payment("pi_1", PaymentEvent::Succeeded, 1450, "eur")
        )
        .await,
        Fulfilment::Fulfilled
    );
    assert_eq!(
        fulfil(
            &store,
            &order.id,
            payment("pi_1", PaymentEvent::Succeeded, 1450, "eur")
        )
        .await,
        Fulfilment::AlreadyFulfilled
    );
    assert_eq!(store.fulfilment_count(&order.id).await.unwrap(), 1);
    let paid = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!(
        (paid.status, paid.next_check_at),
        (OrderStatus::Paid, None),
        "paid: nothing more to watch"
    );
}

#[tokio::test]
async fn binding_and_fulfilling_at_once_answers_the_create_records_one_fulfilment_and_gives_the_lease_back(
) {
    let (store, _dir) = store().await;
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    let lease = store.take_lease(&id, LEASE).await.unwrap().unwrap();
    let request = create(&id, 1);
    store
        .record_request(&lease, Some(1), &request)
        .await
        .unwrap();
    let paid = payment("pi_1", PaymentEvent::Succeeded, 1450, "eur");
    assert!(
        !store
            .bind_and_fulfil(&lease, "checkout-other-key", paid, visa())
            .await
            .unwrap(),
        "only the answer to the recorded request"
    );
    assert!(store
        .bind_and_fulfil(&lease, &request.key, paid, visa())
        .await
        .unwrap());
    let again = store
        .bind_and_fulfil(&lease, &request.key, paid, visa())
        .await;
    assert!(
        matches!(again, Err(StoreError::LeaseLost(_))),
        "the lease went back with the fulfilment: {again:?}"
    );
    let order = store.get(&id).await.unwrap().unwrap();
    assert_eq!(
        (
            order.status,
            order.payment_intent_id.as_deref(),
            order.request
        ),
        (OrderStatus::Paid, Some("pi_1"), None),
        "answered, bound, paid"
    );
    assert_eq!(
        (order.card_brand.as_deref(), order.amount_captured),
        (Some("visa"), 1450)
    );
    assert_eq!(
        fulfilment_of(&store, &id).await,
        Some(("pi_1".to_owned(), 1450))
    );
    assert_eq!(
        fulfil(&store, &id, paid).await,
        Fulfilment::AlreadyFulfilled
    );
    let next = store
        .take_lease(&id, LEASE)
        .await
        .unwrap()
        .expect("the lease went back with the fulfilment");
    store.release(&lease).await.unwrap();
    assert!(
        store.take_lease(&id, LEASE).await.unwrap().is_none(),
        "the old lease cannot give back the next holder's"
    );
    store.release(&next).await.unwrap();
}

#[tokio::test]
async fn an_authorisation_taken_by_its_first_answer_is_watched_for_stripes_release() {
    let (store, _dir) = store().await;
    let id = new_order_id();
    let (lease, _) = store
        .open_leased(&id, &sample(), LEASE, |o| Some(create(&o.id, 1)))
        .await
        .unwrap()
        .unwrap();
    let authorised = payment("pi_auth", PaymentEvent::Authorised, 1450, "eur");
    assert!(store
        .bind_and_fulfil(&lease, &create(&id, 1).key, authorised, visa())
        .await
        .unwrap());
    let order = store.get(&id).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Authorised);
    let due = order
        .next_check_at
        .expect("watched: Stripe releases it after seven days");
    assert!(
        (now() + 3590..=now() + 3600).contains(&due),
        "at the authorisation check interval: {due}"
    );
}

#[tokio::test]
async fn binding_and_fulfilling_at_once_changes_nothing_unless_attach_and_fulfil_would_both_succeed(
) {
    let (store, _dir) = store().await;
    let untouched = |order: Order| {
        (
            order.status,
            order.payment_intent_id,
            order.card_brand,
            order.request.is_some(),
        )
    };
    // Another amount or currency, or no longer this holder's lease: nothing bound, nothing fulfilled.
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    let lease = store.take_lease(&id, LEASE).await.unwrap().unwrap();
    let request = create(&id, 1);
    store
        .record_request(&lease, Some(1), &request)
        .await
        .unwrap();
    assert!(!store
        .bind_and_fulfil(
            &lease,
            &request.key,
            payment("pi_1", PaymentEvent::Succeeded, 1449, "eur"),
            visa()
        )
        .await
        .unwrap());
    assert!(!store
        .bind_and_fulfil(
            &lease,
            &request.key,
            payment("pi_1", PaymentEvent::Succeeded, 1450, "usd"),
            visa()
        )
        .await
        .unwrap());
    store.release(&lease).await.unwrap();
    let lost = store
        .bind_and_fulfil(
            &lease,
            &request.key,
            payment("pi_1", PaymentEvent::Succeeded, 1450, "eur"),
            visa(),
        )
        .await;
    assert!(matches!(lost, Err(StoreError::LeaseLost(_))), "{lost:?}");
    assert_eq!(
        untouched(store.get(&id).await.unwrap().unwrap()),
        (OrderStatus::Open, None, None, true),
        "still unanswered"
    );
    assert_eq!(fulfilment_of(&store, &id).await, None);
    // Bound to another intent: that one stays.
    let bound = order_with_intent(&store, "pi_2").await;
    let lease = store.take_lease(&bound.id, LEASE).await.unwrap().unwrap();
    let request = confirm(&bound.id, "pi_2", 1);
    store
        .record_request(&lease, Some(1), &request)
        .await
        .unwrap();
    assert!(!store
        .bind_and_fulfil(
            &lease,
            &request.key,
            payment("pi_3", PaymentEvent::Succeeded, 1450, "eur"),
            visa()
        )
        .await
        .unwrap());
    assert_eq!(
        untouched(store.get(&bound.id).await.unwrap().unwrap()),
        (OrderStatus::Open, Some("pi_2".to_owned()), None, true)
    );
    assert_eq!(fulfilment_of(&store, &bound.id).await, None);
}

#[tokio::test]
async fn an_authorisation_is_fulfilled_once_and_its_capture_records_nothing_more() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    assert_eq!(
        fulfil(
            &store,
            &order.id,
            payment("pi_1", PaymentEvent::Authorised, 1450, "eur")
        )
        .await,
        Fulfilment::Fulfilled
    );
    assert_eq!(
        fulfilment_of(&store, &order.id).await,
        Some(("pi_1".to_owned(), 1450))
    );
    assert!(
        leased(&store, &order.id, async |l| store
            .end_authorisation(l, PaymentEvent::Captured, 1450)
            .await
            .unwrap())
        .await
    );
    assert_eq!(
        store.get(&order.id).await.unwrap().unwrap().status,
        OrderStatus::Paid
    );
    assert_eq!(store.fulfilment_count(&order.id).await.unwrap(), 1);
}

#[test]
fn the_fulfilment_trigger_fires_from_exactly_the_statuses_a_payment_fulfils() {
    let statuses = |event| {
        OrderStatus::before(event)
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    assert_eq!(
        statuses(PaymentEvent::Succeeded),
        statuses(PaymentEvent::Authorised)
    );
    let from = format!("OLD.status IN ({})", statuses(PaymentEvent::Succeeded));
    let to = format!(
        "NEW.status IN ('{}', '{}')",
        OrderStatus::Paid.as_str(),
        OrderStatus::Authorised.as_str()
    );
    for migration in [
        include_str!("../migrations/sqlite/0005_fulfilment_trigger.sql"),
        include_str!("../migrations/postgres/0005_fulfilment_trigger.sql"),
    ] {
        assert!(
            migration.contains(&from) && migration.contains(&to),
            "{from} … {to}"
        );
    }
}

#[tokio::test]
async fn an_intent_of_another_amount_or_currency_does_not_fulfil_the_order() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    let wrong_amount = fulfil(
        &store,
        &order.id,
        payment("pi_1", PaymentEvent::Succeeded, 1449, "eur"),
    )
    .await;
    assert_eq!(
        wrong_amount,
        Fulfilment::Mismatch {
            order_amount: 1450,
            order_currency: "eur".into()
        }
    );
    let wrong_currency = fulfil(
        &store,
        &order.id,
        payment("pi_1", PaymentEvent::Succeeded, 1450, "usd"),
    )
    .await;
    assert!(matches!(wrong_currency, Fulfilment::Mismatch { .. }));
    assert_eq!(store.fulfilment_count(&order.id).await.unwrap(), 0);
    assert_eq!(
        store.get(&order.id).await.unwrap().unwrap().status,
        OrderStatus::Open
    );
}

#[tokio::test]
async fn only_the_orders_own_intent_binds_and_fulfils_it() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    let other = leased(&store, &order.id, async |l| {
        store.attach_intent(l, "pi_2", None).await
    })
    .await;
    assert!(
        matches!(other, Err(StoreError::OtherIntent { .. })),
        "{other:?}"
    );
    assert_eq!(
        store
            .get(&order.id)
            .await
            .unwrap()
            .unwrap()
            .payment_intent_id
            .as_deref(),
        Some("pi_1")
    );
    assert_eq!(
        fulfil(
            &store,
            &order.id,
            payment("pi_2", PaymentEvent::Succeeded, 1450, "eur")
        )
        .await,
        Fulfilment::NotFulfillable(OrderStatus::Open)
    );
}
