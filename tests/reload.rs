//! End to end: hot reload of handlers and the manifest while the sandbox serves, with
//! nothing dropped.

use crate::common;

use crate::common::replace;

use sandbox_testing::wat::responding;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sandbox_testing::Sandbox;

fn app(dir: &Path, manifest: &str) {
    std::fs::write(dir.join("app.arc"), manifest).unwrap();
    let index = dir.join("src/http/get-index");
    std::fs::create_dir_all(&index).unwrap();
    std::fs::write(index.join("handler.wat"), responding("v0")).unwrap();
}

fn start(dir: &Path) -> Sandbox {
    Sandbox::builder(dir)
        .bin(env!("CARGO_BIN_EXE_sandbox"))
        .manual_clock()
        .start()
        .unwrap()
}

/// A `queues/jobs` consumer that logs each event it receives (the schedules fixture's
/// logger); answers its directory and its WAT source, for tests that swap it.
fn logging_consumer(dir: &Path) -> (std::path::PathBuf, String) {
    let consumer = dir.join("src/queues/jobs");
    std::fs::create_dir_all(&consumer).unwrap();
    let logger = std::fs::read_to_string(
        common::fixture("schedules").join("src/scheduled/hourly/handler.wat"),
    )
    .unwrap();
    std::fs::write(consumer.join("handler.wat"), &logger).unwrap();
    (consumer, logger)
}

/// Polls until `path` answers `expected` (a condition, not a sleep), or panics.
fn await_body(sandbox: &Sandbox, path: &str, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = sandbox.get(path).unwrap();
        if response.status == 200 && response.text() == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never answered {expected}; last: {} {}\n{}",
            response.status,
            response.text(),
            sandbox.output()
        );
        std::thread::yield_now();
    }
}

#[test]
fn replacing_a_handler_twenty_times_under_load_drops_nothing() {
    let dir = tempfile::tempdir().unwrap();
    app(dir.path(), "@app\nreload\n@http\nget /\n");
    let sandbox = start(dir.path());
    await_body(&sandbox, "/", "v0");

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::<(u16, String)>::new()));
    let loaders: Vec<_> = (0..2)
        .map(|_| {
            let (stop, seen, url) = (stop.clone(), seen.clone(), sandbox.url("/"));
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                while !stop.load(Ordering::Relaxed) {
                    let outcome = match agent.get(&url).call() {
                        Ok(mut r) => (
                            r.status().as_u16(),
                            r.body_mut().read_to_string().unwrap_or_default(),
                        ),
                        Err(e) => (0, e.to_string()),
                    };
                    seen.lock().unwrap().push(outcome);
                }
            })
        })
        .collect();
    let handler = dir.path().join("src/http/get-index/handler.wat");
    for version in 1..=20 {
        replace(&handler, &responding(&format!("v{version}")));
        await_body(&sandbox, "/", &format!("v{version}"));
    }
    stop.store(true, Ordering::Relaxed);
    for loader in loaders {
        loader.join().unwrap();
    }
    let seen = seen.lock().unwrap();
    assert!(
        seen.len() > 40,
        "the load kept running: {} requests",
        seen.len()
    );
    let versions: BTreeSet<String> = (0..=20).map(|v| format!("v{v}")).collect();
    for (status, body) in seen.iter() {
        assert_eq!(*status, 200, "a request failed during reloads: {body}");
        assert!(
            versions.contains(body),
            "a response from neither version: {body}"
        );
    }
    sandbox.await_output("reload: http/get-index updated");
}

