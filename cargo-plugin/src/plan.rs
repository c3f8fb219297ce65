//! Planning a run: which units (cargo targets, or paths from the command line) to load, and
//! where their configuration lives. Packages and targets come from
//! `cargo metadata --no-deps --offline`; nothing is built.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use cargo_metadata::{Metadata, Package, TargetKind};
use lockstep_analyzer::cfg_pred::Features;
use lockstep_analyzer::Edition;

use crate::paths::{display_path, glob_match, io_reason, normalize};
use crate::suggest::did_you_mean;
use crate::unit::{Unit, UnitPlan, UnitSource};

/// Which packages and targets to analyze.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub manifest_path: Option<PathBuf>,
    pub packages: Vec<String>,
    pub workspace: bool,
    pub exclude: Vec<String>,
    pub all_targets: bool,
    pub no_deps: bool,
    pub edition: Option<Edition>,
    /// `--features`, `--all-features`, `--no-default-features`.
    pub features: crate::features::FeatureFlags,
}

/// What to analyze: units and where their configuration lives.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Display paths are relative to this directory.
    pub root: PathBuf,
    pub units: Vec<UnitPlan>,
    /// Directories whose `lockstep.toml` / manifest metadata configure the run, workspace
    /// roots first.
    pub config_dirs: Vec<PathBuf>,
    /// Paths that could not be planned (missing, not Rust, unreadable directory entries).
    pub io_errors: Vec<String>,
    /// Analysis threads (`--jobs`); all cores when unset.
    pub threads: Option<usize>,
    /// Directory of the per-file cache; none disables it.
    pub cache_dir: Option<PathBuf>,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// What reading the dependencies did.
    pub deps: crate::deps::DepReport,
    /// Remember under `target/lockstep/` how cargo resolved the dependency graph offline, or
    /// that it could not (the runs of the command line; not with `--no-cache`).
    pub remember_resolve: bool,
    /// Read no package source from the cargo registry on this machine (neither cargo's resolve
    /// nor `$CARGO_HOME/registry/src`): path and vendored dependencies only, so the findings do
    /// not depend on what was fetched before (the fixture tests).
    pub hermetic: bool,
}

