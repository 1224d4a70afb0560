//! The checkout's domain, shared by server and browser: what is sold, what an order holds
//! and costs, and how a payment attempt ends. No I/O here, and no `cfg` noise.

pub mod catalogue;
pub mod error;
pub mod money;
pub mod order;
pub mod outcome;

pub use catalogue::{Catalogue, Offer, Product};
pub use error::CheckoutError;
pub use money::{format_amount, parse_amount};
pub use order::{OrderLine, OrderStatus, OrderSummary, PaymentEvent};
pub use outcome::{PayWith, PaymentOutcome, Receipt, SavedCard};
