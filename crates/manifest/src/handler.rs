//! Where a function's code comes from: what is in its directory on disk.
//!
//! Looked up when the manifest is read (and again by whoever reloads it), in a fixed
//! order so the answer never depends on directory listing order. A missing handler is
//! not a manifest error: the app still starts and reports the function as missing,
//! with [`missing_handler_help`] saying what to put where.

use std::path::{Path, PathBuf};

use crate::model::{Function, HandlerSource};

/// Where Cargo-built handlers land, relative to the project root.
pub const CARGO_TARGET_DIR: &str = ".sandbox/target";

/// JavaScript and TypeScript entry files, in the order they are looked for (Architect's
/// `index.*` first, then `handler.*`).
pub const SCRIPT_ENTRIES: &[&str] = &[
    "index.js",
    "index.mjs",
    "index.cjs",
    "index.ts",
    "index.mts",
    "handler.js",
    "handler.mjs",
    "handler.cjs",
    "handler.ts",
    "handler.mts",
];

/// Resolve a function directory: an explicit `build` command wins, then `handler.wasm`,
/// `handler.wat`, a Rust crate (`Cargo.toml`), and a JavaScript or TypeScript entry
/// ([`SCRIPT_ENTRIES`]).
pub fn resolve_handler(root: &Path, dir: &Path, build: Option<&str>) -> HandlerSource {
    if let Some(command) = build {
        return HandlerSource::Command {
            command: command.to_string(),
            output: dir.join("handler.wasm"),
        };
    }
    let wasm = dir.join("handler.wasm");
    if wasm.is_file() {
        return HandlerSource::Wasm { path: wasm };
    }
    let wat = dir.join("handler.wat");
    if wat.is_file() {
        return HandlerSource::Wat { path: wat };
    }
    let manifest = dir.join("Cargo.toml");
    if manifest.is_file() {
        let binary = cargo_binary_name(&manifest).unwrap_or_else(|| {
            // An unreadable Cargo.toml fails the build with cargo's own message; the
            // directory name is only a placeholder until then.
            dir.file_name().map_or_else(
                || "handler".to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        });
        return HandlerSource::Cargo {
            manifest,
            output: root
                .join(CARGO_TARGET_DIR)
                .join("wasm32-wasip1/release")
                .join(format!("{binary}.wasm")),
        };
    }
    for name in SCRIPT_ENTRIES {
        let entry = dir.join(name);
        if entry.is_file() {
            return if name.ends_with("ts") {
                HandlerSource::TypeScript { entry }
            } else {
                HandlerSource::JavaScript { entry }
            };
        }
    }
    HandlerSource::Missing {
        looked_in: dir.to_path_buf(),
    }
}

/// The binary a crate builds: its first `[[bin]]` name, else the package name (Cargo
/// keeps the dashes in binary file names).
fn cargo_binary_name(manifest: &Path) -> Option<String> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let doc: toml::Table = text.parse().ok()?;
    let bin = doc
        .get("bin")
        .and_then(|b| b.as_array())
        .and_then(|bins| bins.first())
        .and_then(|b| b.get("name"))
        .and_then(|n| n.as_str());
    let package = doc
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str());
    bin.or(package).map(str::to_string)
}

/// What to tell a person whose function has no handler.
pub fn missing_handler_help(f: &Function) -> String {
    let looked_in: PathBuf = match &f.handler {
        HandlerSource::Missing { looked_in } => looked_in.clone(),
        _ => f.dir.clone(),
    };
    format!(
        "no handler for `{name}`: looked in {looked} for handler.wasm, handler.wat, Cargo.toml and \
         index.js/.mjs/.cjs/.ts/.mts (or handler.js/...).\n\
         To fix: write the handler in JavaScript or TypeScript as index.js or index.ts \
         (`exports.handler = async (event) => ...`); or put a WASI module there as handler.wasm \
         (or its text form handler.wat); or make it a Rust binary crate (`cargo new --bin src/{name}`, not --lib; the sandbox builds it \
         for wasm32-wasip1); or add `build <command>` to the function's entry in the manifest \
         (run in that directory, it must write handler.wasm).",
        name = f.name,
        looked = looked_in.display(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_in_order() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("src/http/get-index");
        std::fs::create_dir_all(&dir).expect("mkdir");
        assert_eq!(
            resolve_handler(root.path(), &dir, None),
            HandlerSource::Missing {
                looked_in: dir.clone()
            }
        );
        std::fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"get-index\"\nversion = \"0.1.0\"\n",
        )
        .expect("write");
        assert_eq!(
            resolve_handler(root.path(), &dir, None),
            HandlerSource::Cargo {
                manifest: dir.join("Cargo.toml"),
                output: root
                    .path()
                    .join(".sandbox/target/wasm32-wasip1/release/get-index.wasm"),
            }
        );
        std::fs::write(dir.join("handler.wat"), "(module)").expect("write");
        assert!(matches!(
            resolve_handler(root.path(), &dir, None),
            HandlerSource::Wat { .. }
        ));
        std::fs::write(dir.join("handler.wasm"), b"\0asm").expect("write");
        assert!(matches!(
            resolve_handler(root.path(), &dir, None),
            HandlerSource::Wasm { .. }
        ));
        assert_eq!(
            resolve_handler(root.path(), &dir, Some("make")),
            HandlerSource::Command {
                command: "make".into(),
                output: dir.join("handler.wasm")
            }
        );
    }
}