/// Plan the units of a manifest (`Cargo.toml`) with a package selection.
pub fn plan_manifest(manifest: &Path, sel: &Selection, plan: &mut Plan) -> Result<(), String> {
    let meta = metadata(Some(manifest), &sel.features)?;
    let packages = select_packages(&meta, Some(manifest), sel)?;
    for e in &sel.exclude {
        if !meta
            .workspace_packages()
            .iter()
            .any(|p| spec_matches(e, p.name.as_str()))
        {
            eprintln!("warning: excluded package `{e}` is not a member of the workspace");
        }
    }
    let root = meta.workspace_root.clone().into_std_path_buf();
    plan.config_dirs.push(root.clone());
    for p in &packages {
        if let Some(d) = p.manifest_path.parent() {
            plan.config_dirs.push(d.as_std_path().to_path_buf());
        }
    }
    if let Some(f) = crate::features::undeclared(&packages, &sel.features) {
        let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
        return Err(format!(
            "none of the selected packages contains this feature: {f}\nselected packages: {}",
            names.join(", ")
        ));
    }
    let first = plan.units.len();
    plan.units.extend(plan_packages(&packages, sel.all_targets));
    // what the command line asks for, from the manifests; cargo's resolve says it better
    let mut root_features: BTreeMap<String, Features> = (packages.iter())
        .map(|p| {
            let f = crate::features::for_package(p.name.as_str(), &p.features, &sel.features);
            (p.id.repr.clone(), f)
        })
        .collect();
    if sel.no_deps {
        plan.deps.disabled = true;
    } else if crate::deps::has_outside_dependencies(&packages) {
        // The dependency graph costs a resolve: asked only when something outside the
        // selection is used.
        // Only with a lock file, and `--locked`: the analyzed tree is never written to.
        let lock_file = meta.workspace_root.join("Cargo.lock");
        let memo = plan.remember_resolve.then(|| {
            let manifests: Vec<&Path> = packages
                .iter()
                .map(|p| p.manifest_path.as_std_path())
                .collect();
            crate::deps::ResolveMemo::new(
                meta.workspace_root.as_std_path(),
                lock_file.as_std_path(),
                &manifests,
                &sel.features,
            )
        });
        let remembered = memo.as_ref().and_then(|m| m.get());
        let (full, why) = if plan.hermetic {
            (
                None,
                Some("registry sources not read (hermetic run)".to_string()),
            )
        } else if !lock_file.is_file() {
            (None, Some("no Cargo.lock".to_string()))
        } else if let Some(full) = memo.as_ref().and_then(|m| m.resolved()) {
            plan.deps.remembered = true;
            (Some(full), None)
        } else if let Some(why) = remembered {
            (None, Some(why))
        } else {
            match crate::deps::metadata_with_deps(manifest, &sel.features) {
                Ok(full) => {
                    if let Some(m) = &memo {
                        m.put_resolved(&full);
                    }
                    (Some(full), None)
                }
                Err(e) => {
                    if let Some(m) = &memo {
                        m.put(&e);
                    }
                    (None, Some(e))
                }
            }
        };
        if let Some(full) = &full {
            for p in &packages {
                if let Some(f) = crate::features::from_resolve(full, &p.id) {
                    root_features.insert(p.id.repr.clone(), f);
                }
            }
        }
        let selected: Vec<&Package> = match &full {
            Some(full) => {
                let ids: Vec<&cargo_metadata::PackageId> = packages.iter().map(|p| &p.id).collect();
                full.packages
                    .iter()
                    .filter(|p| ids.contains(&&p.id))
                    .collect()
            }
            None => packages.clone(),
        };
        let registry = !plan.hermetic;
        let choose =
            || crate::deps::dependency_units(full.as_ref(), &selected, registry, &root_features);
        let (units, mut report, extern_names) = if plan.remember_resolve {
            let key = plan_key(full.as_ref(), &selected, registry, &root_features);
            let dir = crate::cache::Cache::default_dir(meta.workspace_root.as_std_path());
            let memo = crate::deps_memo::PlanMemo::new(dir.parent().unwrap_or(&dir), key);
            let remembered: Option<(
                Vec<crate::unit::UnitPlan>,
                crate::deps::DepReport,
                crate::deps::ExternNames,
            )> = memo.get();
            match remembered {
                Some(mut p) => {
                    p.1.plan_remembered = true;
                    p
                }
                None => memo.plan(choose),
            }
        } else {
            choose()
        };
        report.unresolved = why;
        plan.units.extend(units);
        // the graph knows the library name of every normal dependency
        for u in &mut plan.units {
            for (alias, krate) in extern_names.get(&u.unit.package_id).into_iter().flatten() {
                u.extern_names.retain(|(a, _)| a != alias);
                u.extern_names.push((alias.clone(), krate.clone()));
            }
        }
        merge_reports(&mut plan.deps, report);
    }
    for u in &mut plan.units[first..] {
        if !u.dependency {
            u.features = root_features.get(&u.unit.package_id).cloned();
        }
    }
    Ok(())
}

