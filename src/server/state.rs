//! What every request handler shares: the order store, Stripe, the catalogue and the page's
//! Stripe.js settings. Built once in `main` (or a test) and handed to routes as context.

//!
//! It depends on nothing above it: only on the domain, the configuration, and the leaf
//! modules whose values it holds (the store, the cookie signer, the Stripe client, the kept
//! pages, the metrics' exporter), none of which reads the state.

use tokio::sync::watch;

use crate::domain::{Catalogue, StripeJsConfig};
use crate::server::config::{CaptureMode, MerchantToken, Operations, ReconcileSettings};
use crate::server::page_cache::kept::PageCache;
use crate::server::session::cookies::CookieSigner;
use crate::server::store::OrderStore;
use crate::server::stripe_http::StripeHttp;
use crate::server::telemetry::Exporter;

pub struct AppState {
    pub orders: OrderStore,
    pub catalogue: Catalogue,
    pub shop_name: String,
    /// The language of a request that names none the shop has (`[shop] locale`).
    pub default_locale: crate::i18n::Locale,
    pub signer: CookieSigner,
    pub secure_cookies: bool,
    pub stripe: StripeHttp,
    /// How long one Stripe call may take before it counts as lost and is retried.
    pub stripe_timeout: std::time::Duration,
    /// What the page loads Stripe.js with.
    pub stripe_js: StripeJsConfig,
    /// The embedded emulator is in use: the page says so.
    pub local_emulator: bool,
    /// Where the server's Stripe API calls go (for the page's connect-src).
    pub stripe_api_base: String,
    /// `CHECKOUT_PUBLIC_URL`, against which `Origin` is checked when set.
    pub public_url: Option<String>,
    /// The shop's currency, parsed once at start-up.
    pub currency: stripe_types::Currency,
    /// How long an order's lease lasts unrenewed (its holder renews it while its step runs):
    /// a crashed server's orders are free again this soon.
    pub lease: std::time::Duration,
    pub reconcile: ReconcileSettings,
    /// Capture at payment, or later from the back office (`[payments] capture`).
    pub capture: CaptureMode,
    /// The back office's secret; `None` turns the back office off.
    pub merchant_token: Option<MerchantToken>,
    /// Where the back office links a PaymentIntent id (Stripe's dashboard, real keys only).
    pub stripe_dashboard: Option<String>,
    /// The build's files as the pages link them, named once at start-up.
    pub built: BuiltFiles,
    /// Rendered checkout pages (`None` when `CHECKOUT_PAGE_CACHE=off`).
    pub page_cache: Option<PageCache>,
    /// Set when the server is asked to stop.
    pub shutdown: Shutdown,
    /// Metrics, card-testing limits, the trusted proxy.
    pub operations: Operations,
    /// `/metrics`'s exporter (`None` without `CHECKOUT_METRICS_TOKEN`).
    pub metrics: Option<Exporter>,
}

/// The stylesheet, JS and WASM of this build, with the hashes hash.txt (beside the binary)
/// gives them when cargo-leptos's hash-files is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltFiles {
    /// `/pkg/checkout.HASH.css`, for the page and the back office.
    pub stylesheet: String,
    /// The site's package directory (`pkg`), and the JS and WASM file names without their
    /// extension (`checkout.HASH`), as leptos's island script takes them.
    pub pkg_dir: String,
    pub script: String,
    pub wasm: String,
}

/// The server's two moments of stopping, each set once.
#[derive(Debug)]
pub struct Shutdown {
    /// Stop accepting, and take on nothing new.
    stopping: watch::Sender<bool>,
    /// The in-flight requests' time is up.
    deadline: watch::Sender<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown {
            stopping: watch::channel(false).0,
            deadline: watch::channel(false).0,
        }
    }
}

impl Shutdown {
    /// Watches the first moment (the reconciler stops taking orders).
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    pub fn begin(&self) {
        self.stopping.send_replace(true);
    }

    pub fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    pub fn end_grace(&self) {
        self.deadline.send_replace(true);
    }

    /// Resolves once the in-flight requests' time is up.
    pub async fn deadline_passed(&self) {
        let mut deadline = self.deadline.subscribe();
        let _ = deadline.wait_for(|passed| *passed).await;
    }
}
