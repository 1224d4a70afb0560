//! Doubt settled only by replaying the request: a late confirm is the order's payment, never a failed order beside it.

use super::*;

/// A confirm that reaches Stripe after the shopper's next attempt began (a slow network): the
/// next attempt first replays the unanswered confirm under its key, so the confirm executes
/// once, and its payment is the order's. Reading the intent instead would have found it
/// unpaid, let the next card be declined, and left the order failed beside a payment.
#[test]
fn a_confirm_that_arrives_after_the_next_attempt_leaves_the_order_paid_by_it_never_failed() {
    support::run(|| async {
        let app = TestApp::spawn().await;
        let shopper = app.shopper();
        assert_eq!(
            app.pay(&shopper, "pm_card_visa_chargeDeclined")
                .await
                .status,
            StatusCode::PAYMENT_REQUIRED,
            "a first card declined: the order has its intent"
        );
        // Every try of the next confirm arrives two seconds late, after the app gave up on it.
        app.fault(
            "POST",
            "/v1/payment_intents/*/confirm",
            FaultKind::Delay,
            3,
            2500,
        );
        let lost = app.pay(&shopper, "pm_card_visa").await;
        assert_eq!(
            lost.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            lost.body
        );
        assert!(
            app.order(&shopper).await.request.is_some(),
            "the confirm is recorded, unanswered"
        );
        assert!(
            app.charges_of(&shopper.order_id).is_empty(),
            "it has not arrived yet"
        );

        // The shopper tries a card that would be declined, before the late confirm arrives.
        let next = app.pay(&shopper, "pm_card_visa_chargeDeclined").await;
        assert_eq!(
            next.json(),
            json!({ "success": true }),
            "the replay executed the first confirm: that is the answer"
        );
        tokio::time::sleep(Duration::from_millis(3000)).await;
        app.assert_paid_once(&shopper).await;
        let order = app.order(&shopper).await;
        assert_eq!((order.status, order.request), (OrderStatus::Paid, None));
    });
}

/// The same, when the late confirm is still executing as the next attempt comes: Stripe says
/// so (409), the shopper is told the payment is in progress, and nothing else is sent.
#[test]
fn an_attempt_while_the_last_confirm_still_executes_waits_for_it() {
    support::run(|| async {
        let app = TestApp::spawn().await;
        let shopper = app.shopper();
        assert_eq!(
            app.pay(&shopper, "pm_card_visa_chargeDeclined")
                .await
                .status,
            StatusCode::PAYMENT_REQUIRED
        );
        app.fault(
            "POST",
            "/v1/payment_intents/*/confirm",
            FaultKind::Slow,
            1,
            3000,
        );
        assert_eq!(
            app.pay(&shopper, "pm_card_visa").await.status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        let meanwhile = app.pay(&shopper, "pm_card_mastercard").await;
        assert_eq!(
            meanwhile.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            meanwhile.body
        );
        assert_eq!(app.intents_of(&shopper.order_id).len(), 1);
        tokio::time::sleep(Duration::from_millis(2000)).await;
        let after = app.pay(&shopper, "pm_card_mastercard").await;
        assert_eq!(
            after.json(),
            json!({ "success": true }),
            "the first confirm's result, replayed"
        );
        app.assert_paid_once(&shopper).await;
        let charge = &app.charges_of(&shopper.order_id)[0];
        assert_eq!(
            charge.card.last4(),
            "4242",
            "paid with the card of the confirm that executed"
        );
    });
}
