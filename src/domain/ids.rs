//! The ids that cross from a browser (or a form) into the server: each a type whose `parse` is
//! the only way in, so an id that reaches Stripe or the store was checked once, at the edge.

use super::CheckoutError;

/// Letters, digits and `_` after `prefix`, at most `max` characters in all.
fn well_formed(id: &str, prefix: &str, max: usize) -> bool {
    id.strip_prefix(prefix).is_some_and(|rest| {
        !rest.is_empty()
            && id.len() <= max
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// An order's id: `ord_…` (the server makes them; a browser carries one in its signed cookie).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderId(String);

impl OrderId {
    /// `ord_` and letters, digits or `_`, 64 characters at most; `None` otherwise.
    pub fn parse(id: &str) -> Option<OrderId> {
        well_formed(id, "ord_", 64).then(|| OrderId(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A PaymentMethod id as Stripe.js makes them (`pm_…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethodId(String);

impl PaymentMethodId {
    /// `pm_…` as Stripe makes them (255 characters at most); anything else is refused before
    /// Stripe is called.
    pub fn parse(id: &str) -> Result<PaymentMethodId, CheckoutError> {
        if well_formed(id, "pm_", 255) {
            Ok(PaymentMethodId(id.to_owned()))
        } else {
            Err(CheckoutError::InvalidPaymentMethod)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A PaymentIntent id (`pi_…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentIntentId(String);

impl PaymentIntentId {
    /// `pi_…`; anything else is no PaymentIntent of this shop.
    pub fn parse(id: &str) -> Result<PaymentIntentId, CheckoutError> {
        if well_formed(id, "pi_", 255) {
            Ok(PaymentIntentId(id.to_owned()))
        } else {
            Err(CheckoutError::NotYourPayment)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_ids_get_in() {
        assert!(PaymentMethodId::parse("pm_1Pq2R3").is_ok());
        assert!(
            PaymentMethodId::parse(&format!("pm_{}", "a".repeat(252))).is_ok(),
            "Stripe's longest ids pass"
        );
        for bad in [
            "",
            "pm_",
            "pi_123",
            "pm_12 3",
            "pm_ab\u{0}c",
            "pm_é",
            "pm_x/../y",
            "pm_a-b",
            &format!("pm_{}", "a".repeat(253)),
        ] {
            assert_eq!(
                PaymentMethodId::parse(bad),
                Err(CheckoutError::InvalidPaymentMethod),
                "{bad:?}"
            );
        }
        assert!(PaymentIntentId::parse("pi_3Mtw").is_ok());
        assert_eq!(
            PaymentIntentId::parse("pm_3Mtw"),
            Err(CheckoutError::NotYourPayment)
        );
        assert!(OrderId::parse("ord_abc123").is_some());
        for bad in [
            "ord_",
            "ord_a b",
            "shp_abc",
            "ord_a.b",
            &format!("ord_{}", "a".repeat(61)),
        ] {
            assert_eq!(OrderId::parse(bad), None, "{bad:?}");
        }
    }
}
