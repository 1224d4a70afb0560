//! Stripe-style identifiers: a resource prefix and 24 random alphanumerics.

use rand::{distr::Alphanumeric, Rng};

fn random_tail(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A new id such as `pi_3Pq…` for `prefix = "pi"`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", random_tail(24))
}

/// A PaymentIntent client secret: `{id}_secret_{random}`, as Stripe forms it.
pub fn client_secret(payment_intent_id: &str) -> String {
    format!("{payment_intent_id}_secret_{}", random_tail(25))
}

/// A request id sent back as `Request-Id` on every response.
pub fn request_id() -> String {
    format!("req_{}", random_tail(14))
}

/// A stable card fingerprint: the same number always gives the same value, as with Stripe.
pub fn fingerprint(number: &str) -> String {
    // FNV-1a, then mapped onto Stripe's 16-character alphanumeric form.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in number.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..16)
        .map(|i| {
            let h = hash.rotate_left(i * 4).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            ALPHABET[(h % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_prefix_and_differ() {
        let a = new_id("pi");
        assert!(a.starts_with("pi_") && a.len() == 27);
        assert_ne!(a, new_id("pi"));
    }

    #[test]
    fn client_secrets_start_with_the_intent_id() {
        assert!(client_secret("pi_123").starts_with("pi_123_secret_"));
    }

    #[test]
    fn fingerprints_are_sixteen_letters_or_digits_and_tell_numbers_apart() {
        let prints: std::collections::HashSet<String> = (0..2000u64)
            .map(|n| fingerprint(&format!("4000{n:012}")))
            .collect();
        assert_eq!(prints.len(), 2000, "no two numbers share a fingerprint");
        assert!(prints
            .iter()
            .all(|p| p.len() == 16 && p.bytes().all(|b| b.is_ascii_alphanumeric())));
    }
}
