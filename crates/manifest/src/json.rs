//! `sandbox.json`: the manifest as JSON, read into the shared [`Node`] tree.
//!
//! serde_json checks the syntax first (its messages and positions are good); a small
//! scanner then walks the same text again to record the byte range of every key and
//! value, so a later "unknown key" or "out of range" error can point at the exact spot.

use crate::error::{offset_of, DResult, Diag};
use crate::tree::{json_reason, Key, Kind, Node};

/// Deeper nesting than any manifest needs; stops hostile input from exhausting the stack.
const MAX_DEPTH: usize = 64;

pub(crate) fn parse(source: &str) -> DResult<Node> {
    // Some editors start UTF-8 files with a byte-order mark, which JSON forbids.
    let start = if source.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&source[start..]) {
        let at = if start > 0 && e.line() == 1 {
            start + offset_of(&source[start..], 1, e.column())
        } else {
            offset_of(source, e.line(), e.column())
        }
        .min(source.len());
        let end = source[at..]
            .chars()
            .next()
            .map_or(at, |c| at + c.len_utf8());
        return Err(Diag::new(at..end, "invalid JSON", json_reason(&e)));
    }
    let mut scanner = Scanner {
        src: source,
        pos: start,
    };
    let node = scanner.value(0)?;
    Ok(node)
}

struct Scanner<'a> {
    src: &'a str,
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn fail(&self, what: &str) -> Diag {
        let end = (self.pos + 1).min(self.src.len());
        Diag::new(self.pos..end, "invalid JSON", what.to_string())
    }

    fn expect(&mut self, byte: u8) -> DResult<()> {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.fail(&format!("expected `{}`", byte as char)))
        }
    }

    fn value(&mut self, depth: usize) -> DResult<Node> {
        if depth > MAX_DEPTH {
            return Err(self.fail("nested too deeply"));
        }
        self.skip_ws();
        let start = self.pos;
        let kind = match self.peek() {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Kind::Str(self.string()?),
            Some(b't') => self.literal("true", Kind::Bool(true))?,
            Some(b'f') => self.literal("false", Kind::Bool(false))?,
            Some(b'n') => self.literal("null", Kind::Null)?,
            Some(b'-' | b'0'..=b'9') => {
                while matches!(
                    self.peek(),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    self.pos += 1;
                }
                Kind::Num(self.src[start..self.pos].to_string())
            }
            _ => return Err(self.fail("expected a value")),
        };
        Ok(Node {
            kind,
            span: start..self.pos,
        })
    }

    fn literal(&mut self, word: &str, kind: Kind) -> DResult<Kind> {
        if self.src[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(kind)
        } else {
            Err(self.fail("expected a value"))
        }
    }

    fn string(&mut self) -> DResult<String> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.peek() {
                None => return Err(self.fail("unterminated string")),
                Some(b'\\') => self.pos += 2,
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => self.pos += 1,
            }
        }
        let raw = self.src.get(start..self.pos).unwrap_or("\"\"");
        serde_json::from_str::<String>(raw)
            .map_err(|e| Diag::new(start..self.pos, "invalid JSON", json_reason(&e)))
    }

    fn array(&mut self, depth: usize) -> DResult<Kind> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Kind::Arr(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Kind::Arr(items));
                }
                _ => return Err(self.fail("expected `,` or `]`")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> DResult<Kind> {
        self.pos += 1;
        let mut entries: Vec<(Key, Node)> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Kind::Obj(entries));
        }
        loop {
            self.skip_ws();
            let key_start = self.pos;
            if self.peek() != Some(b'"') {
                return Err(self.fail("expected a key"));
            }
            let name = self.string()?;
            let key = Key {
                name,
                span: key_start..self.pos,
            };
            if let Some((first, _)) = entries.iter().find(|(k, _)| k.name == key.name) {
                return Err(Diag::new(
                    key.span.clone(),
                    format!("duplicate key \"{}\"", key.name),
                    "repeated here",
                )
                .related(first.span.clone(), "first given here"));
            }
            self.expect(b':')?;
            let value = self.value(depth + 1)?;
            entries.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Kind::Obj(entries));
                }
                _ => return Err(self.fail("expected `,` or `}`")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_spans_of_keys_and_values() {
        let src = r#"{"app": "demo", "n": [1, true]}"#;
        let node = parse(src).expect("valid");
        let Kind::Obj(entries) = &node.kind else {
            panic!("object")
        };
        assert_eq!(&src[entries[0].0.span.clone()], "\"app\"");
        assert_eq!(&src[entries[0].1.span.clone()], "\"demo\"");
        assert_eq!(&src[entries[1].1.span.clone()], "[1, true]");
    }

    #[test]
    fn rejects_duplicate_keys() {
        let err = parse(r#"{"a": 1, "a": 2}"#).expect_err("duplicate");
        assert!(err.message.contains("duplicate key"));
    }
}
