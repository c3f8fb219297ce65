//! cargo-lockstep: the command line, loading, configuration and rendering.

pub mod load;

use std::path::Path;

use lockstep_analyzer::{analyze, Config, Diagnostic, Edition, SourceDb};
use lockstep_lints::LintContext;

/// The outcome of one run: the files and the sorted findings.
pub struct Report {
    pub db: SourceDb,
    pub diagnostics: Vec<Diagnostic>,
    pub io_errors: Vec<String>,
}

/// Analyze a crate directory (its `src/lib.rs` / `src/main.rs` module trees).
pub fn analyze_dir(dir: &Path, edition: Edition, config: &Config) -> Report {
    let roots = load::roots_for_dir(dir, edition);
    let loaded = load::load_crates(dir, &roots);
    let analysis = analyze(&loaded.db, loaded.lowered, config);
    let cx = LintContext {
        db: &loaded.db,
        analysis: &analysis,
        config,
    };
    let diagnostics = lockstep_lints::run_all(&cx);
    Report {
        db: loaded.db,
        diagnostics,
        io_errors: loaded.io_errors,
    }
}

/// Analyze a fixture crate with its own `lockstep.toml`, if any, and its manifest's edition.
pub fn analyze_fixture(dir: &Path) -> Report {
    let edition = std::fs::read_to_string(dir.join("Cargo.toml"))
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                let l = l.trim();
                let v = l.strip_prefix("edition")?.trim_start().strip_prefix('=')?;
                Edition::parse(v.trim().trim_matches('"'))
            })
        })
        .unwrap_or_default();
    analyze_dir(dir, edition, &Config::default())
}

pub fn run(_args: Vec<std::ffi::OsString>) -> i32 {
    0
}
