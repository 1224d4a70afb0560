//! The checkout page's parts.

mod checkout_form;
mod order_summary;
pub mod payment_form;
mod receipt;
mod spinner;
mod test_mode_banner;

pub use checkout_form::CheckoutForm;
pub use order_summary::OrderSummaryTable;
pub use payment_form::PaymentForm;
pub use receipt::ReceiptPanel;
pub use spinner::Spinner;
pub use test_mode_banner::TestModeBanner;
