//! API keys: secret keys for servers, publishable keys for what Stripe.js may do.
//! Only test keys are accepted; by default any well-formed pair, or one pinned pair.

use axum::http::HeaderMap;
use base64::Engine;

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Secret,
    Publishable,
}

/// Which keys the emulator accepts.
#[derive(Debug, Clone, Default)]
pub struct KeyPolicy {
    /// `Some((secret, publishable))` accepts only that pair.
    pub pinned: Option<(String, String)>,
}

fn masked(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let head = key.split('_').take(2).collect::<Vec<_>>().join("_");
    format!("{head}_****{tail}")
}

fn well_formed(rest: &str) -> bool {
    rest.len() >= 8
        && rest.len() <= 200
        && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl KeyPolicy {
    /// Classifies the key of a request: the `Authorization` header (Bearer, or Basic with the
    /// key as user name), else Stripe.js's `key` parameter.
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        key_param: Option<&str>,
    ) -> ApiResult<Credential> {
        let key = match headers.get("authorization") {
            Some(value) => {
                let value = value.to_str().map_err(|_| invalid_header())?;
                let (scheme, rest) = value.split_once(' ').ok_or_else(invalid_header)?;
                match scheme.to_ascii_lowercase().as_str() {
                    "bearer" => rest.trim().to_owned(),
                    "basic" => {
                        let decoded = base64::engine::general_purpose::STANDARD
                            .decode(rest.trim())
                            .map_err(|_| invalid_header())?;
                        let text = String::from_utf8(decoded).map_err(|_| invalid_header())?;
                        text.split(':').next().unwrap_or_default().to_owned()
                    }
                    _ => return Err(invalid_header()),
                }
            }
            None => match key_param {
                Some(key) => key.to_owned(),
                None => return Err(ApiError::unauthorized(
                    "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
                )),
            },
        };
        if key.starts_with("sk_live_") || key.starts_with("pk_live_") || key.starts_with("rk_live_")
        {
            return Err(ApiError::unauthorized(format!(
                "Invalid API Key provided: {}. The Stripe emulator accepts test-mode keys only (sk_test_…, pk_test_…); live keys are refused.",
                masked(&key)
            )));
        }
        let credential = if let Some(rest) = key.strip_prefix("sk_test_") {
            well_formed(rest).then_some(Credential::Secret)
        } else if let Some(rest) = key.strip_prefix("pk_test_") {
            well_formed(rest).then_some(Credential::Publishable)
        } else {
            None
        };
        let credential = credential.ok_or_else(|| {
            ApiError::unauthorized(format!("Invalid API Key provided: {}", masked(&key)))
        })?;
        if let Some((secret, publishable)) = &self.pinned {
            let expected = if credential == Credential::Secret {
                secret
            } else {
                publishable
            };
            if *expected != key {
                return Err(ApiError::unauthorized(format!(
                    "Invalid API Key provided: {}",
                    masked(&key)
                )));
            }
        }
        Ok(credential)
    }
}

fn invalid_header() -> ApiError {
    ApiError::unauthorized(
        "Invalid Authorization header. Provide your API key using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
    )
}

/// 403 for a publishable key on a server-only call, as Stripe answers it.
pub fn secret_required() -> ApiError {
    ApiError::forbidden(
        "This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_str(auth).unwrap());
        h
    }

    #[test]
    fn bearer_basic_and_key_parameter_are_read() {
        let policy = KeyPolicy::default();
        assert_eq!(
            policy
                .authenticate(&headers("Bearer sk_test_abcdefgh"), None)
                .unwrap(),
            Credential::Secret
        );
        let basic = base64::engine::general_purpose::STANDARD.encode("sk_test_abcdefgh:");
        assert_eq!(
            policy
                .authenticate(&headers(&format!("Basic {basic}")), None)
                .unwrap(),
            Credential::Secret
        );
        assert_eq!(
            policy
                .authenticate(&HeaderMap::new(), Some("pk_test_abcdefgh"))
                .unwrap(),
            Credential::Publishable
        );
    }

    #[test]
    fn live_malformed_and_missing_keys_are_refused_without_echoing_the_key() {
        let policy = KeyPolicy::default();
        // Built at run time so no live-looking key sits in the source.
        let live = format!("Bearer sk_{}_abcdefgh12345678", "live");
        let err = policy.authenticate(&headers(&live), None).unwrap_err();
        assert_eq!(err.status.as_u16(), 401);
        assert!(!err.message.contains("abcdefgh1234"), "{}", err.message);
        assert!(policy
            .authenticate(&headers("Bearer sk_test_x"), None)
            .is_err());
        assert!(policy.authenticate(&HeaderMap::new(), None).is_err());
    }

    #[test]
    fn a_pinned_pair_refuses_other_test_keys() {
        let policy = KeyPolicy {
            pinned: Some(("sk_test_pinned123".into(), "pk_test_pinned123".into())),
        };
        assert!(policy
            .authenticate(&headers("Bearer sk_test_pinned123"), None)
            .is_ok());
        assert!(policy
            .authenticate(&headers("Bearer sk_test_other1234"), None)
            .is_err());
    }
}
