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
use tokio::sync::watch;

use crate::app_state::AppState;
use crate::checkout::CheckoutError;

/// The server's two moments of stopping, each set once.
#[derive(Debug)]
pub struct Shutdown {
    /// Stop accepting, and take on nothing new.
    stopping: watch::Sender<bool>,
    /// The in-flight requests' time is up.
    deadline: watch::Sender<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown { stopping: watch::channel(false).0, deadline: watch::channel(false).0 }
    }
}

impl Shutdown {
    /// Watches the first moment (the reconciler stops taking orders).
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    pub fn begin(&self) {
        self.stopping.send_replace(true);
    }

    pub fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    pub fn end_grace(&self) {
        self.deadline.send_replace(true);
    }

    /// Resolves once the in-flight requests' time is up.
    async fn deadline_passed(&self) {
        let mut deadline = self.deadline.subscribe();
        let _ = deadline.wait_for(|passed| *passed).await;
    }
}

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
pub async fn answer_by_deadline(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    tokio::select! {
        response = next.run(request) => response,
        _ = state.shutdown.deadline_passed() => {
            tracing::warn!("a request was still running when the shutdown's grace ended: answered 503");
            crate::rest::error(CheckoutError::ShopUnavailable, state.default_locale).into_response()
        }
    }
}
