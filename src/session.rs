//! The browser's order: a signed, HttpOnly, SameSite=Lax cookie holding the order id and
//! the time it was issued (refused after 30 days, whatever the browser keeps). A browser
//! that saved a card also holds a long-lived signed shopper cookie: its saved cards are
//! its own.
//!
//! A glance stores nothing: a page visit without a usable order gets a fresh id in its
//! cookie and the default cart; the order is stored by the first request that changes or
//! pays it ([`Session::ensure_order`], [`Session::lease_order`]). Concurrent first requests
//! of one browser carry the same id, so they store one order.

use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::app_state::AppState;

pub const COOKIE_NAME: &str = "checkout_order";
/// Behind https: a name browsers accept only from a secure page, for the whole site.
pub const SECURE_COOKIE_NAME: &str = "__Host-checkout_order";
/// A cart is kept for 30 days.
const MAX_AGE_SECONDS: i64 = 30 * 24 * 3600;
pub const SHOPPER_COOKIE_NAME: &str = "checkout_shopper";
pub const SECURE_SHOPPER_COOKIE_NAME: &str = "__Host-checkout_shopper";
/// Saved cards stay with the browser for 400 days (the longest a browser keeps a cookie).
const SHOPPER_MAX_AGE_SECONDS: i64 = 400 * 24 * 3600;

fn shopper_cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_SHOPPER_COOKIE_NAME } else { SHOPPER_COOKIE_NAME }
}

pub fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE_NAME } else { COOKIE_NAME }
}

/// Signs and checks cookie values with a server-side key.
#[derive(Clone)]
pub struct CookieSigner {
    key: Vec<u8>,
}

impl CookieSigner {
    pub fn new(key: Vec<u8>) -> CookieSigner {
        CookieSigner { key }
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length")
    }

    /// `{order_id}.{issued_at}.{signature}`, the signature covering both.
    pub fn sign(&self, order_id: &str, issued_at: i64) -> String {
        let payload = format!("{order_id}.{issued_at}");
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// The order id of a cookie value whose signature holds (checked in constant time) and
    /// that was issued less than 30 days before `now`.
    pub fn verify(&self, value: &str, now: i64) -> Option<String> {
        self.verify_within(value, now, MAX_AGE_SECONDS)
    }

    /// The id of a signed value issued less than `max_age` seconds before `now`.
    fn verify_within(&self, value: &str, now: i64, max_age: i64) -> Option<String> {
        let (payload, signature) = value.rsplit_once('.')?;
        let (order_id, issued_at) = payload.split_once('.')?;
        if order_id.is_empty() || order_id.len() > 64 || !order_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return None;
        }
        let issued_at: i64 = issued_at.parse().ok().filter(|_| issued_at.bytes().all(|b| b.is_ascii_digit()))?;
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature).ok()?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).ok()?;
        // A minute of slack for clocks of several servers.
        (issued_at <= now + 60 && now - issued_at < max_age).then(|| order_id.to_owned())
    }
}

/// The browser's order id: from a valid cookie, or new (its cookie then goes out with the
/// response).
#[derive(Debug, Clone)]
pub struct Session {
    order_id: Arc<Mutex<Option<String>>>,
    new_cookie: Arc<Mutex<Option<HeaderValue>>>,
    /// The request carried an order cookie that is forged, from another key, or expired:
    /// it is refused rather than charged to a fresh cart behind the shopper's back.
    rejected_cookie: bool,
    /// The browser's shopper id (it saved a card), and its cookie when new.
    shopper_id: Arc<Mutex<Option<String>>>,
    new_shopper_cookie: Arc<Mutex<Option<HeaderValue>>>,
}

impl Session {
    fn new(order_id: Option<String>, rejected_cookie: bool, shopper_id: Option<String>) -> Session {
        Session {
            order_id: Arc::new(Mutex::new(order_id)),
            new_cookie: Arc::default(),
            rejected_cookie,
            shopper_id: Arc::new(Mutex::new(shopper_id)),
            new_shopper_cookie: Arc::default(),
        }
    }

