//! How a payment attempt starts (which card) and ends, as the browser needs to know it.

use serde::{Deserialize, Serialize};

/// Which card pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayWith {
    /// The card typed into the Card Element; saved for this browser with `save_email`.
    NewCard { save_email: Option<String> },
    /// A card this browser saved.
    SavedCard(String),
}

/// What the shopper is shown after paying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub reference: String,
    pub amount: i64,
    pub currency: String,
    /// Card brand and last four digits, as Stripe reports them.
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    /// `Paid`, or `Authorised` when the merchant captures later, or `Processing`.
    pub status: super::OrderStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentOutcome {
    /// Paid, authorised or processing: the order is no longer payable.
    Completed(Receipt),
    /// The card needs 3-D Secure: run `stripe.handleCardAction(client_secret)`, then `reconfirm`.
    RequiresAction {
        payment_intent_id: String,
        client_secret: String,
    },
}

/// A card this browser saved, as the page shows it ("Visa •••• 4242, expires 12/34").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedCard {
    pub payment_method_id: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
}

impl SavedCard {
    pub fn label(&self, locale: crate::i18n::Locale) -> String {
        let expiry = format!("{:02}/{:02}", self.exp_month, self.exp_year % 100);
        crate::i18n::td_string!(
            locale,
            payment.saved_card,
            brand = super::money::brand_name(&self.brand),
            last4 = self.last4.clone(),
            expiry
        )
        .to_string()
    }
}
