#![recursion_limit = "512"]
//! The checkout app's library: one crate, two faces. Feature `ssr` builds what the server
//! binary (`app/`) serves; feature `hydrate` builds the browser's part, whose entry is
//! [`hydrate`] (the `front/` package links it into the WASM). The folders say which is which:
//!
//! - [`domain`]: what both sides share, with no I/O: the catalogue, an order and its total,
//!   money, errors, ids, how data travels to the browser;
//! - [`api`]: the server functions, the seam between the two (their server side runs in
//!   `server/`, their browser side is [`api::calls`]);
//! - [`components`]: views both the server's pages and the island render;
//! - [`server`] (`ssr`): everything that runs on the server;
//! - [`browser`] (`hydrate`): Stripe.js and the payment's steps in the browser.
//!
//! The page around the island is the server binary's (`src/page/`), and the island is a crate
//! of its own (`island/`), which the binary and the WASM both build.

// The translations of locales/*.json as `i18n::Locale` and its keys (leptos_i18n; build.rs).
include!(concat!(env!("OUT_DIR"), "/i18n/mod.rs"));

pub mod api;
pub mod components;
pub mod domain;

#[cfg(feature = "hydrate")]
pub mod browser;
#[cfg(feature = "ssr")]
pub mod server;

/// WASM entry: hydrate the page's islands (the cart and the payment form); the rest of the
/// page stays the server's HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
