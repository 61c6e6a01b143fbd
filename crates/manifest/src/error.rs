//! Manifest errors, rendered the way rustc renders compile errors.
//!
//! Validation code produces a [`Diag`] (a byte range in the manifest text plus the
//! words for a person); [`Diag::into_error`] pins it to a file and turns the byte
//! offsets into the line and column a person looks for. Rendering goes through
//! `codespan-reporting` without colour so the text is stable enough to compare in
//! tests and to print to any terminal or log.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor::NoColor};

/// A manifest that could not be read or is invalid.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestError {
    pub file: PathBuf,
    /// 1-based; 0 when the error is not about a place in a file (e.g. no manifest).
    pub line: u32,
    /// 1-based, counted in characters.
    pub column: u32,
    pub message: String,
    pub help: Option<String>,
    /// The text the error points at, when it points somewhere (boxed: errors travel
    /// in `Result`s and should stay small).
    pub snippet: Option<Box<Snippet>>,
}

/// Where in the manifest text an error is, for rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct Snippet {
    /// The whole manifest text.
    pub source: String,
    /// Byte range of the offending text in `source`.
    pub range: Range<usize>,
    /// Short text printed under the highlighted range.
    pub label: String,
    /// Other places worth showing, e.g. where a duplicate was first declared.
    pub related: Vec<(Range<usize>, String)>,
}

impl ManifestError {
    /// An error about a file as a whole (missing, unreadable), with no position.
    pub fn file_level(file: &Path, message: impl Into<String>, help: Option<String>) -> Self {
        ManifestError {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message: message.into(),
            help,
            snippet: None,
        }
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(snippet) = &self.snippet else {
            write!(f, "error: {}\n  ┌─ {}", self.message, self.file.display())?;
            if let Some(help) = &self.help {
                write!(f, "\n  │\n  = help: {}", help.replace('\n', "\n    "))?;
            }
            return Ok(());
        };
        let source = &snippet.source;
        let file = SimpleFile::new(self.file.display().to_string(), source.as_str());
        let clamp = |r: &Range<usize>| {
            let end = ceil_boundary(source, r.end);
            floor_boundary(source, r.start.min(end))..end
        };
        let mut labels =
            vec![Label::primary((), clamp(&snippet.range)).with_message(snippet.label.clone())];
        labels.extend(
            snippet
                .related
                .iter()
                .map(|(r, m)| Label::secondary((), clamp(r)).with_message(m.clone())),
        );
        let mut diagnostic = Diagnostic::error()
            .with_message(self.message.clone())
            .with_labels(labels);
        if let Some(help) = &self.help {
            diagnostic = diagnostic.with_notes(vec![format!("help: {help}")]);
        }
        let mut out = NoColor::new(Vec::new());
        if term::emit(&mut out, &term::Config::default(), &file, &diagnostic).is_err() {
            // The ranges are clamped above, so this only happens if codespan itself
            // gives up; a plain message is still better than nothing.
            return write!(
                f,
                "error: {}\n  --> {}:{}:{}",
                self.message,
                self.file.display(),
                self.line,
                self.column
            );
        }
        // No trailing blank line, so `eprintln!("{error}")` prints it cleanly.
        f.write_str(String::from_utf8_lossy(&out.into_inner()).trim_end())
    }
}

impl std::error::Error for ManifestError {}

/// A validation failure before it is pinned to a file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Diag {
    pub range: Range<usize>,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
    pub related: Vec<(Range<usize>, String)>,
}

impl Diag {
    pub fn new(range: Range<usize>, message: impl Into<String>, label: impl Into<String>) -> Self {
        Diag {
            range,
            message: message.into(),
            label: label.into(),
            help: None,
            related: Vec::new(),
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn maybe_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    pub fn related(mut self, range: Range<usize>, message: impl Into<String>) -> Self {
        self.related.push((range, message.into()));
        self
    }

    pub fn into_error(self, file: &Path, source: &str) -> ManifestError {
        let (line, column) = line_column(source, self.range.start);
        ManifestError {
            file: file.to_path_buf(),
            line,
            column,
            message: self.message,
            help: self.help,
            snippet: Some(Box::new(Snippet {
                source: source.to_string(),
                range: self.range,
                label: self.label,
                related: self.related,
            })),
        }
    }
}

pub(crate) type DResult<T> = Result<T, Diag>;

/// 1-based line and character column of a byte offset.
pub(crate) fn line_column(source: &str, offset: usize) -> (u32, u32) {
    let offset = floor_boundary(source, offset);
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = source[line_start..offset].chars().count() + 1;
    (to_u32(line), to_u32(column))
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Byte offset of a 1-based line and column as serde_json reports them (the column
/// counts bytes), kept on a character boundary.
pub(crate) fn offset_of(source: &str, line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match source[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return source.len(),
        }
    }
    let line_len = source[start..].find('\n').unwrap_or(source.len() - start);
    floor_boundary(source, start + column.saturating_sub(1).min(line_len))
}

/// The nearest character boundary at or before `offset`.
pub(crate) fn floor_boundary(source: &str, offset: usize) -> usize {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The nearest character boundary at or after `offset`.
fn ceil_boundary(source: &str, offset: usize) -> usize {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset += 1;
    }
    offset
}
