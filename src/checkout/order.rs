//! An order as the shopper sees it, and its total: always computed here, on the server,
//! from the catalogue's prices.

use serde::{Deserialize, Serialize};

use super::catalogue::check_quantity;
use super::{Catalogue, CheckoutError};

/// Largest amount one order may charge (Stripe's limit is 99999999 minor units).
pub const MAX_ORDER_AMOUNT: i64 = 99_999_999;

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
        OrderStatus::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// The cart may change: no money moves and none may (see also the store's in-doubt and
    /// claim checks, which freeze an order while a Stripe call is out).
    pub fn is_editable(self) -> bool {
        matches!(self, OrderStatus::Open | OrderStatus::Failed)
    }

    /// The shopper may offer a card: a new payment, or another card instead of an
    /// unfinished 3-D Secure.
    pub fn accepts_card(self) -> bool {
        matches!(self, OrderStatus::Open | OrderStatus::Failed | OrderStatus::RequiresAction)
    }

    /// Fulfilled once and for good.
    pub fn is_fulfilled(self) -> bool {
        matches!(self, OrderStatus::Paid | OrderStatus::Authorised)
    }

    /// Nothing more will happen on this order: the next visit starts a new one.
    pub fn is_finished(self) -> bool {
        !matches!(self, OrderStatus::Open | OrderStatus::RequiresAction | OrderStatus::Failed)
    }

    /// The status after `event`, or `None` when the event cannot apply in this status: a
    /// paid or reviewed order never moves again, and an authorisation only ends (captured,
    /// canceled or expired).
    pub fn after(self, event: PaymentEvent) -> Option<OrderStatus> {
        let ends_authorisation = matches!(event, PaymentEvent::Captured | PaymentEvent::AuthorisationCanceled | PaymentEvent::AuthorisationExpired);
        let applies = if ends_authorisation {
            self == OrderStatus::Authorised
        } else {
            matches!(self, OrderStatus::Open | OrderStatus::RequiresAction | OrderStatus::Processing | OrderStatus::Failed)
        };
        applies.then(|| event.outcome())
    }

    /// Every status from which `event` may happen (for the store's conditional updates).
    pub fn before(event: PaymentEvent) -> impl Iterator<Item = OrderStatus> {
        OrderStatus::ALL.into_iter().filter(move |s| s.after(event).is_some())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub product_id: String,
    pub name: String,
    pub quantity: i64,
    pub unit_amount: i64,
}

impl OrderLine {
    pub fn line_total(&self) -> i64 {
        self.unit_amount.saturating_mul(self.quantity)
    }

    /// A line for `quantity` units of a catalogue product, at the catalogue's price.
    pub fn priced(catalogue: &Catalogue, product_id: &str, quantity: i64) -> Result<OrderLine, CheckoutError> {
        let product = catalogue.find(product_id)?;
        Ok(OrderLine {
            product_id: product.id.clone(),
            name: product.name.clone(),
            quantity: check_quantity(quantity)?,
            unit_amount: product.unit_amount,
        })
    }
}

/// What the checkout page shows of the session's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    /// Shopper-facing reference, e.g. `K7Q2-9XWD`.
    pub reference: String,
    pub lines: Vec<OrderLine>,
    pub amount: i64,
    pub currency: String,
    pub status: OrderStatus,
}

