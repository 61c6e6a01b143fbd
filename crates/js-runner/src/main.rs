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

mod base64;
mod input;
mod loader;
mod native;

use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

use rquickjs::{CatchResultExt, Context, Ctx, Function, Object, Runtime};

/// QuickJS checks its own stack use against this bound and throws a `RangeError`
/// (catchable, located) instead of overrunning the wasm stack.
const MAX_STACK: usize = 512 * 1024;

fn main() {
    let code = match run() {
        Ok(code) => code,
        Err(message) => {
            eprintln!("{message}");
            1
        }
    };
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

fn run() -> Result<i32, String> {
    let input = input::read_stdin()?;
    let bundle = Rc::new(input.bundle);
    let runtime = Runtime::new().map_err(|e| format!("cannot start QuickJS: {e}"))?;
    runtime.set_max_stack_size(MAX_STACK);
    runtime.set_loader(
        loader::BundleResolver(bundle.clone()),
        loader::BundleLoader(bundle.clone()),
    );
    let context = Context::full(&runtime).map_err(|e| format!("cannot start QuickJS: {e}"))?;
    context.with(|ctx| {
        let started = std::time::Instant::now();
        native::install(&ctx, bundle.clone(), started).map_err(|e| describe(&ctx, e))?;
        evaluate(&ctx, "<sandbox prelude>", include_str!("../js/prelude.js"))?;
        evaluate(&ctx, "<sandbox run>", include_str!("../js/run.js"))?;
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
