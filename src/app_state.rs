//! What every request handler shares: the order store, Stripe, the catalogue and the page's
//! Stripe.js settings. Built once in `main` (or a test) and handed to routes as context.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::checkout::Catalogue;
use crate::orders::OrderStore;
use crate::session::CookieSigner;

/// What the browser needs to load Stripe.js: never the secret key.
#[derive(Debug, Clone)]
pub struct StripePage {
    pub publishable_key: String,
    pub js_url: String,
    /// The embedded emulator is in use: the page says so.
    pub local_emulator: bool,
}

pub struct AppState {
    pub orders: OrderStore,
    pub catalogue: Catalogue,
    pub shop_name: String,
    pub signer: CookieSigner,
    pub secure_cookies: bool,
    pub stripe: crate::payments::stripe_http::StripeHttp,
    /// How long one Stripe call may take before it counts as lost and is retried.
    pub stripe_timeout: std::time::Duration,
    pub stripe_page: StripePage,
    /// Where the server's Stripe API calls go (for the page's connect-src).
    pub stripe_api_base: String,
    /// `CHECKOUT_PUBLIC_URL`, against which `Origin` is checked when set.
    pub public_url: Option<String>,
    pub order_locks: OrderLocks,
}

/// One async lock per order, so concurrent payments of one order run one after the other.
#[derive(Default)]
pub struct OrderLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl OrderLocks {
    pub async fn lock(&self, order_id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().expect("order locks");
            // Forget locks nobody holds, so the map does not grow with every order ever seen.
            locks.retain(|_, l| Arc::strong_count(l) > 1);
            locks.entry(order_id.to_owned()).or_default().clone()
        };
        lock.lock_owned().await
    }
}
