//! Every way a checkout step can fail, each with the message a shopper understands.
//! Raw internals (Stripe's messages for our bugs, database errors) never reach the browser:
//! they are logged on the server and become `Internal`.

use crate::i18n::{td_string, Locale};
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckoutError {
    UnknownProduct,
    InvalidQuantity,
    EmptyCart,
    OrderTooLarge,
    SessionExpired,
    AlreadyPaid,
    PaymentInProgress,
    CartFrozen,
    UnderReview,
    PaymentCanceled,
    InvalidPaymentMethod,
    InvalidEmail,
    SavedCardUnknown,
    OrderClosed,
    NotYourPayment,
    /// A decline, with its reason (see [`CheckoutError::declined`]).
    Declined(DeclineReason),
    AuthenticationFailed,
    AuthenticationExpired,
    PaymentServiceUnavailable,
    /// Too many payment attempts on this order or from this address (card-testing defence):
    /// try again after this many seconds.
    TooManyAttempts(u32),
    /// The order database did not answer (a lost connection, all connections busy): nothing
    /// was decided, and trying again is safe.
    ShopUnavailable,
    /// Stripe.js's own message for what was typed: written for shoppers, in the page's
    /// language (Stripe.js is given the locale).
    Card(String),
    PaymentFormUnavailable,
    Network,
    BadRequest,
    CrossSite,
    Internal,
}

/// Why a card was declined, as far as the shopper is told: a lost or stolen card, fraud
/// suspicions and the like are a plain `Generic` decline, as Stripe advises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeclineReason {
    InsufficientFunds,
    ExpiredCard,
    IncorrectCvc,
    IncorrectNumber,
    InvalidExpiry,
    AuthenticationRequired,
    ProcessingError,
    SpendingLimit,
    Generic,
}

impl DeclineReason {
    /// From Stripe's `decline_code`, else its `code`.
    pub fn from_stripe(code: Option<&str>, decline_code: Option<&str>) -> DeclineReason {
        match decline_code.or(code).unwrap_or("card_declined") {
            "insufficient_funds" => DeclineReason::InsufficientFunds,
            "expired_card" => DeclineReason::ExpiredCard,
            "incorrect_cvc" | "invalid_cvc" => DeclineReason::IncorrectCvc,
            "incorrect_number" | "invalid_number" => DeclineReason::IncorrectNumber,
            "invalid_expiry_month" | "invalid_expiry_year" => DeclineReason::InvalidExpiry,
            "authentication_required" => DeclineReason::AuthenticationRequired,
            "processing_error" => DeclineReason::ProcessingError,
            "card_velocity_exceeded" | "withdrawal_count_limit_exceeded" => {
                DeclineReason::SpendingLimit
            }
            _ => DeclineReason::Generic,
        }
    }

    /// Stripe's name for it (logs, and the back office's record of an off-session charge).
    pub fn code(self) -> &'static str {
        match self {
            DeclineReason::InsufficientFunds => "insufficient_funds",
            DeclineReason::ExpiredCard => "expired_card",
            DeclineReason::IncorrectCvc => "incorrect_cvc",
            DeclineReason::IncorrectNumber => "incorrect_number",
            DeclineReason::InvalidExpiry => "invalid_expiry",
            DeclineReason::AuthenticationRequired => "authentication_required",
            DeclineReason::ProcessingError => "processing_error",
            DeclineReason::SpendingLimit => "card_velocity_exceeded",
            DeclineReason::Generic => "card_declined",
        }
    }

    pub fn message(self, locale: Locale) -> String {
        match self {
            DeclineReason::InsufficientFunds => td_string!(locale, declines.insufficient_funds),
            DeclineReason::ExpiredCard => td_string!(locale, declines.expired_card),
            DeclineReason::IncorrectCvc => td_string!(locale, declines.incorrect_cvc),
            DeclineReason::IncorrectNumber => td_string!(locale, declines.incorrect_number),
            DeclineReason::InvalidExpiry => td_string!(locale, declines.invalid_expiry),
            DeclineReason::AuthenticationRequired => {
                td_string!(locale, declines.authentication_required)
            }
            DeclineReason::ProcessingError => td_string!(locale, declines.processing_error),
            DeclineReason::SpendingLimit => td_string!(locale, declines.spending_limit),
            DeclineReason::Generic => td_string!(locale, declines.generic),
        }
        .to_string()
    }
}

