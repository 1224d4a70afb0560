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

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app_state::AppState;
use crate::cart::CheckoutView;
use crate::checkout::CheckoutError;
use crate::session::Session;

/// Pages kept at most; full, the cache starts over. A page is about 6 KB, and every first
/// visit in one language shares one.
const CAPACITY: usize = 256;

/// A page larger than this is a fault of the render, not a page to keep.
const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// The pages, by the JSON of the view they show (with the placeholder for the reference).
pub struct PageCache {
    pages: RwLock<HashMap<String, Arc<Page>>>,
    /// Stands in for the order's reference in a kept page: random, so no page holds it by
    /// chance, and letters and digits only, so HTML and JSON write it unchanged.
    placeholder: String,
}

impl PageCache {
    pub fn new() -> PageCache {
        PageCache { pages: RwLock::default(), placeholder: format!("ref{}", crate::orders::random_key()) }
    }

    /// How many pages are kept.
    pub fn len(&self) -> usize {
        self.pages.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get(&self, key: &str) -> Option<Arc<Page>> {
        self.pages.read().unwrap_or_else(|p| p.into_inner()).get(key).cloned()
    }

    fn keep(&self, key: String, page: Arc<Page>) {
        let mut pages = self.pages.write().unwrap_or_else(|p| p.into_inner());
        if pages.len() >= CAPACITY {
            pages.clear();
        }
        pages.insert(key, page);
    }
}

impl Default for PageCache {
    fn default() -> Self {
        PageCache::new()
    }
}

/// The view the page cache read for this request (or why it could not), for the render to
/// show (see `load_checkout`): the order is read once per page.
#[derive(Clone)]
struct PreparedView(Result<CheckoutView, CheckoutError>);

/// The view prepared for the page being rendered, if the page cache prepared one.
pub fn prepared_view() -> Option<Result<CheckoutView, CheckoutError>> {
    let parts = leptos::prelude::use_context::<axum::http::request::Parts>()?;
    parts.extensions.get::<PreparedView>().map(|prepared| prepared.0.clone())
}

/// The layer on the page's routes (inside the session layer, whose session it reads): answers
/// `GET /` from a kept page, or renders it and keeps it. Anything else passes through.
pub async fn serve(State(state): State<Arc<AppState>>, mut request: Request, next: Next) -> Response {
    // Server functions pass through first, before any session is looked at.
    if request.method() != Method::GET || request.uri().path() != "/" {
        return next.run(request).await;
    }
    let (Some(cache), Some(session)) = (state.page_cache.as_ref(), request.extensions().get::<Session>().cloned()) else {
        return next.run(request).await;
    };
    let locale = crate::language::negotiate(request.headers(), state.default_locale);
    let mut view = match crate::cart::checkout_view(&state, &session, locale).await {
        Ok(view) => view,
        // The page renders the error, as it would without the cache, and is not kept.
        Err(err) => {
            request.extensions_mut().insert(PreparedView(Err(err)));
            return next.run(request).await;
        }
    };
    // A saved card is one shopper's: such a page is rendered each time and kept nowhere. And a
    // reference is put into a page unescaped, so it must need no escaping.
    let keepable = view.saved_cards.is_empty() && view.order.reference.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !keepable {
        request.extensions_mut().insert(PreparedView(Ok(view)));
        return next.run(request).await;
    }
    let reference = std::mem::replace(&mut view.order.reference, cache.placeholder.clone());
    let key = crate::wire::page_data(&view);
    if let Some(page) = cache.get(&key) {
        return page.response(&reference, &leptos::nonce::Nonce::new());
    }
    request.extensions_mut().insert(PreparedView(Ok(view)));
    let (parts, body) = next.run(request).await.into_parts();
    let body = match axum::body::to_bytes(body, MAX_PAGE_BYTES).await.map(|b| String::from_utf8(b.to_vec())) {
        Ok(Ok(body)) => body,
        _ => {
            tracing::error!("the checkout page's render is too large or not UTF-8");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let nonce = parts.headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).and_then(nonce_in).map(str::to_owned);
    let page = Arc::new(Page::cut(parts.status, &parts.headers, &body, &cache.placeholder, nonce.as_deref()));
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
    after.split_once('\'').map(|(nonce, _)| nonce).filter(|nonce| !nonce.is_empty())
}

/// A rendered page, cut where each response puts its own values.
struct Page {
    status: StatusCode,
    headers: Vec<(HeaderName, Header)>,
    body: Text,
}

enum Header {
    Fixed(HeaderValue),
    /// A header that names the nonce (the Content-Security-Policy).
    WithNonce(Text),
}

impl Page {
    fn cut(status: StatusCode, headers: &axum::http::HeaderMap, body: &str, placeholder: &str, nonce: Option<&str>) -> Page {
        let mut marks = vec![(placeholder, Hole::Reference)];
        marks.extend(nonce.map(|n| (n, Hole::Nonce)));
        let headers = headers
            .iter()
            // The length is the filled body's, set again by the response.
            .filter(|(name, _)| **name != header::CONTENT_LENGTH && **name != header::TRANSFER_ENCODING)
            .map(|(name, value)| {
                let header = match (value.to_str(), nonce) {
                    (Ok(text), Some(nonce)) if text.contains(nonce) => Header::WithNonce(Text::cut(text, &marks)),
                    _ => Header::Fixed(value.clone()),
                };
                (name.clone(), header)
            })
            .collect();
        Page { status, headers, body: Text::cut(body, &marks) }
    }

    fn response(&self, reference: &str, nonce: &str) -> Response {
        let mut response = Response::new(axum::body::Body::from(self.body.fill(reference, nonce)));
        *response.status_mut() = self.status;
        for (name, header) in &self.headers {
            let value = match header {
                Header::Fixed(value) => value.clone(),
                Header::WithNonce(text) => match HeaderValue::from_str(&text.fill(reference, nonce)) {
                    Ok(value) => value,
                    Err(_) => continue,
                },
            };
            response.headers_mut().append(name.clone(), value);
        }
        response
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hole {
    Reference,
    Nonce,
}

/// Text with holes: `pieces[0] hole[0] pieces[1] … hole[n-1] pieces[n]`.
#[derive(Debug, PartialEq, Eq)]
struct Text {
    pieces: Vec<String>,
    holes: Vec<Hole>,
}

impl Text {
    /// `text` cut at every occurrence of each mark, the mark becoming its hole.
    fn cut(text: &str, marks: &[(&str, Hole)]) -> Text {
        let (mut pieces, mut holes) = (Vec::new(), Vec::new());
        let mut rest = text;
        loop {
            let next = marks.iter().filter(|(mark, _)| !mark.is_empty()).filter_map(|(mark, hole)| rest.find(mark).map(|at| (at, mark.len(), *hole))).min_by_key(|(at, _, _)| *at);
            match next {
                Some((at, len, hole)) => {
                    pieces.push(rest[..at].to_owned());
                    holes.push(hole);
                    rest = &rest[at + len..];
                }
                None => {
                    pieces.push(rest.to_owned());
                    return Text { pieces, holes };
                }
            }
        }
    }

    fn fill(&self, reference: &str, nonce: &str) -> String {
        let holes_len: usize = self.holes.iter().map(|h| if *h == Hole::Reference { reference.len() } else { nonce.len() }).sum();
        let mut text = String::with_capacity(self.pieces.iter().map(String::len).sum::<usize>() + holes_len);
        for (piece, hole) in self.pieces.iter().zip(self.holes.iter().map(Some).chain([None])) {
            text.push_str(piece);
            match hole {
                Some(Hole::Reference) => text.push_str(reference),
                Some(Hole::Nonce) => text.push_str(nonce),
                None => {}
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::{nonce_in, worth_keeping, Hole, Text};

    #[test]
    fn a_page_is_cut_at_every_reference_and_nonce_and_filled_with_this_response_s() {
        let page = r#"<script nonce="N0NCE">x</script><p>REF</p>{"reference":"REF"}<script nonce="N0NCE"></script>"#;
        let text = Text::cut(page, &[("REF", Hole::Reference), ("N0NCE", Hole::Nonce)]);
        assert_eq!(text.holes, [Hole::Nonce, Hole::Reference, Hole::Reference, Hole::Nonce]);
        assert_eq!(
            text.fill("K7Q2-9XWD", "abc_-123"),
            r#"<script nonce="abc_-123">x</script><p>K7Q2-9XWD</p>{"reference":"K7Q2-9XWD"}<script nonce="abc_-123"></script>"#
        );
        // Nothing to cut: the text as it was.
        assert_eq!(Text::cut("plain", &[("REF", Hole::Reference)]).fill("A", "B"), "plain");
        assert_eq!(Text::cut("REF", &[("REF", Hole::Reference)]).fill("A", "B"), "A");
    }

    #[test]
    fn only_a_page_with_its_nonce_known_and_no_cookie_is_kept() {
        use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
        let mut cookie = HeaderMap::new();
        cookie.insert(header::SET_COOKIE, HeaderValue::from_static("lang=fr; Path=/"));
        assert!(worth_keeping(StatusCode::OK, &HeaderMap::new(), Some("n0nce")));
        assert!(!worth_keeping(StatusCode::OK, &cookie, Some("n0nce")), "a cookie is one browser's");
        assert!(!worth_keeping(StatusCode::OK, &HeaderMap::new(), None), "a nonce that cannot be replaced");
        assert!(!worth_keeping(StatusCode::INTERNAL_SERVER_ERROR, &HeaderMap::new(), Some("n0nce")));
    }

    #[test]
    fn the_nonce_is_read_from_the_policy_s_script_source() {
        assert_eq!(nonce_in("default-src 'self'; script-src 'self' 'nonce-YGWG_1g-x' 'wasm-unsafe-eval'"), Some("YGWG_1g-x"));
        assert_eq!(nonce_in("default-src 'none'"), None);
        assert_eq!(nonce_in("script-src 'nonce-'"), None);
    }
}
