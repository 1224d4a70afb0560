//! Keeps the emulated account on disk, so an app that embeds the emulator and restarts (as
//! `cargo leptos watch` does on every edit) finds its PaymentIntents where it left them.
//!
//! Two files: a snapshot of the whole account (written to a temporary file, then renamed, so
//! it is whole if the process dies mid-write), and beside it a journal to which each request
//! that changed something appends one line: the objects it changed, whole. A request's cost
//! is then its own change, not the account's size. When the journal outgrows the snapshot, a
//! new snapshot replaces both. Every save is numbered: a journal line at or below the
//! snapshot's number is already in it (a snapshot written just before the process died,
//! with the journal not yet removed).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::idempotency::KeptResult;
use crate::store::{Changes, Store};

/// What survives a restart: objects, kept idempotent results and the clock's offset.
/// Faults do not: they are set by a test for the requests it is about to make.
#[derive(Serialize, Deserialize)]
pub struct Snapshot {
    pub store: Store,
    pub idempotency: Vec<KeptResult>,
    pub clock_offset_seconds: i64,
    /// The number of the last save it holds (0 in files written before the journal).
    #[serde(default)]
    pub generation: u64,
}

/// One journal line: what one save found changed.
#[derive(Serialize, Deserialize)]
pub struct JournalEntry {
    pub generation: u64,
    pub changes: Changes,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<KeptResult>,
    pub clock_offset_seconds: i64,
}

/// Reads the account: the snapshot, then the journal's lines saved after it. Nothing on disk
/// is an empty account. A last journal line cut short (the machine lost power while it was
/// written) is left out; any other unreadable line makes the account unreadable.
pub fn load(path: &Path) -> std::io::Result<Option<Snapshot>> {
    let snapshot = match std::fs::read(path) {
        Ok(text) => Some(serde_json::from_slice::<Snapshot>(&text).map_err(invalid)?),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(err),
    };
    let journal = match std::fs::read(journal_path(path)) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(snapshot),
        Err(err) => return Err(err),
    };
    let mut account = snapshot.unwrap_or_else(|| Snapshot {
        store: Store::default(),
        idempotency: Vec::new(),
        clock_offset_seconds: 0,
        generation: 0,
    });
    // By key, so replaying many lines over many kept results stays linear.
    let mut kept: HashMap<String, KeptResult> = account
        .idempotency
        .drain(..)
        .map(|k| (k.key.clone(), k))
        .collect();
    let lines: Vec<&[u8]> = journal
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    for (n, line) in lines.iter().enumerate() {
        match serde_json::from_slice::<JournalEntry>(line) {
            Ok(entry) if entry.generation > account.generation => {
                account.store.apply(entry.changes);
                kept.extend(entry.kept.into_iter().map(|k| (k.key.clone(), k)));
                account.clock_offset_seconds = entry.clock_offset_seconds;
                account.generation = entry.generation;
            }
            Ok(_) => {}
            Err(err) if n + 1 == lines.len() && !journal.ends_with(b"\n") => {
                tracing::warn!(path = %journal_path(path).display(), %err, "stripe-emulator: the journal's last line was cut short; left out");
            }
            Err(err) => return Err(invalid(err)),
        }
    }
    account.idempotency = kept.into_values().collect();
    Ok(Some(account))
}

/// Writes a snapshot in full, replacing the previous one atomically, then removes the
/// journal it holds. The snapshot's size in bytes.
pub fn save(path: &Path, snapshot: &Snapshot) -> std::io::Result<u64> {
    let text = serde_json::to_vec(snapshot).map_err(std::io::Error::other)?;
    let temporary = temporary_path(path);
    std::fs::write(&temporary, &text)?;
    std::fs::rename(&temporary, path)?;
    match std::fs::remove_file(journal_path(path)) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    Ok(text.len() as u64)
}

/// Appends one line to the journal; the bytes written.
pub fn append(path: &Path, entry: &JournalEntry) -> std::io::Result<u64> {
    let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut journal = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(journal_path(path))?;
    journal.write_all(&line)?;
    Ok(line.len() as u64)
}

/// The journal beside the snapshot `path`: `<name>.journal`.
pub fn journal_path(path: &Path) -> PathBuf {
    with_suffix(path, ".journal")
}

fn temporary_path(path: &Path) -> PathBuf {
    with_suffix(path, ".tmp")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

fn invalid(err: serde_json::Error) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, err)
}

/// Every `&'static str` the emulator stores comes from a literal in its source (Stripe's
/// enum values, error codes, card brands). Reading them back maps each to that literal.
static KNOWN: &[&str] = &[
    // setup_future_usage, cancellation_reason (capture and confirmation methods are enums)
    "automatic",
    "automatic_async",
    "manual",
    "off_session",
    "on_session",
    "abandoned",
    "duplicate",
    "fraudulent",
    "requested_by_customer",
    "failed_invoice",
    "void_invoice",
    "expired_uncaptured_charge",
    // last_payment_error
    "card_error",
    "invalid_request_error",
    "card_declined",
    "expired_card",
    "incorrect_cvc",
    "authentication_required",
    "generic_decline",
    "insufficient_funds",
    "lost_card",
    "payment_intent_authentication_failure",
    // card brands
    "visa",
    "mastercard",
    "amex",
    "discover",
    "diners",
    "jcb",
    "unionpay",
    "unknown",
    // billing address fields
    "city",
    "country",
    "line1",
    "line2",
    "postal_code",
    "state",
];