#[test]
fn routes_added_and_removed_in_the_manifest_take_effect_at_once() {
    let dir = tempfile::tempdir().unwrap();
    app(dir.path(), "@app\nreload\n@http\nget /\n");
    let about = dir.path().join("src/http/get-about");
    std::fs::create_dir_all(&about).unwrap();
    std::fs::write(about.join("handler.wat"), responding("about")).unwrap();
    let sandbox = start(dir.path());
    assert_eq!(sandbox.get("/about").unwrap().status, 404);

    replace(
        &dir.path().join("app.arc"),
        "@app\nreload\n@http\nget /\nget /about\n",
    );
    await_body(&sandbox, "/about", "about");
    assert_eq!(
        sandbox.get("/").unwrap().text(),
        "v0",
        "the other route is untouched"
    );

    replace(
        &dir.path().join("app.arc"),
        "@app\nreload\n@http\nget /about\n",
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while sandbox.get("/").unwrap().status != 404 {
        assert!(Instant::now() < deadline, "the removed route still answers");
        std::thread::yield_now();
    }
    assert_eq!(sandbox.get("/about").unwrap().text(), "about");
    sandbox.await_output("route GET / removed");
}

#[test]
fn a_compile_error_and_a_manifest_error_keep_the_old_code_serving() {
    let dir = tempfile::tempdir().unwrap();
    app(dir.path(), "@app\nreload\n@http\nget /\n");
    let sandbox = start(dir.path());
    let handler = dir.path().join("src/http/get-index/handler.wat");

    replace(&handler, "(module this is not wat");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let status = sandbox.status().unwrap();
        if !status["functions"][0]["reloadError"].is_null() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the compile error never showed in status"
        );
        std::thread::yield_now();
    };
    assert!(
        status["functions"][0]["reloadError"]
            .as_str()
            .unwrap()
            .contains("<anon>:1"),
        "{status}"
    );
    assert_eq!(
        sandbox.get("/").unwrap().text(),
        "v0",
        "old code still serves"
    );

    replace(&dir.path().join("app.arc"), "@app\nreload\n@htp\nget /\n");
    // The report is several lines: await the located line, not only the headline.
    sandbox.await_output("the running app keeps serving");
    sandbox.await_output("app.arc:3:1");
    assert_eq!(sandbox.get("/").unwrap().text(), "v0");

    // Fixing both brings the new code in.
    replace(&handler, &responding("fixed"));
    replace(&dir.path().join("app.arc"), "@app\nreload\n@http\nget /\n");
    await_body(&sandbox, "/", "fixed");
}

#[test]
fn messages_queued_during_a_reload_are_all_delivered() {
    let dir = tempfile::tempdir().unwrap();
    app(dir.path(), "@app\nreload\n@http\nget /\n@queues\njobs\n");
    let (consumer, logger) = logging_consumer(dir.path());
    let sandbox = start(dir.path());

    let mut sent = BTreeSet::new();
    for round in 0..5 {
        for n in 0..20 {
            let body = format!("r{round}-m{n}");
            sandbox.send("jobs", &body).unwrap();
            sent.insert(body);
        }
        // Swap the consumer (same behaviour, new module) and the manifest mid-stream.
        replace(
            &consumer.join("handler.wat"),
            &format!("{logger}\n;; version {round}\n"),
        );
        replace(
            &dir.path().join("app.arc"),
            &format!(
                "@app\nreload\n@http\nget /\n@queues\njobs\n  batchSize {}\n",
                5 + round
            ),
        );
    }
    sandbox.drain(Duration::from_secs(60)).unwrap();
    let mut delivered = delivered_bodies(&sandbox);
    // Reloads still in flight may finish after drain; everything sent must arrive.
    let deadline = Instant::now() + Duration::from_secs(20);
    while delivered != sent && Instant::now() < deadline {
        sandbox.drain(Duration::from_secs(10)).unwrap();
        delivered.extend(delivered_bodies(&sandbox));
    }
    assert_eq!(delivered, sent);
}

#[test]
fn a_source_change_rebuilds_only_that_function() {
    let dir = tempfile::tempdir().unwrap();
    // `build` runs in the function directory; the output is its handler.wasm (WebAssembly
    // text is accepted there too, which keeps this test free of a compiler).
    app(
        dir.path(),
        "@app\nreload\n@http\nget /\nget /built\n  build \"cp source.wat handler.wasm && echo built >> builds.log\"\n",
    );
    let built = dir.path().join("src/http/get-built");
    std::fs::create_dir_all(&built).unwrap();
    std::fs::write(built.join("source.wat"), responding("b1")).unwrap();
    let sandbox = start(dir.path());
    assert_eq!(sandbox.get("/built").unwrap().text(), "b1");

    replace(&built.join("source.wat"), &responding("b2"));
    await_body(&sandbox, "/built", "b2");
    assert_eq!(sandbox.get("/").unwrap().text(), "v0");
    let builds = std::fs::read_to_string(built.join("builds.log")).unwrap();
    assert_eq!(
        builds.lines().count(),
        2,
        "one build at start, one for the edit: {builds}"
    );
}

#[test]
fn a_handler_added_to_a_function_that_had_none_starts_serving() {
    let dir = tempfile::tempdir().unwrap();
    app(dir.path(), "@app\nreload\n@http\nget /\nget /later\n");
    let sandbox = start(dir.path());
    assert_eq!(sandbox.get("/later").unwrap().status, 500, "no handler yet");
    let later = dir.path().join("src/http/get-later");
    std::fs::create_dir_all(&later).unwrap();
    replace(&later.join("handler.wat"), &responding("now here"));
    await_body(&sandbox, "/later", "now here");
}

