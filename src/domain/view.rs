//! What the checkout page shows: the data the server renders it from, and hands the island in
//! the page (see `wire.rs`).

use serde::{Deserialize, Serialize};

use super::{Offer, OrderSummary, SavedCard};

/// Where the page loads Stripe.js from, and with which key: never the secret key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripeJsConfig {
    pub publishable_key: String,
    pub js_url: String,
}

/// Everything the checkout page renders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutView {
    /// The page's language, chosen on the server (see `language.rs`).
    pub locale: crate::i18n::Locale,
    pub shop_name: String,
    pub order: OrderSummary,
    pub products: Vec<Offer>,
    pub stripe: StripeJsConfig,
    /// Payments go to the embedded local emulator, not to Stripe.
    pub local_emulator: bool,
    /// The cards this browser saved.
    pub saved_cards: Vec<SavedCard>,
}
