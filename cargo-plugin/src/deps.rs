//! Dependencies read from source. `cargo metadata --offline` with the dependency graph says
//! which packages the analyzed ones depend on and where their sources are (registry sources
//! under `$CARGO_HOME`, `vendor/` directories, path and git dependencies, other workspace
//! members); their library targets are loaded like the analyzed code, and their findings are
//! never reported. Nothing is built, and nothing of the analyzed tree runs: see
//! [`untrusted_tree_env`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cargo_metadata::{semver, DependencyKind, Metadata, Package, PackageId, TargetKind};
use lockstep_analyzer::cfg_pred::Features;
use lockstep_analyzer::Edition;

use crate::deps_memo::{cargo_home, replace_memo, source_name_use, source_names_lock_code};
use crate::unit::{Unit, UnitPlan, UnitSource};

/// Source bytes of dependencies read in one run, at most: the packages nearest to the analyzed
/// code come first, and the rest are left out (and said to be) once this is reached.
pub const DEPENDENCY_SOURCE_BUDGET: u64 = 16 << 20;

/// A dependency of a dependency larger than this is not read: what the analyzed code reaches of
/// it goes through the direct dependency, and the large crates there (an async runtime, a
/// parser) cost a run more than their locks tell it. Direct dependencies are read at any size.
pub const TRANSITIVE_PACKAGE_LIMIT: u64 = 2 << 20;

/// Files of one dependency package looked at, at most (a package larger than that is read only
/// as far as its module tree goes, but its mentions of further dependencies are not searched).
const MAX_SCAN_FILES: usize = 4000;

/// What reading the dependencies did, for `--stats` and the run's notes.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct DepReport {
    /// Packages whose sources are loaded, as `name version`.
    pub read: Vec<String>,
    /// Dependencies that are procedural macros (their code runs at build time only).
    pub proc_macros: usize,
    /// Packages left out because another package of the same crate name was nearer.
    pub shadowed: usize,
    /// Dependencies left out because nothing in their source is lock, interrupt or sleeping
    /// code the analysis could learn from.
    pub no_lock_code: usize,
    /// Dependencies of dependencies left out by [`TRANSITIVE_PACKAGE_LIMIT`].
    pub large_transitive: Vec<String>,
    /// Source bytes of the packages read.
    pub bytes: u64,
    /// The first package left out by [`DEPENDENCY_SOURCE_BUDGET`].
    pub budget_hit: Option<String>,
    /// Why the dependency graph could not be read (the run goes on without dependencies).
    pub unavailable: Option<String>,
    /// Why cargo could not resolve the graph offline; the dependencies were then found from
    /// the manifests and the sources on this machine.
    pub unresolved: Option<String>,
    /// `--no-deps` was given.
    pub disabled: bool,
    /// Cargo's graph came from an earlier run's resolve of the same tree ([`ResolveMemo`]).
    pub remembered: bool,
    /// The dependencies chosen by an earlier run of the same tree, nothing it read having
    /// changed since ([`crate::deps_memo`]).
    pub plan_remembered: bool,
}

/// Environment for every cargo or rustc started on an untrusted tree. A `.cargo/config.toml`
/// inside the tree may set `build.rustc`, `build.rustc-wrapper` or
/// `build.rustc-workspace-wrapper` to a program of its own, which `cargo metadata` runs to learn
/// the target's configuration; a `rust-toolchain.toml` may name a toolchain by `path`, which
/// rustup's proxies run for any `cargo` or `rustc` started inside the tree. The variables set
/// here take precedence over both: the toolchain that the user's environment selects outside
/// the tree (`RUSTUP_TOOLCHAIN` as set, else rustup's default), its `rustc` (`RUSTC` as set,
/// else the one beside the running cargo, else `rustc` on `PATH`), and no wrappers unless the
/// user's own environment names them.
pub fn untrusted_tree_env() -> &'static [(OsString, OsString)] {
    static ENV: OnceLock<Vec<(OsString, OsString)>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Vec::new();
        let set = |k: &str| std::env::var_os(k).is_some();
        if !set("RUSTUP_TOOLCHAIN") {
            if let Some(t) = rustup_default() {
                env.push(("RUSTUP_TOOLCHAIN".into(), t.into()));
            }
        }
        if !set("RUSTC") {
            let beside_cargo = std::env::var_os("CARGO")
                .map(PathBuf::from)
                .and_then(|c| c.parent().map(|d| d.join("rustc")))
                .filter(|r| r.is_file());
            let rustc = beside_cargo.map_or_else(|| OsString::from("rustc"), Into::into);
            env.push(("RUSTC".into(), rustc));
        }
        // an empty value overrides the configuration and runs no wrapper
        for k in ["RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER"] {
            if !set(k) {
                env.push((k.into(), OsString::new()));
            }
        }
        env
    })
}

