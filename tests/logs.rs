//! The logs never hold a card number, a client secret or a key, and the JSON log is one an
//! operator can query: each line written while serving a request carries its request id.
//!
//! `scripts/test.sh` runs the end-to-end suite with its servers' logs kept, then
//! `every_log_line_of_the_run_is_free_of_card_data_and_secrets` over them (`CHECKOUT_LOGS`:
//! the files, `:`-separated; `CHECKOUT_LOG_SECRETS`: tokens the run used, `,`-separated). The
//! other tests here show the scan finds what it looks for.

/// Why a line must not be logged, if it must not.
fn leak(line: &str, secrets: &[String]) -> Option<String> {
    if let Some(number) = card_number(line) {
        return Some(format!("a card number ({}…)", &number[..6]));
    }
    for marker in [
        "_secret_", "sk_test_", "sk_live_", "rk_test_", "rk_live_", "whsec_",
    ] {
        let mut rest = line;
        while let Some(at) = rest.find(marker) {
            let after = &rest[at + marker.len()..];
            let token: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if token.len() >= 6 {
                return Some(format!("a secret or key ({marker}…)"));
            }
            rest = after;
        }
    }
    secrets
        .iter()
        .find(|s| !s.is_empty() && line.contains(s.as_str()))
        .map(|_| "a token of the run".to_owned())
}

/// A run of 13 to 19 digits (spaces or dashes allowed between groups) that passes Luhn's
/// check: what a card number looks like. A decimal number's digits (`2.2111006890000002 s`,
/// a float as tracing prints it) are not one.
fn card_number(line: &str) -> Option<String> {
    let bytes = line.as_bytes();
    let decimal_point = |at: usize| bytes[at] == b'.' && at > 0 && bytes[at - 1].is_ascii_digit();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit()
            || (i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || decimal_point(i - 1)))
        {
            i += 1;
            continue;
        }
        let mut digits = String::new();
        let mut j = i;
        while j < bytes.len() {
            match bytes[j] {
                b'0'..=b'9' => digits.push(bytes[j] as char),
                b' ' | b'-'
                    if j + 1 < bytes.len()
                        && bytes[j + 1].is_ascii_digit()
                        && bytes[j - 1].is_ascii_digit() => {}
                _ => break,
            }
            j += 1;
        }
        let alone = j >= bytes.len()
            || !(bytes[j].is_ascii_alphanumeric()
                || (decimal_point(j) && bytes.get(j + 1).is_some_and(u8::is_ascii_digit)));
        if alone && (13..=19).contains(&digits.len()) && stripe_emulator::cards::luhn_valid(&digits)
        {
            return Some(digits);
        }
        i = j.max(i + 1);
    }
    None
}

/// A JSON log line written inside a request's span whose request id is missing.
fn request_line_without_its_id(line: &str) -> bool {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
        return false;
    };
    let Some(spans) = value["spans"].as_array() else {
        return false;
    };
    spans
        .iter()
        .filter(|span| span["name"] == "request")
        .any(|span| {
            span["request_id"]
                .as_str()
                .is_none_or(|id| id == "-" || id.is_empty())
        })
}

#[test]
fn the_scan_finds_card_numbers_client_secrets_and_keys_and_nothing_else() {
    let secrets = vec!["merchant-token-0123456789abcdef".to_owned()];
    for line in [
        "card=4242424242424242",
        r#"{"fields":{"number":"4000 0027 6000 3184"}}"#,
        "pan 5555-5555-5555-4444 typed",
        "client_secret=pi_3Abc_secret_Zyx987654",
        r#""payment_intent_client_secret":"pi_1_secret_abcdefgh""#,
        "Authorization: Bearer sk_test_localEmulatorOnly",
        // Spelt in two pieces, so no live-looking key stands in the source.
        concat!("key sk_", "live_51Habcdef"),
        "whsec_1234567890abc",
        "login token=merchant-token-0123456789abcdef",
    ] {
        assert!(leak(line, &secrets).is_some(), "not found in {line:?}");
    }
    for line in [
        "order_id=ord_4242424242424242abc",
        "request_id=req_a1b2c3d4e5f6 took 1733400000 s",
        "4242424242424241 fails Luhn",
        "amount=1450 currency=eur last4=4242",
        r#"{"timestamp":"2026-12-06T01:02:03.123456Z","level":"INFO"}"#,
        "payment_intent=pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "no secret: _secret_ alone",
        "aquired_after_secs=2.2111006890000002 slow_acquire_threshold_secs=2.0",
        "ratio 4242424242424242.5",
    ] {
        assert_eq!(leak(line, &secrets), None, "{line:?}");
    }
}

#[test]
fn a_request_line_without_its_request_id_is_found() {
    let with = r#"{"level":"INFO","fields":{"message":"x"},"spans":[{"name":"request","request_id":"6f1c","route":"/pay"}]}"#;
    let without = r#"{"level":"INFO","fields":{"message":"x"},"spans":[{"name":"request","request_id":"-"}]}"#;
    let outside = r#"{"level":"INFO","fields":{"message":"reconciler: pass done"}}"#;
    assert!(!request_line_without_its_id(with));
    assert!(request_line_without_its_id(without));
    assert!(!request_line_without_its_id(outside));
}

#[test]
#[ignore = "run by scripts/test.sh over the end-to-end run's logs"]
fn every_log_line_of_the_run_is_free_of_card_data_and_secrets() {
    let files = std::env::var("CHECKOUT_LOGS").expect("CHECKOUT_LOGS: the log files to scan");
    let secrets: Vec<String> = std::env::var("CHECKOUT_LOG_SECRETS")
        .unwrap_or_default()
        .split(',')
        .map(str::to_owned)
        .collect();
    let (mut lines, mut in_requests) = (0, 0);
    let mut found = Vec::new();
    for file in files.split(':').filter(|f| !f.is_empty()) {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        for (n, line) in text.lines().enumerate() {
            lines += 1;
            if let Some(why) = leak(line, &secrets) {
                found.push(format!("{file}:{}: {why}", n + 1));
            }
            if line.contains(r#""name":"request""#) {
                in_requests += 1;
                if request_line_without_its_id(line) {
                    found.push(format!("{file}:{}: a request's line without its id", n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "{} lines:\n{}",
        found.len(),
        found.join("\n")
    );
    assert!(lines > 1000, "only {lines} lines: were the logs kept?");
    assert!(
        in_requests > 100,
        "only {in_requests} JSON lines in requests"
    );
    eprintln!("{lines} log lines scanned, {in_requests} of them JSON lines in requests");
}
