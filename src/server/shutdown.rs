//! Stopping without cutting anyone off. On SIGTERM (every deploy) or Ctrl-C the server stops
//! accepting connections and its reconciler stops taking orders; requests in flight finish,
//! for up to `CHECKOUT_SHUTDOWN_SECONDS`. A request still running then is answered "try again"
//! (503): its Stripe request, recorded before it was sent, is settled by replaying it later,
//! here or on another server. Then the leases this server holds are given back, so the orders
//! are free at once, and the process exits 0.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::domain::CheckoutError;
use crate::server::state::AppState;

/// Resolves when the process is asked to stop: SIGTERM, or Ctrl-C.
pub async fn signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = terminate => tracing::info!("SIGTERM: stopping"),
        _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C: stopping"),
    }
}

/// Answers a request still running when the shutdown's grace is over with "try again"
/// rather than cutting its connection: the shopper's page says so, and a retry reaches a
/// server that is up.
pub async fn answer_by_deadline(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    tokio::select! {
        response = next.run(request) => response,
        _ = state.shutdown.deadline_passed() => {
            tracing::warn!("a request was still running when the shutdown's grace ended: answered 503");
            crate::server::rest::error(CheckoutError::ShopUnavailable, state.default_locale).into_response()
        }
    }
}
