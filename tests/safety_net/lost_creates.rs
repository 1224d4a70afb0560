//! A create whose answer was lost: replayed within Stripe's day, searched for (page after page) after it.

use super::*;

/// A create lost on every try, then 2,100 other payments, then more than Stripe's day: the
/// key is no longer kept, so the order's intent is looked for among every intent made around
/// it, page after page, across steps, and found; no second intent is made.
#[test]
fn a_lost_create_followed_by_2100_other_intents_still_resolves_after_stripes_day() {
    support::run(|| async {
        let app = TestApp::spawn().await;
        let shopper = app.shopper();
        app.fault(
            "POST",
            "/v1/payment_intents",
            FaultKind::PerformThenDrop,
            3,
            0,
        );
        assert_eq!(
            app.pay(&shopper, "pm_card_visa").await.status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(app.intents_of(&shopper.order_id).len(), 1, "it was made");
        other_intents(&app, 2100).await;
        // This server heard from Stripe just before the day went by: the old reading must not count.
        app.pay(&app.shopper(), "pm_card_visa").await;
        app.advance_clock(25 * 3600);

        let mut answers = vec![];
        for _ in 0..5 {
            let answer = app.pay(&shopper, "pm_card_mastercard").await;
            let done = answer.status == StatusCode::OK;
            answers.push((answer.status, answer.body));
            if done {
                break;
            }
        }
        assert_eq!(
            answers.last().unwrap().1,
            r#"{"success":true}"#,
            "resolved: {answers:?}"
        );
        assert!(
            answers.len() > 1,
            "the search went on across steps: {answers:?}"
        );
        app.assert_paid_once(&shopper).await;
        assert_eq!(
            app.intents_of(&shopper.order_id).len(),
            1,
            "the lost create's intent, no second one"
        );
        assert_eq!(
            app.charges_of(&shopper.order_id)[0].card.last4(),
            "4242",
            "the lost create's own card"
        );
    });
}

/// Within Stripe's day, the lost create is simply replayed under its key: its answer, at once.
#[test]
fn a_lost_create_is_settled_by_its_replay_within_stripes_day_however_busy_the_account() {
    support::run(|| async {
        let app = TestApp::spawn().await;
        let shopper = app.shopper();
        app.fault(
            "POST",
            "/v1/payment_intents",
            FaultKind::PerformThenDrop,
            3,
            0,
        );
        assert_eq!(
            app.pay(&shopper, "pm_card_visa").await.status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        other_intents(&app, 2100).await;
        assert_eq!(
            app.pay(&shopper, "pm_card_mastercard").await.json(),
            json!({ "success": true })
        );
        app.assert_paid_once(&shopper).await;
    });
}

/// `count` intents of other orders, made straight at the emulator.
async fn other_intents(app: &TestApp, count: usize) {
    let client = stripe::ClientBuilder::new(checkout::server::config::EMULATOR_SECRET_KEY)
        .url(format!("{}/", app.emulator.base_url()))
        .build()
        .unwrap();
    for n in 0..count {
        let mut metadata = std::collections::HashMap::new();
        metadata.insert("order_id".to_owned(), format!("ord_someone_else_{n}"));
        stripe_core::payment_intent::CreatePaymentIntent::new(1000, stripe_types::Currency::EUR)
            .metadata(metadata)
            .send(&client)
            .await
            .unwrap();
    }
}
