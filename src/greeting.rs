//! A placeholder server function that proves the page hydrated: its answer can only
//! appear after the WASM has taken over the button and reached the server.

use leptos::prelude::*;

/// Answers from the server (with the shop name from the server's settings), so a
/// shown reply proves the round trip.
#[server(prefix = "/api", endpoint = "ping")]
pub async fn ping(name: String) -> Result<String, ServerFnError> {
    let settings = use_context::<crate::config::Settings>()
        .ok_or_else(|| ServerFnError::new("server settings are not available"))?;
    Ok(reply_to(&settings.shop.name, &name))
}

/// What the server says back; kept apart so it is tested without a server.
pub fn reply_to(shop: &str, name: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        format!("Hello from {shop}")
    } else {
        format!("Hello {name}, from {shop}")
    }
}

#[cfg(test)]
mod tests {
    use super::reply_to;

    #[test]
    fn reply_names_the_caller_and_the_shop() {
        assert_eq!(reply_to("Roasters", " shopper "), "Hello shopper, from Roasters");
    }

    #[test]
    fn reply_without_a_name_is_generic() {
        assert_eq!(reply_to("Roasters", ""), "Hello from Roasters");
    }
}
