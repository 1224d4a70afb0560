//! Logging in with the merchant token, and out.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::*;

pub(super) async fn login_page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if auth::signed_in(&state, &headers).await {
        return Redirect::to("/merchant").into_response();
    }
    page(StatusCode::OK, pages::login(false))
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    token: String,
}

pub(super) async fn login(
    State(state): State<Arc<AppState>>,
    Form(form): Form<LoginForm>,
) -> Response {
    let Some(expected) = &state.merchant_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !crate::server::security::token_matches(&expected.0, &form.token) {
        tracing::warn!("back office: a wrong merchant token was offered");
        // Slows guessing; the token is long enough that guessing is hopeless anyway.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        return page(StatusCode::UNAUTHORIZED, pages::login(true));
    }
    match auth::open_session(&state).await {
        Ok(cookie) => {
            tracing::info!("back office: merchant logged in");
            ([(header::SET_COOKIE, cookie)], Redirect::to("/merchant")).into_response()
        }
        Err(err) => server_problem(err).into_response(),
    }
}

pub(super) async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let cookie = auth::close_session(&state, &headers).await;
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to("/merchant/login"),
    )
        .into_response()
}
