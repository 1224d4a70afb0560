//! The server's configuration: the shop and catalogue from `Leptos.toml` (or the file named
//! by `CHECKOUT_CONFIG`), Stripe and storage from the environment (`.env` is read first).
//! Anything inconsistent stops start-up with a message naming the file or variable.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::checkout::{Catalogue, Product};

/// Where the settings are read from unless `CHECKOUT_CONFIG` says otherwise.
pub const DEFAULT_CONFIG_FILE: &str = "Leptos.toml";
/// Where the embedded emulator listens unless `STRIPE_EMULATOR_ADDR` says otherwise.
pub const DEFAULT_EMULATOR_ADDR: &str = "127.0.0.1:12111";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://checkout.db";
pub const STRIPE_API: &str = "https://api.stripe.com/";
pub const STRIPE_JS: &str = "https://js.stripe.com/v3/";
/// Keys the embedded emulator is used with: test keys that open nothing anywhere else.
pub const EMULATOR_SECRET_KEY: &str = "sk_test_localEmulatorOnly";
pub const EMULATOR_PUBLISHABLE_KEY: &str = "pk_test_localEmulatorOnly";

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub shop: Shop,
    #[serde(default)]
    pub payments: Payments,
    pub products: Vec<Product>,
}

/// How payments are taken (`[payments]` in `Leptos.toml`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Payments {
    #[serde(default)]
    pub capture: CaptureMode,
}

/// When the money is taken: at payment (the default), or when the merchant captures the
/// authorisation from the back office (within Stripe's seven days).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CaptureMode {
    #[default]
    Automatic,
    Manual,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Shop {
    pub name: String,
    pub currency: String,
    /// The language of a shopper who has not chosen one and whose browser asks for none the
    /// shop has (`en` or `fr`, the files in locales/).
    #[serde(default)]
    pub locale: crate::i18n::Locale,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read settings file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("settings file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{variable}: {message}")]
    Variable { variable: &'static str, message: String },
}

fn variable(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Variable { variable, message: message.into() }
}

impl Settings {
    pub fn load(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let path = env("CHECKOUT_CONFIG").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
        Self::from_file(&path)
    }

    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Self::parse(&text).map_err(|message| ConfigError::Invalid { path: path.to_owned(), message })
    }

    fn parse(text: &str) -> Result<Self, String> {
        let settings: Settings = toml::from_str(text).map_err(|e| e.to_string())?;
        if settings.shop.name.trim().is_empty() {
            return Err("shop.name must not be empty".to_owned());
        }
        settings.catalogue().validate()?;
        settings.currency()?;
        Ok(settings)
    }

    /// The shop's currency as Stripe knows it; one Stripe does not know stops start-up, and so
    /// does one with three decimals (their amounts would be shown and read as two-decimal).
    pub fn currency(&self) -> Result<stripe_types::Currency, String> {
        if THREE_DECIMAL_CURRENCIES.contains(&self.shop.currency.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "shop.currency {:?} has three decimals, which this checkout does not show or read: choose a currency with two decimals or none",
                self.shop.currency
            ));
        }
        match self.shop.currency.parse::<stripe_types::Currency>() {
            Ok(stripe_types::Currency::Unknown(_)) | Err(_) => Err(format!("shop.currency {:?} is not a currency Stripe knows", self.shop.currency)),
            Ok(currency) => Ok(currency),
        }
    }

    pub fn catalogue(&self) -> Catalogue {
        Catalogue { currency: self.shop.currency.clone(), products: self.products.clone() }
    }
}

/// Stripe's three-decimal currencies (https://docs.stripe.com/currencies#three-decimal).
const THREE_DECIMAL_CURRENCIES: [&str; 5] = ["bhd", "jod", "kwd", "omr", "tnd"];

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
        Build { embedded_emulator: cfg!(feature = "embedded-emulator"), release: !cfg!(debug_assertions) }
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
    pub database_pool: crate::orders::PoolSettings,
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

