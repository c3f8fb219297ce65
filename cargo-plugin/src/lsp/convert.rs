//! A run's findings as LSP data: positions in the client's encoding, diagnostics with their
//! labelled sites as related information, quick fixes, and hover text.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use lockstep_analyzer::diag::{Applicability, Suggestion};
use lockstep_analyzer::{Diagnostic, Level, SourceDb, SourceFile, Span};
use lsp_types::{
    ClientCapabilities, CodeAction, CodeActionKind, DiagnosticRelatedInformation,
    DiagnosticSeverity, Location, NumberOrString, Position, PositionEncodingKind, Range, TextEdit,
    Uri, WorkspaceEdit,
};

/// How a position's `character` counts: UTF-16 code units (the protocol's default) or bytes
/// (when the client offers `utf-8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

impl Encoding {
    /// UTF-8 when the client offers it, else the default UTF-16.
    pub fn negotiate(caps: &ClientCapabilities) -> Encoding {
        let offered = caps
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_ref());
        match offered {
            Some(kinds) if kinds.contains(&PositionEncodingKind::UTF8) => Encoding::Utf8,
            _ => Encoding::Utf16,
        }
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }
    }
}

/// The position of a byte offset of `file`: 0-based line, and the column in `enc` units.
pub fn position(file: &SourceFile, offset: u32, enc: Encoding) -> Position {
    let line = file.line_col(offset).line;
    let start = file.line_start(line);
    let before = file.snippet(Span::new(file.id, start, offset));
    let character = match enc {
        Encoding::Utf8 => before.len(),
        Encoding::Utf16 => before.encode_utf16().count(),
    };
    Position::new(line - 1, character as u32)
}

pub fn range(db: &SourceDb, span: Span, enc: Encoding) -> Range {
    let file = db.get(span.file);
    Range::new(
        position(file, span.start, enc),
        position(file, span.end, enc),
    )
}

/// `file:` URI of a path.
pub fn uri(path: &Path) -> Option<Uri> {
    Uri::from_str(&crate::paths::file_uri(&path.to_string_lossy())).ok()
}

/// The key a file is known by: its canonical path (a client and the analysis may reach the
/// same file through different links), or the path itself when it cannot be resolved.
pub fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// One finding as the server keeps it: the diagnostic it published and what a client can
/// ask about it.
#[derive(Clone, Debug)]
pub struct Finding {
    pub diagnostic: lsp_types::Diagnostic,
    pub lint: &'static str,
    pub level: Level,
    pub notes: Vec<String>,
    pub help: Option<String>,
    /// Quick fixes: the finding's suggestions, then an allow comment.
    pub fixes: Vec<Fix>,
}

/// A quick fix: edits by canonical path.
#[derive(Clone, Debug)]
pub struct Fix {
    pub title: String,
    pub edits: Vec<(PathBuf, TextEdit)>,
    pub preferred: bool,
}

/// The findings of one run, by the canonical path of the file they are reported in.
pub type Snapshot = BTreeMap<PathBuf, Vec<Finding>>;

/// Every finding of a run (in the run's order) keyed by file.
pub fn snapshot(root: &Path, db: &SourceDb, diags: &[Diagnostic], enc: Encoding) -> Snapshot {
    let mut paths: HashMap<u32, PathBuf> = HashMap::new();
    let mut path_of = |span: Span| {
        paths
            .entry(span.file.0)
            .or_insert_with(|| canonical(&root.join(&db.get(span.file).path)))
            .clone()
    };
    let mut out = Snapshot::new();
    for d in diags {
        let path = path_of(d.primary.span);
        let finding = finding(db, d, enc, &mut path_of);
        out.entry(path).or_default().push(finding);
    }
    out
}

fn finding(
    db: &SourceDb,
    d: &Diagnostic,
    enc: Encoding,
    path_of: &mut dyn FnMut(Span) -> PathBuf,
) -> Finding {
    let primary = range(db, d.primary.span, enc);
    let mut related = Vec::new();
    let primary_label = (!d.primary.message.is_empty()).then_some(&d.primary);
    for l in primary_label.into_iter().chain(&d.labels) {
        if let Some(uri) = uri(&path_of(l.span)) {
            related.push(DiagnosticRelatedInformation {
                location: Location::new(uri, range(db, l.span, enc)),
                message: l.message.clone(),
            });
        }
    }
    let diagnostic = lsp_types::Diagnostic {
        range: primary,
        severity: Some(severity(d.level)),
        // as rust-analyzer shows tool lints: the tool as the source, the bare name as the code
        code: Some(NumberOrString::String(d.lint.to_string())),
        source: Some("lockstep".to_string()),
        message: d.message.clone(),
        related_information: (!related.is_empty()).then_some(related),
        ..Default::default()
    };
    let mut fixes: Vec<Fix> = d
        .suggestions
        .iter()
        .filter_map(|s| suggestion_fix(db, s, enc, path_of))
        .collect();
    if let Some(f) = allow_fix(db, d, path_of) {
        fixes.push(f);
    }
    Finding {
        diagnostic,
        lint: d.lint,
        level: d.level,
        notes: d.notes.clone(),
        help: d.help.clone(),
        fixes,
    }
}

