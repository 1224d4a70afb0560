//! The browser's build: the WASM module that hydrates the page's island. It links the
//! `checkout` library's browser part (its entry point, `hydrate`) and the island's crate.

extern crate checkout;
pub use checkout_island::*;
