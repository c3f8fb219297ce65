//! Mutation harness: injects one bug at a time into an analyzed tree and checks that the
//! expected lint reports it.
//!
//! The tree is loaded and lowered once. A mutant replaces the text of one file; only that
//! file is lowered again, the others are reused, and the analysis and the lints run over the
//! result in memory (no disk writes, no `cargo metadata`).
//!
//! Sites are found by parsing the sources with syn; every site an operator matches is a mutant.
//! Edits never add or remove a line, so lines of findings compare across mutants.

#![allow(dead_code)]

pub mod ops;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use lockstep_analyzer::{analyze, Config, FileId, Level, LoweredFile, SourceDb, SourceFile};
use lockstep_lints::LintContext;

/// One finding, reduced to what the comparison needs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub lint: &'static str,
    pub path: String,
    pub line: u32,
    pub message: String,
    /// Files and lines of the primary span and every label.
    pub places: Vec<(String, u32)>,
}

impl Finding {
    fn identity(&self) -> (&'static str, &str, u32, &str) {
        (self.lint, &self.path, self.line, &self.message)
    }
}

/// A loaded and lowered tree to mutate.
pub struct Workspace {
    pub db: SourceDb,
    lowered: Vec<LoweredFile>,
    pub config: Config,
    pub baseline: Vec<Finding>,
    pub io_errors: Vec<String>,
}

impl Workspace {
    /// Load a fixture directory with its own configuration.
    pub fn load_fixture(dir: &Path) -> Workspace {
        Self::from_report(cargo_lockstep::analyze_fixture(dir))
    }

    /// Load a crate directory with a given configuration.
    pub fn load_dir(dir: &Path, config: &Config) -> Workspace {
        Self::from_report(cargo_lockstep::analyze_dir(
            dir,
            lockstep_analyzer::Edition::E2021,
            config,
        ))
    }

    fn from_report(report: cargo_lockstep::Report) -> Workspace {
        // The analysis keeps bodies only until their flows are built: lower every file
        // again, as each mutant's file is lowered (its own `macro_rules!` only).
        let lowered = report
            .db
            .files()
            .iter()
            .map(|f| lockstep_analyzer::lower_file_with(f, &report.config))
            .collect();
        let mut ws = Workspace {
            db: report.db,
            lowered,
            config: report.config,
            baseline: Vec::new(),
            io_errors: report.io_errors,
        };
        ws.baseline = ws.findings(&ws.db, ws.lowered.clone());
        ws
    }

    /// The file with a given display path.
    pub fn file_by_path(&self, path: &str) -> Option<&SourceFile> {
        self.db.files().iter().find(|f| f.path == path)
    }

    /// Findings of the tree with one file's text replaced.
    pub fn analyze_with(&self, file: FileId, text: &str) -> Vec<Finding> {
        let mut db = SourceDb::new();
        for f in self.db.files() {
            if f.id == file {
                let mut nf = SourceFile::new(f.id, f.path.clone(), text).with_crate(
                    &f.crate_name,
                    f.module_path.clone(),
                    f.edition,
                );
                nf.test_only = f.test_only;
                nf.dependency = f.dependency;
                db.add(nf);
            } else {
                db.add(f.clone());
            }
        }
        let mut files: Vec<LoweredFile> = Vec::with_capacity(self.lowered.len());
        for l in &self.lowered {
            if l.file == file {
                files.push(lockstep_analyzer::lower_file_with(
                    db.get(file),
                    &self.config,
                ));
            } else {
                files.push(l.clone());
            }
        }
        self.findings(&db, files)
    }

