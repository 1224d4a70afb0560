//! What the shop sells. Prices are in minor units of the shop's one currency and are only
//! ever read on the server: the browser never tells the server what anything costs.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::CheckoutError;
use crate::i18n::Locale;

/// Most units of one product a single order may hold.
pub const MAX_QUANTITY: i64 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: String,
    pub name: String,
    /// Price of one unit in minor units (cents).
    pub unit_amount: i64,
    /// The name in other languages (`names = { fr = "…" }`); `name` where none is given.
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub names: HashMap<Locale, String>,
}

/// A product as the page offers it: named in the shopper's language. The page gets these,
/// not [`Product`]s, so the WASM carries no decoder for the names in every language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub id: String,
    pub name: String,
    /// Price of one unit in minor units (cents).
    pub unit_amount: i64,
}

impl Product {
    pub fn name_in(&self, locale: Locale) -> &str {
        self.names.get(&locale).map_or(&self.name, String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    /// ISO 4217 code, lower case, as Stripe takes it.
    pub currency: String,
    pub products: Vec<Product>,
}

impl Catalogue {
    pub fn find(&self, product_id: &str) -> Result<&Product, CheckoutError> {
        self.products
            .iter()
            .find(|p| p.id == product_id)
            .ok_or(CheckoutError::UnknownProduct)
    }

    /// The products as a shopper of `locale` reads them.
    pub fn localized(&self, locale: Locale) -> Vec<Offer> {
        self.products
            .iter()
            .map(|p| Offer {
                id: p.id.clone(),
                name: p.name_in(locale).to_owned(),
                unit_amount: p.unit_amount,
            })
            .collect()
    }

    /// The order's lines named in `locale` (an order stores the name it was priced with).
    pub fn localize_summary(
        &self,
        mut summary: super::OrderSummary,
        locale: Locale,
    ) -> super::OrderSummary {
        for line in &mut summary.lines {
            if let Ok(product) = self.find(&line.product_id) {
                line.name = product.name_in(locale).to_owned();
            }
        }
        summary
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
            return Err(format!(
                "currency must be a three-letter lower-case ISO code, not {:?}",
                self.currency
            ));
        }
        for (i, p) in self.products.iter().enumerate() {
            if p.id.is_empty()
                || p.id.len() > 64
                || !p
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(format!(
                    "product id {:?} must be 1-64 letters, digits, '-' or '_'",
                    p.id
                ));
            }
            if p.name.trim().is_empty() {
                return Err(format!("product {} needs a name", p.id));
            }
            if p.unit_amount <= 0 || p.unit_amount > 1_000_000 {
                return Err(format!(
                    "product {} must cost between 1 and 1000000 minor units",
                    p.id
                ));
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
            Product {
                id: "espresso".into(),
                name: "Espresso beans".into(),
                unit_amount: 1450,
                names: HashMap::from([(Locale::fr, "Grains espresso".into())]),
            },
            Product {
                id: "filter".into(),
                name: "Filter beans".into(),
                unit_amount: 1200,
                names: HashMap::new(),
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_and_order_lines_take_their_name_in_the_shopper_s_language() {
        let catalogue = sample();
        let names = |locale| {
            catalogue
                .localized(locale)
                .into_iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(Locale::fr),
            ["Grains espresso", "Filter beans"],
            "a missing translation falls back to `name`"
        );
        assert_eq!(names(Locale::en), ["Espresso beans", "Filter beans"]);
        let line = crate::domain::OrderLine::priced(&catalogue, "espresso", 2).unwrap();
        let summary = crate::domain::OrderSummary {
            reference: "ORD-1".into(),
            lines: vec![line],
            amount: 2900,
            currency: "eur".into(),
            status: crate::domain::OrderStatus::Open,
        };
        let french = catalogue.localize_summary(summary, Locale::fr);
        assert_eq!(french.lines[0].name, "Grains espresso");
        assert_eq!(french.amount, 2900, "only names change");
    }

    #[test]
    fn quantities_outside_one_to_the_maximum_are_refused() {
        for bad in [0, -1, MAX_QUANTITY + 1, i64::MAX, i64::MIN] {
            assert_eq!(
                check_quantity(bad),
                Err(CheckoutError::InvalidQuantity),
                "{bad}"
            );
        }
        assert_eq!(check_quantity(3), Ok(3));
    }

    #[test]
    fn unknown_products_are_refused() {
        assert_eq!(
            sample().find("decaf").unwrap_err(),
            CheckoutError::UnknownProduct
        );
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
