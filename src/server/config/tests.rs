//! The configuration: every bad setting stops start-up with a message naming it.

use std::path::Path;

use super::*;
use std::collections::HashMap;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

const DEV: Build = Build {
    embedded_emulator: true,
    release: false,
};
const RELEASE: Build = Build {
    embedded_emulator: true,
    release: true,
};

fn error_of(pairs: &[(&str, &str)]) -> String {
    Environment::from_env(&env(pairs), DEV)
        .unwrap_err()
        .to_string()
}

#[test]
fn a_release_build_without_keys_refuses_to_start_unless_asked_for_the_emulator() {
    let err = Environment::from_env(&env(&[]), RELEASE)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("STRIPE_SECRET_KEY") && err.contains(USE_EMULATOR_VARIABLE),
        "{err}"
    );
    let opted = Environment::from_env(&env(&[(USE_EMULATOR_VARIABLE, "true")]), RELEASE).unwrap();
    assert!(matches!(opted.stripe, StripeSetup::Embedded { .. }));
}

#[test]
fn an_https_shop_never_runs_on_the_emulator() {
    for build in [DEV, RELEASE] {
        let pairs = [
            ("CHECKOUT_PUBLIC_URL", "https://shop.example"),
            (USE_EMULATOR_VARIABLE, "true"),
        ];
        let err = Environment::from_env(&env(&pairs), build)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("STRIPE_SECRET_KEY") && err.contains("https"),
            "{err}"
        );
    }
}

#[test]
fn a_three_decimal_currency_stops_start_up_and_zero_and_two_decimal_ones_start() {
    let shop = |currency: &str| {
        format!("[shop]\nname = \"x\"\ncurrency = \"{currency}\"\n[[products]]\nid = \"a\"\nname = \"A\"\nunit_amount = 100\n")
    };
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
    let err = Settings::parse(
        "[shop]\nname = \"x\"\ncurrency = \"eur\"\ncurrancy = \"eur\"\nproducts = []\n",
    )
    .unwrap_err();
    assert!(err.contains("currancy"), "{err}");
}

#[test]
fn capture_is_automatic_unless_the_settings_say_manual() {
    let shipped = Settings::from_file(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/Leptos.toml"
    )))
    .unwrap();
    assert_eq!(shipped.payments.capture, CaptureMode::Automatic);
    let base = "[shop]\nname = \"S\"\ncurrency = \"eur\"\n[[products]]\nid = \"a\"\nname = \"A\"\nunit_amount = 100\n";
    let manual = Settings::parse(&format!("[payments]\ncapture = \"manual\"\n{base}")).unwrap();
    assert_eq!(manual.payments.capture, CaptureMode::Manual);
    assert!(
        Settings::parse(&format!("[payments]\ncapture = \"later\"\n{base}")).is_err(),
        "a typo is refused"
    );
}

#[test]
fn a_short_merchant_token_is_refused_and_never_printed() {
    assert!(error_of(&[("MERCHANT_TOKEN", "hunter2")]).starts_with("MERCHANT_TOKEN"));
    let env = Environment::from_env(
        &env(&[("MERCHANT_TOKEN", "a-long-enough-merchant-secret")]),
        Build {
            embedded_emulator: true,
            release: false,
        },
    )
    .unwrap();
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
    assert_eq!(
        e.stripe,
        StripeSetup::Embedded {
            addr: DEFAULT_EMULATOR_ADDR.parse().unwrap()
        }
    );
    assert_eq!(e.database_url, DEFAULT_DATABASE_URL);
    assert!(!e.secure_cookies());
}

#[test]
fn the_database_is_sqlite_or_postgresql_with_pool_settings_in_range() {
    let e = Environment::from_env(
        &env(&[
            ("DATABASE_URL", "postgres://shop@db:5432/shop"),
            ("DATABASE_MAX_CONNECTIONS", "32"),
        ]),
        DEV,
    )
    .unwrap();
    assert_eq!(e.database_url, "postgres://shop@db:5432/shop");
    assert_eq!(e.database_pool.max_connections, 32);
    assert_eq!(
        e.database_pool.acquire_timeout,
        std::time::Duration::from_secs(5)
    );
    assert!(error_of(&[("DATABASE_URL", "mysql://db/shop")]).starts_with("DATABASE_URL"));
    assert!(error_of(&[("DATABASE_MAX_CONNECTIONS", "0")]).starts_with("DATABASE_MAX_CONNECTIONS"));
    assert!(error_of(&[("DATABASE_ACQUIRE_TIMEOUT_MS", "soon")])
        .starts_with("DATABASE_ACQUIRE_TIMEOUT_MS"));
}

#[test]
fn pages_are_kept_unless_the_page_cache_is_off() {
    assert!(Environment::from_env(&env(&[]), DEV).unwrap().page_cache);
    assert!(
        !Environment::from_env(&env(&[("CHECKOUT_PAGE_CACHE", "OFF")]), DEV)
            .unwrap()
            .page_cache
    );
    assert!(error_of(&[("CHECKOUT_PAGE_CACHE", "sometimes")]).starts_with("CHECKOUT_PAGE_CACHE"));
}

#[test]
fn a_build_without_the_emulator_needs_keys() {
    let err = Environment::from_env(
        &env(&[]),
        Build {
            embedded_emulator: false,
            release: false,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("STRIPE_SECRET_KEY"), "{err}");
}

#[test]
fn one_key_without_the_other_names_the_missing_variable() {
    assert!(error_of(&[("STRIPE_SECRET_KEY", "sk_test_abc")]).starts_with("STRIPE_PUBLISHABLE_KEY"));
    assert!(error_of(&[("STRIPE_PUBLISHABLE_KEY", "pk_test_abc")]).starts_with("STRIPE_SECRET_KEY"));
}

#[test]
fn test_and_live_keys_do_not_mix() {
    let err = error_of(&[
        ("STRIPE_SECRET_KEY", "sk_test_abc"),
        ("STRIPE_PUBLISHABLE_KEY", "pk_live_abc"),
    ]);
    assert!(
        err.starts_with("STRIPE_PUBLISHABLE_KEY") && err.contains("live"),
        "{err}"
    );
}

#[test]
fn live_keys_need_https_everywhere() {
    let live = [
        ("STRIPE_SECRET_KEY", "sk_live_abc"),
        ("STRIPE_PUBLISHABLE_KEY", "pk_live_abc"),
    ];
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
    assert!(error_of(&[
        ("STRIPE_SECRET_KEY", "pk_test_abc"),
        ("STRIPE_PUBLISHABLE_KEY", "pk_test_abc")
    ])
    .starts_with("STRIPE_SECRET_KEY"));
}

#[test]
fn endpoints_without_keys_are_refused() {
    assert!(error_of(&[("STRIPE_JS_URL", "http://x/v3/")]).starts_with("STRIPE_JS_URL"));
}

#[test]
fn the_secret_key_is_redacted_from_debug_output() {
    let e = Environment::from_env(
        &env(&[
            ("STRIPE_SECRET_KEY", "sk_test_verysecret"),
            ("STRIPE_PUBLISHABLE_KEY", "pk_test_abc"),
        ]),
        DEV,
    )
    .unwrap();
    assert!(!format!("{e:?}").contains("verysecret"));
}
