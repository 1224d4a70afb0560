//! Leases: one holder at a time, checked by every write, renewed, given back, taken over.

use std::time::Duration;

use super::*;
use crate::domain::catalogue::sample;
use crate::domain::PaymentEvent;

#[tokio::test]
async fn a_lease_lost_mid_step_lets_the_late_writer_change_nothing() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_old").await;
    let late = store.take_lease(&order.id, LEASE).await.unwrap().unwrap();
    let request = confirm(&order.id, "pi_old", 1);
    store
        .record_request(&late, Some(1), &request)
        .await
        .unwrap();
    // The step outlives its lease; another holder takes the order over and settles it.
    expire_lease(&store, &order.id).await;
    let next = store
        .take_lease(&order.id, LEASE)
        .await
        .unwrap()
        .expect("taken over");
    store.answered(&next, &request.key).await.unwrap();
    assert!(store
        .record(&next, PaymentEvent::IntentCanceled, None)
        .await
        .unwrap());
    store.attach_intent(&next, "pi_new", None).await.unwrap();
    let before = store.get(&order.id).await.unwrap().unwrap();

    let lost = |r: Result<bool, StoreError>| matches!(r, Err(StoreError::LeaseLost(_)));
    assert!(
        lost(
            store
                .record(&late, PaymentEvent::IntentCanceled, None)
                .await
        ),
        "an intent reset names no intent: it must not unbind the new one"
    );
    assert!(lost(
        store
            .record(&late, PaymentEvent::Declined, Some("late"))
            .await
    ));
    assert!(matches!(
        store
            .fulfil(
                &late,
                payment("pi_new", PaymentEvent::Succeeded, 1450, "eur"),
                visa()
            )
            .await,
        Err(StoreError::LeaseLost(_))
    ));
    assert!(lost(
        store
            .bind_and_fulfil(
                &late,
                &request.key,
                payment("pi_old", PaymentEvent::Succeeded, 1450, "eur"),
                visa()
            )
            .await
    ));
    assert!(matches!(
        store
            .attach_intent(&late, "pi_old", Some(&request.key))
            .await,
        Err(StoreError::LeaseLost(_) | StoreError::OtherIntent { .. })
    ));
    assert!(matches!(
        store
            .record_request(&late, Some(2), &confirm(&order.id, "pi_new", 2))
            .await,
        Err(StoreError::LeaseLost(_))
    ));
    assert!(matches!(
        store.answered(&late, &request.key).await,
        Err(StoreError::LeaseLost(_))
    ));
    assert!(lost(
        store
            .end_authorisation(&late, PaymentEvent::Captured, 1450)
            .await
    ));
    assert!(lost(store.set_refunded(&late, 1450, 100).await));
    assert!(lost(store.refund_answered(&late, &request.key, 100).await));
    assert!(lost(store.record_review_refund(&late, "re_1").await));
    assert!(matches!(
        store.needs_merchant(&late, "late").await,
        Err(StoreError::LeaseLost(_))
    ));
    assert!(matches!(
        store.save_lookup_cursor(&late, "pi_x").await,
        Err(StoreError::LeaseLost(_))
    ));
    assert!(
        !store.renew_lease(&late, LEASE).await.unwrap(),
        "a lost lease is not renewed"
    );
    store.release(&late).await.unwrap();
    assert_eq!(
        store.get(&order.id).await.unwrap().unwrap(),
        before,
        "the late writer changed nothing"
    );
    assert!(
        store.lease_held(&next).await.unwrap(),
        "and the next holder still holds it"
    );
}

#[tokio::test]
async fn a_lease_is_short_renewed_while_held_and_given_back_at_shutdown() {
    let (store, _dir) = store().await;
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    let lease = store
        .take_lease(&id, Duration::from_secs(1))
        .await
        .unwrap()
        .unwrap();
    assert!(store
        .renew_lease(&lease, Duration::from_secs(3))
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(
        store.take_lease(&id, LEASE).await.unwrap().is_none(),
        "renewed past its first second"
    );
    assert!(store.lease_held(&lease).await.unwrap());
    let other = new_order_id();
    store.open_order(&other, &sample()).await.unwrap();
    let _held = store.take_lease(&other, LEASE).await.unwrap().unwrap();
    assert_eq!(store.leases_held().await.unwrap(), 2);
    assert_eq!(store.release_all_held().await, 2, "both go back");
    assert_eq!(store.leases_held().await.unwrap(), 0);
    assert!(
        store.take_lease(&id, LEASE).await.unwrap().is_some(),
        "free at once, not when it runs out"
    );
}

#[tokio::test]
async fn an_expired_lease_is_taken_over() {
    let (store, _dir) = store().await;
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    let stale = store
        .take_lease(&id, Duration::from_secs(1))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let taken = store.take_lease(&id, LEASE).await.unwrap();
    assert!(taken.is_some(), "a crashed server does not keep the order");
    assert!(!store.lease_held(&stale).await.unwrap());

    // The same for a payment's lease on an order it stored.
    let paid = new_order_id();
    let (stale, _) = store
        .open_leased(&paid, &sample(), Duration::from_secs(1), |_| None)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .open_leased(&paid, &sample(), LEASE, |_| None)
            .await
            .unwrap()
            .is_none(),
        "held until it runs out"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (taken, stored_now) = store
        .open_leased(&paid, &sample(), LEASE, |_| None)
        .await
        .unwrap()
        .expect("taken over");
    assert_eq!(stored_now, None, "stored before: read when needed");
    assert!(matches!(
        store
            .record_request(&stale, Some(1), &create(&paid, 1))
            .await,
        Err(StoreError::LeaseLost(_))
    ));
    store
        .record_request(&taken, Some(1), &create(&paid, 1))
        .await
        .expect("the lease is the new holder's");
}

#[tokio::test]
async fn one_server_at_a_time_holds_a_server_lease_and_another_takes_it_when_it_runs_out_or_is_given_back(
) {
    let (store, _db) = store().await;
    let short = Duration::from_secs(1);
    assert!(store
        .hold_server_lease("reconciler", "server-a", short)
        .await
        .unwrap());
    assert!(
        store
            .hold_server_lease("reconciler", "server-a", short)
            .await
            .unwrap(),
        "its holder renews it"
    );
    assert!(
        !store
            .hold_server_lease("reconciler", "server-b", LEASE)
            .await
            .unwrap(),
        "another server waits"
    );
    assert!(
        store
            .hold_server_lease("other-work", "server-b", LEASE)
            .await
            .unwrap(),
        "each lease is its own"
    );
    // server-a stops renewing (it died): once its lease ran out, server-b takes over.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(store
        .hold_server_lease("reconciler", "server-b", LEASE)
        .await
        .unwrap());
    assert!(
        !store
            .hold_server_lease("reconciler", "server-a", short)
            .await
            .unwrap(),
        "the old holder does not take it back"
    );
    // server-b stops (SIGTERM): it gives the lease back, and server-a takes it at once.
    store
        .release_server_lease("reconciler", "server-a")
        .await
        .unwrap();
    assert!(
        !store
            .hold_server_lease("reconciler", "server-a", short)
            .await
            .unwrap(),
        "only the holder gives it back"
    );
    store
        .release_server_lease("reconciler", "server-b")
        .await
        .unwrap();
    assert!(store
        .hold_server_lease("reconciler", "server-a", short)
        .await
        .unwrap());
}
