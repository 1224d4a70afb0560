//! A faithful, stateful local Stripe for offline development and tests: the card-payment
#![recursion_limit = "256"]
// An error here is the API's answer to one failed request, built once and sent: its size
// costs nothing measurable, and boxing it would make every resource function noisier.
#![allow(clippy::result_large_err)]
//! API (PaymentMethods, PaymentIntents with 3-D Secure, Customers, Charges, Refunds),
//! Stripe's test cards, `Idempotency-Key`, a Stripe.js v3 stand-in at `/v3/`, and test
//! controls under `/_emulator/` (reset, clock, faults).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let emulator = stripe_emulator::start(stripe_emulator::Config::default()).await?;
//! println!("Stripe API at {}", emulator.base_url());
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```

pub mod api;
pub mod auth;
pub mod cards;
pub mod clock;
pub mod controls;
pub mod error;
pub mod faults;
pub mod form;
pub mod idempotency;
pub mod ids;
pub mod persist;
pub mod resources;
pub mod server;
pub mod shape;
pub mod store;
pub mod stripe_js;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use auth::KeyPolicy;
pub use faults::{FaultKind, FaultRule};

/// The port Stripe's own stripe-mock made familiar; the binary's default.
pub const DEFAULT_ADDR: &str = "127.0.0.1:12111";

#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub keys: KeyPolicy,
    /// Where the account is kept across restarts; `None` keeps it in memory only.
    pub state_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config { addr: DEFAULT_ADDR.parse().expect("valid default address"), keys: KeyPolicy::default(), state_file: None }
    }
}

/// The emulated account and its controls, shared by every request.
pub struct Emulator {
    pub store: Mutex<store::Store>,
    pub idempotency: idempotency::IdempotencyStore,
    pub faults: faults::Faults,
    pub clock: clock::Clock,
    pub keys: KeyPolicy,
    pub base_url: String,
    state_file: Option<PathBuf>,
    /// Held while a snapshot is taken and written, so snapshots reach the file in order.
    saving: Mutex<()>,
}

impl Emulator {
    fn new(base_url: String, keys: KeyPolicy, state_file: Option<PathBuf>) -> Self {
        let emulator = Emulator {
            store: Mutex::new(store::Store::new(&base_url)),
            idempotency: Default::default(),
            faults: Default::default(),
            clock: Default::default(),
            keys,
            base_url,
            state_file,
            saving: Mutex::new(()),
        };
        emulator.restore();
        emulator
    }

    /// The account, even after a panic in another request poisoned the lock: a panic is
    /// answered as a 500 and must not take every later request down with it.
    pub fn lock_store(&self) -> MutexGuard<'_, store::Store> {
        self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets every object, idempotent result and fault, and resets the clock.
    pub fn reset(&self) {
        *self.lock_store() = store::Store::new(&self.base_url);
        self.idempotency.reset();
        self.faults.clear();
        self.clock.reset();
        self.save();
    }

    /// Loads the account saved by an earlier run, if there is one.
    fn restore(&self) {
        let Some(path) = &self.state_file else { return };
        match persist::load(path) {
            Ok(Some(snapshot)) => {
                let mut store = snapshot.store;
                store.base_url = self.base_url.clone();
                *self.lock_store() = store;
                self.idempotency.restore(snapshot.idempotency);
                self.clock.set_offset(snapshot.clock_offset_seconds);
                tracing::info!(path = %path.display(), "stripe-emulator: account restored");
            }
            Ok(None) => {}
            Err(err) => {
                // Keep the unreadable file for a look, and start with an empty account.
                let aside = path.with_extension("unreadable");
                let _ = std::fs::rename(path, &aside);
                tracing::error!(path = %path.display(), moved_to = %aside.display(), %err, "stripe-emulator: saved account unreadable; starting empty");
            }
        }
    }

    /// Writes the account to its state file, if it has one.
    pub fn save(&self) {
        let Some(path) = &self.state_file else { return };
        let _saving = self.saving.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let snapshot = persist::Snapshot {
            store: self.lock_store().clone(),
            idempotency: self.idempotency.kept(),
            clock_offset_seconds: self.clock.offset(),
        };
        if let Err(err) = persist::save(path, &snapshot) {
            tracing::error!(path = %path.display(), %err, "stripe-emulator: cannot save the account");
        }
    }
}

/// All routes of the emulator.
pub fn router(emulator: Arc<Emulator>) -> Router {
    Router::new()
        .route("/v3", get(stripe_js::script))
        .route("/v3/", get(stripe_js::script))
        .route("/v3/elements/card", get(stripe_js::card_frame))
        .route("/3ds/challenge/{id}", get(stripe_js::challenge_page))
        .route("/3ds/authenticate/{id}", post(stripe_js::authenticate))
        .nest("/_emulator", controls::router())
        .fallback(api::handle)
        .with_state(emulator)
        .layer(server::cors())
        .layer(axum::middleware::from_fn(server::request_id))
}

/// A running emulator; dropping it without [`RunningEmulator::shutdown`] leaves it serving
/// until the runtime ends.
pub struct RunningEmulator {
    base_url: String,
    addr: SocketAddr,
    emulator: Arc<Emulator>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The state behind the server, for in-process inspection and control.
    pub fn emulator(&self) -> &Arc<Emulator> {
        &self.emulator
    }

    /// Stops accepting, closes open connections and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Binds `config.addr` (port 0 picks a free port) and serves in the background.
pub async fn start(config: Config) -> std::io::Result<RunningEmulator> {
    let listener = TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let emulator = Arc::new(Emulator::new(base_url.clone(), config.keys, config.state_file));
    let app = router(emulator.clone());
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(server::serve(listener, app, stopped));
    Ok(RunningEmulator { base_url, addr, emulator, stop: Some(stop), task })
}
