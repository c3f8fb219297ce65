//! `json` output: cargo's `--message-format=json` stream, one `compiler-message` line per
//! finding whose `message` is rustc's diagnostic JSON, then a `build-finished` line.
//!
//! Editors and `rustfix` read this stream unchanged: spans carry byte offsets into the file,
//! 1-based character columns, every covered source line, and suggestions as `help` children
//! whose spans carry `suggested_replacement`.

use std::path::{Path, PathBuf};

use lockstep_analyzer::diag::Suggestion;
use lockstep_analyzer::{Diagnostic, Label, SourceDb, SourceFile, Span};
use serde::Serialize;

use crate::render::RenderOptions;
use crate::report::Report;
use crate::unit::Unit;

/// One line of cargo's JSON stream for a finding.
#[derive(Serialize, Debug)]
pub struct CompilerMessage {
    pub reason: &'static str,
    pub package_id: String,
    pub manifest_path: String,
    pub target: Target,
    pub message: RustcDiagnostic,
}

/// cargo's description of the target a message belongs to.
#[derive(Serialize, Debug)]
pub struct Target {
    pub kind: Vec<String>,
    pub crate_types: Vec<String>,
    pub name: String,
    pub src_path: String,
    pub edition: String,
    pub doc: bool,
    pub doctest: bool,
    pub test: bool,
}

/// rustc's JSON diagnostic. Children carry no `$message_type`, as rustc writes them.
#[derive(Serialize, Debug)]
pub struct RustcDiagnostic {
    #[serde(rename = "$message_type", skip_serializing_if = "Option::is_none")]
    pub message_type: Option<&'static str>,
    pub message: String,
    pub code: Option<Code>,
    pub level: &'static str,
    pub spans: Vec<RustcSpan>,
    pub children: Vec<RustcDiagnostic>,
    pub rendered: Option<String>,
}

#[derive(Serialize, Debug)]
pub struct Code {
    pub code: String,
    pub explanation: Option<String>,
}

#[derive(Serialize, Debug)]
pub struct RustcSpan {
    pub file_name: String,
    pub byte_start: u32,
    pub byte_end: u32,
    pub line_start: u32,
    pub line_end: u32,
    pub column_start: u32,
    pub column_end: u32,
    pub is_primary: bool,
    pub text: Vec<SpanLine>,
    pub label: Option<String>,
    pub suggested_replacement: Option<String>,
    pub suggestion_applicability: Option<&'static str>,
    /// Always `null`: the analyzer reads source text and sees no macro expansions.
    pub expansion: Option<()>,
}

#[derive(Serialize, Debug)]
pub struct SpanLine {
    pub text: String,
    pub highlight_start: u32,
    pub highlight_end: u32,
}

#[derive(Serialize, Debug)]
struct BuildFinished {
    reason: &'static str,
    success: bool,
}

pub fn render(
    report: &Report,
    opts: &RenderOptions,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let root = root_of(report, opts);
    for d in &report.diagnostics {
        let msg = compiler_message(report, &root, d);
        serde_json::to_writer(&mut *out, &msg)?;
        out.write_all(b"\n")?;
    }
    let done = BuildFinished {
        reason: "build-finished",
        success: success(report),
    };
    serde_json::to_writer(&mut *out, &done)?;
    out.write_all(b"\n")
}

/// Whether the run passes: no deny-level finding.
pub fn success(report: &Report) -> bool {
    !report
        .diagnostics
        .iter()
        .any(|d| d.level == lockstep_analyzer::Level::Deny)
}

pub(crate) fn root_of(report: &Report, opts: &RenderOptions) -> PathBuf {
    if opts.root.as_os_str().is_empty() {
        report.root.clone()
    } else {
        opts.root.clone()
    }
}

/// The cargo unit a file was loaded for, if the run knows it.
pub(crate) fn unit_of<'a>(report: &'a Report, file: &SourceFile) -> Option<&'a Unit> {
    let i = *report.file_units.get(file.id.0 as usize)?;
    report.units.get(i)
}