/// What a remembered dependency plan was made for: the tool's build, the selected packages
/// and cargo's graph (the files read on the way are stamped in the memo itself).
fn plan_key(
    full: Option<&cargo_metadata::Metadata>,
    selected: &[&Package],
    registry: bool,
    root_features: &BTreeMap<String, Features>,
) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    env!("CARGO_PKG_VERSION").hash(&mut h);
    if let Some(exe) = std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::metadata(p).ok())
    {
        exe.len().hash(&mut h);
        exe.modified().ok().hash(&mut h);
    }
    crate::deps_memo::cargo_home().hash(&mut h);
    registry.hash(&mut h);
    root_features.hash(&mut h);
    for p in selected {
        p.id.repr.hash(&mut h);
        p.manifest_path.hash(&mut h);
    }
    if let Some(full) = full {
        for p in &full.packages {
            p.id.repr.hash(&mut h);
            p.manifest_path.hash(&mut h);
        }
        for n in full.resolve.iter().flat_map(|r| &r.nodes) {
            n.id.repr.hash(&mut h);
            for f in &n.features {
                f.to_string().hash(&mut h);
            }
            for d in &n.deps {
                d.name.hash(&mut h);
                d.pkg.repr.hash(&mut h);
                for k in &d.dep_kinds {
                    format!("{:?}", k.kind).hash(&mut h);
                }
            }
        }
    }
    h.finish()
}

fn merge_reports(into: &mut crate::deps::DepReport, r: crate::deps::DepReport) {
    for p in r.read {
        if !into.read.contains(&p) {
            into.read.push(p);
        }
    }
    into.proc_macros += r.proc_macros;
    into.shadowed += r.shadowed;
    into.no_lock_code += r.no_lock_code;
    for p in r.large_transitive {
        if !into.large_transitive.contains(&p) {
            into.large_transitive.push(p);
        }
    }
    into.bytes += r.bytes;
    into.budget_hit = into.budget_hit.take().or(r.budget_hit);
    into.unavailable = into.unavailable.take().or(r.unavailable);
    into.unresolved = into.unresolved.take().or(r.unresolved);
    into.remembered |= r.remembered;
    into.plan_remembered |= r.plan_remembered;
}

/// The nearest `Cargo.toml` at or above `dir`.
fn find_manifest(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join("Cargo.toml"))
        .find(|m| m.is_file())
}

/// Plan a command line (its `paths` and package selection): without PATHs the package or workspace of `--manifest-path` or of the
/// nearest `Cargo.toml` above `cwd`; with PATHs each path, display paths relative to `cwd`.
/// A path that does not exist is recorded in `io_errors`; a failing `cargo metadata` or an
/// unknown `-p` package is an error.
pub fn plan_invocation(
    paths: &[PathBuf],
    sel: &Selection,
    remember_resolve: bool,
    cwd: &Path,
) -> Result<Plan, String> {
    let mut plan = Plan {
        remember_resolve,
        ..Plan::default()
    };
    if paths.is_empty() {
        let manifest = match &sel.manifest_path {
            Some(m) => {
                let m = normalize(&cwd.join(m));
                if m.is_dir() || m.file_name().is_some_and(|n| n != "Cargo.toml") {
                    return Err(format!(
                        "the manifest path must be a path to a Cargo.toml file, not `{}`",
                        m.display()
                    ));
                }
                if !m.is_file() {
                    return Err(format!("manifest path `{}` does not exist", m.display()));
                }
                m
            }
            None => find_manifest(cwd).ok_or_else(|| {
                format!(
                    "could not find `Cargo.toml` in `{}` or any parent directory\n\n\
                     help: pass PATHs to analyze files without a Cargo package",
                    cwd.display()
                )
            })?,
        };
        plan_manifest(&manifest, sel, &mut plan)?;
        plan.root = plan.config_dirs.first().cloned().unwrap_or_default();
        return Ok(plan);
    }
    plan.root = cwd.to_path_buf();
    // --edition, else the edition of the package the path lies in, else 2021
    let edition_for = |dir: &Path| {
        sel.edition
            .or_else(|| enclosing_edition(dir))
            .unwrap_or(Edition::E2021)
    };
    for p in paths {
        let abs = normalize(&cwd.join(p));
        let shown = p.display();
        if abs.is_dir() {
            let manifest = abs.join("Cargo.toml");
            if manifest.is_file() {
                plan_manifest(&manifest, sel, &mut plan)?;
            } else {
                plan.config_dirs
                    .extend(crate::config::ancestor_config_dirs(&abs));
                let unit = plan_walk(&abs, edition_for(&abs), &mut plan.io_errors, cwd);
                if matches!(&unit.source, UnitSource::Files(f) if f.is_empty()) {
                    eprintln!("warning: no `.rs` file below `{shown}`");
                }
                plan.units.push(unit);
            }
        } else if abs.is_file() {
            if abs.file_name().is_some_and(|n| n == "Cargo.toml") {
                plan_manifest(&abs, sel, &mut plan)?;
            } else if abs.extension().is_some_and(|e| e == "rs") {
                if let Some(dir) = abs.parent() {
                    plan.config_dirs
                        .extend(crate::config::ancestor_config_dirs(dir));
                }
                let edition = edition_for(abs.parent().unwrap_or(&abs));
                plan.units.push(plan_file(&abs, edition));
            } else {
                plan.io_errors
                    .push(format!("`{shown}` is neither a Rust file nor a directory"));
            }
        } else if std::fs::symlink_metadata(&abs).is_ok() {
            plan.io_errors
                .push(format!("`{shown}` is a dangling symlink or cannot be read"));
        } else {
            plan.io_errors.push(format!("`{shown}` does not exist"));
        }
    }
    Ok(plan)
}

