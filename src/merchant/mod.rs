//! The merchant back office (`/merchant`): the orders, newest first, and the actions a shop
//! needs on them — capture, cancel, refund, charge a saved card again. Off unless
//! `MERCHANT_TOKEN` is set. Server-rendered pages and plain form posts; every action is
//! confirmed on a page of its own whose one-time key makes a double submit do it once.

mod actions;
mod auth;
mod pages;
mod repeat;

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::app_state::AppState;
use crate::checkout::{parse_amount, OrderStatus};
use crate::i18n::{td_string, Locale};
use crate::orders::{ActionKind, ActionState, Order, OrderFilter};
use actions::{ActionRequest, ActionResult};
use pages::Flash;

tokio::task_local! {
    /// The language of the back-office request being served, and its path (for the language
    /// switch): set once per request by `in_language`, so pages, refusals and action outcomes
    /// are all worded alike without threading it through every handler.
    static LOCALE: Locale;
    static PATH: String;
}

/// The language of the request being served.
fn locale() -> Locale {
    LOCALE.try_with(|l| *l).unwrap_or_default()
}

async fn in_language(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let locale = crate::language::negotiate(request.headers(), state.default_locale);
    let path = request.uri().path_and_query().map_or_else(|| "/merchant".to_owned(), |p| p.as_str().to_owned());
    LOCALE.scope(locale, PATH.scope(path, next.run(request))).await
}

