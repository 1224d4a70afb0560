//! After fulfilment: an authorisation ends once (captured, canceled or expired), and what was
//! refunded is recorded from Stripe's totals and the refunds' own answers, never beyond the
//! capture.

use super::*;
use crate::domain::{OrderStatus, PaymentEvent};

#[tokio::test]
async fn an_authorisation_ends_once_captured_canceled_or_expired() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_auth").await;
    fulfil(
        &store,
        &order.id,
        payment("pi_auth", PaymentEvent::Authorised, 1450, "eur"),
    )
    .await;
    let authorised = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!(
        (authorised.status, authorised.amount_captured),
        (OrderStatus::Authorised, 0),
        "nothing captured yet"
    );
    let end = |id: String, event, captured| {
        let store = store.clone();
        async move {
            leased(&store, &id, async |l| {
                store.end_authorisation(l, event, captured).await.unwrap()
            })
            .await
        }
    };
    assert!(end(order.id.clone(), PaymentEvent::Captured, 1000).await);
    let paid = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!(
        (paid.status, paid.amount_captured),
        (OrderStatus::Paid, 1000),
        "a partial capture"
    );
    assert!(
        !end(order.id.clone(), PaymentEvent::AuthorisationCanceled, 0).await,
        "a captured payment is not canceled"
    );
    assert!(!end(order.id.clone(), PaymentEvent::AuthorisationExpired, 0).await);
    assert_eq!(
        store.get(&order.id).await.unwrap().unwrap().amount_captured,
        1000
    );

    let other = order_with_intent(&store, "pi_auth2").await;
    fulfil(
        &store,
        &other.id,
        payment("pi_auth2", PaymentEvent::Authorised, 1450, "eur"),
    )
    .await;
    assert!(end(other.id.clone(), PaymentEvent::AuthorisationExpired, 0).await);
    assert_eq!(
        store.get(&other.id).await.unwrap().unwrap().status,
        OrderStatus::AuthorisationExpired
    );
    assert!(
        !end(other.id.clone(), PaymentEvent::Captured, 1450).await,
        "an expired authorisation is not captured"
    );
}

#[tokio::test]
async fn refunds_are_recorded_from_stripes_totals_and_the_answers_and_never_beyond_the_capture() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_r").await;
    fulfil(
        &store,
        &order.id,
        payment("pi_r", PaymentEvent::Succeeded, 1450, "eur"),
    )
    .await;
    assert_eq!(
        store.get(&order.id).await.unwrap().unwrap().amount_captured,
        1450
    );
    let refunded = |captured, refunded| {
        let store = store.clone();
        let id = order.id.clone();
        async move {
            leased(&store, &id, async |l| {
                store.set_refunded(l, captured, refunded).await.unwrap()
            })
            .await
        }
    };
    assert!(refunded(1450, 500).await);
    assert!(refunded(1450, 300).await);
    assert_eq!(
        store.get(&order.id).await.unwrap().unwrap().amount_refunded,
        500,
        "an older read does not undo a newer one"
    );
    assert!(!refunded(1450, 1500).await, "more than captured is refused");
    assert_eq!(
        store.get(&order.id).await.unwrap().unwrap().amount_refunded,
        500
    );
    // A refund's own answer is written with it, once.
    let refund = SentRequest {
        key: "merchant-K".into(),
        call: StripeCall::Refund {
            payment_intent: "pi_r".into(),
            amount: 200,
            action: "K".into(),
        },
        sent_at: now(),
    };
    leased(&store, &order.id, async |l| {
        store.record_request(l, None, &refund).await.unwrap();
        assert!(store.refund_answered(l, &refund.key, 200).await.unwrap());
        assert!(
            !store.refund_answered(l, &refund.key, 200).await.unwrap(),
            "an answer counts once"
        );
    })
    .await;
    let after = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!((after.amount_refunded, after.request), (700, None));
}
