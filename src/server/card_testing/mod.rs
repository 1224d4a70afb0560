//! The defence against card testing (a script trying stolen card numbers through the pay
//! endpoint), as Stripe asks of merchants: limits on card attempts, counted in the database
//! every server shares (see `store::attempts`):
//! - an order declined `CHECKOUT_LIMIT_ORDER_DECLINES` times (5) takes no card for
//!   `CHECKOUT_LIMIT_ORDER_COOLING_SECONDS` (30 min);
//! - one address makes at most `CHECKOUT_LIMIT_ADDRESS_ATTEMPTS_PER_MINUTE` card attempts a
//!   minute (10) and has at most `CHECKOUT_LIMIT_ADDRESS_DECLINES_PER_HOUR` declines an hour (10);
//! - shop-wide, a decline rate over the alarm's threshold raises the alarm (`alarm`).
//!
//! A refused attempt is answered 429 with `Retry-After` and a message in the shopper's
//! language, and never reaches Stripe. A shopper who mistypes a card once or twice is far
//! from every limit.

pub mod alarm;
pub mod client;

use crate::domain::CheckoutError;
use crate::server::payments::attempts::Attempt;
use crate::server::state::AppState;
use crate::server::store::{now, Admission, AttemptPath};
use crate::server::telemetry::record;

/// Starts a card attempt on `order_id` from `client`, unless a limit refuses it.
pub async fn admit(
    state: &AppState,
    order_id: &str,
    client: Option<&str>,
    path: AttemptPath,
) -> Result<Attempt, CheckoutError> {
    let admission = state
        .orders
        .admit_attempt(order_id, client, path, &state.operations.limits, now())
        .await?;
    match admission {
        Admission::Admitted(id) => Ok(Attempt::started(id, path)),
        Admission::Refused { limit, retry_after } => {
            record::refused(limit.as_str());
            tracing::warn!(
                order_id,
                client,
                limit = limit.as_str(),
                retry_after,
                "payment attempt refused by a card-testing limit"
            );
            Err(CheckoutError::TooManyAttempts(
                u32::try_from(retry_after).unwrap_or(u32::MAX),
            ))
        }
    }
}
