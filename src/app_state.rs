//! What every request handler shares: the order store, Stripe, the catalogue and the page's
//! Stripe.js settings. Built once in `main` (or a test) and handed to routes as context.

use crate::cart::StripeJsConfig;
use crate::checkout::Catalogue;
use crate::orders::OrderStore;
use crate::session::CookieSigner;

pub struct AppState {
    pub orders: OrderStore,
    pub catalogue: Catalogue,
    pub shop_name: String,
    /// The language of a request that names none the shop has (`[shop] locale`).
    pub default_locale: crate::i18n::Locale,
    pub signer: CookieSigner,
    pub secure_cookies: bool,
    pub stripe: crate::payments::stripe_http::StripeHttp,
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
    pub reconcile: crate::payments::reconciler::ReconcileSettings,
    /// Capture at payment, or later from the back office (`[payments] capture`).
    pub capture: crate::config::CaptureMode,
    /// The back office's secret; `None` turns the back office off.
    pub merchant_token: Option<crate::config::MerchantToken>,
    /// Where the back office links a PaymentIntent id (Stripe's dashboard, real keys only).
    pub stripe_dashboard: Option<String>,
    /// The build's files as the pages link them, named once at start-up.
    pub built: BuiltFiles,
    /// Rendered checkout pages (`None` when `CHECKOUT_PAGE_CACHE=off`).
    pub page_cache: Option<crate::page_cache::PageCache>,
    /// Set when the server is asked to stop.
    pub shutdown: crate::shutdown::Shutdown,
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
