//! The server's environment: which Stripe, which database, timeouts, the reconciler's and the
//! shutdown's times, the back office's token, each checked at start-up with an error naming
//! the variable.

use std::net::SocketAddr;

use super::*;

/// Which Stripe the server talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StripeSetup {
    /// No keys configured: the in-process stripe-emulator on this address.
    Embedded { addr: SocketAddr },
    /// Real Stripe (or another Stripe-compatible endpoint) with these keys.
    Remote(StripeKeys),
}

#[derive(Clone, PartialEq, Eq)]
pub struct StripeKeys {
    pub secret_key: String,
    pub publishable_key: String,
    pub api_base: String,
    pub js_url: String,
}

impl std::fmt::Debug for StripeKeys {
    // The secret key never reaches a log, even through Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeKeys")
            .field("secret_key", &"[redacted]")
            .field("publishable_key", &self.publishable_key)
            .field("api_base", &self.api_base)
            .field("js_url", &self.js_url)
            .finish()
    }
}

/// What the running binary can do, which the environment is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Build {
    /// The `embedded-emulator` feature is compiled in.
    pub embedded_emulator: bool,
    /// A `--release` build: it talks to real Stripe unless told otherwise.
    pub release: bool,
}

impl Build {
    pub fn current() -> Build {
        Build {
            embedded_emulator: cfg!(feature = "embedded-emulator"),
            release: !cfg!(debug_assertions),
        }
    }
}

/// The one setting that lets a release build use the embedded emulator (a demo, a CI run).
pub const USE_EMULATOR_VARIABLE: &str = "CHECKOUT_USE_EMULATOR";

/// Everything the server reads from its environment.
#[derive(Debug, Clone)]
pub struct Environment {
    pub stripe: StripeSetup,
    pub database_url: String,
    /// The order store's pool (`DATABASE_MAX_CONNECTIONS`, default 8;
    /// `DATABASE_ACQUIRE_TIMEOUT_MS`, default 5000).
    pub database_pool: crate::server::store::PoolSettings,
    /// The address shoppers use (`CHECKOUT_PUBLIC_URL`); https there makes cookies `Secure`.
    pub public_url: Option<String>,
    /// How long one Stripe call may take (`STRIPE_TIMEOUT_MS`, default 15 s).
    pub stripe_timeout: std::time::Duration,
    /// Between reconciler passes (`CHECKOUT_RECONCILE_SECONDS`, default 60).
    pub reconcile_interval: std::time::Duration,
    /// How long an unanswered request or a waiting 3-D Secure is left to its shopper before
    /// the reconciler settles it (`CHECKOUT_RECONCILE_GRACE_SECONDS`, default 30).
    pub reconcile_grace: std::time::Duration,
    /// How often the reconciler reads a held authorisation, to find the ones Stripe released
    /// (`CHECKOUT_AUTHORISATION_CHECK_SECONDS`, default 3600).
    pub authorisation_check: std::time::Duration,
    /// How long requests in flight may take to finish once the server is asked to stop
    /// (`CHECKOUT_SHUTDOWN_SECONDS`, default 20).
    pub shutdown_grace: std::time::Duration,
    /// How long an order's lease lasts unless its holder renews it (`CHECKOUT_LEASE_SECONDS`,
    /// default 10): the longest a dead server keeps an order from the others.
    pub order_lease: std::time::Duration,
    /// The back office's secret (`MERCHANT_TOKEN`); without it the back office is off.
    pub merchant_token: Option<MerchantToken>,
    /// What running the shop needs: metrics, card-testing limits, the trusted proxy.
    pub operations: Operations,
    /// Keep rendered checkout pages (`CHECKOUT_PAGE_CACHE`, default on; `off` renders every
    /// page, to compare or to debug a view).
    pub page_cache: bool,
}

/// `MERCHANT_TOKEN`: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MerchantToken(pub String);

impl std::fmt::Debug for MerchantToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MerchantToken(…)")
    }
}

