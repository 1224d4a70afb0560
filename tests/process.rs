//! The server as a process, as a deploy and a crash treat it: SIGTERM while shoppers pay,
//! and `kill -9` mid-payment. The servers are a built binary (`CHECKOUT_SERVER_BIN`:
//! `scripts/test.sh` runs these after its release build, on that build's server), on a
//! database of the test's own, talking to one Stripe emulator run by the test (so it outlives
//! them). Without a binary named, they are skipped (`cargo test -- --ignored` runs them).

use checkout_testing as support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use checkout::domain::OrderStatus;
use checkout::server::session::CookieSigner;
use checkout::server::store::{new_order_id, now, OrderStore};
use stripe_emulator::{FaultKind, FaultRule};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET_KEY: &str = "sk_test_processTests0001";

/// The server binary these tests run: `CHECKOUT_SERVER_BIN`.
fn server_binary() -> String {
    std::env::var("CHECKOUT_SERVER_BIN").expect(
        "CHECKOUT_SERVER_BIN names the server binary to run (scripts/test.sh: the release build's)",
    )
}

/// A Stripe emulator of the test's own, on a free port: it outlives the servers it serves.
async fn emulator() -> stripe_emulator::RunningEmulator {
    stripe_emulator::start(stripe_emulator::Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    })
    .await
    .expect("the emulator starts")
}

struct Server {
    child: Child,
    addr: String,
}

