//! An order as the shopper sees it, and its total: always computed here, on the server,
//! from the catalogue's prices.

use serde::{Deserialize, Serialize};

use super::catalogue::check_quantity;
use super::{Catalogue, CheckoutError, OrderStatus};

/// Largest amount one order may charge (Stripe's limit is 99999999 minor units).
pub const MAX_ORDER_AMOUNT: i64 = 99_999_999;

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
    pub fn priced(
        catalogue: &Catalogue,
        product_id: &str,
        quantity: i64,
    ) -> Result<OrderLine, CheckoutError> {
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
        let line_total = line
            .unit_amount
            .checked_mul(line.quantity)
            .ok_or(CheckoutError::OrderTooLarge)?;
        total = total
            .checked_add(line_total)
            .ok_or(CheckoutError::OrderTooLarge)?;
    }
    if total > MAX_ORDER_AMOUNT {
        return Err(CheckoutError::OrderTooLarge);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalogue::sample;

    #[test]
    fn the_total_is_the_sum_of_catalogue_price_times_quantity() {
        let c = sample();
        let lines = vec![
            OrderLine::priced(&c, "espresso", 2).unwrap(),
            OrderLine::priced(&c, "filter", 3).unwrap(),
        ];
        assert_eq!(order_total(&lines), Ok(2 * 1450 + 3 * 1200));
    }

    #[test]
    fn an_empty_cart_has_no_total() {
        assert_eq!(order_total(&[]), Err(CheckoutError::EmptyCart));
    }

    #[test]
    fn a_total_beyond_stripes_limit_is_refused_without_overflow() {
        let huge = OrderLine {
            product_id: "x".into(),
            name: "x".into(),
            quantity: 20,
            unit_amount: i64::MAX / 10,
        };
        assert_eq!(
            order_total(&[huge.clone(), huge]),
            Err(CheckoutError::OrderTooLarge)
        );
        let big = OrderLine {
            product_id: "x".into(),
            name: "x".into(),
            quantity: 20,
            unit_amount: 5_000_000,
        };
        assert_eq!(order_total(&[big]), Err(CheckoutError::OrderTooLarge));
    }

    #[test]
    fn a_line_takes_the_catalogue_price_not_a_given_one() {
        let line = OrderLine::priced(&sample(), "filter", 1).unwrap();
        assert_eq!(line.unit_amount, 1200);
        assert_eq!(line.name, "Filter beans");
    }
}
