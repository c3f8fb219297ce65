//! cargo-lockstep: the command line, loading, configuration and rendering.

pub mod fix;
pub mod load;

use std::path::Path;

use lockstep_analyzer::{analyze, Config, Diagnostic, Edition, SourceDb};
use lockstep_lints::LintContext;

/// A cargo target the files were loaded for (what cargo's JSON messages name).
#[derive(Clone, Debug, Default)]
pub struct Unit {
    pub package_name: String,
    /// cargo's package id as `cargo metadata` prints it.
    pub package_id: String,
    pub manifest_path: std::path::PathBuf,
    pub target_name: String,
    /// `lib`, `bin`, `test`, … as in cargo's `target.kind`.
    pub target_kind: Vec<String>,
    pub crate_types: Vec<String>,
    pub src_path: std::path::PathBuf,
    pub edition: Edition,
}

/// The outcome of one run: the files and the sorted findings.
#[derive(Default)]
pub struct Report {
    /// Workspace root (or the analyzed directory); `SourceFile::path` is relative to it.
    pub root: std::path::PathBuf,
    pub db: SourceDb,
    /// Units the files were loaded for; `file_units[file.id]` indexes `units`.
    pub units: Vec<Unit>,
    pub file_units: Vec<usize>,
    /// Findings after levels and suppressions, in output order.
    pub diagnostics: Vec<Diagnostic>,
    /// Files or modules that could not be read.
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
        root: dir.to_path_buf(),
        db: loaded.db,
        diagnostics,
        io_errors: loaded.io_errors,
        ..Default::default()
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
