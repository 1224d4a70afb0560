//! Where an order stands, and the one definition of what may happen to it: [`OrderStatus`]
//! and [`OrderStatus::after`]. The store's conditional updates are generated from it.

use serde::{Deserialize, Serialize};

/// Where an order stands, as far as the server knows its PaymentIntent. This enum and
/// [`OrderStatus::after`] are the one definition of what may happen to an order; the store's
/// conditional updates are generated from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderStatus {
    /// Being filled; nothing charged. Can be changed and paid.
    Open,
    /// Waiting for the cardholder to authenticate (3-D Secure) and the server to confirm again.
    RequiresAction,
    /// The bank is still deciding; the reconciler follows it to its end.
    Processing,
    /// Authorised, to be captured by the merchant.
    Authorised,
    /// Paid and fulfilled.
    Paid,
    /// Declined, or the authentication failed or ran out: can be changed and paid again.
    Failed,
    /// The intent did not match the order (amount, currency or order id): never fulfilled;
    /// a payment taken is refunded.
    NeedsReview,
    /// The merchant canceled the authorisation: the card's hold is released.
    Canceled,
    /// Not captured within seven days: Stripe released the authorisation.
    AuthorisationExpired,
}

/// What the server learnt about an order's PaymentIntent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentEvent {
    /// `requires_action`: the cardholder must authenticate.
    NeedsAuthentication,
    /// `processing`.
    Processing,
    /// A card decline, or 3-D Secure failed or expired: `requires_payment_method` again.
    Declined,
    /// `succeeded`, with the intent matching the order.
    Succeeded,
    /// `requires_capture`, with the intent matching the order.
    Authorised,
    /// The intent's amount, currency or order id is not the order's.
    Mismatched,
    /// The intent was canceled: the next payment makes a new one.
    IntentCanceled,
    /// The merchant captured an authorisation (all of it or less).
    Captured,
    /// The merchant canceled an authorisation.
    AuthorisationCanceled,
    /// Stripe released an authorisation left uncaptured for seven days.
    AuthorisationExpired,
}

