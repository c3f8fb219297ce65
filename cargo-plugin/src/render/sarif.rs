//! `sarif` output: one SARIF 2.1.0 log with one run.
//!
//! Rules come from the lint metadata; each result has one primary location, its other sites as
//! `relatedLocations`, and a `partialFingerprints` entry computed from the baseline identity
//! (lint, file, key, occurrence), never from line numbers. Columns count unicode code points.

use std::path::Path;

use lockstep_analyzer::{Diagnostic, Level, SourceDb, Span};
use serde::Serialize;

use crate::baseline;
use crate::render::json::{display_line_col, floor_char_boundary};
use crate::render::RenderOptions;
use crate::report::Report;

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
pub const SRCROOT: &str = "%SRCROOT%";
/// The `partialFingerprints` property lockstep writes.
pub const FINGERPRINT: &str = "lockstepIdentity/v1";

#[derive(Serialize, Debug)]
pub struct Log {
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    pub version: &'static str,
    pub runs: Vec<Run>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub tool: Tool,
    pub original_uri_base_ids: OriginalUriBaseIds,
    pub column_kind: &'static str,
    pub results: Vec<SarifResult>,
}

#[derive(Serialize, Debug)]
pub struct OriginalUriBaseIds {
    #[serde(rename = "%SRCROOT%")]
    pub srcroot: ArtifactLocation,
}

#[derive(Serialize, Debug)]
pub struct Tool {
    pub driver: Driver,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Driver {
    pub name: &'static str,
    pub information_uri: &'static str,
    pub version: &'static str,
    pub semantic_version: &'static str,
    pub rules: Vec<Rule>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub short_description: Text,
    pub full_description: Text,
    pub help: Help,
    pub default_configuration: Configuration,
}

#[derive(Serialize, Debug)]
pub struct Text {
    pub text: String,
}

#[derive(Serialize, Debug)]
pub struct Help {
    pub text: String,
    pub markdown: String,
}

#[derive(Serialize, Debug)]
pub struct Configuration {
    pub level: &'static str,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    pub rule_id: String,
    pub rule_index: usize,
    pub level: &'static str,
    pub message: Text,
    pub locations: Vec<Location>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related_locations: Vec<Location>,
    pub partial_fingerprints: Fingerprints,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<Fix>,
}

/// A suggestion: its edits grouped by file.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Fix {
    pub description: Text,
    pub artifact_changes: Vec<ArtifactChange>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactChange {
    pub artifact_location: ArtifactLocation,
    pub replacements: Vec<Replacement>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Replacement {
    pub deleted_region: Region,
    pub inserted_content: Text,
}

#[derive(Serialize, Debug)]
pub struct Fingerprints {
    #[serde(rename = "lockstepIdentity/v1")]
    pub identity: String,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<usize>,
    pub physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Text>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalLocation {
    pub artifact_location: ArtifactLocation,
    pub region: Region,
}

#[derive(Serialize, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactLocation {
    pub uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri_base_id: Option<&'static str>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub start_line: u32,
    pub start_column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub char_offset: u32,
    pub char_length: u32,
}

pub fn render(
    report: &Report,
    opts: &RenderOptions,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let log = log(report, &crate::render::json::root_of(report, opts));
    serde_json::to_writer_pretty(&mut *out, &log)?;
    out.write_all(b"\n")
}

/// The SARIF log of a report.
pub fn log(report: &Report, root: &Path) -> Log {
    let mut metas: Vec<(&str, Level, &str, &str)> = lockstep_lints::all_metas()
        .into_iter()
        .map(|m| (m.name, m.default_level, m.summary, m.docs))
        .collect();
    for d in &report.diagnostics {
        if !metas.iter().any(|m| m.0 == d.lint) {
            metas.push((d.lint, d.level, "", ""));
        }
    }
    metas.sort_by_key(|m| m.0);
    let rules = metas
        .iter()
        .map(|&(name, level, summary, docs)| rule(name, level, summary, docs))
        .collect();
    let ids = baseline::entries(report);
    let results = report
        .diagnostics
        .iter()
        .zip(&ids)
        .map(|(d, id)| {
            let rule_index = metas.iter().position(|m| m.0 == d.lint).unwrap_or(0);
            result(&report.db, d, rule_index, baseline::fingerprint(id))
        })
        .collect();
    Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "cargo-lockstep",
                    information_uri: "https://example.invalid/cargo-lockstep",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    rules,
                },
            },
            original_uri_base_ids: OriginalUriBaseIds {
                srcroot: ArtifactLocation {
                    uri: dir_uri(root),
                    uri_base_id: None,
                },
            },
            column_kind: "unicodeCodePoints",
            results,
        }],
    }
}

