//! The page's island: the cart and the payment form, all that hydrates. This crate is built
//! twice: into the server binary (feature `ssr`), which renders it, and into the WASM
//! (`front/`, feature `hydrate`), which hydrates it.

pub mod checkout_form;
mod order_summary;
pub mod payment_form;
mod receipt;
mod spinner;

pub use checkout_form::CheckoutForm;
use order_summary::OrderSummaryTable;
use payment_form::PaymentForm;
use receipt::ReceiptPanel;
use spinner::Spinner;