/// The edition of the package enclosing `dir`, read from the nearest `Cargo.toml` with a
/// `[package]` table (`edition.workspace = true` resolved through the workspace root; no
/// `edition` means 2015, as for cargo). `None` outside any package.
pub fn enclosing_edition(dir: &Path) -> Option<Edition> {
    let read = |d: &Path| -> Option<toml::Table> {
        std::fs::read_to_string(d.join("Cargo.toml"))
            .ok()?
            .parse::<toml::Table>()
            .ok()
    };
    let (package_dir, package) = dir.ancestors().find_map(|d| {
        let t = read(d)?;
        Some((
            d,
            t.get("package").cloned().or_else(|| {
                // a virtual manifest: not inside a package
                t.contains_key("workspace")
                    .then_some(toml::Value::Boolean(false))
            })?,
        ))
    })?;
    let toml::Value::Table(package) = package else {
        return None;
    };
    match package.get("edition") {
        None => Some(Edition::E2015),
        Some(toml::Value::String(s)) => Edition::parse(s),
        Some(v) if v.get("workspace").and_then(toml::Value::as_bool) == Some(true) => {
            // inherited from the first enclosing manifest with a [workspace] table
            let ws = package_dir
                .ancestors()
                .find_map(|d| read(d).filter(|t| t.contains_key("workspace")))?;
            ws.get("workspace")?
                .get("package")?
                .get("edition")?
                .as_str()
                .and_then(Edition::parse)
        }
        Some(_) => None,
    }
}