fn rule(name: &str, level: Level, summary: &str, docs: &str) -> Rule {
    let docs = lockstep_lints::docs_text(docs);
    let summary = if summary.is_empty() {
        format!("findings of lockstep::{name}")
    } else {
        summary.to_string()
    };
    let what = section(&docs, "What it does").unwrap_or_else(|| summary.clone());
    let help_md = if docs.is_empty() {
        summary.clone()
    } else {
        docs.clone()
    };
    Rule {
        id: crate::render::code(name),
        name: name.to_string(),
        short_description: Text { text: summary },
        full_description: Text { text: what },
        help: Help {
            text: markdown_to_text(&help_md),
            markdown: help_md,
        },
        default_configuration: Configuration {
            level: sarif_level(level),
        },
    }
}

fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Deny => "error",
        Level::Warn => "warning",
        Level::Note | Level::Allow => "note",
    }
}

fn result(db: &SourceDb, d: &Diagnostic, rule_index: usize, fingerprint: String) -> SarifResult {
    let mut text = d.message.clone();
    for n in &d.notes {
        text.push_str("\nnote: ");
        text.push_str(n);
    }
    if let Some(h) = &d.help {
        text.push_str("\nhelp: ");
        text.push_str(h);
    }
    let primary_message = (!d.primary.message.is_empty()).then(|| Text {
        text: d.primary.message.clone(),
    });
    SarifResult {
        rule_id: crate::render::code(d.lint),
        rule_index,
        level: sarif_level(d.level),
        message: Text { text },
        locations: vec![Location {
            id: None,
            physical_location: physical(db, d.primary.span),
            message: primary_message,
        }],
        related_locations: d
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| Location {
                id: Some(i + 1),
                physical_location: physical(db, l.span),
                message: Some(Text {
                    text: if l.message.is_empty() {
                        "related site".to_string()
                    } else {
                        l.message.clone()
                    },
                }),
            })
            .collect(),
        partial_fingerprints: Fingerprints {
            identity: fingerprint,
        },
        fixes: d.suggestions.iter().map(|s| fix(db, s)).collect(),
    }
}

fn fix(db: &SourceDb, s: &lockstep_analyzer::diag::Suggestion) -> Fix {
    let mut changes: Vec<ArtifactChange> = Vec::new();
    for e in &s.edits {
        let at = physical(db, e.span);
        let replacement = Replacement {
            deleted_region: at.region,
            inserted_content: Text {
                text: e.replacement.clone(),
            },
        };
        match changes
            .iter_mut()
            .find(|c| c.artifact_location == at.artifact_location)
        {
            Some(c) => c.replacements.push(replacement),
            None => changes.push(ArtifactChange {
                artifact_location: at.artifact_location,
                replacements: vec![replacement],
            }),
        }
    }
    Fix {
        description: Text {
            text: s.message.clone(),
        },
        artifact_changes: changes,
    }
}

fn physical(db: &SourceDb, span: Span) -> PhysicalLocation {
    let f = db.get(span.file);
    let start = floor_char_boundary(&f.text, span.start);
    let end = floor_char_boundary(&f.text, span.end).max(start);
    let s = display_line_col(f, start);
    let e = display_line_col(f, end);
    // Characters of the decoded text: a BOM is not one of them.
    let bom = if f.text.starts_with('\u{feff}') { 3 } else { 0 };
    let chars_before = |off: u32| {
        let mut i = (off as usize).max(bom);
        while !f.text.is_char_boundary(i) {
            i -= 1;
        }
        f.text[bom..i].chars().count() as u32
    };
    let char_offset = chars_before(start);
    PhysicalLocation {
        artifact_location: ArtifactLocation {
            uri: relative_uri(&f.path),
            uri_base_id: (!Path::new(&f.path).is_absolute()).then_some(SRCROOT),
        },
        region: Region {
            start_line: s.line,
            start_column: s.col,
            end_line: e.line,
            end_column: e.col,
            char_offset,
            char_length: chars_before(end) - char_offset,
        },
    }
}

/// The body of a `## title` section.
fn section(docs: &str, title: &str) -> Option<String> {
    let mut lines = docs
        .lines()
        .skip_while(|l| l.trim() != format!("## {title}"));
    lines.next()?;
    let body: Vec<&str> = lines.take_while(|l| !l.starts_with("## ")).collect();
    let body = body.join("\n").trim().to_string();
    (!body.is_empty()).then_some(body)
}

/// Plain text of the docs' markdown: headings lose their `#`, fences disappear.
fn markdown_to_text(md: &str) -> String {
    md.lines()
        .filter(|l| !l.trim_start().starts_with("```"))
        .map(|l| l.trim_start_matches('#').trim_start())
        .collect::<Vec<_>>()
        .join("\n")
}

fn relative_uri(path: &str) -> String {
    let p = path.replace('\\', "/");
    if Path::new(path).is_absolute() {
        crate::paths::file_uri(&p)
    } else {
        crate::paths::encode_uri_path(&p)
    }
}

/// `file:///abs/root/` (with the trailing slash a base URI needs).
fn dir_uri(root: &Path) -> String {
    let abs = if root.is_absolute() {
        root.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|c| c.join(root))
            .unwrap_or_else(|_| root.to_path_buf())
    };
    let mut u = crate::paths::file_uri(&abs.to_string_lossy());
    if !u.ends_with('/') {
        u.push('/');
    }
    u
}
