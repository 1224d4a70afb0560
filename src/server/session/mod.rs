//! The browser's order: a signed, HttpOnly, SameSite=Lax cookie holding the order id and
//! the time it was issued (refused after 30 days, whatever the browser keeps). A browser
//! that saved a card also holds a long-lived signed shopper cookie: its saved cards are
//! its own.
//!
//! A glance stores nothing: a page visit without a usable order gets a fresh id in its
//! cookie and the default cart; the order is stored by the first request that changes or
//! pays it ([`Session::ensure_order`], [`Session::lease_order`]). Concurrent first requests
//! of one browser carry the same id, so they store one order.

use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;

use crate::server::state::AppState;

pub mod cookies;
pub use cookies::{
    cookie_name, cookie_value, set_cookie_header, CookieSigner, COOKIE_NAME, SECURE_COOKIE_NAME,
};
use cookies::{shopper_cookie_name, SHOPPER_MAX_AGE_SECONDS};

/// The browser's order id: from a valid cookie, or new (its cookie then goes out with the
/// response).
#[derive(Debug, Clone)]
pub struct Session {
    order_id: Arc<Mutex<Option<String>>>,
    new_cookie: Arc<Mutex<Option<HeaderValue>>>,
    /// The request carried an order cookie that is forged, from another key, or expired:
    /// it is refused rather than charged to a fresh cart behind the shopper's back.
    rejected_cookie: bool,
    /// The browser's shopper id (it saved a card), and its cookie when new.
    shopper_id: Arc<Mutex<Option<String>>>,
    new_shopper_cookie: Arc<Mutex<Option<HeaderValue>>>,
}

impl Session {
    fn new(order_id: Option<String>, rejected_cookie: bool, shopper_id: Option<String>) -> Session {
        Session {
            order_id: Arc::new(Mutex::new(order_id)),
            new_cookie: Arc::default(),
            rejected_cookie,
            shopper_id: Arc::new(Mutex::new(shopper_id)),
            new_shopper_cookie: Arc::default(),
        }
    }

    /// The browser's shopper id, if it ever saved a card (or began to).
    pub fn shopper_id(&self) -> Option<String> {
        self.shopper_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The browser's shopper id, giving it one (and its long-lived cookie) if it has none.
    pub fn ensure_shopper(&self, state: &AppState) -> String {
        let mut current = self.shopper_id.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(id) = current.as_ref() {
            return id.clone();
        }
        let id = format!("shp_{}", crate::server::store::random_key());
        let value = state.signer.sign(&id, crate::server::store::now());
        let name = shopper_cookie_name(state.secure_cookies);
        let secure = if state.secure_cookies { "; Secure" } else { "" };
        let cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SHOPPER_MAX_AGE_SECONDS}{secure}");
        *self
            .new_shopper_cookie
            .lock()
            .unwrap_or_else(|p| p.into_inner()) =
            Some(HeaderValue::from_str(&cookie).expect("cookie value is ASCII"));
        *current = Some(id.clone());
        id
    }

    /// The order id this browser holds, if any (its order may not be stored yet).
    pub fn order_id(&self) -> Option<String> {
        self.order_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether this request named the browser's order (it had none, or a finished one): that
    /// order is stored nowhere yet, so there is nothing to read.
    pub fn order_named_now(&self) -> bool {
        self.new_cookie
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// The browser's order id, giving it a new one (and its cookie) if it has none.
    pub fn id_or_new(&self, state: &AppState) -> String {
        match self.order_id() {
            Some(id) => id,
            None => self.start_new(state),
        }
    }

    /// A new order id for this browser, replacing the one it had; its cookie goes out with
    /// the response.
    pub fn start_new(&self, state: &AppState) -> String {
        let id = crate::server::store::new_order_id();
        *self.new_cookie.lock().unwrap_or_else(|p| p.into_inner()) = Some(set_cookie_header(
            &state.signer,
            &id,
            crate::server::store::now(),
            state.secure_cookies,
        ));
        *self.order_id.lock().unwrap_or_else(|p| p.into_inner()) = Some(id.clone());
        id
    }

    /// The browser's order, stored now if this is the first request that changes it.
    pub async fn ensure_order(
        &self,
        state: &AppState,
    ) -> Result<String, crate::domain::CheckoutError> {
        let id = self.order_to_change(state)?;
        state
            .orders
            .open_order(&id, &state.catalogue)
            .await
            .map_err(crate::server::payments::context::internal)?;
        Ok(id)
    }

    /// The lease on the browser's order, stored now (already leased, with `first_request`
    /// recorded: see [`crate::server::store::OrderStore::open_leased`]) if this is the first request
    /// that changes it, with the order then stored; `PaymentInProgress` while another holder
    /// has it.
    pub async fn lease_order(
        &self,
        state: &AppState,
        first_request: impl FnOnce(
            &crate::server::store::Order,
        ) -> Option<crate::server::store::SentRequest>,
    ) -> Result<
        (
            crate::server::store::Lease,
            Option<crate::server::store::Order>,
        ),
        crate::domain::CheckoutError,
    > {
        let id = self.order_to_change(state)?;
        let leased = state
            .orders
            .open_leased(&id, &state.catalogue, state.lease, first_request)
            .await?;
        leased.ok_or(crate::domain::CheckoutError::PaymentInProgress)
    }

    /// The order a change applies to: a new one for a browser without any, none for a browser
    /// whose cookie was refused (it is told its session expired, not given an empty cart).
    fn order_to_change(&self, state: &AppState) -> Result<String, crate::domain::CheckoutError> {
        if self.rejected_cookie && self.order_id().is_none() {
            return Err(crate::domain::CheckoutError::SessionExpired);
        }
        Ok(self.id_or_new(state))
    }
}

/// Resolves the session of the page, `POST /pay` and the server functions (the routes this
/// layer is put on) from the cookie alone: no database I/O here. A page visit without a
/// usable cookie gets a new id; the page itself starts a new order when the browser's order
/// is finished (`load_checkout`).
pub async fn session_layer(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let now = crate::server::store::now();
    let presented = cookie_value(request.headers(), cookie_name(state.secure_cookies));
    // Each cookie holds only its own kind of id, so one cannot stand in for the other.
    let claimed = presented
        .and_then(|v| state.signer.verify(v, now))
        .filter(|id| id.starts_with("ord_"));
    let rejected_cookie = presented.is_some() && claimed.is_none();
    let shopper = cookie_value(request.headers(), shopper_cookie_name(state.secure_cookies))
        .and_then(|v| state.signer.verify_within(v, now, SHOPPER_MAX_AGE_SECONDS))
        .filter(|id| id.starts_with("shp_"));
    let session = Session::new(claimed, rejected_cookie, shopper);
    // The layer guards the page (GET) and what changes or pays the order (POST).
    if request.method() == Method::GET {
        session.id_or_new(&state);
    }
    if let Some(order_id) = session.order_id() {
        crate::server::telemetry::http::name_order(&order_id);
    }
    request.extensions_mut().insert(session.clone());
    let mut response = next.run(request).await;
    for new in [&session.new_cookie, &session.new_shopper_cookie] {
        if let Some(cookie) = new.lock().unwrap_or_else(|p| p.into_inner()).take() {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }
    response
}
