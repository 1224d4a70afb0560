//! The checkout page as the server serves it, with its pages kept (`checkout::server::page_cache`)
//! and without: a kept page must be the page rendered afresh. Here beside the page's routes,
//! which the binary builds.

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use checkout::server::page_cache::nonce_in;
use tower::ServiceExt;

/// The shop's settings (the workspace's, as the server reads them from its root).
const SHOP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../Leptos.toml");

/// A server on `database` (real-keys mode: its page names no port of its own), its pages
/// kept or not.
async fn server(database: &str, keep_pages: bool) -> checkout::server::router::Checkout {
    let vars = [
        ("DATABASE_URL", database),
        ("STRIPE_SECRET_KEY", "sk_test_pagecache"),
        ("STRIPE_PUBLISHABLE_KEY", "pk_test_pagecache"),
        ("STRIPE_API_BASE", "http://127.0.0.1:9/"),
        ("CHECKOUT_PAGE_CACHE", if keep_pages { "on" } else { "off" }),
    ];
    let env = |name: &str| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    };
    let build = checkout::server::config::Build {
        embedded_emulator: true,
        release: false,
    };
    let environment = checkout::server::config::Environment::from_env(&env, build).unwrap();
    let settings = checkout::server::config::Settings::from_file(SHOP.as_ref()).unwrap();
    let options = leptos::config::LeptosOptions::builder()
        .output_name("checkout")
        .site_pkg_dir("pkg")
        .build();
    checkout::server::router::build(
        options,
        settings,
        environment,
        Box::new(crate::page::routes),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn nonce(&self) -> String {
        let policy = self.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        nonce_in(policy).unwrap().to_owned()
    }

    /// The page and its policy with this response's nonce written `NONCE`: what two
    /// renders of one view share.
    fn page(&self) -> (String, String) {
        let nonce = self.nonce();
        let policy = self.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .replace(&nonce, "NONCE");
        (self.body.replace(&nonce, "NONCE"), policy)
    }

    /// `checkout_order=…`, from the cookie this response set.
    fn cookie(&self) -> String {
        let set = self.headers[header::SET_COOKIE].to_str().unwrap();
        set.split(';').next().unwrap().to_owned()
    }

    fn reference(&self) -> &str {
        let (_, after) = self.body.split_once("<span class=\"reference\">").unwrap();
        after.split_once('<').unwrap().0
    }
}

async fn send(router: &axum::Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = String::from_utf8(
        axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

async fn page(router: &axum::Router, cookie: Option<&str>, language: &str) -> Answer {
    let mut request = Request::get("/").header(header::ACCEPT_LANGUAGE, language);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let answer = send(router, request.body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kept_page_is_the_page_rendered_afresh_for_each_shopper_language_and_cart() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/checkout.db", dir.path().display());
    let kept = server(&database, true).await;
    let fresh = server(&database, false).await;
    let cache = kept.state.page_cache.as_ref().unwrap();

    // Two first visits: one render, kept; the second visit is served from it.
    let first = page(&kept.router, None, "en").await;
    let second = page(&kept.router, None, "en").await;
    assert_eq!(cache.len(), 1);
    assert_ne!(
        first.reference(),
        second.reference(),
        "each visit shows its own order"
    );
    assert_ne!(
        first.nonce(),
        second.nonce(),
        "each response has its own nonce"
    );
    // Each is the page rendered afresh for its own order, in English and in French.
    for (visit, language) in [(&first, "en"), (&second, "en"), (&second, "fr")] {
        let cookie = visit.cookie();
        let again = page(&kept.router, Some(&cookie), language).await;
        assert_eq!(
            again.page(),
            page(&fresh.router, Some(&cookie), language).await.page(),
            "{language}"
        );
        assert_eq!(again.reference(), visit.reference());
    }
    assert_eq!(cache.len(), 2, "one page per language");

    // The cart changes: the page shows it at once.
    let cookie = second.cookie();
    let change = Request::post("/api/set_quantity")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("product_id=filter-beans&quantity=2"))
        .unwrap();
    assert_eq!(send(&kept.router, change).await.status, StatusCode::OK);
    for _ in 0..2 {
        let changed = page(&kept.router, Some(&cookie), "en").await;
        assert!(changed.body.contains("€38.50"), "the new total");
        assert_eq!(
            changed.page(),
            page(&fresh.router, Some(&cookie), "en").await.page()
        );
    }
    // The first visitor's page is still the default cart's.
    let unchanged = page(&kept.router, Some(&first.cookie()), "en").await;
    assert!(unchanged.body.contains("€14.50") && !unchanged.body.contains("€38.50"));
    assert_eq!(
        unchanged.page(),
        page(&fresh.router, Some(&first.cookie()), "en")
            .await
            .page()
    );
    assert!(fresh.state.page_cache.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_with_saved_cards_is_rendered_each_time_and_kept_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let kept = server(
        &format!("sqlite://{}/checkout.db", dir.path().display()),
        true,
    )
    .await;
    let card = checkout::domain::SavedCard {
        payment_method_id: "pm_pagecache".into(),
        brand: "visa".into(),
        last4: "4242".into(),
        exp_month: 12,
        exp_year: 2034,
    };
    kept.state
        .orders
        .add_shopper("shp_pagecache", "shopper@example.com")
        .await
        .unwrap();
    kept.state
        .orders
        .remember_card("shp_pagecache", &card)
        .await
        .unwrap();
    let shopper = format!(
        "{}={}",
        checkout::server::session::cookies::SHOPPER_COOKIE_NAME,
        kept.state
            .signer
            .sign("shp_pagecache", checkout::server::store::now())
    );
    let with_card = page(&kept.router, Some(&shopper), "en").await;
    assert!(with_card.body.contains("4242"), "the saved card is offered");
    assert!(
        kept.state.page_cache.as_ref().unwrap().is_empty(),
        "a shopper's cards are kept in no page"
    );
    kept.state
        .orders
        .forget_card("shp_pagecache", "pm_pagecache")
        .await
        .unwrap();
    assert!(
        !page(&kept.router, Some(&shopper), "en")
            .await
            .body
            .contains("4242"),
        "a forgotten card is offered no more"
    );
}

/// What the server logs, kept for the test to read.
#[derive(Clone, Default)]
struct Log(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// One thread, so that the log set for it sees the whole request.
#[tokio::test]
async fn a_page_whose_order_cannot_be_read_says_so_once_and_is_kept_nowhere() {
    let log = Log::default();
    let _logging = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_writer({
                let log = log.clone();
                move || log.clone()
            })
            .with_ansi(false)
            .finish(),
    );
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/checkout.db", dir.path().display());
    let kept = server(&database, true).await;
    let cookie = page(&kept.router, None, "en").await.cookie();
    let cache = kept.state.page_cache.as_ref().unwrap();
    assert_eq!(cache.len(), 1);
    // The returning shopper's order is read from a store that has lost its orders table.
    let other = sqlx::SqlitePool::connect(&database).await.unwrap();
    sqlx::query("DROP TABLE orders")
        .execute(&other)
        .await
        .unwrap();
    let broken = page(&kept.router, Some(&cookie), "en").await;
    assert!(
        broken.body.contains("Something went wrong on our side"),
        "{}",
        broken.body
    );
    assert!(!broken.body.contains("checkout-view"), "no order is shown");
    assert_eq!(cache.len(), 1, "an error page is kept nowhere");
    // The page cache's read failed; the render showed that failure rather than read again.
    let logged = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        logged.matches("checkout failed on the server").count(),
        1,
        "{logged}"
    );
}
