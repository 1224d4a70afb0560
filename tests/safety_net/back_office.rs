//! Back-office actions in doubt happen once; what the reconciler cannot settle goes to the merchant.

use super::*;

/// A refund whose answer is lost: the order page says Stripe's answer is awaited, and a
/// second confirmation made on the page as it was (before the refund) does nothing: one refund
/// at Stripe, recorded once.
#[test]
fn a_refund_whose_answer_is_lost_then_a_second_confirmation_refunds_once() {
    support::run(|| async {
        let app = TestApp::spawn().await;
        let shopper = app.shopper();
        assert_eq!(
            app.pay(&shopper, "pm_card_visa").await.json(),
            json!({ "success": true })
        );
        let merchant = app.merchant().await;
        let order_page = format!("/merchant/orders/{}", shopper.order_id);

        let (first_key, first_basis) =
            confirmation(&app, &merchant, &shopper.order_id, "refund", "5").await;
        let (second_key, second_basis) =
            confirmation(&app, &merchant, &shopper.order_id, "refund", "5").await;
        app.fault("POST", "/v1/refunds", FaultKind::PerformThenDrop, 3, 0);
        let lost = act(
            &app,
            &merchant,
            &shopper.order_id,
            "refund",
            &first_key,
            &first_basis,
        )
        .await;
        assert_eq!(
            lost.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "Stripe did not answer: {}",
            lost.body
        );
        let reload = app.get(&order_page, &merchant).await;
        assert!(
            reload.body.contains("data-testid=\"awaiting-stripe\""),
            "the page says the refund's answer is awaited"
        );

        let second = act(
            &app,
            &merchant,
            &shopper.order_id,
            "refund",
            &second_key,
            &second_basis,
        )
        .await;
        assert_eq!(second.status, StatusCode::SEE_OTHER, "{}", second.body);
        assert_eq!(
            app.refunds_of(&shopper.order_id).len(),
            1,
            "one refund at Stripe"
        );
        let order = app.order(&shopper).await;
        assert_eq!(
            (order.amount_refunded, order.request.is_some()),
            (500, false)
        );
        let first = app.store().action_state(&first_key).await.unwrap();
        assert!(
            matches!(first, Some(checkout::server::merchant::store::ActionState::Done(ref m)) if m.contains("5.00")),
            "the first refund is done: {first:?}"
        );
        let second = app.store().action_state(&second_key).await.unwrap();
        assert!(
            matches!(second, Some(checkout::server::merchant::store::ActionState::Refused(ref m)) if m.contains("changed")),
            "the second did nothing: {second:?}"
        );
    });
}

/// A refund Stripe made, whose totals could not be read after: the refund's own answer is
/// recorded, so the page shows it and a second confirmation from before it does nothing.
#[test]
fn a_refund_whose_totals_cannot_be_read_is_still_recorded_once() {
    support::run(|| async {
        let app = TestApp::spawn().await;
        let shopper = app.shopper();
        app.pay(&shopper, "pm_card_visa").await;
        let merchant = app.merchant().await;
        let (first_key, first_basis) =
            confirmation(&app, &merchant, &shopper.order_id, "refund", "5").await;
        let (second_key, second_basis) =
            confirmation(&app, &merchant, &shopper.order_id, "refund", "5").await;
        app.fault("GET", "/v1/payment_intents/*", FaultKind::Error500, 3, 0);
        assert_eq!(
            act(
                &app,
                &merchant,
                &shopper.order_id,
                "refund",
                &first_key,
                &first_basis
            )
            .await
            .status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            app.order(&shopper).await.amount_refunded,
            500,
            "the refund's answer is on the order"
        );
        act(
            &app,
            &merchant,
            &shopper.order_id,
            "refund",
            &second_key,
            &second_basis,
        )
        .await;
        assert_eq!(app.refunds_of(&shopper.order_id).len(), 1, "one refund");
    });
}

/// A confirmation page's one-time key and the order as it showed it.
async fn confirmation(
    app: &TestApp,
    merchant: &str,
    order_id: &str,
    action: &str,
    amount: &str,
) -> (String, String) {
    let page = app
        .get(
            &format!("/merchant/orders/{order_id}/confirm?action={action}&amount={amount}"),
            merchant,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let value = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let start = page
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} in {}", page.body))
            + marker.len();
        page.body[start..].split('"').next().unwrap().to_owned()
    };
    (value("key"), value("basis"))
}

async fn act(
    app: &TestApp,
    merchant: &str,
    order_id: &str,
    action: &str,
    key: &str,
    basis: &str,
) -> support::Answer {
    let amount = "500";
    app.post_form(
        &format!("/merchant/orders/{order_id}/actions"),
        merchant,
        &[
            ("action", action),
            ("key", key),
            ("amount", amount),
            ("basis", basis),
        ],
    )
    .await
}

/// A mismatched payment whose refund Stripe refuses for good (refunded in its dashboard
/// already): the order leaves the reconciler's queue and the back office lists it, with why.
#[test]
fn a_refund_stripe_refuses_for_good_puts_the_order_before_the_merchant_instead_of_retrying_it_for_ever(
) {
    support::run(|| async {
        let app = TestApp::spawn().await;
        let shopper = app.shopper();
        let first = app
            .pay(&shopper, "pm_card_threeDSecure2Required")
            .await
            .json();
        let intent = first["payment_intent_client_secret"]
            .as_str()
            .unwrap()
            .split("_secret_")
            .next()
            .unwrap()
            .to_owned();
        // Changed behind the app, and refunded in full from Stripe's dashboard after it succeeds.
        let client = stripe::ClientBuilder::new(checkout::server::config::EMULATOR_SECRET_KEY)
            .url(format!("{}/", app.emulator.base_url()))
            .build()
            .unwrap();
        stripe_core::payment_intent::UpdatePaymentIntent::new(intent.as_str())
            .amount(100)
            .send(&client)
            .await
            .unwrap();
        let again = app.reconfirm(&shopper, &intent).await.json();
        assert_eq!(again["requires_action"], true, "{again}");
        app.authenticate(&intent);
        app.fault("POST", "/v1/refunds", FaultKind::Error500, 3, 0);
        let answer = app.reconfirm(&shopper, &intent).await;
        assert_eq!(
            answer.status,
            StatusCode::CONFLICT,
            "under review: {}",
            answer.body
        );
        assert_eq!(app.order(&shopper).await.status, OrderStatus::NeedsReview);
        stripe_core::refund::CreateRefund::new()
            .payment_intent(intent.as_str())
            .send(&client)
            .await
            .unwrap();

        app.make_all_due().await;
        app.run_pass().await;
        let order = app.order(&shopper).await;
        assert!(
            order
                .attention
                .as_deref()
                .is_some_and(|a| a.contains("refused")),
            "{:?}",
            order.attention
        );
        assert_eq!(order.next_check_at, None, "not retried for ever");
        app.make_all_due().await;
        assert_eq!(app.run_pass().await.looked_at, 0);
        let merchant = app.merchant().await;
        let listed = app.get("/merchant?attention=1", &merchant).await;
        assert!(
            listed.body.contains(&order.reference),
            "listed as needing the merchant"
        );
        let page = app
            .get(&format!("/merchant/orders/{}", shopper.order_id), &merchant)
            .await;
        assert!(page.body.contains("data-testid=\"attention\""), "with why");
    });
}
