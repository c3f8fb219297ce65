//! `human` output: one miette graphical report per finding, then a summary line.
//!
//! miette shows one source per report, so a finding whose sites span several files becomes a
//! report over the primary file whose `related` reports each carry one other file with its
//! sites. Notes and suggestions follow the report as `= note:` / `= help:` lines, as rustc
//! prints them.

use std::collections::BTreeMap;
use std::fmt;

use lockstep_analyzer::{Diagnostic, FileId, Level, SourceDb, Span};
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, Severity, ThemeCharacters,
    ThemeStyles,
};

use crate::report::Report;

/// Render every finding and the summary line.
pub fn render(
    report: &Report,
    color: bool,
    width: usize,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    for d in &report.diagnostics {
        out.write_all(render_diagnostic(&report.db, d, color, width).as_bytes())?;
    }
    writeln!(out, "{}", summary(&report.diagnostics))
}

/// The summary line: `lockstep: 2 errors, 1 warning (double_lock: 2, seq_compare: 1)`.
pub fn summary(diags: &[Diagnostic]) -> String {
    if diags.is_empty() {
        return "lockstep: no findings".to_string();
    }
    let count = |l: Level| diags.iter().filter(|d| d.level == l).count();
    let mut parts = Vec::new();
    for (n, one, many) in [
        (count(Level::Deny), "error", "errors"),
        (count(Level::Warn), "warning", "warnings"),
        (
            diags
                .iter()
                .filter(|d| matches!(d.level, Level::Note | Level::Allow))
                .count(),
            "note",
            "notes",
        ),
    ] {
        if n > 0 {
            parts.push(format!("{n} {}", if n == 1 { one } else { many }));
        }
    }
    let mut by_lint: BTreeMap<&str, usize> = BTreeMap::new();
    for d in diags {
        *by_lint.entry(d.lint).or_default() += 1;
    }
    let lints: Vec<String> = by_lint.iter().map(|(l, n)| format!("{l}: {n}")).collect();
    format!("lockstep: {} ({})", parts.join(", "), lints.join(", "))
}

/// One finding as text: the miette report followed by its notes and suggestions.
pub fn render_diagnostic(db: &SourceDb, d: &Diagnostic, color: bool, width: usize) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme {
            characters: ThemeCharacters::ascii(),
            styles: ThemeStyles::none(),
        }
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_links(false)
        .with_urls(false)
        .with_show_related_as_nested(true);
    let report = HumanDiagnostic::build(db, d);
    let mut raw = String::new();
    if handler.render_report(&mut raw, &report).is_err() {
        // Rendering into a String only fails on a formatting bug; fall back to one line.
        raw = format!(
            "{}[{}]: {}\n",
            d.level.rustc_word(),
            crate::render::code(d.lint),
            d.message
        );
    }
    let mut s = String::new();
    for line in raw.trim_end().lines() {
        s.push_str(line.trim_end());
        s.push('\n');
    }
    for n in &d.notes {
        push_footer(&mut s, "note", n);
    }
    for sug in &d.suggestions {
        push_footer(&mut s, "help", &suggestion_text(db, sug));
    }
    s.push('\n');
    s
}

fn push_footer(s: &mut String, kind: &str, text: &str) {
    let mut lines = text.lines();
    s.push_str(&format!("  = {kind}: {}\n", lines.next().unwrap_or("")));
    let pad = " ".repeat(kind.len() + 6);
    for l in lines {
        s.push_str(&pad);
        s.push_str(l);
        s.push('\n');
    }
}

fn suggestion_text(db: &SourceDb, sug: &lockstep_analyzer::diag::Suggestion) -> String {
    let mut t = sug.message.clone();
    for e in &sug.edits {
        let f = db.get(e.span.file);
        let lc = f.line_col(e.span.start);
        let what = if e.replacement.is_empty() {
            "remove".to_string()
        } else {
            format!("`{}`", e.replacement)
        };
        t.push_str(&format!("\n{}:{}:{}: {what}", f.path, lc.line, lc.col));
    }
    t
}

/// A finding as a `miette::Diagnostic`: the sites of one file, the other files as `related`.
#[derive(Debug)]
struct HumanDiagnostic {
    code: Option<String>,
    message: String,
    severity: Severity,
    source: NamedSource<String>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
    related: Vec<HumanDiagnostic>,
}

impl HumanDiagnostic {
    fn build(db: &SourceDb, d: &Diagnostic) -> HumanDiagnostic {
        let primary_file = d.primary.span.file;
        let severity = severity(d.level);
        let code = crate::render::code(d.lint);
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            non_empty(&d.primary.message),
            source_span(db, d.primary.span),
        )];
        // Other files, in the order their first site appears in the finding.
        let mut others: Vec<(FileId, Vec<LabeledSpan>)> = Vec::new();
        for l in &d.labels {
            let ls = LabeledSpan::new_with_span(non_empty(&l.message), source_span(db, l.span));
            if l.span.file == primary_file {
                labels.push(ls);
            } else if let Some(o) = others.iter_mut().find(|(f, _)| *f == l.span.file) {
                o.1.push(ls);
            } else {
                others.push((l.span.file, vec![ls]));
            }
        }
        let related = others
            .into_iter()
            .map(|(file, labels)| {
                let f = db.get(file);
                HumanDiagnostic {
                    code: None,
                    message: format!("related sites in {}", f.path),
                    severity: Severity::Advice,
                    source: named_source(db, file),
                    labels,
                    help: None,
                    related: Vec::new(),
                }
            })
            .collect();
        HumanDiagnostic {
            code: Some(code),
            message: d.message.clone(),
            severity,
            source: named_source(db, primary_file),
            labels,
            help: d.help.clone(),
            related,
        }
    }
}

fn severity(level: Level) -> Severity {
    match level {
        Level::Deny => Severity::Error,
        Level::Warn => Severity::Warning,
        Level::Note | Level::Allow => Severity::Advice,
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn named_source(db: &SourceDb, file: FileId) -> NamedSource<String> {
    let f = db.get(file);
    NamedSource::new(f.path.clone(), f.text.clone())
}

/// The span clamped to the text and to character boundaries, as miette needs.
fn source_span(db: &SourceDb, span: Span) -> miette::SourceSpan {
    let text = &db.get(span.file).text;
    let start = floor_boundary(text, span.start as usize);
    let end = floor_boundary(text, span.end as usize).max(start);
    (start, end - start).into()
}

fn floor_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for HumanDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HumanDiagnostic {}

impl miette::Diagnostic for HumanDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code
            .as_ref()
            .map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}
