//! What the server counts, by name: one function per event, so a metric is named and
//! labelled in one place. Each is a no-op when no recorder is installed (no
//! `CHECKOUT_METRICS_TOKEN`). Labels take a few known values only: routes, endpoints with
//! their ids taken out, outcomes, Stripe's decline codes.

use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};

pub const PAYMENTS: &str = "checkout_payments_total";
pub const DECLINES: &str = "checkout_declines_total";
pub const REFUSED: &str = "checkout_attempts_refused_total";
pub const STRIPE_SECONDS: &str = "checkout_stripe_request_duration_seconds";
pub const STRIPE_TRIES: &str = "checkout_stripe_tries_total";
pub const STRIPE_RETRIES: &str = "checkout_stripe_retries_total";
pub const STRIPE_ERRORS: &str = "checkout_stripe_errors_total";
pub const RECONCILER_PASSES: &str = "checkout_reconciler_passes_total";
pub const RECONCILER_LOOKED_AT: &str = "checkout_reconciler_looked_at_total";
pub const RECONCILER_SETTLED: &str = "checkout_reconciler_settled_total";
pub const RECONCILER_DUE: &str = "checkout_reconciler_due_orders";
pub const RECONCILER_OLDEST_DUE: &str = "checkout_reconciler_oldest_due_seconds";
pub const RECONCILER_WATCHED: &str = "checkout_reconciler_watched_orders";
pub const NEEDS_MERCHANT: &str = "checkout_orders_needing_merchant";
pub const LEASES_TAKEN_OVER: &str = "checkout_leases_taken_over_total";
pub const DECLINE_RATE: &str = "checkout_decline_rate";
pub const DECLINE_ALARM: &str = "checkout_decline_alarm";
pub const HTTP_REQUESTS: &str = "checkout_http_requests_total";
pub const HTTP_SECONDS: &str = "checkout_http_request_duration_seconds";

/// Histogram buckets for latencies, in seconds: a page in a millisecond to a Stripe timeout.
pub const SECONDS_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 15.0,
];

/// What each metric means, as `/metrics` shows it (`# HELP`).
pub fn describe() {
    describe_counter!(
        PAYMENTS,
        "Payment attempts by path (new_card, saved_card, reconfirm, back_office) and outcome"
    );
    describe_counter!(
        DECLINES,
        "Declined payment attempts by Stripe's decline code"
    );
    describe_counter!(
        REFUSED,
        "Payment attempts refused by a card-testing limit, by limit"
    );
    describe_histogram!(
        STRIPE_SECONDS,
        "Stripe API calls' duration by endpoint, one per try"
    );
    describe_counter!(STRIPE_TRIES, "Stripe API tries by endpoint");
    describe_counter!(
        STRIPE_RETRIES,
        "Stripe API tries that were retried, by endpoint"
    );
    describe_counter!(STRIPE_ERRORS, "Stripe API tries that failed, by endpoint and kind (timeout, connection, rate_limited, conflict, server_error, card_error, invalid_request, unreadable)");
    describe_counter!(RECONCILER_PASSES, "Reconciler passes run by this server");
    describe_counter!(RECONCILER_LOOKED_AT, "Orders the reconciler looked at");
    describe_counter!(
        RECONCILER_SETTLED,
        "Orders the reconciler looked at whose status moved"
    );
    describe_gauge!(
        RECONCILER_DUE,
        "Orders due for the reconciler after its last pass"
    );
    describe_gauge!(
        RECONCILER_OLDEST_DUE,
        "How long the earliest order still due has been due, after the last pass"
    );
    describe_gauge!(RECONCILER_WATCHED, "Orders on the reconciler's queue");
    describe_gauge!(NEEDS_MERCHANT, "Orders the reconciler left to the merchant");
    describe_counter!(
        LEASES_TAKEN_OVER,
        "Order leases taken from a holder whose lease ran out (a server died or stalled)"
    );
    describe_gauge!(
        DECLINE_RATE,
        "Share of card attempts declined over the alarm's window, shop-wide"
    );
    describe_gauge!(
        DECLINE_ALARM,
        "1 while the shop-wide decline rate is over its alarm threshold"
    );
    describe_counter!(HTTP_REQUESTS, "HTTP requests by route and status");
    describe_histogram!(HTTP_SECONDS, "HTTP requests' duration by route");
}

pub fn payment(path: &'static str, outcome: &'static str) {
    counter!(PAYMENTS, "path" => path, "outcome" => outcome).increment(1);
}

