//! Helpers for the command-line tests: run the built binary, make scratch crates.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Run `cargo lockstep ARGS` (as cargo runs it) in `dir`.
pub fn lockstep(dir: &Path, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-lockstep"))
        .arg("lockstep")
        .args(args)
        .current_dir(dir)
        .env_remove("CARGO_TERM_COLOR")
        .env("NO_COLOR", "1")
        .output()
        .expect("run cargo-lockstep");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(rel)
}

/// A fresh, empty scratch directory.
pub fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

pub fn write(path: &Path, content: impl AsRef<[u8]>) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("create dir");
    }
    std::fs::write(path, content).expect("write file");
}

/// A standalone package (its own `[workspace]`) in a scratch directory.
pub fn package(name: &str, edition: &str, files: &[(&str, &str)]) -> PathBuf {
    let d = scratch(name);
    write(
        &d.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"{edition}\"\n\n[workspace]\n"
        ),
    );
    for (f, text) in files {
        write(&d.join(f), text);
    }
    d
}

/// Lines of `s` that report a finding (`path:line:col: level[lockstep::lint]: ...`).
pub fn findings(s: &str) -> Vec<&str> {
    s.lines().filter(|l| l.contains("[lockstep::")).collect()
}
