//! Log lines: the sandbox turns every line a handler writes to stderr into a log
//! entry tagged with the function name and request id, as Lambda does with
//! CloudWatch.

use std::fmt::Display;
use std::io::Write;

/// Writes `message` and a newline to stderr.
///
/// Errors are ignored: stderr is the only place a handler could report them.
pub fn log(message: impl Display) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{message}");
    let _ = stderr.flush();
}

/// `format!`-style logging: `sandbox_sdk::log!("got {} records", n)`.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::log(::std::format_args!($($arg)*))
    };
}
