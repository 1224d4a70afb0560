//! Keeps the emulated account on disk, so an app that embeds the emulator and restarts (as
//! `cargo leptos watch` does on every edit) finds its PaymentIntents where it left them.
//!
//! The whole account is one JSON file, rewritten (to a temporary file, then renamed) after
//! every request that may change it. Accounts here are small; a rename keeps the file whole
//! if the process dies mid-write.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::idempotency::KeptResult;
use crate::store::Store;

/// What survives a restart: objects, kept idempotent results and the clock's offset.
/// Faults do not: they are set by a test for the requests it is about to make.
#[derive(Serialize, Deserialize)]
pub struct Snapshot {
    pub store: Store,
    pub idempotency: Vec<KeptResult>,
    pub clock_offset_seconds: i64,
}

/// Reads a snapshot; a missing file is an empty account.
pub fn load(path: &Path) -> std::io::Result<Option<Snapshot>> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    serde_json::from_slice(&text).map(Some).map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, err))
}

/// Writes a snapshot in full, replacing the previous one atomically.
pub fn save(path: &Path, snapshot: &Snapshot) -> std::io::Result<()> {
    let text = serde_json::to_vec(snapshot).map_err(std::io::Error::other)?;
    let temporary = temporary_path(path);
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Every `&'static str` the emulator stores comes from a literal in its source (Stripe's
/// enum values, error codes, card brands). Reading them back maps each to that literal.
static KNOWN: &[&str] = &[
    // setup_future_usage, cancellation_reason (capture and confirmation methods are enums)
    "automatic", "automatic_async", "manual", "off_session", "on_session",
    "abandoned", "duplicate", "fraudulent", "requested_by_customer", "failed_invoice", "void_invoice", "expired_uncaptured_charge",
    // last_payment_error
    "card_error", "invalid_request_error", "card_declined", "expired_card", "incorrect_cvc", "authentication_required",
    "generic_decline", "insufficient_funds", "lost_card", "payment_intent_authentication_failure",
    // card brands
    "visa", "mastercard", "amex", "discover", "diners", "jcb", "unionpay", "unknown",
    // billing address fields
    "city", "country", "line1", "line2", "postal_code", "state",
];

/// The literal equal to `text`. A value this version never wrote (a file from a newer
/// emulator) is kept as it is, at the cost of one small allocation for the process's life.
pub fn intern(text: &str) -> &'static str {
    KNOWN.iter().copied().find(|k| *k == text).unwrap_or_else(|| Box::leak(text.to_owned().into_boxed_str()))
}

/// `&'static str` under another name: serde's derive borrows fields written `&'static str`
/// from the input (so the type could only be read from `'static` data); an alias it does
/// not recognise lets it read them as owned strings through [`static_str`].
pub type Literal = &'static str;

/// `#[serde(with = "static_str")]` for a `&'static str` field.
pub mod static_str {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &&'static str, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<&'static str, D::Error> {
        Ok(super::intern(&String::deserialize(deserializer)?))
    }
}

/// `#[serde(with = "optional_static_str")]` for an `Option<&'static str>` field.
pub mod optional_static_str {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<&'static str>, serializer: S) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<&'static str>, D::Error> {
        Ok(Option::<String>::deserialize(deserializer)?.map(|s| super::intern(&s)))
    }
}

/// `#[serde(with = "static_str_keys")]` for a map keyed by `&'static str`.
pub mod static_str_keys {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(value: &BTreeMap<&'static str, String>, serializer: S) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<&'static str, String>, D::Error> {
        Ok(BTreeMap::<String, String>::deserialize(deserializer)?.into_iter().map(|(k, v)| (super::intern(&k), v)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_map_back_to_their_literals() {
        assert!(std::ptr::eq(intern("manual"), KNOWN[2]));
        assert_eq!(intern("something_new"), "something_new");
    }

    #[test]
    fn a_saved_account_reads_back_whole() {
        let dir = std::env::temp_dir().join(format!("emulator-persist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        assert!(load(&path).unwrap().is_none(), "no file is an empty account");
        let mut store = Store::new("http://127.0.0.1:1");
        let now = 1_700_000_000;
        let form = crate::form::Form::parse(b"type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2034").unwrap();
        crate::resources::payment_method::create(&mut store, form, now).unwrap();
        save(&path, &Snapshot { store, idempotency: Vec::new(), clock_offset_seconds: 90_000 }).unwrap();
        let back = load(&path).unwrap().unwrap();
        assert_eq!(back.clock_offset_seconds, 90_000);
        let pm = back.store.payment_methods.values().next().unwrap();
        assert_eq!(pm.card.brand, "visa");
        assert_eq!(pm.card.last4(), "4242");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
