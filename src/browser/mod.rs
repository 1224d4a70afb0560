//! What runs in the browser only: the bindings to Stripe.js and the payment's steps with it
//! (card → `pay` → 3-D Secure → `reconfirm`).

pub mod payment;
pub mod stripe_js;
