//! Where a module specifier points, decided on the host where the files are (the
//! handler sees no host files): relative and absolute paths inside the project,
//! Architect's `@architect/shared` and `@architect/views` (`src/shared`, `src/views`),
//! the built-in modules the runner ships, and packages from `node_modules` — the
//! function's first, then each directory up to the project root — by `exports`, `main`
//! or `index.js`, as Node does.

use std::path::{Path, PathBuf};

/// A resolved specifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    File(PathBuf),
    /// Shipped inside the runner: `@architect/functions`, `@sandbox/functions`, and
    /// Node's built-in modules (those the sandbox cannot offer throw when required).
    Builtin(String),
}

/// Modules of our own, always served by the runner even when a copy is installed: the
/// real `@architect/functions` talks to AWS.
const OWN: &[&str] = &["@architect/functions", "@sandbox/functions"];

const NODE_BUILTINS: &[&str] = &[
    "assert",
    "async_hooks",
    "buffer",
    "child_process",
    "cluster",
    "console",
    "constants",
    "crypto",
    "dgram",
    "diagnostics_channel",
    "dns",
    "domain",
    "events",
    "fs",
    "fs/promises",
    "http",
    "http2",
    "https",
    "inspector",
    "module",
    "net",
    "os",
    "path",
    "path/posix",
    "perf_hooks",
    "process",
    "punycode",
    "querystring",
    "readline",
    "repl",
    "stream",
    "stream/promises",
    "string_decoder",
    "sys",
    "timers",
    "timers/promises",
    "tls",
    "trace_events",
    "tty",
    "url",
    "util",
    "util/types",
    "v8",
    "vm",
    "wasi",
    "worker_threads",
    "zlib",
];

/// Extensions tried after the specifier as written.
const EXTENSIONS: &[&str] = &["js", "mjs", "cjs", "ts", "mts", "cts", "json"];

/// Resolves `specifier` imported by `from` (a file) in the project at `root`. `esm`
/// says whether the importer is an ES module (for `exports` conditions). The error is
/// the help text.
pub fn resolve(root: &Path, from: &Path, specifier: &str, esm: bool) -> Result<Target, String> {
    if OWN.contains(&specifier) {
        return Ok(Target::Builtin(specifier.to_string()));
    }
    let bare = specifier.strip_prefix("node:").unwrap_or(specifier);
    if specifier.starts_with("node:") || NODE_BUILTINS.contains(&bare) {
        return Ok(Target::Builtin(bare.to_string()));
    }
    for (alias, dir) in [
        ("@architect/shared", "src/shared"),
        ("@architect/views", "src/views"),
    ] {
        if let Some(rest) = specifier.strip_prefix(alias) {
            if rest.is_empty() || rest.starts_with('/') {
                let base = root.join(dir).join(rest.trim_start_matches('/'));
                return file_or_directory(&base).map(Target::File).ok_or_else(|| {
                    format!("`{specifier}` is Architect's {dir}, but {} has no such module; create it there", base.display())
                });
            }
        }
    }
    let dir = from.parent().unwrap_or(root);
    if specifier.starts_with("./")
        || specifier.starts_with("../")
        || specifier == "."
        || specifier == ".."
    {
        let base = dir.join(specifier);
        return file_or_directory(&base).map(Target::File).ok_or_else(|| {
            format!(
                "no file {} (tried the extensions {}, and index files); fix the path",
                base.display(),
                EXTENSIONS.join(", ")
            )
        });
    }
    if specifier.starts_with('/') {
        return Err("absolute paths are not allowed: handlers see no host files; use a path relative to the importing file".into());
    }
    package(root, dir, specifier, esm)
}

fn package(root: &Path, dir: &Path, specifier: &str, esm: bool) -> Result<Target, String> {
    let mut parts = specifier.splitn(if specifier.starts_with('@') { 3 } else { 2 }, '/');
    let name: String = if specifier.starts_with('@') {
        format!(
            "{}/{}",
            parts.next().unwrap_or(""),
            parts.next().unwrap_or("")
        )
    } else {
        parts.next().unwrap_or("").to_string()
    };
    let subpath = parts.next();
    let mut current = Some(dir);
    while let Some(d) = current {
        let package_dir = d.join("node_modules").join(&name);
        if package_dir.is_dir() {
            let found = match subpath {
                Some(sub) => exports_entry(&package_dir, &format!("./{sub}"), esm)
                    .or_else(|| file_or_directory(&package_dir.join(sub))),
                None => exports_entry(&package_dir, ".", esm)
                    .or_else(|| file_or_directory(&package_dir)),
            };
            return found.map(Target::File).ok_or_else(|| {
                format!(
                    "package `{name}` is installed at {} but has no module `{specifier}`",
                    package_dir.display()
                )
            });
        }
        if d == root {
            break;
        }
        current = d.parent().filter(|p| p.starts_with(root));
    }
    Err(format!(
        "package `{name}` is not installed: run `npm install {name}` in the function's directory or the project root (pure-JavaScript packages only; type-only imports need `import type`)"
    ))
}

