//! `cargo lockstep demo`: the built-in examples, run from anywhere, their report pinned.

mod cli_support;

use std::path::Path;
use std::process::Command;

use cli_support::scratch;

fn snapshot() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/demo.txt")
}

/// The demo's report over the fixtures themselves, as the binary prints it.
#[test]
fn the_demo_report_is_pinned() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut got = Vec::new();
    let n = cargo_lockstep::demo::report(&fixtures, &mut got).expect("report");
    let got = String::from_utf8(got).expect("utf-8");
    assert_eq!(n, 17, "{got}");
    if std::env::var_os("LOCKSTEP_BLESS").is_some() {
        std::fs::write(snapshot(), &got).expect("bless");
        return;
    }
    let want = std::fs::read_to_string(snapshot()).expect("snapshot (bless with LOCKSTEP_BLESS=1)");
    assert_eq!(
        want, got,
        "the demo report changed (bless with LOCKSTEP_BLESS=1 if intended)"
    );
}

/// The installed binary needs no checkout: it writes its embedded sources to a temporary
/// directory, reports every knowledge-base finding, and leaves nothing behind.
#[test]
fn the_demo_runs_from_an_empty_directory() {
    let cwd = scratch("demo-cwd");
    let tmp = scratch("demo-tmp");
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-lockstep"))
        .args(["lockstep", "demo"])
        .current_dir(&cwd)
        .env("TMPDIR", &tmp)
        .env("NO_COLOR", "1")
        .output()
        .expect("run cargo-lockstep");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = std::fs::read_to_string(snapshot()).expect("snapshot");
    assert!(stdout.starts_with(&want), "{stdout}");
    assert!(
        stdout.contains("lockstep demo: 17 findings in the five knowledge-base bug crates, none in the reference stack"),
        "{stdout}"
    );
    let left: Vec<_> = std::fs::read_dir(&tmp).expect("tmp").collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
