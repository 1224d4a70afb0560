//! How the server functions' answers travel: JSON, as server_fn's `Json` sends it, but
//! decoded from text. leptos decodes the island's props with `serde_json::from_str`; decoding
//! the answers from bytes (`from_slice`, as `JsonEncoding` does) put a second copy of every
//! shared type's JSON decoder into the WASM (measured: see README "Performance").

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::{de::DeserializeOwned, Serialize};

/// JSON in the body, read as UTF-8 text.
pub struct JsonText;

/// A `POST` whose answer is [`JsonText`] (arguments stay URL-encoded, the default).
pub type PostJsonText = Post<JsonText>;

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
    type Error = String;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(|e| e.to_string())?;
        leptos::serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::JsonText;
    use crate::checkout::{CheckoutError, OrderStatus, OrderSummary};
    use leptos::server_fn::codec::JsonEncoding;
    use leptos::server_fn::{Bytes, Decodes, Encodes};

    #[test]
    fn answers_are_the_json_server_fns_send_and_read_back_from_text() {
        let summary = OrderSummary { reference: "A1B2".into(), lines: vec![], amount: 0, currency: "eur".into(), status: OrderStatus::Open };
        let errors = [CheckoutError::CartFrozen, CheckoutError::SavedCardUnknown];
        // The same bytes as server_fn's own JSON: scripts and tests that read the answers see no change.
        assert_eq!(<JsonText as Encodes<OrderSummary>>::encode(&summary).unwrap(), <JsonEncoding as Encodes<OrderSummary>>::encode(&summary).unwrap());
        let bytes = <JsonText as Encodes<[CheckoutError; 2]>>::encode(&errors).unwrap();
        assert_eq!(&bytes[..], br#"["CartFrozen","SavedCardUnknown"]"#);
        assert_eq!(<JsonText as Decodes<[CheckoutError; 2]>>::decode(bytes).unwrap(), errors);
    }

    #[test]
    fn an_answer_that_is_not_utf8_text_is_an_error_not_a_panic() {
        let broken = Bytes::from_static(b"\"Cart\xffFrozen\"");
        assert!(<JsonText as Decodes<CheckoutError>>::decode(broken).is_err());
    }
}