impl CheckoutError {
    /// A card decline, from Stripe's `code` and `decline_code`.
    pub fn declined(code: Option<&str>, decline_code: Option<&str>) -> CheckoutError {
        CheckoutError::Declined(DeclineReason::from_stripe(code, decline_code))
    }

    /// What the shopper reads, in their language.
    pub fn message(&self, locale: Locale) -> String {
        let text = match self {
            CheckoutError::Declined(reason) => return reason.message(locale),
            CheckoutError::Card(message) => return message.clone(),
            CheckoutError::InvalidQuantity => {
                return td_string!(
                    locale,
                    errors.invalid_quantity,
                    max = super::catalogue::MAX_QUANTITY
                )
                .to_string()
            }
            CheckoutError::UnknownProduct => td_string!(locale, errors.unknown_product),
            CheckoutError::EmptyCart => td_string!(locale, errors.empty_cart),
            CheckoutError::OrderTooLarge => td_string!(locale, errors.order_too_large),
            CheckoutError::SessionExpired => td_string!(locale, errors.session_expired),
            CheckoutError::AlreadyPaid => td_string!(locale, errors.already_paid),
            CheckoutError::PaymentInProgress => td_string!(locale, errors.payment_in_progress),
            CheckoutError::CartFrozen => td_string!(locale, errors.cart_frozen),
            CheckoutError::UnderReview => td_string!(locale, errors.under_review),
            CheckoutError::PaymentCanceled => td_string!(locale, errors.payment_canceled),
            CheckoutError::InvalidPaymentMethod => {
                td_string!(locale, errors.invalid_payment_method)
            }
            CheckoutError::InvalidEmail => td_string!(locale, errors.invalid_email),
            CheckoutError::SavedCardUnknown => td_string!(locale, errors.saved_card_unknown),
            CheckoutError::OrderClosed => td_string!(locale, errors.order_closed),
            CheckoutError::NotYourPayment => td_string!(locale, errors.not_your_payment),
            CheckoutError::AuthenticationFailed => td_string!(locale, errors.authentication_failed),
            CheckoutError::AuthenticationExpired => {
                td_string!(locale, errors.authentication_expired)
            }
            CheckoutError::PaymentServiceUnavailable => {
                td_string!(locale, errors.payment_service_unavailable)
            }
            CheckoutError::ShopUnavailable => td_string!(locale, errors.shop_unavailable),
            CheckoutError::TooManyAttempts(retry_after) => match retry_after.div_ceil(60) {
                0 | 1 => td_string!(locale, errors.too_many_attempts_minute),
                minutes => {
                    return td_string!(locale, errors.too_many_attempts, minutes).to_string()
                }
            },
            CheckoutError::PaymentFormUnavailable => {
                td_string!(locale, errors.payment_form_unavailable)
            }
            CheckoutError::Network => td_string!(locale, errors.network),
            CheckoutError::BadRequest => td_string!(locale, errors.bad_request),
            CheckoutError::CrossSite => td_string!(locale, errors.cross_site),
            CheckoutError::Internal => td_string!(locale, errors.internal),
        };
        text.to_string()
    }

    /// The HTTP status a server function or `POST /pay` answers with.
    pub fn status(&self) -> u16 {
        match self {
            CheckoutError::UnknownProduct
            | CheckoutError::InvalidQuantity
            | CheckoutError::EmptyCart
            | CheckoutError::OrderTooLarge
            | CheckoutError::InvalidPaymentMethod
            | CheckoutError::InvalidEmail
            | CheckoutError::SavedCardUnknown
            | CheckoutError::BadRequest
            | CheckoutError::Card(_) => 400,
            CheckoutError::SessionExpired => 401,
            CheckoutError::Declined(_)
            | CheckoutError::AuthenticationFailed
            | CheckoutError::AuthenticationExpired => 402,
            CheckoutError::NotYourPayment | CheckoutError::CrossSite => 403,
            CheckoutError::AlreadyPaid
            | CheckoutError::PaymentInProgress
            | CheckoutError::CartFrozen
            | CheckoutError::UnderReview
            | CheckoutError::OrderClosed => 409,
            CheckoutError::PaymentCanceled => 402,
            CheckoutError::TooManyAttempts(_) => 429,
            CheckoutError::PaymentServiceUnavailable | CheckoutError::ShopUnavailable => 503,
            CheckoutError::PaymentFormUnavailable
            | CheckoutError::Network
            | CheckoutError::Internal => 500,
        }
    }
}

