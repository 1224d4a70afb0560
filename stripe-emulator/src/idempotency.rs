//! `Idempotency-Key` as Stripe implements it: the first result of a POST is kept for 24 hours
//! and replayed (with `Idempotent-Replayed: true`) to later requests with the same key and
//! parameters; other parameters are a 400 `idempotency_error`; a request arriving while the
//! first is still executing gets a 409, so two requests with one key never both execute.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::StatusCode;

use crate::error::{ApiError, ApiResult};

pub const REPLAY_WINDOW_SECONDS: i64 = 24 * 3600;

#[derive(Debug, Clone)]
enum Entry {
    InFlight {
        fingerprint: String,
    },
    Done {
        fingerprint: String,
        status: StatusCode,
        body: String,
        at: i64,
    },
}

#[derive(Debug, Default)]
pub struct IdempotencyStore {
    entries: Mutex<HashMap<String, Entry>>,
    /// Keys whose results were kept since the last save.
    unsaved: Mutex<Vec<String>>,
}

/// What to do with a request that carries a key.
pub enum Begin {
    Execute,
    Replay { status: StatusCode, body: String },
}

/// The parameters a key is bound to: verb, path and the decoded, sorted form.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    pairs.sort();
    let encoded: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{method} {path}?{encoded}")
}

impl IdempotencyStore {
    pub fn begin(&self, key: &str, fingerprint: &str, now: i64) -> ApiResult<Begin> {
        let mut entries = self.entries();
        match entries.get(key) {
            Some(Entry::Done {
                fingerprint: f,
                status,
                body,
                at,
            }) if now - at < REPLAY_WINDOW_SECONDS => {
                if f == fingerprint {
                    Ok(Begin::Replay {
                        status: *status,
                        body: body.clone(),
                    })
                } else {
                    Err(ApiError::idempotency_mismatch(key))
                }
            }
            Some(Entry::InFlight { fingerprint: f }) => {
                if f == fingerprint {
                    Err(ApiError::idempotency_in_use(key))
                } else {
                    Err(ApiError::idempotency_mismatch(key))
                }
            }
            _ => {
                entries.insert(
                    key.to_owned(),
                    Entry::InFlight {
                        fingerprint: fingerprint.to_owned(),
                    },
                );
                Ok(Begin::Execute)
            }
        }
    }

    /// Keeps the result of an executed request for replay.
    pub fn finish(&self, key: &str, fingerprint: &str, status: StatusCode, body: String, now: i64) {
        let mut entries = self.entries();
        entries.insert(
            key.to_owned(),
            Entry::Done {
                fingerprint: fingerprint.to_owned(),
                status,
                body,
                at: now,
            },
        );
        self.unsaved().push(key.to_owned());
    }

    /// Forgets a request that failed validation: Stripe does not keep those results.
    pub fn abandon(&self, key: &str) {
        let mut entries = self.entries();
        if matches!(entries.get(key), Some(Entry::InFlight { .. })) {
            entries.remove(key);
        }
    }

    pub fn reset(&self) {
        self.entries().clear();
        self.unsaved().clear();
    }

    /// The results kept since the last call (or the last [`IdempotencyStore::kept`]).
    pub fn take_unsaved(&self) -> Vec<KeptResult> {
        let keys = std::mem::take(&mut *self.unsaved());
        let entries = self.entries();
        keys.into_iter()
            .filter_map(|key| kept_result(&key, entries.get(&key)?))
            .collect()
    }

    /// The results kept for replay (requests still executing are not: they never answered);
    /// all count as saved after it.
    pub fn kept(&self) -> Vec<KeptResult> {
        self.unsaved().clear();
        self.entries()
            .iter()
            .filter_map(|(key, entry)| kept_result(key, entry))
            .collect()
    }

    /// Replaces every entry by results kept earlier (see [`IdempotencyStore::kept`]).
    pub fn restore(&self, kept: Vec<KeptResult>) {
        let mut entries = self.entries();
        entries.clear();
        self.unsaved().clear();
        for k in kept {
            let status =
                StatusCode::from_u16(k.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            entries.insert(
                k.key,
                Entry::Done {
                    fingerprint: k.fingerprint,
                    status,
                    body: k.body,
                    at: k.at,
                },
            );
        }
    }

    fn unsaved(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.unsaved
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The entries, even after a panic elsewhere poisoned the lock: each entry is written
    /// whole, so what the lock guards is never half-changed.
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An entry as it is saved, if it is a result (one still executing is not saved).
fn kept_result(key: &str, entry: &Entry) -> Option<KeptResult> {
    match entry {
        Entry::Done {
            fingerprint,
            status,
            body,
            at,
        } => Some(KeptResult {
            key: key.to_owned(),
            fingerprint: fingerprint.clone(),
            status: status.as_u16(),
            body: body.clone(),
            at: *at,
        }),
        Entry::InFlight { .. } => None,
    }
}

/// One kept result, as saved across restarts.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct KeptResult {
    pub key: String,
    pub fingerprint: String,
    pub status: u16,
    pub body: String,
    pub at: i64,
}

/// Stripe's key rules: 1 to 255 characters.
pub fn check_key(key: &str) -> ApiResult<()> {
    if key.is_empty() || key.len() > 255 {
        return Err(ApiError::invalid_value(
            "Idempotency-Key",
            "Idempotency keys must be between 1 and 255 characters long.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_order_does_not_change_the_fingerprint() {
        assert_eq!(
            fingerprint("POST", "/v1/x", b"a=1&b=2"),
            fingerprint("POST", "/v1/x", b"b=2&a=1")
        );
        assert_ne!(
            fingerprint("POST", "/v1/x", b"a=1"),
            fingerprint("POST", "/v1/x", b"a=2")
        );
    }

    #[test]
    fn a_kept_result_expires_after_a_day() {
        let store = IdempotencyStore::default();
        assert!(matches!(store.begin("k", "f", 0).unwrap(), Begin::Execute));
        store.finish("k", "f", StatusCode::OK, "{}".into(), 0);
        assert!(matches!(
            store.begin("k", "f", 10).unwrap(),
            Begin::Replay { .. }
        ));
        assert!(matches!(
            store.begin("k", "f", REPLAY_WINDOW_SECONDS + 1).unwrap(),
            Begin::Execute
        ));
    }

    #[test]
    fn a_second_request_while_the_first_executes_is_refused() {
        let store = IdempotencyStore::default();
        assert!(matches!(store.begin("k", "f", 0).unwrap(), Begin::Execute));
        assert_eq!(
            store.begin("k", "f", 0).err().unwrap().status,
            StatusCode::CONFLICT
        );
    }
}
