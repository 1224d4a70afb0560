//! Leases: a late writer changes nothing; a long step keeps its lease by renewing it.

use super::*;

/// A step that outlives its lease (its server stalled) while another holder takes the order:
/// its late writes change nothing; the request it sent stays recorded, and the next holder
/// settles it by replaying it.
#[test]
fn a_step_whose_lease_is_taken_mid_step_writes_nothing_and_its_request_is_replayed_later() {
    support::run(|| async {
        let app = TestApp::spawn_with(&[("STRIPE_TIMEOUT_MS", "5000")]).await;
        let shopper = app.shopper();
        assert_eq!(
            app.pay(&shopper, "pm_card_visa_chargeDeclined")
                .await
                .status,
            StatusCode::PAYMENT_REQUIRED
        );
        let before = app.order(&shopper).await;
        // Stripe takes a while to answer the confirm, and answers.
        app.fault(
            "POST",
            "/v1/payment_intents/*/confirm",
            FaultKind::Slow,
            1,
            1500,
        );
        let paying = {
            let (router, cookie) = (app.router.clone(), shopper.cookie.clone());
            tokio::spawn(async move {
                use tower::ServiceExt;
                let request = axum::http::Request::post("/pay")
                    .header("content-type", "application/json")
                    .header("cookie", cookie)
                    .body(axum::body::Body::from(
                        r#"{"payment_method_id":"pm_card_visa"}"#,
                    ))
                    .unwrap();
                router.oneshot(request).await.unwrap().status()
            })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        // Another holder takes the order over while the confirm executes.
        checkout_sql_text(&app, "UPDATE orders SET lease_token = 'another-holder', lease_expires_at = lease_expires_at + 600 WHERE id = $1", &[&shopper.order_id]).await;
        assert_eq!(
            paying.await.unwrap(),
            StatusCode::CONFLICT,
            "the step stopped: the order is another holder's"
        );
        let after = app.order(&shopper).await;
        assert_eq!(
            (
                after.status,
                after.payment_intent_id.clone(),
                after.card_last4.clone()
            ),
            (before.status, before.payment_intent_id.clone(), None),
            "the late writer changed nothing"
        );
        assert_eq!(
            app.store()
                .fulfilment_count(&shopper.order_id)
                .await
                .unwrap(),
            0
        );
        assert!(
            after.request.is_some(),
            "its confirm is still recorded for the next holder"
        );
        assert_eq!(
            app.charges_of(&shopper.order_id).len(),
            1,
            "Stripe took the payment meanwhile"
        );

        checkout_sql_text(
            &app,
            "UPDATE orders SET lease_token = NULL, lease_expires_at = NULL WHERE id = $1",
            &[&shopper.order_id],
        )
        .await;
        app.make_all_due().await;
        app.run_pass().await;
        app.assert_paid_once(&shopper).await;
    });
}

/// A Stripe call that takes longer than a lease lasts: the lease is renewed while the step
/// waits, so the step keeps the order and finishes it.
#[test]
fn a_step_longer_than_its_lease_keeps_it_by_renewing_it() {
    support::run(|| async {
        let app = TestApp::spawn_with(&[
            ("CHECKOUT_LEASE_SECONDS", "3"),
            ("STRIPE_TIMEOUT_MS", "9000"),
        ])
        .await;
        let shopper = app.shopper();
        app.fault("POST", "/v1/payment_intents", FaultKind::Slow, 1, 7000);
        let paying = {
            let (router, cookie) = (app.router.clone(), shopper.cookie.clone());
            tokio::spawn(async move {
                use tower::ServiceExt;
                let request = axum::http::Request::post("/pay")
                    .header("content-type", "application/json")
                    .header("cookie", cookie)
                    .body(axum::body::Body::from(
                        r#"{"payment_method_id":"pm_card_visa"}"#,
                    ))
                    .unwrap();
                router.oneshot(request).await.unwrap().status()
            })
        };
        // Well past the lease's first three seconds, another holder (a reconciler) tries the order.
        tokio::time::sleep(Duration::from_millis(5000)).await;
        let taken = app
            .store()
            .take_lease(&shopper.order_id, Duration::from_secs(10))
            .await
            .unwrap();
        assert!(taken.is_none(), "still held: its holder renewed it");
        assert_eq!(
            paying.await.unwrap(),
            StatusCode::OK,
            "finished after more than twice its lease"
        );
        app.assert_paid_once(&shopper).await;
    });
}
