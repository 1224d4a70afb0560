//! The merchant back office (`/merchant`): the orders, newest first, and the actions a shop
//! needs on them — capture, cancel, refund, charge a saved card again — and the dashboard. Off unless
//! `MERCHANT_TOKEN` is set. Server-rendered pages and plain form posts; every action is
//! confirmed on a page of its own whose one-time key makes a double submit do it once.

mod act;
mod actions;
mod auth;
mod browse;
mod dashboard;
mod login;
mod pages;
mod repeat;
pub mod settlement;
pub mod store;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::i18n::{td_string, Locale};
use crate::server::state::AppState;

tokio::task_local! {
    /// The language of the back-office request being served, and its path (for the language
    /// switch): set once per request by `in_language`, so pages, refusals and action outcomes
    /// are all worded alike without threading it through every handler.
    static LOCALE: Locale;
    static PATH: String;
}

/// The language of the request being served.
pub(super) fn locale() -> Locale {
    LOCALE.try_with(|l| *l).unwrap_or_default()
}

async fn in_language(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let locale = crate::server::language::negotiate(request.headers(), state.default_locale);
    let path = request
        .uri()
        .path_and_query()
        .map_or_else(|| "/merchant".to_owned(), |p| p.as_str().to_owned());
    LOCALE
        .scope(locale, PATH.scope(path, next.run(request)))
        .await
}

/// The back office's routes, or `None` when `MERCHANT_TOKEN` is not set (the paths are then
/// unknown, like any other).
pub fn routes(state: Arc<AppState>) -> Option<Router> {
    state.merchant_token.as_ref()?;
    pages::STYLESHEET.get_or_init(|| state.built.stylesheet.clone());
    // Everything but logging in and out needs a session (checked once, here).
    let signed_in = Router::new()
        .route("/merchant", get(browse::order_list))
        .route("/merchant/dashboard", get(dashboard::dashboard))
        .route("/merchant/orders/{id}", get(browse::order_page))
        .route("/merchant/orders/{id}/confirm", get(act::confirm_page))
        .route("/merchant/orders/{id}/actions", post(act::act))
        .route("/merchant/orders/{id}/recheck", post(act::recheck))
        .route_layer(from_fn_with_state(state.clone(), require_session));
    let router = Router::new()
        .route("/merchant/login", get(login::login_page).post(login::login))
        .route("/merchant/logout", post(login::logout))
        .merge(signed_in)
        .route_layer(from_fn(page_headers))
        .route_layer(from_fn_with_state(state.clone(), same_origin_posts))
        .route_layer(from_fn_with_state(state.clone(), in_language))
        .with_state(state);
    Some(router)
}

/// Pages that hold orders are never cached, and load nothing but this site's stylesheet.
async fn page_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    );
    response
}

async fn same_origin_posts(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if crate::server::security::cross_site_post(&state, &request) {
        let locale = locale();
        return Problem::new(
            StatusCode::FORBIDDEN,
            td_string!(locale, merchant.refused),
            td_string!(locale, merchant.cross_site),
        )
        .into_response();
    }
    next.run(request).await
}

pub(super) fn html(body: String) -> ([(header::HeaderName, &'static str); 1], String) {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body)
}

pub(super) fn page(status: StatusCode, body: String) -> Response {
    (status, html(body)).into_response()
}

/// Without a session: pages send the merchant to log in; posts change nothing.
async fn require_session(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if auth::signed_in(&state, request.headers()).await {
        return next.run(request).await;
    }
    if request.method() == axum::http::Method::POST {
        let locale = locale();
        Problem::new(
            StatusCode::UNAUTHORIZED,
            td_string!(locale, merchant.log_in_first),
            td_string!(locale, merchant.session_ended),
        )
        .into_response()
    } else {
        Redirect::to("/merchant/login").into_response()
    }
}

/// A page that says why nothing was done.
pub(super) struct Problem {
    status: StatusCode,
    title: String,
    text: String,
}

impl Problem {
    fn new(
        status: StatusCode,
        title: impl std::fmt::Display,
        text: impl std::fmt::Display,
    ) -> Problem {
        Problem {
            status,
            title: title.to_string(),
            text: text.to_string(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        page(self.status, pages::message(&self.title, &self.text))
    }
}

pub(super) fn server_problem(err: impl std::fmt::Display) -> Problem {
    tracing::error!(%err, "back office failed");
    let locale = locale();
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        td_string!(locale, merchant.went_wrong),
        td_string!(locale, merchant.could_not),
    )
}
