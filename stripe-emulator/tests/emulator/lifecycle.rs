//! The rest of the state machine: expiry, capture, cancel, refunds, saved cards off session.

use stripe_core::customer::CreateCustomer;
use stripe_core::payment_intent::{
    CancelPaymentIntent, CapturePaymentIntent, ConfirmPaymentIntent, CreatePaymentIntent,
    CreatePaymentIntentOffSession, RetrievePaymentIntent,
};
use stripe_core::refund::{CreateRefund, RetrieveRefund};
use stripe_shared::PaymentIntentStatus;
use stripe_types::Expandable;

use super::harness::{api_error, Harness};

#[tokio::test]
async fn an_intent_not_reconfirmed_within_an_hour_returns_to_requires_payment_method() {
    let h = Harness::start().await;
    let pm = h.card("4000002500003155").await;
    let pi = h.pay(&pm.id, 1500).await.unwrap();
    h.authenticate(&pi, "complete").await;
    let advanced = h
        .control("POST", "/_emulator/clock/advance", r#"{"seconds": 3601}"#)
        .await;
    assert_eq!(advanced.status, 200, "{}", advanced.body);
    let after = RetrievePaymentIntent::new(pi.id.clone())
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(after.status, PaymentIntentStatus::RequiresPaymentMethod);
    let (err, status) = api_error(h.reconfirm(&pi.id).await);
    assert_eq!(status, 400);
    assert_eq!(
        err.code.unwrap().as_str(),
        "payment_intent_unexpected_state"
    );
}

#[tokio::test]
async fn within_the_hour_the_reconfirm_still_succeeds() {
    let h = Harness::start().await;
    let pm = h.card("4000000000003220").await;
    let pi = h.pay(&pm.id, 1500).await.unwrap();
    h.authenticate(&pi, "complete").await;
    h.control("POST", "/_emulator/clock/advance", r#"{"seconds": 3500}"#)
        .await;
    assert_eq!(
        h.reconfirm(&pi.id).await.unwrap().status,
        PaymentIntentStatus::Succeeded
    );
}

#[tokio::test]
async fn manual_capture_authorises_then_captures_part() {
    let h = Harness::start().await;
    let pm = h.card("4242424242424242").await;
    let pi = CreatePaymentIntent::new(5000, stripe_types::Currency::EUR)
        .payment_method(pm.id.as_str())
        .confirm(true)
        .capture_method(stripe_shared::PaymentIntentCaptureMethod::Manual)
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(pi.status, PaymentIntentStatus::RequiresCapture);
    assert_eq!(pi.amount_capturable, 5000);
    let captured = CapturePaymentIntent::new(pi.id.clone())
        .amount_to_capture(4000)
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(captured.status, PaymentIntentStatus::Succeeded);
    assert_eq!(captured.amount_received, 4000);
    let (err, _) = api_error(
        CapturePaymentIntent::new(pi.id.clone())
            .send(&h.client)
            .await,
    );
    assert_eq!(
        err.code.unwrap().as_str(),
        "payment_intent_unexpected_state"
    );
}

#[tokio::test]
async fn an_authorisation_left_uncaptured_for_seven_days_is_released() {
    let h = Harness::start().await;
    let pm = h.card("4242424242424242").await;
    let authorise = || {
        CreatePaymentIntent::new(5000, stripe_types::Currency::EUR)
            .payment_method(pm.id.as_str())
            .confirm(true)
            .capture_method(stripe_shared::PaymentIntentCaptureMethod::Manual)
    };
    let pi = authorise().send(&h.client).await.unwrap();
    h.control("POST", "/_emulator/clock/advance", r#"{"seconds": 604000}"#)
        .await;
    let still = RetrievePaymentIntent::new(pi.id.clone())
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(
        still.status,
        PaymentIntentStatus::RequiresCapture,
        "not yet seven days"
    );
    h.control("POST", "/_emulator/clock/advance", r#"{"seconds": 800}"#)
        .await;
    let released = RetrievePaymentIntent::new(pi.id.clone())
        .expand(["latest_charge".to_owned()])
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(released.status, PaymentIntentStatus::Canceled);
    assert_eq!(
        released
            .cancellation_reason
            .map(|r| r.as_str().to_owned())
            .as_deref(),
        Some("automatic")
    );
    assert_eq!(released.amount_capturable, 0);
    let Some(Expandable::Object(charge)) = released.latest_charge else {
        panic!("charge not expanded")
    };
    assert_eq!(
        (charge.amount_captured, charge.amount_refunded),
        (0, 5000),
        "the hold is given back to the card"
    );
    let (err, _) = api_error(
        CapturePaymentIntent::new(pi.id.clone())
            .send(&h.client)
            .await,
    );
    assert_eq!(
        err.code.unwrap().as_str(),
        "payment_intent_unexpected_state"
    );
}

#[tokio::test]
async fn cancel_is_refused_once_succeeded_and_allowed_before() {
    let h = Harness::start().await;
    let open = CreatePaymentIntent::new(1000, stripe_types::Currency::EUR)
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(open.status, PaymentIntentStatus::RequiresPaymentMethod);
    let canceled = CancelPaymentIntent::new(open.id.clone())
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(canceled.status, PaymentIntentStatus::Canceled);
    assert!(canceled.canceled_at.is_some());

    let pm = h.card("4242424242424242").await;
    let paid = h.pay(&pm.id, 1000).await.unwrap();
    let (err, status) = api_error(
        CancelPaymentIntent::new(paid.id.clone())
            .send(&h.client)
            .await,
    );
    assert_eq!(status, 400);
    assert_eq!(
        err.code.unwrap().as_str(),
        "payment_intent_unexpected_state"
    );
    assert_eq!(
        err.payment_intent.unwrap().status,
        PaymentIntentStatus::Succeeded
    );
}

#[tokio::test]
async fn refunds_are_created_and_retrieved_and_cannot_exceed_the_charge() {
    let h = Harness::start().await;
    let pm = h.card("4242424242424242").await;
    let pi = h.pay(&pm.id, 3000).await.unwrap();
    let refund = CreateRefund::new()
        .payment_intent(pi.id.as_str())
        .amount(1000)
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(refund.amount, 1000);
    let again = RetrieveRefund::new(refund.id.clone())
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(again.id, refund.id);
    let (err, status) = api_error(
        CreateRefund::new()
            .payment_intent(pi.id.as_str())
            .amount(2500)
            .send(&h.client)
            .await,
    );
    assert_eq!(status, 400);
    assert_eq!(err.code.unwrap().as_str(), "amount_too_large");
    let rest = CreateRefund::new()
        .payment_intent(pi.id.as_str())
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(rest.amount, 2000);
    let Some(Expandable::Id(charge)) = pi.latest_charge else {
        panic!()
    };
    let charge = stripe_core::charge::RetrieveCharge::new(charge)
        .send(&h.client)
        .await
        .unwrap();
    assert!(charge.refunded);
    assert_eq!(charge.amount_refunded, 3000);
}

#[tokio::test]
async fn a_card_saved_off_session_pays_later_without_the_cardholder() {
    let h = Harness::start().await;
    let customer = CreateCustomer::new()
        .email("shopper@example.com")
        .send(&h.client)
        .await
        .unwrap();
    let pm = h.card("4000002500003155").await;
    let first = CreatePaymentIntent::new(2000, stripe_types::Currency::EUR)
        .customer(customer.id.as_str())
        .payment_method(pm.id.as_str())
        .setup_future_usage(stripe_shared::PaymentIntentSetupFutureUsage::OffSession)
        .confirmation_method(stripe_shared::PaymentIntentConfirmationMethod::Manual)
        .confirm(true)
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(first.status, PaymentIntentStatus::RequiresAction);
    h.authenticate(&first, "complete").await;
    let first = ConfirmPaymentIntent::new(first.id.clone())
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(first.status, PaymentIntentStatus::Succeeded);

    let listed = h
        .api(
            "GET",
            &format!("/v1/customers/{}/payment_methods", customer.id),
            "",
        )
        .await;
    assert_eq!(
        listed.json()["data"][0]["id"],
        pm.id.as_str(),
        "the card is attached to the customer"
    );

    let later = CreatePaymentIntent::new(900, stripe_types::Currency::EUR)
        .customer(customer.id.as_str())
        .payment_method(pm.id.as_str())
        .off_session(CreatePaymentIntentOffSession::Bool(true))
        .confirm(true)
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(later.status, PaymentIntentStatus::Succeeded);
}

#[tokio::test]
async fn an_always_authenticate_card_declines_off_session() {
    let h = Harness::start().await;
    let customer = CreateCustomer::new().send(&h.client).await.unwrap();
    let pm = h.card("4000000000003220").await;
    h.api(
        "POST",
        &format!("/v1/payment_methods/{}/attach", pm.id),
        &format!("customer={}", customer.id),
    )
    .await;
    let result = CreatePaymentIntent::new(900, stripe_types::Currency::EUR)
        .customer(customer.id.as_str())
        .payment_method(pm.id.as_str())
        .off_session(CreatePaymentIntentOffSession::Bool(true))
        .confirm(true)
        .send(&h.client)
        .await;
    let (err, status) = api_error(result);
    assert_eq!(status, 402);
    assert_eq!(err.code.unwrap().as_str(), "authentication_required");
}

#[tokio::test]
async fn a_payment_method_used_without_a_customer_cannot_pay_twice() {
    let h = Harness::start().await;
    let pm = h.card("4242424242424242").await;
    h.pay(&pm.id, 1000).await.unwrap();
    let (err, status) = api_error(h.pay(&pm.id, 1000).await);
    assert_eq!(status, 400);
    assert_eq!(err.param.as_deref(), Some("payment_method"));
}

#[tokio::test]
async fn an_automatic_intent_is_confirmed_by_the_authentication_itself() {
    let h = Harness::start().await;
    let pi = CreatePaymentIntent::new(1000, stripe_types::Currency::EUR)
        .payment_method("pm_card_threeDSecure2Required")
        .confirm(true)
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(pi.status, PaymentIntentStatus::RequiresAction);
    h.authenticate(&pi, "complete").await;
    let after = RetrievePaymentIntent::new(pi.id.clone())
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(after.status, PaymentIntentStatus::Succeeded);
}
