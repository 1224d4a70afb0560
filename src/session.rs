//! The browser's order: a signed, HttpOnly, SameSite=Lax cookie holding the order id.
//! A page visit without a usable order starts a new one; API calls never create orders,
//! so a request without the cookie is refused rather than charged to a fresh cart.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::app_state::AppState;

pub const COOKIE_NAME: &str = "checkout_order";
/// A cart is kept for 30 days.
const MAX_AGE_SECONDS: u64 = 30 * 24 * 3600;

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

    /// `{order_id}.{signature}`.
    pub fn sign(&self, order_id: &str) -> String {
        let mut mac = self.mac();
        mac.update(order_id.as_bytes());
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{order_id}.{signature}")
    }

    /// The order id of a cookie value whose signature holds (checked in constant time).
    pub fn verify(&self, value: &str) -> Option<String> {
        let (order_id, signature) = value.rsplit_once('.')?;
        if order_id.is_empty() || order_id.len() > 64 || !order_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return None;
        }
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature).ok()?;
        let mut mac = self.mac();
        mac.update(order_id.as_bytes());
        mac.verify_slice(&signature).ok()?;
        Some(order_id.to_owned())
    }
}

/// The session's order id, if the request carried a valid cookie (or the page made one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub order_id: Option<String>,
}

fn cookie_value<'a>(request: &'a Request) -> Option<&'a str> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value)
}

pub fn set_cookie_header(signer: &CookieSigner, order_id: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value = format!("{COOKIE_NAME}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={MAX_AGE_SECONDS}{secure}", signer.sign(order_id));
    HeaderValue::from_str(&value).expect("cookie value is ASCII")
}

/// Resolves the session for every request; the checkout page starts a new order when the
/// browser has none, or when its order is already paid ("the next visit starts a new order").
pub async fn session_layer(State(state): State<Arc<AppState>>, mut request: Request, next: Next) -> Response {
    // Static files (the WASM, CSS) need no order: spare them the database.
    let path = request.uri().path();
    if !(path == "/" || path == "/pay" || path.starts_with("/api/")) {
        return next.run(request).await;
    }
    let claimed = cookie_value(&request).and_then(|v| state.signer.verify(v));
    let mut order_id = None;
    if let Some(id) = claimed {
        match state.orders.get(&id).await {
            Ok(Some(order)) => order_id = Some((order.id, order.status.is_payable())),
            Ok(None) => {}
            Err(err) => tracing::error!(%err, "reading the session's order failed"),
        }
    }
    let is_page = request.method() == Method::GET && request.uri().path() == "/";
    let mut new_cookie = None;
    let current = match order_id {
        Some((id, payable)) if payable || !is_page => Some(id),
        _ if is_page => match state.orders.create_order(&state.catalogue).await {
            Ok(order) => {
                new_cookie = Some(set_cookie_header(&state.signer, &order.id, state.secure_cookies));
                Some(order.id)
            }
            Err(err) => {
                tracing::error!(%err, "creating an order failed");
                None
            }
        },
        _ => None,
    };
    request.extensions_mut().insert(Session { order_id: current });
    let mut response = next.run(request).await;
    if let Some(cookie) = new_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::{set_cookie_header, CookieSigner};

    fn signer() -> CookieSigner {
        CookieSigner::new(b"0123456789abcdef0123456789abcdef".to_vec())
    }

    #[test]
    fn the_cookie_is_http_only_lax_and_secure_only_behind_https() {
        let plain = set_cookie_header(&signer(), "ord_abc", false);
        let plain = plain.to_str().unwrap();
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Lax") && !plain.contains("Secure"));
        let secure = set_cookie_header(&signer(), "ord_abc", true);
        assert!(secure.to_str().unwrap().ends_with("; Secure"));
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
            assert_eq!(signer.verify(&forged), None, "{forged:?}");
        }
    }

    #[test]
    fn a_signed_cookie_verifies_and_a_tampered_one_does_not() {
        let signer = CookieSigner::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let value = signer.sign("ord_abc");
        assert_eq!(signer.verify(&value).as_deref(), Some("ord_abc"));
        let (_, sig) = value.rsplit_once('.').unwrap();
        assert_eq!(signer.verify(&format!("ord_abd.{sig}")), None, "another order id");
        assert_eq!(signer.verify(&value.replace('.', "")), None);
        assert_eq!(signer.verify("ord_abc"), None);
        assert_eq!(signer.verify(""), None);
        let other = CookieSigner::new(b"another key, another server.....".to_vec());
        assert_eq!(other.verify(&value), None, "a cookie from another key");
    }
}
