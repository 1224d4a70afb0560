//! The browser's build: the WASM module that hydrates the page's island. The island's
//! source (`src/island/`) is compiled here, beside the server binary's copy of it, and not in
//! the `checkout` library, whose entry point (`hydrate`) and browser calls this links.

extern crate checkout;

#[path = "../../src/island/mod.rs"]
pub mod island;
