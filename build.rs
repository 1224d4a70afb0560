//! Compiles the translations (locales/en.json, locales/fr.json) into the `i18n` module with
//! leptos_i18n's own parser and code generator: what its `leptos_i18n_build` crate does,
//! without the ICU data tooling (hundreds of build crates) this checkout does not use.

use std::path::PathBuf;

use leptos_i18n_parser::parse_locales::options::{Config, ParseOptions};
use leptos_i18n_parser::parse_locales::parse_locales;

/// The languages, one file each in locales/; the first is where a missing key falls back.
const LOCALES: [&str; 2] = ["en", "fr"];

fn main() {
    println!("cargo::rerun-if-changed=locales");
    let config = LOCALES[1..]
        .iter()
        .try_fold(
            Config::new(LOCALES[0]).expect("a locale name"),
            |config, locale| config.add_locale(locale),
        )
        .expect("locale names")
        // Interpolated values in plain strings (attributes, the page title, error messages).
        .parse_options(ParseOptions::new().interpolate_display(true));
    let parsed = parse_locales(None, config).unwrap_or_else(|err| panic!("locales/: {err}"));
    for warning in parsed.diag.warnings().iter() {
        println!("cargo::warning=locales/: {warning}");
    }
    let code = leptos_i18n_codegen::gen_code(&parsed, None, false, None, false)
        .unwrap_or_else(|err| panic!("locales/: {err}"));
    let dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("i18n");
    std::fs::create_dir_all(&dir).expect("OUT_DIR/i18n");
    std::fs::write(dir.join("mod.rs"), code.to_string()).expect("OUT_DIR/i18n/mod.rs");
}
