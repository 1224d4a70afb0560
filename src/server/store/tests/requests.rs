//! One unsettled request at a time, and nothing read is written while one is.

use super::*;
use crate::domain::{OrderStatus, PaymentEvent};

#[tokio::test]
async fn one_request_at_a_time_and_nothing_learnt_by_reading_is_written_while_one_is_unsettled() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    let lease = store.take_lease(&order.id, LEASE).await.unwrap().unwrap();
    let first = confirm(&order.id, "pi_1", 1);
    store.record_request(&lease, Some(1), &first).await.unwrap();
    let second = store
        .record_request(&lease, Some(2), &confirm(&order.id, "pi_1", 2))
        .await;
    assert!(
        matches!(second, Err(StoreError::Unsettled(_))),
        "no new key while one is unsettled: {second:?}"
    );
    // A read says the intent was declined, or succeeded: the request may still execute, so
    // neither is written.
    assert!(!store
        .record(&lease, PaymentEvent::Declined, Some("declined"))
        .await
        .unwrap());
    assert_eq!(
        store
            .fulfil(
                &lease,
                payment("pi_1", PaymentEvent::Succeeded, 1450, "eur"),
                visa()
            )
            .await
            .unwrap(),
        Fulfilment::NotFulfillable(OrderStatus::Open)
    );
    assert!(matches!(
        store.attach_intent(&lease, "pi_1", None).await,
        Err(StoreError::Unsettled(_))
    ));
    let unchanged = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!(
        (unchanged.status, unchanged.attempt, unchanged.request),
        (OrderStatus::Open, 1, Some(first.clone()))
    );
    // Its answer settles it (another key's does not); then the next attempt may start.
    store
        .answered(&lease, "checkout-not-this-one")
        .await
        .unwrap();
    assert!(store
        .get(&order.id)
        .await
        .unwrap()
        .unwrap()
        .request
        .is_some());
    store.answered(&lease, &first.key).await.unwrap();
    assert!(store
        .record(&lease, PaymentEvent::Declined, Some("declined"))
        .await
        .unwrap());
    store
        .record_request(&lease, Some(2), &confirm(&order.id, "pi_1", 2))
        .await
        .unwrap();
    assert_eq!(store.get(&order.id).await.unwrap().unwrap().attempt, 2);
}
