//! The `reload` benchmark: time from a file write to the first response from the new
//! code, median over N edits, for a `handler.wat` swap and for a route added to the
//! manifest. The baseline, measured in the same run, is what a restart-based tool pays:
//! stopping the sandbox, starting it again (warm compile cache) and the first response.

use sandbox_testing::wat::responding;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::process::{free_port, sandbox_command, ChildGuard};
use crate::report::Machine;
use crate::stats::median_duration;

#[derive(Debug, clap::Args)]
pub struct ReloadArgs {
    /// The sandbox binary (build it with `cargo build --release -p sandbox-cli`).
    #[arg(long, default_value = "target/release/sandbox")]
    sandbox_bin: PathBuf,
    /// Edits per measurement.
    #[arg(long, default_value_t = 20)]
    edits: usize,
}

pub fn run(args: ReloadArgs) -> Result<()> {
    let bin = args.sandbox_bin.canonicalize().with_context(|| {
        format!(
            "no sandbox binary at {} (cargo build --release -p sandbox-cli)",
            args.sandbox_bin.display()
        )
    })?;
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    write_app(root, &[])?;
    std::fs::create_dir_all(
        handler_path(root, "index")
            .parent()
            .context("handler dir")?,
    )?;
    std::fs::write(handler_path(root, "index"), responding("v0"))?;
    let log = root.join("sandbox.log");

    let mut restarts = Vec::new();
    let mut swaps = Vec::new();
    let mut routes = Vec::new();
    let (mut child, mut addr) = spawn(&bin, root, &log)?;
    await_body(&mut child, addr, "/", "v0")?;
    for edit in 1..=args.edits {
        // Handler swap: write the new module, wait for its answer.
        let started = Instant::now();
        replace(
            &handler_path(root, "index"),
            &responding(&format!("v{edit}")),
        )?;
        await_body(&mut child, addr, "/", &format!("v{edit}"))?;
        swaps.push(started.elapsed());

        // Route added to the manifest (its handler is written first, untimed).
        let name = format!("r{edit}");
        std::fs::create_dir_all(handler_path(root, &name).parent().unwrap())?;
        std::fs::write(handler_path(root, &name), responding(&name))?;
        let names: Vec<String> = (1..=edit).map(|n| format!("r{n}")).collect();
        let started = Instant::now();
        write_app(root, &names)?;
        await_body(&mut child, addr, &format!("/{name}"), &name)?;
        routes.push(started.elapsed());

        // Baseline: restart the whole process, as tools without hot swap do.
        let started = Instant::now();
        child.stop();
        (child, addr) = spawn(&bin, root, &log)?;
        await_body(&mut child, addr, "/", &format!("v{edit}"))?;
        restarts.push(started.elapsed());
    }
    child.stop();

    let (swap, route, restart) = (
        median_duration(&swaps),
        median_duration(&routes),
        median_duration(&restarts),
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let met = |ok: bool| if ok { "met" } else { "MISSED" };
    let machine = Machine::detect();
    println!();
    println!(
        "### Hot reload — {} (UTC)",
        chrono::Utc::now().format("%Y-%m-%d %H:%M")
    );
    println!();
    println!(
        "Machine: {} cores, {}. Medians over {} edits; file write → first response from the new code (polling GET, 1 request at a time).",
        machine.cpus, machine.cpu_model, args.edits
    );
    println!();
    println!("| change | sandbox hot reload | restart (baseline) | target | |");
    println!("|---|---|---|---|---|");
    println!(
        "| `handler.wat` replaced | {:.1} ms | {:.1} ms | < 40 ms | {} |",
        ms(swap),
        ms(restart),
        met(ms(swap) < 40.0)
    );
    println!(
        "| route added to `app.arc` | {:.1} ms | {:.1} ms | < 50 ms | {} |",
        ms(route),
        ms(restart),
        met(ms(route) < 50.0)
    );
    Ok(())
}

fn spawn(bin: &Path, root: &Path, log: &Path) -> Result<(ChildGuard, SocketAddr)> {
    let port = free_port()?;
    let mut command = sandbox_command(bin, root, port);
    command.env("SANDBOX_LOG", "warn");
    let child = ChildGuard::spawn("sandbox", command, log)?;
    Ok((child, SocketAddr::from(([127, 0, 0, 1], port))))
}

fn handler_path(root: &Path, name: &str) -> PathBuf {
    root.join("src/http")
        .join(format!("get-{name}"))
        .join("handler.wat")
}

fn write_app(root: &Path, extra_routes: &[String]) -> Result<()> {
    let mut manifest = String::from("@app\nreload-bench\n@http\nget /\n");
    for route in extra_routes {
        manifest.push_str(&format!("get /{route}\n"));
    }
    replace(&root.join("app.arc"), &manifest)
}

/// Editors save by writing a temporary file and renaming it over the original.
fn replace(path: &Path, contents: &str) -> Result<()> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, contents)?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}

/// Polls `path` until its body is `expected`.
fn await_body(child: &mut ChildGuard, addr: SocketAddr, path: &str, expected: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        child.ensure_running()?;
        if get_body(addr, path).is_ok_and(|body| body == expected) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("GET {path} never answered {expected:?}");
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// One HTTP/1.1 GET on a fresh connection; the body of a 200, else an error.
fn get_body(addr: SocketAddr, path: &str) -> Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").context("no header end")?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("{}", head.lines().next().unwrap_or(""));
    }
    Ok(body.to_string())
}