/// rustup's default toolchain (`rustup default` reads no directory override).
fn rustup_default() -> Option<String> {
    let out = std::process::Command::new("rustup")
        .arg("default")
        .current_dir(std::env::temp_dir())
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let name = text.split_whitespace().next()?;
    // "no default toolchain configured" and the like are not names
    (name.contains('-') || name.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .then(|| name.to_string())
}

/// The host triple, asked of the trusted `rustc` (once per run).
pub fn host_triple() -> Option<String> {
    static HOST: OnceLock<Option<String>> = OnceLock::new();
    HOST.get_or_init(ask_host).clone()
}

fn ask_host() -> Option<String> {
    let env = untrusted_tree_env();
    let rustc = env
        .iter()
        .find(|(k, _)| k == "RUSTC")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var_os("RUSTC"))
        .unwrap_or_else(|| "rustc".into());
    let mut cmd = std::process::Command::new(rustc);
    cmd.arg("-vV")
        .current_dir(std::env::temp_dir())
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_string())
}

/// A library target, as it is loaded.
#[derive(Clone)]
struct Lib {
    name: String,
    src: PathBuf,
    edition: Edition,
    kinds: Vec<String>,
    crate_types: Vec<String>,
}

/// A package as the dependency walk sees it.
struct Pkg {
    name: String,
    version: String,
    id: String,
    manifest: PathBuf,
    lib: Option<Lib>,
    proc_macro: bool,
    /// Crate roots whose sources are searched for the names of dependencies.
    roots: Vec<PathBuf>,
    /// Normal dependencies: extern crate name and package; `None` until asked (the local
    /// graph reads a manifest only when its package is reached).
    deps: Option<Vec<(String, usize)>>,
    /// The features cargo's resolve enables (`None` in the local graph).
    features: Option<Features>,
}

/// The packages the walk may reach: cargo's resolve graph, or one read from the manifests and
/// the sources already on this machine when cargo cannot resolve offline.
struct Graph {
    pkgs: Vec<Pkg>,
    /// `manifest path` → package, for the local graph.
    by_manifest: BTreeMap<PathBuf, usize>,
    /// Sources replacing the registry (`[source.*] directory = "vendor"`), for the local graph.
    vendored: Versions,
    /// Whether the local graph may take sources from `$CARGO_HOME/registry/src`.
    registry: bool,
    /// The graph is cargo's resolve.
    resolved: bool,
}

/// Package sources by name, newest version first.
type Versions = BTreeMap<String, Vec<(semver::Version, PathBuf)>>;

impl Graph {
    fn from_metadata(meta: &Metadata) -> Option<Graph> {
        let resolve = meta.resolve.as_ref()?;
        let index: BTreeMap<&PackageId, usize> = meta
            .packages
            .iter()
            .enumerate()
            .map(|(i, p)| (&p.id, i))
            .collect();
        let nodes: BTreeMap<&PackageId, &cargo_metadata::Node> =
            resolve.nodes.iter().map(|n| (&n.id, n)).collect();
        let pkgs = meta
            .packages
            .iter()
            .map(|p| {
                let mut g = pkg_of_metadata(p);
                let deps = nodes.get(&p.id).map(|n| {
                    n.deps
                        .iter()
                        .filter(|d| {
                            d.dep_kinds.is_empty()
                                || d.dep_kinds.iter().any(|k| k.kind == DependencyKind::Normal)
                        })
                        .filter_map(|d| Some((d.name.clone(), *index.get(&d.pkg)?)))
                        .collect()
                });
                g.deps = Some(deps.unwrap_or_default());
                g.features = crate::features::from_resolve(meta, &p.id);
                g
            })
            .collect();
        Some(Graph {
            pkgs,
            by_manifest: BTreeMap::new(),
            vendored: Versions::new(),
            registry: true,
            resolved: true,
        })
    }

    /// The normal dependencies of package `i`, sorted by name.
    fn deps_of(&mut self, i: usize) -> Vec<(String, usize)> {
        if self.pkgs[i].deps.is_none() {
            let manifest = self.pkgs[i].manifest.clone();
            let deps = local_deps(&manifest, &self.vendored, self.registry)
                .into_iter()
                .filter_map(|(rename, m)| {
                    let d = self.local_pkg(&m)?;
                    // as cargo's `--extern`: the rename, else the library's name
                    let name = rename.unwrap_or_else(|| self.pkgs[d].crate_name());
                    Some((name, d))
                })
                .collect();
            self.pkgs[i].deps = Some(deps);
        }
        let mut d = self.pkgs[i].deps.clone().unwrap_or_default();
        d.sort();
        d.dedup();
        d
    }

    /// The names package `i`'s code gives its dependencies that are not their crate names.
    fn extern_names(&mut self, i: usize) -> Vec<(String, String)> {
        self.deps_of(i)
            .into_iter()
            .filter_map(|(name, d)| {
                let name = name.replace('-', "_");
                let krate = self.pkgs[d].crate_name();
                (name != krate).then_some((name, krate))
            })
            .collect()
    }