/// English: for logs and the server's own messages.
impl std::fmt::Display for CheckoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(Locale::en))
    }
}

impl std::error::Error for CheckoutError {}

impl FromServerFnError for CheckoutError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The request never got an answer: the browser is offline or the server is down.
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => CheckoutError::Network,
            // The server could not read what it was sent.
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::Deserialization(_)
            | ServerFnErrorErr::MissingArg(_) => CheckoutError::BadRequest,
            _ => CheckoutError::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{CheckoutError, DeclineReason};
    use crate::i18n::Locale;

    #[test]
    fn declines_are_explained_by_their_reason() {
        let msg = |c: Option<&str>, d: Option<&str>| CheckoutError::declined(c, d).to_string();
        assert!(
            msg(Some("card_declined"), Some("insufficient_funds")).contains("insufficient funds")
        );
        assert!(msg(Some("expired_card"), None).contains("expired"));
        assert!(msg(Some("incorrect_cvc"), Some("incorrect_cvc")).contains("security code"));
        assert!(msg(Some("card_declined"), Some("generic_decline")).contains("declined"));
        assert!(
            msg(Some("card_declined"), Some("lost_card")).contains("declined"),
            "the real reason is not told to the holder"
        );
        assert!(msg(None, None).contains("declined"));
    }

    #[test]
    fn the_quantity_message_names_the_catalogue_limit() {
        let limit = crate::domain::catalogue::MAX_QUANTITY.to_string();
        assert!(CheckoutError::InvalidQuantity.to_string().contains(&limit));
        assert!(CheckoutError::InvalidQuantity
            .message(Locale::fr)
            .contains(&limit));
    }

    #[test]
    fn every_decline_reason_reads_differently_in_french_and_english() {
        let reasons = [
            DeclineReason::InsufficientFunds,
            DeclineReason::ExpiredCard,
            DeclineReason::IncorrectCvc,
            DeclineReason::IncorrectNumber,
            DeclineReason::InvalidExpiry,
            DeclineReason::AuthenticationRequired,
            DeclineReason::ProcessingError,
            DeclineReason::SpendingLimit,
            DeclineReason::Generic,
        ];
        for reason in reasons {
            let (en, fr) = (reason.message(Locale::en), reason.message(Locale::fr));
            assert!(
                !en.is_empty() && !fr.is_empty() && en != fr,
                "{reason:?}: {en:?} / {fr:?}"
            );
        }
        assert_eq!(
            CheckoutError::declined(Some("card_declined"), Some("insufficient_funds"))
                .message(Locale::fr),
            "Le solde de votre carte est insuffisant. Veuillez utiliser une autre carte."
        );
    }

    #[test]
    fn too_many_attempts_says_how_many_minutes_to_wait_in_both_languages() {
        let wait = CheckoutError::TooManyAttempts(61);
        assert_eq!(wait.status(), 429);
        assert!(wait.message(Locale::en).contains("2 minutes"), "{wait}");
        assert!(wait.message(Locale::fr).contains("2 minutes"));
        assert_ne!(wait.message(Locale::en), wait.message(Locale::fr));
        assert!(CheckoutError::TooManyAttempts(1)
            .message(Locale::en)
            .contains("1 minute"));
    }

    #[test]
    fn input_errors_are_4xx_and_outages_5xx() {
        assert_eq!(CheckoutError::InvalidQuantity.status(), 400);
        assert_eq!(CheckoutError::NotYourPayment.status(), 403);
        assert_eq!(CheckoutError::declined(None, None).status(), 402);
        assert_eq!(CheckoutError::PaymentServiceUnavailable.status(), 503);
    }

    #[test]
    fn errors_cross_the_wire_unchanged() {
        let err = CheckoutError::declined(Some("card_declined"), Some("insufficient_funds"));
        let json = serde_json::to_string(&err).unwrap();
        assert_eq!(serde_json::from_str::<CheckoutError>(&json).unwrap(), err);
    }
}
