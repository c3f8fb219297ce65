//! `--fix` round trips over the sequence-number fixtures: apply the suggestions to a copy,
//! compare with the committed expected file, and re-analyze.

use std::path::{Path, PathBuf};

use cargo_lockstep::fix::{apply_edits, apply_fixes, FixOptions};
use lockstep_analyzer::diag::Applicability;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/seq")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.file_name().is_some_and(|n| n == "target") {
            continue;
        }
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lockstep-seq-fix-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

const SEQ_LINTS: [&str; 3] = ["seq_compare", "seq_arith", "isn_not_monotonic"];

#[test]
fn fix_round_trip_matches_expected_and_is_clean() {
    let dir = scratch("roundtrip");
    copy_dir(&fixtures().join("fix-roundtrip/input"), &dir);
    let mut log = Vec::new();
    let outcome = apply_fixes(
        || cargo_lockstep::analyze_fixture(&dir),
        &FixOptions {
            allow_dirty: true,
            max_rounds: 4,
        },
        &mut log,
    )
    .expect("fixes apply");
    let log = String::from_utf8(log).unwrap();
    assert!(outcome.skipped.is_empty(), "{log}");
    assert_eq!(outcome.applied.len(), 9, "{log}");
    // `seg.seq + seg.len < self.rcv_nxt` needs two rounds: the addition, then the comparison.
    assert_eq!(outcome.rounds, 2, "{log}");
    assert!(log.contains("Fixed src/lib.rs"), "{log}");
    let got = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    let expected_path = fixtures().join("fix-roundtrip/expected/lib.rs.fixed");
    if std::env::var_os("LOCKSTEP_BLESS").is_some() {
        std::fs::write(&expected_path, &got).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path).expect("expected file");
    assert_eq!(got, expected, "fixed text differs from the expected file");
    let again = cargo_lockstep::analyze_fixture(&dir);
    let left: Vec<String> = again
        .diagnostics
        .iter()
        .filter(|d| SEQ_LINTS.contains(&d.lint))
        .map(|d| format!("{}: {}", d.lint, d.message))
        .collect();
    assert!(left.is_empty(), "findings after --fix: {left:#?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fix_is_idempotent_on_a_clean_crate() {
    let dir = scratch("clean");
    copy_dir(&fixtures().join("compare-raw-fixed"), &dir);
    let before = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    let outcome = apply_fixes(
        || cargo_lockstep::analyze_fixture(&dir),
        &FixOptions {
            allow_dirty: true,
            max_rounds: 4,
        },
        &mut Vec::new(),
    )
    .unwrap();
    assert!(outcome.applied.is_empty());
    assert_eq!(
        before,
        std::fs::read_to_string(dir.join("src/lib.rs")).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Apply every suggestion that needs no placeholder (machine-applicable and maybe-incorrect),
/// round by round, in memory.
fn apply_all_in_memory(dir: &Path, rounds: usize) {
    for _ in 0..rounds {
        let report = cargo_lockstep::analyze_fixture(dir);
        let mut by_file: std::collections::BTreeMap<_, Vec<_>> = Default::default();
        let mut taken: Vec<(u32, u32, u32)> = Vec::new();
        for d in &report.diagnostics {
            for s in &d.suggestions {
                if !matches!(
                    s.applicability,
                    Applicability::MachineApplicable | Applicability::MaybeIncorrect
                ) {
                    continue;
                }
                let clash = s.edits.iter().any(|e| {
                    taken.iter().any(|&(f, a, b)| {
                        f == e.span.file.0
                            && e.span.start < b.max(a + 1)
                            && a < e.span.end.max(e.span.start + 1)
                    })
                });
                if clash {
                    continue;
                }
                for e in &s.edits {
                    taken.push((e.span.file.0, e.span.start, e.span.end));
                    by_file.entry(e.span.file).or_default().push(e.clone());
                }
            }
        }
        if by_file.is_empty() {
            return;
        }
        for (id, edits) in by_file {
            let f = report.db.get(id);
            let new = apply_edits(&f.text, &edits).expect("edits apply");
            std::fs::write(dir.join(&f.path), new).unwrap();
        }
    }
}

#[test]
fn maybe_incorrect_fixes_make_the_newtype_and_wrapping_fixtures_clean() {
    for name in ["newtype-derive", "wrapping-alias", "cross-file"] {
        let dir = scratch(name);
        copy_dir(&fixtures().join(name), &dir);
        apply_all_in_memory(&dir, 4);
        let again = cargo_lockstep::analyze_fixture(&dir);
        let left: Vec<String> = again
            .diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.lint, d.message))
            .collect();
        assert!(left.is_empty(), "{name}: findings after fixing: {left:#?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn dirty_tree_is_refused() {
    let dir = scratch("dirty");
    copy_dir(&fixtures().join("fix-roundtrip/input"), &dir);
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(&dir)
            .output()
    };
    let Ok(init) = git(&["init", "-q"]) else {
        return; // no git on this machine
    };
    if !init.status.success() {
        return;
    }
    // Untracked files count as uncommitted changes.
    let before = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    let err = apply_fixes(
        || cargo_lockstep::analyze_fixture(&dir),
        &FixOptions::default(),
        &mut Vec::new(),
    )
    .expect_err("dirty tree refused");
    assert!(err.to_string().contains("--allow-dirty"), "{err}");
    assert_eq!(
        before,
        std::fs::read_to_string(dir.join("src/lib.rs")).unwrap()
    );
    // Once committed, the same run goes ahead.
    let add = git(&["add", "-A"]).unwrap();
    assert!(add.status.success());
    let commit = git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.invalid",
        "-c",
        "commit.gpgsign=false",
        "commit",
        "-qm",
        "init",
    ])
    .unwrap();
    assert!(commit.status.success(), "{commit:?}");
    let outcome = apply_fixes(
        || cargo_lockstep::analyze_fixture(&dir),
        &FixOptions::default(),
        &mut Vec::new(),
    )
    .expect("clean tree accepted");
    assert_eq!(outcome.applied.len(), 9);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Keep the fixed copies for inspection when `LOCKSTEP_KEEP` names a directory.
#[test]
fn fixed_copies_for_inspection() {
    let Some(keep) = std::env::var_os("LOCKSTEP_KEEP") else {
        return;
    };
    for name in [
        "newtype-derive",
        "wrapping-alias",
        "cross-file",
        "compare-raw",
        "arith-raw",
    ] {
        let dir = PathBuf::from(&keep).join(name);
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&fixtures().join(name), &dir);
        apply_all_in_memory(&dir, 4);
    }
}

