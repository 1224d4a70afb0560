//! The payment, on the server: the steps of Stripe's flow under the order's lease
//! ([`flow`], [`lease`]), what Stripe's answers mean ([`settlement`]), the Stripe POSTs each
//! recorded before it is sent ([`calls`]) and settled by replaying them ([`replay`]), saved
//! cards, the calls' retries ([`transport`]), and each attempt's record ([`attempts`]).

pub mod attempts;
pub mod authorisation;
pub mod calls;
pub mod context;
pub mod flow;
pub mod intent;
pub mod lease;
pub mod reconfirm;
pub mod replay;
pub mod review;
pub mod saved_cards;
pub mod settlement;
pub mod transport;
