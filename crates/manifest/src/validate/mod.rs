//! From the [`Node`] tree (either format) to the typed [`Manifest`]: every rule about
//! what a manifest may say lives under this module, written once for both formats.
//!
//! Sections are read in dependency order — queues before the topics, streams and
//! buses that name them — so a reference can be checked as soon as it is read.

mod alarms;
mod bus;
mod events;
mod functions;
mod http;
mod names;
mod queues;
mod remote;
mod schedules;
mod streams;
mod targets;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use crate::error::{line_column, DResult, Diag};
use crate::model::{Function, Manifest, Span};
use crate::tree::{Key, Kind, Node, Props};

/// Which format the tree came from; only used to phrase help in the user's syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Arc,
    Json,
}

/// Top-level keys of `sandbox.json` (and the pragmas they mirror).
const SECTIONS: &[&str] = &[
    "app",
    "http",
    "events",
    "queues",
    "scheduled",
    "streams",
    "bus",
    "static",
    "env",
    "$schema",
];

/// State shared while one manifest is validated.
pub(crate) struct Ctx<'a> {
    pub source: &'a str,
    pub root: &'a Path,
    pub format: Format,
    /// App-wide environment, merged into every function's.
    pub env: BTreeMap<String, String>,
    pub functions: BTreeMap<String, Function>,
    /// Queue name → (FIFO?, where declared), filled before anything refers to queues.
    pub queues: BTreeMap<String, (bool, Range<usize>)>,
    pub topics: BTreeMap<String, (bool, Range<usize>)>,
    /// Alarms, as each resource declaring them is read.
    pub alarms: Vec<crate::model::Alarm>,
    /// `deadLetters` lines on queues without a dead-letter queue, settled after topics.
    pub dead_letter_claims: Vec<alarms::Claim>,
}

impl Ctx<'_> {
    pub fn span(&self, range: &Range<usize>) -> Span {
        let (line, column) = line_column(self.source, range.start);
        Span { line, column }
    }

    /// Phrase a property for help text: `visibilityTimeout 30` or `"visibilityTimeout": 30`.
    pub fn example(&self, key: &str, value: &str) -> String {
        match self.format {
            Format::Arc => format!("`{key} {value}`"),
            Format::Json => format!("`\"{key}\": {value}`"),
        }
    }
}

pub(crate) fn manifest(
    root: &Path,
    file: &Path,
    source: &str,
    tree: &Node,
    format: Format,
) -> DResult<Manifest> {
    let top = Props::new(tree, source, "the manifest")?;
    top.only(SECTIONS, "the manifest")?;
    let mut ctx = Ctx {
        source,
        root,
        format,
        env: BTreeMap::new(),
        functions: BTreeMap::new(),
        queues: BTreeMap::new(),
        topics: BTreeMap::new(),
        alarms: Vec::new(),
        dead_letter_claims: Vec::new(),
    };
    let app = app_name(&ctx, &top)?;
    if let Some(env) = top.get("env") {
        ctx.env = functions::env_map(&ctx, env, "env")?;
    }
    let queues = match top.get("queues") {
        Some(node) => queues::read(&mut ctx, node)?,
        None => Vec::new(),
    };
    let topics = match top.get("events") {
        Some(node) => events::read(&mut ctx, node)?,
        None => Vec::new(),
    };
    alarms::settle(&mut ctx, &topics)?;
    let routes = match top.get("http") {
        Some(node) => http::read(&mut ctx, node)?,
        None => Vec::new(),
    };
    let schedules = match top.get("scheduled") {
        Some(node) => schedules::read(&mut ctx, node)?,
        None => Vec::new(),
    };
    let streams = match top.get("streams") {
        Some(node) => streams::read(&mut ctx, node)?,
        None => Vec::new(),
    };
    let buses = match top.get("bus") {
        Some(node) => bus::read(&mut ctx, node)?,
        None => Vec::new(),
    };
    let static_dir = static_dir(&ctx, top.get("static"))?;
    Ok(Manifest {
        root: root.to_path_buf(),
        file: file.to_path_buf(),
        app,
        routes,
        topics,
        queues,
        schedules,
        streams,
        buses,
        functions: ctx.functions,
        static_dir,
        alarms: ctx.alarms,
    })
}

/// A section of named entries: an object of name → settings, or (as in Architect's
/// `arc.json`) a plain array of names, each with default settings.
pub(crate) fn named_entries(ctx: &Ctx, node: &Node, what: &str) -> DResult<Vec<(Key, Node)>> {
    match &node.kind {
        Kind::Arr(items) => items
            .iter()
            .map(|item| {
                let name = item.str(ctx.source, what)?;
                let key = Key {
                    name,
                    span: item.span.clone(),
                };
                Ok((
                    key,
                    Node {
                        kind: Kind::Obj(Vec::new()),
                        span: item.span.clone(),
                    },
                ))
            })
            .collect(),
        _ => Ok(node.obj(ctx.source, what)?.to_vec()),
    }
}

fn app_name(ctx: &Ctx, top: &Props) -> DResult<String> {
    let Some(node) = top.get("app") else {
        let (message, help) = match ctx.format {
            Format::Arc => (
                "missing `@app`",
                "start the file with the app's name:\n@app\nmy-app",
            ),
            Format::Json => (
                "missing \"app\"",
                "add the app's name: {\"app\": \"my-app\", …}",
            ),
        };
        return Err(Diag::new(0..0, message, "every manifest names its app").help(help));
    };
    let name = node.str(ctx.source, "app")?;
    names::check(&name, node.span.clone(), names::APP)?;
    Ok(name)
}

/// `@static folder x` / `"static": "x"`; otherwise `public/` if it exists.
fn static_dir(ctx: &Ctx, node: Option<&Node>) -> DResult<Option<std::path::PathBuf>> {
    let folder = match node {
        None => None,
        Some(node) => match &node.kind {
            Kind::Obj(_) => {
                let props = Props::new(node, ctx.source, "`static`")?;
                // Deploy-time settings of Architect's @static, meaningless locally.
                props.only(&["folder", "fingerprint", "prune", "ignore"], "`@static`")?;
                props.str("folder")?
            }
            _ => Some(node.str(ctx.source, "static")?),
        },
    };
    Ok(match folder {
        Some(folder) => Some(ctx.root.join(folder)),
        None => Some(ctx.root.join("public")).filter(|p| p.is_dir()),
    })
}
