//! The Stripe POSTs made about an order, each recorded before it is sent (see
//! `orders::requests`): what each [`StripeCall`] sends, and sending it. A recorded call is
//! sent again byte for byte under its key, which is how an unanswered one is settled.

use std::collections::HashMap;
use std::marker::PhantomData;

use stripe::StripeError;
use stripe_client_core::{RequestBuilder, StripeMethod, StripeRequest};
use stripe_core::payment_intent::{
    CancelPaymentIntent, CapturePaymentIntent, ConfirmPaymentIntent, CreatePaymentIntent,
    ListPaymentIntent, UpdatePaymentIntent,
};
use stripe_core::refund::CreateRefund;
use stripe_shared::{PaymentIntent, Refund};

use super::transport::{retryable, send, send_read};
use crate::domain::CheckoutError;
use crate::server::config::CaptureMode;
use crate::server::state::AppState;
use crate::server::store::{Lease, Order, SentRequest, StripeCall};

/// Stripe keeps an idempotency key 24 hours; a request older than this (by Stripe's clock,
/// an hour to spare) is never sent again: it would run as a new one.
pub const REPLAY_WINDOW_SECONDS: i64 = 23 * 3600;

/// What Stripe answered a call. Boxed: an intent is several kilobytes, and answers are passed
/// down the settling steps.
#[derive(Debug, Clone)]
pub enum Answer {
    Intent(Box<PaymentIntent>),
    Refund(Box<Refund>),
}

/// Whether a failed call leaves its request without an answer: it may have executed, may
/// still be executing (409: another request with its key runs), or may not have arrived yet.
/// Only a replay of its key tells. Anything else is Stripe's answer to it.
pub fn unanswered(err: &StripeError) -> bool {
    // An answer this server cannot read is not an answer either (a replay gets it again).
    retryable(err) || matches!(err, StripeError::JSONDeserialize(_))
}

/// The idempotency key of one step of one attempt: `checkout-{order}-attempt-{n}-{step}`.
pub fn attempt_key(order_id: &str, attempt: i64, step: &str) -> String {
    format!("checkout-{order_id}-attempt-{attempt}-{step}")
}

/// A request already built: what a [`StripeCall`] sends, with the answer it expects.
struct Built<T> {
    method: StripeMethod,
    path: String,
    body: Option<String>,
    _answer: PhantomData<T>,
}

impl<T> Built<T> {
    fn from(request: RequestBuilder) -> Built<T> {
        Built {
            method: request.method,
            path: request.path,
            body: request.body,
            _answer: PhantomData,
        }
    }
}

impl<T> StripeRequest for Built<T> {
    type Output = T;

    fn build(&self) -> RequestBuilder {
        RequestBuilder {
            method: self.method,
            path: self.path.clone(),
            body: self.body.clone(),
            query: None,
        }
    }
}

/// The guide's first call: create the order's PaymentIntent and confirm it at once.
fn create_request(
    state: &AppState,
    order: &Order,
    payment_method: &str,
    amount: i64,
    customer: Option<&str>,
    save_card: bool,
) -> CreatePaymentIntent {
    let mut metadata = HashMap::new();
    metadata.insert("order_id".to_owned(), order.id.clone());
    metadata.insert("order_reference".to_owned(), order.reference.clone());
    let capture = match state.capture {
        CaptureMode::Automatic => stripe_shared::PaymentIntentCaptureMethod::Automatic,
        CaptureMode::Manual => stripe_shared::PaymentIntentCaptureMethod::Manual,
    };
    let mut request = CreatePaymentIntent::new(amount, state.currency.clone())
        .payment_method(payment_method)
        .confirm(true)
        .confirmation_method(stripe_shared::PaymentIntentConfirmationMethod::Manual)
        .capture_method(capture)
        .metadata(metadata)
        .description(format!("Order {}", order.reference))
        .expand(vec!["payment_method".to_owned()]);
    if let Some(customer) = customer {
        request = request.customer(customer);
    }
    if save_card {
        request =
            request.setup_future_usage(stripe_shared::PaymentIntentSetupFutureUsage::OffSession);
    }
    if order.off_session_payment_method.is_some() {
        // The merchant charges a saved card without the shopper (a repeat order).
        request = request
            .off_session(stripe_core::payment_intent::CreatePaymentIntentOffSession::Bool(true));
    }
    request
}

