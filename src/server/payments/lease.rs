//! Holding an order's lease while a step talks to Stripe about it. The lease lasts a few
//! seconds (`CHECKOUT_LEASE_SECONDS`, default 10) and is renewed every third of that while
//! the step runs, so a step may take as long as Stripe does, and the orders of a server that
//! died are free again within seconds. A step whose lease is lost (its server stalled past the lease, another
//! holder took the order) writes nothing more: each of its writes checks the lease.

use std::time::Duration;

use crate::domain::CheckoutError;
use crate::server::state::AppState;
use crate::server::store::Lease;

/// Runs `step` under the order's lease, giving the lease back after; a payment already under
/// way (this server or another) is answered as such.
pub async fn under_lease<T>(
    state: &AppState,
    order_id: &str,
    step: impl AsyncFnOnce(&Lease) -> Result<T, CheckoutError>,
) -> Result<T, CheckoutError> {
    under_lease_waiting(state, order_id, Duration::ZERO, step).await
}

/// [`under_lease`], waiting up to `patience` for a lease held by someone else to be given
/// back or run out (the reconciler holds an order for a moment while it reads it).
pub async fn under_lease_waiting<T>(
    state: &AppState,
    order_id: &str,
    patience: Duration,
    step: impl AsyncFnOnce(&Lease) -> Result<T, CheckoutError>,
) -> Result<T, CheckoutError> {
    let started = std::time::Instant::now();
    let lease = loop {
        match state.orders.take_lease(order_id, state.lease).await? {
            Some(lease) => break lease,
            None if started.elapsed() < patience => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            None => return Err(CheckoutError::PaymentInProgress),
        }
    };
    holding(state, lease, step).await
}

/// Runs `step` under `lease`, renewing it while the step runs, and gives it back after.
pub async fn holding<T>(
    state: &AppState,
    lease: Lease,
    step: impl AsyncFnOnce(&Lease) -> Result<T, CheckoutError>,
) -> Result<T, CheckoutError> {
    // Boxed: a step's future is large, and it is polled deep inside the router's.
    let result = tokio::select! {
        result = Box::pin(step(&lease)) => result,
        never = keep_renewed(state, &lease) => match never {},
    };
    if let Err(err) = state.orders.release(&lease).await {
        // The lease runs out by itself.
        tracing::error!(order_id = %lease.order_id, %err, "giving the order's lease back failed");
    }
    result
}

/// Renews the lease every third of its length, for as long as it is polled. Once the lease
/// is lost it stops renewing (the step's own writes then fail); it never completes.
async fn keep_renewed(state: &AppState, lease: &Lease) -> std::convert::Infallible {
    let every = state.lease / 3;
    loop {
        tokio::time::sleep(every).await;
        match state.orders.renew_lease(lease, state.lease).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(order_id = %lease.order_id, "the order's lease was lost (it ran out and another holder took it): this step writes nothing more");
                return std::future::pending().await;
            }
            // Tried again at the next beat; the lease lasts three of them.
            Err(err) => {
                tracing::warn!(order_id = %lease.order_id, %err, "renewing the order's lease failed")
            }
        }
    }
}