#[test]
fn a_fix_that_would_not_parse_is_not_written() {
    use lockstep_analyzer::diag::{Edit, Suggestion};
    use lockstep_analyzer::{Diagnostic, FileId, Label, Level, SourceDb, SourceFile, Span};

    let dir = scratch("unparsable");
    std::fs::create_dir_all(&dir).unwrap();
    let text = "fn a(x: u32, y: u32) -> bool { x < y }\n";
    std::fs::write(dir.join("lib.rs"), text).unwrap();
    let make = || {
        let mut db = SourceDb::new();
        let id = db.add(SourceFile::new(FileId(0), "lib.rs", text));
        let span = Span::new(id, 31, 36);
        let d = Diagnostic::new("seq_compare", Level::Deny, "m", Label::new(span, ""))
            .with_suggestion(Suggestion {
                message: "broken".into(),
                edits: vec![Edit {
                    span,
                    replacement: "x <".into(),
                }],
                applicability: Applicability::MachineApplicable,
            });
        cargo_lockstep::Report {
            root: dir.clone(),
            db,
            diagnostics: vec![d],
            ..Default::default()
        }
    };
    let mut log = Vec::new();
    let outcome = apply_fixes(
        make,
        &FixOptions {
            allow_dirty: true,
            max_rounds: 4,
        },
        &mut log,
    )
    .unwrap();
    assert!(outcome.applied.is_empty());
    assert_eq!(outcome.skipped.len(), 1);
    assert!(outcome.skipped[0].1.contains("would not parse"));
    assert_eq!(std::fs::read_to_string(dir.join("lib.rs")).unwrap(), text);
    let _ = std::fs::remove_dir_all(&dir);
}
