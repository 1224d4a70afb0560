//! What the Rust tests share (`tests/`, `app/tests/`): the checkout in process, its real
//! router and state built as `main` builds them, with the embedded Stripe emulator (its
//! faults and clock at hand) and a database of the test's own (a SQLite file, or a new
//! database on the PostgreSQL server named by `CHECKOUT_TEST_POSTGRES`). Requests go through
//! the router with tower's `oneshot`: no socket.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use checkout::server::config::{Build, Environment, Settings};
use checkout::server::state::AppState;
use checkout::server::store::{new_order_id, now, Order, OrderStore};
use http_body_util::BodyExt;
use serde_json::Value;
use stripe_emulator::{Emulator, FaultKind, FaultRule};
use tower::ServiceExt;

/// The shop's settings: the workspace's own `Leptos.toml`.
pub const SHOP_SETTINGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../Leptos.toml");

pub const MERCHANT_TOKEN: &str = "merchant-token-for-the-tests-0123456789";

pub struct TestApp {
    pub router: axum::Router,
    pub state: Arc<AppState>,
    pub emulator: stripe_emulator::RunningEmulator,
    pub database_url: String,
    _dir: Option<tempfile::TempDir>,
}

/// A browser: the signed cookie of its order.
#[derive(Debug, Clone)]
pub struct Shopper {
    pub order_id: String,
    pub cookie: String,
}

/// An answer: its status, headers and body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A database of the test's own.
pub async fn test_database() -> (String, Option<tempfile::TempDir>) {
    match std::env::var("CHECKOUT_TEST_POSTGRES") {
        Ok(server) => {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let name = format!("it_{}", new_order_id().trim_start_matches("ord_"));
            let mut admin = sqlx::AnyConnection::connect(&server)
                .await
                .expect("CHECKOUT_TEST_POSTGRES: cannot connect");
            sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .unwrap();
            let (base, _) = server.rsplit_once('/').expect("postgres://…/database");
            (format!("{base}/{name}"), None)
        }
        Err(_) => {
            let dir = tempfile::tempdir().unwrap();
            (
                format!("sqlite://{}", dir.path().join("checkout.db").display()),
                Some(dir),
            )
        }
    }
}

