//! What a reconciler pass costs in a busy shop's database: 100,000 orders, 10 of them due (a
//! processing payment each, read from Stripe at every pass and found unchanged). Run by
//! `scripts/bench.sh`:
//! `cargo run --release --features ssr,embedded-emulator --example reconcile_pass`
//! (RECONCILE_ROUNDS, default 50; DATABASE_URL for PostgreSQL, default a fresh SQLite file).
//!
//! The whole app is built as `main` builds it, with its embedded emulator; the 10 payments go
//! through `POST /pay`; the other orders are written straight to the database, settled.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use checkout::server::config::{Build, Environment, Settings};
use checkout::server::store::{new_order_id, now};
use tower::ServiceExt;

const ORDERS: i64 = 100_000;
const DUE: usize = 10;

fn main() {
    // The server's own stack size: a request's future is deep in an unoptimised build.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(8 * 1024 * 1024)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run());
}

async fn run() {
    let rounds: usize = std::env::var("RECONCILE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let dir = std::env::temp_dir().join(format!("reconcile-pass-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let database_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/orders.db", dir.display()));
    let vars = [
        ("DATABASE_URL", database_url.as_str()),
        ("STRIPE_EMULATOR_ADDR", "127.0.0.1:0"),
        ("CHECKOUT_RECONCILE_SECONDS", "86400"),
        // A release build runs on the embedded emulator only when told to.
        ("CHECKOUT_USE_EMULATOR", "true"),
    ];
    let get = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
            .or_else(|| {
                std::env::var(name)
                    .ok()
                    .filter(|_| name == "CHECKOUT_CONFIG")
            })
    };
    let settings = Settings::load(&get).expect("the shop's settings");
    let environment = Environment::from_env(
        &get,
        Build {
            embedded_emulator: true,
            release: true,
        },
    )
    .expect("the environment");
    let options = leptos::config::LeptosOptions::builder()
        .output_name("checkout")
        .site_pkg_dir("pkg")
        .site_addr(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .build();
    let pages: checkout::server::router::Pages =
        Box::new(|_, _| axum::Router::new().route("/", axum::routing::get(|| async { "page" })));
    let app = checkout::server::router::build(options, settings, environment, pages)
        .await
        .expect("the server builds");
    let state = app.state.clone();

    // The due ones: processing payments, made as shoppers make them.
    for _ in 0..DUE {
        let cookie = format!(
            "checkout_order={}",
            state.signer.sign(&new_order_id(), now())
        );
        let request = Request::post("/pay")
            .header("content-type", "application/json")
            .header("cookie", cookie)
            .body(Body::from(
                r#"{"payment_method_id":"pm_card_emulatorProcessing"}"#,
            ))
            .unwrap();
        let answer = app
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("an answer");
        assert!(
            answer.status().is_success(),
            "a processing payment: {}",
            answer.status()
        );
    }
    // The rest: settled orders, written in one statement.
    let t = now();
    let others = ORDERS - DUE as i64;
    let bulk = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {others})
         INSERT INTO orders (id, reference, status, currency, created_at, updated_at) SELECT 'ord_bulk' || i, 'REF-' || i, 'paid', 'eur', {t}, {t} FROM n"
    );
    let db = database(&database_url).await;
    sqlx::raw_sql(&bulk)
        .execute(&db)
        .await
        .expect("the settled orders");
    if database_url.starts_with("postgres") {
        sqlx::raw_sql("ANALYZE orders")
            .execute(&db)
            .await
            .expect("statistics");
    }

    let mut passes = Vec::with_capacity(rounds);
    let mut reads = Vec::with_capacity(rounds);
    for _ in 0..rounds + 5 {
        sqlx::query("UPDATE orders SET next_check_at = $1 WHERE status = 'processing'")
            .bind(now() - 1)
            .execute(&db)
            .await
            .expect("due again");
        let started = Instant::now();
        let due = state.orders.due(now(), 100).await.expect("the due orders");
        reads.push(started.elapsed());
        assert_eq!(due.len(), DUE);
        let started = Instant::now();
        let pass = checkout::server::reconciler::run_pass(&state).await;
        passes.push(started.elapsed());
        assert_eq!(pass.looked_at, DUE, "{pass:?}");
    }
    // The first rounds warm the caches.
    passes.drain(..5);
    reads.drain(..5);
    let backend = if database_url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("| {ORDERS} orders, {DUE} due ({backend}, {rounds} passes) | p50 (ms) | p99 (ms) |\n|---|---|---|");
    println!(
        "| reading the due orders | {:.3} | {:.3} |",
        percentile(&mut reads, 50),
        percentile(&mut reads, 99)
    );
    println!(
        "| a whole pass: {DUE} intents read, found unchanged, pushed back | {:.3} | {:.3} |",
        percentile(&mut passes, 50),
        percentile(&mut passes, 99)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

async fn database(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("the database")
}

fn percentile(samples: &mut [Duration], p: usize) -> f64 {
    samples.sort();
    samples[(samples.len() * p / 100).min(samples.len() - 1)].as_secs_f64() * 1000.0
}
