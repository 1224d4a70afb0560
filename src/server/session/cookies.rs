//! The browser's cookies: its order and, once it saved a card, its shopper id, each signed
//! with the server's key (kept in the database, so every server accepts every cookie) and
//! refused once too old, whatever the browser keeps.

use axum::http::{header, HeaderValue};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const COOKIE_NAME: &str = "checkout_order";
/// Behind https: a name browsers accept only from a secure page, for the whole site.
pub const SECURE_COOKIE_NAME: &str = "__Host-checkout_order";
/// A cart is kept for 30 days.
const MAX_AGE_SECONDS: i64 = 30 * 24 * 3600;
pub const SHOPPER_COOKIE_NAME: &str = "checkout_shopper";
pub const SECURE_SHOPPER_COOKIE_NAME: &str = "__Host-checkout_shopper";
/// Saved cards stay with the browser for 400 days (the longest a browser keeps a cookie).
pub(super) const SHOPPER_MAX_AGE_SECONDS: i64 = 400 * 24 * 3600;

pub(super) fn shopper_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_SHOPPER_COOKIE_NAME
    } else {
        SHOPPER_COOKIE_NAME
    }
}

pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_COOKIE_NAME
    } else {
        COOKIE_NAME
    }
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
        let signature =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// The order id of a cookie value whose signature holds (checked in constant time) and
    /// that was issued less than 30 days before `now`.
    pub fn verify(&self, value: &str, now: i64) -> Option<String> {
        self.verify_within(value, now, MAX_AGE_SECONDS)
    }

    /// The id of a signed value issued less than `max_age` seconds before `now`.
    pub(super) fn verify_within(&self, value: &str, now: i64, max_age: i64) -> Option<String> {
        let (payload, signature) = value.rsplit_once('.')?;
        let (order_id, issued_at) = payload.split_once('.')?;
        // Ids as the server makes them (`ord_…`, `shp_…`): letters, digits and `_`.
        if order_id.is_empty()
            || order_id.len() > 64
            || !order_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return None;
        }
        let issued_at: i64 = issued_at
            .parse()
            .ok()
            .filter(|_| issued_at.bytes().all(|b| b.is_ascii_digit()))?;
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(signature)
            .ok()?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).ok()?;
        // A minute of slack for clocks of several servers.
        (issued_at <= now + 60 && now - issued_at < max_age).then(|| order_id.to_owned())
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

pub fn set_cookie_header(
    signer: &CookieSigner,
    order_id: &str,
    issued_at: i64,
    secure: bool,
) -> HeaderValue {
    let name = cookie_name(secure);
    let secure = if secure { "; Secure" } else { "" };
    let value = format!(
        "{name}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={MAX_AGE_SECONDS}{secure}",
        signer.sign(order_id, issued_at)
    );
    HeaderValue::from_str(&value).expect("cookie value is ASCII")
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
        assert!(
            plain.contains("HttpOnly")
                && plain.contains("SameSite=Lax")
                && !plain.contains("Secure")
        );
        let secure = set_cookie_header(&signer(), "ord_abc", NOW, true);
        let secure = secure.to_str().unwrap();
        assert!(
            secure.starts_with("__Host-checkout_order=")
                && secure.contains("; Path=/;")
                && !secure.contains("Domain"),
            "{secure}"
        );
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
            const PIECES: &[&str] = &[
                "ord_", ".", "=", "a", "Z", "9", "_", "-", "é", "\u{0}", "\n", " ", "ord_abc.",
                "%", "€", "\u{202e}",
            ];
            let len = (self.next() % 40) as usize;
            (0..len)
                .map(|_| PIECES[(self.next() % PIECES.len() as u64) as usize])
                .collect()
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
        assert_eq!(
            signer.verify(&format!("ord_abd.{NOW}.{sig}"), NOW),
            None,
            "another order id"
        );
        assert_eq!(
            signer.verify(&format!("ord_abc.{}.{sig}", NOW + 1), NOW),
            None,
            "another issue time"
        );
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
        assert_eq!(
            signer.verify(&value, NOW + MAX_AGE_SECONDS - 1).as_deref(),
            Some("ord_abc")
        );
        assert_eq!(
            signer.verify(&value, NOW + MAX_AGE_SECONDS),
            None,
            "expired, whatever the browser kept"
        );
        assert_eq!(
            signer.verify(&value, NOW - 3600),
            None,
            "issued in the future"
        );
    }
}
