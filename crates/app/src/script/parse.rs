//! Reading one JavaScript or TypeScript file on the host: parse it (a syntax error is
//! reported here, located, rather than at the first request), strip TypeScript's types,
//! decide whether it is an ES module or CommonJS, and list the modules it asks for.
//!
//! TypeScript goes through oxc's transformer with only type stripping (no syntax
//! lowering: QuickJS runs modern JavaScript) and its code generator; the source map
//! becomes a per-line table so stack traces name the `.ts` file's own lines.

use std::path::Path;

use oxc::allocator::Allocator;
use oxc::ast::ast::{Argument, CallExpression, Expression, ImportExpression};
use oxc::ast_visit::{walk, Visit};
use oxc::codegen::{Codegen, CodegenOptions};
use oxc::parser::{ParseOptions, Parser};
use oxc::semantic::SemanticBuilder;
use oxc::span::SourceType;
use oxc::transformer::{TransformOptions, Transformer};

/// How the runner evaluates a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Esm,
    CommonJs,
    Json,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Esm => "esm",
            Kind::CommonJs => "cjs",
            Kind::Json => "json",
        }
    }
}

/// A module ready for the runner.
#[derive(Debug)]
pub struct Parsed {
    pub kind: Kind,
    /// What the runner evaluates (the file itself, or the type-stripped code).
    pub code: String,
    /// Each string-literal specifier of `import`, `export … from`, `import()` and
    /// `require()`, with the byte offset where it appears.
    pub requests: Vec<(String, u32)>,
    /// For TypeScript: generated line (index) → the `.ts` line (1-based).
    pub lines: Option<Vec<u32>>,
}

/// Why a file cannot be used, with the offset of the problem in its text.
#[derive(Debug)]
pub struct SyntaxError {
    pub message: String,
    pub offset: u32,
    pub help: Option<String>,
}

pub fn is_typescript(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("ts" | "mts" | "cts")
    )
}

pub fn parse(path: &Path, text: &str) -> Result<Parsed, SyntaxError> {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("js");
    if extension == "json" {
        return match serde_json::from_str::<serde_json::Value>(text) {
            Ok(_) => Ok(Parsed {
                kind: Kind::Json,
                code: text.to_string(),
                requests: Vec::new(),
                lines: None,
            }),
            Err(e) => Err(SyntaxError {
                offset: offset_of(text, e.line(), e.column()),
                message: format!("invalid JSON: {e}"),
                help: None,
            }),
        };
    }
    let typescript = is_typescript(path);
    let forced = match extension {
        "mjs" | "mts" => Some(Kind::Esm),
        "cjs" | "cts" => Some(Kind::CommonJs),
        _ => None,
    };
    let source_type = if typescript {
        SourceType::ts()
    } else {
        SourceType::mjs()
    };
    let source_type = match forced {
        Some(Kind::CommonJs) => source_type.with_script(true),
        Some(_) => source_type.with_module(true),
        None => source_type.with_unambiguous(true),
    };
    let allocator = Allocator::default();
    let options = ParseOptions {
        // CommonJS modules are function bodies in Node: a top-level `return` is fine.
        allow_return_outside_function: forced != Some(Kind::Esm),
        ..ParseOptions::default()
    };
    let parsed = Parser::new(&allocator, text, source_type)
        .with_options(options)
        .parse();
    if let Some(error) = parsed.diagnostics.errors().next() {
        return Err(located(error));
    }
    let kind = forced.unwrap_or(if parsed.module_record.has_module_syntax {
        Kind::Esm
    } else {
        Kind::CommonJs
    });
    let mut program = parsed.program;
    let (code, lines) = if typescript {
        let scoping = SemanticBuilder::new()
            // `enum` members are evaluated when the transformer compiles them.
            .with_enum_eval(true)
            .build(&program)
            .semantic
            .into_scoping();
        let options = TransformOptions::default();
        let transformed =
            Transformer::new(&allocator, path, &options).build_with_scoping(scoping, &mut program);
        if let Some(error) = transformed.diagnostics.errors().next() {
            return Err(located(error));
        }
        let generated = Codegen::new()
            .with_options(CodegenOptions {
                source_map_path: Some(path.to_path_buf()),
                ..CodegenOptions::default()
            })
            .build(&program);
        let lines = generated.map.as_ref().map(|map| {
            let line_count = generated.code.lines().count() + 1;
            let mut lines = vec![0u32; line_count];
            for token in map.get_tokens() {
                let slot = &mut lines[(token.get_dst_line() as usize).min(line_count - 1)];
                if *slot == 0 {
                    *slot = token.get_src_line() + 1;
                }
            }
            // Lines with no token of their own take the previous line's.
            for i in 1..lines.len() {
                if lines[i] == 0 {
                    lines[i] = lines[i - 1];
                }
            }
            lines
        });
        (generated.code, lines)
    } else {
        (text.to_string(), None)
    };
    let mut requests = Requests::default();
    requests.visit_program(&program);
    Ok(Parsed {
        kind,
        code,
        requests: requests.0,
        lines,
    })
}

