//! Stripe's object locks: while a write executes on an object (a PaymentIntent confirmed,
//! captured, refunded…), another write to it is refused with `429 lock_timeout` instead of
//! waiting, and executes nothing. Stripe waits a moment for the lock before refusing; the
//! emulator refuses at once, so a client that handles the refusal handles Stripe's too.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, Default)]
pub struct ObjectLocks {
    held: Mutex<HashSet<String>>,
}

/// The lock on one object, given back when dropped.
#[derive(Debug)]
pub struct ObjectLock<'a> {
    locks: &'a ObjectLocks,
    object: String,
}

impl ObjectLocks {
    /// The object's lock, or `None` while another request holds it.
    pub fn take(&self, object: &str) -> Option<ObjectLock<'_>> {
        self.held().insert(object.to_owned()).then(|| ObjectLock {
            locks: self,
            object: object.to_owned(),
        })
    }

    fn held(&self) -> MutexGuard<'_, HashSet<String>> {
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for ObjectLock<'_> {
    fn drop(&mut self) {
        self.locks.held().remove(&self.object);
    }
}

#[cfg(test)]
mod tests {
    use super::ObjectLocks;

    #[test]
    fn one_writer_at_a_time_per_object() {
        let locks = ObjectLocks::default();
        let first = locks.take("pi_1").expect("free");
        assert!(locks.take("pi_1").is_none(), "held by the first");
        assert!(
            locks.take("pi_2").is_some(),
            "another object is another lock"
        );
        drop(first);
        assert!(locks.take("pi_1").is_some(), "given back");
    }
}
