//! Units: the cargo targets (or command-line paths) a run loads, as planned and as reported.

use std::path::PathBuf;

use lockstep_analyzer::Edition;

/// A cargo target the files were loaded for (what cargo's JSON messages name).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Unit {
    pub package_name: String,
    /// cargo's package id as `cargo metadata` prints it.
    pub package_id: String,
    pub manifest_path: PathBuf,
    pub target_name: String,
    /// `lib`, `bin`, `test`, … as in cargo's `target.kind`.
    pub target_kind: Vec<String>,
    pub crate_types: Vec<String>,
    pub src_path: PathBuf,
    pub edition: Edition,
}

/// Where the files of a unit come from.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum UnitSource {
    /// A crate root and the module tree below it.
    Tree {
        root_file: PathBuf,
        /// For a root that is a plain `name.rs` module file: children live in `name/`.
        relative: Option<String>,
    },
    /// Files found by walking a directory, each with its module path.
    Files(Vec<(PathBuf, Vec<String>)>),
}

/// One unit to load: a cargo target or a path from the command line.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct UnitPlan {
    pub unit: Unit,
    /// Crate name as code spells it (`-` replaced by `_`).
    pub crate_name: String,
    pub source: UnitSource,
    /// Test, bench and example targets.
    pub test_only: bool,
    /// Follow `mod x;` declarations under `#[cfg(test)]`.
    pub follow_cfg_test: bool,
    /// The features the package is built with; `None` when they are not known (every
    /// `#[cfg(feature = "..")]` is then undecided, and kept).
    pub features: Option<lockstep_analyzer::cfg_pred::Features>,
    /// A dependency of the analyzed packages: read for what its code does, never reported.
    pub dependency: bool,
    /// The names this crate's code gives renamed dependencies (`mysync = { package =
    /// "k-sync" }`): extern name → the crate name the dependency is loaded under.
    pub extern_names: Vec<(String, String)>,
}
