//! The route table: `@http` routes compiled once per loaded app, matched per request
//! the way API Gateway HTTP APIs (and Architect) match them.
//!
//! Precedence, most specific first:
//! 1. path shape, compared segment by segment from the left: a static segment beats a
//!    `:param`, which beats the `*` greedy catch-all (API Gateway: full matches before
//!    `{proxy+}` matches);
//! 2. for the same path, an exact method beats `any` (API Gateway's `ANY` "matches all
//!    methods that you haven't defined for a resource").
//!
//! Routes are sorted by that order when the table is built, so matching is a linear
//! scan that stops at the first hit; with the handful of routes an app has this beats
//! a trie and allocates nothing unless a path parameter has to be decoded.
//!
//! Path rules, following API Gateway:
//! - a greedy `*` needs at least one character after its prefix: `/files/*` matches
//!   `/files/a` and `/files/a/b` but not `/files` nor `/files/` (`{proxy+}` never
//!   matches the bare prefix; `any /*` does not match `/`);
//! - a trailing slash is significant: `/users/` does not match `/users`, and an empty
//!   segment never matches a `:param`;
//! - path parameters are percent-decoded (API Gateway decodes them), `rawPath` is not.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use sandbox_manifest::{Method, Route};

/// One compiled route.
#[derive(Debug, Clone)]
pub struct CompiledRoute {
    method: Method,
    segments: Vec<Segment>,
    /// `*` at the end: matches one or more further characters.
    catch_all: bool,
    /// `GET /users/{id}`, `ANY /files/{proxy+}`.
    route_key: String,
    function: String,
}

impl CompiledRoute {
    /// API Gateway's route key for the event (`routeKey`).
    pub fn route_key(&self) -> &str {
        &self.route_key
    }

    /// The function this route invokes.
    pub fn function(&self) -> &str {
        &self.function
    }

    /// The sort key: per segment 0 = static, 1 = param, then 2 for a catch-all; then
    /// 0 for an exact method, 1 for `any`.
    fn rank(&self) -> (Vec<u8>, u8) {
        let mut shape: Vec<u8> = self
            .segments
            .iter()
            .map(|s| match s {
                Segment::Static(_) => 0,
                Segment::Param(_) => 1,
            })
            .collect();
        if self.catch_all {
            shape.push(2);
        }
        (shape, u8::from(self.method == Method::Any))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Static(String),
    Param(String),
}

/// A successful match: the route and its decoded path parameters, in route order
/// (`proxy` last for a catch-all).
#[derive(Debug)]
pub struct Match<'r> {
    pub route: &'r CompiledRoute,
    pub params: Vec<(&'r str, String)>,
}

/// The compiled route table of one app.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<CompiledRoute>,
}

impl Router {
    pub fn new(routes: &[Route]) -> Router {
        let mut compiled: Vec<CompiledRoute> = routes.iter().map(compile).collect();
        // Stable: among equally specific routes (which the manifest should reject) the
        // first one written wins.
        compiled.sort_by_cached_key(CompiledRoute::rank);
        Router { routes: compiled }
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The most specific route for `method` and `path` (the URI path, still
    /// percent-encoded, starting with `/`).
    pub fn find<'r>(&'r self, method: &http::Method, path: &str) -> Option<Match<'r>> {
        let method = manifest_method(method);
        let rest = path.strip_prefix('/')?;
        self.routes
            .iter()
            .filter(|route| route.method == Method::Any || Some(route.method) == method)
            .find_map(|route| match_path(route, rest))
    }
}

/// Maps the request method onto the manifest's; methods the manifest cannot name
/// (TRACE, custom ones) only match `any` routes.
fn manifest_method(method: &http::Method) -> Option<Method> {
    Some(match *method {
        http::Method::GET => Method::Get,
        http::Method::POST => Method::Post,
        http::Method::PUT => Method::Put,
        http::Method::PATCH => Method::Patch,
        http::Method::DELETE => Method::Delete,
        http::Method::HEAD => Method::Head,
        http::Method::OPTIONS => Method::Options,
        _ => return None,
    })
}

