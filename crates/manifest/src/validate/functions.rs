//! Function settings shared by every entry that owns a handler: `timeout`, `memory`,
//! `env` and `build`, plus creating the [`Function`] with its handler looked up on disk.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use super::Ctx;
use crate::error::{DResult, Diag};
use crate::handler::resolve_handler;
use crate::model::{Function, DEFAULT_MEMORY_MIB, DEFAULT_TIMEOUT};
use crate::tree::{IntRule, Kind, Node, Props};

/// Lambda's limits: 1 s to 15 min, 128 MiB to 10 GiB.
const TIMEOUT: IntRule = IntRule {
    name: "timeout",
    min: 1,
    max: 900,
    unit: "seconds",
};
const MEMORY: IntRule = IntRule {
    name: "memory",
    min: 128,
    max: 10240,
    unit: "MiB",
};

/// Settings for one function, read from its entry.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    pub timeout: Option<(Duration, Range<usize>)>,
    pub memory: Option<u32>,
    pub env: BTreeMap<String, String>,
    pub build: Option<String>,
}

impl Settings {
    pub fn read(ctx: &Ctx, props: &Props) -> DResult<Self> {
        let timeout = match props.get("timeout") {
            Some(node) => Some((
                Duration::from_secs(node.int(ctx.source, &TIMEOUT)? as u64),
                node.span.clone(),
            )),
            None => None,
        };
        let memory = props.int(&MEMORY)?.map(|m| m as u32);
        let env = match props.get("env") {
            Some(node) => env_map(ctx, node, "env")?,
            None => BTreeMap::new(),
        };
        let build = props.text("build")?;
        if let (Some(build), Some(node)) = (&build, props.get("build")) {
            if build.trim().is_empty() {
                return Err(Diag::new(
                    node.span.clone(),
                    "`build` is empty",
                    "expected a command",
                ));
            }
        }
        Ok(Settings {
            timeout,
            memory,
            env,
            build,
        })
    }

    /// Whether the entry said anything about its function (so it should exist even
    /// without a directory).
    pub fn declared(&self) -> bool {
        self.timeout.is_some()
            || self.memory.is_some()
            || !self.env.is_empty()
            || self.build.is_some()
    }

    pub fn timeout(&self) -> Duration {
        self.timeout.as_ref().map_or(DEFAULT_TIMEOUT, |(t, _)| *t)
    }
}

/// The directory of a function name (`http/get-index` → `<root>/src/http/get-index`).
pub(crate) fn dir_of(ctx: &Ctx, name: &str) -> std::path::PathBuf {
    ctx.root.join("src").join(name)
}

/// Whether a function's directory exists on disk.
pub(crate) fn dir_exists(ctx: &Ctx, name: &str) -> bool {
    dir_of(ctx, name).is_dir()
}

/// Add a function declared by an entry (its settings win over an earlier reference).
pub(crate) fn declare(
    ctx: &mut Ctx,
    name: &str,
    settings: &Settings,
    span: &Range<usize>,
) -> String {
    let dir = dir_of(ctx, name);
    let mut env = ctx.env.clone();
    env.extend(settings.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let function = Function {
        name: name.to_string(),
        handler: resolve_handler(ctx.root, &dir, settings.build.as_deref()),
        dir,
        timeout: settings.timeout(),
        memory_mib: settings.memory.unwrap_or(DEFAULT_MEMORY_MIB),
        env,
        span: ctx.span(span),
    };
    ctx.functions.insert(name.to_string(), function);
    name.to_string()
}

/// Add a function only named as a target (`fn:events/audit`), with default settings,
/// unless an entry already declared it.
pub(crate) fn reference(ctx: &mut Ctx, name: &str, span: &Range<usize>) -> String {
    if !ctx.functions.contains_key(name) {
        declare(ctx, name, &Settings::default(), span);
    }
    name.to_string()
}

/// Environment variables: a JSON object, or `.arc` words `KEY=value KEY2=value2`.
pub(crate) fn env_map(ctx: &Ctx, node: &Node, what: &str) -> DResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    match &node.kind {
        Kind::Obj(entries) => {
            for (key, value) in entries {
                check_env_name(&key.name, key.span.clone())?;
                let text = match &value.kind {
                    Kind::Num(n) => n.clone(),
                    Kind::Bool(b) => b.to_string(),
                    _ => value.text(ctx.source, &key.name)?,
                };
                out.insert(key.name.clone(), text);
            }
        }
        _ => {
            for (item, span) in node.list(ctx.source, what)? {
                let Some((k, v)) = item.split_once('=') else {
                    return Err(Diag::new(
                        span,
                        format!("`{what}` entries are `KEY=value`"),
                        format!("found `{item}`"),
                    )
                    .help(format!(
                        "write e.g. {}",
                        ctx.example(what, "LOG_LEVEL=debug")
                    )));
                };
                check_env_name(k, span.clone())?;
                out.insert(k.to_string(), v.to_string());
            }
        }
    }
    Ok(out)
}

fn check_env_name(name: &str, span: Range<usize>) -> DResult<()> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(Diag::new(
            span,
            format!("invalid environment variable name `{name}`"),
            "not a valid name",
        )
        .help("names start with a letter or `_` and contain letters, digits and `_`"));
    }
    Ok(())
}
