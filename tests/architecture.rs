//! Keeps the written map true: every crate's sandbox dependencies against the "may use"
//! column of ARCHITECTURE.md, and the README's control-API table against the endpoint
//! list the running sandbox gives in its 404 answer (which comes from the router table).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// `crates/<dir>` → the sandbox crates its row says it may use.
fn allowed() -> Vec<(String, BTreeSet<String>)> {
    read(&root().join("ARCHITECTURE.md"))
        .lines()
        .filter(|line| line.starts_with("| `crates/"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let dir = cells[1]
                .trim_start_matches("`crates/")
                .split('`')
                .next()
                .unwrap()
                .to_string();
            let may_use = cells[3]
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty() && *c != "—")
                .map(str::to_string)
                .collect();
            (dir, may_use)
        })
        .collect()
}

#[test]
fn every_crate_uses_only_what_architecture_md_allows() {
    let rows = allowed();
    assert!(rows.len() >= 10, "the crate table was not found: {rows:?}");
    let mut crates: Vec<String> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    crates.sort();
    for dir in &crates {
        let Some((_, may_use)) = rows.iter().find(|(d, _)| d == dir) else {
            panic!("crates/{dir} has no row in ARCHITECTURE.md's crate table");
        };
        let manifest: toml::Table = read(&root().join("crates").join(dir).join("Cargo.toml"))
            .parse()
            .unwrap();
        let uses: BTreeSet<String> = manifest
            .get("dependencies")
            .and_then(|d| d.as_table())
            .map(|deps| {
                deps.keys()
                    .filter_map(|k| k.strip_prefix("sandbox-"))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let extra: Vec<&String> = uses.difference(may_use).collect();
        assert!(
            extra.is_empty(),
            "crates/{dir} depends on {extra:?}, which ARCHITECTURE.md does not allow it \
             (may use: {may_use:?}); change the dependency or the map"
        );
    }
    for (dir, _) in &rows {
        assert!(
            crates.contains(dir),
            "ARCHITECTURE.md lists crates/{dir}, which does not exist"
        );
    }
}

/// `(METHOD, /_sandbox/path)` without query strings.
fn normalize(method: &str, path: &str) -> (String, String) {
    let path = path.split('?').next().unwrap_or(path);
    (method.to_string(), path.to_string())
}

#[test]
fn the_404_lists_exactly_the_routes_the_readme_documents() {
    let documented: BTreeSet<(String, String)> = read(&root().join("README.md"))
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let method = *cells.get(1)?;
            let path = cells
                .get(2)?
                .strip_prefix("`/_sandbox")?
                .strip_suffix('`')?;
            ["GET", "POST", "DELETE", "PUT"]
                .contains(&method)
                .then(|| normalize(method, &format!("/_sandbox{path}")))
        })
        .collect();
    assert!(
        documented.len() > 20,
        "README's control-API table: {documented:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.arc"), "@app\nlisting\n").unwrap();
    let sandbox = sandbox_testing::Sandbox::builder(dir.path())
        .bin(env!("CARGO_BIN_EXE_sandbox"))
        .start()
        .unwrap();
    let answer = sandbox.get("/_sandbox/nope").unwrap();
    assert_eq!(answer.status, 404);
    let listed: BTreeSet<(String, String)> = answer.json().unwrap()["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let text = e.as_str().unwrap();
            let (method, rest) = text.split_once(' ').unwrap();
            normalize(method, rest.split(' ').next().unwrap())
        })
        .collect();
    let undocumented: Vec<_> = listed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&listed).collect();
    assert!(
        undocumented.is_empty(),
        "routed but not in README: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "in README but not routed: {unrouted:?}"
    );
}