fn compile(route: &Route) -> CompiledRoute {
    let trimmed = route.path.strip_prefix('/').unwrap_or(&route.path);
    let mut parts: Vec<&str> = if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    };
    let catch_all = parts.last() == Some(&"*");
    if catch_all {
        parts.pop();
    }
    let segments: Vec<Segment> = parts
        .iter()
        .map(|part| match part.strip_prefix(':') {
            Some(name) => Segment::Param(name.to_string()),
            None => Segment::Static(part.to_string()),
        })
        .collect();

    let mut key = String::with_capacity(route.path.len() + 16);
    key.push_str(route.method.as_str());
    key.push(' ');
    for segment in &segments {
        key.push('/');
        match segment {
            Segment::Static(s) => key.push_str(s),
            Segment::Param(name) => {
                key.push('{');
                key.push_str(name);
                key.push('}');
            }
        }
    }
    if catch_all {
        key.push_str("/{proxy+}");
    } else if segments.is_empty() {
        key.push('/');
    }

    CompiledRoute {
        method: route.method,
        segments,
        catch_all,
        route_key: key,
        function: route.function.clone(),
    }
}

/// Matches `rest` (the path without its leading `/`) against `route`.
fn match_path<'r>(route: &'r CompiledRoute, rest: &str) -> Option<Match<'r>> {
    let mut params = Vec::new();
    let mut remaining = rest;
    for (index, segment) in route.segments.iter().enumerate() {
        let (part, tail) = match remaining.find('/') {
            Some(at) => (&remaining[..at], Some(&remaining[at + 1..])),
            None => (remaining, None),
        };
        match segment {
            Segment::Static(expected) => {
                if decode(part) != expected.as_str() {
                    return None;
                }
            }
            Segment::Param(name) => {
                if part.is_empty() {
                    return None;
                }
                params.push((name.as_str(), decode(part).into_owned()));
            }
        }
        let last = index + 1 == route.segments.len();
        match tail {
            Some(tail) => remaining = tail,
            // The path ended: only a route ending here (without a catch-all) matches.
            None if last && !route.catch_all => return Some(Match { route, params }),
            None => return None,
        }
    }
    if route.catch_all {
        if remaining.is_empty() {
            return None;
        }
        params.push(("proxy", decode(remaining).into_owned()));
        return Some(Match { route, params });
    }
    // Every segment matched but the path goes on (or `/` against a route with
    // segments, handled above): only the root route matches the empty remainder.
    if route.segments.is_empty() && remaining.is_empty() {
        return Some(Match { route, params });
    }
    None
}

