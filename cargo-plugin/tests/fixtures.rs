//! Every lint over every fixture crate, checked against the expectations written in the
//! fixture sources:
//!
//! * `//~ lint_name` — a finding of `lint_name` whose primary span starts on this line;
//! * `//~^ lint_name` — on the line above (`//~^^` two above, and so on), `//~v` the line below;
//! * several lints may be listed, separated by commas;
//! * `//~[2024] lint_name` — expected only when the file is analyzed under that edition;
//! * `//@ clean` — the crate must have no finding at all.
//!
//! A missing or an unexpected finding fails, and the failure shows every finding rendered.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cargo_lockstep::Report;

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// Fixture units: directories with a Cargo.toml that are not inside another unit.
fn units(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect(),
        Err(_) => return,
    };
    entries.sort();
    for e in entries {
        if e.file_name().is_some_and(|n| n == "target") {
            continue;
        }
        if e.join("Cargo.toml").exists() {
            out.push(e);
        } else {
            units(&e, out);
        }
    }
}

type Key = (String, u32, String);

fn expectations(report: &Report) -> (BTreeMap<Key, usize>, bool) {
    let mut exp = BTreeMap::new();
    let mut clean = false;
    for f in report.db.files() {
        for (i, line) in f.text.lines().enumerate() {
            let line_no = i as u32 + 1;
            if line.trim_start().starts_with("//@ clean") {
                clean = true;
            }
            let Some(pos) = line.find("//~") else {
                continue;
            };
            let mut rest = &line[pos + 3..];
            // `//~[2021] lint`: only when the file is analyzed under that edition.
            if let Some(r) = rest.strip_prefix('[') {
                let Some(end) = r.find(']') else { continue };
                if r[..end] != *f.edition.as_str() {
                    continue;
                }
                rest = r[end + 1..].trim_start();
            }
            let carets = rest.chars().take_while(|&c| c == '^').count() as u32;
            let below = rest.chars().take_while(|&c| c == 'v').count() as u32;
            let names = &rest[(carets + below) as usize..];
            let target = (line_no + below).saturating_sub(carets);
            for name in names
                .split([',', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                if !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                    break; // prose after the names
                }
                *exp.entry((f.path.clone(), target, name.to_string()))
                    .or_insert(0) += 1;
            }
        }
    }
    (exp, clean)
}

fn render_short(report: &Report) -> String {
    let mut s = String::new();
    for d in &report.diagnostics {
        let f = report.db.get(d.primary.span.file);
        let lc = f.line_col(d.primary.span.start);
        s.push_str(&format!(
            "{}:{}:{}: {}[lockstep::{}]: {}\n",
            f.path,
            lc.line,
            lc.col,
            d.level.rustc_word(),
            d.lint,
            d.message
        ));
        for l in &d.labels {
            let lf = report.db.get(l.span.file);
            let llc = lf.line_col(l.span.start);
            s.push_str(&format!(
                "    {}:{}:{}: {}\n",
                lf.path, llc.line, llc.col, l.message
            ));
        }
        for n in &d.notes {
            s.push_str(&format!("    note: {n}\n"));
        }
    }
    s
}

#[test]
fn every_lint_over_every_fixture() {
    let mut dirs = Vec::new();
    units(&fixtures_root(), &mut dirs);
    assert!(
        !dirs.is_empty(),
        "no fixture crates found under {}",
        fixtures_root().display()
    );
    let mut failures = Vec::new();
    let mut checked = 0;
    for dir in &dirs {
        let report = cargo_lockstep::analyze_fixture(dir);
        let (exp, clean) = expectations(&report);
        let mut got: BTreeMap<Key, usize> = BTreeMap::new();
        for d in &report.diagnostics {
            let f = report.db.get(d.primary.span.file);
            let line = f.line_col(d.primary.span.start).line;
            *got.entry((f.path.clone(), line, d.lint.to_string()))
                .or_insert(0) += 1;
        }
        let mut problems = Vec::new();
        if clean && !exp.is_empty() {
            problems.push("marked `//@ clean` but has `//~` expectations".to_string());
        }
        for (k, n) in &exp {
            let g = got.get(k).copied().unwrap_or(0);
            if g < *n {
                problems.push(format!(
                    "missing: {}:{}: {} (expected {n}, got {g})",
                    k.0, k.1, k.2
                ));
            }
        }
        for (k, n) in &got {
            let e = exp.get(k).copied().unwrap_or(0);
            if *n > e {
                problems.push(format!(
                    "unexpected: {}:{}: {} ({n} found, {e} expected)",
                    k.0, k.1, k.2
                ));
            }
        }
        for e in &report.io_errors {
            problems.push(format!("io: {e}"));
        }
        checked += 1;
        if !problems.is_empty() {
            failures.push(format!(
                "== {}\n{}\n-- findings:\n{}",
                dir.display(),
                problems.join("\n"),
                render_short(&report)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} fixture crates failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
