//! The server processes under test: spawn, wait until ready, read memory, clean up.
//!
//! Every child lives in a [`ChildGuard`] whose `Drop` stops it, so early returns,
//! errors and panics never leave a server running on the shared machine. As a second
//! line of defence each child asks the kernel (`PR_SET_PDEATHSIG`) to kill it if the
//! bench process dies without unwinding (SIGKILL, OOM). That signal fires when the
//! *thread* that spawned the child exits, so children are spawned from the main
//! thread only (the benchmark's top-level future runs there via `block_on`).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hyper::StatusCode;

use crate::load;

/// How long a child gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// `sandbox start APP --port PORT`: the command every benchmark starts the sandbox
/// under test with (each adds what it needs: `--no-watch`, environment).
pub fn sandbox_command(bin: &Path, app: &Path, port: u16) -> Command {
    let mut command = Command::new(bin);
    command
        .arg("start")
        .arg(app)
        .arg("--port")
        .arg(port.to_string());
    command
}

/// A running child process that is stopped when dropped.
pub struct ChildGuard {
    name: String,
    child: Child,
    log: PathBuf,
    spawned_at: Instant,
}

impl ChildGuard {
    /// Spawns `command` with stdout and stderr appended to `log`.
    ///
    /// Output goes to a file rather than a pipe: nobody reads a pipe during a
    /// measurement, and a full pipe would block the server mid-benchmark.
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> Result<Self> {
        let log_file = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("creating log file {}", log.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        // SAFETY: the closure only calls prctl, which is async-signal-safe, and
        // touches no memory shared with the parent.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let spawned_at = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("spawning {name}: {command:?}"))?;
        Ok(Self {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
            spawned_at,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The instant just before the process was spawned.
    pub fn spawned_at(&self) -> Instant {
        self.spawned_at
    }

    /// Fails (with the end of the child's log) if the child has exited.
    pub fn ensure_running(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited early ({status}); last output:\n{}",
                self.name,
                log_tail(&self.log, 20)
            );
        }
        Ok(())
    }

    /// Polls `GET path` every millisecond until it answers 200, returning the
    /// instant of the first 200.
    pub async fn wait_for_200(
        &mut self,
        addr: SocketAddr,
        path: &str,
        timeout: Duration,
    ) -> Result<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            self.ensure_running()?;
            let last = match load::probe(addr, path).await {
                Ok(StatusCode::OK) => return Ok(Instant::now()),
                Ok(status) => format!("status {status}"),
                Err(err) => format!("{err:#}"),
            };
            if Instant::now() >= deadline {
                bail!(
                    "{} did not answer 200 on GET {path} within {timeout:?} (last: {last}); \
                     last output:\n{}",
                    self.name,
                    log_tail(&self.log, 20)
                );
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// The child's current memory use, from `/proc/<pid>/status`.
    pub fn memory(&self) -> Result<Memory> {
        let path = format!("/proc/{}/status", self.pid());
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        Memory::parse(&text).with_context(|| format!("no VmRSS/VmHWM in {path}"))
    }

    /// Stops the child: SIGTERM, a short grace period, then SIGKILL.
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: plain syscall on our own child, which has not been reaped yet
            // (try_wait above returned None), so the pid cannot have been reused.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Resident memory of a process, in MiB.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Memory {
    /// Current resident set (VmRSS).
    pub rss_mib: f64,
    /// Peak resident set so far (VmHWM).
    pub peak_mib: f64,
}

impl Memory {
    /// Parses the text of `/proc/<pid>/status`.
    pub fn parse(status: &str) -> Option<Self> {
        Some(Self {
            rss_mib: status_kib(status, "VmRSS")? as f64 / 1024.0,
            peak_mib: status_kib(status, "VmHWM")? as f64 / 1024.0,
        })
    }
}

/// Reads a `Key:   1234 kB` line of `/proc/<pid>/status`.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// A port that was free a moment ago, for servers that must be told their port.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// The last `lines` lines of a log file, for error messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    const MAX_BYTES: u64 = 16 * 1024;
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(MAX_BYTES)));
        let mut bytes = Vec::new();
        let _ = file.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    let all: Vec<&str> = text.lines().collect();
    if all.is_empty() {
        return "  (no output)".to_string();
    }
    all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str =
        "Name:\tsandbox\nVmPeak:\t  100000 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";

    #[test]
    fn parses_proc_status() {
        let memory = Memory::parse(STATUS).unwrap();
        assert_eq!(memory.rss_mib, 10.0);
        assert_eq!(memory.peak_mib, 20.0);
        assert_eq!(Memory::parse("Name:\tx\n"), None);
        assert_eq!(status_kib("VmRSSX: 5 kB", "VmRSS"), None);
    }

    #[test]
    fn reads_own_memory() {
        let text = std::fs::read_to_string("/proc/self/status").unwrap();
        let memory = Memory::parse(&text).unwrap();
        assert!(memory.rss_mib > 0.0 && memory.peak_mib >= memory.rss_mib);
    }

    #[test]
    fn guard_stops_child_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sleep.log");
        let mut command = Command::new("sleep");
        command.arg("60");
        let mut guard = ChildGuard::spawn("sleep", command, &log).unwrap();
        guard.ensure_running().unwrap();
        let pid = guard.pid();
        drop(guard);
        // Reaped by the guard, so the pid is gone (or, improbably, reused).
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"));
        assert!(status.map_or(true, |s| !s.contains("Name:\tsleep")));
    }

    #[test]
    fn early_exit_is_reported_with_output() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("fail.log");
        let mut command = Command::new("sh");
        command.args(["-c", "echo boom; exit 3"]);
        let mut guard = ChildGuard::spawn("failing", command, &log).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let err = guard.ensure_running().unwrap_err().to_string();
        assert!(err.contains("failing exited early"), "{err}");
        assert!(err.contains("boom"), "{err}");
    }

    #[test]
    fn log_tail_keeps_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        std::fs::write(&log, "a\nb\nc\n").unwrap();
        assert_eq!(log_tail(&log, 2), "  b\n  c");
        assert_eq!(log_tail(&dir.path().join("missing"), 2), "  (no output)");
    }
}
