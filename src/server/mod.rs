//! Everything that runs on the server (feature `ssr`): the process and its router, each
//! request's session, language and security, the payment flow and its safety net, the order
//! store, the merchant's back office, and what running it as a shop needs (metrics and logs,
//! readiness, the card-testing defence).

pub mod card_testing;
pub mod config;
pub mod files;
pub mod language;
pub mod merchant;
pub mod operator;
pub mod page_cache;
pub mod payments;
pub mod process;
pub mod reconciler;
pub mod rest;
pub mod router;
pub mod security;
pub mod session;
pub mod shutdown;
pub mod state;
pub mod store;
pub mod stripe_http;
pub mod telemetry;
pub mod timing;
pub mod view;