/// The back office's routes, or `None` when `MERCHANT_TOKEN` is not set (the paths are then
/// unknown, like any other).
pub fn routes(state: Arc<AppState>) -> Option<Router> {
    state.merchant_token.as_ref()?;
    pages::STYLESHEET.get_or_init(|| state.built.stylesheet.clone());
    // Everything but logging in and out needs a session (checked once, here).
    let signed_in = Router::new()
        .route("/merchant", get(order_list))
        .route("/merchant/orders/{id}", get(order_page))
        .route("/merchant/orders/{id}/confirm", get(confirm_page))
        .route("/merchant/orders/{id}/actions", post(act))
        .route("/merchant/orders/{id}/recheck", post(recheck))
        .route_layer(from_fn_with_state(state.clone(), require_session));
    let router = Router::new()
        .route("/merchant/login", get(login_page).post(login))
        .route("/merchant/logout", post(logout))
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

async fn same_origin_posts(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if crate::security::cross_site_post(&state, &request) {
        let locale = locale();
        return Problem::new(StatusCode::FORBIDDEN, td_string!(locale, merchant.refused), td_string!(locale, merchant.cross_site)).into_response();
    }
    next.run(request).await
}

fn html(body: String) -> ([(header::HeaderName, &'static str); 1], String) {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body)
}

fn page(status: StatusCode, body: String) -> Response {
    (status, html(body)).into_response()
}

/// Without a session: pages send the merchant to log in; posts change nothing.
async fn require_session(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if auth::signed_in(&state, request.headers()).await {
        return next.run(request).await;
    }
    if request.method() == axum::http::Method::POST {
        let locale = locale();
        Problem::new(StatusCode::UNAUTHORIZED, td_string!(locale, merchant.log_in_first), td_string!(locale, merchant.session_ended)).into_response()
    } else {
        Redirect::to("/merchant/login").into_response()
    }
}

async fn login_page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if auth::signed_in(&state, &headers).await {
        return Redirect::to("/merchant").into_response();
    }
    page(StatusCode::OK, pages::login(false))
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(State(state): State<Arc<AppState>>, Form(form): Form<LoginForm>) -> Response {
    let Some(expected) = &state.merchant_token else { return StatusCode::NOT_FOUND.into_response() };
    if !auth::token_matches(&expected.0, &form.token) {
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

async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let cookie = auth::close_session(&state, &headers).await;
    ([(header::SET_COOKIE, cookie)], Redirect::to("/merchant/login")).into_response()
}

/// A page that says why nothing was done.
struct Problem {
    status: StatusCode,
    title: String,
    text: String,
}

impl Problem {
    fn new(status: StatusCode, title: impl std::fmt::Display, text: impl std::fmt::Display) -> Problem {
        Problem { status, title: title.to_string(), text: text.to_string() }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        page(self.status, pages::message(&self.title, &self.text))
    }
}

fn server_problem(err: impl std::fmt::Display) -> Problem {
    tracing::error!(%err, "back office failed");
    let locale = locale();
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, td_string!(locale, merchant.went_wrong), td_string!(locale, merchant.could_not))
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    /// `1`: the orders that need the merchant.
    attention: Option<String>,
    page: Option<i64>,
}

async fn order_list(State(state): State<Arc<AppState>>, Query(query): Query<ListQuery>) -> Result<Response, Problem> {
    let filter = match (query.status.as_deref().filter(|s| !s.is_empty()), query.attention.as_deref()) {
        (None, Some("1")) => OrderFilter::NeedsMerchant,
        (None, _) => OrderFilter::All,
        (Some(s), _) => OrderFilter::Status(OrderStatus::parse(s).ok_or_else(|| {
            let locale = locale();
            Problem::new(StatusCode::BAD_REQUEST, td_string!(locale, merchant.unknown_status), td_string!(locale, merchant.no_such_status, status = format!("{s:?}")))
        })?),
    };
    let number = query.page.unwrap_or(0).clamp(0, 1_000_000);
    let list = state.orders.list_orders(filter, number, pages::PER_PAGE).await.map_err(server_problem)?;
    Ok(page(StatusCode::OK, pages::list(&list, filter, number, state.stripe_dashboard.as_deref())))
}

/// The order, or the page that says there is none.
async fn find_order(state: &AppState, id: &str) -> Result<Order, Problem> {
    let missing = || Problem::new(StatusCode::NOT_FOUND, td_string!(locale(), merchant.no_such_order), td_string!(locale(), merchant.no_order_with_id));
    let well_formed = id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !well_formed {
        return Err(missing());
    }
    state.orders.get(id).await.map_err(server_problem)?.ok_or_else(missing)
}

async fn offers_for(state: &AppState, order: &Order) -> pages::Offers {
    let saved = repeat::saved_card_for(state, order).await;
    pages::offers(order, saved)
}

#[derive(Deserialize)]
struct OrderQuery {
    /// The key of the action whose outcome to show.
    done: Option<String>,
}

async fn order_page(State(state): State<Arc<AppState>>, Path(id): Path<String>, Query(query): Query<OrderQuery>) -> Result<Response, Problem> {
    let order = find_order(&state, &id).await?;
    let flash = match query.done.as_deref().filter(|k| actions::well_formed_key(k)) {
        Some(key) => match state.orders.action_state(key).await {
            Ok(Some(ActionState::Done(m))) => Some(Flash::Done(m)),
            Ok(Some(ActionState::Refused(m))) => Some(Flash::Refused(m)),
            _ => None,
        },
        None => None,
    };
    let offers = offers_for(&state, &order).await;
    Ok(page(StatusCode::OK, pages::order(&order, flash, offers, state.stripe_dashboard.as_deref())))
}

#[derive(Deserialize)]
struct ConfirmQuery {
    action: String,
    amount: Option<String>,
}

/// Reads the action and amount a form asked for; the error page otherwise.
fn read_action(order: &Order, action: &str, amount: Option<&str>) -> Result<(ActionKind, Option<i64>), Problem> {
    let locale = locale();
    let kind = parse_kind(action)?;
    let amount = match amount.map(str::trim).filter(|a| !a.is_empty()) {
        None => None,
        Some(_) if !matches!(kind, ActionKind::Capture | ActionKind::Refund) => {
            return Err(Problem::new(StatusCode::BAD_REQUEST, td_string!(locale, merchant.no_amount_here), td_string!(locale, merchant.takes_no_amount)));
        }
        Some(text) => Some(parse_amount(text, &order.currency).ok_or_else(|| {
            Problem::new(StatusCode::BAD_REQUEST, td_string!(locale, merchant.not_an_amount), td_string!(locale, merchant.not_an_amount_text, text = format!("{text:?}")))
        })?),
    };
    Ok((kind, amount))
}

fn parse_kind(action: &str) -> Result<ActionKind, Problem> {
    let locale = locale();
    ActionKind::parse(action).ok_or_else(|| Problem::new(StatusCode::BAD_REQUEST, td_string!(locale, merchant.unknown_action), td_string!(locale, merchant.no_such_action)))
}

async fn confirm_page(State(state): State<Arc<AppState>>, Path(id): Path<String>, Query(query): Query<ConfirmQuery>) -> Result<Response, Problem> {
    let order = find_order(&state, &id).await?;
    let (kind, amount) = read_action(&order, &query.action, query.amount.as_deref())?;
    let key = crate::orders::random_key();
    let basis = actions::basis(&state, &order).await.map_err(server_problem)?;
    Ok(page(StatusCode::OK, pages::confirm(&order, kind, amount, &key, &basis, None)))
}

#[derive(Deserialize)]
struct ActionForm {
    action: String,
    key: String,
    amount: Option<String>,
    /// The order as the confirmation page showed it.
    #[serde(default)]
    basis: String,
}

async fn act(State(state): State<Arc<AppState>>, Path(id): Path<String>, Form(form): Form<ActionForm>) -> Result<Response, Problem> {
    let order = find_order(&state, &id).await?;
    if !actions::well_formed_key(&form.key) {
        return Err(Problem::new(StatusCode::BAD_REQUEST, td_string!(locale(), merchant.start_again), td_string!(locale(), merchant.no_valid_key)));
    }
    let kind = parse_kind(&form.action)?;
    // The confirmation page sends minor units.
    let amount = match form.amount.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        None => None,
        Some(text) => match text.parse::<i64>() {
            Ok(minor) if minor > 0 => Some(minor),
            _ => return Err(Problem::new(StatusCode::BAD_REQUEST, td_string!(locale(), merchant.not_an_amount), td_string!(locale(), merchant.amount_not_understood))),
        },
    };
    let request = ActionRequest { key: form.key.clone(), order_id: order.id.clone(), kind, amount, basis: form.basis.clone() };
    tracing::info!(order_id = %order.id, action = kind.as_str(), amount, "back office: action confirmed");
    Ok(match actions::run(&state, &request).await {
        ActionResult::Finished(_) => Redirect::to(&format!("/merchant/orders/{}?done={}", order.id, form.key)).into_response(),
        ActionResult::TryAgain(message) => {
            // The same key again: sending it once more cannot do the action twice.
            page(StatusCode::SERVICE_UNAVAILABLE, pages::confirm(&order, kind, amount, &form.key, &form.basis, Some(&message)))
        }
    })
}

/// The merchant has seen to an order that needed them: the reconciler looks at it again now.
async fn recheck(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Result<Response, Problem> {
    let order = find_order(&state, &id).await?;
    state.orders.recheck(&order.id).await.map_err(server_problem)?;
    tracing::info!(order_id = %order.id, "back office: the order is looked at again");
    Ok(Redirect::to(&format!("/merchant/orders/{}", order.id)).into_response())
}
