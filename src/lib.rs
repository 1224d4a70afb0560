//! The checkout app: one crate, two faces. Feature `ssr` builds the server binary
//! (`src/main.rs`); feature `hydrate` builds the WASM library whose entry is [`hydrate`].

pub mod app;
#[cfg(feature = "ssr")]
pub mod config;
pub mod greeting;

/// WASM entry: attach the reactive app to the server-rendered HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
