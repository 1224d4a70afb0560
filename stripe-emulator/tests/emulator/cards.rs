//! Every card of the table, driven the way the checkout drives Stripe.

use stripe_core::charge::RetrieveCharge;
use stripe_core::payment_intent::RetrievePaymentIntent;
use stripe_emulator::cards::{Behaviour, TEST_CARDS};
use stripe_shared::{ChargeStatus, PaymentIntentStatus};
use stripe_types::Expandable;

use super::harness::{api_error, Harness};

#[tokio::test]
async fn every_table_card_behaves_as_stripe_documents() {
    let h = Harness::start().await;
    for card in TEST_CARDS {
        let pm = h.card(card.number).await;
        let created = h.pay(&pm.id, 2500).await;
        match card.behaviour {
            Behaviour::Succeeds => {
                let pi = created.unwrap_or_else(|e| panic!("{}: {e:?}", card.number));
                assert_eq!(pi.status, PaymentIntentStatus::Succeeded, "{}", card.number);
                assert_eq!(pi.amount_received, 2500);
                let Some(Expandable::Id(charge_id)) = pi.latest_charge else {
                    panic!("no charge for {}", card.number)
                };
                let charge = RetrieveCharge::new(charge_id)
                    .send(&h.client)
                    .await
                    .unwrap();
                assert_eq!(charge.status, ChargeStatus::Succeeded);
                assert!(charge.paid && charge.captured);
            }
            Behaviour::ProcessingThenSucceeds => {
                let pi = created.unwrap_or_else(|e| panic!("{}: {e:?}", card.number));
                assert_eq!(
                    pi.status,
                    PaymentIntentStatus::Processing,
                    "{}",
                    card.number
                );
                assert!(
                    pi.latest_charge.is_none(),
                    "no charge until the bank answers"
                );
            }
            Behaviour::Declines(decline) => {
                let (err, status) = api_error(created);
                assert_eq!(status, 402, "{}", card.number);
                assert_eq!(
                    err.code.map(|c| c.as_str().to_owned()).as_deref(),
                    Some(decline.code()),
                    "{}",
                    card.number
                );
                assert_eq!(err.decline_code.as_deref(), Some(decline.decline_code()));
                assert_eq!(err.message.as_deref(), Some(decline.message()));
                let pi = err
                    .payment_intent
                    .expect("the intent travels with the decline");
                assert_eq!(pi.status, PaymentIntentStatus::RequiresPaymentMethod);
                let retrieved = RetrievePaymentIntent::new(pi.id.clone())
                    .send(&h.client)
                    .await
                    .unwrap();
                let last = retrieved
                    .last_payment_error
                    .expect("last_payment_error kept");
                assert_eq!(last.decline_code.as_deref(), Some(decline.decline_code()));
                let Some(Expandable::Id(charge_id)) = retrieved.latest_charge else {
                    panic!("a failed charge exists")
                };
                let charge = RetrieveCharge::new(charge_id)
                    .send(&h.client)
                    .await
                    .unwrap();
                assert_eq!(charge.status, ChargeStatus::Failed);
                assert_eq!(charge.failure_code.as_deref(), Some(decline.code()));
            }
            Behaviour::AuthenticateUnlessSetUp
            | Behaviour::AuthenticateAlways
            | Behaviour::AuthenticateThenDecline(_) => {
                let pi = created.unwrap_or_else(|e| panic!("{}: {e:?}", card.number));
                assert_eq!(
                    pi.status,
                    PaymentIntentStatus::RequiresAction,
                    "{}",
                    card.number
                );
                let action = pi.next_action.as_ref().expect("next_action");
                assert_eq!(action.type_, "use_stripe_sdk");
                let answer = h.authenticate(&pi, "complete").await;
                assert_eq!(answer.status, 200, "{}", answer.body);
                let after = RetrievePaymentIntent::new(pi.id.clone())
                    .send(&h.client)
                    .await
                    .unwrap();
                assert_eq!(
                    after.status,
                    PaymentIntentStatus::RequiresConfirmation,
                    "manual confirmation waits for the server"
                );
                let confirmed = h.reconfirm(&pi.id).await;
                match card.behaviour {
                    Behaviour::AuthenticateThenDecline(decline) => {
                        let (err, status) = api_error(confirmed);
                        assert_eq!(status, 402);
                        assert_eq!(err.decline_code.as_deref(), Some(decline.decline_code()));
                    }
                    _ => assert_eq!(
                        confirmed.unwrap().status,
                        PaymentIntentStatus::Succeeded,
                        "{}",
                        card.number
                    ),
                }
            }
        }
    }
}

#[tokio::test]
async fn failed_authentication_returns_the_intent_to_requires_payment_method() {
    let h = Harness::start().await;
    let pm = h.card("4000002500003155").await;
    let pi = h.pay(&pm.id, 1000).await.unwrap();
    let answer = h.authenticate(&pi, "fail").await;
    assert_eq!(answer.status, 200);
    let after = RetrievePaymentIntent::new(pi.id.clone())
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(after.status, PaymentIntentStatus::RequiresPaymentMethod);
    let err = after.last_payment_error.expect("error kept");
    assert_eq!(
        err.code.unwrap().as_str(),
        "payment_intent_authentication_failure"
    );
    // A new card on the same intent then succeeds.
    let visa = h.card("4242424242424242").await;
    let confirmed = stripe_core::payment_intent::ConfirmPaymentIntent::new(pi.id.clone())
        .payment_method(visa.id.as_str())
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(confirmed.status, PaymentIntentStatus::Succeeded);
}

#[tokio::test]
async fn invalid_card_data_fails_payment_method_creation_like_stripe() {
    let h = Harness::start().await;
    let cases = [
        (
            "card[number]=4242424242424241&card[exp_month]=12&card[exp_year]=2040",
            "incorrect_number",
        ),
        (
            "card[number]=4242424242424242&card[exp_month]=13&card[exp_year]=2040",
            "invalid_expiry_month",
        ),
        (
            "card[number]=4242424242424242&card[exp_month]=1&card[exp_year]=2001",
            "invalid_expiry_year",
        ),
        (
            "card[number]=4242424242424242&card[exp_month]=1&card[exp_year]=2040&card[cvc]=12a",
            "invalid_cvc",
        ),
    ];
    for (card, code) in cases {
        let response = h
            .api("POST", "/v1/payment_methods", &format!("type=card&{card}"))
            .await;
        assert_eq!(response.status, 402, "{card}: {}", response.body);
        assert_eq!(response.json()["error"]["code"], code);
        assert_eq!(response.json()["error"]["type"], "card_error");
    }
}

#[tokio::test]
async fn any_other_luhn_valid_number_succeeds() {
    let h = Harness::start().await;
    let pm = h.card("4111111111111111").await;
    assert_eq!(
        h.pay(&pm.id, 1000).await.unwrap().status,
        PaymentIntentStatus::Succeeded
    );
}
