//! How data travels to the browser: the page's data (a JSON block in the HTML, read by the
//! island) and the server functions' answers (JSON, as server_fn's `Json` sends them).
//!
//! The server writes with serde_json. The browser reads with serde-json-core, whose errors
//! carry no message. serde_json's parser and its error messages (which print floats) made half
//! of an empty island's WASM; reading without it took 24.8 KB (gzip) off this one (measured:
//! see README "Performance"). That is also why the island takes no props: leptos decodes
//! props with serde_json.

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::{de::DeserializeOwned, Serialize};

/// JSON in the body (answers) or in the page (its data).
pub struct JsonText;

/// A `POST` whose answer is [`JsonText`] (arguments stay URL-encoded, the default).
pub type PostJsonText = Post<JsonText>;

/// Why JSON could not be read; its details stay out of the WASM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed JSON")]
pub struct Malformed;

/// Reads one JSON value (and nothing after it but whitespace).
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, Malformed> {
    // Unescaped strings are never longer than their escaped form.
    let mut unescaped = vec![0u8; text.len()];
    let (value, read) = serde_json_core::from_str_escaped::<T>(text, &mut unescaped).map_err(|_| Malformed)?;
    match text[read..].trim_start() {
        "" => Ok(value),
        _ => Err(Malformed),
    }
}

/// The page's data as a JSON block for a `<script type="application/json">`: `<` is
/// written `\u003c`, so no string in it can close the script.
pub fn page_data<T: Serialize>(value: &T) -> String {
    leptos::serde_json::to_string(value).expect("page data is plain data").replace('<', "\\u003c")
}

/// The page's data block with this id, read by the island when it hydrates.
#[cfg(feature = "hydrate")]
pub fn read_page_data<T: DeserializeOwned>(id: &str) -> Option<T> {
    let text = leptos::prelude::document().get_element_by_id(id)?.text_content()?;
    decode(&text).ok()
}

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = leptos::serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        leptos::serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = Malformed;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        decode(std::str::from_utf8(&bytes).map_err(|_| Malformed)?)
    }
}

#[cfg(test)]
mod tests {
    use super::{decode, page_data, JsonText, Malformed};
    use crate::checkout::error::DeclineReason;
    use crate::checkout::{CheckoutError, Offer, OrderStatus, OrderSummary, PaymentOutcome, Receipt};
    use leptos::server_fn::codec::JsonEncoding;
    use leptos::server_fn::{Bytes, Decodes, Encodes};

    #[test]
    fn answers_are_the_json_server_fns_send_and_read_back_from_text() {
        let summary = OrderSummary { reference: "A1B2".into(), lines: vec![], amount: 0, currency: "eur".into(), status: OrderStatus::Open };
        // The same bytes as server_fn's own JSON: scripts and tests that read the answers see no change.
        assert_eq!(<JsonText as Encodes<OrderSummary>>::encode(&summary).unwrap(), <JsonEncoding as Encodes<OrderSummary>>::encode(&summary).unwrap());
        let errors = [CheckoutError::CartFrozen, CheckoutError::Declined(DeclineReason::InsufficientFunds), CheckoutError::Card("Ton \"numéro\"\n".into())];
        let bytes = <JsonText as Encodes<[CheckoutError; 3]>>::encode(&errors).unwrap();
        assert_eq!(std::str::from_utf8(&bytes).unwrap(), r#"["CartFrozen",{"Declined":"InsufficientFunds"},{"Card":"Ton \"numéro\"\n"}]"#);
        assert_eq!(<JsonText as Decodes<[CheckoutError; 3]>>::decode(bytes).unwrap(), errors);
        let outcomes = [
            PaymentOutcome::RequiresAction { payment_intent_id: "pi_1".into(), client_secret: "pi_1_secret_2".into() },
            PaymentOutcome::Completed(Receipt { reference: "A1B2".into(), amount: 1450, currency: "eur".into(), card_brand: Some("visa".into()), card_last4: None, status: OrderStatus::Paid }),
        ];
        let bytes = <JsonText as Encodes<[PaymentOutcome; 2]>>::encode(&outcomes).unwrap();
        assert_eq!(<JsonText as Decodes<[PaymentOutcome; 2]>>::decode(bytes).unwrap(), outcomes);
    }

    #[test]
    fn malformed_answers_are_errors_not_panics() {
        for broken in [&b"\"Cart\xffFrozen\""[..], b"\"CartFrozen\" trailing", b"\"CartFro", b"", b"{\"Declined\":\"Nope\"}"] {
            let decoded = <JsonText as Decodes<CheckoutError>>::decode(Bytes::copy_from_slice(broken));
            assert_eq!(decoded, Err(Malformed), "{:?}", String::from_utf8_lossy(broken));
        }
        assert_eq!(decode::<CheckoutError>(" \"CartFrozen\"\n"), Ok(CheckoutError::CartFrozen));
    }

    #[test]
    fn page_data_cannot_close_its_script_and_reads_back_unchanged() {
        let offer = Offer { id: "x".into(), name: "</script><script>alert(1)</script> <!-- Caf\u{e9} \\ \"1\"".into(), unit_amount: 1 };
        let data = page_data(&offer);
        assert!(!data.contains('<'), "{data}");
        assert_eq!(decode::<Offer>(&data), Ok(offer));
    }
}
