//! Baselines: identities without line numbers, new findings only, stale entries counted.

mod render_support;

use cargo_lockstep::baseline::{self, Baseline};
use lockstep_analyzer::{Diagnostic, Label, Level, Span};
use render_support::*;

#[test]
fn moved_code_still_matches() {
    let b = Baseline::of(&report());
    let moved = report_shifted(7);
    let line = |r: &cargo_lockstep::Report| {
        r.db.get(r.diagnostics[0].primary.span.file)
            .line_col(r.diagnostics[0].primary.span.start)
            .line
    };
    assert_eq!(line(&moved), line(&report()) + 7);
    let (new, stale) = baseline::filter(&moved, &b);
    assert!(new.is_empty(), "{new:?}");
    assert_eq!(stale, 0);
}

#[test]
fn only_a_new_finding_is_reported() {
    let b = Baseline::of(&report());
    let mut r = report_shifted(2);
    let f = r.diagnostics[0].primary.span.file;
    let extra = Diagnostic::new(
        "double_lock",
        Level::Deny,
        "`self.other` is locked while already held",
        Label::new(Span::new(f, 10, 14), ""),
    )
    .with_key("double_lock:cafe_driver::Dev::poll:self.other");
    r.diagnostics.push(extra.clone());
    let (new, stale) = baseline::filter(&r, &b);
    assert_eq!(new, vec![extra]);
    assert_eq!(stale, 0);
}

#[test]
fn fixed_findings_are_stale_entries() {
    let b = Baseline::of(&report());
    let mut r = report();
    r.diagnostics.remove(1);
    let (new, stale) = baseline::filter(&r, &b);
    assert!(new.is_empty());
    assert_eq!(stale, 1);
}

#[test]
fn equal_keys_are_told_apart_by_occurrence() {
    let mut r = report();
    let dup = r.diagnostics[0].clone();
    r.diagnostics.push(dup.clone());
    let b = Baseline::of(&r);
    assert_eq!(b.findings.iter().filter(|e| e.key == dup.key).count(), 2);
    // A third equal finding is new; one fewer leaves one stale entry.
    let mut more = report();
    more.diagnostics.push(dup.clone());
    more.diagnostics.push(dup.clone());
    let (new, stale) = baseline::filter(&more, &b);
    assert_eq!((new.len(), stale), (1, 0));
    let (new, stale) = baseline::filter(&report(), &b);
    assert_eq!((new.len(), stale), (0, 1));
}

#[test]
fn a_finding_without_key_is_identified_by_its_message() {
    let mut r = report();
    r.diagnostics[0].key.clear();
    let b = Baseline::of(&r);
    assert!(b.findings.iter().any(|e| e.key == r.diagnostics[0].message));
    let mut changed = r.clone_shallow();
    changed.diagnostics[0].message = "another hazard".into();
    assert_eq!(baseline::filter(&changed, &b).0.len(), 1);
}

trait CloneShallow {
    fn clone_shallow(&self) -> cargo_lockstep::Report;
}

impl CloneShallow for cargo_lockstep::Report {
    fn clone_shallow(&self) -> cargo_lockstep::Report {
        cargo_lockstep::Report {
            root: self.root.clone(),
            db: self.db.clone(),
            diagnostics: self.diagnostics.clone(),
            ..Default::default()
        }
    }
}

#[test]
fn file_round_trip_is_sorted_and_versioned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lockstep-baseline.json");
    baseline::write(&path, &report()).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("{\n  \"version\": 1,"));
    assert!(!text.contains("\"line"));
    let b = baseline::read(&path).unwrap();
    let mut sorted = b.findings.clone();
    sorted.sort();
    assert_eq!(b.findings, sorted);
    assert_eq!(b, Baseline::of(&report()));
    // Writing twice gives the same bytes.
    baseline::write(&path, &report_shifted(3)).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn bad_files_are_clear_errors() {
    let e = Baseline::from_json("{\"version\": 9, \"findings\": []}").unwrap_err();
    assert!(e.contains("version 9 is not supported"), "{e}");
    let e = Baseline::from_json("[]").unwrap_err();
    assert!(e.starts_with("not a lockstep baseline"), "{e}");
    let e = baseline::read(std::path::Path::new("/nonexistent/base.json")).unwrap_err();
    assert!(e.contains("cannot read baseline"), "{e}");
}
