//! Each fault kind, and the one idempotency exists for.

use std::time::{Duration, Instant};

use super::harness::{raw, raw_with_timeout, Harness, SECRET};

const CREATE: &str = "amount=1000&currency=eur&payment_method=pm_card_visa&confirm=true";

fn headers(auth: &str) -> [(&str, &str); 2] {
    [("Authorization", auth), ("Content-Type", "application/x-www-form-urlencoded")]
}

async fn inject(h: &Harness, kind: &str, extra: &str) {
    let rule = format!(r#"{{"method":"POST","path":"/v1/payment_intents","kind":"{kind}"{extra}}}"#);
    let r = h.control("POST", "/_emulator/faults", &rule).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn error_500_answers_api_error_and_executes_nothing() {
    let h = Harness::start().await;
    inject(&h, "error500", "").await;
    let auth = format!("Bearer {SECRET}");
    let r = raw(h.base(), "POST", "/v1/payment_intents", &headers(&auth), CREATE).await.unwrap();
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["error"]["type"], "api_error");
    assert!(h.intents().await.is_empty());
    // The fault was for one request only.
    assert_eq!(raw(h.base(), "POST", "/v1/payment_intents", &headers(&auth), CREATE).await.unwrap().status, 200);
}

#[tokio::test]
async fn delay_answers_late_but_answers() {
    let h = Harness::start().await;
    inject(&h, "delay", r#","delay_ms":400"#).await;
    let auth = format!("Bearer {SECRET}");
    let started = Instant::now();
    let r = raw(h.base(), "POST", "/v1/payment_intents", &headers(&auth), CREATE).await.unwrap();
    assert_eq!(r.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[tokio::test]
async fn hang_never_answers_and_executes_nothing() {
    let h = Harness::start().await;
    inject(&h, "hang", "").await;
    let auth = format!("Bearer {SECRET}");
    let answer = raw_with_timeout(h.base(), "POST", "/v1/payment_intents", &headers(&auth), CREATE, Duration::from_millis(500)).await;
    assert!(answer.is_none(), "the client had to time out");
    assert!(h.intents().await.is_empty());
}

#[tokio::test]
async fn drop_closes_the_connection_without_executing() {
    let h = Harness::start().await;
    inject(&h, "drop", "").await;
    let auth = format!("Bearer {SECRET}");
    let answer = raw(h.base(), "POST", "/v1/payment_intents", &headers(&auth), CREATE).await;
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
    let retry = raw(h.base(), "POST", "/v1/payment_intents", &with_key, CREATE).await.unwrap();
    assert_eq!(retry.status, 200);
    assert_eq!(retry.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(retry.json()["id"], intents[0]["id"]);
    assert_eq!(h.intents().await.len(), 1, "still one payment");
}

#[tokio::test]
async fn faults_match_by_method_and_path_pattern_and_can_be_cleared() {
    let h = Harness::start().await;
    let rule = r#"{"method":"POST","path":"/v1/payment_intents/*/confirm","kind":"error500","count":5}"#;
    h.control("POST", "/_emulator/faults", rule).await;
    let auth = format!("Bearer {SECRET}");
    // Creating is not affected by a rule on confirm.
    assert_eq!(raw(h.base(), "POST", "/v1/payment_intents", &headers(&auth), "amount=1000&currency=eur").await.unwrap().status, 200);
    assert_eq!(h.control("GET", "/_emulator/faults", "").await.json()["faults"][0]["count"], 5);
    assert_eq!(h.control("DELETE", "/_emulator/faults", "").await.status, 204);
    assert_eq!(h.control("GET", "/_emulator/faults", "").await.json()["faults"].as_array().unwrap().len(), 0);
    let bad = h.control("POST", "/_emulator/faults", r#"{"path":"/v1/x","kind":"explode"}"#).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn reset_forgets_everything() {
    let h = Harness::start().await;
    h.pay("pm_card_visa", 1000).await.unwrap();
    assert_eq!(h.control("POST", "/_emulator/reset", "").await.status, 204);
    assert!(h.intents().await.is_empty());
}
