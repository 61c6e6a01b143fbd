//! End to end: SQS over the Query protocol (form requests, XML answers) with a real
//! client that speaks it: boto3 with botocore 1.31, the last release whose SQS model is
//! Query. The client lives in a Python virtual environment under `target/`, made here on
//! first use from `tests/clients/requirements.txt` (PyPI).

use crate::common;

use std::path::PathBuf;
use std::process::Command;

fn python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = root.join("target/test-clients/venv");
    let python = venv.join("bin/python");
    let requirements = root.join("tests/clients/requirements.txt");
    let marker = venv.join("installed.txt");
    let wanted = std::fs::read_to_string(&requirements).unwrap();
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 is needed for the Query protocol test (apt install python3-venv)");
        assert!(
            made.success(),
            "python3 -m venv failed (apt install python3-venv)"
        );
        let installed = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "-r"])
            .arg(&requirements)
            .status()
            .unwrap();
        assert!(
            installed.success(),
            "pip install -r {requirements:?} failed"
        );
        std::fs::write(&marker, wanted).unwrap();
    }
    python
}

#[test]
fn boto3_speaking_the_query_protocol_drives_sqs() {
    let python = python();
    let sandbox = common::manual("queues");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/sqs_query.py");
    let output = Command::new(python)
        .arg(script)
        .env("SANDBOX_ENDPOINT", sandbox.base_url())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("all query checks passed"),
        "{stdout}\n{stderr}\n{}",
        sandbox.output()
    );
}
