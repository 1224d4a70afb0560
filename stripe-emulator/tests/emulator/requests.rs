//! The wire: bad input answered as Stripe does, headers, CORS, expansion, lists.

use super::harness::{raw, Harness, SECRET};

#[tokio::test]
async fn bad_requests_get_stripes_errors_and_change_nothing() {
    let h = Harness::start().await;
    // (method, path, body, status, code, param)
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        u16,
        Option<&'a str>,
        Option<&'a str>,
    );
    let cases: &[Case] = &[
        (
            "POST",
            "/v1/payment_intents",
            "amount=1000&currency=eur&colour=red",
            400,
            Some("parameter_unknown"),
            Some("colour"),
        ),
        (
            "POST",
            "/v1/payment_intents",
            "currency=eur",
            400,
            Some("parameter_missing"),
            Some("amount"),
        ),
        (
            "POST",
            "/v1/payment_intents",
            "amount=ten&currency=eur",
            400,
            Some("parameter_invalid_integer"),
            Some("amount"),
        ),
        (
            "POST",
            "/v1/payment_intents",
            "amount=1000&currency=xyz",
            400,
            None,
            Some("currency"),
        ),
        (
            "POST",
            "/v1/payment_intents",
            "amount=10&currency=eur",
            400,
            Some("amount_too_small"),
            Some("amount"),
        ),
        (
            "POST",
            "/v1/payment_intents",
            "amount=1000&currency=eur&confirm=maybe",
            400,
            Some("parameter_invalid_boolean"),
            Some("confirm"),
        ),
        (
            "POST",
            "/v1/payment_intents",
            "amount=1000&currency=eur&confirmation_method=sometimes",
            400,
            None,
            Some("confirmation_method"),
        ),
        (
            "POST",
            "/v1/payment_intents",
            "amount=1000&currency=eur&payment_method=pm_nope",
            404,
            Some("resource_missing"),
            Some("payment_method"),
        ),
        (
            "POST",
            "/v1/payment_intents",
            "amount=1000&currency=eur&card[x]=1",
            400,
            Some("parameter_unknown"),
            Some("card[x]"),
        ),
        (
            "POST",
            "/v1/payment_intents",
            "amount[=1",
            400,
            Some("parameter_unknown"),
            None,
        ),
        (
            "GET",
            "/v1/payment_intents/pi_doesnotexist",
            "",
            404,
            Some("resource_missing"),
            Some("intent"),
        ),
        (
            "POST",
            "/v1/payment_intents/pi_doesnotexist/confirm",
            "",
            404,
            Some("resource_missing"),
            Some("intent"),
        ),
        (
            "GET",
            "/v1/charges/ch_nope",
            "",
            404,
            Some("resource_missing"),
            Some("charge"),
        ),
        (
            "GET",
            "/v1/customers/cus_nope",
            "",
            404,
            Some("resource_missing"),
            Some("customer"),
        ),
        (
            "POST",
            "/v1/payment_methods",
            "type=card",
            400,
            Some("parameter_missing"),
            Some("card"),
        ),
        (
            "POST",
            "/v1/payment_methods",
            "type=sepa_debit&card[number]=4242424242424242",
            400,
            None,
            Some("type"),
        ),
        ("GET", "/v1/nothing_here", "", 404, None, None),
    ];
    for (method, path, body, status, code, param) in cases {
        let r = h.api(method, path, body).await;
        assert_eq!(r.status, *status, "{method} {path} {body}: {}", r.body);
        let error = &r.json()["error"];
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}: a message"
        );
        if let Some(code) = code {
            assert_eq!(error["code"], *code, "{method} {path} {body}");
        }
        if let Some(param) = param {
            assert_eq!(error["param"], *param, "{method} {path} {body}");
        }
    }
    assert!(h.intents().await.is_empty(), "no request changed state");
}

