//! Stripe's test cards as one table: what each number does when charged.
//! Behaviour follows https://docs.stripe.com/testing. Any other Luhn-valid number succeeds.

/// Why a charge is declined, with the `code`, `decline_code` and message Stripe sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Decline {
    Generic,
    InsufficientFunds,
    LostCard,
    ExpiredCard,
    IncorrectCvc,
    /// An off-session payment that would need the cardholder (Stripe: `authentication_required`).
    AuthenticationRequired,
}

impl Decline {
    pub fn code(self) -> &'static str {
        match self {
            Decline::ExpiredCard => "expired_card",
            Decline::IncorrectCvc => "incorrect_cvc",
            Decline::AuthenticationRequired => "authentication_required",
            _ => "card_declined",
        }
    }

    pub fn decline_code(self) -> &'static str {
        match self {
            Decline::Generic => "generic_decline",
            Decline::InsufficientFunds => "insufficient_funds",
            Decline::LostCard => "lost_card",
            Decline::ExpiredCard => "expired_card",
            Decline::IncorrectCvc => "incorrect_cvc",
            Decline::AuthenticationRequired => "authentication_required",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Decline::Generic | Decline::LostCard => "Your card was declined.",
            Decline::InsufficientFunds => "Your card has insufficient funds.",
            Decline::ExpiredCard => "Your card has expired.",
            Decline::IncorrectCvc => "Your card's security code is incorrect.",
            Decline::AuthenticationRequired => {
                "Your card was declined. This transaction requires authentication."
            }
        }
    }

    /// The parameter Stripe blames, where it names one.
    pub fn param(self) -> Option<&'static str> {
        match self {
            Decline::IncorrectCvc => Some("cvc"),
            Decline::ExpiredCard => Some("exp_month"),
            _ => None,
        }
    }
}

/// What happens when a card is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Succeeds,
    /// 3-D Secure on session; off session succeeds once the card was saved for it (3155).
    AuthenticateUnlessSetUp,
    /// 3-D Secure on every payment (3220, 3063).
    AuthenticateAlways,
    /// 3-D Secure, then the charge is declined (3178).
    AuthenticateThenDecline(Decline),
    Declines(Decline),
    /// Emulator only: the bank takes its time. The intent stays `processing` for
    /// [`PROCESSING_SECONDS`] of the emulator's clock, then succeeds.
    ProcessingThenSucceeds,
}

/// How long [`Behaviour::ProcessingThenSucceeds`] keeps an intent in `processing`.
pub const PROCESSING_SECONDS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestCard {
    pub number: &'static str,
    /// Stripe's test PaymentMethod id for the same card (`payment_method=pm_card_visa`).
    pub token: Option<&'static str>,
    pub behaviour: Behaviour,
}

pub const TEST_CARDS: &[TestCard] = &[
    TestCard {
        number: "4242424242424242",
        token: Some("pm_card_visa"),
        behaviour: Behaviour::Succeeds,
    },
    TestCard {
        number: "5555555555554444",
        token: Some("pm_card_mastercard"),
        behaviour: Behaviour::Succeeds,
    },
    TestCard {
        number: "4000002500003155",
        token: Some("pm_card_authenticationRequiredOnSetup"),
        behaviour: Behaviour::AuthenticateUnlessSetUp,
    },
    TestCard {
        number: "4000002760003184",
        token: Some("pm_card_authenticationRequired"),
        behaviour: Behaviour::AuthenticateAlways,
    },
    TestCard {
        number: "4000000000003220",
        token: Some("pm_card_threeDSecure2Required"),
        behaviour: Behaviour::AuthenticateAlways,
    },
    TestCard {
        number: "4000000000003063",
        token: Some("pm_card_threeDSecureRequired"),
        behaviour: Behaviour::AuthenticateAlways,
    },
    TestCard {
        number: "4000008260003178",
        token: Some("pm_card_authenticationRequiredChargeDeclinedInsufficientFunds"),
        behaviour: Behaviour::AuthenticateThenDecline(Decline::InsufficientFunds),
    },
    TestCard {
        number: "4000000000009995",
        token: Some("pm_card_visa_chargeDeclinedInsufficientFunds"),
        behaviour: Behaviour::Declines(Decline::InsufficientFunds),
    },
    TestCard {
        number: "4000000000000002",
        token: Some("pm_card_visa_chargeDeclined"),
        behaviour: Behaviour::Declines(Decline::Generic),
    },
    TestCard {
        number: "4000000000009987",
        token: Some("pm_card_visa_chargeDeclinedLostCard"),
        behaviour: Behaviour::Declines(Decline::LostCard),
    },
    TestCard {
        number: "4000000000000069",
        token: Some("pm_card_chargeDeclinedExpiredCard"),
        behaviour: Behaviour::Declines(Decline::ExpiredCard),
    },
    TestCard {
        number: "4000000000000127",
        token: Some("pm_card_chargeDeclinedIncorrectCvc"),
        behaviour: Behaviour::Declines(Decline::IncorrectCvc),
    },
    // Not one of Stripe's: cards settle synchronously there, but a checkout without webhooks
    // must still bring a `processing` payment to its end.
    TestCard {
        number: "4000009999000014",
        token: Some("pm_card_emulatorProcessing"),
        behaviour: Behaviour::ProcessingThenSucceeds,
    },
];

