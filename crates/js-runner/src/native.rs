//! The few things JavaScript cannot do by itself, as functions on a global `__native`
//! object that `prelude.js` and `run.js` wrap and then hide: writing to stdout/stderr,
//! randomness and the monotonic clock (WASI), the `sandbox.call` host import, compiling
//! CommonJS and JSON modules under their own file names (so stack traces name them),
//! and byte conversions that are slow in an interpreter.

use std::io::Write;

use rquickjs::function::Opt;
use rquickjs::promise::PromiseState;
use rquickjs::{ArrayBuffer, Ctx, Exception, Function, Module, Object, TypedArray, Value};

use crate::input::Bundle;
use crate::{base64, loader};

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "sandbox")]
extern "C" {
    /// See the README's handler contract: JSON request in, answer length out (negated
    /// when the answer did not fit and waits for `answer`).
    fn call(
        request_ptr: *const u8,
        request_len: i32,
        response_ptr: *mut u8,
        response_cap: i32,
    ) -> i32;
    fn answer(response_ptr: *mut u8, response_cap: i32) -> i32;
}

pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<()> {
    let native = Object::new(ctx.clone())?;
    native.set(
        "write",
        Function::new(ctx.clone(), |fd: i32, text: String| {
            // A closed pipe is the host giving up on this instance; nothing to report to.
            let _ = if fd == 1 {
                std::io::stdout().write_all(text.as_bytes())
            } else {
                std::io::stderr().write_all(text.as_bytes())
            };
        })?,
    )?;
    native.set(
        "randomBytes",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, n: usize| {
            let mut bytes = vec![0u8; n];
            getrandom::fill(&mut bytes)
                .map_err(|e| Exception::throw_message(&ctx, &format!("no randomness: {e}")))?;
            ArrayBuffer::new(ctx, bytes)
        })?,
    )?;
    native.set(
        "env",
        Function::new(ctx.clone(), |ctx: Ctx<'js>| {
            let env = Object::new(ctx)?;
            for (key, value) in std::env::vars() {
                env.set(key, value)?;
            }
            Ok::<_, rquickjs::Error>(env)
        })?,
    )?;
    native.set(
        "monotonic",
        Function::new(ctx.clone(), || {
            crate::started().elapsed().as_secs_f64() * 1000.0
        })?,
    )?;
    native.set(
        "hostCall",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, request: String| {
            host_call(&ctx, &request)
        })?,
    )?;
    native.set(
        "module",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, id: String| {
            module_info(&ctx, &crate::bundle(), &id)
        })?,
    )?;
    native.set(
        "cjsFunction",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, id: String| {
            cjs_function(&ctx, &crate::bundle(), &id)
        })?,
    )?;
    native.set(
        "compileFunction",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, id: String, params: String, body: String| {
                let mut options = rquickjs::context::EvalOptions::default();
                options.filename = Some(id);
                options.strict = false;
                ctx.eval_with_options::<Function, _>(wrap(&params, &body), options)
            },
        )?,
    )?;
    native.set(
        "source",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, name: String| {
            Ok::<_, rquickjs::Error>(match name.as_str() {
                "web" => include_str!("../js/web.js"),
                "url" => include_str!("../js/url.js"),
                "buffer" => include_str!("../js/buffer.js"),
                _ => return Err(Exception::throw_message(&ctx, "no such runner file")),
            })
        })?,
    )?;
    native.set(
        "importSync",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, id: String| {
            import_sync(&ctx, &id)
        })?,
    )?;
    native.set(
        "utf8Encode",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, text: String| {
            ArrayBuffer::new(ctx, text.into_bytes())
        })?,
    )?;
    native.set(
        "utf8Decode",
        Function::new(ctx.clone(), |bytes: TypedArray<'js, u8>| {
            String::from_utf8_lossy(&copy(&bytes)).into_owned()
        })?,
    )?;
    native.set(
        "base64Encode",
        Function::new(ctx.clone(), |bytes: TypedArray<'js, u8>| {
            base64::encode(&copy(&bytes))
        })?,
    )?;
    native.set(
        "base64Decode",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, text: String, strict: Opt<bool>| {
                match base64::decode(&text) {
                    Some(bytes) => ArrayBuffer::new(ctx, bytes),
                    None if strict.0.unwrap_or(false) => Err(Exception::throw_message(
                        &ctx,
                        "The string to be decoded is not correctly encoded.",
                    )),
                    // Node's Buffer skips what is not base64 rather than throwing.
                    None => {
                        let cleaned: String = text
                            .chars()
                            .filter(|c| c.is_ascii_alphanumeric() || "+/-_=".contains(*c))
                            .collect();
                        ArrayBuffer::new(ctx, base64::decode(&cleaned).unwrap_or_default())
                    }
                }
            },
        )?,
    )?;
    ctx.globals().set("__native", native)?;
    Ok(())
}

/// The parameters of a CommonJS module's wrapper function.
pub const CJS_PARAMS: &str = "exports, require, module, __filename, __dirname";

