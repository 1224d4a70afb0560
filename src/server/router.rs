//! Assembles the server: order store, Stripe client (or the embedded emulator), the Leptos
//! routes and server functions, `POST /pay`, the operator's `/healthz`, `/readyz` and
//! `/metrics`, the session layer, and the back office (`/merchant`, when `MERCHANT_TOKEN` is
//! set); around them all, each request's id, span and metrics, and its client's address.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::*;

use crate::domain::StripeJsConfig;
use crate::server::config::{Environment, Settings, StripeSetup};
use crate::server::security;
use crate::server::session::{session_layer, CookieSigner};
use crate::server::state::AppState;
use crate::server::store::OrderStore;

/// How often the database's WAL is synced to disk: the most a power loss can take back.
pub const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// Largest request body the app accepts: payments are a few hundred bytes.
pub const BODY_LIMIT: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Store(#[from] crate::server::store::StoreError),
    #[error("cannot start the embedded Stripe emulator on {addr}: {source} (set STRIPE_EMULATOR_ADDR to another address)")]
    Emulator {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("STRIPE_EMULATOR_ADDR: this build has no embedded Stripe emulator")]
    NoEmulator,
    #[error("cannot build the Stripe client: {0}")]
    Stripe(String),
    #[error("{0}")]
    Settings(String),
}

/// A built server: its router, its state, and the embedded emulator if one runs.
pub struct Checkout {
    pub router: Router,
    pub state: Arc<AppState>,
    /// The reconciler's passes, which end when `state.shutdown` begins.
    pub reconciler: tokio::task::JoinHandle<()>,
    #[cfg(feature = "embedded-emulator")]
    pub emulator: Option<stripe_emulator::RunningEmulator>,
}

/// Where the embedded emulator keeps its account, so it and the order database always agree
/// across restarts: beside a SQLite file (`checkout.db` → `checkout.db-stripe-emulator.json`),
/// or, for PostgreSQL, a file named for the database in the temporary directory.
pub fn emulator_state_file(database_url: &str) -> Option<std::path::PathBuf> {
    if crate::server::store::Backend::of(database_url) == crate::server::store::Backend::Postgres {
        let place = database_url
            .split_once('@')
            .map_or(database_url, |(_, after)| after)
            .split('?')
            .next()?;
        let name: String = place
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        return Some(std::env::temp_dir().join(format!("checkout-{name}-stripe-emulator.json")));
    }
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next()?;
    (!path.is_empty() && path != ":memory:")
        .then(|| std::path::PathBuf::from(format!("{path}-stripe-emulator.json")))
}

/// The pages' routes: leptos's routes for the app's view, with the state in their context, and
/// the fallback. The server binary builds them (`app/src/page/`), so that an edit to the page
/// recompiles the binary alone, not this library.
pub type Pages = Box<dyn FnOnce(&LeptosOptions, Arc<AppState>) -> Router<LeptosOptions> + Send>;

