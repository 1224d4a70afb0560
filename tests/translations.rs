//! The translation files agree: every key of one language exists in the other, with the same
//! placeholders, and none is left empty or untranslated. (leptos_i18n would otherwise fall
//! back to English for a missing French key with only a build warning.)

use std::collections::BTreeMap;

use serde_json::Value;

const LOCALES: [&str; 2] = ["en", "fr"];

/// `page.title` → its text, for every leaf of a translation file.
fn flatten(prefix: &str, value: &Value, into: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, value, into);
            }
        }
        Value::String(text) => {
            into.insert(prefix.to_owned(), text.clone());
        }
        other => panic!("{prefix}: a translation is text, not {other}"),
    }
}

fn translations(locale: &str) -> BTreeMap<String, String> {
    let path = format!("{}/locales/{locale}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut keys = BTreeMap::new();
    flatten(
        "",
        &serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}")),
        &mut keys,
    );
    keys
}

/// `Pay {{ amount }}` → `["amount"]`.
fn placeholders(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .split("{{")
        .skip(1)
        .filter_map(|s| s.split_once("}}"))
        .map(|(name, _)| name.trim().to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_translation_key_exists_in_both_languages_with_the_same_placeholders() {
    let [en, fr] = LOCALES.map(translations);
    let only = |a: &BTreeMap<String, String>, b: &BTreeMap<String, String>| {
        a.keys()
            .filter(|k| !b.contains_key(*k))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        only(&en, &fr),
        Vec::<String>::new(),
        "keys missing from fr.json"
    );
    assert_eq!(
        only(&fr, &en),
        Vec::<String>::new(),
        "keys missing from en.json"
    );
    for (key, english) in &en {
        let french = &fr[key];
        assert!(
            !english.trim().is_empty() && !french.trim().is_empty(),
            "{key} is empty"
        );
        assert_eq!(
            placeholders(english),
            placeholders(french),
            "{key}: the languages interpolate different values"
        );
    }
}

#[test]
fn french_is_translated_rather_than_copied() {
    let [en, fr] = LOCALES.map(translations);
    // Words that read the same in both languages.
    let same_in_both = ["summary.total"];
    let copied: Vec<&String> = en
        .iter()
        .filter(|(k, v)| fr.get(*k) == Some(*v) && !same_in_both.contains(&k.as_str()))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        copied,
        Vec::<&String>::new(),
        "French texts identical to the English"
    );
}