#[tokio::test]
async fn oversize_and_non_form_bodies_are_refused() {
    let h = Harness::start().await;
    let auth = format!("Bearer {SECRET}");
    let huge = format!(
        "amount=1000&currency=eur&description={}",
        "x".repeat(70 * 1024)
    );
    let r = raw(
        h.base(),
        "POST",
        "/v1/payment_intents",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &huge,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 413);
    let json = raw(
        h.base(),
        "POST",
        "/v1/payment_intents",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        r#"{"amount":1000}"#,
    )
    .await
    .unwrap();
    assert_eq!(json.status, 400);
    assert!(h.intents().await.is_empty());
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_the_api_version() {
    let h = Harness::start().await;
    let ok = h.api("GET", "/v1/payment_intents", "").await;
    let err = h.api("GET", "/v1/payment_intents/pi_missing", "").await;
    let script = raw(h.base(), "GET", "/v3/", &[], "").await.unwrap();
    for r in [&ok, &err, &script] {
        assert!(
            r.header("Request-Id")
                .is_some_and(|id| id.starts_with("req_")),
            "{:?}",
            r.headers
        );
    }
    assert_eq!(
        ok.header("Stripe-Version"),
        Some(stripe_emulator::api::API_VERSION)
    );
    let pinned = raw(
        h.base(),
        "GET",
        "/v1/payment_intents",
        &[
            ("Authorization", &format!("Bearer {SECRET}")),
            ("Stripe-Version", "2024-06-20"),
        ],
        "",
    )
    .await
    .unwrap();
    assert_eq!(pinned.status, 200);
    assert_eq!(pinned.header("Stripe-Version"), Some("2024-06-20"));
}

#[tokio::test]
async fn cors_admits_loopback_pages_only() {
    let h = Harness::start().await;
    let preflight = raw(
        h.base(),
        "OPTIONS",
        "/v1/payment_methods",
        &[
            ("Origin", "http://127.0.0.1:3000"),
            ("Access-Control-Request-Method", "POST"),
        ],
        "",
    )
    .await
    .unwrap();
    assert!(
        (200..300).contains(&preflight.status),
        "{}",
        preflight.status
    );
    assert!(preflight
        .header("Access-Control-Allow-Headers")
        .is_some_and(|h| h.contains("idempotency-key")));
    assert_eq!(
        preflight.header("Access-Control-Allow-Origin"),
        Some("http://127.0.0.1:3000")
    );
    let foreign = raw(
        h.base(),
        "OPTIONS",
        "/v1/payment_methods",
        &[
            ("Origin", "https://evil.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        "",
    )
    .await
    .unwrap();
    assert_eq!(foreign.header("Access-Control-Allow-Origin"), None);
}

#[tokio::test]
async fn expand_replaces_ids_with_objects() {
    let h = Harness::start().await;
    let pi = h.pay("pm_card_visa", 1000).await.unwrap();
    let r = h
        .api(
            "GET",
            &format!(
                "/v1/payment_intents/{}?expand[]=latest_charge&expand[]=payment_method",
                pi.id
            ),
            "",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["latest_charge"]["object"], "charge");
    assert_eq!(r.json()["payment_method"]["object"], "payment_method");
    let bad = h
        .api(
            "GET",
            &format!("/v1/payment_intents/{}?expand[]=amount", pi.id),
            "",
        )
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn lists_page_newest_first() {
    let h = Harness::start().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(h.pay("pm_card_visa", 1000).await.unwrap().id.to_string());
    }
    let first = h.api("GET", "/v1/payment_intents?limit=2", "").await.json();
    assert_eq!(first["data"][0]["id"], ids[2].as_str());
    assert_eq!(first["has_more"], true);
    let next = h
        .api(
            "GET",
            &format!("/v1/payment_intents?limit=2&starting_after={}", ids[1]),
            "",
        )
        .await
        .json();
    assert_eq!(next["data"][0]["id"], ids[0].as_str());
    assert_eq!(next["has_more"], false);
}

#[tokio::test]
async fn the_stripe_js_stand_in_is_served() {
    let h = Harness::start().await;
    let script = raw(h.base(), "GET", "/v3/", &[], "").await.unwrap();
    assert_eq!(script.status, 200);
    assert!(script
        .header("Content-Type")
        .unwrap()
        .starts_with("application/javascript"));
    assert!(script.body.contains("handleCardAction"));
    let frame = raw(h.base(), "GET", "/v3/elements/card", &[], "")
        .await
        .unwrap();
    assert!(frame.body.contains("name=\"cardnumber\"") && frame.body.contains("TEST MODE"));
}
