//! What a server function needs from the request it serves: the app state and the session,
//! and the HTTP status of its error.

use std::sync::Arc;

use axum::http::StatusCode;
use leptos::prelude::*;

use crate::app_state::AppState;
use crate::checkout::CheckoutError;
use crate::session::Session;

/// The app state and the caller's session, from the request being served.
pub async fn request_context() -> Result<(Arc<AppState>, Session), CheckoutError> {
    let state = use_context::<Arc<AppState>>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function context");
        CheckoutError::Internal
    })?;
    let axum::Extension(session) = leptos_axum::extract::<axum::Extension<Session>>().await.map_err(|err| {
        tracing::error!(?err, "session missing from the request");
        CheckoutError::Internal
    })?;
    Ok((state, session))
}

/// Passes a result through, setting the HTTP status of an error on the response.
pub fn answer<T>(result: Result<T, CheckoutError>) -> Result<T, CheckoutError> {
    if let Err(err) = &result {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
        }
    }
    result
}

/// A failure on our side: logged in full here, "something went wrong" for the shopper.
pub fn internal(err: impl std::fmt::Display) -> CheckoutError {
    tracing::error!(%err, "checkout failed on the server");
    CheckoutError::Internal
}