/// Opens the store, connects Stripe (starting the emulator when no keys are set) and builds
/// every route around the `pages`.
pub async fn build(
    options: LeptosOptions,
    settings: Settings,
    env: Environment,
    pages: Pages,
) -> Result<Checkout, StartupError> {
    let watch = crate::server::store::Watch {
        grace: env.reconcile_grace,
        authorisation_check: env.authorisation_check,
    };
    let orders = OrderStore::connect_with(&env.database_url, env.database_pool)
        .await?
        .with_watch(watch);
    orders.spawn_checkpoints(CHECKPOINT_EVERY);
    let signer = CookieSigner::new(orders.server_secret("cookie_signing_key", 32).await?);

    #[cfg(feature = "embedded-emulator")]
    let mut emulator = None;
    let stripe_dashboard = match &env.stripe {
        StripeSetup::Remote(keys) if keys.api_base == crate::server::config::STRIPE_API => {
            let test = if keys.secret_key.contains("_test_") {
                "test/"
            } else {
                ""
            };
            Some(format!("https://dashboard.stripe.com/{test}payments/"))
        }
        _ => None,
    };
    let (secret_key, api_base, stripe_js, local_emulator) = match &env.stripe {
        StripeSetup::Remote(keys) => (
            keys.secret_key.clone(),
            keys.api_base.clone(),
            StripeJsConfig {
                publishable_key: keys.publishable_key.clone(),
                js_url: keys.js_url.clone(),
            },
            false,
        ),
        #[cfg(feature = "embedded-emulator")]
        StripeSetup::Embedded { addr } => {
            let state_file = emulator_state_file(&env.database_url);
            let config = stripe_emulator::Config {
                addr: *addr,
                state_file,
                ..Default::default()
            };
            let running =
                stripe_emulator::start(config)
                    .await
                    .map_err(|source| StartupError::Emulator {
                        addr: *addr,
                        source,
                    })?;
            let base = running.base_url().to_owned();
            tracing::info!(url = %base, "no Stripe keys configured: using the embedded Stripe emulator");
            emulator = Some(running);
            (
                crate::server::config::EMULATOR_SECRET_KEY.to_owned(),
                format!("{base}/"),
                StripeJsConfig {
                    publishable_key: crate::server::config::EMULATOR_PUBLISHABLE_KEY.to_owned(),
                    js_url: format!("{base}/v3/"),
                },
                true,
            )
        }
        #[cfg(not(feature = "embedded-emulator"))]
        StripeSetup::Embedded { .. } => return Err(StartupError::NoEmulator),
    };
    let stripe = crate::server::stripe_http::StripeHttp::new(&secret_key, &api_base)
        .map_err(StartupError::Stripe)?;
    let currency = settings.currency().map_err(StartupError::Settings)?;
    let metrics = match &env.operations.metrics_token {
        Some(token) => Some(
            crate::server::telemetry::Exporter::install(token.clone())
                .map_err(StartupError::Settings)?,
        ),
        None => None,
    };

    let state = Arc::new(AppState {
        orders,
        catalogue: settings.catalogue(),
        shop_name: settings.shop.name.clone(),
        default_locale: settings.shop.locale,
        signer,
        secure_cookies: env.secure_cookies(),
        stripe,
        stripe_timeout: env.stripe_timeout,
        stripe_js,
        local_emulator,
        stripe_api_base: api_base,
        public_url: env.public_url.clone(),
        currency,
        lease: env.order_lease,
        reconcile: crate::server::reconciler::ReconcileSettings {
            interval: env.reconcile_interval,
        },
        capture: settings.payments.capture,
        merchant_token: env.merchant_token.clone(),
        stripe_dashboard,
        built: built_files(&options),
        page_cache: env
            .page_cache
            .then(crate::server::page_cache::kept::PageCache::new),
        shutdown: Default::default(),
        operations: env.operations.clone(),
        metrics,
    });
    if let Some(exporter) = &state.metrics {
        exporter.spawn_upkeep(state.shutdown.stopping());
    }
    crate::server::card_testing::alarm::spawn(state.clone(), state.shutdown.stopping());
    // Runs until the server is asked to stop.
    let reconciler = crate::server::reconciler::spawn(
        state.clone(),
        server_name(&options),
        state.shutdown.stopping(),
    );

    // Each layer on the routes it guards (`route_layer`): the page and the server functions
    // have a session and refuse cross-site posts; static files and the operator's have neither.
    let session = || axum::middleware::from_fn_with_state(state.clone(), session_layer);
    let leptos = pages(&options, state.clone())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::server::page_cache::serve,
        ))
        .route_layer(axum::middleware::from_fn(security::server_fn_error_status))
        .route_layer(session())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::same_origin_server_fns,
        ))
        .with_state(options.clone());
    let pay = Router::new()
        .route("/pay", post(crate::server::rest::pay))
        .route_layer(session())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::same_origin_pay,
        ));
    let language = Router::new()
        .route("/language", post(crate::server::language::switch))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::same_origin_plain,
        ));
    let mut router = pay
        .merge(language)
        .route("/healthz", get(crate::server::operator::healthz))
        .route("/readyz", get(crate::server::operator::readyz))
        .route("/metrics", get(crate::server::operator::metrics))
        .with_state(state.clone())
        .merge(crate::server::files::pkg_files(&options))
        .merge(leptos);
    if let Some(merchant) = crate::server::merchant::routes(state.clone()) {
        router = router.merge(merchant);
    }
    let router = security::with_security_headers(router)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::server::shutdown::answer_by_deadline,
        ))
        .layer(axum::middleware::from_fn(
            crate::server::timing::server_timing,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::server::card_testing::client::identify,
        ))
        .layer(axum::middleware::from_fn(
            crate::server::telemetry::http::observe,
        ))
        // The request's id: the load balancer's, or a new one; sent back with the answer.
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
            tower_http::request_id::MakeRequestUuid,
        ));

    Ok(Checkout {
        router,
        state,
        reconciler,
        #[cfg(feature = "embedded-emulator")]
        emulator,
    })
}

