//! End to end: the official Rust SDK for sns against the sandbox.

mod common;
