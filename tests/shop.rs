//! Running it as a shop, in process: the card-testing limits as a shopper and a script meet
//! them, readiness as a load balancer asks for it, and the back office's dashboard.

use checkout_testing as support;

use axum::http::StatusCode;
use support::TestApp;

const DECLINED: &str = "pm_card_visa_chargeDeclined";

/// The `Retry-After` of an answer, in seconds.
fn retry_after(answer: &support::Answer) -> u64 {
    answer
        .headers
        .get("retry-after")
        .expect("a Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The text of the cell marked `testid` in `html`.
fn cell(html: &str, testid: &str) -> String {
    let at = html
        .find(&format!("data-testid=\"{testid}\""))
        .unwrap_or_else(|| panic!("no {testid} in {html}"));
    let start = at + html[at..].find('>').unwrap() + 1;
    html[start..start + html[start..].find('<').unwrap()].to_owned()
}

#[test]
fn an_order_declined_five_times_refuses_the_sixth_card_in_the_shoppers_language_without_asking_stripe(
) {
    support::run(|| async {
        let app = TestApp::spawn().await;
        let shopper = app.shopper();
        for i in 0..5 {
            let answer = app
                .pay_from(&shopper, DECLINED, "192.0.2.10:5000", &[])
                .await;
            assert_eq!(
                answer.status,
                StatusCode::PAYMENT_REQUIRED,
                "decline {i}: {}",
                answer.body
            );
        }
        let sixth = app
            .pay_from(
                &shopper,
                "pm_card_visa",
                "192.0.2.10:5000",
                &[("accept-language", "fr")],
            )
            .await;
        assert_eq!(
            sixth.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            sixth.body
        );
        let wait = retry_after(&sixth);
        assert!((1700..=1801).contains(&wait), "about 30 minutes: {wait}");
        assert!(
            sixth.json()["error"]
                .as_str()
                .unwrap()
                .starts_with("Trop de tentatives"),
            "{}",
            sixth.body
        );
        assert_eq!(
            app.order(&shopper).await.attempt,
            5,
            "the sixth card never reached Stripe"
        );
        // Another order of the same browser's address pays at once.
        let other = app.shopper();
        let paid = app
            .pay_from(&other, "pm_card_visa", "192.0.2.10:5001", &[])
            .await;
        assert_eq!(paid.status, StatusCode::OK, "{}", paid.body);
    });
}

#[test]
fn a_script_cycling_orders_from_one_address_is_cut_off_while_another_address_pays_throughout() {
    support::run(|| async {
        let app = TestApp::spawn().await;
        let mut declined = 0;
        let mut refused = 0;
        for i in 0..50 {
            let answer = app
                .pay_from(&app.shopper(), DECLINED, "203.0.113.66:4000", &[])
                .await;
            match answer.status {
                StatusCode::PAYMENT_REQUIRED => declined += 1,
                StatusCode::TOO_MANY_REQUESTS => {
                    refused += 1;
                    // Ten declines: the hour's limit too.
                    assert!((1..=3601).contains(&retry_after(&answer)));
                }
                other => panic!("attempt {i}: {other} {}", answer.body),
            }
            if i % 10 == 0 {
                let shopper = app.shopper();
                let paid = app
                    .pay_from(&shopper, "pm_card_visa", "198.51.100.3:4000", &[])
                    .await;
                assert_eq!(
                    paid.status,
                    StatusCode::OK,
                    "the other shopper, at {i}: {}",
                    paid.body
                );
            }
        }
        assert_eq!(
            (declined, refused),
            (10, 40),
            "ten card attempts a minute from one address"
        );
    });
}

#[test]
fn only_a_trusted_proxy_s_header_names_the_client() {
    support::run(|| async {
        // Behind a proxy: every connection comes from it, the header tells shoppers apart.
        let proxied =
            TestApp::spawn_with(&[("CHECKOUT_TRUSTED_PROXY_HEADER", "X-Forwarded-For")]).await;
        for i in 0..12 {
            let client = format!("198.51.100.{i}, 10.0.0.{i}");
            let answer = proxied
                .pay_from(
                    &proxied.shopper(),
                    "pm_card_visa",
                    "10.0.0.1:80",
                    &[("x-forwarded-for", &client)],
                )
                .await;
            assert_eq!(answer.status, StatusCode::OK, "client {i}: {}", answer.body);
        }
        // Not behind one: a header anyone can write changes nothing.
        let direct = TestApp::spawn().await;
        let mut refused = 0;
        for i in 0..12 {
            let forged = format!("198.51.100.{i}");
            let answer = direct
                .pay_from(
                    &direct.shopper(),
                    "pm_card_visa",
                    "203.0.113.9:80",
                    &[("x-forwarded-for", &forged)],
                )
                .await;
            if answer.status == StatusCode::TOO_MANY_REQUESTS {
                refused += 1;
            }
        }
        assert_eq!(refused, 2, "one address, whatever it claims");
    });
}

#[test]
fn readiness_says_what_is_missing() {
    support::run(|| async {
        let app = TestApp::spawn().await;
        let ready = app.get("/readyz", "").await;
        assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
        assert_eq!(
            ready.json(),
            serde_json::json!({"status": "ok", "database": "ok", "schema": "ok", "stripe": "ok"})
        );
        // Stripe failing: not ready, and says why; alive all the same.
        app.fault(
            "GET",
            "/v1/payment_intents",
            stripe_emulator::FaultKind::Error500,
            1,
            0,
        );
        let stripe_down = app.get("/readyz", "").await;
        assert_eq!(stripe_down.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(stripe_down.json()["stripe"], "unavailable");
        assert_eq!(app.get("/healthz", "").await.status, StatusCode::OK);
        // Stopping: the balancer sends no more.
        app.state.shutdown.begin();
        let stopping = app.get("/readyz", "").await;
        assert_eq!(stopping.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(stopping.json()["status"], "stopping");
    });
}

#[test]
fn the_dashboard_shows_the_payments_made_their_declines_and_the_alarm() {
    support::run(|| async {
        let app = TestApp::spawn_with(&[
            ("CHECKOUT_LIMIT_ADDRESS_ATTEMPTS_PER_MINUTE", "0"),
            ("CHECKOUT_LIMIT_ADDRESS_DECLINES_PER_HOUR", "0"),
        ])
        .await;
        for _ in 0..3 {
            assert_eq!(
                app.pay(&app.shopper(), "pm_card_visa").await.status,
                StatusCode::OK
            );
        }
        for _ in 0..2 {
            let answer = app
                .pay(
                    &app.shopper(),
                    "pm_card_visa_chargeDeclinedInsufficientFunds",
                )
                .await;
            assert_eq!(answer.status, StatusCode::PAYMENT_REQUIRED);
        }
        let merchant = app.merchant().await;
        let page = app.get("/merchant/dashboard", &merchant).await;
        assert_eq!(page.status, StatusCode::OK);
        let row = |outcome: &str| {
            let start = page
                .body
                .find(&format!("data-outcome=\"{outcome}\""))
                .unwrap_or_else(|| panic!("a {outcome} row in {}", page.body));
            page.body[start..start + page.body[start..].find("</tr>").unwrap()].to_owned()
        };
        // Three of the sample's first product (14.50), two declined.
        for (outcome, count, amount) in [("succeeded", 3, "43.50"), ("declined", 2, "29.00")] {
            let row = row(outcome);
            assert_eq!(cell(&row, "today-count"), count.to_string(), "{row}");
            assert!(row.contains(amount), "{row}");
        }
        assert!(page.body.contains("data-reason=\"insufficient_funds\""));
        assert!(
            !page.body.contains("decline-alarm"),
            "5 attempts: too few for the alarm"
        );

        // Card testing: 20 declines in a row, shop-wide.
        for _ in 0..20 {
            app.pay(&app.shopper(), DECLINED).await;
        }
        let page = app.get("/merchant/dashboard", &merchant).await;
        assert!(
            page.body.contains("data-testid=\"decline-alarm\""),
            "{}",
            page.body
        );
        assert!(page.body.contains("88%"), "22 of 25 declined");
    });
}