fn path_string(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The `compiler-message` line of one finding.
pub fn compiler_message(report: &Report, root: &Path, d: &Diagnostic) -> CompilerMessage {
    let file = report.db.get(d.primary.span.file);
    let (package_id, manifest_path, target) = match unit_of(report, file) {
        Some(u) => (
            u.package_id.clone(),
            path_string(&u.manifest_path),
            target_of(u),
        ),
        None => synthesized_unit(root, file),
    };
    CompilerMessage {
        reason: "compiler-message",
        package_id,
        manifest_path,
        target,
        message: rustc_diagnostic(&report.db, d),
    }
}

fn target_of(u: &Unit) -> Target {
    let has = |k: &str| u.target_kind.iter().any(|t| t == k);
    let lib_like = u.target_kind.iter().any(|k| {
        matches!(
            k.as_str(),
            "lib" | "rlib" | "dylib" | "staticlib" | "cdylib"
        )
    });
    let crate_types = if u.crate_types.is_empty() {
        if lib_like {
            vec!["lib".to_string()]
        } else {
            vec!["bin".to_string()]
        }
    } else {
        u.crate_types.clone()
    };
    Target {
        kind: u.target_kind.clone(),
        crate_types,
        name: u.target_name.clone(),
        src_path: path_string(&u.src_path),
        edition: u.edition.as_str().to_string(),
        doc: lib_like || has("bin"),
        doctest: lib_like,
        test: !has("example") && !has("bench") && !has("custom-build"),
    }
}

/// Paths mode has no cargo package: describe the analyzed directory as a library target.
fn synthesized_unit(root: &Path, file: &SourceFile) -> (String, String, Target) {
    let name = file.crate_name.clone();
    let package_id = format!("path+file://{}#{}@0.0.0", path_string(root), name);
    let manifest_path = path_string(&root.join("Cargo.toml"));
    let src_path = if Path::new(&file.path).is_absolute() {
        file.path.clone()
    } else {
        path_string(&root.join(&file.path))
    };
    let target = Target {
        kind: vec!["lib".to_string()],
        crate_types: vec!["lib".to_string()],
        name,
        src_path,
        edition: file.edition.as_str().to_string(),
        doc: true,
        doctest: true,
        test: true,
    };
    (package_id, manifest_path, target)
}

/// rustc's JSON diagnostic for a finding: the primary span plus every secondary site as a
/// non-primary labelled span; notes, help and suggestions as children.
pub fn rustc_diagnostic(db: &SourceDb, d: &Diagnostic) -> RustcDiagnostic {
    let mut spans = vec![label_span(db, &d.primary, true)];
    spans.extend(d.labels.iter().map(|l| label_span(db, l, false)));
    let mut children: Vec<RustcDiagnostic> = d.notes.iter().map(|n| child("note", n)).collect();
    if let Some(h) = &d.help {
        children.push(child("help", h));
    }
    children.extend(d.suggestions.iter().map(|s| suggestion_child(db, s)));
    let explanation = lockstep_lints::find_meta(d.lint).map(|m| m.docs_text());
    RustcDiagnostic {
        message_type: Some("diagnostic"),
        message: d.message.clone(),
        code: Some(Code {
            code: crate::render::code(d.lint),
            explanation,
        }),
        level: d.level.rustc_word(),
        spans,
        children,
        rendered: Some(crate::render::human::render_diagnostic(db, d, false, 100)),
    }
}

fn child(level: &'static str, message: &str) -> RustcDiagnostic {
    RustcDiagnostic {
        message_type: None,
        message: message.to_string(),
        code: None,
        level,
        spans: Vec::new(),
        children: Vec::new(),
        rendered: None,
    }
}

fn suggestion_child(db: &SourceDb, s: &Suggestion) -> RustcDiagnostic {
    let mut c = child("help", &s.message);
    c.spans = s
        .edits
        .iter()
        .map(|e| {
            let mut sp = span_json(db, e.span, true, None);
            sp.suggested_replacement = Some(e.replacement.clone());
            sp.suggestion_applicability = Some(s.applicability.as_str());
            sp
        })
        .collect();
    c
}

fn label_span(db: &SourceDb, l: &Label, primary: bool) -> RustcSpan {
    let label = (!l.message.is_empty()).then(|| l.message.clone());
    span_json(db, l.span, primary, label)
}

/// A span as rustc writes it: byte offsets into the file, 1-based lines and character
/// columns (end exclusive), and every source line the span touches. Byte offsets count a BOM;
/// columns and line texts do not, as rustc strips it before counting.
pub fn span_json(db: &SourceDb, span: Span, is_primary: bool, label: Option<String>) -> RustcSpan {
    let f = db.get(span.file);
    let start = floor_char_boundary(&f.text, span.start);
    let end = floor_char_boundary(&f.text, span.end).max(start);
    let s = display_line_col(f, start);
    let e = display_line_col(f, end);
    let text = (s.line..=e.line)
        .map(|line| {
            let t = display_line(f, line);
            let hs = if line == s.line { s.col } else { 1 };
            let he = if line == e.line {
                e.col
            } else {
                t.chars().count() as u32 + 1
            };
            SpanLine {
                text: t.to_string(),
                highlight_start: hs,
                highlight_end: he,
            }
        })
        .collect();
    RustcSpan {
        file_name: f.path.clone(),
        byte_start: start,
        byte_end: end,
        line_start: s.line,
        line_end: e.line,
        column_start: s.col,
        column_end: e.col,
        is_primary,
        text,
        label,
        suggested_replacement: None,
        suggestion_applicability: None,
        expansion: None,
    }
}

/// Line and character column as editors show them: a BOM is not a column of line 1.
pub(crate) fn display_line_col(f: &SourceFile, offset: u32) -> lockstep_analyzer::source::LineCol {
    let mut lc = f.line_col(offset);
    if lc.line == 1 && f.text.starts_with('\u{feff}') && lc.col > 1 {
        lc.col -= 1;
    }
    lc
}

/// A line's text without its terminator, and without a BOM on line 1.
pub(crate) fn display_line(f: &SourceFile, line: u32) -> &str {
    let t = f.line_text(line);
    if line == 1 {
        t.strip_prefix('\u{feff}').unwrap_or(t)
    } else {
        t
    }
}

/// The offset clamped to the text and moved back to a character boundary.
pub(crate) fn floor_char_boundary(text: &str, offset: u32) -> u32 {
    let mut i = (offset as usize).min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i as u32
}