/// A function expression around `body`; the wrapper shares the body's first line so
/// line numbers stay the file's.
pub fn wrap(params: &str, body: &str) -> String {
    format!("(function ({params}) {{{body}\n}})")
}

/// A bundled CommonJS module's wrapper function: from its bytecode when the host sent
/// bytecode, else compiled from source.
fn cjs_function<'js>(ctx: &Ctx<'js>, bundle: &Bundle, id: &str) -> rquickjs::Result<Value<'js>> {
    let Some(module) = bundle.modules.get(id) else {
        return Err(Exception::throw_message(ctx, &format!("no module {id}")));
    };
    match &module.bytecode {
        Some(bytes) => crate::bytecode::run(ctx, bytes),
        None => {
            let mut options = rquickjs::context::EvalOptions::default();
            options.filename = Some(id.to_string());
            options.strict = false;
            ctx.eval_with_options::<Value, _>(wrap(CJS_PARAMS, &module.source), options)
        }
    }
}

/// `{kind, source, deps, lines}` for a bundled or built-in module; `undefined` if unknown.
fn module_info<'js>(ctx: &Ctx<'js>, bundle: &Bundle, id: &str) -> rquickjs::Result<Value<'js>> {
    let info = Object::new(ctx.clone())?;
    if let Some(source) = loader::builtin_source(id) {
        info.set("kind", "cjs")?;
        info.set("source", source)?;
        info.set("deps", Object::new(ctx.clone())?)?;
        return Ok(info.into_value());
    }
    let Some(module) = bundle.modules.get(id) else {
        return Ok(Value::new_undefined(ctx.clone()));
    };
    info.set("kind", module.kind.as_str())?;
    info.set("source", module.source.as_str())?;
    let deps = Object::new(ctx.clone())?;
    for (specifier, target) in &module.deps {
        deps.set(specifier.as_str(), target.as_str())?;
    }
    info.set("deps", deps)?;
    if let Some(lines) = &module.lines {
        info.set("lines", lines.clone())?;
    }
    Ok(info.into_value())
}

/// `require()` of an ES module (as Node 22 allows): import it and run jobs until its
/// evaluation finished; a module awaiting something that needs timers cannot be
/// required this way and says so.
fn import_sync<'js>(ctx: &Ctx<'js>, id: &str) -> rquickjs::Result<Value<'js>> {
    let promise = Module::import(ctx, id)?;
    while promise.state() == PromiseState::Pending && ctx.execute_pending_job() {}
    match promise.state() {
        PromiseState::Resolved => promise.result::<Value>().unwrap_or_else(|| {
            Err(Exception::throw_message(ctx, "module namespace missing"))
        }),
        PromiseState::Rejected => {
            let reason = promise.result::<Value>();
            match reason {
                Some(Err(e)) => Err(e),
                Some(Ok(value)) => Err(ctx.throw(value)),
                None => Err(Exception::throw_message(ctx, "import failed")),
            }
        }
        PromiseState::Pending => Err(Exception::throw_message(
            ctx,
            &format!("require() of ES module {id} which uses top-level await on something still pending; use import() instead"),
        )),
    }
}

/// Host builds (the runner's unit tests) have no sandbox to call.
#[cfg(not(target_arch = "wasm32"))]
fn host_call<'js>(ctx: &Ctx<'js>, _request: &str) -> rquickjs::Result<String> {
    Err(Exception::throw_message(
        ctx,
        "sandbox.call exists only inside the sandbox",
    ))
}

#[cfg(target_arch = "wasm32")]
fn host_call<'js>(ctx: &Ctx<'js>, request: &str) -> rquickjs::Result<String> {
    let mut buffer = vec![0u8; 64 * 1024];
    // SAFETY: both pointers are into live buffers of the lengths passed; the host
    // writes at most `cap` bytes.
    let mut len = unsafe {
        call(
            request.as_ptr(),
            request.len() as i32,
            buffer.as_mut_ptr(),
            buffer.len() as i32,
        )
    };
    if len < 0 {
        buffer = vec![0u8; len.unsigned_abs() as usize];
        // SAFETY: as above, for the answer the host kept.
        len = unsafe { answer(buffer.as_mut_ptr(), buffer.len() as i32) };
        if len < 0 {
            return Err(Exception::throw_message(ctx, "sandbox.call: answer lost"));
        }
    }
    buffer.truncate(len as usize);
    String::from_utf8(buffer)
        .map_err(|_| Exception::throw_message(ctx, "sandbox.call: answer is not UTF-8"))
}

/// The bytes of a typed array, copied out before any JavaScript runs again (a borrowed
/// view could be detached or resized under us).
fn copy(array: &TypedArray<'_, u8>) -> Vec<u8> {
    // SAFETY: the slice is read and copied immediately, with no JavaScript running in
    // between that could detach or resize the buffer.
    unsafe { array.as_bytes() }
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}
