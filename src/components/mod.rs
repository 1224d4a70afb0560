//! The checkout page's parts.

mod checkout_form;
mod language_switch;
mod order_summary;
pub mod payment_form;
mod receipt;
mod spinner;
mod test_mode_banner;

pub use checkout_form::CheckoutForm;
pub use language_switch::LanguageSwitch;
pub use order_summary::OrderSummaryTable;
pub use payment_form::PaymentForm;
pub use receipt::ReceiptPanel;
pub use spinner::Spinner;
pub use test_mode_banner::TestModeBanner;

use crate::i18n::Locale;

/// The page's language: the island is given it by the server (a prop, provided as context
/// to its parts), so the WASM renders what SSR rendered.
pub fn use_locale() -> Locale {
    leptos::prelude::use_context::<Locale>().unwrap_or_default()
}
