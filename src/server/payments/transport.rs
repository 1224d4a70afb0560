//! Calls to Stripe: an idempotency key on every POST, bounded retries with backoff for
//! transient failures (never for a decline), one log line per try.

use std::time::Duration;

use stripe::{IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use tracing::Instrument;

use crate::server::state::AppState;
use crate::server::telemetry::record;

/// Tries per Stripe call when the network or Stripe fails transiently.
pub const MAX_TRIES: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// A POST with the step's idempotency key, so Stripe executes it at most once however often
/// it is retried.
pub async fn send<R>(
    state: &AppState,
    order_id: &str,
    request: &R,
    key: &str,
) -> Result<R::Output, StripeError>
where
    R: StripeRequest,
    R::Output: miniserde::Deserialize,
{
    let key = IdempotencyKey::new(key).map_err(|e| StripeError::ConfigError(e.to_string()))?;
    send_with(state, order_id, request, RequestStrategy::Idempotent(key)).await
}

/// A GET: idempotent by nature.
pub async fn send_read<R>(
    state: &AppState,
    order_id: &str,
    request: &R,
) -> Result<R::Output, StripeError>
where
    R: StripeRequest,
    R::Output: miniserde::Deserialize,
{
    send_with(state, order_id, request, RequestStrategy::Once).await
}

async fn send_with<R>(
    state: &AppState,
    order_id: &str,
    request: &R,
    strategy: RequestStrategy,
) -> Result<R::Output, StripeError>
where
    R: StripeRequest,
    R::Output: miniserde::Deserialize,
{
    let mut backoff = FIRST_BACKOFF;
    let mut tries = 0;
    loop {
        tries += 1;
        let call = request
            .customize()
            .request_strategy(strategy.clone())
            .timeout(state.stripe_timeout)
            .send(&state.stripe);
        let started = std::time::Instant::now();
        // The client logs Stripe's Request-Id inside this span, so it carries the order id.
        let result = call
            .instrument(tracing::info_span!("stripe_call", order_id = %order_id))
            .await;
        let took = started.elapsed();
        crate::server::timing::add_stripe_wait(took);
        let built = request.build();
        log_call(order_id, &built, &result, tries);
        let retry = matches!(&result, Err(err) if retryable(err) && tries < MAX_TRIES);
        if state.metrics.is_some() {
            record::stripe_try(
                &record::endpoint(&format!("{:?}", built.method), &built.path),
                took,
                result.as_ref().err().map(failure_kind),
                retry,
            );
        }
        match result {
            Err(_) if retry => {
                tokio::time::sleep(backoff).await;
                crate::server::timing::add_stripe_wait(backoff);
                backoff *= 2;
            }
            other => return other,
        }
    }
}

/// A failed try's kind, as the metrics count it.
fn failure_kind(err: &StripeError) -> &'static str {
    match err {
        StripeError::Timeout => "timeout",
        StripeError::ClientError(_) => "connection",
        StripeError::Stripe(_, 429) => "rate_limited",
        StripeError::Stripe(_, 409) => "conflict",
        StripeError::Stripe(_, 402) => "card_error",
        StripeError::Stripe(_, 500..=599) => "server_error",
        StripeError::Stripe(_, _) => "invalid_request",
        StripeError::JSONDeserialize(_) | StripeError::ConfigError(_) => "unreadable",
    }
}

/// Timeouts, dropped connections and Stripe's transient statuses; never a 402 or other 4xx.
pub fn retryable(err: &StripeError) -> bool {
    match err {
        StripeError::Timeout | StripeError::ClientError(_) => true,
        StripeError::Stripe(_, status) => matches!(status, 409 | 429 | 500..=599),
        StripeError::JSONDeserialize(_) | StripeError::ConfigError(_) => false,
    }
}

/// One structured line per Stripe call: order, method and path, outcome. No keys, no secrets.
fn log_call<T>(
    order_id: &str,
    request: &stripe_client_core::RequestBuilder,
    result: &Result<T, StripeError>,
    try_number: u32,
) {
    let method = format!("{:?}", request.method);
    match result {
        Ok(_) => {
            tracing::info!(order_id, method, path = %request.path, try_number, "stripe call succeeded")
        }
        Err(StripeError::Stripe(err, status)) => tracing::warn!(
            order_id, method, path = %request.path, try_number, status,
            code = err.code.as_ref().map(|c| c.as_str()), decline_code = err.decline_code.as_deref(),
            request_log_url = err.request_log_url.as_deref(), "stripe answered an error"
        ),
        Err(err) => {
            tracing::warn!(order_id, method, path = %request.path, try_number, error = %err, "stripe call failed")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_failures_are_retried() {
        assert!(retryable(&StripeError::Timeout));
        assert!(retryable(&StripeError::ClientError(
            "connection reset".into()
        )));
        let api = |code: u16| {
            StripeError::Stripe(
                Box::new(
                    miniserde::json::from_str(r#"{"type":"api_error","message":"x"}"#).unwrap(),
                ),
                code,
            )
        };
        assert!(
            retryable(&api(500))
                && retryable(&api(503))
                && retryable(&api(429))
                && retryable(&api(409))
        );
        assert!(!retryable(&api(402)), "a decline is final");
        assert!(!retryable(&api(400)) && !retryable(&api(404)));
    }
}
