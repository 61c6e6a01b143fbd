//! Shared helpers for the end-to-end tests: where the fixtures are, and how to start
//! the binary under test.

#![allow(dead_code)]

use std::path::PathBuf;

use sandbox_testing::{Builder, Sandbox};

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/apps")
        .join(name)
}

pub fn sandbox(app: &str) -> Builder {
    Sandbox::builder(fixture(app)).bin(env!("CARGO_BIN_EXE_sandbox"))
}

pub fn start(app: &str) -> Sandbox {
    sandbox(app)
        .start()
        .unwrap_or_else(|e| panic!("starting the {app} fixture: {e:#}"))
}
