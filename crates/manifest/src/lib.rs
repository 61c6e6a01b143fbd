//! Reads an app's manifest — Architect's `.arc` or the equivalent `sandbox.json` — into
//! the typed, validated [`Manifest`] every other crate works from.
//!
//! Both formats are first read into one JSON-shaped intermediate tree that remembers
//! where every value was written (`tree`), then validated once (`validate`); errors
//! point at the exact line and column and are rendered like compiler errors
//! ([`ManifestError`]). Function directories are looked up on disk while reading, so
//! each [`Function`] says where its WebAssembly comes from ([`HandlerSource`]).

mod arc;
mod error;
mod handler;
mod json;
pub mod model;
mod suggest;
mod tree;
mod validate;

use std::path::Path;

pub use error::{ManifestError, Snippet};
pub use handler::{missing_handler_help, resolve_handler, CARGO_TARGET_DIR, SCRIPT_ENTRIES};
pub use model::*;

/// Manifest file names, in the order [`load`] looks for them.
pub const MANIFEST_FILES: &[&str] = &["app.arc", ".arc", "sandbox.json"];

/// Read the manifest in `dir`: `app.arc`, `.arc` or `sandbox.json`, first found wins.
pub fn load(dir: &Path) -> Result<Manifest, ManifestError> {
    let Some(file) = MANIFEST_FILES
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
    else {
        return Err(ManifestError::file_level(
            dir,
            format!("no manifest found in {}", dir.display()),
            Some(format!(
                "looked for {}; create app.arc, e.g.\n@app\nmy-app\n\n@http\nget /",
                MANIFEST_FILES.join(", ")
            )),
        ));
    };
    let text = std::fs::read_to_string(&file).map_err(|e| {
        ManifestError::file_level(&file, format!("can't read {}: {e}", file.display()), None)
    })?;
    if file.extension().is_some_and(|e| e == "json") {
        parse_json(dir, &file, &text)
    } else {
        parse_arc(dir, &file, &text)
    }
}

/// Parse `.arc` text. `root` is the project directory (function directories are looked
/// up under `root/src`); `file` is only used in errors and [`Manifest::file`].
pub fn parse_arc(root: &Path, file: &Path, text: &str) -> Result<Manifest, ManifestError> {
    let tree = arc::parse(text).map_err(|d| d.into_error(file, text))?;
    validate::manifest(root, file, text, &tree, validate::Format::Arc)
        .map_err(|d| d.into_error(file, text))
}

/// Parse `sandbox.json` text; see [`parse_arc`].
pub fn parse_json(root: &Path, file: &Path, text: &str) -> Result<Manifest, ManifestError> {
    let tree = json::parse(text).map_err(|d| d.into_error(file, text))?;
    validate::manifest(root, file, text, &tree, validate::Format::Json)
        .map_err(|d| d.into_error(file, text))
}
