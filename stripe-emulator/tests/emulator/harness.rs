//! Starts an emulator per test and speaks to it with async-stripe or raw HTTP.

use std::time::Duration;

use serde_json::Value;
use stripe::{Client, ClientBuilder, StripeError};
use stripe_core::payment_intent::{ConfirmPaymentIntent, CreatePaymentIntent};
use stripe_emulator::{Config, RunningEmulator};
use stripe_payment::payment_method::{
    CreatePaymentMethod, CreatePaymentMethodCard, CreatePaymentMethodCardDetailsParams,
    CreatePaymentMethodType,
};
use stripe_shared::{ApiErrors, PaymentIntent, PaymentMethod};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const SECRET: &str = "sk_test_emulatorTests0001";
pub const PUBLISHABLE: &str = "pk_test_emulatorTests0001";

pub struct Harness {
    pub running: RunningEmulator,
    pub client: Client,
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::start_with(Config {
            addr: "127.0.0.1:0".parse().unwrap(),
            ..Config::default()
        })
        .await
    }

    pub async fn start_with(config: Config) -> Harness {
        let running = stripe_emulator::start(config)
            .await
            .expect("emulator starts");
        let client = ClientBuilder::new(SECRET)
            .url(format!("{}/", running.base_url()))
            .build()
            .expect("client");
        Harness { running, client }
    }

    pub fn base(&self) -> &str {
        self.running.base_url()
    }

    pub async fn card(&self, number: &str) -> PaymentMethod {
        CreatePaymentMethod::new()
            .type_(CreatePaymentMethodType::Card)
            .card(CreatePaymentMethodCard::CardDetailsParams(
                CreatePaymentMethodCardDetailsParams {
                    cvc: Some("123".into()),
                    exp_month: 12,
                    exp_year: 2040,
                    networks: None,
                    number: number.into(),
                },
            ))
            .send(&self.client)
            .await
            .expect("payment method created")
    }

    /// The guide's first server call: create and confirm, manual confirmation.
    pub async fn pay(&self, pm: &str, amount: i64) -> Result<PaymentIntent, StripeError> {
        CreatePaymentIntent::new(amount, stripe_types::Currency::EUR)
            .payment_method(pm)
            .confirm(true)
            .confirmation_method(stripe_shared::PaymentIntentConfirmationMethod::Manual)
            .send(&self.client)
            .await
    }

    pub async fn reconfirm(&self, pi: &str) -> Result<PaymentIntent, StripeError> {
        ConfirmPaymentIntent::new(pi).send(&self.client).await
    }

    /// What Stripe.js does when the cardholder answers the challenge.
    pub async fn authenticate(&self, pi: &PaymentIntent, outcome: &str) -> Response {
        let secret = pi.client_secret.as_deref().expect("client secret");
        let body = format!("client_secret={secret}&outcome={outcome}");
        self.post_form(&format!("/3ds/authenticate/{}", pi.id), &[], &body)
            .await
    }

    pub async fn post_form(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        raw(self.base(), "POST", path, &all, body)
            .await
            .expect("response")
    }

    pub async fn api(&self, method: &str, path: &str, body: &str) -> Response {
        let auth = format!("Bearer {SECRET}");
        let mut headers = vec![("Authorization", auth.as_str())];
        if method == "POST" {
            headers.push(("Content-Type", "application/x-www-form-urlencoded"));
        }
        raw(self.base(), method, path, &headers, body)
            .await
            .expect("response")
    }

    pub async fn control(&self, method: &str, path: &str, json: &str) -> Response {
        raw(
            self.base(),
            method,
            path,
            &[("Content-Type", "application/json")],
            json,
        )
        .await
        .expect("response")
    }

    /// All PaymentIntents of the shared account.
    pub async fn intents(&self) -> Vec<Value> {
        let response = self.api("GET", "/v1/payment_intents?limit=100", "").await;
        assert_eq!(response.status, 200, "{}", response.body);
        response.json()["data"].as_array().unwrap().clone()
    }
}

/// The Stripe error inside a failed call.
pub fn api_error(result: Result<impl std::fmt::Debug, StripeError>) -> (ApiErrors, u16) {
    match result {
        Err(StripeError::Stripe(err, status)) => (*err, status),
        other => panic!("expected a Stripe API error, got {other:?}"),
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One HTTP/1.1 request on a fresh connection. `Err` when the server closed the connection
/// without answering.
pub async fn raw(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<Response> {
    let host = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        request.push_str(&format!("Host: {host}\r\n"));
    }
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await?;
    if bytes.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed without a response",
        ));
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    out
}

/// `raw` with a deadline: `None` when no answer came in time.
pub async fn raw_with_timeout(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    timeout: Duration,
) -> Option<std::io::Result<Response>> {
    tokio::time::timeout(timeout, raw(base, method, path, headers, body))
        .await
        .ok()
}
