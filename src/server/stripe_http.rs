//! The HTTP client for Stripe's API. It does what async-stripe's own client does (same
//! stack: hyper, rustls with ring, webpki roots; the API version async-stripe pins) and two
//! things that client hides: each response's `Request-Id`, logged with the call so a payment
//! can be traced in Stripe's dashboard, and its `Date`, which tells this server Stripe's time
//! (Stripe keeps an idempotency key 24 hours by its own clock, see [`StripeClock`]). Retries
//! are the caller's (`transport.rs`).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use hyper::{Method, Request};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use stripe::{CustomizedStripeRequest, RequestStrategy, StripeError};
use stripe_client_core::{StripeClient, StripeMethod};

#[derive(Clone)]
pub struct StripeHttp {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// `https://api.stripe.com/` or another base, ending in `/`.
    api_base: String,
    authorization: HeaderValue,
    clock: Arc<StripeClock>,
}

/// Stripe's time as its last answer gave it: what its 24 hours of idempotency are measured
/// by, whatever this server's clock says.
#[derive(Debug, Default)]
pub struct StripeClock {
    /// Stripe's time (Unix seconds) and when it was read.
    last: Mutex<Option<(i64, Instant)>>,
}

impl StripeClock {
    fn read(&self, date: &str) {
        if let Ok(at) = httpdate::parse_http_date(date) {
            let seconds = at
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some((seconds, Instant::now()));
        }
    }

    /// Stripe's time now, counted on from its last answer; this server's own clock until one came.
    pub fn now(&self) -> i64 {
        match *self.last.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((seconds, at)) => seconds + at.elapsed().as_secs() as i64,
            None => crate::server::store::now(),
        }
    }
}

impl StripeHttp {
    pub fn new(secret_key: &str, api_base: &str) -> Result<StripeHttp, String> {
        let mut authorization = HeaderValue::from_str(&format!("Bearer {secret_key}"))
            .map_err(|_| "the secret key is not a valid header value".to_owned())?;
        authorization.set_sensitive(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        let api_base = if api_base.ends_with('/') {
            api_base.to_owned()
        } else {
            format!("{api_base}/")
        };
        Ok(StripeHttp {
            http: Client::builder(TokioExecutor::new()).build(connector),
            api_base,
            authorization,
            clock: Arc::default(),
        })
    }

    /// Stripe's time, as its answers give it.
    pub fn clock(&self) -> &StripeClock {
        &self.clock
    }

    async fn exchange(&self, request: CustomizedStripeRequest) -> Result<Bytes, StripeError> {
        let (request, config) = request.into_pieces();
        let method = match request.method {
            StripeMethod::Get => Method::GET,
            StripeMethod::Post => Method::POST,
            StripeMethod::Delete => Method::DELETE,
        };
        let mut uri = format!("{}v1{}", self.api_base, request.path);
        if let Some(query) = &request.query {
            uri.push('?');
            uri.push_str(query);
        }
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(USER_AGENT, "leptos-checkout (async-stripe 1.0)")
            .header("stripe-version", stripe_shared::version::VERSION.as_str());
        if let Some(RequestStrategy::Idempotent(key)) = &config.request_strategy {
            builder = builder.header("idempotency-key", key.as_str());
        }
        let body = match request.body {
            Some(body) => {
                builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
                Full::new(Bytes::from(body))
            }
            None => Full::new(Bytes::new()),
        };
        let http_request = builder.body(body)?;
        let exchange = async {
            let response = self.http.request(http_request).await?;
            let status = response.status();
            let request_id = response
                .headers()
                .get("request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if let Some(date) = response
                .headers()
                .get(hyper::header::DATE)
                .and_then(|v| v.to_str().ok())
            {
                self.clock.read(date);
            }
            let bytes = response.into_body().collect().await?.to_bytes();
            Ok::<_, StripeError>((status, request_id, bytes))
        };
        let (status, request_id, bytes) = match config.timeout {
            Some(limit) => tokio::time::timeout(limit, exchange)
                .await
                .unwrap_or(Err(StripeError::Timeout))?,
            None => exchange.await?,
        };
        tracing::info!(
            request_id = request_id.as_deref().unwrap_or("-"),
            status = status.as_u16(),
            method = %method,
            path = %request.path,
            "stripe responded"
        );
        if status.is_success() {
            return Ok(bytes);
        }
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| StripeError::JSONDeserialize("Stripe's error was not UTF-8".into()))?;
        let error = miniserde::json::from_str::<stripe_shared::Error>(text).map_err(|_| {
            StripeError::JSONDeserialize(format!(
                "Stripe answered {status} without an error object"
            ))
        })?;
        Err(StripeError::Stripe(error.error, status.as_u16()))
    }
}

impl StripeClient for StripeHttp {
    type Err = StripeError;

    fn execute(
        &self,
        request: CustomizedStripeRequest,
    ) -> impl Future<Output = Result<Bytes, StripeError>> + Send {
        self.exchange(request)
    }
}