/// Percent-decodes a path piece; invalid UTF-8 is replaced rather than rejected, as a
/// handler can still do something useful with the rest.
fn decode(part: &str) -> Cow<'_, str> {
    if !part.contains('%') {
        return Cow::Borrowed(part);
    }
    match percent_decode_str(part).decode_utf8() {
        Ok(decoded) => decoded,
        Err(_) => Cow::Owned(
            String::from_utf8_lossy(&percent_decode_str(part).collect::<Vec<u8>>()).into_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sandbox_manifest::Span;

    fn route(method: Method, path: &str, function: &str) -> Route {
        Route {
            method,
            path: path.to_string(),
            function: function.to_string(),
            span: Span::default(),
        }
    }

    fn router(routes: &[(Method, &str, &str)]) -> Router {
        let routes: Vec<Route> = routes.iter().map(|(m, p, f)| route(*m, p, f)).collect();
        Router::new(&routes)
    }

    /// (function, params) for a request, or None.
    fn hit(
        router: &Router,
        method: http::Method,
        path: &str,
    ) -> Option<(String, Vec<(String, String)>)> {
        router.find(&method, path).map(|m| {
            (
                m.route.function().to_string(),
                m.params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            )
        })
    }

    fn function(router: &Router, method: http::Method, path: &str) -> Option<String> {
        hit(router, method, path).map(|(f, _)| f)
    }

    #[test]
    fn route_keys_follow_api_gateway() {
        let r = router(&[
            (Method::Get, "/", "index"),
            (Method::Get, "/users/:id", "user"),
            (Method::Any, "/files/*", "files"),
            (Method::Post, "/a/:b/c", "abc"),
            (Method::Any, "/*", "all"),
        ]);
        let key = |m: http::Method, p: &str| r.find(&m, p).map(|m| m.route.route_key().to_string());
        assert_eq!(key(http::Method::GET, "/").as_deref(), Some("GET /"));
        assert_eq!(
            key(http::Method::GET, "/users/7").as_deref(),
            Some("GET /users/{id}")
        );
        assert_eq!(
            key(http::Method::PUT, "/files/x").as_deref(),
            Some("ANY /files/{proxy+}")
        );
        assert_eq!(
            key(http::Method::POST, "/a/1/c").as_deref(),
            Some("POST /a/{b}/c")
        );
        assert_eq!(
            key(http::Method::GET, "/zzz").as_deref(),
            Some("ANY /{proxy+}")
        );
    }

    #[test]
    fn static_beats_param_beats_catch_all() {
        let r = router(&[
            (Method::Get, "/users/*", "catchall"),
            (Method::Get, "/users/:id", "param"),
            (Method::Get, "/users/me", "static"),
        ]);
        assert_eq!(
            function(&r, http::Method::GET, "/users/me").as_deref(),
            Some("static")
        );
        assert_eq!(
            function(&r, http::Method::GET, "/users/42").as_deref(),
            Some("param")
        );
        assert_eq!(
            function(&r, http::Method::GET, "/users/42/posts").as_deref(),
            Some("catchall")
        );
    }

    #[test]
    fn leftmost_static_segment_decides() {
        let r = router(&[
            (Method::Get, "/:kind/new", "second"),
            (Method::Get, "/posts/:id", "first"),
        ]);
        assert_eq!(
            function(&r, http::Method::GET, "/posts/new").as_deref(),
            Some("first")
        );
        assert_eq!(
            function(&r, http::Method::GET, "/users/new").as_deref(),
            Some("second")
        );
    }

    #[test]
    fn deeper_catch_all_beats_shallower() {
        let r = router(&[(Method::Any, "/*", "root"), (Method::Get, "/api/*", "api")]);
        assert_eq!(
            function(&r, http::Method::GET, "/api/v1/x").as_deref(),
            Some("api")
        );
        assert_eq!(
            function(&r, http::Method::GET, "/other").as_deref(),
            Some("root")
        );
        // Method mismatch on the deeper route falls back to the `any` one.
        assert_eq!(
            function(&r, http::Method::POST, "/api/v1/x").as_deref(),
            Some("root")
        );
    }

    #[test]
    fn exact_method_beats_any() {
        let r = router(&[
            (Method::Any, "/things", "any"),
            (Method::Post, "/things", "post"),
        ]);
        assert_eq!(
            function(&r, http::Method::POST, "/things").as_deref(),
            Some("post")
        );
        assert_eq!(
            function(&r, http::Method::GET, "/things").as_deref(),
            Some("any")
        );
        assert_eq!(
            function(&r, http::Method::DELETE, "/things").as_deref(),
            Some("any")
        );
        assert_eq!(
            function(&r, http::Method::TRACE, "/things").as_deref(),
            Some("any")
        );
    }

    #[test]
    fn path_shape_beats_method_exactness() {
        // A full (non-greedy) `any` match beats a greedy exact-method match.
        let r = router(&[
            (Method::Get, "/pets/*", "greedy"),
            (Method::Any, "/pets/dog", "any"),
        ]);
        assert_eq!(
            function(&r, http::Method::GET, "/pets/dog").as_deref(),
            Some("any")
        );
    }

    #[test]
    fn wrong_method_does_not_match() {
        let r = router(&[(Method::Get, "/only-get", "g")]);
        assert_eq!(function(&r, http::Method::POST, "/only-get"), None);
        // HEAD is its own method at API Gateway.
        assert_eq!(function(&r, http::Method::HEAD, "/only-get"), None);
    }

    #[test]
    fn catch_all_needs_something_after_the_prefix() {
        let r = router(&[(Method::Get, "/files/*", "files")]);
        assert_eq!(function(&r, http::Method::GET, "/files"), None);
        assert_eq!(function(&r, http::Method::GET, "/files/"), None);
        assert_eq!(
            hit(&r, http::Method::GET, "/files/a/b"),
            Some(("files".into(), vec![("proxy".into(), "a/b".into())]))
        );
        assert_eq!(
            hit(&r, http::Method::GET, "/files/a/"),
            Some(("files".into(), vec![("proxy".into(), "a/".into())]))
        );
        let root = router(&[(Method::Any, "/*", "all")]);
        assert_eq!(function(&root, http::Method::GET, "/"), None);
        assert_eq!(
            function(&root, http::Method::GET, "/x").as_deref(),
            Some("all")
        );
    }

    #[test]
    fn trailing_slash_is_significant() {
        let r = router(&[
            (Method::Get, "/users", "list"),
            (Method::Get, "/users/:id", "one"),
        ]);
        assert_eq!(
            function(&r, http::Method::GET, "/users").as_deref(),
            Some("list")
        );
        assert_eq!(function(&r, http::Method::GET, "/users/"), None);
        assert_eq!(function(&r, http::Method::GET, "/users/5/"), None);
        assert_eq!(function(&r, http::Method::GET, "/users//"), None);
    }

    #[test]
    fn root_route() {
        let r = router(&[(Method::Get, "/", "index"), (Method::Get, "/a", "a")]);
        assert_eq!(
            function(&r, http::Method::GET, "/").as_deref(),
            Some("index")
        );
        assert_eq!(function(&r, http::Method::GET, "/a").as_deref(), Some("a"));
        assert_eq!(function(&r, http::Method::GET, "/b"), None);
        assert_eq!(function(&r, http::Method::GET, "//"), None);
        assert_eq!(function(&r, http::Method::GET, ""), None);
    }

    #[test]
    fn params_are_percent_decoded() {
        let r = router(&[
            (Method::Get, "/users/:id/files/:name", "f"),
            (Method::Get, "/caf\u{e9}", "cafe"),
        ]);
        assert_eq!(
            hit(&r, http::Method::GET, "/users/a%20b/files/x%2Fy"),
            Some((
                "f".into(),
                vec![("id".into(), "a b".into()), ("name".into(), "x/y".into())]
            ))
        );
        assert_eq!(
            function(&r, http::Method::GET, "/caf%C3%A9").as_deref(),
            Some("cafe")
        );
        // Invalid UTF-8 does not panic or fail the match.
        assert_eq!(
            hit(&r, http::Method::GET, "/users/%FF/files/n"),
            Some((
                "f".into(),
                vec![
                    ("id".into(), "\u{fffd}".into()),
                    ("name".into(), "n".into())
                ]
            ))
        );
    }

    #[test]
    fn catch_all_is_decoded_as_a_whole() {
        let r = router(&[(Method::Get, "/s/*", "s")]);
        assert_eq!(
            hit(&r, http::Method::GET, "/s/a%20b/c%3F"),
            Some(("s".into(), vec![("proxy".into(), "a b/c?".into())]))
        );
    }

    #[test]
    fn segment_counts_must_agree() {
        let r = router(&[(Method::Get, "/a/:b", "ab")]);
        assert_eq!(function(&r, http::Method::GET, "/a"), None);
        assert_eq!(function(&r, http::Method::GET, "/a/b/c"), None);
        assert_eq!(
            function(&r, http::Method::GET, "/a/b").as_deref(),
            Some("ab")
        );
    }
}
