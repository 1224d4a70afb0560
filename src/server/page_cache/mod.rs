//! Rendered checkout pages, kept by what they show.
//!
//! Rendering the page is nine tenths of what `GET /` costs (README, "Performance"). A page is
//! a function of its view (the page's data: language, order, products, saved cards), except
//! for two values each response has for itself: the order's reference and the CSP nonce.
//! So a view's page is rendered once, with a placeholder for the reference, and cut at the
//! placeholder and the nonce; every later request with that view gets the pieces joined with
//! its own reference and a fresh nonce. The view is still read for every request (the order
//! from the store, as without the cache), so a page is never older than its order.
//!
//! Leptos's own static routes bake one nonce into every copy of a page, which the CSP forbids;
//! hence this module.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::domain::CheckoutError;
use crate::domain::CheckoutView;
use crate::server::session::Session;
use crate::server::state::AppState;

pub mod kept;
use kept::Page;

/// A page larger than this is a fault of the render, not a page to keep.
const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// The view the page cache read for this request (or why it could not), for the render to
/// show (see `load_checkout`): the order is read once per page.
#[derive(Clone)]
struct PreparedView(Result<CheckoutView, CheckoutError>);

/// The view prepared for the page being rendered, if the page cache prepared one.
pub fn prepared_view() -> Option<Result<CheckoutView, CheckoutError>> {
    let parts = leptos::prelude::use_context::<axum::http::request::Parts>()?;
    parts
        .extensions
        .get::<PreparedView>()
        .map(|prepared| prepared.0.clone())
}

/// The layer on the page's routes (inside the session layer, whose session it reads): answers
/// `GET /` from a kept page, or renders it and keeps it. Anything else passes through.
pub async fn serve(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    // Server functions pass through first, before any session is looked at.
    if request.method() != Method::GET || request.uri().path() != "/" {
        return next.run(request).await;
    }
    let (Some(cache), Some(session)) = (
        state.page_cache.as_ref(),
        request.extensions().get::<Session>().cloned(),
    ) else {
        return next.run(request).await;
    };
    let locale = crate::server::language::negotiate(request.headers(), state.default_locale);
    let mut view = match crate::server::view::checkout_view(&state, &session, locale).await {
        Ok(view) => view,
        // The page renders the error, as it would without the cache, and is not kept.
        Err(err) => {
            request.extensions_mut().insert(PreparedView(Err(err)));
            return next.run(request).await;
        }
    };
    // A saved card is one shopper's: such a page is rendered each time and kept nowhere. And a
    // reference is put into a page unescaped, so it must need no escaping.
    let keepable = view.saved_cards.is_empty()
        && view
            .order
            .reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !keepable {
        request.extensions_mut().insert(PreparedView(Ok(view)));
        return next.run(request).await;
    }
    let reference = std::mem::replace(&mut view.order.reference, cache.placeholder.clone());
    let key = crate::domain::wire::page_data(&view);
    if let Some(page) = cache.get(&key) {
        return page.response(&reference, &leptos::nonce::Nonce::new());
    }
    request.extensions_mut().insert(PreparedView(Ok(view)));
    let (parts, body) = next.run(request).await.into_parts();
    let body = match axum::body::to_bytes(body, MAX_PAGE_BYTES)
        .await
        .map(|b| String::from_utf8(b.to_vec()))
    {
        Ok(Ok(body)) => body,
        _ => {
            tracing::error!("the checkout page's render is too large or not UTF-8");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let nonce = parts
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .and_then(nonce_in)
        .map(str::to_owned);
    let page = Arc::new(Page::cut(
        parts.status,
        &parts.headers,
        &body,
        &cache.placeholder,
        nonce.as_deref(),
    ));
    if worth_keeping(parts.status, &parts.headers, nonce.as_deref()) {
        cache.keep(key, page.clone());
    }
    page.response(&reference, nonce.as_deref().unwrap_or_default())
}

/// Whether a render may answer other requests: a page, whose every nonce is known (so each
/// response can have its own), and that sets no cookie (a cookie is one browser's).
fn worth_keeping(status: StatusCode, headers: &axum::http::HeaderMap, nonce: Option<&str>) -> bool {
    status == StatusCode::OK && nonce.is_some() && !headers.contains_key(header::SET_COOKIE)
}

/// The nonce a Content-Security-Policy allows scripts by.
pub fn nonce_in(policy: &str) -> Option<&str> {
    let (_, after) = policy.split_once("'nonce-")?;
    after
        .split_once('\'')
        .map(|(nonce, _)| nonce)
        .filter(|nonce| !nonce.is_empty())
}

#[cfg(test)]
mod tests {
    use super::{nonce_in, worth_keeping};

    #[test]
    fn only_a_page_with_its_nonce_known_and_no_cookie_is_kept() {
        use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
        let mut cookie = HeaderMap::new();
        cookie.insert(
            header::SET_COOKIE,
            HeaderValue::from_static("lang=fr; Path=/"),
        );
        assert!(worth_keeping(
            StatusCode::OK,
            &HeaderMap::new(),
            Some("n0nce")
        ));
        assert!(
            !worth_keeping(StatusCode::OK, &cookie, Some("n0nce")),
            "a cookie is one browser's"
        );
        assert!(
            !worth_keeping(StatusCode::OK, &HeaderMap::new(), None),
            "a nonce that cannot be replaced"
        );
        assert!(!worth_keeping(
            StatusCode::INTERNAL_SERVER_ERROR,
            &HeaderMap::new(),
            Some("n0nce")
        ));
    }

    #[test]
    fn the_nonce_is_read_from_the_policy_s_script_source() {
        assert_eq!(
            nonce_in("default-src 'self'; script-src 'self' 'nonce-YGWG_1g-x' 'wasm-unsafe-eval'"),
            Some("YGWG_1g-x")
        );
        assert_eq!(nonce_in("default-src 'none'"), None);
        assert_eq!(nonce_in("script-src 'nonce-'"), None);
    }
}
