//! What a server function needs from the request it serves: the app state and the session.
//! (The HTTP status of its error is set in one place, `security::server_fn_error_status`,
//! which also covers arguments that fail to decode before the function runs.)

use std::sync::Arc;

use leptos::prelude::*;

use crate::domain::CheckoutError;
use crate::server::card_testing::client::ClientAddress;
use crate::server::session::Session;
use crate::server::state::AppState;

/// The app state and the caller's session, from the request being served.
pub async fn request_context() -> Result<(Arc<AppState>, Session), CheckoutError> {
    let state = use_context::<Arc<AppState>>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function context");
        CheckoutError::Internal
    })?;
    let axum::Extension(session) = leptos_axum::extract::<axum::Extension<Session>>()
        .await
        .map_err(|err| {
            tracing::error!(?err, "session missing from the request");
            CheckoutError::Internal
        })?;
    Ok((state, session))
}

/// The caller's address as the card-testing limits count it (`None` when not known).
pub async fn client_address() -> Option<String> {
    leptos_axum::extract::<axum::Extension<ClientAddress>>()
        .await
        .ok()
        .and_then(|axum::Extension(client)| client.0)
}

/// A failure on our side that is none of the store's (those convert themselves, see
/// `store::StoreError`): logged in full here, where its detail is known, and "something went
/// wrong" for the shopper, who never sees internals.
pub fn internal(err: impl std::fmt::Display) -> CheckoutError {
    tracing::error!(%err, "checkout failed on the server");
    CheckoutError::Internal
}
