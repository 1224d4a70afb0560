//! `Server-Timing` on every response: `app` is the server's own share of the request, `stripe`
//! the time it spent waiting on Stripe (every try and backoff of every call), so the cost of
//! this code is measured apart from the network's.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

tokio::task_local! {
    /// Microseconds the current request has waited on Stripe.
    static STRIPE_WAIT: Arc<AtomicU64>;
}

/// Counts `waited` against the request being served (nothing outside a request, such as
/// the reconciler).
pub fn add_stripe_wait(waited: Duration) {
    let _ =
        STRIPE_WAIT.try_with(|total| total.fetch_add(waited.as_micros() as u64, Ordering::Relaxed));
}

/// Runs `future` with a Stripe clock of its own; what it waited on Stripe.
pub async fn with_stripe_clock<F: Future>(future: F) -> (F::Output, Duration) {
    let waited = Arc::new(AtomicU64::new(0));
    let output = STRIPE_WAIT.scope(waited.clone(), future).await;
    (
        output,
        Duration::from_micros(waited.load(Ordering::Relaxed)),
    )
}

/// The layer: `Server-Timing: app;dur=0.412, stripe;dur=3.104` (milliseconds).
pub async fn server_timing(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let (mut response, stripe) = with_stripe_clock(next.run(request)).await;
    let total = started.elapsed();
    let app = total.saturating_sub(stripe);
    let value = format!("app;dur={:.3}, stripe;dur={:.3}", ms(app), ms(stripe));
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stripe_wait_is_counted_for_the_request_it_happens_in_only() {
        add_stripe_wait(Duration::from_millis(5)); // outside any request: ignored
        let ((), waited) = with_stripe_clock(async {
            add_stripe_wait(Duration::from_millis(2));
            tokio::task::yield_now().await;
            add_stripe_wait(Duration::from_micros(1500));
        })
        .await;
        assert_eq!(waited, Duration::from_micros(3500));
        let ((), other) = with_stripe_clock(async {}).await;
        assert_eq!(other, Duration::ZERO);
    }
}
