//! Turning a guest's captured stderr into log lines, each also emitted through
//! `tracing` (target `handler`) tagged with the function and request id, the way
//! CloudWatch tags Lambda output.

/// Splits `stderr` into lines (`\n` or `\r\n`; invalid UTF-8 replaced), dropping the
/// empty piece after a final newline, and emits each one.
pub(crate) fn collect(
    stderr: &[u8],
    truncated: bool,
    function: &str,
    request_id: &str,
) -> Vec<String> {
    if stderr.is_empty() && !truncated {
        return Vec::new();
    }
    let mut lines: Vec<String> = if stderr.is_empty() {
        Vec::new()
    } else {
        let body = stderr.strip_suffix(b"\n").unwrap_or(stderr);
        body.split(|&b| b == b'\n')
            .map(|line| {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                String::from_utf8_lossy(line).into_owned()
            })
            .collect()
    };
    if truncated {
        lines.push("[sandbox: log output truncated]".to_owned());
    }
    for line in &lines {
        tracing::info!(target: "handler", function = %function, request_id = %request_id, "{line}");
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(stderr: &[u8]) -> Vec<String> {
        collect(stderr, false, "f", "r")
    }

    #[test]
    fn empty_stderr_has_no_lines() {
        assert!(lines(b"").is_empty());
    }

    #[test]
    fn splits_on_newlines_and_drops_trailing_empty_piece() {
        assert_eq!(lines(b"one\ntwo\n"), ["one", "two"]);
        assert_eq!(lines(b"one\ntwo"), ["one", "two"]);
        assert_eq!(lines(b"a\r\n\nb\n"), ["a", "", "b"]);
        assert_eq!(lines(b"\n"), [""]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(lines(b"caf\xff\n"), ["caf\u{fffd}"]);
    }

    #[test]
    fn truncation_is_visible() {
        let logged = collect(b"x\n", true, "f", "r");
        assert_eq!(logged, ["x", "[sandbox: log output truncated]"]);
    }
}
