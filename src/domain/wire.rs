//! How data reaches the browser and is read there: the page's data (a JSON block in the HTML,
//! read by the island) and the server functions' answers (server_fn's JSON, read by
//! `src/api/calls.rs`).
//!
//! The server writes with serde_json. The browser reads with serde-json-core, whose errors
//! carry no message. serde_json's parser and its error messages (which print floats) made half
//! of an empty island's WASM (figures in docs/performance.md). That is also why the island takes no props: leptos decodes
//! props with serde_json.

use serde::{de::DeserializeOwned, Serialize};

/// Why JSON could not be read; its details stay out of the WASM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed JSON")]
pub struct Malformed;

/// Reads one JSON value (and nothing after it but whitespace).
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, Malformed> {
    // Unescaped strings are never longer than their escaped form.
    let mut unescaped = vec![0u8; text.len()];
    let (value, read) =
        serde_json_core::from_str_escaped::<T>(text, &mut unescaped).map_err(|_| Malformed)?;
    match text[read..].trim_start() {
        "" => Ok(value),
        _ => Err(Malformed),
    }
}

/// The page's data as a JSON block for a `<script type="application/json">`: `<` is
/// written `\u003c`, so no string in it can close the script.
pub fn page_data<T: Serialize>(value: &T) -> String {
    leptos::serde_json::to_string(value)
        .expect("page data is plain data")
        .replace('<', "\\u003c")
}

/// The page's data block with this id, read by the island when it hydrates.
#[cfg(feature = "hydrate")]
pub fn read_page_data<T: DeserializeOwned>(id: &str) -> Option<T> {
    let text = leptos::prelude::document()
        .get_element_by_id(id)?
        .text_content()?;
    decode(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::{decode, page_data, Malformed};
    use crate::domain::error::DeclineReason;
    use crate::domain::{CheckoutError, Offer, OrderStatus, OrderSummary, PaymentOutcome, Receipt};
    use leptos::server_fn::codec::JsonEncoding;
    use leptos::server_fn::Encodes;

    /// What a server function answers, as server_fn's JSON encoding writes it.
    fn answer<T: serde::Serialize>(value: &T) -> String {
        String::from_utf8(
            <JsonEncoding as Encodes<T>>::encode(value)
                .unwrap()
                .to_vec(),
        )
        .unwrap()
    }

    #[test]
    fn the_browser_reads_the_server_functions_answers_as_they_are_written() {
        let summary = OrderSummary {
            reference: "A1B2".into(),
            lines: vec![],
            amount: 0,
            currency: "eur".into(),
            status: OrderStatus::Open,
        };
        assert_eq!(decode::<OrderSummary>(&answer(&summary)), Ok(summary));
        let errors = [
            CheckoutError::CartFrozen,
            CheckoutError::Declined(DeclineReason::InsufficientFunds),
            CheckoutError::Card("Ton \"numéro\"\n".into()),
        ];
        let written = answer(&errors);
        assert_eq!(
            written,
            r#"["CartFrozen",{"Declined":"InsufficientFunds"},{"Card":"Ton \"numéro\"\n"}]"#
        );
        assert_eq!(decode::<[CheckoutError; 3]>(&written), Ok(errors));
        let outcomes = [
            PaymentOutcome::RequiresAction {
                payment_intent_id: "pi_1".into(),
                client_secret: "pi_1_secret_2".into(),
            },
            PaymentOutcome::Completed(Receipt {
                reference: "A1B2".into(),
                amount: 1450,
                currency: "eur".into(),
                card_brand: Some("visa".into()),
                card_last4: None,
                status: OrderStatus::Paid,
            }),
        ];
        assert_eq!(
            decode::<[PaymentOutcome; 2]>(&answer(&outcomes)),
            Ok(outcomes)
        );
    }

    #[test]
    fn malformed_json_is_an_error_not_a_panic() {
        for broken in [
            "\"CartFrozen\" trailing",
            "\"CartFro",
            "",
            "{\"Declined\":\"Nope\"}",
            "{\"reference\": 12",
        ] {
            assert_eq!(
                decode::<CheckoutError>(broken),
                Err(Malformed),
                "{broken:?}"
            );
        }
        assert_eq!(
            decode::<CheckoutError>(" \"CartFrozen\"\n"),
            Ok(CheckoutError::CartFrozen)
        );
    }

    #[test]
    fn page_data_cannot_close_its_script_and_reads_back_unchanged() {
        let offer = Offer {
            id: "x".into(),
            name: "</script><script>alert(1)</script> <!-- Caf\u{e9} \\ \"1\"".into(),
            unit_amount: 1,
        };
        let data = page_data(&offer);
        assert!(!data.contains('<'), "{data}");
        assert_eq!(decode::<Offer>(&data), Ok(offer));
    }
}
