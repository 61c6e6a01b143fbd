//! The host's side of the control API: the router table's rows, one query-string parser,
//! request decoding with located errors, and the error every front end answers with.
//!
//! The table itself lives with the code that answers it (`sandbox-triggers`' `control`
//! module, and the server's two endpoints); these are the shared parts, so every
//! `/_sandbox` endpoint is matched, listed, refused and decoded the same way.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// Where the control API lives.
pub const PREFIX: &str = "/_sandbox";

/// An error for the control API (and the host import): a status code and a message for
/// people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlError {
    pub status: u16,
    pub message: String,
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ControlError {}

impl ControlError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ControlError {
            status: 400,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ControlError {
            status: 404,
            message: message.into(),
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ControlError {
            status: 409,
            message: message.into(),
        }
    }

    /// The JSON body every error is answered with.
    pub fn body(&self) -> Value {
        json!({ "error": self.message })
    }
}

/// One row of a router table: `GET /_sandbox/queues/{name}/messages`, with what its body
/// or query takes (for the 404 listing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub method: &'static str,
    /// Segments in braces are parameters.
    pub path: &'static str,
    /// What to send, e.g. `{"body":"..."}` or `?timeout=10s`; empty when nothing.
    pub takes: &'static str,
}

impl Endpoint {
    pub const fn new(method: &'static str, path: &'static str, takes: &'static str) -> Self {
        Endpoint {
            method,
            path,
            takes,
        }
    }

    /// `GET /_sandbox/queues/{name}/messages {"body":"..."}`, as listed.
    pub fn describe(&self) -> String {
        match self.takes {
            "" => format!("{} {}", self.method, self.path),
            takes if takes.starts_with('?') => format!("{} {}{takes}", self.method, self.path),
            takes => format!("{} {} {takes}", self.method, self.path),
        }
    }

    /// The path parameters when `path` (without a trailing slash) has this row's shape.
    pub fn params<'p>(&self, path: &'p str) -> Option<Vec<&'p str>> {
        let mut params = Vec::new();
        let mut given = path.split('/');
        for want in self.path.split('/') {
            let part = given.next()?;
            if want.starts_with('{') {
                if part.is_empty() {
                    return None;
                }
                params.push(part);
            } else if want != part {
                return None;
            }
        }
        given.next().is_none().then_some(params)
    }
}

/// What a table answers for a path it knows under another method: 405 naming the
/// methods that are allowed.
pub fn method_not_allowed(method: &str, path: &str, allowed: &[&str]) -> (u16, Value) {
    (
        405,
        json!({
            "error": format!("{method} is not allowed on {path}; use {}", allowed.join(" or ")),
            "allow": allowed,
        }),
    )
}

/// What the control API answers for a path nobody knows: 404 listing every endpoint.
pub fn not_found<'a>(
    method: &str,
    path: &str,
    endpoints: impl IntoIterator<Item = &'a Endpoint>,
) -> (u16, Value) {
    let endpoints: Vec<String> = endpoints.into_iter().map(Endpoint::describe).collect();
    (
        404,
        json!({ "error": format!("no such control endpoint: {method} {path}"), "endpoints": endpoints }),
    )
}

/// A decoded query string (`+` and percent escapes undone). A repeated key keeps its
/// first value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(BTreeMap<String, String>);

impl Query {
    pub fn parse(query: Option<&str>) -> Query {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
        let mut map = BTreeMap::new();
        for (key, value) in pairs {
            map.entry(key).or_insert(value);
        }
        Query(map)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

/// Decodes a JSON request body into an operation's type. Errors say where (`records[1].data`)
/// and end with `usage`, what to send instead.
pub fn decode<T: DeserializeOwned>(body: &[u8], usage: &str) -> Result<T, ControlError> {
    let tail = if usage.is_empty() {
        String::new()
    } else {
        format!("; {usage}")
    };
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ControlError::bad_request(format!("body is not JSON ({e}){tail}")))?;
    decode_value(value, usage)
}

/// As [`decode`], from JSON already parsed.
pub fn decode_value<T: DeserializeOwned>(value: Value, usage: &str) -> Result<T, ControlError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let at = if path == "." {
            String::new()
        } else {
            format!("`{path}`: ")
        };
        let tail = if usage.is_empty() {
            String::new()
        } else {
            format!("; {usage}")
        };
        ControlError::bad_request(format!("{at}{inner}{tail}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_match_paths_and_take_parameters() {
        let row = Endpoint::new(
            "POST",
            "/_sandbox/queues/{name}/messages",
            "{\"body\":\"...\"}",
        );
        assert_eq!(
            row.params("/_sandbox/queues/jobs/messages"),
            Some(vec!["jobs"])
        );
        assert_eq!(row.params("/_sandbox/queues//messages"), None);
        assert_eq!(row.params("/_sandbox/queues/jobs"), None);
        assert_eq!(row.params("/_sandbox/queues/jobs/messages/x"), None);
        assert_eq!(
            row.describe(),
            "POST /_sandbox/queues/{name}/messages {\"body\":\"...\"}"
        );
        let drain = Endpoint::new("POST", "/_sandbox/drain", "?timeout=10s");
        assert_eq!(drain.describe(), "POST /_sandbox/drain?timeout=10s");
    }

    #[test]
    fn query_strings_are_percent_decoded() {
        let q = Query::parse(Some("function=http%2Fget-index&limit=5&&flag&name=a+b"));
        assert_eq!(q.get("function"), Some("http/get-index"));
        assert_eq!(q.get("limit"), Some("5"));
        assert_eq!(q.get("flag"), Some(""));
        assert_eq!(q.get("name"), Some("a b"));
        assert_eq!(Query::parse(Some("a=1&a=2")).get("a"), Some("1"));
        assert_eq!(Query::parse(None).get("x"), None);
    }

    #[test]
    fn decoding_errors_are_located() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct R {
            records: Vec<E>,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct E {
            data: String,
        }
        let e = decode::<R>(br#"{"records": [{"data": "a"}, {"data": 1}]}"#, "send X").unwrap_err();
        assert_eq!(e.status, 400);
        assert!(
            e.message.starts_with("`records[1].data`: invalid type"),
            "{}",
            e.message
        );
        assert!(e.message.ends_with("; send X"));
        let e = decode::<R>(b"{", "").unwrap_err();
        assert!(e.message.contains("not JSON"));
    }
}