    /// The browser's shopper id, if it ever saved a card (or began to).
    pub fn shopper_id(&self) -> Option<String> {
        self.shopper_id.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The browser's shopper id, giving it one (and its long-lived cookie) if it has none.
    pub fn ensure_shopper(&self, state: &AppState) -> String {
        let mut current = self.shopper_id.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(id) = current.as_ref() {
            return id.clone();
        }
        let id = format!("shp_{}", crate::orders::random_key());
        let value = state.signer.sign(&id, crate::orders::now());
        let name = shopper_cookie_name(state.secure_cookies);
        let secure = if state.secure_cookies { "; Secure" } else { "" };
        let cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SHOPPER_MAX_AGE_SECONDS}{secure}");
        *self.new_shopper_cookie.lock().unwrap_or_else(|p| p.into_inner()) = Some(HeaderValue::from_str(&cookie).expect("cookie value is ASCII"));
        *current = Some(id.clone());
        id
    }

    /// The order id this browser holds, if any (its order may not be stored yet).
    pub fn order_id(&self) -> Option<String> {
        self.order_id.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether this request named the browser's order (it had none, or a finished one): that
    /// order is stored nowhere yet, so there is nothing to read.
    pub fn order_named_now(&self) -> bool {
        self.new_cookie.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// The browser's order id, giving it a new one (and its cookie) if it has none.
    pub fn id_or_new(&self, state: &AppState) -> String {
        match self.order_id() {
            Some(id) => id,
            None => self.start_new(state),
        }
    }

    /// A new order id for this browser, replacing the one it had; its cookie goes out with
    /// the response.
    pub fn start_new(&self, state: &AppState) -> String {
        let id = crate::orders::new_order_id();
        *self.new_cookie.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(set_cookie_header(&state.signer, &id, crate::orders::now(), state.secure_cookies));
        *self.order_id.lock().unwrap_or_else(|p| p.into_inner()) = Some(id.clone());
        id
    }

    /// The browser's order, stored now if this is the first request that changes it.
    pub async fn ensure_order(&self, state: &AppState) -> Result<String, crate::checkout::CheckoutError> {
        let id = self.order_to_change(state)?;
        state.orders.open_order(&id, &state.catalogue).await.map_err(crate::payments::context::internal)?;
        Ok(id)
    }

    /// The lease on the browser's order, stored now (already leased, with `first_request`
    /// recorded: see [`crate::orders::OrderStore::open_leased`]) if this is the first request
    /// that changes it, with the order then stored; `PaymentInProgress` while another holder
    /// has it.
    pub async fn lease_order(
        &self,
        state: &AppState,
        first_request: impl FnOnce(&crate::orders::Order) -> Option<crate::orders::SentRequest>,
    ) -> Result<(crate::orders::Lease, Option<crate::orders::Order>), crate::checkout::CheckoutError> {
        let id = self.order_to_change(state)?;
        let leased = state.orders.open_leased(&id, &state.catalogue, state.lease, first_request).await?;
        leased.ok_or(crate::checkout::CheckoutError::PaymentInProgress)
    }

    /// The order a change applies to: a new one for a browser without any, none for a browser
    /// whose cookie was refused (it is told its session expired, not given an empty cart).
    fn order_to_change(&self, state: &AppState) -> Result<String, crate::checkout::CheckoutError> {
        if self.rejected_cookie && self.order_id().is_none() {
            return Err(crate::checkout::CheckoutError::SessionExpired);
        }
        Ok(self.id_or_new(state))
    }
}

/// The value of the cookie `name` the request carries.
pub fn cookie_value<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

pub fn set_cookie_header(signer: &CookieSigner, order_id: &str, issued_at: i64, secure: bool) -> HeaderValue {
    let name = cookie_name(secure);
    let secure = if secure { "; Secure" } else { "" };
    let value = format!("{name}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={MAX_AGE_SECONDS}{secure}", signer.sign(order_id, issued_at));
    HeaderValue::from_str(&value).expect("cookie value is ASCII")
}

/// Resolves the session of the page, `POST /pay` and the server functions (the routes this
/// layer is put on) from the cookie alone: no database I/O here. A page visit without a
/// usable cookie gets a new id; the page itself starts a new order when the browser's order
/// is finished (`load_checkout`).
pub async fn session_layer(State(state): State<Arc<AppState>>, mut request: Request, next: Next) -> Response {
    let now = crate::orders::now();
    let presented = cookie_value(request.headers(), cookie_name(state.secure_cookies));
    // Each cookie holds only its own kind of id, so one cannot stand in for the other.
    let claimed = presented.and_then(|v| state.signer.verify(v, now)).filter(|id| id.starts_with("ord_"));
    let rejected_cookie = presented.is_some() && claimed.is_none();
    let shopper = cookie_value(request.headers(), shopper_cookie_name(state.secure_cookies))
        .and_then(|v| state.signer.verify_within(v, now, SHOPPER_MAX_AGE_SECONDS))
        .filter(|id| id.starts_with("shp_"));
    let session = Session::new(claimed, rejected_cookie, shopper);
    // The layer guards the page (GET) and what changes or pays the order (POST).
    if request.method() == Method::GET {
        session.id_or_new(&state);
    }
    request.extensions_mut().insert(session.clone());
    let mut response = next.run(request).await;
    for new in [&session.new_cookie, &session.new_shopper_cookie] {
        if let Some(cookie) = new.lock().unwrap_or_else(|p| p.into_inner()).take() {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::{set_cookie_header, CookieSigner, MAX_AGE_SECONDS};

    const NOW: i64 = 1_800_000_000;

    fn signer() -> CookieSigner {
        CookieSigner::new(b"0123456789abcdef0123456789abcdef".to_vec())
    }

    #[test]
    fn the_cookie_is_http_only_lax_and_secure_only_behind_https() {
        let plain = set_cookie_header(&signer(), "ord_abc", NOW, false);
        let plain = plain.to_str().unwrap();
        assert!(plain.starts_with("checkout_order="), "{plain}");
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Lax") && !plain.contains("Secure"));
        let secure = set_cookie_header(&signer(), "ord_abc", NOW, true);
        let secure = secure.to_str().unwrap();
        assert!(secure.starts_with("__Host-checkout_order=") && secure.contains("; Path=/;") && !secure.contains("Domain"), "{secure}");
        assert!(secure.ends_with("; Secure"));
    }

    /// A small deterministic generator (xorshift), so the property runs are repeatable.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn string(&mut self) -> String {
            const PIECES: &[&str] = &["ord_", ".", "=", "a", "Z", "9", "_", "-", "é", "\u{0}", "\n", " ", "ord_abc.", "%", "€", "\u{202e}"];
            let len = (self.next() % 40) as usize;
            (0..len).map(|_| PIECES[(self.next() % PIECES.len() as u64) as usize]).collect()
        }
    }

    #[test]
    fn no_forged_cookie_value_verifies() {
        let signer = signer();
        let mut rng = Rng(0x5eed_1234_abcd_ef01);
        for _ in 0..20_000 {
            let forged = rng.string();
            assert_eq!(signer.verify(&forged, NOW), None, "{forged:?}");
        }
    }

    #[test]
    fn a_signed_cookie_verifies_and_a_tampered_one_does_not() {
        let signer = CookieSigner::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let value = signer.sign("ord_abc", NOW);
        assert_eq!(signer.verify(&value, NOW).as_deref(), Some("ord_abc"));
        let (_, sig) = value.rsplit_once('.').unwrap();
        assert_eq!(signer.verify(&format!("ord_abd.{NOW}.{sig}"), NOW), None, "another order id");
        assert_eq!(signer.verify(&format!("ord_abc.{}.{sig}", NOW + 1), NOW), None, "another issue time");
        assert_eq!(signer.verify(&value.replace('.', ""), NOW), None);
        assert_eq!(signer.verify("ord_abc", NOW), None);
        assert_eq!(signer.verify("", NOW), None);
        let other = CookieSigner::new(b"another key, another server.....".to_vec());
        assert_eq!(other.verify(&value, NOW), None, "a cookie from another key");
    }

    #[test]
    fn a_cookie_expires_on_the_server_after_thirty_days() {
        let signer = signer();
        let value = signer.sign("ord_abc", NOW);
        assert_eq!(signer.verify(&value, NOW + MAX_AGE_SECONDS - 1).as_deref(), Some("ord_abc"));
        assert_eq!(signer.verify(&value, NOW + MAX_AGE_SECONDS), None, "expired, whatever the browser kept");
        assert_eq!(signer.verify(&value, NOW - 3600), None, "issued in the future");
    }
}
