//! ES module resolution and loading from the bundle the host resolved.
//!
//! Specifiers were resolved on the host (where the files are), so resolving here is a
//! lookup in the importing module's `deps`. ES modules are declared from their source;
//! CommonJS, JSON and built-in modules are required through `run.js`'s CommonJS loader
//! and re-exported (`default` plus each own key as a named export), which is how Node
//! lets `import` read CommonJS.

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::module::Declared;
use rquickjs::{Ctx, Function, Module, Object, Value};

/// Built-in modules shipped in the runner, by id (`builtin:NAME`); each is CommonJS.
pub fn builtin_source(id: &str) -> Option<&'static str> {
    Some(match id.strip_prefix("builtin:")? {
        "@architect/functions" => include_str!("../js/builtins/architect-functions.js"),
        "@sandbox/functions" => include_str!("../js/builtins/sandbox-functions.js"),
        "buffer" => "module.exports = { Buffer: globalThis.Buffer };",
        "crypto" => include_str!("../js/builtins/crypto.js"),
        "events" => include_str!("../js/builtins/events.js"),
        "path" => include_str!("../js/builtins/path.js"),
        "process" => "module.exports = globalThis.process;",
        "timers" => "module.exports = { setTimeout, clearTimeout, setInterval, clearInterval, setImmediate, clearImmediate };",
        "url" => "module.exports = { URL, URLSearchParams };",
        "util" => include_str!("../js/builtins/util.js"),
        // The host maps every Node built-in here; those a handler cannot have (files,
        // network, processes) fail when required, not when the handler loads, so a
        // package that only mentions one still works.
        _ => "throw new Error(`${module.id.slice(8)} (a Node built-in module) is not available in the sandbox: handlers see no host files, network or processes`);",
    })
}

pub struct BundleResolver;

impl Resolver for BundleResolver {
    fn resolve<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<String> {
        let bundle = crate::bundle();
        if bundle.modules.contains_key(name) || builtin_source(name).is_some() {
            return Ok(name.to_string());
        }
        if let Some(id) = bundle.modules.get(base).and_then(|m| m.deps.get(name)) {
            return Ok(id.clone());
        }
        Err(rquickjs::Exception::throw_message(
            ctx,
            &format!("Cannot find module '{name}' imported from {base} (the sandbox resolves imports when it loads the handler: only string-literal specifiers it could find are available)"),
        ))
    }
}

pub struct BundleLoader;

impl Loader for BundleLoader {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js, Declared>> {
        let bundle = crate::bundle();
        if let Some(module) = bundle.modules.get(name) {
            if module.kind == "esm" {
                return match &module.bytecode {
                    // SAFETY: this runner wrote the bytecode (compile mode) with the same
                    // QuickJS build.
                    Some(bytes) => unsafe { Module::load(ctx.clone(), bytes) },
                    None => Module::declare(ctx.clone(), name, module.source.clone()),
                };
            }
        }
        Module::declare(ctx.clone(), name, commonjs_facade(ctx, name)?)
    }
}

/// An ES module re-exporting a CommonJS (or JSON, or built-in) module's exports.
fn commonjs_facade(ctx: &Ctx<'_>, id: &str) -> rquickjs::Result<String> {
    let sandbox: Object = ctx.globals().get("__sandbox")?;
    let require: Function = sandbox.get("requireId")?;
    let exports: Value = require.call((id,))?;
    let quoted = serde_json::to_string(id).unwrap_or_default();
    let mut source =
        format!("const m = globalThis.__sandbox.requireId({quoted});\nexport default (m && m.__esModule && 'default' in m) ? m.default : m;\n");
    if let Some(object) = exports.as_object() {
        let names: Vec<String> = object
            .keys::<String>()
            .filter_map(Result::ok)
            .filter(|k| is_identifier(k) && k != "default")
            .collect();
        if !names.is_empty() {
            source.push_str(&format!("export const {{ {} }} = m;\n", names.join(", ")));
        }
    }
    Ok(source)
}

fn is_identifier(name: &str) -> bool {
    const RESERVED: &[&str] = &[
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "enum",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "new",
        "null",
        "return",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
        "yield",
        "let",
        "static",
        "await",
        "implements",
        "interface",
        "package",
        "private",
        "protected",
        "public",
    ];
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && !RESERVED.contains(&name)
}
