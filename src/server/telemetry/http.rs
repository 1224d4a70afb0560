//! Each request, as the operator sees it: a span carrying its id (tower-http's
//! `x-request-id`, kept from the load balancer or made here) and, once the session knows it,
//! its order id, so every log line it causes names both; and its route, status and time
//! counted. (tower-http's `TraceLayer` would make the span, but not the metrics: one small
//! middleware does both.)

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::record;

pub const REQUEST_ID: &str = "x-request-id";

pub async fn observe(request: Request, next: Next) -> Response {
    let route = route(request.extensions().get::<MatchedPath>()).to_owned();
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let span = tracing::info_span!(
        "request",
        request_id,
        method = %request.method(),
        route = %route,
        order_id = tracing::field::Empty,
    );
    let started = Instant::now();
    let response = next.run(request).instrument(span).await;
    record::http(route, response.status().as_u16(), started.elapsed());
    response
}

/// The route's pattern (`/merchant/orders/{id}`), the files' folder for `/pkg/…`, `other` for
/// what matched none.
fn route(matched: Option<&MatchedPath>) -> &str {
    match matched.map(MatchedPath::as_str) {
        Some(path) => match path.split_once("/{*") {
            Some((folder, _)) => folder,
            None => path,
        },
        None => "other",
    }
}

/// Names the request's order in its span (the session layer knows it).
pub fn name_order(order_id: &str) {
    tracing::Span::current().record("order_id", order_id);
}
