//! End to end: the official Rust SDK for events against the sandbox.

mod common;