/// The literal equal to `text`. A value this version never wrote (a file from a newer
/// emulator) is kept as it is, at the cost of one small allocation for the process's life.
pub fn intern(text: &str) -> &'static str {
    KNOWN
        .iter()
        .copied()
        .find(|k| *k == text)
        .unwrap_or_else(|| Box::leak(text.to_owned().into_boxed_str()))
}

/// `&'static str` under another name: serde's derive borrows fields written `&'static str`
/// from the input (so the type could only be read from `'static` data); an alias it does
/// not recognise lets it read them as owned strings through [`static_str`].
pub type Literal = &'static str;

/// `#[serde(with = "static_str")]` for a `&'static str` field.
pub mod static_str {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        value: &&'static str,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<&'static str, D::Error> {
        Ok(super::intern(&String::deserialize(deserializer)?))
    }
}

/// `#[serde(with = "optional_static_str")]` for an `Option<&'static str>` field.
pub mod optional_static_str {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<&'static str>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<&'static str>, D::Error> {
        Ok(Option::<String>::deserialize(deserializer)?.map(|s| super::intern(&s)))
    }
}

/// `#[serde(with = "static_str_keys")]` for a map keyed by `&'static str`.
pub mod static_str_keys {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        value: &BTreeMap<&'static str, String>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<&'static str, String>, D::Error> {
        Ok(BTreeMap::<String, String>::deserialize(deserializer)?
            .into_iter()
            .map(|(k, v)| (super::intern(&k), v))
            .collect())
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
        assert!(
            load(&path).unwrap().is_none(),
            "no file is an empty account"
        );
        let mut store = Store::new("http://127.0.0.1:1");
        let now = 1_700_000_000;
        let form = crate::form::Form::parse(
            b"type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2034",
        )
        .unwrap();
        crate::resources::payment_method::create(&mut store, form, now).unwrap();
        save(
            &path,
            &Snapshot {
                store,
                idempotency: Vec::new(),
                clock_offset_seconds: 90_000,
                generation: 1,
            },
        )
        .unwrap();
        let back = load(&path).unwrap().unwrap();
        assert_eq!(back.clock_offset_seconds, 90_000);
        let pm = back.store.payment_methods.values().next().unwrap();
        assert_eq!(pm.card.brand, "visa");
        assert_eq!(pm.card.last4(), "4242");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_journal_replays_over_the_snapshot_what_it_does_not_hold_yet() {
        let dir = std::env::temp_dir().join(format!("emulator-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        let card = |store: &mut Store, number: &str| {
            let form = crate::form::Form::parse(
                format!("type=card&card[number]={number}&card[exp_month]=12&card[exp_year]=2034")
                    .as_bytes(),
            )
            .unwrap();
            crate::resources::payment_method::create(store, form, 1_700_000_000).unwrap();
            store.take_changes()
        };
        let mut store = Store::new("http://127.0.0.1:1");
        let first = card(&mut store, "4242424242424242");
        let entry = |generation, changes, offset| JournalEntry {
            generation,
            changes,
            kept: Vec::new(),
            clock_offset_seconds: offset,
        };
        save(
            &path,
            &Snapshot {
                store: store.clone(),
                idempotency: Vec::new(),
                clock_offset_seconds: 20,
                generation: 2,
            },
        )
        .unwrap();
        assert!(
            !journal_path(&path).exists(),
            "a snapshot replaces the journal"
        );
        // Lines the snapshot already holds (the process died before it removed the journal):
        // skipped, not replayed over it.
        append(&path, &entry(1, first, 10)).unwrap();
        append(&path, &entry(2, Changes::default(), 10)).unwrap();
        let stale = load(&path).unwrap().unwrap();
        assert_eq!(
            (
                stale.generation,
                stale.clock_offset_seconds,
                stale.store.payment_methods.len()
            ),
            (2, 20, 1)
        );
        let second = card(&mut store, "5555555555554444");
        append(&path, &entry(3, second, 30)).unwrap();
        let back = load(&path).unwrap().unwrap();
        assert_eq!(
            (
                back.generation,
                back.clock_offset_seconds,
                back.store.payment_methods.len()
            ),
            (3, 30, 2)
        );

        // A last line cut short is left out; a broken line before it is an error.
        let mut journal = std::fs::OpenOptions::new()
            .append(true)
            .open(journal_path(&path))
            .unwrap();
        journal.write_all(br#"{"generation":4,"chan"#).unwrap();
        assert_eq!(load(&path).unwrap().unwrap().generation, 3);
        journal.write_all(b"\n").unwrap();
        append(&path, &entry(5, Changes::default(), 30)).unwrap();
        assert_eq!(
            load(&path).err().map(|e| e.kind()),
            Some(std::io::ErrorKind::InvalidData)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
