//! Who may use the back office: whoever knows `MERCHANT_TOKEN` (compared in constant time)
//! gets a session of its own — a random token in an HttpOnly, SameSite=Strict cookie, kept
//! server-side by its hash so logging out ends it everywhere.

use axum::http::{HeaderMap, HeaderValue};
use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::server::state::AppState;
use crate::server::store::now;

pub const COOKIE_NAME: &str = "merchant_session";
/// Behind https: a name browsers accept only from a secure page, for the whole site.
pub const SECURE_COOKIE_NAME: &str = "__Host-merchant_session";
/// A back-office session lasts a working day.
pub const SESSION_SECONDS: i64 = 12 * 3600;

fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_COOKIE_NAME
    } else {
        COOKIE_NAME
    }
}

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn session_token(headers: &HeaderMap, secure: bool) -> Option<&str> {
    crate::server::session::cookie_value(headers, cookie_name(secure))
        .filter(|v| !v.is_empty() && v.len() <= 64)
}

/// Whether the request carries an open back-office session.
pub async fn signed_in(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(token) = session_token(headers, state.secure_cookies) else {
        return false;
    };
    match state.orders.merchant_session_open(&hash(token)).await {
        Ok(open) => open,
        Err(err) => {
            tracing::error!(%err, "back office: cannot read sessions");
            false
        }
    }
}

/// Opens a session; its cookie.
pub async fn open_session(
    state: &AppState,
) -> Result<HeaderValue, crate::server::store::StoreError> {
    let bytes: [u8; 32] = rand::rng().random();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    state
        .orders
        .open_merchant_session(&hash(&token), now() + SESSION_SECONDS)
        .await?;
    Ok(cookie(state.secure_cookies, &token, SESSION_SECONDS))
}

/// Ends the request's session; the cookie that clears it.
pub async fn close_session(state: &AppState, headers: &HeaderMap) -> HeaderValue {
    if let Some(token) = session_token(headers, state.secure_cookies) {
        if let Err(err) = state.orders.close_merchant_session(&hash(token)).await {
            tracing::error!(%err, "back office: cannot end a session");
        }
    }
    cookie(state.secure_cookies, "", 0)
}

fn cookie(secure: bool, token: &str, max_age: i64) -> HeaderValue {
    let name = cookie_name(secure);
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("ASCII cookie")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_strict_and_http_only() {
        let value = cookie(true, "abc", SESSION_SECONDS);
        let value = value.to_str().unwrap();
        assert!(
            value.starts_with("__Host-merchant_session=abc; Path=/; HttpOnly; SameSite=Strict"),
            "{value}"
        );
        assert!(value.ends_with("; Secure"));
    }
}
