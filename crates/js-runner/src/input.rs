//! What the host writes on stdin, in order:
//!
//! 1. one line of JSON describing the bundle: `{"entry": ID, "compile"?: true, "modules":
//!    [{"id", "kind", "len", "deps", "lines"?, "bytecode"?}]}` — `kind` is `esm`, `cjs` or
//!    `json`; `deps` maps each specifier the module uses to the id it resolved to on the
//!    host; `lines` (for TypeScript) maps each line of the stripped code to the line of
//!    the `.ts` file; `bytecode` says the module's code is QuickJS bytecode this runner
//!    wrote in compile mode (`compile: true`, see `main.rs`) rather than source;
//! 2. the modules' code, `len` bytes each, in that order;
//!    With `preloaded: true` (and no modules) the instance starts from a per-bundle
//!    snapshot that already holds the bundle and its loaded entry module (`sandbox_preload`
//!    in `main.rs`), so nothing of the bundle is sent;
//! 3. one line of JSON with the invocation context (`requestId`, `timeoutMs`);
//! 4. the event, to the end.
//!
//! Bundle then context then event keeps the per-handler part a constant prefix the host
//! builds once, and the event byte-for-byte what every other handler receives.

use std::collections::HashMap;
use std::io::Read;

use serde_json::Value;

/// One module of the handler, as the host resolved it.
pub struct Module {
    pub kind: String,
    /// Empty when the module came as bytecode.
    pub source: String,
    /// QuickJS bytecode (a module for `esm`, the CommonJS wrapper function for `cjs`).
    pub bytecode: Option<Vec<u8>>,
    pub deps: HashMap<String, String>,
    /// Generated line (index) → original line, for type-stripped TypeScript.
    pub lines: Option<Vec<u32>>,
}

#[derive(Default)]
pub struct Bundle {
    pub entry: String,
    pub modules: HashMap<String, Module>,
    /// Module ids in the order the host sent them (compile mode answers in this order).
    pub order: Vec<String>,
    /// Compile mode: write each module's bytecode instead of running the handler.
    pub compile: bool,
    /// The instance's snapshot already holds this bundle, loaded (see `main.rs`).
    pub preloaded: bool,
}

pub struct Input {
    pub bundle: Bundle,
    /// The context line, as JSON text (parsed by `run.js`).
    pub context: String,
    pub event: Vec<u8>,
}

pub fn read_stdin() -> Result<Input, String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| format!("sandbox runner: cannot read stdin: {e}"))?;
    parse(bytes)
}

fn parse(bytes: Vec<u8>) -> Result<Input, String> {
    let bad = |what: &str| {
        format!("sandbox runner: malformed input ({what}); the runner is started by the sandbox, not by hand")
    };
    let (header, mut at) = line(&bytes, 0).ok_or_else(|| bad("no bundle header"))?;
    let header: Value = serde_json::from_slice(header).map_err(|_| bad("bundle header"))?;
    let entry = header["entry"]
        .as_str()
        .ok_or_else(|| bad("no entry"))?
        .to_string();
    let mut modules = HashMap::new();
    let mut order = Vec::new();
    for module in header["modules"]
        .as_array()
        .ok_or_else(|| bad("no modules"))?
    {
        let id = module["id"].as_str().ok_or_else(|| bad("module id"))?;
        let len = module["len"].as_u64().ok_or_else(|| bad("module length"))? as usize;
        let source = bytes
            .get(at..at + len)
            .ok_or_else(|| bad("truncated module"))?;
        at += len;
        let deps = module["deps"]
            .as_object()
            .map(|deps| {
                deps.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let lines = module["lines"].as_array().map(|lines| {
            lines
                .iter()
                .map(|l| l.as_u64().unwrap_or(0) as u32)
                .collect()
        });
        let (source, bytecode) = if module["bytecode"].as_bool().unwrap_or(false) {
            (String::new(), Some(source.to_vec()))
        } else {
            (String::from_utf8_lossy(source).into_owned(), None)
        };
        order.push(id.to_string());
        modules.insert(
            id.to_string(),
            Module {
                kind: module["kind"].as_str().unwrap_or("cjs").to_string(),
                source,
                bytecode,
                deps,
                lines,
            },
        );
    }
    let (context, at) = line(&bytes, at).ok_or_else(|| bad("no context line"))?;
    let context = String::from_utf8_lossy(context).into_owned();
    let event = bytes[at..].to_vec();
    Ok(Input {
        bundle: Bundle {
            entry,
            modules,
            order,
            compile: header["compile"].as_bool().unwrap_or(false),
            preloaded: header["preloaded"].as_bool().unwrap_or(false),
        },
        context,
        event,
    })
}

/// The bytes from `at` to the next newline, and where the next part starts.
fn line(bytes: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = bytes.get(at..)?;
    let end = rest.iter().position(|b| *b == b'\n')?;
    Some((&rest[..end], at + end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_bundle_context_and_event() {
        let mut bytes = br#"{"entry":"a.js","modules":[{"id":"a.js","kind":"cjs","len":5,"deps":{"./b":"b.json"}},{"id":"b.json","kind":"json","len":2}]}"#.to_vec();
        bytes.extend_from_slice(b"\nabcde{}");
        bytes.extend_from_slice(b"{\"requestId\":\"r\"}\n{\"x\":1}\n");
        let input = parse(bytes).unwrap();
        assert_eq!(input.bundle.entry, "a.js");
        assert_eq!(input.bundle.modules["a.js"].source, "abcde");
        assert_eq!(input.bundle.modules["a.js"].deps["./b"], "b.json");
        assert_eq!(input.bundle.modules["b.json"].source, "{}");
        assert_eq!(input.context, "{\"requestId\":\"r\"}");
        assert_eq!(input.event, b"{\"x\":1}\n");
    }
}
