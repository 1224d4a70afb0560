//! The emulated account: every object, by id, behind one lock. Operations are short and
//! synchronous, so one mutex keeps every transition atomic (two confirms never interleave).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::resources::{
    charge::Charge, customer::Customer, payment_intent::PaymentIntent, payment_method::PaymentMethod,
    refund::Refund,
};

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Store {
    /// Where this emulator is reached; Stripe.js follows `next_action` URLs built on it.
    /// Not saved: a restarted emulator may listen elsewhere.
    #[serde(skip)]
    pub base_url: String,
    pub payment_methods: HashMap<String, PaymentMethod>,
    pub payment_intents: HashMap<String, PaymentIntent>,
    pub customers: HashMap<String, Customer>,
    pub charges: HashMap<String, Charge>,
    pub refunds: HashMap<String, Refund>,
    /// Creation order, so lists come newest first even within one second.
    next_seq: u64,
}

impl Store {
    /// An empty account reached at `base_url`.
    pub fn new(base_url: &str) -> Store {
        Store { base_url: base_url.to_owned(), ..Default::default() }
    }

    pub fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
}
