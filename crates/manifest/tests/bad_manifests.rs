//! Every invalid manifest in `tests/bad/` fails with exactly the error text in its
//! sibling `.expected` file. Run with `UPDATE_EXPECT=1` to rewrite the expectations
//! after an intended wording change (then read the diff).
//!
//! Also: no input, however mangled, makes the parser panic.

use std::path::Path;

use sandbox_manifest::{parse_arc, parse_json};

#[test]
fn bad_manifests_give_the_expected_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad");
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let root = tempfile::tempdir().expect("tempdir");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/bad")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "arc" || e == "json"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 15,
        "expected at least 15 cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let text = std::fs::read_to_string(case).expect("read case");
        let name = Path::new(case.file_name().expect("file name"));
        let result = if case.extension().is_some_and(|e| e == "json") {
            parse_json(root.path(), name, &text)
        } else {
            parse_arc(root.path(), name, &text)
        };
        let actual = match result {
            Ok(_) => format!("unexpectedly valid: {}\n", name.display()),
            Err(e) => e.to_string(),
        };
        let expected_path = case.with_extension("expected");
        if update {
            std::fs::write(&expected_path, &actual).expect("write expectation");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "== {}\n-- expected:\n{expected}\n-- actual:\n{actual}",
                name.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ (UPDATE_EXPECT=1 rewrites):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A small deterministic generator, so failures reproduce without a seed file.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const ARC_SEED: &str = "@app\nshop\n@http\nget /users/:id\n  timeout 10\n@queues\norders.fifo\n  deadLetterQueue dlq.fifo\ndlq.fifo\n@events\nplaced\n  subscribers queue:orders.fifo fn:events/x\n  filterPolicy {\"a\": [1]}\n@scheduled\ndaily rate(1 day)\n@streams\ns\n  consumers a b\n@bus\ndefault\n  rule r {\"source\": [\"x\"]}\n  target r fn:bus/x\n  archive all retentionDays 3\n";
const JSON_SEED: &str = r#"{"app":"shop","http":[{"method":"get","path":"/x/:id","timeout":3}],"queues":{"q":{"batchSize":5}},"events":{"t":{"subscribers":["queue:q"]}},"scheduled":{"d":{"rate":"1 day"}},"streams":{"s":{"consumers":{"a":{}}}},"bus":{"b":{"rules":{"r":{"pattern":{"source":["x"]},"targets":["fn:bus/x"]}}}}}"#;
const PIECES: &[&str] = &[
    "@",
    "@app",
    "@http",
    "@bus",
    "\n",
    "\n  ",
    "\t",
    " ",
    "#",
    "\"",
    "'",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "*",
    "/",
    "fifo",
    ".fifo",
    "rate(",
    "cron(",
    ")",
    "queue:",
    "fn:",
    "topic:",
    "-1",
    "99999999999999999999",
    "1e400",
    "true",
    "null",
    "é",
    "\u{1F980}",
    "\r\n",
    "rule",
    "target",
    "archive",
    "\\",
    "\\u12",
];

fn mutate(rng: &mut Lcg, seed: &str) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(chars.len() + 1);
        match rng.below(4) {
            0 if !chars.is_empty() => {
                let len = rng.below(8).min(chars.len() - at.min(chars.len()));
                chars.drain(at.min(chars.len())..at.min(chars.len()) + len);
            }
            1 => {
                let piece = PIECES[rng.below(PIECES.len())];
                for (i, c) in piece.chars().enumerate() {
                    chars.insert((at + i).min(chars.len()), c);
                }
            }
            2 if !chars.is_empty() => {
                let i = at.min(chars.len() - 1);
                chars[i] = char::from_u32(rng.below(0x80) as u32).unwrap_or(' ');
            }
            _ => {
                let from = rng.below(chars.len());
                let copy: Vec<char> = chars[from..(from + rng.below(20)).min(chars.len())].to_vec();
                for (i, c) in copy.into_iter().enumerate() {
                    chars.insert((at + i).min(chars.len()), c);
                }
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn garbage_never_panics() {
    let root = tempfile::tempdir().expect("tempdir");
    let mut rng = Lcg(0x5eed);
    let file = Path::new("fuzz");
    for round in 0..1500 {
        let (arc, json) = if round % 5 == 0 {
            // Pure noise as well as mutations of valid manifests.
            let noise: String = (0..rng.below(200))
                .map(|_| PIECES[rng.below(PIECES.len())])
                .collect();
            (noise.clone(), noise)
        } else {
            (mutate(&mut rng, ARC_SEED), mutate(&mut rng, JSON_SEED))
        };
        for (text, is_json) in [(&arc, false), (&json, true)] {
            let result = std::panic::catch_unwind(|| {
                let result = if is_json {
                    parse_json(root.path(), file, text)
                } else {
                    parse_arc(root.path(), file, text)
                };
                // Rendering must not panic either, whatever the error points at.
                if let Err(e) = result {
                    let _ = e.to_string();
                }
            });
            assert!(result.is_ok(), "panicked on input {text:?}");
        }
    }
    // Deep nesting must be refused, not overflow the stack.
    let deep = format!(
        "{{\"app\": {}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(parse_json(root.path(), file, &deep).is_err());
}
