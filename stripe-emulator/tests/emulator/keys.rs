//! Keys: what secret and publishable keys may do; live keys refused.

use super::harness::{raw, Harness, PUBLISHABLE, SECRET};

#[tokio::test]
async fn server_calls_need_a_secret_key() {
    let h = Harness::start().await;
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let none = raw(
        h.base(),
        "POST",
        "/v1/payment_intents",
        &form,
        "amount=1000&currency=eur",
    )
    .await
    .unwrap();
    assert_eq!(none.status, 401);
    let pk = format!("Bearer {PUBLISHABLE}");
    let with_pk = raw(
        h.base(),
        "POST",
        "/v1/payment_intents",
        &[("Authorization", &pk), form[0]],
        "amount=1000&currency=eur",
    )
    .await
    .unwrap();
    assert_eq!(with_pk.status, 403);
    assert!(with_pk.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("publishable API key"));
    // Built at run time so no live-looking key sits in the source.
    for kind in ["sk", "pk"] {
        let live = format!("Bearer {kind}_{}_0123456789abcdef", "live");
        let r = raw(
            h.base(),
            "POST",
            "/v1/payment_intents",
            &[("Authorization", &live), form[0]],
            "amount=1000&currency=eur",
        )
        .await
        .unwrap();
        assert_eq!(r.status, 401);
        assert!(
            !r.body.contains("0123456789abcdef"),
            "the key is not echoed"
        );
    }
    assert!(h.intents().await.is_empty(), "nothing was created");
}

#[tokio::test]
async fn a_publishable_key_creates_payment_methods_and_reads_an_intent_with_its_client_secret() {
    let h = Harness::start().await;
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let body = format!("key={PUBLISHABLE}&type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2040&card[cvc]=123");
    let pm = raw(h.base(), "POST", "/v1/payment_methods", &form, &body)
        .await
        .unwrap();
    assert_eq!(pm.status, 200, "{}", pm.body);
    assert_eq!(pm.json()["card"]["last4"], "4242");
    assert!(
        !pm.body.contains("4242424242424242"),
        "the full number never comes back"
    );

    let pi = h
        .pay(pm.json()["id"].as_str().unwrap(), 1000)
        .await
        .unwrap();
    let secret = pi.client_secret.clone().unwrap();
    let path = format!(
        "/v1/payment_intents/{}?key={PUBLISHABLE}&client_secret={secret}",
        pi.id
    );
    assert_eq!(
        raw(h.base(), "GET", &path, &[], "").await.unwrap().status,
        200
    );
    let wrong = format!(
        "/v1/payment_intents/{}?key={PUBLISHABLE}&client_secret={}_secret_wrong",
        pi.id, pi.id
    );
    assert_eq!(
        raw(h.base(), "GET", &wrong, &[], "").await.unwrap().status,
        400
    );
    let missing = format!("/v1/payment_intents/{}?key={PUBLISHABLE}", pi.id);
    assert_eq!(
        raw(h.base(), "GET", &missing, &[], "")
            .await
            .unwrap()
            .status,
        400
    );
    // But it cannot confirm a manual-confirmation intent.
    let confirm = format!("key={PUBLISHABLE}&client_secret={secret}");
    let r = raw(
        h.base(),
        "POST",
        &format!("/v1/payment_intents/{}/confirm", pi.id),
        &form,
        &confirm,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test]
async fn basic_auth_with_the_secret_key_works() {
    let h = Harness::start().await;
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SECRET}:"))
    );
    let r = raw(
        h.base(),
        "GET",
        "/v1/payment_intents",
        &[("Authorization", &basic)],
        "",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn a_pinned_key_pair_refuses_other_test_keys() {
    let config = stripe_emulator::Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        keys: stripe_emulator::KeyPolicy {
            pinned: Some(("sk_test_onlyThisOne1".into(), "pk_test_onlyThisOne1".into())),
        },
        ..Default::default()
    };
    let running = stripe_emulator::start(config).await.unwrap();
    let other = raw(
        running.base_url(),
        "GET",
        "/v1/payment_intents",
        &[("Authorization", &format!("Bearer {SECRET}"))],
        "",
    )
    .await
    .unwrap();
    assert_eq!(other.status, 401);
    let pinned = raw(
        running.base_url(),
        "GET",
        "/v1/payment_intents",
        &[("Authorization", "Bearer sk_test_onlyThisOne1")],
        "",
    )
    .await
    .unwrap();
    assert_eq!(pinned.status, 200);
    running.shutdown().await;
}