/// How a number behaves when charged; numbers outside the table succeed.
pub fn behaviour_of(number: &str) -> Behaviour {
    TEST_CARDS
        .iter()
        .find(|c| c.number == number)
        .map_or(Behaviour::Succeeds, |c| c.behaviour)
}

/// The card behind one of Stripe's `pm_card_…` test ids.
pub fn card_for_token(token: &str) -> Option<&'static TestCard> {
    TEST_CARDS.iter().find(|c| c.token == Some(token))
}

/// The Luhn checksum every real card number passes.
pub fn luhn_valid(number: &str) -> bool {
    if number.len() < 12 || number.len() > 19 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = number
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 {
                    d2 - 9
                } else {
                    d2
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Card brand from the number's prefix, with Stripe's brand names.
pub fn brand_of(number: &str) -> &'static str {
    let prefix = |n: usize| {
        number
            .get(..n)
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(0)
    };
    match () {
        _ if number.starts_with('4') => "visa",
        _ if (51..=55).contains(&prefix(2)) || (2221..=2720).contains(&prefix(4)) => "mastercard",
        _ if prefix(2) == 34 || prefix(2) == 37 => "amex",
        _ if number.starts_with("6011")
            || number.starts_with("65")
            || (644..=649).contains(&prefix(3)) =>
        {
            "discover"
        }
        _ if (3528..=3589).contains(&prefix(4)) => "jcb",
        _ if prefix(2) == 36 || prefix(2) == 38 || (300..=305).contains(&prefix(3)) => "diners",
        _ if number.starts_with("62") => "unionpay",
        _ => "unknown",
    }
}

/// The length of the security code Stripe expects for a brand.
pub fn cvc_length(brand: &str) -> usize {
    if brand == "amex" {
        4
    } else {
        3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_card_passes_luhn() {
        for card in TEST_CARDS {
            assert!(luhn_valid(card.number), "{}", card.number);
        }
    }

    #[test]
    fn luhn_rejects_a_changed_digit_and_non_digits() {
        assert!(!luhn_valid("4242424242424241"));
        assert!(!luhn_valid("4242 4242 4242 4242"));
        assert!(!luhn_valid("42"));
    }

    #[test]
    fn brands_follow_prefixes() {
        assert_eq!(brand_of("4242424242424242"), "visa");
        assert_eq!(brand_of("5555555555554444"), "mastercard");
        assert_eq!(brand_of("2223003122003222"), "mastercard");
        assert_eq!(brand_of("378282246310005"), "amex");
        assert_eq!(brand_of("6011111111111117"), "discover");
    }

    #[test]
    fn unknown_luhn_valid_numbers_succeed() {
        assert_eq!(behaviour_of("4111111111111111"), Behaviour::Succeeds);
        assert_eq!(
            behaviour_of("4000000000009995"),
            Behaviour::Declines(Decline::InsufficientFunds)
        );
    }
}
