//! The safety net at real traffic, in process: a reconciler no set of orders can starve,
//! doubt settled only by replaying the request, late writers that change nothing, lost
//! creates found however busy the account, back-office actions that happen once, and the
//! smaller holes (a processing answer, the language switch's redirect).

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use checkout::checkout::OrderStatus;
use serde_json::json;
use stripe_emulator::FaultKind;
use support::{checkout_sql_text, TestApp};

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
        assert_eq!(app.pay(&processing, "pm_card_emulatorProcessing").await.json(), json!({ "processing": true }));
        // The bank answers after a minute; everything above is due by now.
        app.advance_clock(61);
        tokio::time::sleep(Duration::from_millis(1100)).await;

        let first = app.run_pass().await;
        let due_again = app.store().due_count(checkout::orders::now()).await.unwrap();
        let second = app.run_pass().await;
        assert_eq!(app.order(&processing).await.status, OrderStatus::Paid, "settled within two passes ({first:?}, {second:?})");
        app.assert_paid_once(&processing).await;
        assert!(first.looked_at >= 2001, "the first pass looked at every due order: {first:?}");
        assert!(due_again < 2000 && second.looked_at as i64 <= due_again, "a pass reads what is due, not what is in the table: {due_again} due, {second:?}");
        assert_eq!(app.order(&abandoned[0]).await.status, OrderStatus::RequiresAction, "still with their cardholders");
        assert!(app.order(&abandoned[0]).await.next_check_at.is_some(), "and still watched, a few times");
    });
}

/// A confirm that reaches Stripe after the shopper's next attempt began (a slow network): the
/// next attempt first replays the unanswered confirm under its key, so the confirm executes
/// once, and its payment is the order's. Reading the intent instead would have found it
/// unpaid, let the next card be declined, and left the order failed beside a payment.
#[test]
fn a_confirm_that_arrives_after_the_next_attempt_leaves_the_order_paid_by_it_never_failed() {
    support::run(|| async {
        let app = TestApp::spawn().await;
        let shopper = app.shopper();
        assert_eq!(app.pay(&shopper, "pm_card_visa_chargeDeclined").await.status, StatusCode::PAYMENT_REQUIRED, "a first card declined: the order has its intent");
        // Every try of the next confirm arrives two seconds late, after the app gave up on it.
        app.fault("POST", "/v1/payment_intents/*/confirm", FaultKind::Delay, 3, 2500);
        let lost = app.pay(&shopper, "pm_card_visa").await;
        assert_eq!(lost.status, StatusCode::SERVICE_UNAVAILABLE, "{}", lost.body);
        assert!(app.order(&shopper).await.request.is_some(), "the confirm is recorded, unanswered");
        assert!(app.charges_of(&shopper.order_id).is_empty(), "it has not arrived yet");

        // The shopper tries a card that would be declined, before the late confirm arrives.
        let next = app.pay(&shopper, "pm_card_visa_chargeDeclined").await;
        assert_eq!(next.json(), json!({ "success": true }), "the replay executed the first confirm: that is the answer");
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
        assert_eq!(app.pay(&shopper, "pm_card_visa_chargeDeclined").await.status, StatusCode::PAYMENT_REQUIRED);
        app.fault("POST", "/v1/payment_intents/*/confirm", FaultKind::Slow, 1, 3000);
        assert_eq!(app.pay(&shopper, "pm_card_visa").await.status, StatusCode::SERVICE_UNAVAILABLE);
        let meanwhile = app.pay(&shopper, "pm_card_mastercard").await;
        assert_eq!(meanwhile.status, StatusCode::SERVICE_UNAVAILABLE, "{}", meanwhile.body);
        assert_eq!(app.intents_of(&shopper.order_id).len(), 1);
        tokio::time::sleep(Duration::from_millis(2000)).await;
        let after = app.pay(&shopper, "pm_card_mastercard").await;
        assert_eq!(after.json(), json!({ "success": true }), "the first confirm's result, replayed");
        app.assert_paid_once(&shopper).await;
        let charge = &app.charges_of(&shopper.order_id)[0];
        assert_eq!(charge.card.last4(), "4242", "paid with the card of the confirm that executed");
    });
}

