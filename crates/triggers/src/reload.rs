//! What a hot reload logs about one kind of resource: the lines every driver's
//! `reconfigure` returns, so a reload says what it changed in the same words everywhere.

/// The "added / changed / removed" lines a hot reload logs for one kind of resource,
/// matched by name; `shape` is what counts as a change (positions in the file do not).
pub(crate) fn reload_changes<T, S: PartialEq>(
    kind: &str,
    changed: &str,
    old: &[T],
    new: &[T],
    name: impl Fn(&T) -> &str,
    shape: impl Fn(&T) -> S,
) -> Vec<String> {
    let mut lines = Vec::new();
    for item in new {
        match old.iter().find(|o| name(o) == name(item)) {
            None => lines.push(format!("{kind} {} added", name(item))),
            Some(before) if shape(before) != shape(item) => {
                lines.push(format!("{kind} {} {changed}", name(item)))
            }
            Some(_) => {}
        }
    }
    for item in old {
        if !new.iter().any(|n| name(n) == name(item)) {
            lines.push(format!("{kind} {} removed", name(item)));
        }
    }
    lines
}

/// The warning a reload adds when removed subscriptions or rule targets took pending
/// handler deliveries with them (never dropped silently).
pub(crate) fn dropped_deliveries(lines: &mut Vec<String>, service: &str, removed: &str, n: usize) {
    if n > 0 {
        let line =
            format!("{service}: {n} pending handler delivery(ies) of removed {removed} dropped");
        tracing::warn!("{line}");
        lines.push(line);
    }
}
