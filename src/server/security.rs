//! What keeps the page and its endpoints to themselves: a Content-Security-Policy that
//! allows only this site and the configured Stripe origins, the usual hardening headers,
//! and a same-origin check on every request that can move money.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::domain::CheckoutError;
use crate::domain::StripeJsConfig;
use crate::server::state::AppState;

/// `scheme://host[:port]` of a URL, as CSP and `Origin` spell an origin.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}"))
}

/// The page's policy: scripts from this site (the hydration script by its nonce, the WASM),
/// Stripe.js and its frames from the configured Stripe origins, calls to this site and Stripe.
pub fn content_security_policy(
    nonce: &str,
    stripe: &StripeJsConfig,
    api_base: &str,
    dev_reload: Option<&str>,
) -> String {
    let js = origin_of(&stripe.js_url).unwrap_or_default();
    let api = origin_of(api_base).unwrap_or_default();
    // Real Stripe runs 3-D Secure challenges in frames from hooks.stripe.com.
    let frames = if js == "https://js.stripe.com" {
        format!("{js} https://hooks.stripe.com")
    } else {
        js.clone()
    };
    let reload = dev_reload.map(|r| format!(" {r}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval' {js}; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self' {api}{reload}; frame-src {frames}; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Hardening headers on every response; a restrictive policy where the page set none.
pub fn with_security_headers(router: axum::Router) -> axum::Router {
    let always =
        |name, value| SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value));
    router
        .layer(always(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(always(
            header::REFERRER_POLICY,
            "strict-origin-when-cross-origin",
        ))
        .layer(always(header::X_FRAME_OPTIONS, "DENY"))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
}

/// Whether a request comes from a page of this site (or from no page at all, like curl).
/// Browsers send `Origin` on every cross-site POST and `Sec-Fetch-Site` on every fetch.
pub fn same_origin(headers: &HeaderMap, public_url: Option<&str>) -> bool {
    let value = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return false;
        }
    }
    match value(header::ORIGIN) {
        None => true,
        Some(origin) => {
            let expected = match public_url.and_then(origin_of) {
                Some(public) => Some(public),
                None => value(header::HOST).map(|host| format!("http://{host}")),
            };
            let origin = origin.trim_end_matches('/');
            expected.is_some_and(|e| e == origin || e.replacen("http://", "https://", 1) == origin)
        }
    }
}

/// Whether a POST (what changes orders, pays, or acts in the back office) comes from another site.
pub fn cross_site_post(state: &AppState, request: &Request) -> bool {
    let refused = request.method() == Method::POST
        && !same_origin(request.headers(), state.public_url.as_deref());
    if refused {
        tracing::warn!(path = request.uri().path(), "refused a cross-site request");
    }
    refused
}

/// Refuses cross-site posts to `POST /pay`, answering the guide's `{"error": …}`.
pub async fn same_origin_pay(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if cross_site_post(&state, &request) {
        return crate::server::rest::error(
            CheckoutError::CrossSite,
            crate::server::language::negotiate(request.headers(), state.default_locale),
        );
    }
    next.run(request).await
}

/// Refuses cross-site posts to a plain form route (the language switch).
pub async fn same_origin_plain(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if cross_site_post(&state, &request) {
        let locale = crate::server::language::negotiate(request.headers(), state.default_locale);
        return (
            StatusCode::FORBIDDEN,
            CheckoutError::CrossSite.message(locale),
        )
            .into_response();
    }
    next.run(request).await
}

/// Refuses cross-site posts to the server functions, answering the JSON-encoded
/// `CheckoutError` they read their errors back as.
pub async fn same_origin_server_fns(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if cross_site_post(&state, &request) {
        let body = serde_json::to_string(&CheckoutError::CrossSite).unwrap_or_default();
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    }
    next.run(request).await
}

/// `Retry-After` for an error that says when to try again.
pub fn retry_after(err: &CheckoutError) -> Option<HeaderValue> {
    match err {
        CheckoutError::TooManyAttempts(seconds) => Some(HeaderValue::from(*seconds)),
        _ => None,
    }
}

/// Server functions answer every error with 500; give a `CheckoutError` its own status
/// (a malformed argument is the caller's 400, a decline 402, not the server's 500). The one
/// place the status is set, for errors of the function and of its arguments alike.
pub async fn server_fn_error_status(request: Request, next: Next) -> Response {
    // Server functions are the POST routes beside the page.
    let is_server_fn = request.method() == Method::POST;
    let response = next.run(request).await;
    if !is_server_fn || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    if let Ok(err) = serde_json::from_slice::<CheckoutError>(&bytes) {
        parts.status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Some(retry_after) = retry_after(&err) {
            parts.headers.insert(header::RETRY_AFTER, retry_after);
        }
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Whether `offered` is the `expected` token (the merchant's, the metrics'), in time independent of where they differ: both
/// are MACed under a fresh key and the MACs compared with `verify_slice` (constant time).
pub fn token_matches(expected: &str, offered: &str) -> bool {
    let key: [u8; 32] = rand::rng().random();
    let mac = |text: &str| {
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes keys of any length");
        mac.update(text.as_bytes());
        mac
    };
    let expected = mac(expected).finalize().into_bytes();
    mac(offered).verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_matches() {
        let token = "a-long-enough-merchant-secret";
        assert!(token_matches(token, token));
        for wrong in [
            "",
            "a",
            "a-long-enough-merchant-secreT",
            "a-long-enough-merchant-secret ",
            "a-long-enough-merchant-secre",
        ] {
            assert!(!token_matches(token, wrong), "{wrong:?}");
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn same_origin_requests_pass_and_cross_site_ones_do_not() {
        let host = ("host", "127.0.0.1:3000");
        assert!(same_origin(
            &headers(&[host, ("origin", "http://127.0.0.1:3000")]),
            None
        ));
        assert!(
            same_origin(&headers(&[host]), None),
            "no Origin: not a browser page"
        );
        assert!(!same_origin(
            &headers(&[host, ("origin", "https://evil.example")]),
            None
        ));
        assert!(!same_origin(
            &headers(&[host, ("origin", "http://127.0.0.1:3000.evil.example")]),
            None
        ));
        assert!(!same_origin(
            &headers(&[host, ("sec-fetch-site", "cross-site")]),
            None
        ));
        assert!(same_origin(
            &headers(&[host, ("origin", "https://shop.example")]),
            Some("https://shop.example/")
        ));
        assert!(!same_origin(
            &headers(&[host, ("origin", "http://127.0.0.1:3000")]),
            Some("https://shop.example")
        ));
    }

    #[test]
    fn the_policy_names_only_this_site_and_the_stripe_origins() {
        let page = StripeJsConfig {
            publishable_key: "pk_test_x".into(),
            js_url: "https://js.stripe.com/v3/".into(),
        };
        let csp = content_security_policy("abc", &page, "https://api.stripe.com/", None);
        assert!(
            csp.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval' https://js.stripe.com;")
        );
        assert!(csp.contains("frame-src https://js.stripe.com https://hooks.stripe.com;"));
        assert!(csp.contains("connect-src 'self' https://api.stripe.com;"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains('*'));
    }

    #[test]
    fn origins_are_cut_from_urls() {
        assert_eq!(
            origin_of("http://127.0.0.1:12111/v3/").as_deref(),
            Some("http://127.0.0.1:12111")
        );
        assert_eq!(
            origin_of("https://api.stripe.com/").as_deref(),
            Some("https://api.stripe.com")
        );
        assert_eq!(origin_of("nonsense"), None);
    }
}