/// What `call` sends about `order`: the same request each time it is built.
fn request_for(state: &AppState, order: &Order, call: &StripeCall) -> Option<RequestBuilder> {
    let expand = || vec!["payment_method".to_owned()];
    Some(match call {
        StripeCall::Create {
            payment_method,
            amount,
            customer,
            save_card,
        } => create_request(
            state,
            order,
            payment_method,
            *amount,
            customer.as_deref(),
            *save_card,
        )
        .build(),
        StripeCall::Update {
            payment_intent,
            amount,
        } => UpdatePaymentIntent::new(payment_intent.as_str())
            .amount(*amount)
            .currency(state.currency.clone())
            .build(),
        StripeCall::Confirm {
            payment_intent,
            payment_method,
        } => ConfirmPaymentIntent::new(payment_intent.as_str())
            .payment_method(payment_method.as_str())
            .expand(expand())
            .build(),
        StripeCall::Reconfirm { payment_intent } => {
            ConfirmPaymentIntent::new(payment_intent.as_str())
                .expand(expand())
                .build()
        }
        StripeCall::CancelUnused { payment_intent }
        | StripeCall::ReviewRelease { payment_intent }
        | StripeCall::Release { payment_intent, .. } => {
            CancelPaymentIntent::new(payment_intent.as_str()).build()
        }
        StripeCall::ReviewRefund { payment_intent } => CreateRefund::new()
            .payment_intent(payment_intent.as_str())
            .build(),
        StripeCall::Capture {
            payment_intent,
            amount,
            ..
        } => CapturePaymentIntent::new(payment_intent.as_str())
            .amount_to_capture(*amount)
            .build(),
        StripeCall::Refund {
            payment_intent,
            amount,
            ..
        } => CreateRefund::new()
            .payment_intent(payment_intent.as_str())
            .amount(*amount)
            .build(),
        StripeCall::Unknown => return None,
    })
}

/// Sends `call` about `order` under `key` (a first send, or a replay: the same request).
pub async fn send_call(
    state: &AppState,
    order: &Order,
    call: &StripeCall,
    key: &str,
) -> Result<Answer, StripeError> {
    let Some(request) = request_for(state, order, call) else {
        return Err(StripeError::ConfigError(
            "a request sent by an earlier version cannot be sent again".into(),
        ));
    };
    match call {
        StripeCall::ReviewRefund { .. } | StripeCall::Refund { .. } => {
            send(state, &order.id, &Built::<Refund>::from(request), key)
                .await
                .map(|refund| Answer::Refund(Box::new(refund)))
        }
        _ => send(
            state,
            &order.id,
            &Built::<PaymentIntent>::from(request),
            key,
        )
        .await
        .map(|pi| Answer::Intent(Box::new(pi))),
    }
}

/// Records `call` on the order under the lease, then sends it. `attempt`: the attempt number
/// the key counts, when it counts one. `Err` when it could not be recorded (another request is
/// unsettled, the lease was lost, the database is away): then nothing was sent.
pub async fn send_recorded(
    state: &AppState,
    lease: &Lease,
    order: &Order,
    attempt: Option<i64>,
    key: String,
    call: StripeCall,
) -> Result<(SentRequest, Result<Answer, StripeError>), CheckoutError> {
    let request = SentRequest {
        key,
        call,
        sent_at: state.stripe.clock().now(),
    };
    state
        .orders
        .record_request(lease, attempt, &request)
        .await?;
    let answer = send_call(state, order, &request.call, &request.key).await;
    Ok((request, answer))
}

/// Stripe's time now, read afresh (a cheap list of one): whether Stripe still keeps a key is
/// decided by Stripe's clock, never this server's nor an old reading (a replay of a key Stripe
/// forgot runs as a new request). `PaymentServiceUnavailable` when Stripe cannot be asked:
/// then nothing is decided by time.
pub async fn stripe_now(state: &AppState, order_id: &str) -> Result<i64, CheckoutError> {
    send_read(state, order_id, &ListPaymentIntent::new().limit(1))
        .await
        .map_err(|err| super::settlement::classify(err, order_id))?;
    Ok(state.stripe.clock().now())
}