/// Crate name of a directory or file: its name with `-` replaced by `_`, made an identifier.
fn crate_name_of(p: &Path) -> String {
    let stem = p
        .file_stem()
        .or_else(|| p.file_name())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut s: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

/// A single `.rs` file given on the command line, analyzed as a crate root. A plain
/// `name.rs` next to a `name/` directory is taken for a module file: its children live there.
pub fn plan_file(path: &Path, edition: Edition) -> UnitPlan {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let relative =
        if !matches!(stem.as_str(), "lib" | "main" | "mod") && path.with_extension("").is_dir() {
            Some(stem)
        } else {
            None
        };
    UnitPlan {
        unit: Unit {
            package_name: crate_name_of(path),
            target_name: crate_name_of(path),
            target_kind: vec!["lib".into()],
            crate_types: vec!["lib".into()],
            src_path: path.to_path_buf(),
            edition,
            ..Default::default()
        },
        crate_name: crate_name_of(path),
        source: UnitSource::Tree {
            root_file: path.to_path_buf(),
            relative,
        },
        test_only: false,
        follow_cfg_test: true,
        features: None,
        dependency: false,
        extern_names: Vec::new(),
    }
}

/// Every `.rs` file below a directory without a Cargo.toml. `target/` and hidden directories
/// are skipped; symlinks are followed, loops reported in `errors`.
pub fn plan_walk(dir: &Path, edition: Edition, errors: &mut Vec<String>, root: &Path) -> UnitPlan {
    // A directory inside a package's `src/` is that crate's module: its files get the crate's
    // name and their full module paths, so `crate::a::b` in them resolves as in the package.
    let (crate_name, prefix) =
        enclosing_crate_module(dir).unwrap_or_else(|| (crate_name_of(dir), Vec::new()));
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0
                || !(e.file_type().is_dir()
                    && e.file_name()
                        .to_str()
                        .is_some_and(|n| n.starts_with('.') || n == "target"))
        });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let at = e
                    .path()
                    .map(|p| display_path(root, p))
                    .unwrap_or_else(|| display_path(root, dir));
                if let Some(anc) = e.loop_ancestor() {
                    errors.push(format!(
                        "symlink loop: `{at}` points back to `{}`; not followed",
                        display_path(root, anc)
                    ));
                } else {
                    let reason = e.io_error().map(io_reason).unwrap_or_else(|| e.to_string());
                    errors.push(format!("cannot read `{at}`: {reason}"));
                }
                continue;
            }
        };
        if !entry.file_type().is_file()
            || entry.path().extension().and_then(|e| e.to_str()) != Some("rs")
        {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let mut module = prefix.clone();
        module.extend(module_path_of(rel));
        files.push((entry.path().to_path_buf(), module));
    }
    UnitPlan {
        unit: Unit {
            package_name: crate_name.clone(),
            target_name: crate_name.clone(),
            target_kind: vec!["lib".into()],
            crate_types: vec!["lib".into()],
            src_path: dir.to_path_buf(),
            edition,
            ..Default::default()
        },
        crate_name,
        source: UnitSource::Files(files),
        test_only: false,
        follow_cfg_test: true,
        features: None,
        dependency: false,
        extern_names: Vec::new(),
    }
}

/// The crate and module a directory below a package's `src/` is (`tokio/src/sync` → `tokio`,
/// `["sync"]`): the nearest ancestor with a `Cargo.toml` whose `src/` holds the directory, its
/// library name (`[lib] name`, else the package name with `-` as `_`).
fn enclosing_crate_module(dir: &Path) -> Option<(String, Vec<String>)> {
    let dir = normalize(dir);
    for anc in dir.ancestors().skip(1) {
        let manifest = anc.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let rel = dir.strip_prefix(anc.join("src")).ok()?;
        let table: toml::Table = std::fs::read_to_string(&manifest).ok()?.parse().ok()?;
        let name_of = |key: &str| {
            table
                .get(key)
                .and_then(|t| t.get("name"))
                .and_then(|n| n.as_str())
                .map(str::to_string)
        };
        let name = name_of("lib").or_else(|| name_of("package"))?;
        let module = rel
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().replace('-', "_")),
                _ => None,
            })
            .collect();
        return Some((name.replace('-', "_"), module));
    }
    None
}

/// Module path of a file from its path relative to the walked directory: `a/b.rs` → `a::b`,
/// `a/mod.rs` → `a`, top-level `lib.rs` / `main.rs` → the crate root. A leading `src/` is
/// dropped.
pub fn module_path_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    if parts.len() > 1 && parts[0] == "src" {
        parts.remove(0);
    }
    let Some(last) = parts.pop() else {
        return Vec::new();
    };
    let stem = last.strip_suffix(".rs").unwrap_or(&last).to_string();
    let top = parts.is_empty();
    if !(stem == "mod" || (top && (stem == "lib" || stem == "main"))) {
        parts.push(stem);
    }
    parts.into_iter().map(|p| p.replace('-', "_")).collect()
}