fn severity(level: Level) -> DiagnosticSeverity {
    match level {
        Level::Deny => DiagnosticSeverity::ERROR,
        Level::Warn => DiagnosticSeverity::WARNING,
        Level::Note | Level::Allow => DiagnosticSeverity::INFORMATION,
    }
}

/// A suggestion as a quick fix: machine-applicable ones are preferred, those that may be
/// incorrect are offered too; one with placeholders is not an edit a client can apply.
fn suggestion_fix(
    db: &SourceDb,
    s: &Suggestion,
    enc: Encoding,
    path_of: &mut dyn FnMut(Span) -> PathBuf,
) -> Option<Fix> {
    let preferred = match s.applicability {
        Applicability::MachineApplicable => true,
        Applicability::MaybeIncorrect => false,
        Applicability::HasPlaceholders | Applicability::Unspecified => return None,
    };
    if s.edits.is_empty() {
        return None;
    }
    let edits = s
        .edits
        .iter()
        .map(|e| {
            let edit = TextEdit::new(range(db, e.span, enc), e.replacement.clone());
            (path_of(e.span), edit)
        })
        .collect();
    Some(Fix {
        title: s.message.clone(),
        edits,
        preferred,
    })
}

/// `// lockstep: allow(lint)` on a line of its own above the finding's line, indented like
/// it: it covers that line (and the item that starts there, if one does).
fn allow_fix(
    db: &SourceDb,
    d: &Diagnostic,
    path_of: &mut dyn FnMut(Span) -> PathBuf,
) -> Option<Fix> {
    if d.lint == lockstep_analyzer::diag::ids::PARSE_ERROR {
        return None;
    }
    let file = db.get(d.primary.span.file);
    let line = file.line_col(d.primary.span.start).line;
    let text = file.line_text(line);
    let indent: String = text.chars().take_while(|c| c.is_whitespace()).collect();
    let at = Position::new(line - 1, 0);
    Some(Fix {
        title: format!("allow `lockstep::{}` here", d.lint),
        edits: vec![(
            path_of(d.primary.span),
            TextEdit::new(
                Range::new(at, at),
                format!("{indent}// lockstep: allow({})\n", d.lint),
            ),
        )],
        preferred: false,
    })
}

/// The quick fix as a code action for a client that knows the files by `uris` (the open
/// documents; any other file by its own `file:` URI).
#[allow(
    clippy::mutable_key_type,
    reason = "lsp-types keys a workspace edit by `Uri`, whose parsed form caches a position"
)]
pub fn code_action(
    f: &Finding,
    fix: &Fix,
    uri_of: &dyn Fn(&Path) -> Option<Uri>,
) -> Option<CodeAction> {
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for (path, edit) in &fix.edits {
        changes.entry(uri_of(path)?).or_default().push(edit.clone());
    }
    Some(CodeAction {
        title: fix.title.clone(),
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![f.diagnostic.clone()]),
        edit: Some(WorkspaceEdit {
            changes: Some(changes),
            ..Default::default()
        }),
        is_preferred: fix.preferred.then_some(true),
        ..Default::default()
    })
}

/// Markdown for a hover over a finding: what it says, its notes and help, then the lint's
/// documentation.
pub fn hover_text(f: &Finding) -> String {
    let mut s = format!(
        "**{}** ({}): {}\n",
        crate::render::code(f.lint),
        f.level.rustc_word(),
        f.diagnostic.message
    );
    for n in &f.notes {
        s.push_str(&format!("\nnote: {n}\n"));
    }
    if let Some(h) = &f.help {
        s.push_str(&format!("\nhelp: {h}\n"));
    }
    if let Some(m) = lockstep_lints::find_meta(f.lint) {
        s.push_str("\n---\n\n");
        s.push_str(&m.docs_text());
        s.push('\n');
    }
    s
}

/// Whether `pos` is inside `r` (both ends included, so a cursor just after the span counts).
pub fn contains(r: &Range, pos: Position) -> bool {
    (r.start.line, r.start.character) <= (pos.line, pos.character)
        && (pos.line, pos.character) <= (r.end.line, r.end.character)
}

