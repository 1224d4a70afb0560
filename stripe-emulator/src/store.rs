//! The emulated account: every object, by id, behind one lock. Operations are short and
//! synchronous, so one mutex keeps every transition atomic (two confirms never interleave).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::resources::{
    charge::Charge, customer::Customer, payment_intent::PaymentIntent,
    payment_method::PaymentMethod, refund::Refund,
};

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Store {
    /// Where this emulator is reached; Stripe.js follows `next_action` URLs built on it.
    /// Not saved: a restarted emulator may listen elsewhere.
    #[serde(skip)]
    pub base_url: String,
    pub payment_methods: Objects<PaymentMethod>,
    pub payment_intents: Objects<PaymentIntent>,
    pub customers: Objects<Customer>,
    pub charges: Objects<Charge>,
    pub refunds: Objects<Refund>,
    /// Creation order, so lists come newest first even within one second.
    next_seq: u64,
}

/// One kind of object, by id, remembering which ids were changed (inserted or borrowed
/// mutably) since the account was last saved, so a save writes those only.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Objects<T> {
    by_id: HashMap<String, T>,
    #[serde(skip)]
    changed: HashSet<String>,
}

impl<T> Default for Objects<T> {
    fn default() -> Self {
        Objects {
            by_id: HashMap::new(),
            changed: HashSet::new(),
        }
    }
}

impl<T: Clone> Objects<T> {
    pub fn get(&self, id: &str) -> Option<&T> {
        self.by_id.get(id)
    }

    /// The object, counted as changed.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        let object = self.by_id.get_mut(id)?;
        self.changed.insert(id.to_owned());
        Some(object)
    }

    pub fn insert(&mut self, id: String, object: T) {
        self.changed.insert(id.clone());
        self.by_id.insert(id, object);
    }

    pub fn contains_key(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.by_id.keys()
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.by_id.values()
    }

    /// The objects changed since the last call, as they are now.
    fn take_changed(&mut self) -> HashMap<String, T> {
        let by_id = &self.by_id;
        self.changed
            .drain()
            .filter_map(|id| by_id.get(&id).map(|o| (id, o.clone())))
            .collect()
    }

    /// Takes in objects read back from a save, newest last.
    fn absorb(&mut self, objects: HashMap<String, T>) {
        self.by_id.extend(objects);
    }
}

/// What changed in the account since it was last saved: the changed objects, whole.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Changes {
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub payment_methods: HashMap<String, PaymentMethod>,
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub payment_intents: HashMap<String, PaymentIntent>,
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub customers: HashMap<String, Customer>,
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub charges: HashMap<String, Charge>,
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub refunds: HashMap<String, Refund>,
    pub next_seq: u64,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.payment_methods.is_empty()
            && self.payment_intents.is_empty()
            && self.customers.is_empty()
            && self.charges.is_empty()
            && self.refunds.is_empty()
    }
}

impl Store {
    /// An empty account reached at `base_url`.
    pub fn new(base_url: &str) -> Store {
        Store {
            base_url: base_url.to_owned(),
            ..Default::default()
        }
    }

    pub fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// The objects changed since the last call (every object counts as saved after it).
    pub fn take_changes(&mut self) -> Changes {
        Changes {
            payment_methods: self.payment_methods.take_changed(),
            payment_intents: self.payment_intents.take_changed(),
            customers: self.customers.take_changed(),
            charges: self.charges.take_changed(),
            refunds: self.refunds.take_changed(),
            next_seq: self.next_seq,
        }
    }

    /// Applies changes read back from a save, in the order they were saved.
    pub fn apply(&mut self, changes: Changes) {
        self.payment_methods.absorb(changes.payment_methods);
        self.payment_intents.absorb(changes.payment_intents);
        self.customers.absorb(changes.customers);
        self.charges.absorb(changes.charges);
        self.refunds.absorb(changes.refunds);
        self.next_seq = self.next_seq.max(changes.next_seq);
    }

    /// Counts nothing as changed (a whole account was just saved or read back).
    pub fn forget_changes(&mut self) {
        self.payment_methods.changed.clear();
        self.payment_intents.changed.clear();
        self.customers.changed.clear();
        self.charges.changed.clear();
        self.refunds.changed.clear();
    }
}