impl TestApp {
    /// The shop of `Leptos.toml`, its reconciler left to the test (`run_pass`), Stripe's
    /// timeout short, a second of grace.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(&[]).await
    }

    /// As [`TestApp::spawn`], with these environment variables on top.
    pub async fn spawn_with(vars: &[(&str, &str)]) -> TestApp {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .with_test_writer()
            .try_init();
        let (database_url, dir) = test_database().await;
        let mut env: HashMap<String, String> = [
            ("DATABASE_URL", database_url.as_str()),
            ("STRIPE_EMULATOR_ADDR", "127.0.0.1:0"),
            ("STRIPE_TIMEOUT_MS", "400"),
            // One pass at start-up, then the test runs them.
            ("CHECKOUT_RECONCILE_SECONDS", "86400"),
            ("CHECKOUT_RECONCILE_GRACE_SECONDS", "1"),
            ("MERCHANT_TOKEN", MERCHANT_TOKEN),
            // The shop's settings, from the workspace's root, where the server runs.
            ("CHECKOUT_CONFIG", SHOP_SETTINGS),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in vars {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        let get = |name: &str| env.get(name).cloned();
        let settings = Settings::load(&get).expect("the shop's settings");
        let environment = Environment::from_env(
            &get,
            Build {
                embedded_emulator: true,
                release: false,
            },
        )
        .expect("the environment");
        let options = leptos::config::LeptosOptions::builder()
            .output_name("checkout")
            .site_pkg_dir("pkg")
            .site_addr(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .build();
        // The page itself is the binary's: here a stand-in, behind the same layers.
        let pages: checkout::server::router::Pages = Box::new(|_, _| {
            axum::Router::new().route("/", axum::routing::get(|| async { "the checkout page" }))
        });
        let built = checkout::server::router::build(options, settings, environment, pages)
            .await
            .expect("the server builds");
        TestApp {
            router: built.router,
            state: built.state,
            emulator: built.emulator.expect("the embedded emulator"),
            database_url,
            _dir: dir,
        }
    }

    pub fn emulator(&self) -> &Arc<Emulator> {
        self.emulator.emulator()
    }

    pub fn store(&self) -> &OrderStore {
        &self.state.orders
    }

    /// A new browser with an order of its own (not stored until it pays).
    pub fn shopper(&self) -> Shopper {
        let order_id = new_order_id();
        let value = self.state.signer.sign(&order_id, now());
        Shopper {
            cookie: format!("checkout_order={value}"),
            order_id,
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// `POST /pay` with the guide's JSON.
    pub async fn post_pay(&self, shopper: &Shopper, body: Value) -> Answer {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/pay")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::COOKIE, &shopper.cookie)
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(request).await
    }

    pub async fn pay(&self, shopper: &Shopper, payment_method: &str) -> Answer {
        self.post_pay(
            shopper,
            serde_json::json!({ "payment_method_id": payment_method }),
        )
        .await
    }

    /// `POST /pay` with this card as a browser connected from `client` (`ip:port`) would send
    /// it, with these headers too.
    pub async fn pay_from(
        &self,
        shopper: &Shopper,
        payment_method: &str,
        client: &str,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/pay")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::COOKIE, &shopper.cookie);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request
            .body(Body::from(
                serde_json::json!({ "payment_method_id": payment_method }).to_string(),
            ))
            .unwrap();
        let addr: std::net::SocketAddr = client.parse().expect("ip:port");
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(addr));
        self.send(request).await
    }

    pub async fn reconfirm(&self, shopper: &Shopper, payment_intent: &str) -> Answer {
        self.post_pay(
            shopper,
            serde_json::json!({ "payment_intent_id": payment_intent }),
        )
        .await
    }

    /// A form POST with these cookies.
    pub async fn post_form(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Answer {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookie)
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    pub async fn get(&self, path: &str, cookie: &str) -> Answer {
        let request = Request::builder()
            .uri(path)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    /// The back office's session cookie.
    pub async fn merchant(&self) -> String {
        let answer = self
            .post_form("/merchant/login", "", &[("token", MERCHANT_TOKEN)])
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        let cookie = answer
            .headers
            .get(header::SET_COOKIE)
            .expect("a session cookie")
            .to_str()
            .unwrap();
        cookie.split(';').next().unwrap().to_owned()
    }

    pub async fn order(&self, shopper: &Shopper) -> Order {
        self.store()
            .get(&shopper.order_id)
            .await
            .unwrap()
            .expect("the order is stored")
    }

    /// Makes every watched order due now (as time passing would).
    pub async fn make_all_due(&self) {
        let sql = "UPDATE orders SET next_check_at = $1 WHERE next_check_at IS NOT NULL";
        checkout_sql(self, sql, now() - 1).await;
    }

    pub async fn run_pass(&self) -> checkout::server::reconciler::Pass {
        checkout::server::reconciler::run_pass(&self.state).await
    }

    /// A fault for the next `count` requests matching `method` and `path`.
    pub fn fault(&self, method: &str, path: &str, kind: FaultKind, count: u32, delay_ms: u64) {
        self.emulator().faults.add(FaultRule {
            method: Some(method.to_owned()),
            path: path.to_owned(),
            kind,
            count,
            delay_ms,
        });
    }

    /// The emulator's intents made for this order (its `metadata.order_id`).
    pub fn intents_of(
        &self,
        order_id: &str,
    ) -> Vec<stripe_emulator::resources::payment_intent::PaymentIntent> {
        let store = self.emulator().lock_store();
        let mut intents: Vec<_> = store
            .payment_intents
            .values()
            .filter(|pi| pi.metadata.get("order_id").map(String::as_str) == Some(order_id))
            .cloned()
            .collect();
        intents.sort_by_key(|pi| pi.seq);
        intents
    }

    /// Succeeded charges of this order's intents.
    pub fn charges_of(&self, order_id: &str) -> Vec<stripe_emulator::resources::charge::Charge> {
        let intents: Vec<String> = self
            .intents_of(order_id)
            .into_iter()
            .map(|pi| pi.id)
            .collect();
        let store = self.emulator().lock_store();
        store
            .charges
            .values()
            .filter(|c| intents.contains(&c.payment_intent) && c.succeeded())
            .cloned()
            .collect()
    }

    /// Refunds of this order's intents.
    pub fn refunds_of(&self, order_id: &str) -> Vec<stripe_emulator::resources::refund::Refund> {
        let intents: Vec<String> = self
            .intents_of(order_id)
            .into_iter()
            .map(|pi| pi.id)
            .collect();
        let store = self.emulator().lock_store();
        store
            .refunds
            .values()
            .filter(|r| intents.contains(&r.payment_intent))
            .cloned()
            .collect()
    }

    /// What Stripe.js does when the cardholder completes 3-D Secure.
    pub fn authenticate(&self, payment_intent: &str) {
        let now = self.emulator().clock.now();
        let mut store = self.emulator().lock_store();
        let secret = store
            .payment_intents
            .get(payment_intent)
            .expect("the intent")
            .client_secret
            .clone();
        stripe_emulator::resources::payment_intent::authenticate(
            &mut store,
            payment_intent,
            &secret,
            true,
            now,
        )
        .expect("authenticated");
    }

    pub fn advance_clock(&self, seconds: i64) {
        self.emulator().clock.advance(seconds);
    }

    /// Asserts the order is paid once, by one succeeded intent and one charge.
    pub async fn assert_paid_once(&self, shopper: &Shopper) {
        let intents = self.intents_of(&shopper.order_id);
        let succeeded: Vec<_> = intents
            .iter()
            .filter(|pi| pi.status.as_str() == "succeeded")
            .collect();
        assert_eq!(
            succeeded.len(),
            1,
            "one succeeded intent: {:?}",
            intents
                .iter()
                .map(|pi| (&pi.id, pi.status.as_str()))
                .collect::<Vec<_>>()
        );
        assert_eq!(self.charges_of(&shopper.order_id).len(), 1, "one charge");
        let order = self.order(shopper).await;
        assert_eq!(order.status, checkout::domain::OrderStatus::Paid);
        assert_eq!(
            order.payment_intent_id.as_deref(),
            Some(succeeded[0].id.as_str()),
            "paid by the intent that took the money"
        );
        assert_eq!(
            self.store()
                .fulfilment_count(&shopper.order_id)
                .await
                .unwrap(),
            1
        );
    }
}

/// Runs one statement with one integer on the app's database (a test reaching past the store).
pub async fn checkout_sql(app: &TestApp, sql: &str, value: i64) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    sqlx::query(sql)
        .bind(value)
        .execute(&mut conn)
        .await
        .unwrap();
}

/// Runs one statement with these text values on the app's database.
pub async fn checkout_sql_text(app: &TestApp, sql: &str, values: &[&str]) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    let mut query = sqlx::query(sql);
    for v in values {
        query = query.bind(*v);
    }
    query.execute(&mut conn).await.unwrap();
}

/// Runs a test's body on a runtime like the server's: its requests' futures go through the
/// router, the payment flow and the embedded emulator, deeper than a default 2 MiB stack
/// holds in a debug build (the server's threads have 8 MiB, see `src/server/process.rs`).
pub fn run<F: std::future::Future<Output = ()>>(body: impl FnOnce() -> F + Send + 'static) {
    let test = std::thread::Builder::new()
        .stack_size(8 * 1024 * 1024)
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_stack_size(8 * 1024 * 1024)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(body());
            runtime.shutdown_timeout(Duration::from_secs(1));
        });
    if let Err(panic) = test.unwrap().join() {
        std::panic::resume_unwind(panic);
    }
}

/// Waits until `check` holds, up to `limit`.
pub async fn eventually(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
