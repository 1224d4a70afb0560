//! Each fault kind, and the one idempotency exists for.

use std::time::{Duration, Instant};

use super::harness::{raw, raw_with_timeout, Harness, SECRET};

const CREATE: &str = "amount=1000&currency=eur&payment_method=pm_card_visa&confirm=true";

fn headers(auth: &str) -> [(&str, &str); 2] {
    [
        ("Authorization", auth),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ]
}

async fn inject(h: &Harness, kind: &str, extra: &str) {
    let rule =
        format!(r#"{{"method":"POST","path":"/v1/payment_intents","kind":"{kind}"{extra}}}"#);
    let r = h.control("POST", "/_emulator/faults", &rule).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn error_500_answers_api_error_and_executes_nothing() {
    let h = Harness::start().await;
    inject(&h, "error500", "").await;
    let auth = format!("Bearer {SECRET}");
    let r = raw(
        h.base(),
        "POST",
        "/v1/payment_intents",
        &headers(&auth),
        CREATE,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["error"]["type"], "api_error");
    assert!(h.intents().await.is_empty());
    // The fault was for one request only.
    assert_eq!(
        raw(
            h.base(),
            "POST",
            "/v1/payment_intents",
            &headers(&auth),
            CREATE
        )
        .await
        .unwrap()
        .status,
        200
    );
}

#[tokio::test]
async fn delay_answers_late_but_answers() {
    let h = Harness::start().await;
    inject(&h, "delay", r#","delay_ms":400"#).await;
    let auth = format!("Bearer {SECRET}");
    let started = Instant::now();
    let r = raw(
        h.base(),
        "POST",
        "/v1/payment_intents",
        &headers(&auth),
        CREATE,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[tokio::test]
async fn hang_never_answers_and_executes_nothing() {
    let h = Harness::start().await;
    inject(&h, "hang", "").await;
    let auth = format!("Bearer {SECRET}");
    let answer = raw_with_timeout(
        h.base(),
        "POST",
        "/v1/payment_intents",
        &headers(&auth),
        CREATE,
        Duration::from_millis(500),
    )
    .await;
    assert!(answer.is_none(), "the client had to time out");
    assert!(h.intents().await.is_empty());
}

#[tokio::test]
async fn drop_closes_the_connection_without_executing() {
    let h = Harness::start().await;
    inject(&h, "drop", "").await;
    let auth = format!("Bearer {SECRET}");
    let answer = raw(
        h.base(),
        "POST",
        "/v1/payment_intents",
        &headers(&auth),
        CREATE,
    )
    .await;
    assert!(answer.is_err(), "no response: {answer:?}");
    assert!(h.intents().await.is_empty());
}

#[tokio::test]
async fn perform_then_drop_executes_and_a_retry_with_the_same_key_gets_the_result() {
    let h = Harness::start().await;
    inject(&h, "perform_then_drop", "").await;
    let auth = format!("Bearer {SECRET}");
    let mut with_key = headers(&auth).to_vec();
    with_key.push(("Idempotency-Key", "order-7-attempt-1"));
    let lost = raw(h.base(), "POST", "/v1/payment_intents", &with_key, CREATE).await;
    assert!(lost.is_err(), "the answer was dropped: {lost:?}");
    let intents = h.intents().await;
    assert_eq!(intents.len(), 1, "but the payment happened");
    assert_eq!(intents[0]["status"], "succeeded");
    let retry = raw(h.base(), "POST", "/v1/payment_intents", &with_key, CREATE)
        .await
        .unwrap();
    assert_eq!(retry.status, 200);
    assert_eq!(retry.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(retry.json()["id"], intents[0]["id"]);
    assert_eq!(h.intents().await.len(), 1, "still one payment");
}

#[tokio::test]
async fn faults_match_by_method_and_path_pattern_and_can_be_cleared() {
    let h = Harness::start().await;
    let rule =
        r#"{"method":"POST","path":"/v1/payment_intents/*/confirm","kind":"error500","count":5}"#;
    h.control("POST", "/_emulator/faults", rule).await;
    let auth = format!("Bearer {SECRET}");
    // Creating is not affected by a rule on confirm.
    assert_eq!(
        raw(
            h.base(),
            "POST",
            "/v1/payment_intents",
            &headers(&auth),
            "amount=1000&currency=eur"
        )
        .await
        .unwrap()
        .status,
        200
    );
    assert_eq!(
        h.control("GET", "/_emulator/faults", "").await.json()["faults"][0]["count"],
        5
    );
    assert_eq!(
        h.control("DELETE", "/_emulator/faults", "").await.status,
        204
    );
    assert_eq!(
        h.control("GET", "/_emulator/faults", "").await.json()["faults"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let bad = h
        .control(
            "POST",
            "/_emulator/faults",
            r#"{"path":"/v1/x","kind":"explode"}"#,
        )
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn reset_forgets_everything() {
    let h = Harness::start().await;
    h.pay("pm_card_visa", 1000).await.unwrap();
    assert_eq!(h.control("POST", "/_emulator/reset", "").await.status, 204);
    assert!(h.intents().await.is_empty());
}

#[tokio::test]
async fn a_late_request_executes_after_its_client_gave_up() {
    let h = Harness::start().await;
    inject(&h, "delay", r#","delay_ms":600"#).await;
    let auth = format!("Bearer {SECRET}");
    let gave_up = raw_with_timeout(
        h.base(),
        "POST",
        "/v1/payment_intents",
        &headers(&auth),
        CREATE,
        Duration::from_millis(150),
    )
    .await;
    assert!(
        gave_up.is_none(),
        "the client left before the request arrived"
    );
    assert!(h.intents().await.is_empty(), "not arrived yet");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let intents = h.intents().await;
    assert_eq!(
        intents.len(),
        1,
        "it arrived and executed, as at Stripe: only the answer was lost"
    );
    assert_eq!(intents[0]["status"], "succeeded");
}

#[tokio::test]
async fn a_replay_sent_before_the_late_original_arrives_executes_it_once() {
    let h = Harness::start().await;
    inject(&h, "delay", r#","delay_ms":600"#).await;
    let auth = format!("Bearer {SECRET}");
    let mut with_key = headers(&auth).to_vec();
    with_key.push(("Idempotency-Key", "order-9-attempt-1"));
    assert!(raw_with_timeout(
        h.base(),
        "POST",
        "/v1/payment_intents",
        &with_key,
        CREATE,
        Duration::from_millis(100)
    )
    .await
    .is_none());
    let replay = raw(h.base(), "POST", "/v1/payment_intents", &with_key, CREATE)
        .await
        .unwrap();
    assert_eq!(
        replay.status, 200,
        "the replay arrived first, so it executed"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    let intents = h.intents().await;
    assert_eq!(
        intents.len(),
        1,
        "the late original found the key's result: one payment"
    );
    assert_eq!(intents[0]["id"], replay.json()["id"]);
}

#[tokio::test]
async fn a_slow_write_locks_its_payment_intent_and_its_key() {
    let h = Harness::start().await;
    let created = h
        .api(
            "POST",
            "/v1/payment_intents",
            "amount=1000&currency=eur&confirmation_method=manual",
        )
        .await
        .json();
    let id = created["id"].as_str().unwrap().to_owned();
    let rule = format!(
        r#"{{"method":"POST","path":"/v1/payment_intents/{id}/confirm","kind":"slow","delay_ms":700}}"#
    );
    assert_eq!(
        h.control("POST", "/_emulator/faults", &rule).await.status,
        201
    );
    let auth = format!("Bearer {SECRET}");
    let mut with_key = headers(&auth).to_vec();
    with_key.push(("Idempotency-Key", "confirm-1"));
    let base = h.base().to_owned();
    let confirm_path = format!("/v1/payment_intents/{id}/confirm");
    let slow = {
        let (base, path, with_key) = (
            base.clone(),
            confirm_path.clone(),
            with_key
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>(),
        );
        tokio::spawn(async move {
            let headers: Vec<(&str, &str)> = with_key
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            raw(
                &base,
                "POST",
                &path,
                &headers,
                "payment_method=pm_card_visa",
            )
            .await
            .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let other = raw(
        &base,
        "POST",
        &format!("/v1/payment_intents/{id}"),
        &headers(&auth),
        "description=meanwhile",
    )
    .await
    .unwrap();
    assert_eq!(other.status, 429, "{}", other.body);
    assert_eq!(other.json()["error"]["code"], "lock_timeout");
    assert_eq!(other.header("Stripe-Should-Retry"), Some("true"));
    let same_key = raw(
        &base,
        "POST",
        &confirm_path,
        &with_key,
        "payment_method=pm_card_visa",
    )
    .await
    .unwrap();
    assert_eq!(same_key.status, 409, "{}", same_key.body);
    assert_eq!(same_key.json()["error"]["code"], "idempotency_key_in_use");
    let reads = raw(
        &base,
        "GET",
        &format!("/v1/payment_intents/{id}"),
        &[("Authorization", auth.as_str())],
        "",
    )
    .await
    .unwrap();
    assert_eq!(reads.status, 200, "a read takes no lock");
    assert_eq!(slow.await.unwrap().json()["status"], "succeeded");
    let after = raw(
        &base,
        "POST",
        &format!("/v1/payment_intents/{id}"),
        &headers(&auth),
        "description=after",
    )
    .await
    .unwrap();
    assert_eq!(
        after.status, 200,
        "the lock went with the request: {}",
        after.body
    );
    let refused = h
        .api("GET", &format!("/v1/payment_intents/{id}"), "")
        .await
        .json();
    assert_eq!(
        refused["description"], "after",
        "the refused write changed nothing, the later one did"
    );
}

#[tokio::test]
async fn answers_are_dated_by_the_emulators_clock() {
    let h = Harness::start().await;
    let date = |r: &super::harness::Response| {
        httpdate::parse_http_date(r.header("Date").expect("a Date header")).unwrap()
    };
    let before = date(&h.api("GET", "/v1/payment_intents", "").await);
    h.control("POST", "/_emulator/clock/advance", r#"{"seconds": 90000}"#)
        .await;
    let after = date(&h.api("GET", "/v1/payment_intents", "").await);
    let moved = after.duration_since(before).unwrap().as_secs();
    assert!((90_000..90_010).contains(&moved), "moved {moved} s");
}