    fn local_pkg(&mut self, manifest: &Path) -> Option<usize> {
        if let Some(&i) = self.by_manifest.get(manifest) {
            return Some(i);
        }
        let p = read_local_package(manifest)?;
        self.pkgs.push(p);
        let i = self.pkgs.len() - 1;
        self.by_manifest.insert(manifest.to_path_buf(), i);
        Some(i)
    }
}

impl Pkg {
    /// The name its library is loaded under (code's spelling): the library target's name,
    /// else the package's.
    fn crate_name(&self) -> String {
        self.lib
            .as_ref()
            .map_or(&self.name, |l| &l.name)
            .replace('-', "_")
    }
}

fn pkg_of_metadata(p: &Package) -> Pkg {
    let lib = p.targets.iter().find(|t| is_library(t)).map(|t| Lib {
        name: t.name.clone(),
        src: t.src_path.clone().into_std_path_buf(),
        edition: Edition::parse(t.edition.as_str()).unwrap_or(Edition::E2021),
        kinds: t.kind.iter().map(|k| k.to_string()).collect(),
        crate_types: t.crate_types.iter().map(|k| k.to_string()).collect(),
    });
    Pkg {
        name: p.name.to_string(),
        version: p.version.to_string(),
        id: p.id.repr.clone(),
        manifest: p.manifest_path.clone().into_std_path_buf(),
        lib,
        proc_macro: p
            .targets
            .iter()
            .any(|t| t.kind.contains(&TargetKind::ProcMacro)),
        roots: p
            .targets
            .iter()
            .filter(|t| !t.kind.contains(&TargetKind::CustomBuild))
            .map(|t| t.src_path.clone().into_std_path_buf())
            .collect(),
        deps: None,
        features: None,
    }
}

/// Units for the library targets of the dependencies the `selected` packages reach, nearest
/// first: normal (not build or dev) dependencies that the depending package's sources name,
/// transitively, up to [`DEPENDENCY_SOURCE_BUDGET`]. Procedural macros are left out, and so is a
/// package whose crate name an analyzed package or a nearer dependency already has. With
/// `meta` cargo's resolve graph is walked; without it (cargo could not resolve offline), the
/// manifests: path dependencies where they point, registry dependencies as the newest version
/// whose source is under `$CARGO_HOME/registry/src` and matches the requirement.
///
/// A package is loaded once, under its library's name, whatever its dependents call it; the
/// names that differ (renamed dependencies, `mysync = { package = "k-sync" }`) are returned by
/// package id, for the selected packages and the units, as each crate's extern names.
pub fn dependency_units(
    meta: Option<&Metadata>,
    selected: &[&Package],
    registry: bool,
    root_features: &BTreeMap<String, Features>,
) -> (Vec<UnitPlan>, DepReport, ExternNames) {
    let mut report = DepReport::default();
    let mut graph = match meta.and_then(Graph::from_metadata) {
        Some(g) => g,
        None => Graph {
            pkgs: Vec::new(),
            by_manifest: BTreeMap::new(),
            vendored: selected
                .first()
                .and_then(|p| p.manifest_path.parent())
                .map(|d| vendored_sources(d.as_std_path()))
                .unwrap_or_default(),
            registry,
            resolved: false,
        },
    };
    // the analyzed packages, by position in the graph
    let mut roots = Vec::new();
    for p in selected {
        let i = match graph.pkgs.iter().position(|g| g.id == p.id.repr) {
            Some(i) => i,
            None => {
                graph.pkgs.push(pkg_of_metadata(p));
                let i = graph.pkgs.len() - 1;
                graph
                    .by_manifest
                    .insert(p.manifest_path.clone().into_std_path_buf(), i);
                i
            }
        };
        roots.push(i);
    }
    // crate names already taken: the analyzed targets'
    let mut taken: BTreeSet<String> = selected
        .iter()
        .flat_map(|p| p.targets.iter())
        .map(|t| t.name.replace('-', "_"))
        .collect();
    let mut units = Vec::new();
    // the package of each unit
    let mut loaded = Vec::new();
    let mut queue: VecDeque<usize> = roots.iter().copied().collect();
    let mut visited: BTreeSet<usize> = roots.iter().copied().collect();
    while let Some(i) = queue.pop_front() {
        let deps = graph.deps_of(i);
        if deps.is_empty() {
            continue;
        }
        let names: Vec<&str> = deps.iter().map(|(n, _)| n.as_str()).collect();
        let analyzed = roots.contains(&i);
        let named = named_in_sources(&graph.pkgs[i].roots, &names);
        for (extern_name, d) in &deps {
            let dep = &graph.pkgs[*d];
            let Some(lib) = dep.lib.clone() else {
                if dep.proc_macro && visited.insert(*d) {
                    report.proc_macros += 1;
                }
                continue;
            };
            // A package that does not name it may be followed by one that does.
            let reached = if analyzed {
                named.anywhere.contains(extern_name.as_str())
            } else {
                named.exposed.contains(extern_name.as_str())
            };
            if !reached || !visited.insert(*d) {
                continue;
            }
            let scan = scan_package(&lib.src);
            if !scan.lock_words {
                report.no_lock_code += 1;
                continue;
            }
            let crate_name = lib.name.replace('-', "_");
            if !taken.insert(crate_name.clone()) {
                report.shadowed += 1;
                continue;
            }
            if report.budget_hit.is_some() {
                continue;
            }
            let label = format!("{} {}", dep.name, dep.version);
            if !analyzed && scan.bytes > TRANSITIVE_PACKAGE_LIMIT {
                report.large_transitive.push(label);
                continue;
            }
            if report.bytes + scan.bytes > DEPENDENCY_SOURCE_BUDGET {
                report.budget_hit = Some(label);
                continue;
            }
            report.bytes += scan.bytes;
            report.read.push(label);
            units.push(UnitPlan {
                unit: Unit {
                    package_name: dep.name.clone(),
                    package_id: dep.id.clone(),
                    manifest_path: dep.manifest.clone(),
                    target_name: lib.name.clone(),
                    target_kind: lib.kinds.clone(),
                    crate_types: lib.crate_types.clone(),
                    src_path: lib.src.clone(),
                    edition: lib.edition,
                },
                crate_name,
                source: UnitSource::Tree {
                    root_file: lib.src.clone(),
                    relative: None,
                },
                test_only: false,
                follow_cfg_test: false,
                features: None,
                dependency: true,
                extern_names: Vec::new(),
            });
            loaded.push(*d);
            queue.push_back(*d);
        }
    }
    let features = unit_features(&mut graph, &roots, &loaded, root_features);
    for (u, d) in units.iter_mut().zip(&loaded) {
        u.features = features.get(d).cloned();
    }
    let mut extern_names = ExternNames::new();
    for &i in roots.iter().chain(&loaded) {
        let names = graph.extern_names(i);
        if !names.is_empty() {
            extern_names.insert(graph.pkgs[i].id.clone(), names);
        }
    }
    (units, report, extern_names)
}