/// A step that outlives its lease (its server stalled) while another holder takes the order:
/// its late writes change nothing; the request it sent stays recorded, and the next holder
/// settles it by replaying it.
#[test]
fn a_step_whose_lease_is_taken_mid_step_writes_nothing_and_its_request_is_replayed_later() {
    support::run(|| async {
        let app = TestApp::spawn_with(&[("STRIPE_TIMEOUT_MS", "5000")]).await;
        let shopper = app.shopper();
        assert_eq!(app.pay(&shopper, "pm_card_visa_chargeDeclined").await.status, StatusCode::PAYMENT_REQUIRED);
        let before = app.order(&shopper).await;
        // Stripe takes a while to answer the confirm, and answers.
        app.fault("POST", "/v1/payment_intents/*/confirm", FaultKind::Slow, 1, 1500);
        let paying = {
            let (router, cookie) = (app.router.clone(), shopper.cookie.clone());
            tokio::spawn(async move {
                use tower::ServiceExt;
                let request = axum::http::Request::post("/pay")
                    .header("content-type", "application/json")
                    .header("cookie", cookie)
                    .body(axum::body::Body::from(r#"{"payment_method_id":"pm_card_visa"}"#))
                    .unwrap();
                router.oneshot(request).await.unwrap().status()
            })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        // Another holder takes the order over while the confirm executes.
        checkout_sql_text(&app, "UPDATE orders SET lease_token = 'another-holder', lease_expires_at = lease_expires_at + 600 WHERE id = $1", &[&shopper.order_id]).await;
        assert_eq!(paying.await.unwrap(), StatusCode::CONFLICT, "the step stopped: the order is another holder's");
        let after = app.order(&shopper).await;
        assert_eq!((after.status, after.payment_intent_id.clone(), after.card_last4.clone()), (before.status, before.payment_intent_id.clone(), None), "the late writer changed nothing");
        assert_eq!(app.store().fulfilment_count(&shopper.order_id).await.unwrap(), 0);
        assert!(after.request.is_some(), "its confirm is still recorded for the next holder");
        assert_eq!(app.charges_of(&shopper.order_id).len(), 1, "Stripe took the payment meanwhile");

        checkout_sql_text(&app, "UPDATE orders SET lease_token = NULL, lease_expires_at = NULL WHERE id = $1", &[&shopper.order_id]).await;
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
        let app = TestApp::spawn_with(&[("CHECKOUT_LEASE_SECONDS", "3"), ("STRIPE_TIMEOUT_MS", "9000")]).await;
        let shopper = app.shopper();
        app.fault("POST", "/v1/payment_intents", FaultKind::Slow, 1, 7000);
        let paying = {
            let (router, cookie) = (app.router.clone(), shopper.cookie.clone());
            tokio::spawn(async move {
                use tower::ServiceExt;
                let request = axum::http::Request::post("/pay")
                    .header("content-type", "application/json")
                    .header("cookie", cookie)
                    .body(axum::body::Body::from(r#"{"payment_method_id":"pm_card_visa"}"#))
                    .unwrap();
                router.oneshot(request).await.unwrap().status()
            })
        };
        // Well past the lease's first three seconds, another holder (a reconciler) tries the order.
        tokio::time::sleep(Duration::from_millis(5000)).await;
        let taken = app.store().take_lease(&shopper.order_id, Duration::from_secs(10)).await.unwrap();
        assert!(taken.is_none(), "still held: its holder renewed it");
        assert_eq!(paying.await.unwrap(), StatusCode::OK, "finished after more than twice its lease");
        app.assert_paid_once(&shopper).await;
    });
}

/// A create lost on every try, then 2,100 other payments, then more than Stripe's day: the
/// key is no longer kept, so the order's intent is looked for among every intent made around
/// it, page after page, across steps, and found; no second intent is made.
#[test]
fn a_lost_create_followed_by_2100_other_intents_still_resolves_after_stripes_day() {
    support::run(|| async {
        let app = TestApp::spawn().await;
        let shopper = app.shopper();
        app.fault("POST", "/v1/payment_intents", FaultKind::PerformThenDrop, 3, 0);
        assert_eq!(app.pay(&shopper, "pm_card_visa").await.status, StatusCode::SERVICE_UNAVAILABLE);
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
        assert_eq!(answers.last().unwrap().1, r#"{"success":true}"#, "resolved: {answers:?}");
        assert!(answers.len() > 1, "the search went on across steps: {answers:?}");
        app.assert_paid_once(&shopper).await;
        assert_eq!(app.intents_of(&shopper.order_id).len(), 1, "the lost create's intent, no second one");
        assert_eq!(app.charges_of(&shopper.order_id)[0].card.last4(), "4242", "the lost create's own card");
    });
}

/// Within Stripe's day, the lost create is simply replayed under its key: its answer, at once.
#[test]
fn a_lost_create_is_settled_by_its_replay_within_stripes_day_however_busy_the_account() {
    support::run(|| async {
        let app = TestApp::spawn().await;
        let shopper = app.shopper();
        app.fault("POST", "/v1/payment_intents", FaultKind::PerformThenDrop, 3, 0);
        assert_eq!(app.pay(&shopper, "pm_card_visa").await.status, StatusCode::SERVICE_UNAVAILABLE);
        other_intents(&app, 2100).await;
        assert_eq!(app.pay(&shopper, "pm_card_mastercard").await.json(), json!({ "success": true }));
        app.assert_paid_once(&shopper).await;
    });
}

/// `count` intents of other orders, made straight at the emulator.
async fn other_intents(app: &TestApp, count: usize) {
    let client = stripe::ClientBuilder::new(checkout::config::EMULATOR_SECRET_KEY).url(format!("{}/", app.emulator.base_url())).build().unwrap();
    for n in 0..count {
        let mut metadata = std::collections::HashMap::new();
        metadata.insert("order_id".to_owned(), format!("ord_someone_else_{n}"));
        stripe_core::payment_intent::CreatePaymentIntent::new(1000, stripe_types::Currency::EUR).metadata(metadata).send(&client).await.unwrap();
    }
}

/// A refund whose answer is lost: the order page says Stripe's answer is awaited, and a
/// second confirmation made on the page as it was (before the refund) does nothing: one refund
/// at Stripe, recorded once.
#[test]
fn a_refund_whose_answer_is_lost_then_a_second_confirmation_refunds_once() {
    support::run(|| async {
        let app = TestApp::spawn().await;
        let shopper = app.shopper();
        assert_eq!(app.pay(&shopper, "pm_card_visa").await.json(), json!({ "success": true }));
        let merchant = app.merchant().await;
        let order_page = format!("/merchant/orders/{}", shopper.order_id);

        let (first_key, first_basis) = confirmation(&app, &merchant, &shopper.order_id, "refund", "5").await;
        let (second_key, second_basis) = confirmation(&app, &merchant, &shopper.order_id, "refund", "5").await;
        app.fault("POST", "/v1/refunds", FaultKind::PerformThenDrop, 3, 0);
        let lost = act(&app, &merchant, &shopper.order_id, "refund", &first_key, &first_basis).await;
        assert_eq!(lost.status, StatusCode::SERVICE_UNAVAILABLE, "Stripe did not answer: {}", lost.body);
        let reload = app.get(&order_page, &merchant).await;
        assert!(reload.body.contains("data-testid=\"awaiting-stripe\""), "the page says the refund's answer is awaited");

        let second = act(&app, &merchant, &shopper.order_id, "refund", &second_key, &second_basis).await;
        assert_eq!(second.status, StatusCode::SEE_OTHER, "{}", second.body);
        assert_eq!(app.refunds_of(&shopper.order_id).len(), 1, "one refund at Stripe");
        let order = app.order(&shopper).await;
        assert_eq!((order.amount_refunded, order.request.is_some()), (500, false));
        let first = app.store().action_state(&first_key).await.unwrap();
        assert!(matches!(first, Some(checkout::orders::ActionState::Done(ref m)) if m.contains("5.00")), "the first refund is done: {first:?}");
        let second = app.store().action_state(&second_key).await.unwrap();
        assert!(matches!(second, Some(checkout::orders::ActionState::Refused(ref m)) if m.contains("changed")), "the second did nothing: {second:?}");
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
        let (first_key, first_basis) = confirmation(&app, &merchant, &shopper.order_id, "refund", "5").await;
        let (second_key, second_basis) = confirmation(&app, &merchant, &shopper.order_id, "refund", "5").await;
        app.fault("GET", "/v1/payment_intents/*", FaultKind::Error500, 3, 0);
        assert_eq!(act(&app, &merchant, &shopper.order_id, "refund", &first_key, &first_basis).await.status, StatusCode::SEE_OTHER);
        assert_eq!(app.order(&shopper).await.amount_refunded, 500, "the refund's answer is on the order");
        act(&app, &merchant, &shopper.order_id, "refund", &second_key, &second_basis).await;
        assert_eq!(app.refunds_of(&shopper.order_id).len(), 1, "one refund");
    });
}

/// A confirmation page's one-time key and the order as it showed it.
async fn confirmation(app: &TestApp, merchant: &str, order_id: &str, action: &str, amount: &str) -> (String, String) {
    let page = app.get(&format!("/merchant/orders/{order_id}/confirm?action={action}&amount={amount}"), merchant).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let value = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let start = page.body.find(&marker).unwrap_or_else(|| panic!("no {name} in {}", page.body)) + marker.len();
        page.body[start..].split('"').next().unwrap().to_owned()
    };
    (value("key"), value("basis"))
}

async fn act(app: &TestApp, merchant: &str, order_id: &str, action: &str, key: &str, basis: &str) -> support::Answer {
    let amount = "500";
    app.post_form(&format!("/merchant/orders/{order_id}/actions"), merchant, &[("action", action), ("key", key), ("amount", amount), ("basis", basis)]).await
}

/// A mismatched payment whose refund Stripe refuses for good (refunded in its dashboard
/// already): the order leaves the reconciler's queue and the back office lists it, with why.
#[test]
fn a_refund_stripe_refuses_for_good_puts_the_order_before_the_merchant_instead_of_retrying_it_for_ever() {
    support::run(|| async {
        let app = TestApp::spawn().await;
        let shopper = app.shopper();
        let first = app.pay(&shopper, "pm_card_threeDSecure2Required").await.json();
        let intent = first["payment_intent_client_secret"].as_str().unwrap().split("_secret_").next().unwrap().to_owned();
        // Changed behind the app, and refunded in full from Stripe's dashboard after it succeeds.
        let client = stripe::ClientBuilder::new(checkout::config::EMULATOR_SECRET_KEY).url(format!("{}/", app.emulator.base_url())).build().unwrap();
        stripe_core::payment_intent::UpdatePaymentIntent::new(intent.as_str()).amount(100).send(&client).await.unwrap();
        let again = app.reconfirm(&shopper, &intent).await.json();
        assert_eq!(again["requires_action"], true, "{again}");
        app.authenticate(&intent);
        app.fault("POST", "/v1/refunds", FaultKind::Error500, 3, 0);
        let answer = app.reconfirm(&shopper, &intent).await;
        assert_eq!(answer.status, StatusCode::CONFLICT, "under review: {}", answer.body);
        assert_eq!(app.order(&shopper).await.status, OrderStatus::NeedsReview);
        stripe_core::refund::CreateRefund::new().payment_intent(intent.as_str()).send(&client).await.unwrap();

        app.make_all_due().await;
        app.run_pass().await;
        let order = app.order(&shopper).await;
        assert!(order.attention.as_deref().is_some_and(|a| a.contains("refused")), "{:?}", order.attention);
        assert_eq!(order.next_check_at, None, "not retried for ever");
        app.make_all_due().await;
        assert_eq!(app.run_pass().await.looked_at, 0);
        let merchant = app.merchant().await;
        let listed = app.get("/merchant?attention=1", &merchant).await;
        assert!(listed.body.contains(&order.reference), "listed as needing the merchant");
        let page = app.get(&format!("/merchant/orders/{}", shopper.order_id), &merchant).await;
        assert!(page.body.contains("data-testid=\"attention\""), "with why");
    });
}

/// `POST /pay` tells a processing payment apart from a paid one; the reconciler looks at it
/// less and less often while the bank has not answered.
#[test]
fn a_processing_payment_is_answered_as_processing_not_as_paid() {
    support::run(|| async {
        let app = TestApp::spawn().await;
        let shopper = app.shopper();
        assert_eq!(app.pay(&shopper, "pm_card_emulatorProcessing").await.json(), json!({ "processing": true }));
        assert_eq!(app.order(&shopper).await.status, OrderStatus::Processing);
        // Looked at and found still processing: each look waits longer than the last.
        let mut waits = vec![];
        for _ in 0..3 {
            app.make_all_due().await;
            let looked_at = checkout::orders::now();
            assert_eq!(app.run_pass().await.looked_at, 1);
            let order = app.order(&shopper).await;
            assert_eq!(order.status, OrderStatus::Processing);
            waits.push(order.next_check_at.unwrap() - looked_at);
        }
        assert!(waits.windows(2).all(|w| w[1] > w[0]), "backed off: {waits:?}");
    });
}

/// The language switch goes back only to a path of this site, whatever the form carries.
#[test]
fn the_language_switch_never_redirects_to_another_site() {
    support::run(|| async {
        let app = TestApp::spawn().await;
        for (return_to, expected) in [("/\t/evil.example", "/"), ("/\n/evil.example", "/"), ("//evil.example", "/"), ("/\\evil.example", "/"), ("/merchant", "/merchant")] {
            let answer = app.post_form("/language", "", &[("lang", "fr"), ("return_to", return_to)]).await;
            let location = answer.headers.get("location").map(|l| l.to_str().unwrap().to_owned());
            assert_eq!(location.as_deref(), Some(expected), "{return_to:?}");
        }
    });
}
