//! The handler loop, such as it is: one event in, one result out.
//!
//! The sandbox starts a fresh instance per invocation, so there is no loop and no
//! runtime API to poll: read stdin to the end, deserialize, call the handler once,
//! serialize to stdout. Failures follow Lambda's conventions: the error is logged
//! as an `{"errorMessage","errorType"}` line and the process exits with status 1,
//! which the sandbox records as a function error.

use std::io::{Read, Write};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::Error;

/// Exit status for every failure the SDK reports; the sandbox treats any non-zero
/// status as a function error, and 1 is what a crashed Lambda runtime reports.
const FAILURE: i32 = 1;

/// Runs `handler` on the event from stdin and writes its result to stdout.
///
/// The result is serialized as JSON: return an [`http::Response`](crate::http::Response)
/// for HTTP routes, a [`BatchResponse`](crate::BatchResponse) for partial batch
/// failures, `()` for "nothing" (`null`), or any other `Serialize` value. An empty
/// stdin is read as `null`, so `Option<E>` and `serde_json::Value` accept it.
///
/// On error, or if the event does not deserialize into `E`, this writes the error
/// to stderr and exits the process with status 1. It returns normally on success.
pub fn run<E, R, F>(handler: F)
where
    E: DeserializeOwned,
    R: Serialize,
    F: FnOnce(E) -> Result<R, Error>,
{
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let status = invoke(stdin.lock(), stdout.lock(), stderr.lock(), handler);
    if status != 0 {
        std::process::exit(status);
    }
}

/// [`run`] with untyped JSON in and out, for handlers that inspect the event by hand.
pub fn run_raw<F>(handler: F)
where
    F: FnOnce(serde_json::Value) -> Result<serde_json::Value, Error>,
{
    run(handler)
}

/// The body of [`run`], over any streams so it can be tested. Returns the exit status.
pub(crate) fn invoke<E, R, F>(
    mut input: impl Read,
    mut output: impl Write,
    mut errors: impl Write,
    handler: F,
) -> i32
where
    E: DeserializeOwned,
    R: Serialize,
    F: FnOnce(E) -> Result<R, Error>,
{
    match invoke_inner(&mut input, &mut output, handler) {
        Ok(()) => 0,
        Err(error) => {
            // If even stderr is gone there is nobody left to tell; the exit status
            // still reports the failure.
            let _ = writeln!(errors, "{}", error.to_json_line());
            let _ = errors.flush();
            FAILURE
        }
    }
}

fn invoke_inner<E, R, F>(
    input: &mut impl Read,
    output: &mut impl Write,
    handler: F,
) -> Result<(), Error>
where
    E: DeserializeOwned,
    R: Serialize,
    F: FnOnce(E) -> Result<R, Error>,
{
    let mut raw = Vec::new();
    input.read_to_end(&mut raw).map_err(|e| {
        Error::with_type(
            "Runtime.UnmarshalError",
            format!("could not read the event from stdin: {e}"),
        )
    })?;
    let event: E = if raw.iter().all(u8::is_ascii_whitespace) {
        serde_json::from_slice(b"null")
    } else {
        serde_json::from_slice(&raw)
    }
    .map_err(|e| {
        Error::with_type(
            "Runtime.UnmarshalError",
            format!(
                "the event does not match the handler's event type {}: {e}",
                std::any::type_name::<E>()
            ),
        )
    })?;

    let result = handler(event)?;

    // Serialize fully before writing, so a value that cannot be serialized leaves
    // stdout empty rather than half-written.
    let json = serde_json::to_vec(&result).map_err(|e| {
        Error::with_type(
            "Runtime.MarshalError",
            format!("could not serialize the handler's result: {e}"),
        )
    })?;
    output
        .write_all(&json)
        .and_then(|()| output.flush())
        .map_err(|e| {
            Error::with_type(
                "Runtime.MarshalError",
                format!("could not write the result to stdout: {e}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::{json, Value};

    fn call<E, R, F>(input: &str, handler: F) -> (i32, String, String)
    where
        E: DeserializeOwned,
        R: Serialize,
        F: FnOnce(E) -> Result<R, Error>,
    {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let status = invoke(input.as_bytes(), &mut out, &mut err, handler);
        (
            status,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[derive(Deserialize)]
    struct Greeting {
        name: String,
    }

    #[test]
    fn typed_event_in_json_out() {
        let (status, out, err) = call(r#"{"name":"ada"}"#, |g: Greeting| {
            Ok(json!({ "hello": g.name }))
        });
        assert_eq!(
            (status, out.as_str(), err.as_str()),
            (0, r#"{"hello":"ada"}"#, "")
        );
    }

    #[test]
    fn unit_result_is_null() {
        let (status, out, _) = call("{}", |_: Value| Ok(()));
        assert_eq!((status, out.as_str()), (0, "null"));
    }

    #[test]
    fn empty_stdin_reads_as_null() {
        let (status, out, _) = call(" \n", |event: Option<Value>| Ok(event.is_none()));
        assert_eq!((status, out.as_str()), (0, "true"));
    }

    #[test]
    fn handler_error_is_logged_as_lambda_json_and_fails() {
        let (status, out, err) = call("{}", |_: Value| -> Result<(), Error> {
            Err(Error::with_type("Nope", "bad thing"))
        });
        assert_eq!(status, 1);
        assert_eq!(out, "");
        assert_eq!(
            err,
            "{\"errorMessage\":\"bad thing\",\"errorType\":\"Nope\"}\n"
        );
    }

    #[test]
    fn question_mark_on_std_errors() {
        let (status, _, err) = call(r#""x""#, |s: String| -> Result<u16, Error> {
            Ok(s.parse::<u16>()?)
        });
        assert_eq!(status, 1);
        assert!(err.contains("ParseIntError"), "{err}");
    }

    #[test]
    fn wrong_event_shape_fails_with_unmarshal_error() {
        let (status, out, err) = call(r#"{"nom":"x"}"#, |g: Greeting| Ok(g.name));
        assert_eq!((status, out.as_str()), (1, ""));
        let line: Value = serde_json::from_str(err.trim()).unwrap();
        assert_eq!(line["errorType"], "Runtime.UnmarshalError");
        assert!(line["errorMessage"]
            .as_str()
            .unwrap()
            .contains("missing field `name`"));
    }

    #[test]
    fn invalid_json_fails_cleanly() {
        let (status, _, err) = call("not json", |v: Value| Ok(v));
        assert_eq!(status, 1);
        assert!(err.contains("Runtime.UnmarshalError"), "{err}");
    }

    #[test]
    fn unserializable_result_fails_without_partial_output() {
        use std::collections::HashMap;
        let (status, out, err) = call("{}", |_: Value| {
            // JSON object keys must be strings.
            Ok(HashMap::from([((1, 2), "x")]))
        });
        assert_eq!((status, out.as_str()), (1, ""));
        assert!(err.contains("Runtime.MarshalError"), "{err}");
    }
}
