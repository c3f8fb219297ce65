//! cargo-lockstep: the command line, loading, configuration and rendering.
//!
//! Modules in layers, lowest first; each uses only modules above it in this list:
//! - `suggest`: "did you mean …?" for misspelled names
//! - `paths`: lexical path normalization, display paths, globs and `skip` patterns, IO error wording
//! - `progress`: the progress bar on stderr
//! - `cache`: per-file lowering results under `target/lockstep/`
//! - `unit`: the units (cargo targets or paths) a run loads
//! - `deps_memo`: what choosing the dependencies read, and the remembered choice
//! - `features`: the features each package is built with (cargo's resolve, else the manifests)
//! - `deps`: dependencies read from source (which packages, where their sources are)
//! - `report`: the outcome of a run
//! - `baseline`: findings recorded in a baseline file, and matching against it
//! - `render`: the output formats of the findings (human, short, JSON, SARIF)
//! - `fix`: applying machine-applicable suggestions to the sources
//! - `graph`: the lock-order graph as data and as DOT, Mermaid or SVG
//! - `stats`: what `--stats` prints
//! - `config`: configuration files and lint levels
//! - `plan`: which units to load (`cargo metadata`, command-line paths)
//! - `load`: reading, parsing and lowering the files of the units
//! - `cli`: the command line, parsed
//! - `prepare`: the setup every analyzing command shares, and the analysis itself
//! - `demo`: the built-in examples (`cargo lockstep demo`)
//! - `lsp`: the language server (`cargo lockstep lsp`)
//! - `driver`: the commands (check, `graph`, `list`, `explain`, `demo`, `lsp`) and exit statuses
//!
//! and this file on top: the entry points of the binary and of the tests.

pub mod baseline;
pub mod cache;
pub mod cli;
pub mod config;
pub mod demo;
pub mod deps;
pub mod deps_memo;
pub mod driver;
pub mod features;
pub mod fix;
pub mod graph;
pub mod load;
pub mod lsp;
pub mod paths;
pub mod plan;
pub mod prepare;
pub mod progress;
pub mod render;
pub mod report;
pub mod stats;
pub mod suggest;
pub mod unit;

use std::path::Path;

use lockstep_analyzer::{Config, Edition};

pub use report::Report;
pub use unit::Unit;

/// Analyze a directory with a given configuration: a directory with a `Cargo.toml` by all
/// the lib and bin targets of its workspace, any other directory as every `.rs` file below it.
/// Config files are not read; levels are the lints' defaults plus `config.levels`. No registry
/// source is read (`Plan::hermetic`), as for [`analyze_fixture`].
pub fn analyze_dir(dir: &Path, edition: Edition, config: &Config) -> Report {
    let mut plan = plan::Plan {
        root: dir.to_path_buf(),
        hermetic: true,
        ..Default::default()
    };
    prepare::plan_dir(dir, edition, &mut plan);
    let settings = config::Settings {
        config: config.clone(),
        levels: config.levels.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        ..Default::default()
    };
    let levels = config::Levels::new(&settings.levels, &[]).unwrap_or_default();
    prepare::analyze_plan(plan, &settings, &levels).0
}

/// Analyze a fixture crate or workspace as `cargo lockstep --workspace` would, with its own
/// configuration (`lockstep.toml` or manifest metadata). A configuration error is reported in
/// `io_errors`. No registry source is read (`Plan::hermetic`): the result does not depend on what
/// this machine fetched before.
pub fn analyze_fixture(dir: &Path) -> Report {
    prepare::analyze_hermetic(dir)
}

/// Run `cargo lockstep` with a full argv; returns the exit status.
pub fn run(args: Vec<std::ffi::OsString>) -> i32 {
    driver::run(args)
}
