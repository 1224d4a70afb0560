//! A PaymentIntent as the emulator keeps it: its status and methods as enums, and what each
//! status allows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ErrorType;
use crate::persist::{optional_static_str, static_str, Literal};

/// Stripe's PaymentIntent statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Processing,
    RequiresCapture,
    Canceled,
    Succeeded,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::RequiresPaymentMethod => "requires_payment_method",
            Status::RequiresConfirmation => "requires_confirmation",
            Status::RequiresAction => "requires_action",
            Status::Processing => "processing",
            Status::RequiresCapture => "requires_capture",
            Status::Canceled => "canceled",
            Status::Succeeded => "succeeded",
        }
    }

    /// Statuses from which a confirm is accepted.
    pub const CONFIRMABLE: [Status; 3] = [
        Status::RequiresPaymentMethod,
        Status::RequiresConfirmation,
        Status::RequiresAction,
    ];
    /// Statuses in which the amount, currency, card or capture method may still change.
    pub const EDITABLE: [Status; 3] = Status::CONFIRMABLE;
    /// Statuses from which a cancel is accepted.
    pub const CANCELABLE: [Status; 5] = [
        Status::RequiresPaymentMethod,
        Status::RequiresCapture,
        Status::RequiresConfirmation,
        Status::RequiresAction,
        Status::Processing,
    ];

    /// Waiting on the cardholder or on the server's confirm: the one-hour window applies.
    pub fn awaits_confirmation(self) -> bool {
        matches!(self, Status::RequiresAction | Status::RequiresConfirmation)
    }
}

/// `capture_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureMethod {
    Automatic,
    AutomaticAsync,
    /// Authorise now, capture later: a successful payment waits in `requires_capture`.
    Manual,
}

impl CaptureMethod {
    pub const NAMES: [&'static str; 3] = ["automatic", "automatic_async", "manual"];

    pub fn as_str(self) -> &'static str {
        match self {
            CaptureMethod::Automatic => "automatic",
            CaptureMethod::AutomaticAsync => "automatic_async",
            CaptureMethod::Manual => "manual",
        }
    }

    /// One of [`CaptureMethod::NAMES`] (the form parser has checked it).
    pub fn from_name(name: &str) -> CaptureMethod {
        match name {
            "manual" => CaptureMethod::Manual,
            "automatic" => CaptureMethod::Automatic,
            _ => CaptureMethod::AutomaticAsync,
        }
    }
}

/// `confirmation_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmationMethod {
    /// Stripe.js may confirm with the publishable key; Stripe confirms after 3-D Secure.
    Automatic,
    /// Only the server confirms (the guide's flow), within the hour after authentication.
    Manual,
}

impl ConfirmationMethod {
    pub const NAMES: [&'static str; 2] = ["automatic", "manual"];

    pub fn as_str(self) -> &'static str {
        match self {
            ConfirmationMethod::Automatic => "automatic",
            ConfirmationMethod::Manual => "manual",
        }
    }

    /// One of [`ConfirmationMethod::NAMES`] (the form parser has checked it).
    pub fn from_name(name: &str) -> ConfirmationMethod {
        if name == "manual" {
            ConfirmationMethod::Manual
        } else {
            ConfirmationMethod::Automatic
        }
    }
}

/// `last_payment_error` as kept on the intent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentError {
    pub kind: ErrorType,
    #[serde(with = "static_str")]
    pub code: Literal,
    #[serde(with = "optional_static_str")]
    pub decline_code: Option<Literal>,
    pub message: String,
    pub payment_method: String,
    pub charge: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub seq: u64,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub status: Status,
    pub capture_method: CaptureMethod,
    pub confirmation_method: ConfirmationMethod,
    pub client_secret: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub payment_method: Option<String>,
    pub payment_method_types: Vec<String>,
    #[serde(with = "optional_static_str")]
    pub setup_future_usage: Option<Literal>,
    pub receipt_email: Option<String>,
    pub statement_descriptor_suffix: Option<String>,
    pub automatic_payment_methods: Option<bool>,
    pub latest_charge: Option<String>,
    pub last_payment_error: Option<PaymentError>,
    pub amount_capturable: i64,
    pub amount_received: i64,
    pub canceled_at: Option<i64>,
    #[serde(with = "optional_static_str")]
    pub cancellation_reason: Option<Literal>,
    /// When the intent began waiting for the cardholder or for the server's re-confirm.
    pub awaiting_since: Option<i64>,
    /// The PaymentMethod the cardholder authenticated, so the next confirm charges it.
    pub authenticated_payment_method: Option<String>,
    /// The id of the 3-D Secure source shown in `next_action`.
    pub three_d_secure_source: Option<String>,
    /// When a `processing` payment settles (emulator clock).
    #[serde(default)]
    pub processing_until: Option<i64>,
}

impl PaymentIntent {
    /// Nothing waits on the cardholder any more: a payment attempt has ended, or its terms
    /// changed and it must be confirmed afresh.
    pub fn end_attempt(&mut self, error: Option<PaymentError>) {
        self.awaiting_since = None;
        self.authenticated_payment_method = None;
        self.last_payment_error = error;
    }

    /// Back to requires_payment_method after 3-D Secure failed or its hour ran out; the card
    /// is dropped from the intent and named in `last_payment_error`, as Stripe does.
    pub fn fail_authentication(&mut self, message: &str) {
        let payment_method = self.payment_method.take().unwrap_or_default();
        self.status = Status::RequiresPaymentMethod;
        self.end_attempt(Some(PaymentError {
            kind: ErrorType::InvalidRequestError,
            code: "payment_intent_authentication_failure",
            decline_code: None,
            message: message.to_owned(),
            payment_method,
            charge: None,
        }));
    }
}