    fn findings(&self, db: &SourceDb, files: Vec<LoweredFile>) -> Vec<Finding> {
        let analysis = analyze(db, files, &self.config);
        let cx = LintContext {
            db,
            analysis: &analysis,
            config: &self.config,
        };
        let mut out: Vec<Finding> = lockstep_lints::run_all(&cx)
            .into_iter()
            .filter(|d| self.config.levels.get(d.lint) != Some(&Level::Allow))
            .filter(|d| !db.get(d.primary.span.file).dependency)
            .map(|d| {
                let f = db.get(d.primary.span.file);
                let line = f.line_col(d.primary.span.start).line;
                let mut places = vec![(f.path.clone(), line)];
                for l in &d.labels {
                    let lf = db.get(l.span.file);
                    places.push((lf.path.clone(), lf.line_col(l.span.start).line));
                }
                Finding {
                    lint: d.lint,
                    path: f.path.clone(),
                    line,
                    message: d.message,
                    places,
                }
            })
            .collect();
        out.sort();
        out
    }

    /// Findings of `after` that the baseline does not have (as a multiset).
    pub fn new_findings(&self, after: &[Finding]) -> Vec<Finding> {
        let mut base: BTreeMap<(&str, &str, u32, &str), usize> = BTreeMap::new();
        for f in &self.baseline {
            *base.entry(f.identity()).or_default() += 1;
        }
        let mut out = Vec::new();
        for f in after {
            match base.get_mut(&f.identity()) {
                Some(n) if *n > 0 => *n -= 1,
                _ => out.push(f.clone()),
            }
        }
        out
    }
}

/// Lines a finding may sit on and still count for a mutant: anywhere in the mutated function,
/// or within this many lines of the mutated site.
pub const NEAR_LINES: u32 = 3;

/// One injected bug.
#[derive(Clone, Debug)]
pub struct Mutant {
    pub op: &'static str,
    pub file: FileId,
    pub path: String,
    /// 1-based line of the mutated site.
    pub line: u32,
    /// Line range of the enclosing function (1-based, inclusive).
    pub fn_lines: (u32, u32),
    /// Byte edits on the file's text: (start, end, replacement). No edit adds or removes a line.
    pub edits: Vec<(usize, usize, String)>,
    pub expected: &'static str,
    pub desc: String,
}

impl Mutant {
    pub fn apply(&self, text: &str) -> String {
        let mut edits = self.edits.clone();
        edits.sort_by_key(|e| std::cmp::Reverse(e.0));
        let mut out = text.to_string();
        for (s, e, r) in edits {
            out.replace_range(s..e, &r);
        }
        out
    }

    fn covers(&self, path: &str, line: u32) -> bool {
        path == self.path
            && ((line >= self.fn_lines.0 && line <= self.fn_lines.1)
                || line.abs_diff(self.line) <= NEAR_LINES)
    }
}

/// What became of one mutant.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub mutant: Mutant,
    pub caught: bool,
    /// Why not, when not caught.
    pub why: String,
}

/// Analyze one mutant and judge it: caught when a new finding of the expected lint has its
/// primary span or a label at the site (see [`Mutant::covers`]) and no new finding of another
/// lint appears.
pub fn run_mutant(ws: &Workspace, m: &Mutant) -> Outcome {
    let text = ws.db.get(m.file).text.clone();
    let mutated = m.apply(&text);
    debug_assert_eq!(mutated.lines().count(), text.lines().count());
    let after = ws.analyze_with(m.file, &mutated);
    let new = ws.new_findings(&after);
    let hit = new
        .iter()
        .any(|f| f.lint == m.expected && f.places.iter().any(|(p, l)| m.covers(p, *l)));
    let others: Vec<&Finding> = new
        .iter()
        .filter(|f| f.lint != m.expected && !consequence(m, f))
        .collect();
    let caught = hit && others.is_empty();
    let why = if caught {
        String::new()
    } else if !others.is_empty() {
        let mut s = String::from("other findings: ");
        for (i, f) in others.iter().enumerate() {
            if i > 0 {
                s.push_str("; ");
            }
            let _ = write!(s, "{} at {}:{} ({})", f.lint, f.path, f.line, f.message);
        }
        if !hit {
            s.insert_str(0, "no expected finding; ");
        }
        s
    } else if new.iter().any(|f| f.lint == m.expected) {
        let f = new.iter().find(|f| f.lint == m.expected).unwrap();
        format!(
            "{} only away from the site, at {}:{}",
            m.expected, f.path, f.line
        )
    } else {
        "no new finding".to_string()
    };
    Outcome {
        mutant: m.clone(),
        caught,
        why,
    }
}

