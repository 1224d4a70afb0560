//! What a server function needs from the request it serves: the app state and the session.
//! (The HTTP status of its error is set in one place, `security::server_fn_error_status`,
//! which also covers arguments that fail to decode before the function runs.)

use std::sync::Arc;

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

/// A failure on our side: logged in full here; for the shopper, "try again in a moment" when
/// the order database is out of reach, else "something went wrong".
pub fn internal(err: impl std::fmt::Display + 'static) -> CheckoutError {
    // The one kind of failure that says something to the shopper: told apart here, where
    // every store error of the payment flow arrives.
    let store = (&err as &dyn std::any::Any).downcast_ref::<crate::orders::StoreError>();
    if store.is_some_and(crate::orders::StoreError::is_unavailable) {
        tracing::error!(%err, "the order database is unavailable");
        return CheckoutError::ShopUnavailable;
    }
    tracing::error!(%err, "checkout failed on the server");
    CheckoutError::Internal
}
