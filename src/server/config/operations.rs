//! What running the checkout as a shop needs from the environment: the metrics' token, the
//! card-testing limits and the decline-rate alarm, and which proxy header names the client.

use std::ops::RangeInclusive;

use axum::http::HeaderName;

use super::*;
use crate::server::store::AttemptLimits;

/// `CHECKOUT_METRICS_TOKEN`: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(pub String);

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(…)")
    }
}

/// The shop-wide alarm: more than `percent` of at least `minimum` card attempts declined over
/// the last `window_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclineAlarm {
    pub percent: i64,
    pub minimum: i64,
    pub window_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operations {
    /// `/metrics` is served to this bearer token; without it there are no metrics.
    pub metrics_token: Option<MetricsToken>,
    pub limits: AttemptLimits,
    pub alarm: DeclineAlarm,
    /// The header a trusted reverse proxy writes the client's address in
    /// (`CHECKOUT_TRUSTED_PROXY_HEADER`, e.g. `X-Forwarded-For`); unset, the address is the
    /// connection's. Set it only behind a proxy that overwrites it: a client can write any
    /// header.
    pub trusted_proxy_header: Option<HeaderName>,
}

impl Operations {
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Operations, ConfigError> {
        let metrics_token = secret_token(get, "CHECKOUT_METRICS_TOKEN")?.map(MetricsToken);
        // A count, where 0 turns the limit off.
        let count = |name: &'static str, default: u64| {
            whole_number(get, name, default, 0..=1_000_000, "").map(|n| n as i64)
        };
        let seconds = |name: &'static str, default: u64, range: RangeInclusive<u64>| {
            whole_number(get, name, default, range, " of seconds").map(|n| n as i64)
        };
        let limits = AttemptLimits {
            order_declines: count("CHECKOUT_LIMIT_ORDER_DECLINES", 5)?,
            order_cooling_seconds: seconds(
                "CHECKOUT_LIMIT_ORDER_COOLING_SECONDS",
                1800,
                1..=604_800,
            )?,
            address_attempts_per_minute: count("CHECKOUT_LIMIT_ADDRESS_ATTEMPTS_PER_MINUTE", 10)?,
            address_declines_per_hour: count("CHECKOUT_LIMIT_ADDRESS_DECLINES_PER_HOUR", 10)?,
        };
        let alarm = DeclineAlarm {
            percent: whole_number(get, "CHECKOUT_DECLINE_ALARM_PERCENT", 50, 1..=100, "")? as i64,
            minimum: count("CHECKOUT_DECLINE_ALARM_MINIMUM", 20)?,
            window_seconds: seconds("CHECKOUT_DECLINE_ALARM_WINDOW_SECONDS", 900, 60..=86_400)?,
        };
        let trusted_proxy_header = match get("CHECKOUT_TRUSTED_PROXY_HEADER") {
            None => None,
            Some(name) => Some(
                HeaderName::try_from(name.to_ascii_lowercase()).map_err(|_| {
                    variable(
                        "CHECKOUT_TRUSTED_PROXY_HEADER",
                        "must be a header name, such as X-Forwarded-For",
                    )
                })?,
            ),
        };
        Ok(Operations {
            metrics_token,
            limits,
            alarm,
            trusted_proxy_header,
        })
    }
}