/// A new finding of another lint that is the same bug seen from another side: a lock whose
/// release was removed is then held at the sleeping calls after it, so a new
/// `blocking_under_spinlock` at the site (the mutant changed nothing else) is a consequence.
fn consequence(m: &Mutant, f: &Finding) -> bool {
    m.op == ops::DROP_RELEASE && f.lint == "blocking_under_spinlock" && m.covers(&f.path, f.line)
}

/// Run mutants on `threads` threads (each with a large stack), each thread taking the next
/// mutant as it is free; outcomes in input order.
pub fn run_all(ws: &Workspace, mutants: &[Mutant], threads: usize) -> Vec<Outcome> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, Outcome)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                std::thread::Builder::new()
                    .stack_size(64 << 20)
                    .spawn_scoped(s, || {
                        let mut out = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(m) = mutants.get(i) else { break };
                            out.push((i, run_mutant(ws, m)));
                        }
                        out
                    })
                    .expect("spawn a mutation thread")
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a mutation thread panicked"))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, o)| o).collect()
}

/// Per-operator counts.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub expected: Vec<&'static str>,
    pub total: usize,
    pub caught: usize,
}

impl Tally {
    pub fn recall(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            100.0 * self.caught as f64 / self.total as f64
        }
    }
}

/// Counts by operator (in the order of `ops`), and by expected lint.
pub fn tally(
    ops: &[&'static str],
    outcomes: &[Outcome],
) -> (Vec<(&'static str, Tally)>, BTreeMap<&'static str, Tally>) {
    let mut by_op: Vec<(&'static str, Tally)> =
        ops.iter().map(|o| (*o, Tally::default())).collect();
    let mut by_lint: BTreeMap<&'static str, Tally> = BTreeMap::new();
    for o in outcomes {
        let m = &o.mutant;
        if let Some((_, t)) = by_op.iter_mut().find(|(n, _)| *n == m.op) {
            t.total += 1;
            t.caught += o.caught as usize;
            if !t.expected.contains(&m.expected) {
                t.expected.push(m.expected);
            }
        }
        let t = by_lint.entry(m.expected).or_default();
        t.total += 1;
        t.caught += o.caught as usize;
    }
    (by_op, by_lint)
}

/// A Markdown table of the counts, then the missed mutants.
pub fn markdown(
    ops: &[&'static str],
    outcomes: &[Outcome],
    notes: &BTreeMap<&str, String>,
) -> String {
    let (by_op, by_lint) = tally(ops, outcomes);
    let mut s = String::new();
    s.push_str("| operator | expected lint | mutants | caught | recall |\n");
    s.push_str("|---|---|---:|---:|---:|\n");
    for (op, t) in &by_op {
        if t.total == 0 {
            let _ = writeln!(s, "| `{op}` | — | 0 | 0 | — |");
            continue;
        }
        let _ = writeln!(
            s,
            "| `{op}` | {} | {} | {} | {:.1}% |",
            t.expected
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", "),
            t.total,
            t.caught,
            t.recall()
        );
    }
    s.push_str("\n| lint | mutants | caught | recall |\n|---|---:|---:|---:|\n");
    for (lint, t) in &by_lint {
        let _ = writeln!(
            s,
            "| `{lint}` | {} | {} | {:.1}% |",
            t.total,
            t.caught,
            t.recall()
        );
    }
    if !notes.is_empty() {
        s.push('\n');
        for (op, n) in notes {
            let _ = writeln!(s, "* `{op}`:{}", n.trim_end());
        }
    }
    let missed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.caught).collect();
    if !missed.is_empty() {
        s.push_str("\nMissed mutants:\n\n");
        for o in missed {
            let m = &o.mutant;
            let _ = writeln!(
                s,
                "* `{}` {}:{} — {}: {}",
                m.op,
                m.path,
                m.line,
                m.desc.replace('\n', " "),
                o.why.replace('\n', " ")
            );
        }
    }
    s
}
