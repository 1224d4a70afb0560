//! `/metrics` after a journey shows what the journey did, counted exactly; refused without
//! the token. One test in its own binary: `metrics` has one recorder per process.

use checkout_testing as support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use support::TestApp;

const TOKEN: &str = "metrics-token-for-the-tests-0123456789";

/// The value of the series `name` whose labels include `labels` (0 when absent).
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter(|(series, _)| {
            let (series_name, rest) = series.split_once('{').unwrap_or((series, ""));
            series_name == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|(_, v)| v.parse::<f64>().unwrap())
        .sum()
}

async fn scrape(app: &TestApp) -> String {
    let request = Request::get("/metrics")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let answer = app.send(request).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body
}

#[test]
fn metrics_count_what_a_journey_did_and_only_the_token_reads_them() {
    support::run(|| async {
        let off = TestApp::spawn().await;
        assert_eq!(
            off.get("/metrics", "").await.status,
            StatusCode::NOT_FOUND,
            "no token, no metrics"
        );
        let app = TestApp::spawn_with(&[("CHECKOUT_METRICS_TOKEN", TOKEN)]).await;
        assert_eq!(
            app.get("/metrics", "").await.status,
            StatusCode::UNAUTHORIZED
        );
        let wrong = Request::get("/metrics")
            .header(
                header::AUTHORIZATION,
                "Bearer metrics-token-for-the-tests-0123456780",
            )
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.send(wrong).await.status, StatusCode::UNAUTHORIZED);

        // The start-up pass first, so the journey's own pass is counted alone.
        assert!(
            support::eventually(Duration::from_secs(5), async || {
                value(&scrape(&app).await, "checkout_reconciler_passes_total", &[]) >= 1.0
            })
            .await
        );
        let before = scrape(&app).await;
        // A card that pays, one declined for insufficient funds, one asking for 3-D Secure
        // and then confirmed, and an order declined until the sixth card is refused.
        assert_eq!(
            app.pay(&app.shopper(), "pm_card_visa").await.status,
            StatusCode::OK
        );
        let poor = app
            .pay(
                &app.shopper(),
                "pm_card_visa_chargeDeclinedInsufficientFunds",
            )
            .await;
        assert_eq!(poor.status, StatusCode::PAYMENT_REQUIRED);
        let secure = app.shopper();
        let asked = app
            .pay(&secure, "pm_card_threeDSecure2Required")
            .await
            .json();
        let secret = asked["payment_intent_client_secret"].as_str().unwrap();
        let intent = secret.split("_secret_").next().unwrap().to_owned();
        app.authenticate(&intent);
        assert_eq!(app.reconfirm(&secure, &intent).await.status, StatusCode::OK);
        let tester = app.shopper();
        for _ in 0..5 {
            app.pay(&tester, "pm_card_visa_chargeDeclined").await;
        }
        let refused = app.pay(&tester, "pm_card_visa").await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        // A server that died mid-step: its lease runs out and is taken over.
        let abandoned = app.shopper();
        app.pay(&abandoned, "pm_card_visa").await;
        let held = app
            .store()
            .take_lease(&abandoned.order_id, Duration::from_secs(1))
            .await
            .unwrap()
            .expect("free");
        std::mem::forget(held);
        tokio::time::sleep(Duration::from_millis(2100)).await;
        app.store()
            .take_lease(&abandoned.order_id, Duration::from_secs(10))
            .await
            .unwrap()
            .expect("taken over");
        app.run_pass().await;

        let after = scrape(&app).await;
        let delta = |name: &str, labels: &[(&str, &str)]| {
            value(&after, name, labels) - value(&before, name, labels)
        };
        let payments = "checkout_payments_total";
        assert_eq!(
            delta(payments, &[("path", "new_card"), ("outcome", "succeeded")]),
            2.0
        );
        assert_eq!(
            delta(payments, &[("path", "new_card"), ("outcome", "declined")]),
            6.0
        );
        assert_eq!(
            delta(
                payments,
                &[("path", "new_card"), ("outcome", "requires_action")]
            ),
            1.0
        );
        assert_eq!(
            delta(payments, &[("path", "reconfirm"), ("outcome", "succeeded")]),
            1.0
        );
        assert_eq!(
            delta(
                "checkout_declines_total",
                &[("reason", "insufficient_funds")]
            ),
            1.0
        );
        assert_eq!(
            delta("checkout_declines_total", &[("reason", "card_declined")]),
            5.0
        );
        assert_eq!(
            delta(
                "checkout_attempts_refused_total",
                &[("limit", "order_declines")]
            ),
            1.0
        );
        assert_eq!(delta("checkout_leases_taken_over_total", &[]), 1.0);
        assert_eq!(delta("checkout_reconciler_passes_total", &[]), 1.0);
        // Five orders reached Stripe (one create each); the declined one was confirmed four
        // more times.
        let tries = |endpoint| delta("checkout_stripe_tries_total", &[("endpoint", endpoint)]);
        assert_eq!(tries("POST /v1/payment_intents"), 5.0);
        assert_eq!(tries("POST /v1/payment_intents/{id}/confirm"), 5.0);
        assert_eq!(
            delta(
                "checkout_stripe_request_duration_seconds_count",
                &[("endpoint", "POST /v1/payment_intents/{id}/confirm")]
            ),
            delta(
                "checkout_stripe_tries_total",
                &[("endpoint", "POST /v1/payment_intents/{id}/confirm")]
            ),
        );
        assert_eq!(
            delta(
                "checkout_http_requests_total",
                &[("route", "/pay"), ("status", "429")]
            ),
            1.0
        );
        assert_eq!(
            delta(
                "checkout_http_requests_total",
                &[("route", "/pay"), ("status", "200")]
            ),
            4.0
        );
        assert!(after.contains("checkout_reconciler_due_orders "), "{after}");
        assert!(after.contains("# HELP checkout_payments_total"));
    });
}
