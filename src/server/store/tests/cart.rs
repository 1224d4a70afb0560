//! The cart is frozen while money may move.

use super::*;
use crate::domain::catalogue::sample;
use crate::domain::{OrderLine, PaymentEvent};

#[tokio::test]
async fn the_cart_is_frozen_while_money_may_move() {
    let (store, _dir) = store().await;
    let line = OrderLine::priced(&sample(), "espresso", 20).unwrap();
    let order = order_with_intent(&store, "pi_1").await;

    let lease = store.take_lease(&order.id, LEASE).await.unwrap().unwrap();
    assert!(
        !store.set_line(&order.id, &line, 0).await.unwrap(),
        "a holder is talking to Stripe"
    );
    let request = confirm(&order.id, "pi_1", 1);
    store
        .record_request(&lease, Some(1), &request)
        .await
        .unwrap();
    store.release(&lease).await.unwrap();
    assert!(
        !store.set_line(&order.id, &line, 0).await.unwrap(),
        "a confirm went out without an answer"
    );
    leased(&store, &order.id, async |l| {
        store.answered(l, &request.key).await.unwrap()
    })
    .await;

    assert!(record(&store, &order.id, PaymentEvent::NeedsAuthentication).await);
    assert!(
        !store.set_line(&order.id, &line, 0).await.unwrap(),
        "3-D Secure under way"
    );
    assert!(record(&store, &order.id, PaymentEvent::Declined).await);
    assert!(
        store.set_line(&order.id, &line, 0).await.unwrap(),
        "a decline makes the cart editable again"
    );
    assert_eq!(
        store
            .get(&order.id)
            .await
            .unwrap()
            .unwrap()
            .summary()
            .amount,
        20 * 1450
    );

    let fresh = new_order_id();
    store.open_order(&fresh, &sample()).await.unwrap();
    leased(&store, &fresh, async |l| {
        store
            .record_request(l, Some(1), &create(&fresh, 1))
            .await
            .unwrap()
    })
    .await;
    assert_eq!(
        store.get(&fresh).await.unwrap().unwrap().attempt,
        1,
        "the first attempt"
    );
    assert!(
        !store.set_line(&fresh, &line, 0).await.unwrap(),
        "a create went out without an answer"
    );
}