/// The build's file names, with the hashes cargo-leptos wrote to hash.txt when hash-files is
/// on (as leptos names them: `js: HASH`, `wasm: HASH`, `css: HASH`). Read once: leptos's own
/// components read hash.txt again on every page.
pub fn built_files(options: &LeptosOptions) -> crate::server::state::BuiltFiles {
    let hashes = options
        .hash_files
        .then(|| {
            std::fs::read_to_string(
                std::env::current_exe()
                    .ok()?
                    .parent()?
                    .join(&*options.hash_file),
            )
            .ok()
        })
        .flatten();
    if options.hash_files && hashes.is_none() {
        tracing::error!(file = %options.hash_file, "hash-files is on but the hash file cannot be read: the page links the files unhashed");
    }
    built_files_named(options, hashes.as_deref().unwrap_or_default())
}

fn built_files_named(options: &LeptosOptions, hashes: &str) -> crate::server::state::BuiltFiles {
    let named = |kind: &str| {
        let hash = hashes
            .lines()
            .filter_map(|l| l.trim().split_once(':'))
            .find(|(k, _)| *k == kind)
            .map(|(_, h)| h.trim());
        match hash {
            Some(hash) => format!("{}.{hash}", options.output_name),
            None => options.output_name.to_string(),
        }
    };
    let pkg_dir = options.site_pkg_dir.to_string();
    crate::server::state::BuiltFiles {
        stylesheet: format!("/{pkg_dir}/{}.css", named("css")),
        script: named("js"),
        wasm: named("wasm"),
        pkg_dir,
    }
}

/// This server among those sharing the database: its host and the address it serves.
fn server_name(options: &LeptosOptions) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    format!("{}:{}", host.trim(), options.site_addr)
}

#[cfg(test)]
mod tests {
    use super::{built_files_named, emulator_state_file};
    use std::path::PathBuf;

    #[test]
    fn the_page_links_the_built_files_by_the_names_in_the_hash_file() {
        let options = leptos::config::LeptosOptions::builder()
            .output_name("checkout")
            .site_pkg_dir("pkg")
            .build();
        let built = built_files_named(&options, "js: AbC\nwasm: dEf-_1\ncss: gh\n");
        assert_eq!(built.stylesheet, "/pkg/checkout.gh.css");
        assert_eq!(
            (
                built.pkg_dir.as_str(),
                built.script.as_str(),
                built.wasm.as_str()
            ),
            ("pkg", "checkout.AbC", "checkout.dEf-_1")
        );
        let unhashed = built_files_named(&options, "");
        assert_eq!(
            (
                unhashed.stylesheet.as_str(),
                unhashed.script.as_str(),
                unhashed.wasm.as_str()
            ),
            ("/pkg/checkout.css", "checkout", "checkout")
        );
    }

    #[test]
    fn the_embedded_emulator_keeps_its_account_beside_its_order_database() {
        assert_eq!(
            emulator_state_file("sqlite://data/checkout.db"),
            Some(PathBuf::from("data/checkout.db-stripe-emulator.json"))
        );
        assert_eq!(emulator_state_file("sqlite::memory:"), None);
        // PostgreSQL: one file per database, named without the credentials.
        let file =
            emulator_state_file("postgres://shop:s3cret@db.internal:5432/shop?sslmode=disable")
                .unwrap();
        assert_eq!(
            file,
            std::env::temp_dir().join("checkout-db-internal-5432-shop-stripe-emulator.json")
        );
        assert_ne!(emulator_state_file("postgres://db/other"), Some(file));
    }
}
