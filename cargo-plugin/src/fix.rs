//! `cargo lockstep --fix`: apply the machine-applicable suggestions of findings to the files,
//! re-analyze and repeat until nothing changes.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use lockstep_analyzer::diag::{Applicability, Edit, Suggestion};
use lockstep_analyzer::{FileId, SourceFile};

use crate::report::Report;

/// How `--fix` behaves.
#[derive(Clone, Debug)]
pub struct FixOptions {
    /// Edit files with uncommitted changes.
    pub allow_dirty: bool,
    /// Analysis / edit rounds at most (fixes can enable or overlap other fixes).
    pub max_rounds: usize,
}

impl Default for FixOptions {
    fn default() -> Self {
        FixOptions {
            allow_dirty: false,
            max_rounds: 4,
        }
    }
}

/// One suggestion applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedFix {
    pub path: PathBuf,
    pub lint: &'static str,
    /// 1-based line of the finding before the edit.
    pub line: u32,
    pub message: String,
    pub round: usize,
}

/// What a `--fix` run did.
#[derive(Clone, Debug, Default)]
pub struct FixOutcome {
    pub applied: Vec<AppliedFix>,
    pub rounds: usize,
    /// Files left alone, with the reason (an edit would not parse, the file changed on disk…).
    pub skipped: Vec<(PathBuf, String)>,
}

#[derive(Debug)]
pub enum FixError {
    /// Files with uncommitted changes, and `allow_dirty` is off.
    Dirty(Vec<PathBuf>),
    Io(PathBuf, std::io::Error),
}

impl fmt::Display for FixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FixError::Dirty(paths) => {
                write!(
                    f,
                    "the working tree has uncommitted changes in files to fix; commit or stash them, or pass --allow-dirty:"
                )?;
                for p in paths {
                    write!(f, "\n  {}", p.display())?;
                }
                Ok(())
            }
            FixError::Io(p, e) => write!(f, "cannot write {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for FixError {}

/// Why a set of edits cannot be applied to a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditError {
    OutOfRange {
        start: u32,
        end: u32,
        len: usize,
    },
    NotCharBoundary(u32),
    Overlap {
        first: (u32, u32),
        second: (u32, u32),
    },
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::OutOfRange { start, end, len } => {
                write!(f, "edit {start}..{end} is outside the text ({len} bytes)")
            }
            EditError::NotCharBoundary(o) => write!(f, "edit boundary {o} splits a character"),
            EditError::Overlap { first, second } => write!(
                f,
                "edits {}..{} and {}..{} overlap",
                first.0, first.1, second.0, second.1
            ),
        }
    }
}

impl std::error::Error for EditError {}

