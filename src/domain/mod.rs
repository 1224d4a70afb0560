//! The checkout's domain, shared by server and browser: what is sold, what an order holds
//! and costs, and how a payment attempt ends. No I/O here, and no `cfg` noise.

pub mod catalogue;
pub mod error;
pub mod ids;
pub mod money;
pub mod order;
pub mod outcome;
pub mod status;
pub mod view;
pub mod wire;

pub use catalogue::{Catalogue, Offer, Product};
pub use error::CheckoutError;
pub use ids::{OrderId, PaymentIntentId, PaymentMethodId};
pub use money::{format_amount, parse_amount};
pub use order::{OrderLine, OrderSummary};
pub use outcome::{PayWith, PaymentOutcome, Receipt, SavedCard};
pub use status::{OrderStatus, PaymentEvent};
pub use view::{CheckoutView, StripeJsConfig};