pub fn decline(reason: &str) {
    counter!(DECLINES, "reason" => reason.to_owned()).increment(1);
}

pub fn refused(limit: &'static str) {
    counter!(REFUSED, "limit" => limit).increment(1);
}

/// One try of a Stripe call: how long it took, and how it failed if it did.
pub fn stripe_try(endpoint: &str, took: Duration, failure: Option<&'static str>, retried: bool) {
    let endpoint = endpoint.to_owned();
    histogram!(STRIPE_SECONDS, "endpoint" => endpoint.clone()).record(took.as_secs_f64());
    counter!(STRIPE_TRIES, "endpoint" => endpoint.clone()).increment(1);
    if let Some(kind) = failure {
        counter!(STRIPE_ERRORS, "endpoint" => endpoint.clone(), "kind" => kind).increment(1);
    }
    if retried {
        counter!(STRIPE_RETRIES, "endpoint" => endpoint).increment(1);
    }
}

/// A Stripe path with its object ids taken out: `/v1/payment_intents/{id}/confirm`.
pub fn endpoint(method: &str, path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path
        .trim_start_matches('/')
        .split('/')
        .map(|segment| {
            // Stripe's ids are a short lowercase prefix, `_`, then letters and digits.
            let id = segment.split_once('_').is_some_and(|(prefix, rest)| {
                (2..=6).contains(&prefix.len())
                    && prefix.bytes().all(|b| b.is_ascii_lowercase())
                    && rest.len() >= 8
                    && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
            if id {
                "{id}"
            } else {
                segment
            }
        })
        .collect();
    // async-stripe's paths leave out the API's version; Stripe's docs and logs name it.
    let version = if segments.first() == Some(&"v1") {
        ""
    } else {
        "/v1"
    };
    format!(
        "{} {version}/{}",
        method.to_ascii_uppercase(),
        segments.join("/")
    )
}

/// After a reconciler pass: what it did, and what is left.
pub fn reconciler_pass(looked_at: usize, settled: usize) {
    counter!(RECONCILER_PASSES).increment(1);
    counter!(RECONCILER_LOOKED_AT).increment(looked_at as u64);
    counter!(RECONCILER_SETTLED).increment(settled as u64);
}

pub fn backlog(due: i64, oldest_due_seconds: i64, watched: i64, needs_merchant: i64) {
    gauge!(RECONCILER_DUE).set(due as f64);
    gauge!(RECONCILER_OLDEST_DUE).set(oldest_due_seconds as f64);
    gauge!(RECONCILER_WATCHED).set(watched as f64);
    gauge!(NEEDS_MERCHANT).set(needs_merchant as f64);
}

pub fn lease_taken_over() {
    counter!(LEASES_TAKEN_OVER).increment(1);
}

pub fn decline_rate(rate: f64, alarm: bool) {
    gauge!(DECLINE_RATE).set(rate);
    gauge!(DECLINE_ALARM).set(if alarm { 1.0 } else { 0.0 });
}

pub fn http(route: String, status: u16, took: Duration) {
    histogram!(HTTP_SECONDS, "route" => route.clone()).record(took.as_secs_f64());
    counter!(HTTP_REQUESTS, "route" => route, "status" => status.to_string()).increment(1);
}

#[cfg(test)]
mod tests {
    use super::endpoint;

    #[test]
    fn an_endpoint_is_named_without_its_ids() {
        assert_eq!(
            endpoint(
                "POST",
                "/v1/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa/confirm"
            ),
            "POST /v1/payment_intents/{id}/confirm"
        );
        assert_eq!(
            endpoint("GET", "/v1/payment_intents?limit=1"),
            "GET /v1/payment_intents"
        );
        assert_eq!(
            endpoint("POST", "/v1/customers/cus_NffrFeUfNV2Hib"),
            "POST /v1/customers/{id}"
        );
        assert_eq!(
            endpoint("POST", "/v1/payment_methods/pm_card_visa/detach"),
            "POST /v1/payment_methods/{id}/detach"
        );
        assert_eq!(endpoint("POST", "/v1/refunds"), "POST /v1/refunds");
        assert_eq!(
            endpoint("Post", "/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa"),
            "POST /v1/payment_intents/{id}",
            "as async-stripe names them"
        );
        assert_eq!(
            endpoint("POST", "/v1/payment_intents"),
            "POST /v1/payment_intents"
        );
    }
}
