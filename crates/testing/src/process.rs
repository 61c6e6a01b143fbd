//! The sandbox child process: spawn, learn its address from the `listening on` line,
//! keep its output for failure messages, kill it on drop.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, Context};

pub(crate) struct Child {
    child: std::process::Child,
    output: Arc<Mutex<Vec<String>>>,
}

const READY_PREFIX: &str = "listening on http://";

impl Child {
    pub(crate) fn spawn(
        bin: &Path,
        args: &[String],
        envs: &[(String, String)],
        ready_timeout: Duration,
    ) -> anyhow::Result<(Child, SocketAddr)> {
        let mut child = Command::new(bin)
            .args(args)
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {} (build it with `cargo build -p sandbox-cli`, or set SANDBOX_BIN)", bin.display()))?;
        let output = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let stdout = child.stdout.take().context("no stdout")?;
        let stderr = child.stderr.take().context("no stderr")?;
        collect(stdout, output.clone(), Some(ready_tx));
        collect(stderr, output.clone(), None);
        let mut child = Child { child, output };
        match ready_rx.recv_timeout(ready_timeout) {
            Ok(addr) => Ok((child, addr)),
            Err(_) => {
                let exited = child.child.try_wait().ok().flatten();
                let _ = child.child.kill();
                let _ = child.child.wait();
                // Give the reader threads a moment to record the last lines.
                std::thread::sleep(Duration::from_millis(50));
                Err(anyhow!(
                    "sandbox did not become ready ({}); its output:\n{}",
                    match exited {
                        Some(status) => format!("exited with {status}"),
                        None => format!("no `listening on` line within {ready_timeout:?}"),
                    },
                    child.output()
                ))
            }
        }
    }

    pub(crate) fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }

    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL (on Unix; `TerminateProcess` elsewhere), then reaps it: the process gets no
    /// chance to save or flush anything, as with `kill -9`.
    pub(crate) fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(
    stream: impl Read + Send + 'static,
    output: Arc<Mutex<Vec<String>>>,
    ready: Option<mpsc::Sender<SocketAddr>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Some(ready) = &ready {
                if let Some(rest) = line.strip_prefix(READY_PREFIX) {
                    if let Some(addr) = rest.split_whitespace().next().and_then(|a| a.parse().ok())
                    {
                        let _ = ready.send(addr);
                    }
                }
            }
            output.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    });
}

pub(crate) fn default_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("SANDBOX_BIN") {
        return bin.into();
    }
    // Test executables live in target/<profile>/deps; the binary one level up.
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1).take(2) {
            let candidate = dir.join(format!("sandbox{}", std::env::consts::EXE_SUFFIX));
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    PathBuf::from("sandbox")
}
