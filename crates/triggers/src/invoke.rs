//! How a driver runs a handler: every trigger invokes through [`App::invoke`] and wants
//! the same flat answer for its log line and its state machine — the output, or one line
//! saying why there is none.

use std::fmt;
use std::time::Duration;

use sandbox_app::{App, Trigger};

/// Why an invocation produced no output.
#[derive(Debug, Clone)]
pub(crate) struct Failed {
    /// The handler ran and failed (trap, exit code, timeout, memory): the message names
    /// the request id, so the invocation log entry can be found. Otherwise it never ran
    /// (no such function, or its code did not build).
    pub ran: bool,
    pub message: String,
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// One invocation's result, flattened.
pub(crate) struct Ran {
    pub output: Result<Vec<u8>, Failed>,
    /// How long the handler ran (zero when it never started).
    pub duration: Duration,
}

/// Invokes `function` on `app` with `event` (no caller-chosen request id).
pub(crate) async fn invoke(app: &App, function: &str, trigger: Trigger, event: Vec<u8>) -> Ran {
    invoke_in_chain(app, function, trigger, event, 0).await
}

/// Like [`invoke`] for an event `hops` invocations led to (`sandbox_services::recursion`).
pub(crate) async fn invoke_in_chain(
    app: &App,
    function: &str,
    trigger: Trigger,
    event: Vec<u8>,
    hops: u32,
) -> Ran {
    match app
        .invoke_in_chain(function, trigger, None, event, hops)
        .await
    {
        Ok(invoked) => Ran {
            output: invoked.output.map_err(|failure| Failed {
                ran: true,
                message: format!("{failure} (request {})", invoked.request_id),
            }),
            duration: invoked.duration,
        },
        Err(e) => Ran {
            output: Err(Failed {
                ran: false,
                message: e.to_string(),
            }),
            duration: Duration::ZERO,
        },
    }
}