/// The features of the `loaded` packages: cargo's resolve, else unified from the manifests
/// from what the `roots` are built with (`crate::features::unify`).
fn unit_features(
    graph: &mut Graph,
    roots: &[usize],
    loaded: &[usize],
    root_features: &BTreeMap<String, Features>,
) -> BTreeMap<usize, Features> {
    if graph.resolved {
        return (loaded.iter())
            .filter_map(|&d| Some((d, graph.pkgs[d].features.clone()?)))
            .collect();
    }
    let wanted: BTreeSet<usize> = roots.iter().chain(loaded).copied().collect();
    let nodes: Vec<crate::features::Node> = (0..graph.pkgs.len())
        .map(|i| crate::features::Node {
            manifest: graph.pkgs[i].manifest.clone(),
            deps: if wanted.contains(&i) {
                let deps = graph.deps_of(i);
                deps.into_iter()
                    .map(|(_, d)| (d, graph.pkgs[d].name.clone()))
                    .collect()
            } else {
                Vec::new()
            },
        })
        .collect();
    let known: Vec<(usize, Features)> = (roots.iter())
        .filter_map(|&r| Some((r, root_features.get(&graph.pkgs[r].id)?.clone())))
        .collect();
    let mut got = crate::features::unify(&nodes, &known);
    got.retain(|d, _| loaded.contains(d));
    got
}

/// Extern names that are not the crate names of their packages, by package id.
pub type ExternNames = BTreeMap<String, Vec<(String, String)>>;

