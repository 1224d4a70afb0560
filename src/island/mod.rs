//! The page's island: the cart and the payment form, all that hydrates. These files are
//! compiled twice, outside the library: into the server binary (`src/main.rs`), which
//! renders them, and into the WASM (`front/`), which hydrates them. An edit here rebuilds
//! those two small crates, not the library (the dev loop, see README "Performance").

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
