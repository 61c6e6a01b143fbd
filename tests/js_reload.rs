//! End to end: hot reload of JavaScript handlers — editing the handler or a module it
//! imports (inside its directory or in `src/shared`) serves the new code; a syntax
//! error keeps the old code serving and is reported, located.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::replace;
use sandbox_testing::Sandbox;

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Polls until `/` answers `expected` (a condition, not a sleep), or panics.
fn await_body(sandbox: &Sandbox, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = sandbox.get("/").unwrap();
        if response.status == 200 && response.text() == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never answered {expected}; last: {} {}\n{}",
            response.status,
            response.text(),
            sandbox.output()
        );
        std::thread::yield_now();
    }
}

fn reload_error(sandbox: &Sandbox) -> Option<String> {
    let status = sandbox.status().unwrap();
    status["functions"][0]["reloadError"]
        .as_str()
        .map(str::to_string)
}

#[test]
fn edits_to_a_handler_and_its_modules_take_effect_and_syntax_errors_keep_the_old_code() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "app.arc", "@app\nreload\n@http\nget /\n");
    write(
        root,
        "src/http/get-index/index.js",
        "const word = require('./word')\nconst shared = require('@architect/shared/suffix')\nexports.handler = async () => ({ statusCode: 200, body: word + shared })\n",
    );
    write(
        root,
        "src/http/get-index/word.js",
        "module.exports = 'one'\n",
    );
    write(root, "src/shared/suffix.js", "module.exports = '!'\n");
    let sandbox = Sandbox::builder(root)
        .bin(env!("CARGO_BIN_EXE_sandbox"))
        // One compile cache for these throwaway projects: the JS runner is compiled once.
        .arg("--cache-dir")
        .arg(common::shared_cache())
        .manual_clock()
        .start()
        .unwrap();
    await_body(&sandbox, "one!");

    replace(
        &root.join("src/http/get-index/word.js"),
        "module.exports = 'two'\n",
    );
    await_body(&sandbox, "two!");

    replace(&root.join("src/shared/suffix.js"), "module.exports = '?'\n");
    await_body(&sandbox, "two?");

    replace(
        &root.join("src/http/get-index/index.js"),
        "const word = require('./word')\nexports.handler = async () => ({ statusCode: 200, body: 'three' + word })\n",
    );
    await_body(&sandbox, "threetwo");

    // A syntax error: the old code keeps serving, and the error names file, line, column.
    replace(
        &root.join("src/http/get-index/word.js"),
        "module.exports = 'four\n",
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let error = loop {
        if let Some(error) = reload_error(&sandbox) {
            break error;
        }
        assert!(Instant::now() < deadline, "{}", sandbox.output());
        std::thread::yield_now();
    };
    assert!(
        error.starts_with("src/http/get-index/word.js:1:18: syntax error"),
        "{error}"
    );
    await_body(&sandbox, "threetwo");
    sandbox.await_output("word.js:1:18");

    replace(
        &root.join("src/http/get-index/word.js"),
        "module.exports = 'five'\n",
    );
    await_body(&sandbox, "threefive");
    assert_eq!(reload_error(&sandbox), None);
}
