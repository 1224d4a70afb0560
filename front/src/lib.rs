//! The browser's entry points (`hydrate` and the islands) are `checkout`'s own exports; this
//! crate only links them into the WASM module.

extern crate checkout;
