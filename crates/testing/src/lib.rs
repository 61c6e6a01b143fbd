//! Test support for apps run by the sandbox: start the real `sandbox` binary on a free
//! port for a project directory, wait until it is ready, and drive it over HTTP, with
//! typed calls for the `/_sandbox` control API.
//!
//! ```no_run
//! use sandbox_testing::Sandbox;
//!
//! let sandbox = Sandbox::start("fixtures/apps/demo").unwrap();
//! let response = sandbox.get("/users/42").unwrap();
//! assert_eq!(response.status, 200);
//! assert_eq!(response.json().unwrap()["id"], "42");
//! ```
//!
//! The process is killed when the [`Sandbox`] is dropped. Blocking on purpose: it works
//! from plain `#[test]` functions and from any async runtime's blocking threads.

mod buses;
mod process;
mod response;
mod streams;
mod topics;
pub mod wat;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

pub use response::Response;

/// A running sandbox.
pub struct Sandbox {
    process: process::Child,
    base: String,
    agent: ureq::Agent,
    /// How it was started, to start it again ([`Sandbox::kill_and_restart`]).
    started: Builder,
}

/// Options for [`Sandbox::builder`].
#[derive(Clone)]
pub struct Builder {
    dir: PathBuf,
    bin: Option<PathBuf>,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    ready_timeout: Duration,
    manual_clock: bool,
    clock_start: Option<String>,
}

impl Builder {
    /// The `sandbox` binary to run. Default: `$SANDBOX_BIN`, else the `sandbox` built
    /// beside the running test executable, else `sandbox` on the `PATH`.
    pub fn bin(mut self, path: impl Into<PathBuf>) -> Self {
        self.bin = Some(path.into());
        self
    }

    /// Start with time frozen (`--clock manual`).
    pub fn manual_clock(mut self) -> Self {
        self.manual_clock = true;
        self
    }

    /// Start with time frozen at `at` (`--clock manual --clock-start AT`, RFC 3339). A
    /// second call replaces the first, so a restart can start elsewhere.
    pub fn manual_clock_at(mut self, at: impl Into<String>) -> Self {
        self.clock_start = Some(at.into());
        self.manual_clock()
    }

    /// Keep the services' state in `dir` (`--state DIR`), so it survives a restart;
    /// see [`Sandbox::kill_and_restart`].
    pub fn state(self, dir: impl AsRef<Path>) -> Self {
        self.arg("--state").arg(dir.as_ref().display().to_string())
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// How long to wait for the first start (which may build Rust handlers).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    pub fn start(self) -> anyhow::Result<Sandbox> {
        let bin = self.bin.clone().unwrap_or_else(process::default_binary);
        let mut args = vec![
            "start".to_string(),
            self.dir.display().to_string(),
            "--port".into(),
            "0".into(),
        ];
        args.extend(self.args.iter().cloned());
        if self.manual_clock {
            args.extend(["--clock".into(), "manual".into()]);
        }
        if let Some(at) = &self.clock_start {
            args.extend(["--clock-start".into(), at.clone()]);
        }
        let (process, addr) = process::Child::spawn(&bin, &args, &self.envs, self.ready_timeout)?;
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(60)))
                .build(),
        );
        Ok(Sandbox {
            process,
            base: format!("http://{addr}"),
            agent,
            started: self,
        })
    }
}

impl Sandbox {
    /// Starts `sandbox start DIR --port 0` and waits until it listens.
    pub fn start(dir: impl AsRef<Path>) -> anyhow::Result<Sandbox> {
        Sandbox::builder(dir).start()
    }