/// A file as written, with an extension added, with `.js` swapped for TypeScript's
/// (`import './x.js'` naming `x.ts`), or a directory's `package.json` main / index.
fn file_or_directory(base: &Path) -> Option<PathBuf> {
    if base.is_file() {
        return Some(base.to_path_buf());
    }
    for extension in EXTENSIONS {
        let candidate = PathBuf::from(format!("{}.{extension}", base.display()));
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    if let Some(stem) = base
        .to_str()
        .and_then(|s| s.strip_suffix(".js").or_else(|| s.strip_suffix(".mjs")))
    {
        for extension in ["ts", "mts"] {
            let candidate = PathBuf::from(format!("{stem}.{extension}"));
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    if base.is_dir() {
        if let Some(main) = read_package(base)
            .and_then(|p| p.get("main").and_then(|m| m.as_str()).map(str::to_string))
        {
            if let Some(found) = file_or_directory(&base.join(main)) {
                return Some(found);
            }
        }
        for extension in EXTENSIONS {
            let candidate = base.join(format!("index.{extension}"));
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

fn read_package(dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("package.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// `package.json` `exports` for a subpath (`.` or `./x`), with the conditions
/// `require`/`import` (as the importer is), `node` and `default`.
fn exports_entry(package_dir: &Path, subpath: &str, esm: bool) -> Option<PathBuf> {
    let package = read_package(package_dir)?;
    let exports = package.get("exports")?;
    let entry = match exports {
        serde_json::Value::String(_) if subpath == "." => exports,
        serde_json::Value::Object(map) if map.keys().any(|k| k.starts_with('.')) => {
            map.get(subpath)?
        }
        serde_json::Value::Object(_) if subpath == "." => exports,
        _ => return None,
    };
    let target = condition(entry, esm)?;
    let path = package_dir.join(target.trim_start_matches("./"));
    path.is_file().then_some(path)
}

fn condition(entry: &serde_json::Value, esm: bool) -> Option<String> {
    match entry {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(items) => items.iter().find_map(|i| condition(i, esm)),
        serde_json::Value::Object(map) => {
            let wanted = if esm { "import" } else { "require" };
            [wanted, "node", "default"]
                .iter()
                .find_map(|c| map.get(*c).and_then(|e| condition(e, esm)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn resolves_like_node() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        let function = root.join("src/http/get-index/index.js");
        write(&function, "");
        write(&root.join("src/http/get-index/lib/util.ts"), "");
        write(&root.join("src/shared/db.js"), "");
        write(
            &root.join("src/http/get-index/node_modules/left/package.json"),
            r#"{"main": "lib/left.js"}"#,
        );
        write(
            &root.join("src/http/get-index/node_modules/left/lib/left.js"),
            "",
        );
        write(
            &root.join("node_modules/@scope/right/package.json"),
            r#"{"exports": {".": {"import": "./esm.mjs", "require": "./cjs.cjs"}}}"#,
        );
        write(&root.join("node_modules/@scope/right/esm.mjs"), "");
        write(&root.join("node_modules/@scope/right/cjs.cjs"), "");
        let file = |p: &str| Ok(Target::File(root.join(p)));
        assert_eq!(
            resolve(root, &function, "./lib/util.js", false),
            file("src/http/get-index/lib/util.ts")
        );
        assert_eq!(
            resolve(root, &function, "@architect/shared/db", false),
            file("src/shared/db.js")
        );
        assert_eq!(
            resolve(root, &function, "left", false),
            file("src/http/get-index/node_modules/left/lib/left.js")
        );
        assert_eq!(
            resolve(root, &function, "@scope/right", true),
            file("node_modules/@scope/right/esm.mjs")
        );
        assert_eq!(
            resolve(root, &function, "@scope/right", false),
            file("node_modules/@scope/right/cjs.cjs")
        );
        assert_eq!(
            resolve(root, &function, "node:fs", false),
            Ok(Target::Builtin("fs".into()))
        );
        assert_eq!(
            resolve(root, &function, "@architect/functions", false),
            Ok(Target::Builtin("@architect/functions".into()))
        );
        assert!(resolve(root, &function, "missing", false)
            .unwrap_err()
            .contains("npm install missing"));
        assert!(resolve(root, &function, "./nope", false)
            .unwrap_err()
            .contains("fix the path"));
    }
}
