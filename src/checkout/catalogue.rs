//! What the shop sells. Prices are in minor units of the shop's one currency and are only
//! ever read on the server: the browser never tells the server what anything costs.

use serde::{Deserialize, Serialize};

use super::CheckoutError;

/// Most units of one product a single order may hold.
pub const MAX_QUANTITY: i64 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: String,
    pub name: String,
    /// Price of one unit in minor units (cents).
    pub unit_amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    /// ISO 4217 code, lower case, as Stripe takes it.
    pub currency: String,
    pub products: Vec<Product>,
}

impl Catalogue {
    pub fn find(&self, product_id: &str) -> Result<&Product, CheckoutError> {
        self.products.iter().find(|p| p.id == product_id).ok_or(CheckoutError::UnknownProduct)
    }

    /// The product a new order starts with (one unit), so a shopper can pay at once.
    pub fn default_product(&self) -> &Product {
        &self.products[0]
    }

    /// Checks what a settings file or a test builds: something to sell, sane prices, unique ids.
    pub fn validate(&self) -> Result<(), String> {
        if self.products.is_empty() {
            return Err("the catalogue needs at least one product".into());
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(format!("currency must be a three-letter lower-case ISO code, not {:?}", self.currency));
        }
        for (i, p) in self.products.iter().enumerate() {
            if p.id.is_empty() || p.id.len() > 64 || !p.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(format!("product id {:?} must be 1-64 letters, digits, '-' or '_'", p.id));
            }
            if p.name.trim().is_empty() {
                return Err(format!("product {} needs a name", p.id));
            }
            if p.unit_amount <= 0 || p.unit_amount > 1_000_000 {
                return Err(format!("product {} must cost between 1 and 1000000 minor units", p.id));
            }
            if self.products[..i].iter().any(|q| q.id == p.id) {
                return Err(format!("product id {} appears twice", p.id));
            }
        }
        Ok(())
    }
}

/// Refuses zero, negative and absurd quantities before anything is stored.
pub fn check_quantity(quantity: i64) -> Result<i64, CheckoutError> {
    if (1..=MAX_QUANTITY).contains(&quantity) {
        Ok(quantity)
    } else {
        Err(CheckoutError::InvalidQuantity)
    }
}

#[cfg(test)]
pub(crate) fn sample() -> Catalogue {
    Catalogue {
        currency: "eur".into(),
        products: vec![
            Product { id: "espresso".into(), name: "Espresso beans".into(), unit_amount: 1450 },
            Product { id: "filter".into(), name: "Filter beans".into(), unit_amount: 1200 },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_outside_one_to_the_maximum_are_refused() {
        for bad in [0, -1, MAX_QUANTITY + 1, i64::MAX, i64::MIN] {
            assert_eq!(check_quantity(bad), Err(CheckoutError::InvalidQuantity), "{bad}");
        }
        assert_eq!(check_quantity(3), Ok(3));
    }

    #[test]
    fn unknown_products_are_refused() {
        assert_eq!(sample().find("decaf").unwrap_err(), CheckoutError::UnknownProduct);
        assert_eq!(sample().find("filter").unwrap().unit_amount, 1200);
    }

    #[test]
    fn a_catalogue_with_duplicate_ids_or_free_products_is_invalid() {
        let mut c = sample();
        c.products[1].id = "espresso".into();
        assert!(c.validate().unwrap_err().contains("twice"));
        let mut c = sample();
        c.products[0].unit_amount = 0;
        assert!(c.validate().is_err());
        assert!(sample().validate().is_ok());
    }
}
