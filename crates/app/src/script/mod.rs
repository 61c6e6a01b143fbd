//! JavaScript and TypeScript handlers: everything the host does before the runner
//! (`crates/js-runner`, a QuickJS WebAssembly module) sees the code.
//!
//! Loading a function walks its modules from the entry file, parsing each (TypeScript is
//! type-stripped) and resolving every specifier; a module that cannot be found or parsed
//! fails the load with file, line, column and a fix, and the rest of the app runs. The
//! result is a [`Script`]: the bundle the runner reads first on its stdin, built once
//! (and compiled to QuickJS bytecode once, by [`runner::RunnerCell::prepare`]), and the
//! files it came from (hot reload watches them).

mod parse;
mod preload;
mod resolve;
pub mod runner;
mod snapshot;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sandbox_runtime::Handler;

use parse::Parsed;
use resolve::Target;

/// A loaded JavaScript handler.
#[derive(Debug)]
pub struct Script {
    /// The bundle header line and every module's code, as the runner reads them.
    prefix: Vec<u8>,
    /// The header's module entries and each module's code, to build the prefix again
    /// with bytecode.
    modules: Vec<(serde_json::Value, Vec<u8>)>,
    /// Every project file in the bundle (the entry first).
    pub files: Vec<PathBuf>,
    /// The per-bundle snapshot, once the bundle is compiled to bytecode.
    preload: Option<Arc<preload::Preload>>,
}

impl Script {
    /// The handler to instantiate for one invocation and its whole stdin: from the
    /// per-bundle snapshot when it is ready for `env` (the context line and the event
    /// after a short header), else `loaded` (the runner) with the bundle, the context
    /// line and the event. The first call starts building the snapshot.
    pub fn invocation(
        &self,
        loaded: &Handler,
        env: &[(String, String)],
        request_id: &str,
        timeout: Duration,
        event: &[u8],
    ) -> (Handler, Vec<u8>) {
        match self.preload.as_ref().and_then(|p| p.handler(env)) {
            Some((handler, header)) => (handler, stdin(header, request_id, timeout, event)),
            None => (loaded.clone(), self.stdin(request_id, timeout, event)),
        }
    }

    /// The runner's whole stdin for one invocation without a per-bundle snapshot: the
    /// bundle, the context line, the event.
    pub fn stdin(&self, request_id: &str, timeout: Duration, event: &[u8]) -> Vec<u8> {
        stdin(&self.prefix, request_id, timeout, event)
    }

    /// The runner's stdin in compile mode: the bundle, answered with its bytecode.
    fn compile_stdin(&self) -> Vec<u8> {
        let mut stdin = prefix(&self.modules, true);
        stdin.extend_from_slice(b"{}\n");
        stdin
    }

    /// This script with each module's code replaced by the bytecode in `answer` (the
    /// runner's compile-mode stdout: per module, a little-endian `u32` length then the
    /// bytes; an empty entry keeps the source).
    fn with_bytecode(mut self, answer: &[u8]) -> Script {
        let mut at = 0;
        let mut codes = Vec::new();
        for _ in &self.modules {
            let Some(len) = answer.get(at..at + 4) else {
                return self;
            };
            let len = u32::from_le_bytes(len.try_into().unwrap_or_default()) as usize;
            let Some(code) = answer.get(at + 4..at + 4 + len) else {
                return self;
            };
            codes.push(code);
            at += 4 + len;
        }
        for ((entry, code), bytecode) in self.modules.iter_mut().zip(codes) {
            if !bytecode.is_empty() {
                entry["len"] = bytecode.len().into();
                entry["bytecode"] = true.into();
                *code = bytecode.to_vec();
            }
        }
        self.prefix = prefix(&self.modules, false);
        self
    }
}

struct Module {
    id: String,
    parsed: Parsed,
    deps: BTreeMap<String, String>,
}

/// Loads the handler whose entry file is `entry`, in the project at `root`.
pub fn load(root: &Path, entry: &Path) -> Result<Script, String> {
    // Canonical paths: every module is checked to be inside the project, and hot
    // reload matches changed files against `files`.
    let root = &root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let entry = &entry.canonicalize().unwrap_or_else(|_| entry.to_path_buf());
    let mut modules: Vec<Module> = Vec::new();
    let mut seen: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut queue = VecDeque::from([entry.to_path_buf()]);
    seen.insert(entry.to_path_buf(), id_of(root, entry));
    let mut files = Vec::new();
    while let Some(path) = queue.pop_front() {
        let id = seen[&path].clone();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{id}: cannot read: {e}"))?;
        let parsed = parse::parse(&path, &text).map_err(|e| {
            located(
                &id,
                &text,
                e.offset,
                &format!("syntax error: {}", e.message),
                e.help
                    .as_deref()
                    .unwrap_or("fix the syntax; the previous code (if any) keeps serving"),
            )
        })?;
        let esm = parsed.kind == parse::Kind::Esm;
        let mut deps = BTreeMap::new();
        for (specifier, offset) in &parsed.requests {
            let target = resolve::resolve(root, &path, specifier, esm).map_err(|help| {
                located(
                    &id,
                    &text,
                    *offset,
                    &format!("cannot find module `{specifier}`"),
                    &help,
                )
            })?;
            let target_id = match target {
                Target::Builtin(name) => format!("builtin:{name}"),
                Target::File(file) => {
                    let file = file.canonicalize().unwrap_or(file);
                    if !file.starts_with(root) {
                        return Err(located(
                            &id,
                            &text,
                            *offset,
                            &format!("module `{specifier}` is outside the project"),
                            "handlers may only use files inside the project directory",
                        ));
                    }
                    seen.entry(file.clone())
                        .or_insert_with(|| {
                            queue.push_back(file.clone());
                            id_of(root, &file)
                        })
                        .clone()
                }
            };
            deps.insert(specifier.clone(), target_id);
        }
        files.push(path);
        modules.push(Module { id, parsed, deps });
    }
    let modules = bundle(&modules);
    Ok(Script {
        prefix: prefix(&modules, false),
        modules,
        files,
        preload: None,
    })
}

