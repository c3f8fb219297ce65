//! The suppression fixtures, checked directly against `suppress::apply`: the allows of
//! `fixtures/suppress/silenced` silence real `parse_error` findings, and every stale allow of
//! `fixtures/suppress/stale` is reported at its lint name.

use std::path::Path;

use lockstep_analyzer::{lower_file, suppress, Edition, FileId, LoweredFile, SourceDb, SourceFile};

/// The lint names an allow may name: the registry's.
fn known(name: &str) -> bool {
    lockstep_lints::find_meta(name).is_some()
}

fn load(dir: &str, files: &[(&str, &[&str])]) -> (SourceDb, Vec<LoweredFile>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/suppress")
        .join(dir);
    let mut db = SourceDb::new();
    let mut lowered = Vec::new();
    for (f, module) in files {
        let text = std::fs::read_to_string(root.join(f)).unwrap();
        let module = module.iter().map(|m| m.to_string()).collect();
        let file =
            SourceFile::new(FileId(0), *f, text).with_crate("fixture", module, Edition::E2021);
        let id = db.add(file);
        lowered.push(lower_file(db.get(id)));
    }
    (db, lowered)
}

#[test]
fn allows_silence_parse_errors() {
    let (db, lowered) = load(
        "silenced",
        &[
            ("src/lib.rs", &[]),
            ("src/generated.rs", &["generated"]),
            ("src/vendored.rs", &["vendored"]),
            ("src/nightly.rs", &["nightly"]),
        ],
    );
    let errors: Vec<_> = lowered
        .iter()
        .filter_map(|l| l.parse_error.clone())
        .collect();
    assert_eq!(errors.len(), 3, "three files fail to parse");
    let (kept, suppressed) = suppress::apply(&db, &lowered, errors, known);
    assert!(kept.is_empty(), "{kept:#?}");
    assert_eq!(suppressed, 3);
}

#[test]
fn stale_allows_are_reported_at_their_names() {
    let (db, lowered) = load("stale", &[("src/lib.rs", &[])]);
    let (kept, suppressed) = suppress::apply(&db, &lowered, Vec::new(), known);
    // The stale allow inside `mod legacy` is itself allowed.
    assert_eq!(suppressed, 1);
    let got: Vec<(u32, &str, &str)> = kept
        .iter()
        .map(|d| {
            let f = db.get(d.primary.span.file);
            (
                f.line_col(d.primary.span.start).line,
                db.snippet(d.primary.span),
                d.message.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                11,
                "double_lock",
                "allow of `lockstep::double_lock` suppresses nothing"
            ),
            (
                18,
                "unreleased_lock",
                "allow of `lockstep::unreleased_lock` suppresses nothing"
            ),
            (
                24,
                "seq_compare",
                "allow of `lockstep::seq_compare` suppresses nothing"
            ),
            (
                24,
                "seq_arith",
                "allow of `lockstep::seq_arith` suppresses nothing"
            ),
            (
                31,
                "dobule_lock",
                "allow names `lockstep::dobule_lock`, a lint that does not exist"
            ),
            (
                36,
                "double_lock",
                "allow of `lockstep::double_lock` suppresses nothing"
            ),
            (
                42,
                "irq_unsafe_lock",
                "allow of `lockstep::irq_unsafe_lock` suppresses nothing"
            ),
        ]
    );
    assert!(kept.iter().all(|d| d.lint == "unused_allow"));
    assert_eq!(
        kept[5].notes,
        vec!["the allow gives the reason: audited in review".to_string()]
    );
}