    pub fn builder(dir: impl AsRef<Path>) -> Builder {
        Builder {
            dir: dir.as_ref().to_path_buf(),
            bin: None,
            args: Vec::new(),
            envs: Vec::new(),
            ready_timeout: Duration::from_secs(600),
            manual_clock: false,
            clock_start: None,
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Everything the sandbox printed so far (stdout and stderr, interleaved by line).
    pub fn output(&self) -> String {
        self.process.output()
    }

    /// Waits (up to 20 s) until the output contains `needle` and returns the output.
    /// The sandbox logs on its own threads, often just after the effect a test
    /// observes, so a log line is awaited rather than expected at once. Panics
    /// with the whole output when it never shows.
    pub fn await_output(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let output = self.output();
            if output.contains(needle) {
                return output;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "`{needle}` never appeared in the output:\n{output}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Whether the process is still running (a misbehaving handler must never end it).
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// Kills the sandbox the way `kill -9` does (no shutdown, nothing flushed) and waits
    /// for it to be gone; for crash tests of `--state`.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        self.process.kill()
    }

    /// A crash and a recovery: kills the sandbox the way `kill -9` does (unless it is
    /// gone already) and starts it again as it was started — the same binary, project and
    /// arguments, so with [`Builder::state`] on the same state directory. The new one
    /// listens on another port.
    pub fn kill_and_restart(self) -> anyhow::Result<Sandbox> {
        self.kill_and_restart_with(|builder| builder)
    }

    /// [`Sandbox::kill_and_restart`], with `change` applied to how it was started (say, a
    /// later [`Builder::manual_clock_at`]).
    pub fn kill_and_restart_with(
        mut self,
        change: impl FnOnce(Builder) -> Builder,
    ) -> anyhow::Result<Sandbox> {
        if self.is_running() {
            self.kill()?;
        }
        change(self.started.clone())
            .start()
            .context("starting the sandbox again")
    }

    /// A request builder for anything the helpers below do not cover.
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    pub fn get(&self, path: &str) -> anyhow::Result<Response> {
        Response::from_ureq(self.agent.get(&self.url(path)).call())
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<Response> {
        let mut request = http::Request::builder().method(method).uri(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(body.to_vec())
            .context("building the request")?;
        Response::from_ureq(self.agent.run(request))
    }

    pub fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<Response> {
        let bytes = serde_json::to_vec(body)?;
        self.request(
            "POST",
            path,
            &[("content-type", "application/json")],
            &bytes,
        )
    }

    /// `GET /_sandbox/status`: the loaded app.
    pub fn status(&self) -> anyhow::Result<Value> {
        self.get("/_sandbox/status")?.ok_json()
    }

    /// `GET /_sandbox/invocations`: recent invocations, newest first.
    pub fn invocations(&self, function: Option<&str>, limit: usize) -> anyhow::Result<Vec<Value>> {
        let mut path = format!("/_sandbox/invocations?limit={limit}");
        if let Some(function) = function {
            path.push_str("&function=");
            path.push_str(function);
        }
        match self.get(&path)?.ok_json()? {
            Value::Array(records) => Ok(records),
            other => anyhow::bail!("expected a JSON array of invocations, got {other}"),
        }
    }

    /// `GET /_sandbox/clock`: `{"now": ..., "mode": "manual" | "system"}`.
    pub fn clock(&self) -> anyhow::Result<Value> {
        self.get("/_sandbox/clock")?.ok_json()
    }

    /// Moves the clock forward (`"1h"`, `"1d"`, `"90s"`); everything that becomes due fires.
    pub fn advance(&self, by: &str) -> anyhow::Result<Value> {
        self.post_json("/_sandbox/clock", &serde_json::json!({ "advance": by }))?
            .ok_json()
    }

    /// Sets the clock to an RFC 3339 time (never backwards).
    pub fn set_clock(&self, to: &str) -> anyhow::Result<Value> {
        self.post_json("/_sandbox/clock", &serde_json::json!({ "set": to }))?
            .ok_json()
    }

    /// Waits until nothing runs and nothing is due; an error (with the pending report)
    /// if that takes longer than `timeout`.
    pub fn drain(&self, timeout: Duration) -> anyhow::Result<Value> {
        let path = format!("/_sandbox/drain?timeout={}ms", timeout.as_millis());
        let response = self.request("POST", &path, &[], b"")?;
        if response.status == 200 {
            response.json()
        } else {
            anyhow::bail!(
                "drain did not settle within {timeout:?}: {}",
                response.text()
            )
        }
    }

    /// `GET /_sandbox/schedules`: every schedule with its next fire times.
    pub fn schedules(&self) -> anyhow::Result<Vec<Value>> {
        let body = self.get("/_sandbox/schedules")?.ok_json()?;
        Ok(body["schedules"].as_array().cloned().unwrap_or_default())
    }

    /// Fires a schedule's handler once, now.
    pub fn invoke_schedule(&self, name: &str) -> anyhow::Result<Value> {
        self.request(
            "POST",
            &format!("/_sandbox/schedules/{name}/invoke"),
            &[],
            b"",
        )?
        .ok_json()
    }

    /// `POST /_sandbox/queues/{queue}/messages` with a plain body; answers the receipt
    /// (`messageId`, `md5OfMessageBody`, `sequenceNumber`, ...).
    pub fn send(&self, queue: &str, body: &str) -> anyhow::Result<Value> {
        self.send_message(queue, &serde_json::json!({ "body": body }))
    }

    /// Sends with every option: `{"body", "delaySeconds", "groupId", "deduplicationId", "attributes"}`.
    pub fn send_message(&self, queue: &str, message: &Value) -> anyhow::Result<Value> {
        self.post_json(&format!("/_sandbox/queues/{queue}/messages"), message)?
            .ok_json()
    }

    /// `GET /_sandbox/queues`: depth, in flight, delayed, oldest age, DLQ per queue.
    pub fn queues(&self) -> anyhow::Result<Vec<Value>> {
        let body = self.get("/_sandbox/queues")?.ok_json()?;
        Ok(body["queues"].as_array().cloned().unwrap_or_default())
    }

    /// One queue's entry from [`Sandbox::queues`].
    pub fn queue(&self, name: &str) -> anyhow::Result<Value> {
        self.queues()?
            .into_iter()
            .find(|q| q["name"] == name)
            .ok_or_else(|| anyhow::anyhow!("no queue named {name}"))
    }

    /// Every message in a queue with its state, without receiving it.
    pub fn peek(&self, queue: &str) -> anyhow::Result<Vec<Value>> {
        let body = self
            .get(&format!("/_sandbox/queues/{queue}/messages"))?
            .ok_json()?;
        Ok(body["messages"].as_array().cloned().unwrap_or_default())
    }

    pub fn purge(&self, queue: &str) -> anyhow::Result<Value> {
        self.request(
            "DELETE",
            &format!("/_sandbox/queues/{queue}/messages"),
            &[],
            b"",
        )?
        .ok_json()
    }

    /// Moves a dead-letter queue's messages back to their source queues.
    pub fn redrive(&self, dlq: &str) -> anyhow::Result<Value> {
        self.request("POST", &format!("/_sandbox/queues/{dlq}/redrive"), &[], b"")?
            .ok_json()
    }
}
