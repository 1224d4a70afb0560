//! The reconciler's due-queue: no set of orders starves a payment, and an unchanged one waits longer each time.

use super::*;

/// 2,000 shoppers left 3-D Secure unfinished before one payment went `processing`: passes
/// look at every due order, earliest first, so the payment is settled within two passes; the
/// abandoned ones are pushed back, so the next pass does not read them all again.
#[test]
fn a_processing_payment_is_settled_within_two_passes_behind_2000_abandoned_3d_secure_orders() {
    support::run(|| async {
        let app = TestApp::spawn().await;
        let mut abandoned = Vec::new();
        for _ in 0..2000 {
            let shopper = app.shopper();
            let answer = app.pay(&shopper, "pm_card_threeDSecure2Required").await;
            assert_eq!(answer.json()["requires_action"], true, "{}", answer.body);
            abandoned.push(shopper);
        }
        // Due after them: its grace starts later.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let processing = app.shopper();
        assert_eq!(
            app.pay(&processing, "pm_card_emulatorProcessing")
                .await
                .json(),
            json!({ "processing": true })
        );
        // The bank answers after a minute; everything above is due by now.
        app.advance_clock(61);
        tokio::time::sleep(Duration::from_millis(1100)).await;

        let first = app.run_pass().await;
        let due_again = app
            .store()
            .due_count(checkout::server::store::now())
            .await
            .unwrap();
        let second = app.run_pass().await;
        assert_eq!(
            app.order(&processing).await.status,
            OrderStatus::Paid,
            "settled within two passes ({first:?}, {second:?})"
        );
        app.assert_paid_once(&processing).await;
        assert!(
            first.looked_at >= 2001,
            "the first pass looked at every due order: {first:?}"
        );
        assert!(
            due_again < 2000 && second.looked_at as i64 <= due_again,
            "a pass reads what is due, not what is in the table: {due_again} due, {second:?}"
        );
        assert_eq!(
            app.order(&abandoned[0]).await.status,
            OrderStatus::RequiresAction,
            "still with their cardholders"
        );
        assert!(
            app.order(&abandoned[0]).await.next_check_at.is_some(),
            "and still watched, a few times"
        );
    });
}

/// `POST /pay` tells a processing payment apart from a paid one; the reconciler looks at it
/// less and less often while the bank has not answered.
#[test]
fn a_processing_payment_is_answered_as_processing_not_as_paid() {
    support::run(|| async {
        let app = TestApp::spawn().await;
        let shopper = app.shopper();
        assert_eq!(
            app.pay(&shopper, "pm_card_emulatorProcessing").await.json(),
            json!({ "processing": true })
        );
        assert_eq!(app.order(&shopper).await.status, OrderStatus::Processing);
        // Looked at and found still processing: each look waits longer than the last.
        let mut waits = vec![];
        for _ in 0..3 {
            app.make_all_due().await;
            let looked_at = checkout::server::store::now();
            assert_eq!(app.run_pass().await.looked_at, 1);
            let order = app.order(&shopper).await;
            assert_eq!(order.status, OrderStatus::Processing);
            waits.push(order.next_check_at.unwrap() - looked_at);
        }
        assert!(
            waits.windows(2).all(|w| w[1] > w[0]),
            "backed off: {waits:?}"
        );
    });
}
