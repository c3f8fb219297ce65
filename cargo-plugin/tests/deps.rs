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

/// A copy of a fixture tree without its lock file: the run reads the manifests.
fn copy_without_lock(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().unwrap().is_dir() {
            copy_without_lock(&src, &dst);
        } else if e.file_name() != "Cargo.lock" {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

#[test]
fn a_renamed_dependency_is_its_crate_under_the_new_name() {
    // `mysync = { package = "k-sync" }`, whose library is `ksync`; netdev names it `ksync`
    let want = [
        "src/lib.rs:17:18: error[lockstep::double_lock]",
        "src/lib.rs:23:9: warning[lockstep::blocking_under_spinlock]",
        "src/lib.rs:28:18: error[lockstep::lock_order_inversion]",
    ];
    let d = fixture("renamed");
    let tmp = tempfile::tempdir().unwrap();
    copy_without_lock(&d, tmp.path());
    // with the lock file cargo's resolve graph says the names, without it the manifests do
    for (dir, by_cargo) in [(d.as_path(), true), (tmp.path(), false)] {
        let (code, out, err) = run(dir, &[]);
        assert_eq!(code, 1, "{out}\n{err}");
        for w in want {
            assert!(out.contains(w), "{w}:\n{out}\n{err}");
        }
        assert_eq!(out.lines().count(), want.len(), "{out}");
        assert!(
            err.contains("dependencies read: k-sync 0.1.0, netdev 0.1.0"),
            "{err}"
        );
        assert_eq!(!err.contains("not by cargo"), by_cargo, "{err}");
    }
}

#[test]
fn a_workspace_member_renamed_by_another_is_the_same_crate() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    copy_without_lock(&fixture("renamed/k-sync"), &root.join("k-sync"));
    let w = |p: &str, t: &str| {
        let p = root.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    };
    w(
        "Cargo.toml",
        "[workspace]\nmembers = [\"app\", \"k-sync\"]\nresolver = \"2\"\n",
    );
    w(
        "app/Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         [dependencies]\nsync2 = { package = \"k-sync\", path = \"../k-sync\" }\n",
    );
    w(
        "app/src/lib.rs",
        "pub struct P {\n    a: sync2::Gate<u32>,\n}\n\nimpl P {\n    pub fn twice(&self) {\n        \
         let _x = self.a.lock();\n        let _y = self.a.lock();\n    }\n}\n",
    );
    for extra in [&[][..], &["--no-deps"]] {
        let (code, out, err) = run(root, &[&["--workspace"][..], extra].concat());
        assert_eq!(code, 1, "{extra:?}\n{out}\n{err}");
        assert!(
            out.contains("app/src/lib.rs:8:18: error[lockstep::double_lock]"),
            "{extra:?}\n{out}"
        );
    }
}

/// The same findings whether cargo resolves the graph or an earlier run's resolve is reused;
/// a changed manifest of a path package asks cargo again.
#[test]
fn cargos_graph_is_remembered_until_a_manifest_changes() {
    let tmp = tempfile::tempdir().unwrap();
    copy_without_lock(&fixture("renamed"), tmp.path());
    std::fs::copy(
        fixture("renamed").join("Cargo.lock"),
        tmp.path().join("Cargo.lock"),
    )
    .unwrap();
    let cached = |dir: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_cargo-lockstep"))
            .args(["lockstep", "--stats", "--message-format", "short"])
            .arg("--manifest-path")
            .arg(dir.join("Cargo.toml"))
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let remembered = "dependency graph: cargo's, remembered from an earlier run";
    let (first, err) = cached(tmp.path());
    assert!(
        !err.contains(remembered) && !err.contains("not by cargo"),
        "{err}"
    );
    assert_eq!(first.lines().count(), 3, "{first}\n{err}");
    let (second, err) = cached(tmp.path());
    assert!(err.contains(remembered), "{err}");
    assert_eq!(first, second);
    // a path dependency's manifest changes: cargo is asked again
    let m = tmp.path().join("k-sync/Cargo.toml");
    let text = std::fs::read_to_string(&m).unwrap();
    std::fs::write(&m, format!("{text}\n# edited\n")).unwrap();
    let (third, err) = cached(tmp.path());
    assert!(!err.contains(remembered), "{err}");
    assert_eq!(first, third);
    // `--no-cache` never reads it
    let (_, _, err) = run(tmp.path(), &[]);
    assert!(!err.contains(remembered), "{err}");
}

#[test]
fn one_remembered_graph_per_tree() {
    let tmp = tempfile::tempdir().unwrap();
    copy_without_lock(&fixture("renamed"), tmp.path());
    std::fs::copy(
        fixture("renamed").join("Cargo.lock"),
        tmp.path().join("Cargo.lock"),
    )
    .unwrap();
    let m = tmp.path().join("k-sync/Cargo.toml");
    let text = std::fs::read_to_string(&m).unwrap();
    for i in 0..3 {
        std::fs::write(&m, format!("{text}\n# edit {i}\n")).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_cargo-lockstep"))
            .args(["lockstep", "--message-format", "short", "--manifest-path"])
            .arg(tmp.path().join("Cargo.toml"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
    }
    let graphs = std::fs::read_dir(tmp.path().join("target/lockstep"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("resolved-"))
        .count();
    assert_eq!(graphs, 1);
}

#[test]
fn the_choice_of_dependencies_is_remembered_while_the_sources_say_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    copy_without_lock(&fixture("path-sync"), tmp.path());
    let cached = || {
        let out = Command::new(env!("CARGO_BIN_EXE_cargo-lockstep"))
            .args(["lockstep", "--stats", "--message-format", "short"])
            .arg("--manifest-path")
            .arg(tmp.path().join("Cargo.toml"))
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let remembered = "dependencies: as an earlier run of this tree chose them";
    let read = "dependencies read: ksync 0.0.0, lock_api 0.0.0";
    let (first, err) = cached();
    assert!(!err.contains(remembered) && err.contains(read), "{err}");
    let (second, err) = cached();
    assert!(err.contains(remembered) && err.contains(read), "{err}");
    assert_eq!(first, second);
    // an edit that still names `ksync`, and a swap file beside it
    let lib = tmp.path().join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, format!("{text}\n// edited\n")).unwrap();
    std::fs::write(tmp.path().join("src/.lib.rs.swp"), "x").unwrap();
    let (third, err) = cached();
    assert!(err.contains(remembered), "{err}");
    assert_eq!(first, third);
    // the dependency's name is gone from the sources: chosen again, and not read
    std::fs::write(&lib, "pub fn f() {}\n").unwrap();
    let (_, err) = cached();
    assert!(!err.contains(remembered), "{err}");
    assert!(err.contains("dependencies: 0 packages read"), "{err}");
    // a dependency's source that no longer names lock code is not read either
    std::fs::write(&lib, &text).unwrap();
    let (again, err) = cached();
    assert!(err.contains(read), "{err}");
    assert_eq!(first, again);
    let ksync = tmp.path().join("ksync/src");
    for e in std::fs::read_dir(&ksync).unwrap().flatten() {
        std::fs::write(e.path(), "pub struct Nothing;\n").unwrap();
    }
    let (_, err) = cached();
    assert!(!err.contains(remembered), "{err}");
    assert!(!err.contains("ksync 0.0.0"), "{err}");
}

#[test]
fn a_dependencys_features_decide_its_cfgs() {
    // kdev is built with `spin` only: its `sleeping` (a default) and `blocking` code is not
    // compiled; the driver's `blocking` feature turns on `kdev/blocking`
    let d = fixture("feature-cfg");
    let tmp = tempfile::tempdir().unwrap();
    copy_without_lock(&d, tmp.path());
    // with the lock file cargo's resolve says the features, without it the manifests do
    for (dir, by_cargo) in [(d.as_path(), true), (tmp.path(), false)] {
        for (flags, want) in [
            (&[][..], &["src/lib.rs:18:9"][..]),
            (
                &["--features", "blocking"][..],
                &["src/lib.rs:10:9", "src/lib.rs:12:9", "src/lib.rs:18:9"][..],
            ),
        ] {
            let (code, out, err) = run(dir, flags);
            assert_eq!(code, 0, "{out}\n{err}");
            let got: Vec<&str> = out.lines().map(|l| &l[..l.find(": ").unwrap()]).collect();
            assert_eq!(got, want, "{flags:?}\n{out}\n{err}");
            assert!(out.contains("[lockstep::blocking_under_spinlock]"), "{out}");
            assert_eq!(!err.contains("not by cargo"), by_cargo, "{err}");
        }
    }
    let (_, _, err) = run(&d, &[]);
    assert!(
        err.contains(
            "3 items under disabled features left out (among them 2 statements and 0 modules)"
        ),
        "{err}"
    );
}
