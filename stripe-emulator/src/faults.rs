//! Scriptable faults for the next N requests matching a method and path: an HTTP 500, a
//! request that arrives late, one that executes slowly (holding its object's lock), a hang
//! until the client gives up, a dropped connection, or the case idempotency exists for:
//! perform the operation, then drop the response. As at Stripe, a request that arrived
//! executes whether or not its client is still waiting for the answer.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer 500 `api_error` without executing.
    Error500,
    /// Arrive `delay_ms` late (a slow network, a proxy), then execute and answer. The request
    /// executes even if its client gave up waiting meanwhile: only the answer is lost.
    Delay,
    /// Execute for `delay_ms`, holding the lock of the object it writes (a second write to it
    /// meanwhile gets `429 lock_timeout`, the same key `409`), then answer.
    Slow,
    /// Never answer; the client's timeout ends it. Nothing executes.
    Hang,
    /// Close the connection without answering. Nothing executes.
    Drop,
    /// Execute (and keep the idempotent result), then close without answering.
    PerformThenDrop,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultRule {
    /// HTTP method to match; any when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// Path to match; `*` stands for one path segment or part of one (`/v1/payment_intents/*/confirm`).
    pub path: String,
    pub kind: FaultKind,
    /// How many matching requests it applies to (default 1).
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub delay_ms: u64,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
}

impl Faults {
    pub fn add(&self, rule: FaultRule) {
        self.rules
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(rule);
    }

    pub fn list(&self) -> Vec<FaultRule> {
        self.rules
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn clear(&self) {
        self.rules
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    /// Takes one use of the first rule matching this request, if any.
    pub fn take(&self, method: &str, path: &str) -> Option<FaultRule> {
        let mut rules = self
            .rules
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let index = rules.iter().position(|r| {
            r.count > 0
                && r.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && path_matches(&r.path, path)
        })?;
        let rule = rules[index].clone();
        rules[index].count -= 1;
        if rules[index].count == 0 {
            rules.remove(index);
        }
        Some(rule)
    }
}

/// Glob match where `*` matches any run of characters other than `/`.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => {
                let mut i = 0;
                loop {
                    if go(rest, &s[i..]) {
                        return true;
                    }
                    if i == s.len() || s[i] == b'/' {
                        return false;
                    }
                    i += 1;
                }
            }
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_within_one_segment() {
        assert!(path_matches(
            "/v1/payment_intents/*/confirm",
            "/v1/payment_intents/pi_123/confirm"
        ));
        assert!(!path_matches(
            "/v1/payment_intents/*",
            "/v1/payment_intents/pi_123/confirm"
        ));
        assert!(path_matches("/v1/payment_intents", "/v1/payment_intents"));
    }

    #[test]
    fn a_rule_applies_count_times_then_disappears() {
        let faults = Faults::default();
        faults.add(FaultRule {
            method: Some("POST".into()),
            path: "/v1/x".into(),
            kind: FaultKind::Error500,
            count: 2,
            delay_ms: 0,
        });
        assert!(faults.take("GET", "/v1/x").is_none());
        assert!(faults.take("POST", "/v1/x").is_some());
        assert!(faults.take("post", "/v1/x").is_some());
        assert!(faults.take("POST", "/v1/x").is_none());
    }
}
