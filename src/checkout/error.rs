//! Every way a checkout step can fail, each with the message a shopper understands.
//! Raw internals (Stripe's messages for our bugs, database errors) never reach the browser:
//! they are logged on the server and become `Internal`.

use serde::{Deserialize, Serialize};
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum CheckoutError {
    #[error("That product is not in our catalogue.")]
    UnknownProduct,
    #[error("Choose a quantity between 1 and {}.", super::catalogue::MAX_QUANTITY)]
    InvalidQuantity,
    #[error("Your cart is empty. Add a product before paying.")]
    EmptyCart,
    #[error("This order is too large to pay in one go. Please lower the quantities.")]
    OrderTooLarge,
    #[error("Your checkout session has expired. Please reload the page.")]
    SessionExpired,
    #[error("This order has already been paid. Reload the page to start a new one.")]
    AlreadyPaid,
    #[error("This order's payment is already being completed.")]
    PaymentInProgress,
    #[error("Your order can't be changed while its payment is under way. If the payment fails, you can change it then.")]
    CartFrozen,
    #[error("We could not match your payment to your order, so it is not charged: any amount taken is refunded. Reload the page to order again.")]
    UnderReview,
    #[error("Your payment was canceled. Please pay again.")]
    PaymentCanceled,
    #[error("The card details could not be read. Please enter your card again.")]
    InvalidPaymentMethod,
    #[error("Enter the e-mail address to save your card with, such as name@example.com.")]
    InvalidEmail,
    #[error("That saved card is not available any more. Please choose another card.")]
    SavedCardUnknown,
    #[error("This order is closed. Reload the page to start a new one.")]
    OrderClosed,
    #[error("That payment does not belong to your order. Please reload the page and pay again.")]
    NotYourPayment,
    /// A decline, with the reason in the shopper's words (see [`CheckoutError::declined`]).
    #[error("{0}")]
    Declined(String),
    #[error("We could not authenticate your card. Please try again or use another card.")]
    AuthenticationFailed,
    #[error("Your card authentication took too long. Please pay again.")]
    AuthenticationExpired,
    #[error("The payment service did not answer. Please try again in a moment; you will not be charged twice.")]
    PaymentServiceUnavailable,
    /// Stripe.js's own message for what was typed (it is written for shoppers).
    #[error("{0}")]
    Card(String),
    #[error("The payment form could not load. Please reload the page.")]
    PaymentFormUnavailable,
    #[error("We could not reach the shop. Check your connection and try again.")]
    Network,
    #[error("The request was not understood. Please reload the page and try again.")]
    BadRequest,
    #[error("This request was refused because it did not come from the checkout page.")]
    CrossSite,
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
}

impl CheckoutError {
    /// A card decline in the shopper's words, from Stripe's `code` and `decline_code`.
    pub fn declined(code: Option<&str>, decline_code: Option<&str>) -> CheckoutError {
        let reason = decline_code.or(code).unwrap_or("card_declined");
        let message = match reason {
            "insufficient_funds" => "Your card has insufficient funds. Please use another card.",
            "expired_card" => "Your card has expired. Please use another card.",
            "incorrect_cvc" | "invalid_cvc" => "Your card's security code is incorrect. Please check it and try again.",
            "incorrect_number" | "invalid_number" => "Your card number is incorrect. Please check it and try again.",
            "invalid_expiry_month" | "invalid_expiry_year" => "Your card's expiry date is invalid. Please check it and try again.",
            "authentication_required" => "Your bank asks you to authenticate this payment. Please try again.",
            "processing_error" => "An error occurred while processing your card. Please try again.",
            "card_velocity_exceeded" | "withdrawal_count_limit_exceeded" => {
                "Your card has reached its spending limit. Please use another card."
            }
            _ => "Your card was declined. Please use another card or contact your bank.",
        };
        CheckoutError::Declined(message.to_owned())
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
            CheckoutError::Declined(_) | CheckoutError::AuthenticationFailed | CheckoutError::AuthenticationExpired => 402,
            CheckoutError::NotYourPayment | CheckoutError::CrossSite => 403,
            CheckoutError::AlreadyPaid
            | CheckoutError::PaymentInProgress
            | CheckoutError::CartFrozen
            | CheckoutError::UnderReview
            | CheckoutError::OrderClosed => 409,
            CheckoutError::PaymentCanceled => 402,
            CheckoutError::PaymentServiceUnavailable => 503,
            CheckoutError::PaymentFormUnavailable | CheckoutError::Network | CheckoutError::Internal => 500,
        }
    }
}

impl FromServerFnError for CheckoutError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The request never got an answer: the browser is offline or the server is down.
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => CheckoutError::Network,
            // The server could not read what it was sent.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_) | ServerFnErrorErr::MissingArg(_) => {
                CheckoutError::BadRequest
            }
            _ => CheckoutError::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CheckoutError;

    #[test]
    fn declines_are_explained_by_their_reason() {
        let msg = |c: Option<&str>, d: Option<&str>| CheckoutError::declined(c, d).to_string();
        assert!(msg(Some("card_declined"), Some("insufficient_funds")).contains("insufficient funds"));
        assert!(msg(Some("expired_card"), None).contains("expired"));
        assert!(msg(Some("incorrect_cvc"), Some("incorrect_cvc")).contains("security code"));
        assert!(msg(Some("card_declined"), Some("generic_decline")).contains("declined"));
        assert!(msg(Some("card_declined"), Some("lost_card")).contains("declined"), "the real reason is not told to the holder");
        assert!(msg(None, None).contains("declined"));
    }

    #[test]
    fn the_quantity_message_names_the_catalogue_limit() {
        let limit = crate::checkout::catalogue::MAX_QUANTITY.to_string();
        assert!(CheckoutError::InvalidQuantity.to_string().contains(&limit));
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