impl Server {
    /// Starts the binary on a free port, against `emulator`, on `database_url`; waits until it
    /// answers `/healthz`.
    async fn start(database_url: &str, emulator: &str, extra: &[(&str, &str)]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let mut command = Command::new(server_binary());
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LEPTOS_OUTPUT_NAME", "checkout")
            .env("LEPTOS_SITE_ROOT", "target/site")
            .env("LEPTOS_SITE_PKG_DIR", "pkg")
            .env("LEPTOS_SITE_ADDR", &addr)
            .env("DATABASE_URL", database_url)
            .env("STRIPE_SECRET_KEY", SECRET_KEY)
            .env("STRIPE_PUBLISHABLE_KEY", "pk_test_processTests0001")
            .env("STRIPE_API_BASE", emulator)
            .env("STRIPE_JS_URL", format!("{emulator}/v3/"))
            .env("RUST_LOG", "warn")
            // Every shopper here is 127.0.0.1: the address limits (tests/shop.rs) are off.
            .env("CHECKOUT_LIMIT_ADDRESS_ATTEMPTS_PER_MINUTE", "0")
            .env("CHECKOUT_LIMIT_ADDRESS_DECLINES_PER_HOUR", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in extra {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("the server binary starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the server exited at start: {status}");
            }
            if let Some((200, _)) = http(&addr, "GET", "/healthz", "", "").await {
                return Server { child, addr };
            }
            assert!(Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange on a fresh connection: the status and body, or `None` when the
/// connection was refused or closed without an answer.
async fn http(
    addr: &str,
    method: &str,
    path: &str,
    cookie: &str,
    body: &str,
) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nCookie: {cookie}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.ok()?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// A shopper's cookie for a new order, signed with the key the servers share (kept in the
/// database).
async fn cookie(store: &OrderStore) -> (String, String) {
    let signer = CookieSigner::new(store.server_secret("cookie_signing_key", 32).await.unwrap());
    let order_id = new_order_id();
    (
        format!("checkout_order={}", signer.sign(&order_id, now())),
        order_id,
    )
}

/// A deploy's SIGTERM while 100 shoppers pay: the server stops accepting, lets each payment
/// in flight finish, gives back every lease, and exits 0; every shopper got an answer.
#[test]
#[ignore = "runs a built server: CHECKOUT_SERVER_BIN"]
fn sigterm_during_100_concurrent_checkouts_answers_every_shopper_leaves_no_lease_and_exits_0() {
    support::run(|| async {
        let (database_url, _dir) = support::test_database().await;
        let emulator = emulator().await;
        let store = OrderStore::connect(&database_url).await.unwrap();
        let mut server = Server::start(
            &database_url,
            emulator.base_url(),
            &[
                ("CHECKOUT_SHUTDOWN_SECONDS", "15"),
                ("STRIPE_TIMEOUT_MS", "5000"),
            ],
        )
        .await;
        // Stripe takes a second and a half on each payment: they are all in flight at once.
        emulator.emulator().faults.add(FaultRule {
            method: Some("POST".into()),
            path: "/v1/payment_intents".into(),
            kind: FaultKind::Slow,
            count: 100,
            delay_ms: 1500,
        });

        let mut shoppers = Vec::new();
        for _ in 0..100 {
            shoppers.push(cookie(&store).await);
        }
        let mut payments = tokio::task::JoinSet::new();
        for (cookie, order_id) in shoppers.clone() {
            let addr = server.addr.clone();
            payments.spawn(async move {
                (
                    order_id,
                    http(
                        &addr,
                        "POST",
                        "/pay",
                        &cookie,
                        r#"{"payment_method_id":"pm_card_visa"}"#,
                    )
                    .await,
                )
            });
        }
        // Every payment is in the server's hands (its order stored, leased), then the deploy.
        let all_in = support::eventually(Duration::from_secs(20), async || {
            store.leases_held().await.unwrap() == 100
        })
        .await;
        assert!(
            all_in,
            "all 100 in flight: {} leases held",
            store.leases_held().await.unwrap()
        );
        server.signal("TERM");
        let started = Instant::now();
        let addr = server.addr.clone();
        let refused = support::eventually(Duration::from_secs(2), async || {
            http(&addr, "GET", "/healthz", "", "").await.is_none()
        })
        .await;
        assert!(refused, "no new connection is accepted once stopping");

        let answers = payments.join_all().await;
        let exit = tokio::task::spawn_blocking(move || server.child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(exit.success(), "the process exits 0: {exit}");
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "within the grace"
        );
        let mut statuses = std::collections::BTreeMap::new();
        for (order_id, answer) in &answers {
            let (status, body) = answer
                .clone()
                .unwrap_or_else(|| panic!("order {order_id} got no answer"));
            assert!(
                [200, 402, 409, 503].contains(&status),
                "an answer a shopper can act on: {status} {body}"
            );
            *statuses.entry(status).or_insert(0) += 1;
        }
        assert_eq!(
            statuses.get(&200),
            Some(&100),
            "each payment in flight finished: {statuses:?}"
        );
        assert_eq!(
            store.leases_held().await.unwrap(),
            0,
            "no lease is left held"
        );
        for (_, order_id) in &shoppers {
            assert_eq!(
                store.get(order_id).await.unwrap().unwrap().status,
                OrderStatus::Paid
            );
        }
    });
}

/// A grace shorter than Stripe takes: the payments still running at its end are answered
/// "try again" (not cut off), their leases go back at once, and the process exits 0; their
/// requests, recorded before they were sent, are settled by the next server by replaying them.
#[test]
#[ignore = "runs a built server: CHECKOUT_SERVER_BIN"]
fn sigterm_with_a_short_grace_answers_try_again_frees_the_orders_and_the_next_server_settles_them()
{
    support::run(|| async {
        let (database_url, _dir) = support::test_database().await;
        let emulator = emulator().await;
        let store = OrderStore::connect(&database_url).await.unwrap();
        let extra = [
            ("CHECKOUT_SHUTDOWN_SECONDS", "1"),
            ("STRIPE_TIMEOUT_MS", "10000"),
            ("CHECKOUT_RECONCILE_SECONDS", "1"),
            ("CHECKOUT_RECONCILE_GRACE_SECONDS", "1"),
        ];
        let mut server = Server::start(&database_url, emulator.base_url(), &extra).await;
        emulator.emulator().faults.add(FaultRule {
            method: Some("POST".into()),
            path: "/v1/payment_intents".into(),
            kind: FaultKind::Slow,
            count: 10,
            delay_ms: 4000,
        });
        let mut payments = tokio::task::JoinSet::new();
        let mut orders = Vec::new();
        for _ in 0..10 {
            let (cookie, order_id) = cookie(&store).await;
            orders.push(order_id.clone());
            let addr = server.addr.clone();
            payments.spawn(async move {
                (
                    order_id,
                    http(
                        &addr,
                        "POST",
                        "/pay",
                        &cookie,
                        r#"{"payment_method_id":"pm_card_visa"}"#,
                    )
                    .await,
                )
            });
        }
        assert!(
            support::eventually(Duration::from_secs(20), async || store
                .leases_held()
                .await
                .unwrap()
                == 10)
            .await
        );
        server.signal("TERM");
        for (order_id, answer) in payments.join_all().await {
            let (status, body) = answer.unwrap_or_else(|| panic!("order {order_id} got no answer"));
            assert_eq!(status, 503, "try again: {body}");
        }
        let exit = tokio::task::spawn_blocking(move || server.child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(exit.success(), "{exit}");
        assert_eq!(store.leases_held().await.unwrap(), 0, "given back at once");

        let _next = Server::start(&database_url, emulator.base_url(), &extra).await;
        let settled = support::eventually(Duration::from_secs(30), async || {
            let mut all = true;
            for id in &orders {
                all &= store.get(id).await.unwrap().unwrap().status == OrderStatus::Paid;
            }
            all
        })
        .await;
        assert!(
            settled,
            "the next server replayed every recorded create: all paid"
        );
        let charges = emulator.emulator().lock_store().charges.len();
        assert_eq!(charges, 10, "once each");
    });
}

/// `kill -9` while a server holds an order mid-payment: its lease runs out within seconds, and
/// another server's reconciler completes the payment, without the shopper, within 20 s.
#[test]
#[ignore = "runs a built server: CHECKOUT_SERVER_BIN"]
fn a_server_killed_mid_payment_leaves_the_order_to_another_that_completes_it_within_20_s() {
    support::run(|| async {
        let (database_url, _dir) = support::test_database().await;
        let emulator = emulator().await;
        let store = OrderStore::connect(&database_url).await.unwrap();
        let extra = [
            ("CHECKOUT_RECONCILE_SECONDS", "1"),
            ("CHECKOUT_RECONCILE_GRACE_SECONDS", "1"),
            ("STRIPE_TIMEOUT_MS", "15000"),
        ];
        // The other server first: it runs the reconciler's passes.
        let other = Server::start(&database_url, emulator.base_url(), &extra).await;
        let mut doomed = Server::start(&database_url, emulator.base_url(), &extra).await;
        emulator.emulator().faults.add(FaultRule {
            method: Some("POST".into()),
            path: "/v1/payment_intents".into(),
            kind: FaultKind::Hang,
            count: 1,
            delay_ms: 0,
        });
        let (cookie, order_id) = cookie(&store).await;
        let addr = doomed.addr.clone();
        let paying = tokio::spawn(async move {
            http(
                &addr,
                "POST",
                "/pay",
                &cookie,
                r#"{"payment_method_id":"pm_card_visa"}"#,
            )
            .await
        });
        let held = support::eventually(Duration::from_secs(10), async || {
            store
                .get(&order_id)
                .await
                .unwrap()
                .is_some_and(|o| o.request.is_some())
        })
        .await;
        assert!(held, "the order is stored, leased, its create sent");
        doomed.child.kill().unwrap();
        doomed.child.wait().unwrap();
        let killed = Instant::now();
        assert_eq!(
            paying.await.unwrap(),
            None,
            "its shopper's answer died with it"
        );

        let paid = support::eventually(Duration::from_secs(20), async || {
            store.get(&order_id).await.unwrap().unwrap().status == OrderStatus::Paid
        })
        .await;
        assert!(
            paid,
            "completed by the other server within 20 s of the kill"
        );
        println!(
            "paid by the other server {:.1} s after the kill",
            killed.elapsed().as_secs_f64()
        );
        let intents: Vec<_> = emulator
            .emulator()
            .lock_store()
            .payment_intents
            .values()
            .filter(|pi| pi.metadata.get("order_id") == Some(&order_id))
            .map(|pi| pi.status.as_str())
            .collect();
        assert_eq!(intents, vec!["succeeded"], "one intent");
        assert_eq!(store.fulfilment_count(&order_id).await.unwrap(), 1);
        drop(other);
    });
}
