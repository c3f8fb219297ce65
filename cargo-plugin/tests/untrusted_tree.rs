//! Analysing an untrusted tree runs none of its code, also when the dependency graph is read:
//! the tree's `.cargo/config.toml` names a `rustc`, a `rustc-wrapper` and a
//! `rustc-workspace-wrapper`, and its `rust-toolchain.toml` a toolchain by path, all of them
//! scripts that leave a mark when run; `cargo metadata` with dependencies would run the first
//! three and rustup's proxies the last. The run must read the dependency and leave no mark,
//! and leave the tree's lock file as it was.

use std::path::Path;
use std::process::Command;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[cfg(unix)]
fn script(path: &Path, mark: &Path) {
    use std::os::unix::fs::PermissionsExt;
    write(
        path,
        &format!(
            "#!/bin/sh\necho \"$0 $*\" >> '{}'\nexit 1\n",
            mark.display()
        ),
    );
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(unix)]
#[test]
fn no_program_of_the_tree_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    let mark = tmp.path().join("MARK");
    for s in [
        "rustc",
        "wrapper",
        "ws-wrapper",
        "tc/bin/cargo",
        "tc/bin/rustc",
    ] {
        script(&tree.join("evil").join(s), &mark);
    }
    let evil = tree.join("evil");
    write(
        &tree.join(".cargo/config.toml"),
        &format!(
            "[build]\nrustc = '{0}/rustc'\nrustc-wrapper = '{0}/wrapper'\n\
             rustc-workspace-wrapper = '{0}/ws-wrapper'\n",
            evil.display()
        ),
    );
    write(
        &tree.join("rust-toolchain.toml"),
        &format!("[toolchain]\npath = '{}/tc'\n", evil.display()),
    );
    write(
        &tree.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nhelper = { path = \"helper\" }\n\n[workspace]\nexclude = [\"helper\"]\n",
    );
    // with a lock file, so the dependency graph is cargo's (`cargo metadata --locked`)
    write(
        &tree.join("Cargo.lock"),
        "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n         dependencies = [\n \"helper\",\n]\n\n[[package]]\nname = \"helper\"\nversion = \"0.1.0\"\n",
    );
    write(
        &tree.join("src/lib.rs"),
        "pub fn twice(d: &helper::Dev) {\n    let _a = d.state.lock();\n    let _b = d.state.lock();\n}\n",
    );
    write(
        &tree.join("helper/Cargo.toml"),
        "[package]\nname = \"helper\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write(
        &tree.join("helper/src/lib.rs"),
        "pub struct Dev {\n    pub state: Latch,\n}\n\
         pub struct Latch(std::sync::Mutex<u32>);\n\
         impl Latch {\n    pub fn lock(&self) -> std::sync::MutexGuard<'_, u32> {\n        \
         self.0.lock().unwrap()\n    }\n}\n",
    );
    let lock_before = std::fs::read(tree.join("Cargo.lock")).unwrap();
    // once as `cargo lockstep` (cargo names itself in CARGO), once run directly
    for as_subcommand in [true, false] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-lockstep"));
        cmd.args([
            "lockstep",
            "--stats",
            "--no-cache",
            "--message-format",
            "short",
        ])
        .current_dir(&tree);
        for k in [
            "RUSTUP_TOOLCHAIN",
            "RUSTC",
            "RUSTC_WRAPPER",
            "RUSTC_WORKSPACE_WRAPPER",
        ] {
            cmd.env_remove(k);
        }
        if !as_subcommand {
            cmd.env_remove("CARGO");
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !mark.exists(),
            "a program of the tree ran (as_subcommand: {as_subcommand}):\n{}\n{stderr}",
            std::fs::read_to_string(&mark).unwrap_or_default()
        );
        assert!(
            stderr.contains("dependencies: 1 packages read"),
            "the dependency was not read (as_subcommand: {as_subcommand}):\n{stderr}"
        );
        assert!(
            !stderr.contains("not by cargo"),
            "the graph was not cargo's (as_subcommand: {as_subcommand}):\n{stderr}"
        );
        // the dependency's lock type is known from its code: the double lock is found
        assert!(
            stdout.contains("src/lib.rs:3:14: error[lockstep::double_lock]"),
            "{stdout}\n{stderr}"
        );
        assert_eq!(std::fs::read(tree.join("Cargo.lock")).unwrap(), lock_before);
    }
}

/// Without a lock file the dependencies are found from the manifests: cargo would write one.
#[test]
fn no_lock_file_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path();
    write(
        &tree.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nhelper = { path = \"helper\" }\n\n[workspace]\nexclude = [\"helper\"]\n",
    );
    write(&tree.join("src/lib.rs"), "pub use helper::Latch;\n");
    write(
        &tree.join("helper/Cargo.toml"),
        "[package]\nname = \"helper\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write(
        &tree.join("helper/src/lib.rs"),
        "pub struct Latch(std::sync::Mutex<u32>);\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-lockstep"))
        .args(["lockstep", "--stats", "--no-cache"])
        .current_dir(tree)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("dependencies: 1 packages read"), "{stderr}");
    assert!(stderr.contains("not by cargo (no Cargo.lock)"), "{stderr}");
    assert!(!tree.join("Cargo.lock").exists());
    assert!(!tree.join("helper/Cargo.lock").exists());
}