/// Apply edits (byte spans of `text`) at once. They must not overlap; insertions at the same
/// offset are applied in the order given.
pub fn apply_edits(text: &str, edits: &[Edit]) -> Result<String, EditError> {
    let mut sorted: Vec<(usize, &Edit)> = edits.iter().enumerate().collect();
    sorted.sort_by_key(|(i, e)| (e.span.start, e.span.end, *i));
    for (_, e) in &sorted {
        let (s, t) = (e.span.start as usize, e.span.end as usize);
        if s > t || t > text.len() {
            return Err(EditError::OutOfRange {
                start: e.span.start,
                end: e.span.end,
                len: text.len(),
            });
        }
        for o in [s, t] {
            if !text.is_char_boundary(o) {
                return Err(EditError::NotCharBoundary(o as u32));
            }
        }
    }
    for w in sorted.windows(2) {
        let (a, b) = (&w[0].1.span, &w[1].1.span);
        // Two edits overlap when the second starts inside the first; a pure insertion right
        // at the end of a replacement does not.
        if b.start < a.end {
            return Err(EditError::Overlap {
                first: (a.start, a.end),
                second: (b.start, b.end),
            });
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0usize;
    for (_, e) in sorted {
        out.push_str(&text[at..e.span.start as usize]);
        out.push_str(&e.replacement);
        at = e.span.end as usize;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// A suggestion chosen for application.
struct Chosen<'a> {
    lint: &'static str,
    line: u32,
    message: &'a str,
    suggestion: &'a Suggestion,
}

/// Pick, per file, machine-applicable suggestions whose edits do not overlap each other
/// (earlier findings first). Suggestions spanning several files are skipped.
fn choose(report: &Report) -> BTreeMap<FileId, Vec<Chosen<'_>>> {
    let mut per_file: BTreeMap<FileId, Vec<Chosen<'_>>> = BTreeMap::new();
    let mut taken: BTreeMap<FileId, Vec<(u32, u32)>> = BTreeMap::new();
    for d in &report.diagnostics {
        for s in &d.suggestions {
            if s.applicability != Applicability::MachineApplicable || s.edits.is_empty() {
                continue;
            }
            let file = s.edits[0].span.file;
            if s.edits.iter().any(|e| e.span.file != file) {
                continue;
            }
            let spans = taken.entry(file).or_default();
            let clash = s.edits.iter().any(|e| {
                spans
                    .iter()
                    .any(|&t| spans_clash(t, (e.span.start, e.span.end)))
            });
            if clash {
                continue;
            }
            spans.extend(s.edits.iter().map(|e| (e.span.start, e.span.end)));
            let f = report.db.get(file);
            per_file.entry(file).or_default().push(Chosen {
                lint: d.lint,
                line: f.line_col(d.primary.span.start).line,
                message: &s.message,
                suggestion: s,
            });
            break;
        }
    }
    per_file
}

/// Whether two edit spans cannot both be applied: they overlap, an insertion falls strictly
/// inside a replacement, or two insertions share an offset (their order would be arbitrary).
fn spans_clash((a, b): (u32, u32), (c, d): (u32, u32)) -> bool {
    match (a == b, c == d) {
        (true, true) => a == c,
        (true, false) => c < a && a < d,
        (false, true) => a < c && c < b,
        (false, false) => c < b && a < d,
    }
}

fn disk_path(report: &Report, f: &SourceFile) -> PathBuf {
    let p = Path::new(&f.path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        report.root.join(p)
    }
}

/// Paths among `paths` that git reports as modified or untracked. Outside a git repository
/// (or without git) there is nothing to compare against and nothing is reported.
pub fn dirty_paths(root: &Path, paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() {
        return Vec::new();
    }
    let out = std::process::Command::new("git")
        .arg("status")
        .arg("--porcelain")
        .arg("--untracked-files=all")
        .arg("--")
        .args(paths)
        .current_dir(root)
        .output();
    let Ok(out) = out else {
        return Vec::new();
    };
    if !out.status.success() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let listed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.get(3..))
        .map(|p| p.rsplit(" -> ").next().unwrap_or(p).trim_matches('"'))
        .collect();
    paths
        .iter()
        .filter(|p| {
            let s = p.to_string_lossy().replace('\\', "/");
            listed.iter().any(|l| s.ends_with(l))
        })
        .cloned()
        .collect()
}

/// Run `analyze`, apply the machine-applicable suggestions of its findings, write the files and
/// repeat until a round changes nothing or `max_rounds` is reached. Every written file is
/// checked to still parse first; a file whose edits would break it is left alone. What changed
/// is printed to `log`.
pub fn apply_fixes(
    mut analyze: impl FnMut() -> Report,
    opts: &FixOptions,
    log: &mut dyn Write,
) -> Result<FixOutcome, FixError> {
    let mut outcome = FixOutcome::default();
    let mut checked_dirty = false;
    for round in 1..=opts.max_rounds.max(1) {
        let report = analyze();
        let chosen = choose(&report);
        if chosen.is_empty() {
            break;
        }
        if !checked_dirty && !opts.allow_dirty {
            let paths: Vec<PathBuf> = chosen
                .keys()
                .map(|id| disk_path(&report, report.db.get(*id)))
                .collect();
            let dirty = dirty_paths(&report.root, &paths);
            if !dirty.is_empty() {
                return Err(FixError::Dirty(dirty));
            }
        }
        checked_dirty = true;
        let mut changed = false;
        for (id, fixes) in &chosen {
            let f = report.db.get(*id);
            let path = disk_path(&report, f);
            if f.decode_error.is_some() {
                outcome
                    .skipped
                    .push((path, "the file is not valid UTF-8".into()));
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(now) if now == f.text => {}
                _ => {
                    outcome
                        .skipped
                        .push((path, "the file changed on disk during the run".into()));
                    continue;
                }
            }
            let edits: Vec<Edit> = fixes
                .iter()
                .flat_map(|c| c.suggestion.edits.iter().cloned())
                .collect();
            let new_text = match apply_edits(&f.text, &edits) {
                Ok(t) => t,
                Err(e) => {
                    outcome.skipped.push((path, e.to_string()));
                    continue;
                }
            };
            if new_text == f.text {
                continue;
            }
            let check = SourceFile::new(FileId(0), f.path.clone(), new_text.as_str());
            if let Err(d) = lockstep_analyzer::parse::parse_file(&check) {
                outcome.skipped.push((
                    path,
                    format!(
                        "the fixed file would not parse ({}); left unchanged",
                        d.message
                    ),
                ));
                continue;
            }
            std::fs::write(&path, &new_text).map_err(|e| FixError::Io(path.clone(), e))?;
            changed = true;
            let _ = writeln!(
                log,
                "       Fixed {} ({} fix{})",
                f.path,
                fixes.len(),
                if fixes.len() == 1 { "" } else { "es" }
            );
            for c in fixes {
                let _ = writeln!(
                    log,
                    "             {}:{}: lockstep::{}: {}",
                    f.path, c.line, c.lint, c.message
                );
                outcome.applied.push(AppliedFix {
                    path: path.clone(),
                    lint: c.lint,
                    line: c.line,
                    message: c.message.to_string(),
                    round,
                });
            }
        }
        outcome.rounds = round;
        if !changed {
            break;
        }
    }
    for (p, why) in &outcome.skipped {
        let _ = writeln!(log, "     Skipped {}: {why}", p.display());
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_analyzer::Span;

    fn edit(s: u32, e: u32, r: &str) -> Edit {
        Edit {
            span: Span::new(FileId(0), s, e),
            replacement: r.into(),
        }
    }

    #[test]
    fn applies_in_offset_order() {
        let t = "a < b && c < d";
        let out = apply_edits(t, &[edit(9, 14, "D"), edit(0, 5, "A")]).unwrap();
        assert_eq!(out, "A && D");
    }

    #[test]
    fn refuses_overlap_and_range() {
        assert!(matches!(
            apply_edits("abcdef", &[edit(0, 3, "x"), edit(2, 4, "y")]),
            Err(EditError::Overlap { .. })
        ));
        assert!(matches!(
            apply_edits("abc", &[edit(2, 9, "x")]),
            Err(EditError::OutOfRange { .. })
        ));
        assert!(matches!(
            apply_edits("é", &[edit(1, 2, "x")]),
            Err(EditError::NotCharBoundary(1))
        ));
    }

    #[test]
    fn insertion_after_replacement() {
        let out = apply_edits("abc", &[edit(0, 1, "X"), edit(1, 1, "+")]).unwrap();
        assert_eq!(out, "X+bc");
    }
}