/// The renamed dependencies package `p` declares (any kind), as extern name → crate name: the
/// library name of a package among `known`, else the package name. For the selected packages
/// when no dependency is read: [`dependency_units`] finds the names in the graph.
pub fn declared_extern_names(p: &Package, known: &[&Package]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = p
        .dependencies
        .iter()
        .filter_map(|d| {
            let rename = d.rename.as_ref()?.replace('-', "_");
            let lib = known
                .iter()
                .filter(|k| k.name.as_str() == d.name)
                .flat_map(|k| k.targets.iter())
                .find(|t| is_library(t) || t.kind.contains(&TargetKind::ProcMacro))
                .map_or(d.name.as_str(), |t| t.name.as_str())
                .replace('-', "_");
            (rename != lib).then_some((rename, lib))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The directory sources that `.cargo/config.toml` files at or above `dir` set up
/// (`[source.vendored-sources] directory = "vendor"`, as `cargo vendor` writes it; a relative
/// directory is relative to the directory holding `.cargo/`): every package below them, by
/// the name and version in its manifest.
fn vendored_sources(dir: &Path) -> Versions {
    let mut out = Versions::new();
    for d in dir.ancestors() {
        for name in ["config.toml", "config"] {
            let Some(t) = read_toml(&d.join(".cargo").join(name)) else {
                continue;
            };
            let Some(sources) = t.get("source").and_then(toml::Value::as_table) else {
                continue;
            };
            for src in sources.values() {
                let Some(v) = src.get("directory").and_then(toml::Value::as_str) else {
                    continue;
                };
                crate::deps_memo::saw_dir(&d.join(v));
                let Ok(entries) = std::fs::read_dir(d.join(v)) else {
                    continue;
                };
                let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
                entries.sort();
                for e in entries.iter().take(MAX_SCAN_FILES) {
                    let m = e.join("Cargo.toml");
                    let Some(p) = read_toml(&m) else { continue };
                    let package = p.get("package").and_then(toml::Value::as_table);
                    let name = package
                        .and_then(|p| p.get("name"))
                        .and_then(toml::Value::as_str);
                    let version = package
                        .and_then(|p| p.get("version"))
                        .and_then(toml::Value::as_str)
                        .and_then(|v| semver::Version::parse(v).ok());
                    if let (Some(name), Some(version)) = (name, version) {
                        out.entry(name.to_string())
                            .or_default()
                            .push((version, e.clone()));
                    }
                }
            }
        }
    }
    newest_first(&mut out);
    out
}

/// Newest version first; one source per version.
fn newest_first(out: &mut Versions) {
    for v in out.values_mut() {
        v.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        v.dedup_by(|a, b| a.0 == b.0);
    }
}

/// Every package source under `$CARGO_HOME/registry/src/*/`, by name, newest version first.
fn registry_sources() -> &'static Versions {
    static SOURCES: OnceLock<(Versions, Vec<PathBuf>)> = OnceLock::new();
    let (versions, listed) = SOURCES.get_or_init(|| {
        let mut listed = Vec::new();
        let home = cargo_home();
        let mut out = Versions::new();
        let Some(src) = home.map(|h| h.join("registry").join("src")) else {
            return (out, listed);
        };
        listed.push(src.clone());
        let Ok(registries) = std::fs::read_dir(&src) else {
            return (out, listed);
        };
        let mut registries: Vec<PathBuf> = registries.flatten().map(|e| e.path()).collect();
        registries.sort();
        for r in registries {
            listed.push(r.clone());
            let Ok(entries) = std::fs::read_dir(&r) else {
                continue;
            };
            for e in entries.flatten() {
                let file_name = e.file_name();
                let Some(dir) = file_name.to_str() else {
                    continue;
                };
                // `name-1.2.3` (names have dashes too: the version starts at the first dash
                // that begins one)
                let split = dir.match_indices('-').find_map(|(i, _)| {
                    semver::Version::parse(&dir[i + 1..])
                        .ok()
                        .map(|v| (dir[..i].to_string(), v))
                });
                if let Some((name, v)) = split {
                    out.entry(name).or_default().push((v, e.path()));
                }
            }
        }
        newest_first(&mut out);
        (out, listed)
    });
    // a fetch adds versions: a remembered plan holds only while the listings are the same
    for d in listed {
        crate::deps_memo::saw_dir(d);
    }
    versions
}

/// The normal dependencies a manifest declares (also under `[target.'cfg(..)'.dependencies]`:
/// every configuration, as for the analyzed code) as the name a rename gives it (`mysync =
/// { package = "k-sync" }`: `mysync`; `None` when the key is the package name) and the
/// manifest of the package found for it on this machine; a dependency not found is left out.
fn local_deps(
    manifest: &Path,
    vendored: &Versions,
    registry: bool,
) -> Vec<(Option<String>, PathBuf)> {
    let Some(t) = read_toml(manifest) else {
        return Vec::new();
    };
    let dir = manifest.parent().unwrap_or(Path::new(""));
    let mut tables: Vec<&toml::Table> = Vec::new();
    if let Some(d) = t.get("dependencies").and_then(toml::Value::as_table) {
        tables.push(d);
    }
    if let Some(targets) = t.get("target").and_then(toml::Value::as_table) {
        for v in targets.values() {
            if let Some(d) = v.get("dependencies").and_then(toml::Value::as_table) {
                tables.push(d);
            }
        }
    }
    // `dep = { workspace = true }`: the workspace root's `[workspace.dependencies]` entry
    let workspace = dir
        .ancestors()
        .skip(1)
        .find_map(|d| {
            let t = read_toml(&d.join("Cargo.toml"))?;
            let deps = t.get("workspace")?.get("dependencies")?.as_table()?.clone();
            Some((d.to_path_buf(), deps))
        })
        .or_else(|| {
            let deps = t.get("workspace")?.get("dependencies")?.as_table()?.clone();
            Some((dir.to_path_buf(), deps))
        });
    let mut out = Vec::new();
    for table in tables {
        for (key, spec) in table {
            let inherited = spec
                .get("workspace")
                .and_then(toml::Value::as_bool)
                .unwrap_or(false);
            let (spec, base) = match (&workspace, inherited) {
                (Some((root, deps)), true) => match deps.get(key) {
                    Some(s) => (s, root.as_path()),
                    None => continue,
                },
                (None, true) => continue,
                _ => (spec, dir),
            };
            let (renamed, req, path) = match spec {
                toml::Value::String(req) => (None, Some(req.as_str()), None),
                toml::Value::Table(s) => (
                    s.get("package").and_then(toml::Value::as_str),
                    s.get("version").and_then(toml::Value::as_str),
                    s.get("path").and_then(toml::Value::as_str),
                ),
                _ => continue,
            };
            let package = renamed.unwrap_or(key);
            let found = match path {
                Some(p) => Some(base.join(p).join("Cargo.toml")).filter(|m| {
                    crate::deps_memo::saw(m);
                    m.is_file()
                }),
                None => {
                    let req = semver::VersionReq::parse(req.unwrap_or("*")).ok();
                    // a vendor directory replaces the registry, as cargo's source
                    // replacement does
                    let pick = |versions: &Vec<(semver::Version, PathBuf)>| {
                        versions
                            .iter()
                            .find(|(v, _)| req.as_ref().is_none_or(|r| r.matches(v)))
                            .map(|(_, d)| d.join("Cargo.toml"))
                    };
                    match vendored.get(package) {
                        Some(v) if !vendored.is_empty() => pick(v),
                        _ if !vendored.is_empty() => None,
                        _ if !registry => None,
                        _ => registry_sources().get(package).and_then(pick),
                    }
                }
            };
            if let Some(m) = found {
                out.push((renamed.map(|_| key.replace('-', "_")), m));
            }
        }
    }
    out
}

fn read_toml(manifest: &Path) -> Option<toml::Table> {
    crate::deps_memo::saw(manifest);
    let text = std::fs::read_to_string(manifest).ok()?;
    text.parse::<toml::Table>().ok()
}

/// A package read from its manifest: name, version, library target (`[lib] path`, else
/// `src/lib.rs`), edition.
fn read_local_package(manifest: &Path) -> Option<Pkg> {
    let t = read_toml(manifest)?;
    let package = t.get("package")?.as_table()?;
    let name = package.get("name")?.as_str()?.to_string();
    let version = package
        .get("version")
        .and_then(toml::Value::as_str)
        .unwrap_or("0.0.0")
        .to_string();
    let dir = manifest.parent()?;
    let edition = match package.get("edition") {
        Some(toml::Value::String(e)) => Edition::parse(e).unwrap_or(Edition::E2021),
        // `edition.workspace = true`: the workspace root's `[workspace.package]`
        Some(toml::Value::Table(_)) => dir
            .ancestors()
            .find_map(|d| {
                let t = read_toml(&d.join("Cargo.toml"))?;
                let e = t
                    .get("workspace")?
                    .get("package")?
                    .get("edition")?
                    .as_str()?;
                Edition::parse(e)
            })
            .unwrap_or(Edition::E2021),
        _ => Edition::E2015,
    };
    let lib_table = t.get("lib").and_then(toml::Value::as_table);
    let proc_macro = lib_table
        .and_then(|l| l.get("proc-macro").or_else(|| l.get("proc_macro")))
        .and_then(toml::Value::as_bool)
        .unwrap_or(false);
    let src = dir.join(
        lib_table
            .and_then(|l| l.get("path"))
            .and_then(toml::Value::as_str)
            .unwrap_or("src/lib.rs"),
    );
    let lib_name = lib_table
        .and_then(|l| l.get("name"))
        .and_then(toml::Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| name.replace('-', "_"));
    crate::deps_memo::saw(&src);
    let lib = (!proc_macro && src.is_file()).then(|| Lib {
        name: lib_name,
        src: src.clone(),
        edition,
        kinds: vec!["lib".into()],
        crate_types: vec!["lib".into()],
    });
    Some(Pkg {
        id: format!("{}#{name}@{version}", dir.display()),
        name,
        version,
        manifest: manifest.to_path_buf(),
        lib,
        proc_macro,
        roots: vec![src],
        deps: None,
        features: None,
    })
}

fn is_library(t: &cargo_metadata::Target) -> bool {
    t.kind.iter().any(|k| {
        matches!(
            k,
            TargetKind::Lib
                | TargetKind::RLib
                | TargetKind::DyLib
                | TargetKind::CDyLib
                | TargetKind::StaticLib
        )
    })
}

/// The `.rs` files below the directory of a crate root (bounded).
fn rust_files_below(root_file: &Path) -> Vec<PathBuf> {
    let Some(dir) = root_file.parent() else {
        return Vec::new();
    };
    walkdir::WalkDir::new(dir)
        .max_depth(12)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.file_name() != "target" && e.file_name() != ".git")
        .filter_map(Result::ok)
        .inspect(|e| {
            if e.file_type().is_dir() {
                crate::deps_memo::saw_dir(e.path());
            }
        })
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "rs"))
        .take(MAX_SCAN_FILES)
        .map(|e| e.into_path())
        .collect()
}

