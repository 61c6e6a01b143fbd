//! The start-up summary: what was loaded, and what is missing or broken, in a form a
//! person reads at a glance.

use sandbox_app::{App, LoadState};
use sandbox_triggers::Restored;

pub fn print(app: &App) {
    let m = app.manifest();
    println!("sandbox: app `{}` from {}", m.app, m.file.display());
    let state = |name: &str| match app.functions().get(name).map(|s| &s.state) {
        Some(LoadState::Ready(_)) => "ok",
        Some(LoadState::Missing(_)) => "MISSING",
        Some(LoadState::BuildFailed(_)) => "BUILD FAILED",
        Some(LoadState::CompileFailed(_)) => "COMPILE FAILED",
        None => "?",
    };
    let mut rows: Vec<(&str, String, String)> = Vec::new();
    for r in &m.routes {
        rows.push((
            "http",
            format!("{} {}", r.method.as_str(), r.path),
            r.function.clone(),
        ));
    }
    for q in &m.queues {
        let f = q.function.clone().unwrap_or_else(|| "(no consumer)".into());
        rows.push((kind("queue", q.remote.is_some()), q.name.clone(), f));
    }
    for t in &m.topics {
        let subs: Vec<String> = t
            .subscriptions
            .iter()
            .map(|s| match &s.target {
                sandbox_manifest::Target::Function(f) => f.clone(),
                sandbox_manifest::Target::Queue(q) => format!("queue:{q}"),
                sandbox_manifest::Target::Topic(t) => format!("topic:{t}"),
            })
            .collect();
        rows.push((
            kind("topic", t.remote.is_some()),
            t.name.clone(),
            subs.join(", "),
        ));
    }
    for s in &m.schedules {
        rows.push((
            "schedule",
            format!("{} {}", s.name, s.expression),
            s.function.clone(),
        ));
    }
    for s in &m.streams {
        for c in &s.consumers {
            // A remote stream's shards are the real stream's, unknown until it is read.
            let what = match (&s.remote, s.shards) {
                (Some(_), _) => s.name.clone(),
                (None, 1) => format!("{} (1 shard)", s.name),
                (None, n) => format!("{} ({n} shards)", s.name),
            };
            rows.push((kind("stream", s.remote.is_some()), what, c.function.clone()));
        }
    }
    for b in m.buses.iter().filter(|b| b.remote.is_some()) {
        rows.push(("remote bus", b.name.clone(), "(publish only)".into()));
    }
    for b in &m.buses {
        for r in &b.rules {
            rows.push((
                "bus",
                format!("{}/{}", b.name, r.name),
                format!("{} targets", r.targets.len()),
            ));
        }
    }
    let width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    // "remote stream" is wider than the local kinds; the column fits the widest present.
    let kinds = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(8);
    for (kind, what, function) in &rows {
        let status = if app.functions().contains_key(function) {
            state(function)
        } else {
            ""
        };
        println!("  {kind:<kinds$} {what:<width$}  → {function} {status}");
    }
    if let Some(dir) = &m.static_dir {
        println!("  static   {}", dir.display());
    }
    for slot in app.functions().values() {
        if let Some(reason) = slot.state.reason() {
            println!(
                "\n  {} {}:\n    {}",
                slot.state.name(),
                slot.function.name,
                reason.replace('\n', "\n    ")
            );
        }
    }
}

/// A row's kind, labelled when the resource lives in AWS (`remote` in the manifest).
fn kind(local: &'static str, remote: bool) -> &'static str {
    match (local, remote) {
        (_, false) => local,
        ("queue", true) => "remote queue",
        ("topic", true) => "remote topic",
        (_, true) => "remote stream",
    }
}

/// What `--state DIR` brought back (and how the manifest changed it).
pub fn restored(r: &Restored) {
    println!(
        "  state    restored {} message(s) in {} queue(s) from {}",
        r.messages,
        r.queues,
        r.dir.display()
    );
    if let Some(at) = r.clock {
        println!(
            "           the manual clock goes on from {}",
            sandbox_services::rfc3339_auto(at)
        );
    }
    for (queue, held) in &r.report.retired {
        println!("           queue {queue} is no longer in the manifest; its {held} message(s) are kept (no consumer)");
    }
    for (queue, held) in r.report.dropped.iter().filter(|(_, n)| *n > 0) {
        println!("           queue {queue} changed between standard and FIFO; its {held} stored message(s) are gone");
    }
    let s = &r.streams;
    println!(
        "           restored {} stream record(s) in {} stream(s), {} consumer(s)' checkpoints, {} schedule(s)' last fire, {} pending topic/bus deliveries",
        s.records, s.streams, s.consumers, r.schedules, r.retries
    );
    for line in &s.lines {
        println!("           {line}");
    }
    let (b, t) = (&r.buses, &r.topics);
    if b.archived > 0 || b.api_made > 0 || t.api_made > 0 {
        println!(
            "           restored {} archived bus event(s); made through the API: {} topic(s)/subscription(s), {} bus(es)/rule(s)/target(s)/archive(s)",
            b.archived, t.api_made, b.api_made
        );
    }
}
