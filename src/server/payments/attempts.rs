//! Each payment attempt's record: stored as it starts (see `card_testing::admit` for the
//! shopper's, within the card-testing limits), ended with its outcome, and counted in the
//! metrics by path and outcome.

use crate::domain::{CheckoutError, OrderStatus, PaymentOutcome};
use crate::server::state::AppState;
use crate::server::store::{now, AttemptOutcome, AttemptPath};
use crate::server::telemetry::record;

/// An attempt under way. `id` is `None` when it could not be stored (it is still counted).
#[derive(Debug)]
pub struct Attempt {
    id: Option<String>,
    path: AttemptPath,
}

impl Attempt {
    pub(crate) fn started(id: String, path: AttemptPath) -> Attempt {
        Attempt { id: Some(id), path }
    }

    /// Starts an attempt no limit applies to (a reconfirmation, the merchant's charge). The
    /// payment goes ahead even if its record cannot be stored.
    pub async fn record(state: &AppState, order_id: &str, path: AttemptPath) -> Attempt {
        let id = match state.orders.record_attempt(order_id, path, now()).await {
            Ok(id) => Some(id),
            Err(err) => {
                tracing::warn!(order_id, %err, "a payment attempt could not be recorded");
                None
            }
        };
        Attempt { id, path }
    }

    /// Ends the attempt with what its payment came to.
    pub async fn end(self, state: &AppState, result: &Result<PaymentOutcome, CheckoutError>) {
        let (outcome, reason) = outcome_of(result);
        record::payment(self.path.as_str(), outcome.as_str());
        if let (AttemptOutcome::Declined, Some(reason)) = (outcome, reason) {
            record::decline(reason);
        }
        let Some(id) = self.id else { return };
        if let Err(err) = state.orders.end_attempt(&id, outcome, reason, now()).await {
            tracing::warn!(attempt = id, %err, "a payment attempt's outcome could not be recorded");
        }
    }
}

/// What a payment step's result counts as, and why when it failed.
pub fn outcome_of(
    result: &Result<PaymentOutcome, CheckoutError>,
) -> (AttemptOutcome, Option<&'static str>) {
    match result {
        Ok(PaymentOutcome::Completed(receipt)) => match receipt.status {
            OrderStatus::Authorised => (AttemptOutcome::Authorised, None),
            OrderStatus::Processing => (AttemptOutcome::Processing, None),
            _ => (AttemptOutcome::Succeeded, None),
        },
        Ok(PaymentOutcome::RequiresAction { .. }) => (AttemptOutcome::RequiresAction, None),
        Err(CheckoutError::Declined(reason)) => (AttemptOutcome::Declined, Some(reason.code())),
        Err(CheckoutError::AuthenticationFailed) => (
            AttemptOutcome::AuthenticationFailed,
            Some("authentication_failed"),
        ),
        Err(CheckoutError::AuthenticationExpired) => (
            AttemptOutcome::AuthenticationFailed,
            Some("authentication_expired"),
        ),
        Err(CheckoutError::UnderReview) => (AttemptOutcome::Review, None),
        Err(err) => (AttemptOutcome::Failed, Some(failure(err))),
    }
}

/// A failure's name in the attempts' record.
fn failure(err: &CheckoutError) -> &'static str {
    match err {
        CheckoutError::PaymentInProgress => "payment_in_progress",
        CheckoutError::AlreadyPaid => "already_paid",
        CheckoutError::PaymentServiceUnavailable => "payment_service_unavailable",
        CheckoutError::ShopUnavailable => "shop_unavailable",
        CheckoutError::InvalidPaymentMethod => "invalid_payment_method",
        CheckoutError::SessionExpired => "session_expired",
        CheckoutError::EmptyCart => "empty_cart",
        CheckoutError::OrderClosed => "order_closed",
        CheckoutError::NotYourPayment => "not_your_payment",
        CheckoutError::PaymentCanceled => "payment_canceled",
        CheckoutError::SavedCardUnknown => "saved_card_unknown",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::DeclineReason;
    use crate::domain::Receipt;

    #[test]
    fn each_result_counts_as_its_outcome() {
        let receipt = |status| {
            Ok(PaymentOutcome::Completed(Receipt {
                reference: "R".into(),
                amount: 1,
                currency: "eur".into(),
                card_brand: None,
                card_last4: None,
                status,
            }))
        };
        assert_eq!(
            outcome_of(&receipt(OrderStatus::Paid)).0,
            AttemptOutcome::Succeeded
        );
        assert_eq!(
            outcome_of(&receipt(OrderStatus::Authorised)).0,
            AttemptOutcome::Authorised
        );
        assert_eq!(
            outcome_of(&receipt(OrderStatus::Processing)).0,
            AttemptOutcome::Processing
        );
        assert_eq!(
            outcome_of(&Err(CheckoutError::Declined(
                DeclineReason::InsufficientFunds
            ))),
            (AttemptOutcome::Declined, Some("insufficient_funds"))
        );
        assert_eq!(
            outcome_of(&Err(CheckoutError::PaymentServiceUnavailable)),
            (AttemptOutcome::Failed, Some("payment_service_unavailable"))
        );
        assert_eq!(
            outcome_of(&Err(CheckoutError::UnderReview)).0,
            AttemptOutcome::Review
        );
    }
}
