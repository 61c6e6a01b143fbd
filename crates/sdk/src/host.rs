//! The one host function behind every publishing call: `sandbox.call`, JSON in and JSON
//! out. One generic import keeps the guest/host boundary stable as services are added;
//! the typed wrappers (`queues::publish`, ...) live beside it.
//!
//! ABI: `call(request_ptr, request_len, response_ptr, response_cap) -> i32` returns the
//! number of response bytes written. An answer larger than `response_cap` is kept by the
//! host and its length returned negated; `answer(response_ptr, response_cap) -> i32`
//! then fetches it (the request is never sent twice). The response is `{"ok": {...}}`
//! or `{"error": "message"}`.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::Error;

#[cfg(target_family = "wasm")]
#[link(wasm_import_module = "sandbox")]
extern "C" {
    #[link_name = "call"]
    fn sandbox_call(
        request: *const u8,
        request_len: usize,
        response: *mut u8,
        response_cap: usize,
    ) -> i32;
    #[link_name = "answer"]
    fn sandbox_answer(response: *mut u8, response_cap: usize) -> i32;
}

/// Most answers are small (a message id and checksums); larger ones are fetched in a
/// second step.
const RESPONSE_CAPACITY: usize = 16 * 1024;

/// Asks the sandbox's `service` to do `action` with `payload` (whose fields join the
/// request: `{"service", "action", ...payload}`) and decodes the `ok` part of the answer.
pub(crate) fn call<T: DeserializeOwned>(
    service: &str,
    action: &str,
    payload: &impl Serialize,
) -> Result<T, Error> {
    #[derive(Serialize)]
    struct Request<'a, P> {
        service: &'a str,
        action: &'a str,
        #[serde(flatten)]
        payload: P,
    }
    let request = serde_json::to_vec(&Request {
        service,
        action,
        payload,
    })
    .map_err(|e| Error::with_type("Sandbox.BadRequest", e.to_string()))?;
    let response = raw_call(&request)?;
    let mut response: Value = serde_json::from_slice(&response).map_err(|e| {
        Error::with_type(
            "Sandbox.BadResponse",
            format!("the sandbox answered non-JSON: {e}"),
        )
    })?;
    if let Some(message) = response.get("error").and_then(Value::as_str) {
        return Err(Error::with_type("Sandbox.Error", message));
    }
    let ok = response
        .get_mut("ok")
        .map(Value::take)
        .unwrap_or(Value::Null);
    serde_json::from_value(ok).map_err(|e| Error::with_type("Sandbox.BadResponse", e.to_string()))
}

#[cfg(target_family = "wasm")]
fn raw_call(request: &[u8]) -> Result<Vec<u8>, Error> {
    let mut response = vec![0u8; RESPONSE_CAPACITY];
    // SAFETY: both buffers are valid for the lengths passed; the host writes at most
    // `response.len()` bytes and returns how many.
    let written = unsafe {
        sandbox_call(
            request.as_ptr(),
            request.len(),
            response.as_mut_ptr(),
            response.len(),
        )
    };
    let written = if written < 0 {
        // The answer did not fit: fetch it whole (the call itself already happened).
        response = vec![0u8; written.unsigned_abs() as usize];
        // SAFETY: as above, for the larger buffer.
        unsafe { sandbox_answer(response.as_mut_ptr(), response.len()) }
    } else {
        written
    };
    if written < 0 {
        return Err(Error::with_type(
            "Sandbox.Error",
            "the sandbox's answer could not be read",
        ));
    }
    response.truncate(written as usize);
    Ok(response)
}

/// Off wasm (unit tests of handler logic on the host) there is no sandbox to call.
#[cfg(not(target_family = "wasm"))]
fn raw_call(_request: &[u8]) -> Result<Vec<u8>, Error> {
    let _ = RESPONSE_CAPACITY;
    Err(Error::with_type(
        "Sandbox.Unavailable",
        "publishing works only inside the sandbox (wasm32-wasip1)",
    ))
}
