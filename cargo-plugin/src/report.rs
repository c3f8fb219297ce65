//! The outcome of one run, what every output format renders.

use std::path::PathBuf;

use lockstep_analyzer::{Analysis, Config, Diagnostic, SourceDb};

use crate::deps::DepReport;
use crate::unit::Unit;

/// The outcome of one run: the files and the sorted findings.
#[derive(Default)]
pub struct Report {
    /// Workspace root (or the analyzed directory); `SourceFile::path` is relative to it.
    pub root: PathBuf,
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
    pub analysis: Option<Analysis>,
    /// The configuration the run used.
    pub config: Config,
    /// What reading the dependencies did.
    pub deps: DepReport,
    /// What the units' features left out.
    pub cfg: CfgReport,
}

/// What `#[cfg(feature = "..")]` decided in a run.
#[derive(Clone, Debug, Default)]
pub struct CfgReport {
    pub dropped: lockstep_analyzer::lower::cfg::CfgDropped,
    /// Units loaded without knowing their features (paths, dependencies cargo did not
    /// resolve and no manifest describes).
    pub units_unknown: usize,
}