impl PaymentEvent {
    /// The status an unsettled order takes on this event.
    pub fn outcome(self) -> OrderStatus {
        match self {
            PaymentEvent::NeedsAuthentication => OrderStatus::RequiresAction,
            PaymentEvent::Processing => OrderStatus::Processing,
            PaymentEvent::Declined => OrderStatus::Failed,
            PaymentEvent::Succeeded => OrderStatus::Paid,
            PaymentEvent::Authorised => OrderStatus::Authorised,
            PaymentEvent::Mismatched => OrderStatus::NeedsReview,
            PaymentEvent::IntentCanceled => OrderStatus::Open,
            PaymentEvent::Captured => OrderStatus::Paid,
            PaymentEvent::AuthorisationCanceled => OrderStatus::Canceled,
            PaymentEvent::AuthorisationExpired => OrderStatus::AuthorisationExpired,
        }
    }
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 9] = [
        OrderStatus::Open,
        OrderStatus::RequiresAction,
        OrderStatus::Processing,
        OrderStatus::Authorised,
        OrderStatus::Paid,
        OrderStatus::Failed,
        OrderStatus::NeedsReview,
        OrderStatus::Canceled,
        OrderStatus::AuthorisationExpired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Open => "open",
            OrderStatus::RequiresAction => "requires_action",
            OrderStatus::Processing => "processing",
            OrderStatus::Authorised => "authorised",
            OrderStatus::Paid => "paid",
            OrderStatus::Failed => "failed",
            OrderStatus::NeedsReview => "needs_review",
            OrderStatus::Canceled => "canceled",
            OrderStatus::AuthorisationExpired => "authorisation_expired",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        OrderStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
    }

    /// The cart may change: no money moves and none may (see also the store's in-doubt and
    /// claim checks, which freeze an order while a Stripe call is out).
    pub fn is_editable(self) -> bool {
        matches!(self, OrderStatus::Open | OrderStatus::Failed)
    }

    /// The shopper may offer a card: a new payment, or another card instead of an
    /// unfinished 3-D Secure.
    pub fn accepts_card(self) -> bool {
        matches!(
            self,
            OrderStatus::Open | OrderStatus::Failed | OrderStatus::RequiresAction
        )
    }

    /// Fulfilled once and for good.
    pub fn is_fulfilled(self) -> bool {
        matches!(self, OrderStatus::Paid | OrderStatus::Authorised)
    }

    /// Nothing more will happen on this order: the next visit starts a new one.
    pub fn is_finished(self) -> bool {
        !matches!(
            self,
            OrderStatus::Open | OrderStatus::RequiresAction | OrderStatus::Failed
        )
    }

    /// The status after `event`, or `None` when the event cannot apply in this status: a
    /// paid or reviewed order never moves again, and an authorisation only ends (captured,
    /// canceled or expired).
    pub fn after(self, event: PaymentEvent) -> Option<OrderStatus> {
        let ends_authorisation = matches!(
            event,
            PaymentEvent::Captured
                | PaymentEvent::AuthorisationCanceled
                | PaymentEvent::AuthorisationExpired
        );
        let applies = if ends_authorisation {
            self == OrderStatus::Authorised
        } else {
            matches!(
                self,
                OrderStatus::Open
                    | OrderStatus::RequiresAction
                    | OrderStatus::Processing
                    | OrderStatus::Failed
            )
        };
        applies.then(|| event.outcome())
    }

    /// Every status from which `event` may happen (for the store's conditional updates).
    pub fn before(event: PaymentEvent) -> impl Iterator<Item = OrderStatus> {
        OrderStatus::ALL
            .into_iter()
            .filter(move |s| s.after(event).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_names() {
        for s in [
            "open",
            "requires_action",
            "processing",
            "authorised",
            "paid",
            "failed",
            "needs_review",
            "canceled",
            "authorisation_expired",
        ] {
            assert_eq!(OrderStatus::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(OrderStatus::parse("shipped"), None);
    }

    #[test]
    fn a_fulfilled_or_reviewed_order_never_moves_again() {
        for status in [
            OrderStatus::Paid,
            OrderStatus::Authorised,
            OrderStatus::NeedsReview,
        ] {
            for event in [
                PaymentEvent::Declined,
                PaymentEvent::Succeeded,
                PaymentEvent::IntentCanceled,
                PaymentEvent::Mismatched,
            ] {
                assert_eq!(status.after(event), None, "{status:?} after {event:?}");
            }
        }
    }

    #[test]
    fn an_authorisation_only_ends_captured_canceled_or_expired() {
        let from_authorised: Vec<PaymentEvent> = ALL_EVENTS
            .into_iter()
            .filter(|e| OrderStatus::Authorised.after(*e).is_some())
            .collect();
        assert_eq!(
            from_authorised,
            vec![
                PaymentEvent::Captured,
                PaymentEvent::AuthorisationCanceled,
                PaymentEvent::AuthorisationExpired
            ]
        );
        for ending in [
            PaymentEvent::Captured,
            PaymentEvent::AuthorisationCanceled,
            PaymentEvent::AuthorisationExpired,
        ] {
            let from: Vec<OrderStatus> = OrderStatus::before(ending).collect();
            assert_eq!(from, vec![OrderStatus::Authorised], "{ending:?}");
        }
        assert_eq!(
            OrderStatus::Authorised.after(PaymentEvent::Captured),
            Some(OrderStatus::Paid)
        );
        for end in [OrderStatus::Canceled, OrderStatus::AuthorisationExpired] {
            assert!(
                end.is_finished()
                    && !end.is_fulfilled()
                    && !end.accepts_card()
                    && !end.is_editable()
            );
            assert!(
                ALL_EVENTS.into_iter().all(|e| end.after(e).is_none()),
                "{end:?} is an end"
            );
        }
    }

    const ALL_EVENTS: [PaymentEvent; 10] = [
        PaymentEvent::NeedsAuthentication,
        PaymentEvent::Processing,
        PaymentEvent::Declined,
        PaymentEvent::Succeeded,
        PaymentEvent::Authorised,
        PaymentEvent::Mismatched,
        PaymentEvent::IntentCanceled,
        PaymentEvent::Captured,
        PaymentEvent::AuthorisationCanceled,
        PaymentEvent::AuthorisationExpired,
    ];

    #[test]
    fn only_a_decline_or_a_cancel_makes_the_cart_editable_again() {
        let editable_after: Vec<PaymentEvent> = ALL_EVENTS
            .into_iter()
            .filter(|e| {
                OrderStatus::RequiresAction
                    .after(*e)
                    .is_some_and(OrderStatus::is_editable)
            })
            .collect();
        assert_eq!(
            editable_after,
            vec![PaymentEvent::Declined, PaymentEvent::IntentCanceled]
        );
        assert!(
            !OrderStatus::RequiresAction.is_editable() && !OrderStatus::Processing.is_editable()
        );
    }

    #[test]
    fn a_mismatch_can_come_from_every_unsettled_status() {
        let from: Vec<OrderStatus> = OrderStatus::before(PaymentEvent::Mismatched).collect();
        assert_eq!(
            from,
            vec![
                OrderStatus::Open,
                OrderStatus::RequiresAction,
                OrderStatus::Processing,
                OrderStatus::Failed
            ]
        );
    }
}