/// A guessable back-office secret is refused at start-up.
pub const MIN_MERCHANT_TOKEN_LEN: usize = 20;

impl Environment {
    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }

    /// Reads and checks the environment through `env` (the process environment in `main`).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>, build: Build) -> Result<Environment, ConfigError> {
        let get = |name: &str| env(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let public_url = get("CHECKOUT_PUBLIC_URL");
        if let Some(url) = &public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(variable("CHECKOUT_PUBLIC_URL", "must start with http:// or https://"));
            }
        }
        // A whole number in `range`, `default` when unset; `unit` names it in the error.
        let number = |name: &'static str, default: u64, range: std::ops::RangeInclusive<u64>, unit: &str| match get(name) {
            None => Ok(default),
            Some(s) => match s.parse::<u64>() {
                Ok(n) if range.contains(&n) => Ok(n),
                _ => Err(variable(name, format!("must be a number{unit} from {} to {}", range.start(), range.end()))),
            },
        };
        let stripe_timeout = std::time::Duration::from_millis(number("STRIPE_TIMEOUT_MS", 15_000, 100..=120_000, " of milliseconds")?);
        let seconds = |name: &'static str, default: u64| number(name, default, 1..=86_400, " of seconds").map(std::time::Duration::from_secs);
        let reconcile_interval = seconds("CHECKOUT_RECONCILE_SECONDS", 60)?;
        let reconcile_grace = seconds("CHECKOUT_RECONCILE_GRACE_SECONDS", 30)?;
        let authorisation_check = seconds("CHECKOUT_AUTHORISATION_CHECK_SECONDS", 3600)?;
        let shutdown_grace = seconds("CHECKOUT_SHUTDOWN_SECONDS", 20)?;
        let order_lease = std::time::Duration::from_secs(number("CHECKOUT_LEASE_SECONDS", 10, 3..=600, " of seconds")?);
        let merchant_token = match get("MERCHANT_TOKEN") {
            None => None,
            Some(token) if token.len() < MIN_MERCHANT_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) => {
                return Err(variable(
                    "MERCHANT_TOKEN",
                    format!("must be at least {MIN_MERCHANT_TOKEN_LEN} printable characters without spaces (e.g. `openssl rand -hex 24`)"),
                ));
            }
            Some(token) => Some(MerchantToken(token)),
        };
        let page_cache = match get("CHECKOUT_PAGE_CACHE").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("on") => true,
            Some("off") => false,
            Some(_) => return Err(variable("CHECKOUT_PAGE_CACHE", "must be on or off")),
        };
        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !["sqlite:", "postgres://", "postgresql://"].iter().any(|p| database_url.starts_with(p)) {
            return Err(variable("DATABASE_URL", "must be a SQLite URL such as sqlite://checkout.db or a PostgreSQL one (postgres://…)"));
        }
        let database_pool = crate::orders::PoolSettings {
            max_connections: number("DATABASE_MAX_CONNECTIONS", 8, 1..=1000, "")? as u32,
            acquire_timeout: std::time::Duration::from_millis(number("DATABASE_ACQUIRE_TIMEOUT_MS", 5000, 100..=120_000, " of milliseconds")?),
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
                    return Err(variable("STRIPE_SECRET_KEY", "is required: this build has no embedded Stripe emulator"));
                }
                // A fake Stripe must never take a real shop's orders.
                if public_url.as_deref().is_some_and(|u| u.starts_with("https://")) {
                    return Err(variable(
                        "STRIPE_SECRET_KEY",
                        "and STRIPE_PUBLISHABLE_KEY are required: CHECKOUT_PUBLIC_URL is https, and the embedded emulator never serves a public shop",
                    ));
                }
                let opted_in = get(USE_EMULATOR_VARIABLE).is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
                if build.release && !opted_in {
                    return Err(variable(
                        "STRIPE_SECRET_KEY",
                        format!("and STRIPE_PUBLISHABLE_KEY are required by a release build (to run it on the embedded emulator anyway, set {USE_EMULATOR_VARIABLE}=true)"),
                    ));
                }
                let addr = get("STRIPE_EMULATOR_ADDR").unwrap_or_else(|| DEFAULT_EMULATOR_ADDR.to_owned());
                let addr = addr.parse().map_err(|e| variable("STRIPE_EMULATOR_ADDR", format!("{e}: expected HOST:PORT such as {DEFAULT_EMULATOR_ADDR}")))?;
                StripeSetup::Embedded { addr }
            }
            (Some(_), None) => return Err(variable("STRIPE_PUBLISHABLE_KEY", "is required when STRIPE_SECRET_KEY is set")),
            (None, Some(_)) => return Err(variable("STRIPE_SECRET_KEY", "is required when STRIPE_PUBLISHABLE_KEY is set")),
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
                        return Err(variable(name, "live keys need https: this URL is plain http"));
                    }
                }
                if secret_live && !public_url.as_deref().is_some_and(|u| u.starts_with("https://")) {
                    return Err(variable(
                        "CHECKOUT_PUBLIC_URL",
                        "live keys need the checkout served over https: set CHECKOUT_PUBLIC_URL=https://…",
                    ));
                }
                let api_base = if api_base.ends_with('/') { api_base } else { format!("{api_base}/") };
                StripeSetup::Remote(StripeKeys { secret_key, publishable_key, api_base, js_url })
            }
        };
        Ok(Environment { stripe, database_url, database_pool, public_url, stripe_timeout, reconcile_interval, reconcile_grace, authorisation_check, shutdown_grace, order_lease, merchant_token, page_cache })
    }
}