struct Scan {
    bytes: u64,
    lock_words: bool,
}

fn scan_package(root_file: &Path) -> Scan {
    let mut scan = Scan {
        bytes: 0,
        lock_words: false,
    };
    for f in rust_files_below(root_file) {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        scan.bytes += crate::deps_memo::source_bytes(&f, &text);
        scan.lock_words = scan.lock_words || source_names_lock_code(&f, &text);
    }
    scan
}

/// Where a package's sources name its dependencies.
#[derive(Default)]
struct Named<'n> {
    /// Anywhere as an identifier.
    anywhere: BTreeSet<&'n str>,
    /// Where what the package offers its users can carry them: a re-export or alias
    /// (`pub use spin::Mutex`, `pub type Lock<T> = lock_api::Mutex<Raw, T>`), or a line that
    /// also names lock code (`inner: spinning_top::Spinlock<T>`, `use spin::Mutex;`).
    exposed: BTreeSet<&'n str>,
}

/// Which of `names` (extern crate names) the sources below `roots` name. For an analyzed
/// package every target counts (dev-dependencies are not followed); for a dependency, its
/// library.
fn named_in_sources<'n>(roots: &[PathBuf], names: &[&'n str]) -> Named<'n> {
    let mut found = Named::default();
    let mut seen = BTreeSet::new();
    for root in roots {
        for f in rust_files_below(root) {
            if found.exposed.len() == names.len() {
                return found;
            }
            if !seen.insert(f.clone()) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            for n in names {
                if found.exposed.contains(n) {
                    continue;
                }
                let u = source_name_use(&f, &text, n);
                if u.anywhere {
                    found.anywhere.insert(*n);
                }
                if u.exposed {
                    found.exposed.insert(*n);
                }
            }
        }
    }
    found
}

