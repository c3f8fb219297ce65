//! The binary end to end: exit statuses, lint levels, `list` / `explain` / `graph`.

mod cli_support;

use cli_support::{findings, fixture, lockstep, scratch};

#[test]
fn exit_status_follows_the_worst_level() {
    let clean = lockstep(&fixture("harness/clean"), &["--message-format", "short"]);
    assert_eq!(clean.code, 0, "{clean:?}");
    assert!(findings(&clean.stdout).is_empty(), "{clean:?}");

    // parse_error is a warning by default
    let warn = lockstep(
        &fixture("harness/parse-error"),
        &["--message-format", "short"],
    );
    assert_eq!(warn.code, 0, "{warn:?}");
    assert_eq!(findings(&warn.stdout).len(), 1, "{warn:?}");
    assert!(
        warn.stdout
            .contains("src/broken.rs:2:14: warning[lockstep::parse_error]: file does not parse"),
        "{warn:?}"
    );

    // the levels fixture's lockstep.toml makes it deny
    let deny = lockstep(&fixture("cli/levels"), &["--message-format", "short"]);
    assert_eq!(deny.code, 1, "{deny:?}");
    assert!(
        deny.stdout
            .contains("src/broken.rs:1:20: error[lockstep::parse_error]"),
        "{deny:?}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = fixture("harness/clean");
    let bad_flag = lockstep(&dir, &["--no-such-flag"]);
    assert_eq!(bad_flag.code, 2, "{bad_flag:?}");
    let bad_lint = lockstep(&dir, &["-D", "parse_eror"]);
    assert_eq!(bad_lint.code, 2, "{bad_lint:?}");
    assert!(
        bad_lint.stderr.contains("unknown lint `parse_eror`"),
        "{bad_lint:?}"
    );
    assert!(
        bad_lint.stderr.contains("did you mean `parse_error`"),
        "{bad_lint:?}"
    );
    let far = lockstep(&dir, &["-A", "zzzzzzzz"]);
    assert_eq!(far.code, 2, "{far:?}");
    assert!(far.stderr.contains("cargo lockstep list"), "{far:?}");
    let exclude_alone = lockstep(&dir, &["--exclude", "x"]);
    assert_eq!(exclude_alone.code, 2, "{exclude_alone:?}");
    let bad_edition = lockstep(&dir, &["--edition", "2019"]);
    assert_eq!(bad_edition.code, 2, "{bad_edition:?}");
    let help = lockstep(&dir, &["--help"]);
    assert_eq!(help.code, 0, "{help:?}");
    assert!(help.stdout.contains("Usage: cargo lockstep"), "{help:?}");
}

#[test]
fn no_manifest_is_a_clear_error() {
    // scratch directories are inside this workspace, so use the filesystem root
    if std::path::Path::new("/Cargo.toml").exists() {
        return;
    }
    let out = lockstep(std::path::Path::new("/"), &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("could not find `Cargo.toml`"),
        "{out:?}"
    );
}

#[test]
fn cli_levels_override_config_and_defaults() {
    let levels = fixture("cli/levels");
    let run = |args: &[&str]| {
        let mut a = vec!["--message-format", "short"];
        a.extend_from_slice(args);
        lockstep(&levels, &a)
    };
    let w = run(&["-W", "parse_error"]);
    assert_eq!(w.code, 0, "{w:?}");
    assert!(w.stdout.contains("warning[lockstep::parse_error]"), "{w:?}");
    let a = run(&["-A", "lockstep::parse_error"]);
    assert_eq!(a.code, 0, "{a:?}");
    assert!(findings(&a.stdout).is_empty(), "{a:?}");
    // the last flag wins
    let last = run(&["-A", "parse_error", "-D", "parse_error"]);
    assert_eq!(last.code, 1, "{last:?}");
    let last = run(&["--deny", "parse_error", "--warn", "parse_error"]);
    assert_eq!(last.code, 0, "{last:?}");

    let pe = fixture("harness/parse-error");
    let run = |args: &[&str]| {
        let mut a = vec!["--message-format", "short"];
        a.extend_from_slice(args);
        lockstep(&pe, &a)
    };
    // -D warnings turns every warning into an error
    let dw = run(&["-D", "warnings"]);
    assert_eq!(dw.code, 1, "{dw:?}");
    assert!(dw.stdout.contains("error[lockstep::parse_error]"), "{dw:?}");
    // an allowed lint is not a warning, whatever the order
    for args in [
        &["-D", "warnings", "-A", "parse_error"][..],
        &["-A", "parse_error", "-D", "warnings"][..],
    ] {
        let o = run(args);
        assert_eq!(o.code, 0, "{args:?}: {o:?}");
        assert!(findings(&o.stdout).is_empty(), "{args:?}: {o:?}");
    }
    // -A warnings hides every warning
    let aw = run(&["-A", "warnings"]);
    assert_eq!(aw.code, 0, "{aw:?}");
    assert!(findings(&aw.stdout).is_empty(), "{aw:?}");
    // a lint set to deny is not touched by `warnings`
    let mixed = run(&["-A", "warnings", "-D", "parse_error"]);
    assert_eq!(mixed.code, 1, "{mixed:?}");
}

#[test]
fn skip_leaves_paths_out() {
    let o = lockstep(&fixture("cli/levels"), &["--message-format", "short"]);
    assert_eq!(findings(&o.stdout).len(), 1, "{o:?}");
    assert!(!o.stdout.contains("skipped"), "{o:?}");
}

#[test]
fn output_file() {
    let d = scratch("output-file");
    let file = d.join("report.txt");
    let o = lockstep(
        &fixture("harness/parse-error"),
        &[
            "--message-format",
            "short",
            "--output",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stdout.is_empty(), "{o:?}");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("lockstep::parse_error"), "{written}");
    let bad = lockstep(
        &fixture("harness/parse-error"),
        &["--output", d.join("no/such/dir/r.txt").to_str().unwrap()],
    );
    assert_eq!(bad.code, 2, "{bad:?}");
}

#[test]
fn list_and_explain() {
    let dir = fixture("harness/clean");
    let list = lockstep(&dir, &["list"]);
    assert_eq!(list.code, 0, "{list:?}");
    let rows: Vec<&str> = list.stdout.lines().collect();
    assert!(rows[0].starts_with("lint"), "{list:?}");
    let pe = rows
        .iter()
        .find(|r| r.starts_with("parse_error "))
        .expect("parse_error listed");
    assert!(
        pe.contains(" warn ") && pe.contains("could not be parsed"),
        "{pe}"
    );
    // aligned: the level column starts at the same place on every row
    let col = |r: &str| {
        r.find(" warn ")
            .or_else(|| r.find(" deny "))
            .or_else(|| r.find(" note "))
            .or(r.find(" default "))
    };
    let cols: Vec<_> = rows.iter().map(|r| col(r)).collect();
    assert!(cols.windows(2).all(|w| w[0] == w[1]), "{list:?}");

    for name in ["parse_error", "lockstep::parse_error"] {
        let e = lockstep(&dir, &["explain", name]);
        assert_eq!(e.code, 0, "{e:?}");
        assert!(
            e.stdout
                .starts_with("lockstep::parse_error (default: warn)"),
            "{e:?}"
        );
        assert!(e.stdout.contains("## What it does"), "{e:?}");
    }
    let unknown = lockstep(&dir, &["explain", "unused_alow"]);
    assert_eq!(unknown.code, 2, "{unknown:?}");
    assert!(
        unknown.stderr.contains("did you mean `unused_allow`"),
        "{unknown:?}"
    );
}

#[test]
fn graph_of_a_clean_crate_is_empty_and_succeeds() {
    let o = lockstep(&fixture("harness/clean"), &["graph"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stdout.starts_with("digraph lock_order {"), "{o:?}");
    assert!(!o.stdout.contains("->"), "{o:?}");
}

#[test]
fn stats_and_fix_with_nothing_to_fix() {
    let o = lockstep(
        &fixture("cli/workspace"),
        &["--stats", "--fix", "--message-format", "short"],
    );
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stderr.contains("lockstep: 7 files, "), "{o:?}");
    assert!(o.stderr.contains("in 4 units"), "{o:?}");
    assert!(o.stderr.contains("load+parse "), "{o:?}");
    // nothing machine-applicable in a crate with only parse errors: no file is touched
    assert!(!o.stderr.contains("Fixed "), "{o:?}");
    // --allow-dirty only makes sense with --fix
    let o = lockstep(&fixture("cli/workspace"), &["--allow-dirty"]);
    assert_eq!(o.code, 2, "{o:?}");
}
