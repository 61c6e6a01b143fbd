//! The JavaScript runner: a WASI preview 1 command embedding QuickJS (through `rquickjs`)
//! that runs one JavaScript handler once, in a fresh instance per invocation, like any
//! other sandbox handler.
//!
//! The host (`sandbox-app`) resolves, type-strips and bundles the handler's modules, then
//! writes everything on stdin (see [`input`]): the bundle, the invocation context, then
//! the event. The runner installs the globals a Lambda handler expects
//! (`js/prelude.js`), loads the entry module, calls `handler` and drives promises and
//! timers until the result settles (`js/run.js`). The result JSON goes to stdout; logs
//! go to stderr; a failure exits with status 1 after logging the error and its stack.
//!
//! `sandbox_init` (an export the host runs once and snapshots) starts QuickJS and the
//! JavaScript layer ahead of every invocation; compile mode answers a bundle with its
//! QuickJS bytecode (see [`bytecode`]); `sandbox_preload` (run on a snapshot of
//! `sandbox_init`, and snapshotted again per bundle) also loads the handler's module.

mod base64;
mod bytecode;
mod input;
mod loader;
mod native;

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rquickjs::{CatchResultExt, Context, Ctx, Function, Object, Runtime};

use input::Bundle;

/// QuickJS checks its own stack use against this bound and throws a `RangeError`
/// (catchable, located) instead of overrunning the wasm stack.
const MAX_STACK: usize = 512 * 1024;

/// Bytes allocated before QuickJS first collects cycles (afterwards it adapts).
const GC_THRESHOLD: usize = 16 << 20;

/// QuickJS with the runner's JavaScript layer evaluated: made by [`sandbox_init`] when
/// the host snapshots the runner (so every instance starts with it), else by the first
/// thing `main` does.
struct Engine {
    // Kept alive with the context (the context refers to it).
    _runtime: Runtime,
    context: Context,
}