impl Environment {
    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }

    /// Reads and checks the environment through `env` (the process environment in `main`).
    pub fn from_env(
        env: &dyn Fn(&str) -> Option<String>,
        build: Build,
    ) -> Result<Environment, ConfigError> {
        let get = |name: &str| {
            env(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let public_url = get("CHECKOUT_PUBLIC_URL");
        if let Some(url) = &public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(variable(
                    "CHECKOUT_PUBLIC_URL",
                    "must start with http:// or https://",
                ));
            }
        }
        let number =
            |name: &'static str, default: u64, range: std::ops::RangeInclusive<u64>, unit: &str| {
                whole_number(&get, name, default, range, unit)
            };
        let stripe_timeout = std::time::Duration::from_millis(number(
            "STRIPE_TIMEOUT_MS",
            15_000,
            100..=120_000,
            " of milliseconds",
        )?);
        let seconds = |name: &'static str, default: u64| {
            number(name, default, 1..=86_400, " of seconds").map(std::time::Duration::from_secs)
        };
        let reconcile_interval = seconds("CHECKOUT_RECONCILE_SECONDS", 60)?;
        let reconcile_grace = seconds("CHECKOUT_RECONCILE_GRACE_SECONDS", 30)?;
        let authorisation_check = seconds("CHECKOUT_AUTHORISATION_CHECK_SECONDS", 3600)?;
        let shutdown_grace = seconds("CHECKOUT_SHUTDOWN_SECONDS", 20)?;
        let order_lease = std::time::Duration::from_secs(number(
            "CHECKOUT_LEASE_SECONDS",
            10,
            3..=600,
            " of seconds",
        )?);
        let merchant_token = secret_token(&get, "MERCHANT_TOKEN")?.map(MerchantToken);
        let page_cache = match get("CHECKOUT_PAGE_CACHE")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("on") => true,
            Some("off") => false,
            Some(_) => return Err(variable("CHECKOUT_PAGE_CACHE", "must be on or off")),
        };
        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|p| database_url.starts_with(p))
        {
            return Err(variable("DATABASE_URL", "must be a SQLite URL such as sqlite://checkout.db or a PostgreSQL one (postgres://…)"));
        }
        let database_pool = crate::server::store::PoolSettings {
            max_connections: number("DATABASE_MAX_CONNECTIONS", 8, 1..=1000, "")? as u32,
            acquire_timeout: std::time::Duration::from_millis(number(
                "DATABASE_ACQUIRE_TIMEOUT_MS",
                5000,
                100..=120_000,
                " of milliseconds",
            )?),
        };
        let secret = get("STRIPE_SECRET_KEY");
        let publishable = get("STRIPE_PUBLISHABLE_KEY");
        let stripe = match (secret, publishable) {
            (None, None) => {
                for name in ["STRIPE_API_BASE", "STRIPE_JS_URL"] {
                    if get(name).is_some() {
                        return Err(variable(name, "is set, but STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY are not: set both keys, or unset it to use the embedded emulator"));
                    }
                }
                if !build.embedded_emulator {
                    return Err(variable(
                        "STRIPE_SECRET_KEY",
                        "is required: this build has no embedded Stripe emulator",
                    ));
                }
                // A fake Stripe must never take a real shop's orders.
                if public_url
                    .as_deref()
                    .is_some_and(|u| u.starts_with("https://"))
                {
                    return Err(variable(
                        "STRIPE_SECRET_KEY",
                        "and STRIPE_PUBLISHABLE_KEY are required: CHECKOUT_PUBLIC_URL is https, and the embedded emulator never serves a public shop",
                    ));
                }
                let opted_in = get(USE_EMULATOR_VARIABLE).is_some_and(|v| {
                    matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes")
                });
                if build.release && !opted_in {
                    return Err(variable(
                        "STRIPE_SECRET_KEY",
                        format!("and STRIPE_PUBLISHABLE_KEY are required by a release build (to run it on the embedded emulator anyway, set {USE_EMULATOR_VARIABLE}=true)"),
                    ));
                }
                let addr =
                    get("STRIPE_EMULATOR_ADDR").unwrap_or_else(|| DEFAULT_EMULATOR_ADDR.to_owned());
                let addr = addr.parse().map_err(|e| {
                    variable(
                        "STRIPE_EMULATOR_ADDR",
                        format!("{e}: expected HOST:PORT such as {DEFAULT_EMULATOR_ADDR}"),
                    )
                })?;
                StripeSetup::Embedded { addr }
            }
            (Some(_), None) => {
                return Err(variable(
                    "STRIPE_PUBLISHABLE_KEY",
                    "is required when STRIPE_SECRET_KEY is set",
                ))
            }
            (None, Some(_)) => {
                return Err(variable(
                    "STRIPE_SECRET_KEY",
                    "is required when STRIPE_PUBLISHABLE_KEY is set",
                ))
            }
            (Some(secret_key), Some(publishable_key)) => {
                let secret_live = key_mode(&secret_key, "sk", "STRIPE_SECRET_KEY")?;
                let publishable_live = key_mode(&publishable_key, "pk", "STRIPE_PUBLISHABLE_KEY")?;
                if secret_live != publishable_live {
                    return Err(variable(
                        "STRIPE_PUBLISHABLE_KEY",
                        format!("is a {} key but STRIPE_SECRET_KEY is a {} key: use a pair from one mode", mode(publishable_live), mode(secret_live)),
                    ));
                }
                let api_base = get("STRIPE_API_BASE").unwrap_or_else(|| STRIPE_API.to_owned());
                let js_url = get("STRIPE_JS_URL").unwrap_or_else(|| STRIPE_JS.to_owned());
                for (name, url) in [("STRIPE_API_BASE", &api_base), ("STRIPE_JS_URL", &js_url)] {
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(variable(name, "must be an http:// or https:// URL"));
                    }
                    if secret_live && url.starts_with("http://") {
                        return Err(variable(
                            name,
                            "live keys need https: this URL is plain http",
                        ));
                    }
                }
                if secret_live
                    && !public_url
                        .as_deref()
                        .is_some_and(|u| u.starts_with("https://"))
                {
                    return Err(variable(
                        "CHECKOUT_PUBLIC_URL",
                        "live keys need the checkout served over https: set CHECKOUT_PUBLIC_URL=https://…",
                    ));
                }
                let api_base = if api_base.ends_with('/') {
                    api_base
                } else {
                    format!("{api_base}/")
                };
                StripeSetup::Remote(StripeKeys {
                    secret_key,
                    publishable_key,
                    api_base,
                    js_url,
                })
            }
        };
        let operations = Operations::from_env(&get)?;
        Ok(Environment {
            operations,
            stripe,
            database_url,
            database_pool,
            public_url,
            stripe_timeout,
            reconcile_interval,
            reconcile_grace,
            authorisation_check,
            shutdown_grace,
            order_lease,
            merchant_token,
            page_cache,
        })
    }
}

fn mode(live: bool) -> &'static str {
    if live {
        "live"
    } else {
        "test"
    }
}

/// `Ok(true)` for a live key, `Ok(false)` for a test key; anything else names the variable.
fn key_mode(key: &str, kind: &str, name: &'static str) -> Result<bool, ConfigError> {
    let restricted = kind == "sk" && (key.starts_with("rk_live_") || key.starts_with("rk_test_"));
    if key.starts_with(&format!("{kind}_live_")) || (restricted && key.starts_with("rk_live_")) {
        Ok(true)
    } else if key.starts_with(&format!("{kind}_test_")) || restricted {
        Ok(false)
    } else {
        let expected = if kind == "sk" {
            "sk_test_… or sk_live_…"
        } else {
            "pk_test_… or pk_live_…"
        };
        Err(variable(
            name,
            format!("does not look like a Stripe key (expected {expected})"),
        ))
    }
}