/// The amount to charge for `lines`: refused when empty or beyond what Stripe accepts.
pub fn order_total(lines: &[OrderLine]) -> Result<i64, CheckoutError> {
    if lines.is_empty() {
        return Err(CheckoutError::EmptyCart);
    }
    let mut total: i64 = 0;
    for line in lines {
        check_quantity(line.quantity)?;
        let line_total = line.unit_amount.checked_mul(line.quantity).ok_or(CheckoutError::OrderTooLarge)?;
        total = total.checked_add(line_total).ok_or(CheckoutError::OrderTooLarge)?;
    }
    if total > MAX_ORDER_AMOUNT {
        return Err(CheckoutError::OrderTooLarge);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkout::catalogue::sample;

    #[test]
    fn the_total_is_the_sum_of_catalogue_price_times_quantity() {
        let c = sample();
        let lines = vec![OrderLine::priced(&c, "espresso", 2).unwrap(), OrderLine::priced(&c, "filter", 3).unwrap()];
        assert_eq!(order_total(&lines), Ok(2 * 1450 + 3 * 1200));
    }

    #[test]
    fn an_empty_cart_has_no_total() {
        assert_eq!(order_total(&[]), Err(CheckoutError::EmptyCart));
    }

    #[test]
    fn a_total_beyond_stripes_limit_is_refused_without_overflow() {
        let huge = OrderLine { product_id: "x".into(), name: "x".into(), quantity: 20, unit_amount: i64::MAX / 10 };
        assert_eq!(order_total(&[huge.clone(), huge]), Err(CheckoutError::OrderTooLarge));
        let big = OrderLine { product_id: "x".into(), name: "x".into(), quantity: 20, unit_amount: 5_000_000 };
        assert_eq!(order_total(&[big]), Err(CheckoutError::OrderTooLarge));
    }

    #[test]
    fn a_line_takes_the_catalogue_price_not_a_given_one() {
        let line = OrderLine::priced(&sample(), "filter", 1).unwrap();
        assert_eq!(line.unit_amount, 1200);
        assert_eq!(line.name, "Filter beans");
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for s in ["open", "requires_action", "processing", "authorised", "paid", "failed", "needs_review", "canceled", "authorisation_expired"] {
            assert_eq!(OrderStatus::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(OrderStatus::parse("shipped"), None);
    }

    #[test]
    fn a_fulfilled_or_reviewed_order_never_moves_again() {
        for status in [OrderStatus::Paid, OrderStatus::Authorised, OrderStatus::NeedsReview] {
            for event in [PaymentEvent::Declined, PaymentEvent::Succeeded, PaymentEvent::IntentCanceled, PaymentEvent::Mismatched] {
                assert_eq!(status.after(event), None, "{status:?} after {event:?}");
            }
        }
    }

    #[test]
    fn an_authorisation_only_ends_captured_canceled_or_expired() {
        let from_authorised: Vec<PaymentEvent> = ALL_EVENTS.into_iter().filter(|e| OrderStatus::Authorised.after(*e).is_some()).collect();
        assert_eq!(from_authorised, vec![PaymentEvent::Captured, PaymentEvent::AuthorisationCanceled, PaymentEvent::AuthorisationExpired]);
        for ending in [PaymentEvent::Captured, PaymentEvent::AuthorisationCanceled, PaymentEvent::AuthorisationExpired] {
            let from: Vec<OrderStatus> = OrderStatus::before(ending).collect();
            assert_eq!(from, vec![OrderStatus::Authorised], "{ending:?}");
        }
        assert_eq!(OrderStatus::Authorised.after(PaymentEvent::Captured), Some(OrderStatus::Paid));
        for end in [OrderStatus::Canceled, OrderStatus::AuthorisationExpired] {
            assert!(end.is_finished() && !end.is_fulfilled() && !end.accepts_card() && !end.is_editable());
            assert!(ALL_EVENTS.into_iter().all(|e| end.after(e).is_none()), "{end:?} is an end");
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
        .filter(|e| OrderStatus::RequiresAction.after(*e).is_some_and(OrderStatus::is_editable))
        .collect();
        assert_eq!(editable_after, vec![PaymentEvent::Declined, PaymentEvent::IntentCanceled]);
        assert!(!OrderStatus::RequiresAction.is_editable() && !OrderStatus::Processing.is_editable());
    }

    #[test]
    fn a_mismatch_can_come_from_every_unsettled_status() {
        let from: Vec<OrderStatus> = OrderStatus::before(PaymentEvent::Mismatched).collect();
        assert_eq!(from, vec![OrderStatus::Open, OrderStatus::RequiresAction, OrderStatus::Processing, OrderStatus::Failed]);
    }
}
