//! `@http`: routes, their paths and the Architect function name each one maps to.

use std::ops::Range;

use super::functions::{self, Settings};
use super::Ctx;
use crate::error::{DResult, Diag};
use crate::model::{Method, Route};
use crate::suggest;
use crate::tree::{Key, Kind, Node, Props};

const KEYS: &[&str] = &[
    "method", "path", "timeout", "memory", "env", "build", "alarm",
];
const METHODS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "any",
];

pub(crate) fn read(ctx: &mut Ctx, node: &Node) -> DResult<Vec<Route>> {
    let items = match &node.kind {
        Kind::Arr(items) => items,
        _ => {
            return Err(Diag::new(
                node.span.clone(),
                "`http` must be an array of routes",
                "not an array",
            )
            .help("write e.g. \"http\": [{\"method\": \"get\", \"path\": \"/\"}]"));
        }
    };
    let mut routes: Vec<(Route, String, Range<usize>)> = Vec::new();
    for item in items {
        // Architect's arc.json writes a route as ["get", "/path"].
        let pair;
        let item = match &item.kind {
            Kind::Arr(pair_items) if pair_items.len() == 2 => {
                let key = |name: &str, node: &Node| {
                    (
                        Key {
                            name: name.into(),
                            span: node.span.clone(),
                        },
                        node.clone(),
                    )
                };
                pair = Node {
                    kind: Kind::Obj(vec![
                        key("method", &pair_items[0]),
                        key("path", &pair_items[1]),
                    ]),
                    span: item.span.clone(),
                };
                &pair
            }
            _ => item,
        };
        let props = Props::new(item, ctx.source, "a route")?;
        props.only(KEYS, "a route")?;
        let method_node = required(&props, item, "method", "\"get\"")?;
        let path_node = required(&props, item, "path", "\"/\"")?;
        let method = method(
            &method_node.str(ctx.source, "method")?,
            method_node.span.clone(),
        )?;
        let path = path_node.str(ctx.source, "path")?;
        let shape = check_path(&path, path_node.span.clone())?;
        let route_span = item.span.clone();
        if let Some((first, _, first_span)) = routes
            .iter()
            .find(|(r, s, _)| r.method == method && *s == shape)
        {
            return Err(Diag::new(
                route_span,
                format!(
                    "duplicate route `{} {path}`: first declared on line {}",
                    method.as_str().to_lowercase(),
                    first.span.line
                ),
                "declared again here",
            )
            .related(first_span.clone(), "first declared here")
            .help("each method and path may appear once; merge the two or remove one"));
        }
        let name = function_name(method, &path);
        if let Some((other, _, other_span)) = routes.iter().find(|(r, _, _)| r.function == name) {
            return Err(Diag::new(
                route_span,
                format!(
                    "routes `{} {path}` and `{} {}` both map to src/{name}",
                    method.as_str().to_lowercase(),
                    other.method.as_str().to_lowercase(),
                    other.path
                ),
                "same function directory",
            )
            .related(other_span.clone(), "the other route")
            .help("Architect turns `-` and `.` into `_` in directory names; rename one path"));
        }
        let settings = Settings::read(ctx, &props)?;
        let function = functions::declare(ctx, &name, &settings, &route_span);
        let alarms = super::alarms::read(
            ctx,
            &props,
            super::alarms::On::Route {
                function: &function,
            },
        )?;
        ctx.alarms.extend(alarms);
        let route = Route {
            method,
            path,
            function,
            span: ctx.span(&route_span),
        };
        routes.push((route, shape, route_span));
    }
    Ok(routes.into_iter().map(|(r, _, _)| r).collect())
}

fn required<'a>(props: &Props<'a>, item: &Node, key: &str, example: &str) -> DResult<&'a Node> {
    props.get(key).ok_or_else(|| {
        Diag::new(
            item.span.start..item.span.start + 1,
            format!("route has no \"{key}\""),
            "in this route",
        )
        .help(format!("add \"{key}\": {example}"))
    })
}

