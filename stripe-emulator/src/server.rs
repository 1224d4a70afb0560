//! The HTTP server: a hyper accept loop (so a fault can drop one connection without an
//! answer), with a request id and CORS (tower-http's) for loopback origins on every response.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinSet;
use tower::ServiceExt;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::ids;

/// Lets a handler close its own connection without answering (fault injection).
#[derive(Clone, Default)]
pub struct ConnectionControl(Arc<Notify>);

impl ConnectionControl {
    /// Closes the connection; the response is never sent.
    pub async fn drop_without_answer(&self) -> Response {
        self.0.notify_one();
        std::future::pending::<Response>().await
    }
}

/// The `Request-Id` of the request being handled.
#[derive(Clone)]
pub struct RequestId(pub String);

/// Adds `Request-Id` to every response and makes it available to handlers.
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let id = ids::request_id();
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("request-id", v);
    }
    response
}

/// A page on any loopback origin may call the emulator, as a checkout page calls Stripe.
pub fn loopback_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host = if rest.starts_with('[') {
        rest.split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        rest.split(':').next().unwrap_or_default().to_owned()
    };
    let port_ok = match rest.strip_prefix(host.as_str()) {
        Some("") => true,
        Some(port) => port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    };
    port_ok
        && (host == "localhost"
            || host == "[::1]"
            || host.starts_with("127.")
                && host.split('.').count() == 4
                && host.split('.').all(|o| o.parse::<u8>().is_ok()))
}

/// What Stripe.js on a local page may send and read.
pub fn cors() -> CorsLayer {
    let name = HeaderName::from_static;
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(|origin, _| {
            origin.to_str().is_ok_and(loopback_origin)
        }))
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            name("idempotency-key"),
            name("stripe-version"),
            name("stripe-account"),
        ])
        .expose_headers([
            name("request-id"),
            name("idempotent-replayed"),
            name("stripe-version"),
        ])
        .max_age(std::time::Duration::from_secs(300))
}

/// Serves `app` on `listener` until `shutdown` fires; then every open connection is closed.
pub async fn serve(listener: TcpListener, app: Router, mut shutdown: oneshot::Receiver<()>) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => break,
        };
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
        let (stream, _peer): (_, SocketAddr) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                tracing::warn!(%err, "accept failed");
                continue;
            }
        };
        let app = app.clone();
        connections.spawn(async move {
            let control = ConnectionControl::default();
            let kill = control.0.clone();
            let service = hyper::service::service_fn(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(control.clone());
                    let app = app.clone();
                    async move {
                        Ok::<_, Infallible>(
                            app.oneshot(request.map(Body::new))
                                .await
                                .unwrap_or_else(|e| match e {}),
                        )
                    }
                },
            );
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                // Dropping the connection future closes the socket without an answer.
                _ = kill.notified() => {}
            }
        });
    }
    connections.abort_all();
}

#[cfg(test)]
mod tests {
    use super::loopback_origin;

    #[test]
    fn only_loopback_origins_are_allowed() {
        for ok in [
            "http://127.0.0.1:3000",
            "http://localhost:8080",
            "http://localhost",
            "https://127.0.0.1",
            "http://[::1]:3000",
        ] {
            assert!(loopback_origin(ok), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://127.0.0.1.evil.com",
            "http://localhost.evil.com:3000",
            "null",
            "http://10.0.0.1:3000",
            "http://127.0.0.1:",
        ] {
            assert!(!loopback_origin(bad), "{bad}");
        }
    }
}