/// Whether a selected package has a normal dependency that is not itself selected.
pub fn has_outside_dependencies(selected: &[&Package]) -> bool {
    selected.iter().any(|p| {
        p.dependencies.iter().any(|d| {
            d.kind == DependencyKind::Normal && !selected.iter().any(|q| q.name.as_str() == d.name)
        })
    })
}

/// A remembered outcome of [`metadata_with_deps`] for one state of the tree: the lock file,
/// the selected manifests, the `.cargo/config.toml` files above them, the registry index and
/// the tool. Cargo's offline resolve costs the edit loop three processes (`rustup`, `rustc
/// -vV`, `cargo metadata`) on every run, and one that fails (a package whose dev-dependencies
/// were never fetched) fails the same way each time. Any change to that state asks again; a
/// remembered graph is also checked against the manifests of its path packages.
pub struct ResolveMemo {
    failed: PathBuf,
    resolved: PathBuf,
}

impl ResolveMemo {
    /// Under `<target>/lockstep/` beside the per-file cache, for a resolve with the feature
    /// flags `features`.
    pub fn new(
        root: &Path,
        lock_file: &Path,
        manifests: &[&Path],
        features: &crate::features::FeatureFlags,
    ) -> ResolveMemo {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        env!("CARGO_PKG_VERSION").hash(&mut h);
        features.hash(&mut h);
        std::fs::read(lock_file).ok().hash(&mut h);
        for m in manifests {
            m.hash(&mut h);
            std::fs::read(m).ok().hash(&mut h);
        }
        // source replacement (`vendor/`) and the like change what cargo resolves to
        for d in root.ancestors() {
            for name in ["config.toml", "config"] {
                std::fs::read(d.join(".cargo").join(name)).ok().hash(&mut h);
            }
        }
        for k in ["CARGO_HOME", "RUSTUP_TOOLCHAIN", "RUSTC"] {
            std::env::var_os(k).hash(&mut h);
        }
        if let Some(exe) = std::env::current_exe()
            .ok()
            .and_then(|p| std::fs::metadata(p).ok())
        {
            exe.len().hash(&mut h);
            exe.modified().ok().hash(&mut h);
        }
        let home = cargo_home();
        if let Some(index) = home.map(|h| h.join("registry").join("index")) {
            // a fetch adds to the index and touches its directories
            let stamp = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
            stamp(&index).hash(&mut h);
            if let Ok(entries) = std::fs::read_dir(&index) {
                let mut v: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
                v.sort();
                for e in v {
                    stamp(&e.join("cache")).hash(&mut h);
                }
            }
        }
        let dir = crate::cache::Cache::default_dir(root)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let key = h.finish();
        ResolveMemo {
            failed: dir.join(format!("resolve-failed-{key:016x}")),
            resolved: dir.join(format!("resolved-{key:016x}.json")),
        }
    }

    /// The graph remembered for this state, when the manifests of its path packages (the
    /// workspace and its path dependencies) are still the ones it was resolved from.
    pub fn resolved(&self) -> Option<Metadata> {
        let text = std::fs::read_to_string(&self.resolved).ok()?;
        let (stamps, meta): (Vec<(PathBuf, u64)>, Metadata) = serde_json::from_str(&text).ok()?;
        (stamps == path_manifest_stamps(&meta)).then_some(meta)
    }

