//! Integration tests: the real async-stripe client (and raw HTTP where a client would hide
//! the wire) against an emulator started in-process on a free port.

mod emulator {
    mod cards;
    mod faults;
    pub mod harness;
    mod idempotency;
    mod keys;
    mod lifecycle;
    mod persistence;
    mod requests;
    mod shape;
}
