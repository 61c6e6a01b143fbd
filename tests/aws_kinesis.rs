//! End to end: the official Rust SDK for kinesis against the sandbox.

mod common;