/// `prefix`, the context line, the event.
fn stdin(prefix: &[u8], request_id: &str, timeout: Duration, event: &[u8]) -> Vec<u8> {
    let context = serde_json::json!({
        "requestId": request_id,
        "timeoutMs": timeout.as_millis() as u64,
    });
    let context = context.to_string();
    let mut stdin = Vec::with_capacity(prefix.len() + context.len() + 1 + event.len());
    stdin.extend_from_slice(prefix);
    stdin.extend_from_slice(context.as_bytes());
    stdin.push(b'\n');
    stdin.extend_from_slice(event);
    stdin
}

/// Each module's header entry and code (see the runner's `input.rs`).
fn bundle(modules: &[Module]) -> Vec<(serde_json::Value, Vec<u8>)> {
    modules
        .iter()
        .map(|m| {
            let mut entry = serde_json::json!({
                "id": m.id,
                "kind": m.parsed.kind.as_str(),
                "len": m.parsed.code.len(),
                "deps": m.deps,
            });
            if let Some(lines) = &m.parsed.lines {
                entry["lines"] = serde_json::json!(lines);
            }
            (entry, m.parsed.code.as_bytes().to_vec())
        })
        .collect()
}

/// The header line (the entry is the first module) and the concatenated code.
fn prefix(modules: &[(serde_json::Value, Vec<u8>)], compile: bool) -> Vec<u8> {
    let mut header = serde_json::json!({
        "entry": modules[0].0["id"],
        "modules": modules.iter().map(|(entry, _)| entry).collect::<Vec<_>>(),
    });
    if compile {
        header["compile"] = true.into();
    }
    let mut bytes = header.to_string().into_bytes();
    bytes.push(b'\n');
    for (_, code) in modules {
        bytes.extend_from_slice(code);
    }
    bytes
}

/// A module's name in stack traces and logs: its path from the project root.
fn id_of(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// `file:line:column: message`, the line with a caret, then how to fix it.
fn located(id: &str, text: &str, offset: u32, message: &str, help: &str) -> String {
    let offset = (offset as usize).min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let source_line = text[line_start..].lines().next().unwrap_or("");
    let gutter = line.to_string();
    format!(
        "{id}:{line}:{column}: {message}\n{pad} |\n{gutter} | {source_line}\n{pad} | {caret:>width$}\n{pad} = help: {help}",
        pad = " ".repeat(gutter.len()),
        caret = "^",
        width = column,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_the_entry_and_what_it_requires() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path().canonicalize().unwrap();
        let dir = root.join("src/http/get-index");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("index.js"),
            "const data = require('./data.json')\nexports.handler = async () => data\n",
        )
        .unwrap();
        std::fs::write(dir.join("data.json"), "{\"a\":1}").unwrap();
        let script = load(&root, &dir.join("index.js")).unwrap();
        assert_eq!(script.files, [dir.join("index.js"), dir.join("data.json")]);
        let stdin = script.stdin("req-1", Duration::from_secs(3), b"{}");
        let text = String::from_utf8(stdin).unwrap();
        let mut lines = text.lines();
        let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(header["entry"], "src/http/get-index/index.js");
        assert_eq!(
            header["modules"][0]["deps"]["./data.json"],
            "src/http/get-index/data.json"
        );
        assert_eq!(header["modules"][1]["kind"], "json");
        assert!(text.ends_with("{\"a\":1}{\"requestId\":\"req-1\",\"timeoutMs\":3000}\n{}"));
    }

    #[test]
    fn a_missing_module_is_located_with_a_fix() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path().canonicalize().unwrap();
        std::fs::write(
            root.join("index.js"),
            "// hi\nconst x = require('left-pad')\n",
        )
        .unwrap();
        let error = load(&root, &root.join("index.js")).unwrap_err();
        assert!(
            error.starts_with("index.js:2:19: cannot find module `left-pad`"),
            "{error}"
        );
        assert!(error.contains("npm install left-pad"), "{error}");
    }

    #[test]
    fn a_syntax_error_is_located() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path().canonicalize().unwrap();
        std::fs::write(
            root.join("index.js"),
            "exports.handler = async () => {\n  return 1 +;\n}\n",
        )
        .unwrap();
        let error = load(&root, &root.join("index.js")).unwrap_err();
        assert!(error.starts_with("index.js:2:"), "{error}");
        assert!(error.contains("syntax error"), "{error}");
    }
}
