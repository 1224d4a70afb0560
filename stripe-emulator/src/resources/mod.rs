//! One module per Stripe resource: its record, its transitions and its JSON.

pub mod charge;
pub mod customer;
pub mod list;
pub mod payment_intent;
pub mod payment_method;
pub mod refund;

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// Stripe's `metadata` update rule: an empty value deletes the key.
pub fn merge_metadata(target: &mut BTreeMap<String, String>, update: BTreeMap<String, String>) {
    for (k, v) in update {
        if v.is_empty() {
            target.remove(&k);
        } else {
            target.insert(k, v);
        }
    }
}

/// Drops empty values given at creation (Stripe ignores them there too).
pub fn fresh_metadata(given: Option<BTreeMap<String, String>>) -> BTreeMap<String, String> {
    given
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

pub fn metadata_json(metadata: &BTreeMap<String, String>) -> Value {
    json!(metadata)
}