    /// Best effort, like [`ResolveMemo::put`].
    pub fn put_resolved(&self, meta: &Metadata) {
        if let Ok(text) = serde_json::to_string(&(path_manifest_stamps(meta), meta)) {
            replace_memo(&self.resolved, "resolved-", &text);
        }
    }

    pub fn get(&self) -> Option<String> {
        std::fs::read_to_string(&self.failed).ok()
    }

    /// Best effort: a memo that cannot be written is asked for again next time.
    pub fn put(&self, why: &str) {
        replace_memo(&self.failed, "resolve-failed-", why);
    }
}

/// The manifest of every path package of a resolved graph with a hash of its text.
fn path_manifest_stamps(meta: &Metadata) -> Vec<(PathBuf, u64)> {
    use std::hash::{Hash, Hasher};
    let mut v: Vec<(PathBuf, u64)> = meta
        .packages
        .iter()
        .filter(|p| p.source.is_none())
        .map(|p| {
            let path = p.manifest_path.as_std_path().to_path_buf();
            let mut h = std::hash::DefaultHasher::new();
            std::fs::read(&path).ok().hash(&mut h);
            (path, h.finish())
        })
        .collect();
    v.sort();
    v
}

/// `cargo metadata --offline --locked` with the dependency graph of the host platform, its
/// features resolved for the command line's feature flags.
pub fn metadata_with_deps(
    manifest: &Path,
    features: &crate::features::FeatureFlags,
) -> Result<Metadata, String> {
    let mut cmd = cargo_metadata::MetadataCommand::new();
    // `--locked`: a lock file that would need an update is left alone (the run falls back to
    // the manifests) rather than rewritten
    let mut opts = vec!["--offline".to_string(), "--locked".to_string()];
    opts.extend(features.cargo_args());
    if let Some(h) = host_triple() {
        opts.push("--filter-platform".into());
        opts.push(h);
    }
    cmd.other_options(opts).manifest_path(manifest);
    for (k, v) in untrusted_tree_env() {
        cmd.env(k, v);
    }
    cmd.exec().map_err(|e| match e {
        cargo_metadata::Error::CargoMetadata { stderr } => {
            let s = stderr.trim();
            let s = s.strip_prefix("error: ").unwrap_or(s);
            // the first line says why; the rest is cargo's context
            s.lines().next().unwrap_or(s).to_string()
        }
        e => e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_resolve_is_remembered_until_the_lock_file_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let lock = root.join("Cargo.lock");
        let manifest = root.join("Cargo.toml");
        std::fs::write(&lock, "version = 4\n").unwrap();
        std::fs::write(&manifest, "[package]\nname = \"a\"\n").unwrap();
        let memo = ResolveMemo::new(root, &lock, &[&manifest], &Default::default());
        assert_eq!(memo.get(), None);
        memo.put("no matching package named `criterion` found");
        let again = ResolveMemo::new(root, &lock, &[&manifest], &Default::default());
        assert_eq!(
            again.get().as_deref(),
            Some("no matching package named `criterion` found")
        );
        std::fs::write(&lock, "version = 4\n# changed\n").unwrap();
        assert_eq!(
            ResolveMemo::new(root, &lock, &[&manifest], &Default::default()).get(),
            None
        );
    }

    #[test]
    fn inherited_dependencies_come_from_the_workspace_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let w = |p: &str, t: &str| {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, t).unwrap();
        };
        w(
            "Cargo.toml",
            "[workspace]\nmembers = [\"app\"]\n[workspace.package]\nedition = \"2021\"\n\
             [workspace.dependencies]\nksync = { path = \"common/ksync\" }\n",
        );
        w(
            "app/Cargo.toml",
            "[package]\nname = \"app\"\n[dependencies]\nksync = { workspace = true }\n",
        );
        w(
            "common/ksync/Cargo.toml",
            "[package]\nname = \"ksync\"\nversion = \"0.1.0\"\nedition.workspace = true\n",
        );
        w("common/ksync/src/lib.rs", "");
        let deps = local_deps(&root.join("app/Cargo.toml"), &Versions::new(), true);
        assert_eq!(deps, [(None, root.join("common/ksync/Cargo.toml"))]);
        let p = read_local_package(&deps[0].1).unwrap();
        assert_eq!(p.lib.unwrap().edition, Edition::E2021);
    }

    #[test]
    fn the_tree_env_names_no_wrapper() {
        let env = untrusted_tree_env();
        for k in ["RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER"] {
            if std::env::var_os(k).is_none() {
                assert!(env.iter().any(|(n, v)| n == k && v.is_empty()), "{k}");
            }
        }
        if std::env::var_os("RUSTC").is_none() {
            assert!(env.iter().any(|(n, _)| n == "RUSTC"));
        }
    }
}
