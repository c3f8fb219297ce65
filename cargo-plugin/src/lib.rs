//! cargo-lockstep: the command line, loading, configuration and rendering.

pub mod baseline;
pub mod cache;
pub mod cli;
pub mod config;
pub mod deps;
pub mod driver;
pub mod fix;
pub mod graph;
pub mod load;
pub mod plan;
pub mod progress;
pub mod render;
pub mod stats;

use std::path::Path;

use lockstep_analyzer::{Config, Diagnostic, Edition, SourceDb};

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
    /// The analysis the findings came from (lock graph, call resolution), for `graph` and
    /// `--stats`.
    pub analysis: Option<lockstep_analyzer::Analysis>,
    /// The configuration the run used.
    pub config: lockstep_analyzer::Config,
    /// What reading the dependencies did.
    pub deps: deps::DepReport,
}

/// Analyze a directory with a given configuration: a directory with a `Cargo.toml` by all
/// the lib and bin targets of its workspace, any other directory as every `.rs` file below it.
/// Config files are not read; levels are the lints' defaults plus `config.levels`.
pub fn analyze_dir(dir: &Path, edition: Edition, config: &Config) -> Report {
    let mut plan = plan::Plan {
        root: dir.to_path_buf(),
        ..Default::default()
    };
    plan_dir(dir, edition, &mut plan);
    let settings = config::Settings {
        config: config.clone(),
        levels: config.levels.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        ..Default::default()
    };
    let levels = config::Levels::new(&settings.levels, &[]).unwrap_or_default();
    driver::analyze_plan(plan, &settings, &levels).0
}

fn plan_dir(dir: &Path, edition: Edition, plan: &mut plan::Plan) {
    let manifest = dir.join("Cargo.toml");
    if manifest.is_file() {
        let sel = cli::Selection {
            workspace: true,
            ..Default::default()
        };
        if let Err(e) = plan::plan_manifest(&manifest, &sel, plan) {
            plan.io_errors.push(e);
        }
    } else {
        let unit = plan::plan_walk(dir, edition, &mut plan.io_errors, dir);
        plan.units.push(unit);
        plan.config_dirs.push(dir.to_path_buf());
    }
}

/// Analyze a fixture crate or workspace as `cargo lockstep --workspace` would, with its own
/// configuration (`lockstep.toml` or manifest metadata). A configuration error is reported in
/// `io_errors`.
pub fn analyze_fixture(dir: &Path) -> Report {
    let mut plan = plan::Plan {
        root: dir.to_path_buf(),
        ..Default::default()
    };
    plan_dir(dir, Edition::E2021, &mut plan);
    let settings = match config::load_settings(&plan.config_dirs) {
        Ok(s) => s,
        Err(e) => {
            return Report {
                root: dir.to_path_buf(),
                io_errors: vec![e.render(false)],
                ..Default::default()
            }
        }
    };
    let levels = match config::Levels::new(&settings.levels, &[]) {
        Ok(l) => l,
        Err(e) => {
            return Report {
                root: dir.to_path_buf(),
                io_errors: vec![e],
                ..Default::default()
            }
        }
    };
    driver::analyze_plan(plan, &settings, &levels).0
}

/// Run `cargo lockstep` with a full argv; returns the exit status.
pub fn run(args: Vec<std::ffi::OsString>) -> i32 {
    driver::run(args)
}