/// Whether two ranges share a position.
pub fn overlaps(a: &Range, b: &Range) -> bool {
    contains(a, b.start) || contains(a, b.end) || contains(b, a.start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_analyzer::{FileId, Label};

    fn db(text: &str) -> SourceDb {
        let mut db = SourceDb::new();
        db.add(SourceFile::new(FileId(0), "src/lib.rs", text));
        db
    }

    #[test]
    fn columns_count_utf16_units_or_bytes() {
        let text = "fn a() {}\nlet s = \"é😀\"; x\n";
        let db = db(text);
        let f = db.get(FileId(0));
        let x = text.rfind('x').unwrap() as u32;
        assert_eq!(position(f, x, Encoding::Utf16), Position::new(1, 15));
        assert_eq!(position(f, x, Encoding::Utf8), Position::new(1, 18));
        assert_eq!(position(f, 0, Encoding::Utf16), Position::new(0, 0));
        let end = text.len() as u32;
        assert_eq!(position(f, end, Encoding::Utf16), Position::new(2, 0));
        // an offset inside a character counts the characters before it
        let inside = text.find('😀').unwrap() as u32 + 1;
        assert_eq!(position(f, inside, Encoding::Utf16), Position::new(1, 10));
    }

    #[test]
    fn a_finding_carries_its_sites_fixes_and_an_allow() {
        let text = "fn f() {\n    let a = m.lock();\n    let b = m.lock();\n}\n";
        let db = db(text);
        let first = text.find("m.lock").unwrap() as u32;
        let second = text.rfind("m.lock").unwrap() as u32;
        let d = Diagnostic::new(
            "double_lock",
            Level::Deny,
            "`m` is locked twice",
            Label::new(
                Span::new(FileId(0), second, second + 8),
                "second acquisition",
            ),
        )
        .with_label(Span::new(FileId(0), first, first + 8), "first acquisition")
        .with_note("the guard lives to the end of the block")
        .with_suggestion(Suggestion {
            message: "drop the first guard".into(),
            edits: vec![lockstep_analyzer::diag::Edit {
                span: Span::new(FileId(0), second, second),
                replacement: "drop(a); ".into(),
            }],
            applicability: Applicability::MachineApplicable,
        });
        let root = Path::new("/nonexistent-root");
        let snap = snapshot(root, &db, &[d], Encoding::Utf16);
        let (path, fs) = snap.iter().next().unwrap();
        assert_eq!(path, &root.join("src/lib.rs"));
        let f = &fs[0];
        assert_eq!(
            f.diagnostic.range,
            Range::new(Position::new(2, 12), Position::new(2, 20))
        );
        assert_eq!(f.diagnostic.severity, Some(DiagnosticSeverity::ERROR));
        assert_eq!(
            f.diagnostic.code,
            Some(NumberOrString::String("double_lock".into()))
        );
        let rel = f.diagnostic.related_information.as_ref().unwrap();
        let msgs: Vec<&str> = rel.iter().map(|r| r.message.as_str()).collect();
        assert_eq!(msgs, ["second acquisition", "first acquisition"]);
        assert_eq!(rel[1].location.range.start, Position::new(1, 12));
        assert_eq!(
            rel[1].location.uri.as_str(),
            "file:///nonexistent-root/src/lib.rs"
        );
        let titles: Vec<&str> = f.fixes.iter().map(|x| x.title.as_str()).collect();
        assert_eq!(
            titles,
            ["drop the first guard", "allow `lockstep::double_lock` here"]
        );
        assert!(f.fixes[0].preferred && !f.fixes[1].preferred);
        assert_eq!(
            f.fixes[1].edits[0].1.new_text,
            "    // lockstep: allow(double_lock)\n"
        );
        assert_eq!(f.fixes[1].edits[0].1.range.start, Position::new(2, 0));
        let hover = hover_text(f);
        assert!(hover.starts_with("**lockstep::double_lock** (error): `m` is locked twice"));
        assert!(hover.contains("note: the guard lives"), "{hover}");
        assert!(hover.contains("## What it does"), "{hover}");
        let action = code_action(f, &f.fixes[0], &|p| uri(p)).unwrap();
        assert_eq!(action.is_preferred, Some(true));
        let edit = serde_json::to_value(action.edit.unwrap()).unwrap();
        let edits = edit["changes"]["file:///nonexistent-root/src/lib.rs"].clone();
        assert_eq!(edits[0]["newText"], "drop(a); ");
    }

    #[test]
    fn ranges_meet_at_their_ends() {
        let r = Range::new(Position::new(1, 4), Position::new(1, 9));
        assert!(contains(&r, Position::new(1, 4)));
        assert!(contains(&r, Position::new(1, 9)));
        assert!(!contains(&r, Position::new(1, 10)));
        assert!(!contains(&r, Position::new(0, 5)));
        let inner = Range::new(Position::new(1, 5), Position::new(1, 6));
        assert!(overlaps(&r, &inner) && overlaps(&inner, &r));
        let after = Range::new(Position::new(2, 0), Position::new(2, 1));
        assert!(!overlaps(&r, &after));
    }
}
