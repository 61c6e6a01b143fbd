//! The static folder (`public/` by default): the fallback for GET and HEAD requests
//! that no route matched, as Architect serves it.
//!
//! `/` and directories serve their `index.html`. The request path is percent-decoded
//! and then confined to the folder twice over: segments that could climb out (`..`,
//! backslashes, drive prefixes, NUL) are refused before touching the disk, and the
//! resolved file is canonicalized and must still lie inside the canonical folder, so
//! a symlink pointing elsewhere is not followed out.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::Response;
use percent_encoding::percent_decode_str;

/// Looks `request_path` (the URI path, percent-encoded) up under `root`. `None` means
/// "not here", and the caller answers 404 like any other miss.
///
/// The few file-system calls run together in one blocking task rather than one
/// `tokio::fs` hop each, which halves the latency of a small file.
pub async fn lookup(root: &Path, request_path: &str) -> Option<Response<Bytes>> {
    let relative = safe_relative_path(request_path)?;
    let root = root.to_path_buf();
    tokio::task::spawn_blocking(move || read_confined(&root, &relative))
        .await
        .ok()
        .flatten()
}

/// Reads `root/relative` (or its `index.html`) if it resolves inside `root`.
fn read_confined(root: &Path, relative: &Path) -> Option<Response<Bytes>> {
    let canonical_root = std::fs::canonicalize(root).ok()?;
    let mut candidate = canonical_root.join(relative);
    if std::fs::metadata(&candidate).ok()?.is_dir() {
        candidate.push("index.html");
    }
    let resolved = std::fs::canonicalize(&candidate).ok()?;
    if !resolved.starts_with(&canonical_root) || !std::fs::metadata(&resolved).ok()?.is_file() {
        return None;
    }
    let contents = std::fs::read(&resolved).ok()?;
    let mut response = Response::new(Bytes::from(contents));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, content_type(&resolved));
    Some(response)
}

/// The decoded request path as a relative path of plain segments, or `None` when it
/// tries to leave the folder (or cannot be a file name at all).
fn safe_relative_path(request_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode_str(request_path).decode_utf8().ok()?;
    if decoded.contains(['\\', '\0']) {
        return None;
    }
    let mut relative = PathBuf::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => continue,
            ".." => return None,
            // A drive prefix (`C:`) would make `join` replace the root on Windows.
            s if s.contains(':') && cfg!(windows) => return None,
            s => relative.push(s),
        }
    }
    // `push` of a segment never yields an absolute path since segments hold no `/`,
    // but keep the invariant explicit.
    if relative.is_absolute() || relative.has_root() {
        return None;
    }
    Some(relative)
}

fn content_type(path: &Path) -> HeaderValue {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let essence = mime.essence_str();
    let textual = mime.type_() == mime_guess::mime::TEXT
        || matches!(
            essence,
            "application/javascript" | "application/json" | "image/svg+xml"
        );
    let value = if textual {
        format!("{essence}; charset=utf-8")
    } else {
        essence.to_string()
    };
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Site {
        _dir: tempfile::TempDir,
        root: PathBuf,
        outside: PathBuf,
    }

    fn site() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("public");
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::create_dir_all(root.join("empty")).unwrap();
        std::fs::write(root.join("index.html"), "<h1>home</h1>").unwrap();
        std::fs::write(root.join("docs/index.html"), "<h1>docs</h1>").unwrap();
        std::fs::write(root.join("app.js"), "console.log(1)").unwrap();
        std::fs::write(root.join("logo.png"), [0x89, b'P', b'N', b'G']).unwrap();
        std::fs::write(root.join("a b.txt"), "spaced").unwrap();
        std::fs::write(root.join("data.unknownext"), "?").unwrap();
        let outside = dir.path().join("secret.txt");
        std::fs::write(&outside, "secret").unwrap();
        Site {
            _dir: dir,
            root,
            outside,
        }
    }

    async fn get(site: &Site, path: &str) -> Option<(String, Vec<u8>)> {
        lookup(&site.root, path).await.map(|response| {
            (
                response.headers()[CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .to_string(),
                response.body().to_vec(),
            )
        })
    }

    #[tokio::test]
    async fn serves_files_and_index_pages() {
        let site = site();
        assert_eq!(
            get(&site, "/").await,
            Some(("text/html; charset=utf-8".into(), b"<h1>home</h1>".to_vec()))
        );
        assert_eq!(
            get(&site, "/docs").await.map(|r| r.1),
            Some(b"<h1>docs</h1>".to_vec())
        );
        assert_eq!(
            get(&site, "/docs/").await.map(|r| r.1),
            Some(b"<h1>docs</h1>".to_vec())
        );
        assert_eq!(
            get(&site, "/app.js").await.map(|r| r.0).as_deref(),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(
            get(&site, "/logo.png").await.map(|r| r.0).as_deref(),
            Some("image/png")
        );
        assert_eq!(
            get(&site, "/a%20b.txt").await.map(|r| r.1),
            Some(b"spaced".to_vec())
        );
        assert_eq!(
            get(&site, "/data.unknownext").await.map(|r| r.0).as_deref(),
            Some("application/octet-stream")
        );
        assert_eq!(
            get(&site, "/.//./app.js").await.map(|r| r.1),
            Some(b"console.log(1)".to_vec())
        );
    }

    #[tokio::test]
    async fn misses_are_none() {
        let site = site();
        assert_eq!(get(&site, "/nope.html").await, None);
        assert_eq!(get(&site, "/empty").await, None);
        assert_eq!(get(&site, "/app.js/x").await, None);
        let missing_root = Path::new("/definitely/not/here");
        assert!(lookup(missing_root, "/").await.is_none());
    }

    #[tokio::test]
    async fn traversal_attempts_are_refused() {
        let site = site();
        for path in [
            "/../secret.txt",
            "/docs/../../secret.txt",
            "/%2e%2e/secret.txt",
            "/%2E%2E/secret.txt",
            "/docs/%2e%2e/%2e%2e/secret.txt",
            "/..%2fsecret.txt",
            "/..%5csecret.txt",
            "/docs\\..\\..\\secret.txt",
            "/%2fetc/passwd",
            "//etc/passwd",
            "/%00index.html",
            "/%ff",
        ] {
            assert_eq!(get(&site, path).await, None, "{path}");
        }
        // The path of the secret itself, made absolute, does not escape either.
        let absolute = format!("/{}", site.outside.display());
        assert_eq!(get(&site, &absolute).await, None);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn symlinks_out_of_the_folder_are_refused() {
        let site = site();
        std::os::unix::fs::symlink(&site.outside, site.root.join("link.txt")).unwrap();
        std::os::unix::fs::symlink(site.outside.parent().unwrap(), site.root.join("up")).unwrap();
        std::os::unix::fs::symlink(site.root.join("app.js"), site.root.join("inside.js")).unwrap();
        assert_eq!(get(&site, "/link.txt").await, None);
        assert_eq!(get(&site, "/up/secret.txt").await, None);
        assert_eq!(
            get(&site, "/inside.js").await.map(|r| r.1),
            Some(b"console.log(1)".to_vec())
        );
    }
}