fn method(text: &str, span: Range<usize>) -> DResult<Method> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "get" => Method::Get,
        "post" => Method::Post,
        "put" => Method::Put,
        "patch" => Method::Patch,
        "delete" => Method::Delete,
        "head" => Method::Head,
        "options" => Method::Options,
        "any" => Method::Any,
        _ => {
            return Err(Diag::new(
                span,
                format!("unknown HTTP method `{text}`"),
                "not a method",
            )
            .help(suggest::did_you_mean_or_list(text, METHODS, "")));
        }
    })
}

/// Check a route path; returns its shape (parameter names blanked) for duplicate
/// detection, since `/users/:id` and `/users/:name` match the same requests.
fn check_path(path: &str, span: Range<usize>) -> DResult<String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(Diag::new(
            span,
            format!("route path `{path}` must start with `/`"),
            "missing leading `/`",
        )
        .help(format!("write `/{path}`")));
    };
    if rest.is_empty() {
        return Ok("/".to_string());
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let mut params: Vec<&str> = Vec::new();
    let mut shape = String::new();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        if segment.is_empty() {
            let what = if last {
                "a trailing `/`"
            } else {
                "an empty segment (`//`)"
            };
            return Err(Diag::new(
                span,
                format!("route path `{path}` has {what}"),
                "empty path segment",
            )
            .help("remove the extra `/`"));
        }
        if segment.contains('*') {
            if *segment != "*" || !last {
                return Err(Diag::new(
                    span,
                    format!("`*` in `{path}` must be the whole last segment"),
                    "`*` not at the end",
                )
                .help("a catch-all matches the rest of the path, e.g. `/files/*`"));
            }
            shape.push_str("/*");
            continue;
        }
        if let Some(param) = segment.strip_prefix(':') {
            if param.is_empty() || !param.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(Diag::new(
                    span,
                    format!("invalid path parameter `{segment}` in `{path}`"),
                    "bad parameter",
                )
                .help("parameters are `:` then letters, digits or `_`, e.g. `/users/:id`"));
            }
            if params.contains(&param) {
                return Err(Diag::new(
                    span,
                    format!("path parameter `:{param}` appears twice in `{path}`"),
                    "repeated parameter",
                ));
            }
            params.push(param);
            shape.push_str("/:");
            continue;
        }
        if let Some(bad) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-_.~".contains(*c)))
        {
            return Err(Diag::new(
                span,
                format!("`{bad}` is not allowed in route path `{path}`"),
                "invalid character",
            )
            .help("paths use letters, digits, `-`, `_`, `.`, `~`, `:param` and a final `*`"));
        }
        shape.push('/');
        shape.push_str(segment);
    }
    Ok(shape)
}

/// Architect's directory name for a route: `get /users/:id` → `http/get-users-000id`.
pub(crate) fn function_name(method: Method, path: &str) -> String {
    let method = method.as_str().to_ascii_lowercase();
    let rest = path.trim_start_matches('/');
    if rest.is_empty() {
        return format!("http/{method}-index");
    }
    let segments: Vec<String> = rest
        .split('/')
        .map(|segment| match segment {
            "*" => "catchall".to_string(),
            s => s.replace(':', "000").replace(['-', '.'], "_"),
        })
        .collect();
    format!("http/{method}-{}", segments.join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architect_function_names() {
        assert_eq!(function_name(Method::Get, "/"), "http/get-index");
        assert_eq!(
            function_name(Method::Get, "/users/:id"),
            "http/get-users-000id"
        );
        assert_eq!(function_name(Method::Any, "/*"), "http/any-catchall");
        assert_eq!(function_name(Method::Post, "/yolo"), "http/post-yolo");
        assert_eq!(
            function_name(Method::Get, "/api/v1.2/my-things/*"),
            "http/get-api-v1_2-my_things-catchall"
        );
    }

    #[test]
    fn path_shapes() {
        assert_eq!(
            check_path("/users/:id", 0..1),
            check_path("/users/:name", 0..1)
        );
        assert!(check_path("users", 0..1).is_err());
        assert!(check_path("/a/*/b", 0..1).is_err());
        assert!(check_path("/a*", 0..1).is_err());
        assert!(check_path("/a/", 0..1).is_err());
        assert!(check_path("/:a/:a", 0..1).is_err());
        assert!(check_path("/files/*", 0..1).is_ok());
    }
}