fn located(error: &oxc::diagnostics::OxcDiagnostic) -> SyntaxError {
    SyntaxError {
        message: error.message.to_string(),
        offset: error
            .labels
            .first()
            .map(|label| label.offset())
            .unwrap_or(0),
        help: error.help.as_ref().map(|h| h.to_string()),
    }
}

/// The byte offset of a 1-based line and column.
fn offset_of(text: &str, line: usize, column: usize) -> u32 {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (start + column.saturating_sub(1)) as u32
}

/// Collects module requests. Only string literals count: a computed `require(name)`
/// cannot be resolved ahead of time and fails when it runs, naming the module.
#[derive(Default)]
struct Requests(Vec<(String, u32)>);

impl<'a> Visit<'a> for Requests {
    fn visit_import_declaration(&mut self, it: &oxc::ast::ast::ImportDeclaration<'a>) {
        self.0
            .push((it.source.value.to_string(), it.source.span.start));
    }

    fn visit_export_from_declaration(&mut self, it: &oxc::ast::ast::ExportFromDeclaration<'a>) {
        self.0
            .push((it.source.value.to_string(), it.source.span.start));
    }

    fn visit_export_all_declaration(&mut self, it: &oxc::ast::ast::ExportAllDeclaration<'a>) {
        self.0
            .push((it.source.value.to_string(), it.source.span.start));
    }

    fn visit_import_expression(&mut self, it: &ImportExpression<'a>) {
        if let Expression::StringLiteral(s) = &it.source {
            self.0.push((s.value.to_string(), s.span.start));
        }
        walk::walk_import_expression(self, it);
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        let is_require = matches!(&it.callee, Expression::Identifier(id) if id.name == "require");
        if is_require && it.arguments.len() == 1 {
            if let Argument::StringLiteral(s) = &it.arguments[0] {
                self.0.push((s.value.to_string(), s.span.start));
            }
        }
        walk::walk_call_expression(self, it);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commonjs_and_its_requires() {
        let parsed = parse(
            Path::new("index.js"),
            "let arc = require('@architect/functions')\nexports.handler = async () => require('./x.json')\n",
        )
        .unwrap();
        assert_eq!(parsed.kind, Kind::CommonJs);
        let names: Vec<&str> = parsed.requests.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(names, ["@architect/functions", "./x.json"]);
    }

    #[test]
    fn module_syntax_makes_an_es_module() {
        let parsed = parse(
            Path::new("index.js"),
            "import a from './a.js'\nexport { b } from './b.js'\nexport const handler = () => import('./c.js')\n",
        )
        .unwrap();
        assert_eq!(parsed.kind, Kind::Esm);
        let names: Vec<&str> = parsed.requests.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(names, ["./a.js", "./b.js", "./c.js"]);
    }

    #[test]
    fn typescript_types_disappear_and_lines_map_back() {
        let source = "import { SQSEvent } from \"aws-lambda\";\n\ninterface Extra {\n  a: number;\n}\n\nexport async function handler(event: SQSEvent) {\n  const records: any[] = event.Records;\n  throw new Error(`x ${records.length}`);\n}\n";
        let parsed = parse(Path::new("consumer.ts"), source).unwrap();
        assert_eq!(parsed.kind, Kind::Esm);
        assert!(parsed.requests.is_empty(), "{:?}", parsed.requests);
        assert!(!parsed.code.contains("SQSEvent"), "{}", parsed.code);
        assert!(!parsed.code.contains("interface"));
        let lines = parsed.lines.unwrap();
        let throw_line = parsed
            .code
            .lines()
            .position(|l| l.contains("throw"))
            .unwrap();
        assert_eq!(lines[throw_line], 9);
    }

    #[test]
    fn syntax_errors_are_located() {
        let error = parse(Path::new("index.js"), "exports.handler = (\n").unwrap_err();
        assert!(error.offset > 0, "{error:?}");
        let error = parse(Path::new("data.json"), "{\n  \"a\": ,\n}").unwrap_err();
        assert_eq!(error.offset, 9);
    }
}