/// Whether a `-p` / `--exclude` spec names a package: `name`, `name@version`, or a glob
/// (`net-*`).
pub fn spec_matches(spec: &str, name: &str) -> bool {
    let spec = spec.split('@').next().unwrap_or(spec);
    if spec.contains(['*', '?']) {
        glob_match(spec, name)
    } else {
        spec == name
    }
}

/// The packages a selection names, ordered by directory (so the workspace root's package,
/// if any, comes first).
pub fn select_packages<'m>(
    meta: &'m Metadata,
    manifest: Option<&Path>,
    sel: &Selection,
) -> Result<Vec<&'m Package>, String> {
    let mut v = select_packages_unordered(meta, manifest, sel)?;
    v.sort_by(|a, b| {
        let dir = |p: &Package| p.manifest_path.parent().map(|d| d.to_path_buf());
        dir(a).cmp(&dir(b)).then_with(|| a.name.cmp(&b.name))
    });
    Ok(v)
}

fn select_packages_unordered<'m>(
    meta: &'m Metadata,
    manifest: Option<&Path>,
    sel: &Selection,
) -> Result<Vec<&'m Package>, String> {
    let members = meta.workspace_packages();
    if !sel.packages.is_empty() {
        let mut out = Vec::new();
        for spec in &sel.packages {
            let found: Vec<&Package> = members
                .iter()
                .filter(|p| spec_matches(spec, p.name.as_str()))
                .copied()
                .collect();
            if found.is_empty() {
                let name = spec.split('@').next().unwrap_or(spec);
                let names: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
                let mut msg = format!("package `{spec}` is not a member of the workspace");
                if let Some(s) = did_you_mean(name, &names) {
                    msg.push_str(&format!(
                        "\n\nhelp: a package with a similar name exists: `{s}`"
                    ));
                }
                return Err(msg);
            }
            for p in found {
                if !out.iter().any(|q: &&Package| q.id == p.id) {
                    out.push(p);
                }
            }
        }
        return Ok(out);
    }
    if sel.workspace {
        return Ok(members
            .into_iter()
            .filter(|p| !sel.exclude.iter().any(|e| spec_matches(e, p.name.as_str())))
            .collect());
    }
    // like cargo: at the workspace root, the default members (the root package when there is
    // one and `default-members` is not set, all members of a virtual workspace); elsewhere the
    // manifest's own package
    let root_manifest = normalize(meta.workspace_root.join("Cargo.toml").as_std_path());
    let manifest = manifest.map(normalize);
    let own = |m: &Path| {
        members
            .iter()
            .find(|p| normalize(p.manifest_path.as_std_path()) == m)
            .copied()
    };
    if let Some(m) = manifest.as_deref().filter(|m| *m != root_manifest) {
        if let Some(p) = own(m) {
            return Ok(vec![p]);
        }
    }
    if meta.workspace_default_members.is_available() {
        let d = meta.workspace_default_packages();
        if !d.is_empty() {
            return Ok(d);
        }
    }
    if let Some(p) = own(&root_manifest) {
        return Ok(vec![p]);
    }
    Ok(members)
}

fn edition_of(e: &cargo_metadata::Edition) -> Edition {
    Edition::parse(e.as_str()).unwrap_or(Edition::E2024)
}