thread_local! {
    static ENGINE: RefCell<Option<Rc<Engine>>> = const { RefCell::new(None) };
    /// This invocation's bundle (the module loader and `__native.module` read it).
    static BUNDLE: RefCell<Rc<Bundle>> = RefCell::new(Rc::new(Bundle::default()));
    /// Where `__native.monotonic` counts from: this invocation's start.
    static STARTED: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// This invocation's bundle.
pub fn bundle() -> Rc<Bundle> {
    BUNDLE.with(|b| b.borrow().clone())
}

/// When this invocation (or, while snapshotting, the engine) started.
pub fn started() -> Instant {
    STARTED.with(|s| {
        s.get().unwrap_or_else(|| {
            let now = Instant::now();
            s.set(Some(now));
            now
        })
    })
}

/// The host calls this export once on a throwaway instance and snapshots its memory
/// (`crates/app/src/script/snapshot.rs`): every invocation's instance then starts with
/// QuickJS up and the runner's JavaScript evaluated instead of doing it again. Nothing
/// here may depend on the invocation (the environment, randomness, the clock): those
/// are read in `begin` (prelude.js) when an invocation starts.
#[export_name = "sandbox_init"]
pub extern "C" fn sandbox_init() {
    match engine() {
        Ok(engine) => engine.context.with(|ctx| {
            // The web globals, URL and Buffer load on first use (too costly to parse in
            // every instance); in a snapshot they cost nothing, so load them now.
            let _ = evaluate(&ctx, "<sandbox init>", "void [TextEncoder, URL, Buffer];");
        }),
        Err(message) => {
            eprintln!("{message}");
            std::process::abort();
        }
    }
    STARTED.with(|s| s.set(None));
    ENGINE.with(|e| {
        if let Some(engine) = e.borrow().as_ref() {
            engine._runtime.run_gc();
        }
    });
}

/// The host calls this export on an instance of the snapshotted runner, with a bundle
/// (as bytecode) and the function's environment on stdin, and snapshots the memory
/// afterwards (`crates/app/src/script/preload.rs`): invocations from that snapshot
/// start with the handler's module loaded, its module scope run once (Lambda's init
/// phase), and are sent only the context and the event (`preloaded` in the header).
/// Writes `ok` on stdout when the snapshot may be taken, else why not: a module scope
/// that throws, logs, calls the sandbox services, leaves timers pending or awaits
/// something unsettled loads per invocation instead, as without this snapshot.
#[export_name = "sandbox_preload"]
pub extern "C" fn sandbox_preload() {
    let answer = match preload() {
        Ok(problem) if problem.is_empty() => "ok".to_string(),
        Ok(problem) => problem,
        Err(message) => message,
    };
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(answer.as_bytes());
    // Nothing may stay buffered in the snapshot (it would be printed by invocations).
    let _ = stdout.flush();
    let _ = std::io::stderr().flush();
    STARTED.with(|s| s.set(None));
    ENGINE.with(|e| {
        if let Some(engine) = e.borrow().as_ref() {
            engine._runtime.run_gc();
        }
    });
}

fn preload() -> Result<String, String> {
    let input = input::read_stdin()?;
    STARTED.with(|s| s.set(Some(Instant::now())));
    let bundle = Rc::new(input.bundle);
    BUNDLE.with(|b| *b.borrow_mut() = bundle.clone());
    let engine = engine()?;
    engine.context.with(|ctx| {
        let sandbox: Object = ctx
            .globals()
            .get("__sandbox")
            .map_err(|e| describe(&ctx, e))?;
        let preload: Function = sandbox.get("preload").map_err(|e| describe(&ctx, e))?;
        let done: Function = sandbox.get("preloadDone").map_err(|e| describe(&ctx, e))?;
        preload
            .call::<_, ()>((bundle.entry.clone(),))
            .catch(&ctx)
            .map_err(|e| e.to_string())?;
        drain_jobs(&ctx);
        done.call::<_, String>(()).catch(&ctx).map_err(|e| e.to_string())
    })
}

/// The engine, started (and kept for the rest of this instance) if not yet.
fn engine() -> Result<Rc<Engine>, String> {
    if let Some(engine) = ENGINE.with(|e| e.borrow().clone()) {
        return Ok(engine);
    }
    let runtime = Runtime::new().map_err(|e| format!("cannot start QuickJS: {e}"))?;
    runtime.set_max_stack_size(MAX_STACK);
    // The first collection waits until this much is allocated. QuickJS frees most
    // garbage by reference counting; collecting cycles while a big bundle loads (many
    // times, each walking every object) cost more than loading it, and in a snapshotted
    // instance a collection also copies every page it touches.
    runtime.set_gc_threshold(GC_THRESHOLD);
    runtime.set_loader(loader::BundleResolver, loader::BundleLoader);
    let context = Context::full(&runtime).map_err(|e| format!("cannot start QuickJS: {e}"))?;
    context.with(|ctx| {
        native::install(&ctx).map_err(|e| describe(&ctx, e))?;
        evaluate(&ctx, "<sandbox prelude>", include_str!("../js/prelude.js"))?;
        evaluate(&ctx, "<sandbox run>", include_str!("../js/run.js"))
    })?;
    let engine = Rc::new(Engine {
        _runtime: runtime,
        context,
    });
    ENGINE.with(|e| *e.borrow_mut() = Some(engine.clone()));
    Ok(engine)
}

fn main() {
    let code = match run() {
        Ok(code) => code,
        Err(message) => {
            eprintln!("{message}");
            1
        }
    };
    let _ = std::io::stdout().flush();
    // Success returns from `_start` normally: `proc_exit` reaches the host as a trap-like
    // error (unwinding, a backtrace), which costs more than this whole tail.
    if code != 0 {
        std::process::exit(code);
    }
}

fn run() -> Result<i32, String> {
    let input = input::read_stdin()?;
    STARTED.with(|s| s.set(Some(Instant::now())));
    let bundle = if input.bundle.preloaded {
        // This instance's snapshot holds the bundle, its entry module loaded.
        let held = bundle();
        if held.entry != input.bundle.entry {
            return Err(format!(
                "sandbox runner: this snapshot holds `{}`, not `{}`",
                held.entry, input.bundle.entry
            ));
        }
        held
    } else {
        let bundle = Rc::new(input.bundle);
        BUNDLE.with(|b| *b.borrow_mut() = bundle.clone());
        bundle
    };
    let engine = engine()?;
    if bundle.compile {
        return engine.context.with(|ctx| compile(&ctx, &bundle));
    }
    engine.context.with(|ctx| {
        let sandbox: Object = ctx
            .globals()
            .get("__sandbox")
            .map_err(|e| describe(&ctx, e))?;
        let start: Function = sandbox.get("start").map_err(|e| describe(&ctx, e))?;
        let tick: Function = sandbox.get("tick").map_err(|e| describe(&ctx, e))?;
        let finish: Function = sandbox.get("finish").map_err(|e| describe(&ctx, e))?;
        start
            .call::<_, ()>((
                bundle.entry.clone(),
                input.context,
                String::from_utf8_lossy(&input.event).into_owned(),
            ))
            .catch(&ctx)
            .map_err(|e| e.to_string())?;
        loop {
            drain_jobs(&ctx);
            // How long to wait before the next timer, or negative once the result settled.
            let wait: f64 = tick.call(()).catch(&ctx).map_err(|e| e.to_string())?;
            if wait < 0.0 {
                break;
            }
            if wait > 0.0 {
                // A real wait: the timer's time passes, and a handler that never settles
                // waits here until the host's timeout ends the instance.
                std::thread::sleep(Duration::from_secs_f64(wait / 1000.0));
            }
        }
        let code: i32 = finish.call(()).catch(&ctx).map_err(|e| e.to_string())?;
        Ok(code)
    })
}

/// Compile mode: each module's bytecode on stdout, in the bundle's order, as a
/// little-endian `u32` length then the bytes (length 0: keep the source).
fn compile(ctx: &Ctx<'_>, bundle: &Bundle) -> Result<i32, String> {
    let mut out = Vec::new();
    for id in &bundle.order {
        let code = bytecode::compile(ctx, id, &bundle.modules[id]).unwrap_or_default();
        out.extend_from_slice(&(code.len() as u32).to_le_bytes());
        out.extend_from_slice(&code);
    }
    std::io::stdout()
        .write_all(&out)
        .map_err(|e| format!("sandbox runner: {e}"))?;
    Ok(0)
}

/// Runs every queued promise job (microtask). A job that throws is an unhandled
/// rejection inside a callback; `run.js` has already recorded what matters.
fn drain_jobs(ctx: &Ctx<'_>) {
    while ctx.execute_pending_job() {}
}

fn evaluate(ctx: &Ctx<'_>, name: &str, source: &str) -> Result<(), String> {
    let mut options = rquickjs::context::EvalOptions::default();
    options.filename = Some(name.to_string());
    options.strict = false;
    ctx.eval_with_options::<(), _>(source, options)
        .catch(ctx)
        .map_err(|e| format!("sandbox runner: {e}"))
}

fn describe(ctx: &Ctx<'_>, error: rquickjs::Error) -> String {
    match error {
        rquickjs::Error::Exception => format!("sandbox runner: {:?}", ctx.catch()),
        other => format!("sandbox runner: {other}"),
    }
}
