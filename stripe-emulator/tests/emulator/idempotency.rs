//! `Idempotency-Key`: replay, conflict, concurrency.

use super::harness::{Harness, SECRET};

const CREATE: &str =
    "amount=1000&currency=eur&payment_method=pm_card_visa&confirm=true&confirmation_method=manual";

async fn create_with_key(h: &Harness, key: &str, body: &str) -> super::harness::Response {
    h.post_form(
        "/v1/payment_intents",
        &[
            ("Authorization", &format!("Bearer {SECRET}")),
            ("Idempotency-Key", key),
        ],
        body,
    )
    .await
}

#[tokio::test]
async fn the_first_response_is_replayed_for_the_same_key_and_parameters() {
    let h = Harness::start().await;
    let first = create_with_key(&h, "order-1-attempt-1", CREATE).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.header("Idempotent-Replayed"), None);
    let second = create_with_key(&h, "order-1-attempt-1", CREATE).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(
        first.body, second.body,
        "the body is replayed byte for byte"
    );
    assert_eq!(h.intents().await.len(), 1, "the request executed once");
}

#[tokio::test]
async fn a_decline_is_replayed_too() {
    let h = Harness::start().await;
    let body = "amount=1000&currency=eur&payment_method=pm_card_visa_chargeDeclined&confirm=true";
    let first = create_with_key(&h, "k-decline", body).await;
    assert_eq!(first.status, 402);
    let second = create_with_key(&h, "k-decline", body).await;
    assert_eq!(second.status, 402);
    assert_eq!(second.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(h.intents().await.len(), 1);
}

#[tokio::test]
async fn the_same_key_with_other_parameters_is_an_idempotency_error() {
    let h = Harness::start().await;
    create_with_key(&h, "k-conflict", CREATE).await;
    let other = create_with_key(
        &h,
        "k-conflict",
        &CREATE.replace("amount=1000", "amount=2000"),
    )
    .await;
    assert_eq!(other.status, 400);
    assert_eq!(other.json()["error"]["type"], "idempotency_error");
    assert_eq!(h.intents().await.len(), 1);
}

#[tokio::test]
async fn a_validation_failure_is_not_kept_so_a_corrected_retry_runs() {
    let h = Harness::start().await;
    let bad = create_with_key(&h, "k-fix", "amount=1000").await;
    assert_eq!(bad.status, 400);
    let good = create_with_key(&h, "k-fix", CREATE).await;
    assert_eq!(good.status, 200, "{}", good.body);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_never_both_execute() {
    let h = Harness::start().await;
    // Every request waits 200 ms before executing, so they overlap.
    let fault = r#"{"method":"POST","path":"/v1/payment_intents","kind":"delay","delay_ms":200,"count":20}"#;
    assert_eq!(
        h.control("POST", "/_emulator/faults", fault).await.status,
        201
    );
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let base = h.base().to_owned();
        tasks.push(tokio::spawn(async move {
            let auth = format!("Bearer {SECRET}");
            super::harness::raw(
                &base,
                "POST",
                "/v1/payment_intents",
                &[
                    ("Authorization", &auth),
                    ("Idempotency-Key", "k-race"),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                ],
                CREATE,
            )
            .await
            .unwrap()
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for task in tasks {
        let response = task.await.unwrap();
        match response.status {
            200 => {
                ids.insert(response.json()["id"].as_str().unwrap().to_owned());
            }
            409 => assert_eq!(response.json()["error"]["code"], "idempotency_key_in_use"),
            other => panic!("unexpected {other}: {}", response.body),
        }
    }
    assert_eq!(ids.len(), 1, "every success names the same intent");
    assert_eq!(h.intents().await.len(), 1);
}
