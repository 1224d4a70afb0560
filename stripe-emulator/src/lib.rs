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
pub mod locks;
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
        Config {
            addr: DEFAULT_ADDR.parse().expect("valid default address"),
            keys: KeyPolicy::default(),
            state_file: None,
        }
    }
}

/// The emulated account and its controls, shared by every request.
pub struct Emulator {
    pub store: Mutex<store::Store>,
    pub idempotency: idempotency::IdempotencyStore,
    pub faults: faults::Faults,
    pub clock: clock::Clock,
    /// The objects writes are executing on (see [`locks`]).
    pub locks: locks::ObjectLocks,
    pub keys: KeyPolicy,
    pub base_url: String,
    state_file: Option<PathBuf>,
    /// Held while a save is taken and written, so saves reach the files in order.
    saving: Mutex<Saved>,
}

/// What is on disk (see [`persist`]).
#[derive(Debug, Default)]
struct Saved {
    generation: u64,
    snapshot_bytes: u64,
    journal_bytes: u64,
    clock_offset_seconds: i64,
}

/// A journal this long is folded into a new snapshot once it is also longer than the
/// snapshot: a save then costs what changed, and the snapshots together about as much again.
const JOURNAL_FOLD_BYTES: u64 = 1 << 20;

impl Emulator {
    fn new(base_url: String, keys: KeyPolicy, state_file: Option<PathBuf>) -> Self {
        let emulator = Emulator {
            store: Mutex::new(store::Store::new(&base_url)),
            idempotency: Default::default(),
            faults: Default::default(),
            clock: Default::default(),
            locks: Default::default(),
            keys,
            base_url,
            state_file,
            saving: Mutex::new(Saved::default()),
        };
        emulator.restore();
        emulator
    }

    /// The account, even after a panic in another request poisoned the lock: a panic is
    /// answered as a 500 and must not take every later request down with it.
    pub fn lock_store(&self) -> MutexGuard<'_, store::Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets every object, idempotent result and fault, and resets the clock.
    pub fn reset(&self) {
        *self.lock_store() = store::Store::new(&self.base_url);
        self.idempotency.reset();
        self.faults.clear();
        self.clock.reset();
        if let Some(path) = &self.state_file {
            self.save_snapshot(path, &mut self.saved());
        }
    }

    /// Loads the account saved by an earlier run, if there is one.
    fn restore(&self) {
        let Some(path) = &self.state_file else { return };
        match persist::load(path) {
            Ok(Some(snapshot)) => {
                let mut store = snapshot.store;
                store.base_url = self.base_url.clone();
                store.forget_changes();
                *self.lock_store() = store;
                self.idempotency.restore(snapshot.idempotency);
                self.clock.set_offset(snapshot.clock_offset_seconds);
                let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
                *self.saved() = Saved {
                    generation: snapshot.generation,
                    snapshot_bytes: size(path),
                    journal_bytes: size(&persist::journal_path(path)),
                    clock_offset_seconds: snapshot.clock_offset_seconds,
                };
                tracing::info!(path = %path.display(), "stripe-emulator: account restored");
            }
            Ok(None) => {}
            Err(err) => {
                // Keep the unreadable file for a look, and start with an empty account.
                let aside = path.with_extension("unreadable");
                let _ = std::fs::rename(path, &aside);
                let _ = std::fs::rename(persist::journal_path(path), persist::journal_path(&aside));
                tracing::error!(path = %path.display(), moved_to = %aside.display(), %err, "stripe-emulator: saved account unreadable; starting empty");
            }
        }
    }

    /// Saves what changed in the account since the last save, if it has a state file:
    /// nothing when nothing changed, one journal line otherwise (see [`persist`]).
    pub fn save(&self) {
        let Some(path) = &self.state_file else { return };
        let mut saved = self.saved();
        let changes = self.lock_store().take_changes();
        let kept = self.idempotency.take_unsaved();
        let clock_offset_seconds = self.clock.offset();
        if changes.is_empty()
            && kept.is_empty()
            && clock_offset_seconds == saved.clock_offset_seconds
        {
            return;
        }
        if saved.journal_bytes > JOURNAL_FOLD_BYTES.max(saved.snapshot_bytes) {
            // The whole account, these changes included.
            return self.save_snapshot(path, &mut saved);
        }
        let entry = persist::JournalEntry {
            generation: saved.generation + 1,
            changes,
            kept,
            clock_offset_seconds,
        };
        match persist::append(path, &entry) {
            Ok(bytes) => {
                saved.generation += 1;
                saved.journal_bytes += bytes;
                saved.clock_offset_seconds = clock_offset_seconds;
            }
            Err(err) => {
                tracing::error!(path = %path.display(), %err, "stripe-emulator: cannot save the account's changes; saving it whole");
                self.save_snapshot(path, &mut saved);
            }
        }
    }

    /// Writes the whole account, replacing the snapshot and the journal.
    fn save_snapshot(&self, path: &std::path::Path, saved: &mut Saved) {
        let snapshot = {
            let mut store = self.lock_store();
            store.forget_changes();
            persist::Snapshot {
                store: store.clone(),
                idempotency: self.idempotency.kept(),
                clock_offset_seconds: self.clock.offset(),
                generation: saved.generation + 1,
            }
        };
        match persist::save(path, &snapshot) {
            Ok(bytes) => {
                *saved = Saved {
                    generation: snapshot.generation,
                    snapshot_bytes: bytes,
                    journal_bytes: 0,
                    clock_offset_seconds: snapshot.clock_offset_seconds,
                };
            }
            Err(err) => {
                tracing::error!(path = %path.display(), %err, "stripe-emulator: cannot save the account");
                // What this save took is on disk nowhere: the next save writes the account whole.
                saved.journal_bytes = u64::MAX;
            }
        }
    }

    fn saved(&self) -> MutexGuard<'_, Saved> {
        self.saving
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
    let emulator = Arc::new(Emulator::new(
        base_url.clone(),
        config.keys,
        config.state_file,
    ));
    let app = router(emulator.clone());
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(server::serve(listener, app, stopped));
    Ok(RunningEmulator {
        base_url,
        addr,
        emulator,
        stop: Some(stop),
        task,
    })
}
