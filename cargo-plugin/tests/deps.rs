//! Dependencies read from source, end to end through the binary: a path dependency, a vendored
//! registry crate, and a dependency whose source is missing (its lock known by name only, one
//! level weaker).

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/deps")
        .join(name)
}

fn run(dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-lockstep"))
        .args([
            "lockstep",
            "--no-cache",
            "--stats",
            "--message-format",
            "short",
        ])
        .args(extra)
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_path_dependency_lends_its_lock_types() {
    let d = fixture("path-sync");
    let (code, out, err) = run(&d, &[]);
    assert_eq!(code, 1, "{out}\n{err}");
    for want in [
        "error[lockstep::double_lock]",
        "error[lockstep::lock_order_inversion]",
        "error[lockstep::irq_unsafe_lock]",
        "warning[lockstep::blocking_under_spinlock]",
    ] {
        assert!(out.contains(want), "{want}:\n{out}");
    }
    assert!(
        err.contains("dependencies read: ksync 0.0.0, lock_api 0.0.0"),
        "{err}"
    );
    // nothing is reported inside the dependencies
    assert!(!out.contains("ksync/"), "{out}");
    // without them the locks are invisible
    let (code, out, err) = run(&d, &["--no-deps"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!out.contains("lockstep::"), "{out}");
    assert!(err.contains("dependencies: not read (--no-deps)"), "{err}");
}

#[test]
fn a_vendored_dependency_is_read() {
    let (code, out, err) = run(&fixture("vendored"), &[]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("src/lib.rs:12:18: error[lockstep::lock_order_inversion]"),
        "{out}"
    );
    assert!(err.contains("dependencies read: spinlatch 0.3.1"), "{err}");
}

#[test]
fn a_lock_of_a_missing_dependency_is_one_level_weaker() {
    let d = fixture("missing");
    let (code, out, err) = run(&d, &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("src/lib.rs:11:18: warning[lockstep::double_lock]"),
        "{out}"
    );
    assert!(
        err.contains("locks known by name only (source not read; their findings one level weaker): 2 acquisitions of 1 types"),
        "{err}"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_cargo-lockstep"))
        .args([
            "lockstep",
            "--no-cache",
            "--color",
            "never",
            "--manifest-path",
        ])
        .arg(d.join("Cargo.toml"))
        .output()
        .unwrap();
    let human = String::from_utf8_lossy(&o.stdout);
    assert!(
        human.contains("is taken for a lock by its name only: its crate's source was not read"),
        "{human}"
    );
}
