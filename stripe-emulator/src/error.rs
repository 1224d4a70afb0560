//! Stripe's error object (`{"error": {...}}`) and the HTTP status each kind is sent with.

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;

/// The `type` of a Stripe error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    ApiError,
    CardError,
    IdempotencyError,
    InvalidRequestError,
}

/// One API error as Stripe sends it. `saved` tells the idempotency layer whether the request
/// had started executing (Stripe replays those results; validation failures are not kept).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: ErrorType,
    pub code: Option<&'static str>,
    pub decline_code: Option<&'static str>,
    pub message: String,
    pub param: Option<String>,
    /// The PaymentIntent as it is after the failure, for card errors and unexpected states.
    pub payment_intent: Option<Value>,
    pub payment_method: Option<Value>,
    pub charge: Option<String>,
    pub saved: bool,
}

impl ApiError {
    fn new(
        status: StatusCode,
        kind: ErrorType,
        code: Option<&'static str>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            kind,
            code,
            decline_code: None,
            message: message.into(),
            param: None,
            payment_intent: None,
            payment_method: None,
            charge: None,
            saved: false,
        }
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::InvalidRequestError,
            Some(code),
            message,
        )
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn parameter_unknown(param: &str) -> Self {
        Self::invalid(
            "parameter_unknown",
            format!("Received unknown parameter: {param}"),
        )
        .with_param(param)
    }

    pub fn parameter_missing(param: &str) -> Self {
        Self::invalid(
            "parameter_missing",
            format!("Missing required param: {param}."),
        )
        .with_param(param)
    }

    pub fn parameter_invalid_integer(param: &str, value: &str) -> Self {
        Self::invalid(
            "parameter_invalid_integer",
            format!("Invalid integer: {value}"),
        )
        .with_param(param)
    }

    pub fn parameter_invalid_empty(param: &str, message: impl Into<String>) -> Self {
        Self::invalid("parameter_invalid_empty", message).with_param(param)
    }

    pub fn invalid_value(param: &str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::InvalidRequestError,
            None,
            message,
        )
        .with_param(param)
    }

    /// 404 for an id that names nothing (Stripe: "No such payment_intent: 'pi_…'").
    pub fn resource_missing(object: &str, id: &str, param: &str) -> Self {
        let mut err = Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequestError,
            Some("resource_missing"),
            format!("No such {object}: '{id}'"),
        );
        err.param = Some(param.to_owned());
        err
    }

    pub fn unknown_route(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequestError,
            None,
            format!("Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."),
        )
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorType::InvalidRequestError,
            None,
            message,
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorType::InvalidRequestError,
            None,
            message,
        )
    }

    pub fn idempotency_mismatch(key: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::IdempotencyError,
            None,
            format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. \
                 Try using a key other than '{key}' if you meant to execute a different request."
            ),
        )
    }

    pub fn idempotency_in_use(key: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            ErrorType::IdempotencyError,
            Some("idempotency_key_in_use"),
            format!(
                "There is currently another in-progress request using this Idempotent Key (that probably means \
                 you submitted twice, and the other request is still going through): {key}. Please try again later."
            ),
        )
    }

    /// 429 `lock_timeout`: another request is executing on the object. Nothing executed and
    /// no result is kept for the key: the same request may simply be sent again.
    pub fn lock_timeout(object: &str) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorType::InvalidRequestError,
            Some("lock_timeout"),
            format!(
                "This object cannot be accessed right now because another API request or Stripe process is currently \
                 accessing it ({object}). If you see this error intermittently, retry the request."
            ),
        )
    }

    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorType::InvalidRequestError,
            None,
            format!("Request body too large: the limit is {limit} bytes."),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::ApiError,
            None,
            message,
        )
    }

    /// 400 `payment_intent_unexpected_state`, carrying the intent as it is.
    pub fn unexpected_state(message: impl Into<String>, payment_intent: Value) -> Self {
        let mut err = Self::invalid("payment_intent_unexpected_state", message);
        err.payment_intent = Some(payment_intent);
        err.saved = true;
        err
    }

    /// 402 card error; the request executed (a failed charge exists), so it is replayed.
    pub fn card(
        code: &'static str,
        decline_code: Option<&'static str>,
        message: impl Into<String>,
    ) -> Self {
        let mut err = Self::new(
            StatusCode::PAYMENT_REQUIRED,
            ErrorType::CardError,
            Some(code),
            message,
        );
        err.decline_code = decline_code;
        err.saved = true;
        err
    }

    /// The JSON body: `{"error": {...}}` with Stripe's field names.
    pub fn body(&self, request_id: &str) -> Value {
        let mut error = serde_json::Map::new();
        if let Some(charge) = &self.charge {
            error.insert("charge".into(), Value::String(charge.clone()));
        }
        if let Some(code) = self.code {
            error.insert("code".into(), Value::String(code.into()));
            error.insert(
                "doc_url".into(),
                Value::String(format!(
                    "https://stripe.com/docs/error-codes/{}",
                    code.replace('_', "-")
                )),
            );
        }
        if let Some(decline_code) = self.decline_code {
            error.insert("decline_code".into(), Value::String(decline_code.into()));
        }
        error.insert("message".into(), Value::String(self.message.clone()));
        if let Some(param) = &self.param {
            error.insert("param".into(), Value::String(param.clone()));
        }
        if let Some(pi) = &self.payment_intent {
            error.insert("payment_intent".into(), pi.clone());
        }
        if let Some(pm) = &self.payment_method {
            error.insert("payment_method".into(), pm.clone());
        }
        error.insert(
            "request_log_url".into(),
            Value::String(format!(
                "https://dashboard.stripe.com/test/logs/{request_id}"
            )),
        );
        error.insert(
            "type".into(),
            serde_json::to_value(self.kind).unwrap_or(Value::Null),
        );
        serde_json::json!({ "error": Value::Object(error) })
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