/// Units for the targets of the selected packages: libraries and binaries, plus tests,
/// benches and examples with `all_targets`. Build scripts are never analyzed.
pub fn plan_packages(packages: &[&Package], all_targets: bool) -> Vec<UnitPlan> {
    let mut out = Vec::new();
    for p in packages {
        let extern_names = crate::deps::declared_extern_names(p, packages);
        for t in &p.targets {
            let kinds = &t.kind;
            let is = |k: TargetKind| kinds.contains(&k);
            let test_only = if is(TargetKind::CustomBuild) {
                continue;
            } else if is(TargetKind::Test) || is(TargetKind::Bench) || is(TargetKind::Example) {
                if !all_targets {
                    continue;
                }
                true
            } else if is(TargetKind::Bin)
                || is(TargetKind::Lib)
                || is(TargetKind::RLib)
                || is(TargetKind::DyLib)
                || is(TargetKind::CDyLib)
                || is(TargetKind::StaticLib)
                || is(TargetKind::ProcMacro)
            {
                false
            } else {
                continue;
            };
            let edition = edition_of(&t.edition);
            out.push(UnitPlan {
                unit: Unit {
                    package_name: p.name.to_string(),
                    package_id: p.id.repr.clone(),
                    manifest_path: p.manifest_path.clone().into_std_path_buf(),
                    target_name: t.name.clone(),
                    target_kind: kinds.iter().map(|k| k.to_string()).collect(),
                    crate_types: t.crate_types.iter().map(|k| k.to_string()).collect(),
                    src_path: t.src_path.clone().into_std_path_buf(),
                    edition,
                },
                crate_name: t.name.replace('-', "_"),
                source: UnitSource::Tree {
                    root_file: t.src_path.clone().into_std_path_buf(),
                    relative: None,
                },
                test_only,
                follow_cfg_test: all_targets,
                features: None,
                dependency: false,
                extern_names: extern_names.clone(),
            });
        }
    }
    out
}

/// `cargo metadata --no-deps` for a manifest (offline; nothing is built or fetched), with the
/// command line's feature flags.
pub fn metadata(
    manifest: Option<&Path>,
    features: &crate::features::FeatureFlags,
) -> Result<Metadata, String> {
    let mut cmd = cargo_metadata::MetadataCommand::new();
    let mut opts = vec!["--offline".to_string()];
    opts.extend(features.cargo_args());
    cmd.no_deps().other_options(opts);
    if let Some(m) = manifest {
        cmd.manifest_path(m);
    }
    for (k, v) in crate::deps::untrusted_tree_env() {
        cmd.env(k, v);
    }
    cmd.exec().map_err(|e| match e {
        cargo_metadata::Error::CargoMetadata { stderr } => {
            let s = stderr.trim();
            let s = s.strip_prefix("error: ").unwrap_or(s);
            format!("`cargo metadata` failed: {s}")
        }
        e => format!("`cargo metadata` failed: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths() {
        let m = |s: &str| module_path_of(Path::new(s)).join("::");
        assert_eq!(m("lib.rs"), "");
        assert_eq!(m("src/lib.rs"), "");
        assert_eq!(m("a/b.rs"), "a::b");
        assert_eq!(m("a/mod.rs"), "a");
        assert_eq!(m("a/lib.rs"), "a::lib");
        assert_eq!(m("my-mod/x.rs"), "my_mod::x");
    }

    #[test]
    fn a_directory_inside_src_is_its_crates_module() {
        let root = std::env::temp_dir().join(format!("lockstep-enclosing-{}", std::process::id()));
        let sub = root.join("src/net/tcp");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(
            root.join("Cargo.toml"),
            "[package]\nname = \"my-stack\"\nversion = \"0.1.0\"\n",
        )
        .unwrap();
        std::fs::write(sub.join("mod.rs"), "").unwrap();
        std::fs::write(sub.join("seq.rs"), "").unwrap();
        let mut errors = Vec::new();
        let unit = plan_walk(&root.join("src/net"), Edition::E2021, &mut errors, &root);
        assert_eq!(unit.crate_name, "my_stack");
        let UnitSource::Files(files) = &unit.source else {
            panic!("a walk plans files");
        };
        let mods: Vec<String> = files.iter().map(|(_, m)| m.join("::")).collect();
        assert_eq!(mods, ["net::tcp", "net::tcp::seq"]);
        // outside any package: the directory's own name, modules below it
        let loose = root.join("loose");
        std::fs::create_dir_all(&loose).unwrap();
        std::fs::write(loose.join("a.rs"), "").unwrap();
        let unit = plan_walk(&loose, Edition::E2021, &mut errors, &root);
        assert_eq!(unit.crate_name, "loose");
        let _ = std::fs::remove_dir_all(&root);
    }
}