#[test]
fn a_queue_removed_with_messages_keeps_them_readable() {
    let dir = tempfile::tempdir().unwrap();
    app(dir.path(), "@app\nreload\n@http\nget /\n@queues\nparked\n");
    let sandbox = start(dir.path());
    sandbox.send("parked", "one").unwrap();
    sandbox.send("parked", "two").unwrap();

    replace(&dir.path().join("app.arc"), "@app\nreload\n@http\nget /\n");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !sandbox
        .output()
        .contains("queue parked removed from the manifest with 2 message(s)")
    {
        assert!(
            Instant::now() < deadline,
            "the removal was not reported:\n{}",
            sandbox.output()
        );
        std::thread::yield_now();
    }
    let bodies: Vec<String> = sandbox
        .peek("parked")
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(bodies, ["one", "two"], "nothing discarded");
}

/// Every queue message body the logging consumer of `queues/jobs` received.
fn delivered_bodies(sandbox: &Sandbox) -> BTreeSet<String> {
    let mut delivered = BTreeSet::new();
    for record in sandbox.invocations(Some("queues/jobs"), 1000).unwrap() {
        if record["outcome"] != "success" {
            continue;
        }
        let event: serde_json::Value =
            serde_json::from_str(record["logs"][0].as_str().unwrap()).unwrap();
        for message in event["Records"].as_array().unwrap() {
            delivered.insert(message["body"].as_str().unwrap().to_string());
        }
    }
    delivered
}

#[test]
fn twenty_reloads_under_http_and_queue_load_fail_no_request_and_lose_no_message() {
    // Each edit changes a queue setting, so every reload has an effect to log.
    let manifest = |visibility: u32| {
        format!("@app\nreload\n@http\nget /\n@queues\njobs\n  visibilityTimeout {visibility}\n")
    };
    let dir = tempfile::tempdir().unwrap();
    app(dir.path(), &manifest(30));
    logging_consumer(dir.path());
    let sandbox = start(dir.path());
    await_body(&sandbox, "/", "v0");

    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let sent = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let mut load = Vec::new();
    for _ in 0..2 {
        let (stop, failures, url) = (stop.clone(), failures.clone(), sandbox.url("/"));
        load.push(std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            let mut requests = 0u32;
            while !stop.load(Ordering::Relaxed) && requests < 100_000 {
                requests += 1;
                match agent.get(&url).call() {
                    Ok(r) if r.status() == 200 => {}
                    Ok(r) => failures
                        .lock()
                        .unwrap()
                        .push(format!("GET / {}", r.status())),
                    Err(e) => failures.lock().unwrap().push(format!("GET /: {e}")),
                }
            }
        }));
    }
    {
        let (stop, failures, sent, url) = (
            stop.clone(),
            failures.clone(),
            sent.clone(),
            sandbox.url("/_sandbox/queues/jobs/messages"),
        );
        load.push(std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            let mut n = 0u32;
            // Fewer than the 1000 invocation records kept per function, so every
            // delivery can be read back.
            while !stop.load(Ordering::Relaxed) && n < 600 {
                let body = format!("m{n}");
                n += 1;
                match agent
                    .post(&url)
                    .header("content-type", "application/json")
                    .send(serde_json::json!({ "body": body }).to_string())
                {
                    Ok(r) if r.status() == 200 => {
                        sent.lock().unwrap().insert(body);
                    }
                    Ok(r) => failures
                        .lock()
                        .unwrap()
                        .push(format!("send {}", r.status())),
                    Err(e) => failures.lock().unwrap().push(format!("send: {e}")),
                }
            }
        }));
    }

    let handler = dir.path().join("src/http/get-index/handler.wat");
    let reloads_logged = |sandbox: &Sandbox| {
        sandbox
            .output()
            .matches("queue jobs settings changed")
            .count()
    };
    for version in 1..=20u32 {
        if version % 2 == 1 {
            replace(&handler, &responding(&format!("v{version}")));
            await_body(&sandbox, "/", &format!("v{version}"));
        } else {
            let before = reloads_logged(&sandbox);
            replace(&dir.path().join("app.arc"), &manifest(30 + version));
            let deadline = Instant::now() + Duration::from_secs(20);
            while reloads_logged(&sandbox) == before {
                assert!(
                    Instant::now() < deadline,
                    "manifest edit {version} never applied\n{}",
                    sandbox.output()
                );
                std::thread::yield_now();
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    for thread in load {
        thread.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "requests failed during reloads: {:?}",
        &failures[..failures.len().min(10)]
    );
    let sent = sent.lock().unwrap().clone();
    assert!(
        sent.len() > 20,
        "the queue load kept running: {} sent",
        sent.len()
    );

    // Everything acknowledged arrives (reloads still settling may finish after a drain).
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut delivered = BTreeSet::new();
    while delivered != sent {
        sandbox.drain(Duration::from_secs(10)).unwrap();
        delivered.extend(delivered_bodies(&sandbox));
        assert!(
            Instant::now() < deadline,
            "{} of {} messages never arrived",
            sent.difference(&delivered).count(),
            sent.len()
        );
    }
}
