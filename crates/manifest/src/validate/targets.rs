//! `fn:<name>`, `queue:<name>` and `topic:<name>`: how one resource names another
//! (topic subscribers, bus rule targets, stream on-failure destinations).

use std::ops::Range;

use super::{functions, names, Ctx};
use crate::error::{DResult, Diag};
use crate::model::Target;
use crate::suggest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Allow {
    Function,
    Queue,
    Topic,
}

impl Allow {
    fn prefix(self) -> &'static str {
        match self {
            Allow::Function => "fn",
            Allow::Queue => "queue",
            Allow::Topic => "topic",
        }
    }
}

/// Parse `kind:name`, check the named queue or topic exists, and register `fn:` targets
/// as functions.
pub(crate) fn parse(
    ctx: &mut Ctx,
    text: &str,
    span: Range<usize>,
    allow: &[Allow],
    role: &str,
) -> DResult<Target> {
    let forms = allow
        .iter()
        .map(|a| format!("`{}:<name>`", a.prefix()))
        .collect::<Vec<_>>()
        .join(", ");
    let Some((kind, name)) = text.split_once(':') else {
        return Err(Diag::new(
            span,
            format!("invalid {role} `{text}`"),
            format!("expected {forms}"),
        )
        .help(format!(
            "say what kind of resource it is, e.g. `queue:{text}` or `fn:{text}`"
        )));
    };
    let which = allow.iter().copied().find(|a| a.prefix() == kind);
    let Some(which) = which else {
        let prefixes: Vec<&str> = allow.iter().map(|a| a.prefix()).collect();
        return Err(Diag::new(
            span,
            format!("a {role} can't be `{kind}:…`"),
            format!("expected {forms}"),
        )
        .maybe_help(suggest::did_you_mean(kind, prefixes, "").map(|s| s.replace("`?", ":`?"))));
    };
    match which {
        Allow::Function => {
            names::check_function(name, span.clone())?;
            Ok(Target::Function(functions::reference(ctx, name, &span)))
        }
        Allow::Queue => {
            known(name, &span, ctx.queues.keys(), "queue", "@queues")?;
            Ok(Target::Queue(name.to_string()))
        }
        Allow::Topic => {
            known(name, &span, ctx.topics.keys(), "topic", "@events")?;
            Ok(Target::Topic(name.to_string()))
        }
    }
}

fn known<'a>(
    name: &str,
    span: &Range<usize>,
    names: impl Iterator<Item = &'a String> + Clone,
    kind: &str,
    pragma: &str,
) -> DResult<()> {
    if names.clone().any(|n| n == name) {
        return Ok(());
    }
    Err(Diag::new(
        span.clone(),
        format!("no {kind} named `{name}`"),
        format!("not declared in {pragma}"),
    )
    .help(
        suggest::did_you_mean(name, names.map(String::as_str), "")
            .unwrap_or_else(|| format!("declare it under {pragma}")),
    ))
}
