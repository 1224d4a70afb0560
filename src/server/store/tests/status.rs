//! Statuses move only as the state machine allows.

use super::*;
use crate::domain::catalogue::sample;
use crate::domain::{OrderLine, OrderStatus, PaymentEvent};

#[tokio::test]
async fn a_paid_or_reviewed_order_never_changes() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    fulfil(
        &store,
        &order.id,
        payment("pi_1", PaymentEvent::Succeeded, 1450, "eur"),
    )
    .await;
    let line = OrderLine::priced(&sample(), "filter", 2).unwrap();
    assert!(!store.set_line(&order.id, &line, 1).await.unwrap());
    assert!(!record(&store, &order.id, PaymentEvent::Declined).await);
    assert_eq!(
        store.get(&order.id).await.unwrap().unwrap().status,
        OrderStatus::Paid
    );

    let reviewed = order_with_intent(&store, "pi_2").await;
    assert!(record(&store, &reviewed.id, PaymentEvent::Mismatched).await);
    assert!(!record(&store, &reviewed.id, PaymentEvent::Succeeded).await);
    let late = fulfil(
        &store,
        &reviewed.id,
        payment("pi_2", PaymentEvent::Succeeded, 1450, "eur"),
    )
    .await;
    assert_eq!(late, Fulfilment::NotFulfillable(OrderStatus::NeedsReview));
}

#[tokio::test]
async fn a_canceled_intent_unbinds_the_order_for_a_new_one() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_1").await;
    record(&store, &order.id, PaymentEvent::NeedsAuthentication).await;
    assert!(record(&store, &order.id, PaymentEvent::IntentCanceled).await);
    let after = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!(
        (after.status, after.payment_intent_id, after.next_check_at),
        (OrderStatus::Open, None, None)
    );
}
