//! A real editor: Neovim's built-in LSP client (`nvim --headless`, `tests/nvim/edit_loop.lua`)
//! runs `cargo lockstep lsp` on a copy of a fixture crate, sees the findings on open, sees a
//! double lock appear when an edit that adds one is saved, and go when the edit is undone and
//! saved. `.ci/run` installs Neovim; where `nvim` is absent the test says so and passes.

mod lsp_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lsp_support::{annotated_lines, copy_dir};

const TIMEOUT: Duration = Duration::from_secs(180);

fn nvim() -> Option<String> {
    let bin = std::env::var("LOCKSTEP_NVIM").unwrap_or_else(|_| "nvim".into());
    let out = Command::new(&bin).arg("--version").output().ok()?;
    out.status.success().then_some(bin)
}

#[test]
fn neovim_shows_a_saved_double_lock_and_its_undo() {
    let Some(nvim) = nvim() else {
        eprintln!(
            "skipped: `nvim` is not on PATH (Debian's package `neovim`; `.ci/run` installs it, \
             LOCKSTEP_NVIM names another binary)"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("crate");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/locks/closure-lock");
    copy_dir(&fixture, &root);
    let lib = root.join("src/lib.rs");
    let original = std::fs::read_to_string(&lib).unwrap();
    let out = tmp.path().join("steps.txt");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nvim/edit_loop.lua");
    let xdg = tmp.path().join("xdg");
    let mut cmd = Command::new(&nvim);
    cmd.args(["--headless", "-u", "NONE", "-i", "NONE", "-n"])
        .arg("-c")
        .arg(format!("luafile {}", script.display()))
        .current_dir(&root)
        .env("LOCKSTEP_BIN", env!("CARGO_BIN_EXE_cargo-lockstep"))
        .env("LOCKSTEP_ROOT", &root)
        .env("LOCKSTEP_FILE", &lib)
        .env("LOCKSTEP_OUT", &out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for v in [
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_STATE_HOME",
        "XDG_CACHE_HOME",
    ] {
        cmd.env(v, &xdg);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("start nvim");
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let steps = std::fs::read_to_string(&out).unwrap_or_default();
    let lsp_log = std::fs::read_to_string(xdg.join("nvim/lsp.log")).unwrap_or_default();
    let context = format!(
        "steps:\n{steps}\nnvim's lsp.log (tail):\n{}",
        tail(&lsp_log)
    );
    let status = status.unwrap_or_else(|| panic!("nvim did not finish in {TIMEOUT:?}\n{context}"));
    assert!(status.success(), "nvim failed ({status})\n{context}");

    // on open: the fixture's annotated findings, at their lines
    let expected: Vec<String> = annotated_lines(&original)
        .into_iter()
        .flat_map(|(line, lints)| {
            lints
                .split(',')
                .map(|l| format!("{line}:{}", l.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut expected = expected;
    expected.sort();
    let lines: Vec<&str> = steps.lines().collect();
    assert_eq!(lines.len(), 3, "{context}");
    assert_eq!(
        lines[0],
        format!("open {}", expected.join(" ")),
        "{context}"
    );
    // after the saved edit: a double lock at the added line
    let added = original.lines().count() + 3;
    assert!(
        lines[1]
            .split(' ')
            .any(|s| s == format!("{added}:double_lock")),
        "no double lock at line {added}\n{context}"
    );
    // after undo and save: back to what was shown on open
    assert_eq!(
        lines[2],
        format!("undo {}", expected.join(" ")),
        "{context}"
    );
    assert_eq!(std::fs::read_to_string(&lib).unwrap(), original);
    eprintln!(
        "neovim showed the edit loop in {:.1?}:\n{steps}",
        started.elapsed()
    );
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