fn mode(live: bool) -> &'static str {
    if live { "live" } else { "test" }
}

/// `Ok(true)` for a live key, `Ok(false)` for a test key; anything else names the variable.
fn key_mode(key: &str, kind: &str, name: &'static str) -> Result<bool, ConfigError> {
    let restricted = kind == "sk" && (key.starts_with("rk_live_") || key.starts_with("rk_test_"));
    if key.starts_with(&format!("{kind}_live_")) || (restricted && key.starts_with("rk_live_")) {
        Ok(true)
    } else if key.starts_with(&format!("{kind}_test_")) || restricted {
        Ok(false)
    } else {
        let expected = if kind == "sk" { "sk_test_… or sk_live_…" } else { "pk_test_… or pk_live_…" };
        Err(variable(name, format!("does not look like a Stripe key (expected {expected})")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |k| map.get(k).cloned()
    }

    const DEV: Build = Build { embedded_emulator: true, release: false };
    const RELEASE: Build = Build { embedded_emulator: true, release: true };

    fn error_of(pairs: &[(&str, &str)]) -> String {
        Environment::from_env(&env(pairs), DEV).unwrap_err().to_string()
    }

    #[test]
    fn a_release_build_without_keys_refuses_to_start_unless_asked_for_the_emulator() {
        let err = Environment::from_env(&env(&[]), RELEASE).unwrap_err().to_string();
        assert!(err.starts_with("STRIPE_SECRET_KEY") && err.contains(USE_EMULATOR_VARIABLE), "{err}");
        let opted = Environment::from_env(&env(&[(USE_EMULATOR_VARIABLE, "true")]), RELEASE).unwrap();
        assert!(matches!(opted.stripe, StripeSetup::Embedded { .. }));
    }

    #[test]
    fn an_https_shop_never_runs_on_the_emulator() {
        for build in [DEV, RELEASE] {
            let pairs = [("CHECKOUT_PUBLIC_URL", "https://shop.example"), (USE_EMULATOR_VARIABLE, "true")];
            let err = Environment::from_env(&env(&pairs), build).unwrap_err().to_string();
            assert!(err.starts_with("STRIPE_SECRET_KEY") && err.contains("https"), "{err}");
        }
    }

    #[test]
    fn a_three_decimal_currency_stops_start_up_and_zero_and_two_decimal_ones_start() {
        let shop = |currency: &str| format!("[shop]\nname = \"x\"\ncurrency = \"{currency}\"\n[[products]]\nid = \"a\"\nname = \"A\"\nunit_amount = 100\n");
        for currency in ["bhd", "jod", "kwd", "omr", "tnd"] {
            let err = Settings::parse(&shop(currency)).unwrap_err();
            assert!(err.contains("three decimals"), "{currency}: {err}");
        }
        for currency in ["eur", "usd", "jpy", "gbp"] {
            assert!(Settings::parse(&shop(currency)).is_ok(), "{currency}");
        }
    }

    #[test]
    fn a_currency_stripe_does_not_know_stops_start_up() {
        let err = Settings::parse("[shop]\nname = \"x\"\ncurrency = \"xyz\"\n[[products]]\nid = \"a\"\nname = \"A\"\nunit_amount = 100\n").unwrap_err();
        assert!(err.contains("xyz"), "{err}");
    }

    #[test]
    fn the_shipped_settings_file_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CONFIG_FILE);
        let settings = Settings::from_file(&path).expect("Leptos.toml parses");
        assert!(!settings.products.is_empty());
        assert_eq!(settings.shop.currency, "eur");
    }

    #[test]
    fn an_unknown_setting_is_refused_so_typos_do_not_pass_silently() {
        let err = Settings::parse("[shop]\nname = \"x\"\ncurrency = \"eur\"\ncurrancy = \"eur\"\nproducts = []\n").unwrap_err();
        assert!(err.contains("currancy"), "{err}");
    }

    #[test]
    fn capture_is_automatic_unless_the_settings_say_manual() {
        let shipped = Settings::from_file(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/Leptos.toml"))).unwrap();
        assert_eq!(shipped.payments.capture, CaptureMode::Automatic);
        let base = "[shop]\nname = \"S\"\ncurrency = \"eur\"\n[[products]]\nid = \"a\"\nname = \"A\"\nunit_amount = 100\n";
        let manual = Settings::parse(&format!("[payments]\ncapture = \"manual\"\n{base}")).unwrap();
        assert_eq!(manual.payments.capture, CaptureMode::Manual);
        assert!(Settings::parse(&format!("[payments]\ncapture = \"later\"\n{base}")).is_err(), "a typo is refused");
    }

    #[test]
    fn a_short_merchant_token_is_refused_and_never_printed() {
        assert!(error_of(&[("MERCHANT_TOKEN", "hunter2")]).starts_with("MERCHANT_TOKEN"));
        let env = Environment::from_env(&env(&[("MERCHANT_TOKEN", "a-long-enough-merchant-secret")]), Build { embedded_emulator: true, release: false }).unwrap();
        assert!(!format!("{env:?}").contains("a-long-enough-merchant-secret"));
        assert!(env.merchant_token.is_some());
    }

    #[test]
    fn a_catalogue_without_products_is_refused() {
        assert!(Settings::parse("products = []\n[shop]\nname = \"x\"\ncurrency = \"eur\"\n").is_err());
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let err = Settings::from_file(Path::new("/nonexistent/checkout.toml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/checkout.toml"));
    }

    #[test]
    fn no_keys_means_the_embedded_emulator() {
        let e = Environment::from_env(&env(&[]), DEV).unwrap();
        assert_eq!(e.stripe, StripeSetup::Embedded { addr: DEFAULT_EMULATOR_ADDR.parse().unwrap() });
        assert_eq!(e.database_url, DEFAULT_DATABASE_URL);
        assert!(!e.secure_cookies());
    }

    #[test]
    fn the_database_is_sqlite_or_postgresql_with_pool_settings_in_range() {
        let e = Environment::from_env(&env(&[("DATABASE_URL", "postgres://shop@db:5432/shop"), ("DATABASE_MAX_CONNECTIONS", "32")]), DEV).unwrap();
        assert_eq!(e.database_url, "postgres://shop@db:5432/shop");
        assert_eq!(e.database_pool.max_connections, 32);
        assert_eq!(e.database_pool.acquire_timeout, std::time::Duration::from_secs(5));
        assert!(error_of(&[("DATABASE_URL", "mysql://db/shop")]).starts_with("DATABASE_URL"));
        assert!(error_of(&[("DATABASE_MAX_CONNECTIONS", "0")]).starts_with("DATABASE_MAX_CONNECTIONS"));
        assert!(error_of(&[("DATABASE_ACQUIRE_TIMEOUT_MS", "soon")]).starts_with("DATABASE_ACQUIRE_TIMEOUT_MS"));
    }

    #[test]
    fn pages_are_kept_unless_the_page_cache_is_off() {
        assert!(Environment::from_env(&env(&[]), DEV).unwrap().page_cache);
        assert!(!Environment::from_env(&env(&[("CHECKOUT_PAGE_CACHE", "OFF")]), DEV).unwrap().page_cache);
        assert!(error_of(&[("CHECKOUT_PAGE_CACHE", "sometimes")]).starts_with("CHECKOUT_PAGE_CACHE"));
    }

    #[test]
    fn a_build_without_the_emulator_needs_keys() {
        let err = Environment::from_env(&env(&[]), Build { embedded_emulator: false, release: false }).unwrap_err().to_string();
        assert!(err.starts_with("STRIPE_SECRET_KEY"), "{err}");
    }

    #[test]
    fn one_key_without_the_other_names_the_missing_variable() {
        assert!(error_of(&[("STRIPE_SECRET_KEY", "sk_test_abc")]).starts_with("STRIPE_PUBLISHABLE_KEY"));
        assert!(error_of(&[("STRIPE_PUBLISHABLE_KEY", "pk_test_abc")]).starts_with("STRIPE_SECRET_KEY"));
    }

    #[test]
    fn test_and_live_keys_do_not_mix() {
        let err = error_of(&[("STRIPE_SECRET_KEY", "sk_test_abc"), ("STRIPE_PUBLISHABLE_KEY", "pk_live_abc")]);
        assert!(err.starts_with("STRIPE_PUBLISHABLE_KEY") && err.contains("live"), "{err}");
    }

    #[test]
    fn live_keys_need_https_everywhere() {
        let live = [("STRIPE_SECRET_KEY", "sk_live_abc"), ("STRIPE_PUBLISHABLE_KEY", "pk_live_abc")];
        assert!(error_of(&live).starts_with("CHECKOUT_PUBLIC_URL"));
        let mut plain_api = live.to_vec();
        plain_api.push(("STRIPE_API_BASE", "http://127.0.0.1:12111"));
        assert!(error_of(&plain_api).starts_with("STRIPE_API_BASE"));
        let mut ok = live.to_vec();
        ok.push(("CHECKOUT_PUBLIC_URL", "https://shop.example"));
        let e = Environment::from_env(&env(&ok), DEV).unwrap();
        assert!(e.secure_cookies());
        assert!(matches!(e.stripe, StripeSetup::Remote(_)));
    }

    #[test]
    fn keys_that_are_not_stripe_keys_are_refused() {
        assert!(error_of(&[("STRIPE_SECRET_KEY", "pk_test_abc"), ("STRIPE_PUBLISHABLE_KEY", "pk_test_abc")]).starts_with("STRIPE_SECRET_KEY"));
    }

    #[test]
    fn endpoints_without_keys_are_refused() {
        assert!(error_of(&[("STRIPE_JS_URL", "http://x/v3/")]).starts_with("STRIPE_JS_URL"));
    }

    #[test]
    fn the_secret_key_is_redacted_from_debug_output() {
        let e = Environment::from_env(&env(&[("STRIPE_SECRET_KEY", "sk_test_verysecret"), ("STRIPE_PUBLISHABLE_KEY", "pk_test_abc")]), DEV).unwrap();
        assert!(!format!("{e:?}").contains("verysecret"));
    }
}
