#![recursion_limit = "512"]
//! The checkout app: one crate, two faces. Feature `ssr` builds the server binary
//! (`src/main.rs`); feature `hydrate` builds the browser's part, whose entry is [`hydrate`]
//! (the `front/` package links it into the WASM).
//!
//! Shared by both: `checkout` (the domain), `components` (the pages' shared parts), the
//! server functions in `cart` and `payments`, `server_calls` (the browser's calls to them)
//! and `wire` (how data travels to the browser). Server only: `config`, `orders`, `session`,
//! `app_state`, `page_cache` (rendered pages, kept by what they show), `rest`, `security`,
//! `server` (the router), `serve` (the process), `language` (which language a request gets),
//! `merchant` (the back office), `timing` (Server-Timing). Browser only: `stripe_js`
//! (bindings) and `browser_payment` (the payment's steps). The page around the island
//! (`app`, `checkout_page`) is the server binary's (`src/main.rs`); the island itself
//! (`src/island/`) is compiled into that binary and into the WASM (`front/`), not here.

// The translations of locales/*.json as `i18n::Locale` and its keys (leptos_i18n; build.rs).
include!(concat!(env!("OUT_DIR"), "/i18n/mod.rs"));

pub mod cart;
pub mod checkout;
pub mod components;
pub mod payments;
pub mod server_calls;
pub mod wire;

// The page and its island are outside this library: under `cargo leptos watch`, an edit to
// either rebuilds the server binary (and, for the island, the WASM's package), not this.
#[cfg(feature = "ssr")]
pub mod app_state;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod language;
#[cfg(feature = "ssr")]
pub mod merchant;
#[cfg(feature = "ssr")]
pub mod orders;
#[cfg(feature = "ssr")]
pub mod page_cache;
#[cfg(feature = "ssr")]
pub mod rest;
#[cfg(feature = "ssr")]
pub mod security;
#[cfg(feature = "ssr")]
pub mod serve;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod shutdown;
#[cfg(feature = "ssr")]
pub mod timing;
#[cfg(feature = "hydrate")]
pub mod browser_payment;
#[cfg(feature = "hydrate")]
pub mod stripe_js;

/// WASM entry: hydrate the page's islands (the cart and the payment form); the rest of the
/// page stays the server's HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
