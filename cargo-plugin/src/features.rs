//! Which features each package is built with, for deciding `#[cfg(feature = "..")]`
//! (`lockstep_analyzer::cfg_pred`).
//!
//! Cargo's resolve says it when the graph was resolved (`resolve.nodes[].features`, with the
//! command line's `--features`, `--all-features` and `--no-default-features` passed to
//! `cargo metadata`). Otherwise the manifests say it: an analyzed package gets what the
//! command line asks for (else `default`) and everything that enables
//! (`[features] a = ["b", "dep/c"]`), and a dependency read from source gets what its
//! dependents ask for (`features = [..]`, `default-features`, `dep/feature` in their
//! enabled features), unified over every dependent, the way cargo unifies them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use lockstep_analyzer::cfg_pred::Features;

/// The feature flags of the command line, as cargo spells them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FeatureFlags {
    /// `--features a,b` (repeatable; `package/feature` names a package's feature).
    pub features: Vec<String>,
    pub all_features: bool,
    pub no_default_features: bool,
}

impl FeatureFlags {
    /// The flags for a `cargo` command.
    pub fn cargo_args(&self) -> Vec<String> {
        let mut v = Vec::new();
        let list = self.names();
        if !list.is_empty() {
            v.push("--features".to_string());
            v.push(list.join(","));
        }
        if self.all_features {
            v.push("--all-features".to_string());
        }
        if self.no_default_features {
            v.push("--no-default-features".to_string());
        }
        v
    }

    /// The names of `--features`, split at commas and spaces as cargo splits them.
    fn names(&self) -> Vec<String> {
        (self.features.iter())
            .flat_map(|f| f.split([',', ' ']))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// A `[features]` table: each feature and what it enables.
pub type Table = BTreeMap<String, Vec<String>>;

/// What enabled features ask of a dependency (by its key in the manifest): the dependency
/// itself (`dep:x`, `x/f`), and a feature of it (`x/f`, or `x?/f` only when `x` is on anyway).
#[derive(Clone, Debug, PartialEq, Eq)]
struct DepAsk {
    dep: String,
    feature: Option<String>,
    weak: bool,
}

/// The features `start` enables in `table` (what a feature names, transitively) and what
/// they ask of dependencies. Entries of `start` are written as in the table (`f`, `dep:x`,
/// `x/f`).
fn close(table: &Table, start: &BTreeSet<String>) -> (BTreeSet<String>, Vec<DepAsk>) {
    let mut on = BTreeSet::new();
    let mut asks = Vec::new();
    let mut stack: Vec<String> = start.iter().cloned().collect();
    while let Some(v) = stack.pop() {
        if let Some(dep) = v.strip_prefix("dep:") {
            asks.push(DepAsk {
                dep: dep.to_string(),
                feature: None,
                weak: false,
            });
        } else if let Some((dep, f)) = v.split_once('/') {
            let (dep, weak) = match dep.strip_suffix('?') {
                Some(d) => (d, true),
                None => (dep, false),
            };
            if !weak && table.contains_key(dep) {
                // the optional dependency's own feature, when it has one
                stack.push(dep.to_string());
            }
            asks.push(DepAsk {
                dep: dep.to_string(),
                feature: Some(f.to_string()),
                weak,
            });
        } else if table.contains_key(&v) && on.insert(v.clone()) {
            stack.extend(table[&v].iter().cloned());
        }
    }
    (on, asks)
}

/// A package's features for a build that asks for `start`: the enabled ones and the
/// declared ones (the table holds the implicit features of optional dependencies).
fn features_of(table: &Table, start: &BTreeSet<String>) -> Features {
    Features {
        enabled: close(table, start).0,
        declared: table.keys().cloned().collect(),
    }
}

/// What the command line asks of an analyzed package `name` with feature table `table`:
/// `default` unless `--no-default-features`, every feature with `--all-features`, and the
/// `--features` names it declares (`name/f` for its own `f`; `dep/f` for a dependency's).
pub fn requested(name: &str, table: &Table, flags: &FeatureFlags) -> BTreeSet<String> {
    let mut start = BTreeSet::new();
    if !flags.no_default_features {
        start.insert("default".to_string());
    }
    if flags.all_features {
        start.extend(table.keys().cloned());
    }
    for f in flags.names() {
        match f.split_once('/') {
            Some((p, own)) if p == name => {
                start.insert(own.to_string());
            }
            Some(_) => {
                start.insert(f);
            }
            None if table.contains_key(&f) => {
                start.insert(f);
            }
            None => {}
        }
    }
    start
}

/// A plain `--features` name that none of the `packages` declares (cargo refuses it too).
pub fn undeclared(packages: &[&cargo_metadata::Package], flags: &FeatureFlags) -> Option<String> {
    (flags.names().into_iter())
        .filter(|f| !f.contains('/'))
        .find(|f| !packages.iter().any(|p| p.features.contains_key(f)))
}

/// The features of an analyzed package from its feature table and the command line.
pub fn for_package(name: &str, table: &Table, flags: &FeatureFlags) -> Features {
    features_of(table, &requested(name, table, flags))
}

/// The features cargo's resolve gives package `id` of `meta`, with those it declares.
pub fn from_resolve(
    meta: &cargo_metadata::Metadata,
    id: &cargo_metadata::PackageId,
) -> Option<Features> {
    let node = meta.resolve.as_ref()?.nodes.iter().find(|n| n.id == *id)?;
    let package = meta.packages.iter().find(|p| p.id == *id)?;
    Some(Features {
        enabled: node.features.iter().map(|f| f.to_string()).collect(),
        declared: package.features.keys().cloned().collect(),
    })
}

/// A dependency as a manifest declares it, for what it asks of the package it names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct DepDecl {
    /// The key in the manifest (the rename, if any).
    key: String,
    /// The package it names.
    package: String,
    features: Vec<String>,
    default_features: bool,
    optional: bool,
}

/// A manifest's feature table (with the implicit features of its optional dependencies) and
/// its dependencies: normal, build and dev ones, in every `[target.'cfg(..)']` table (more
/// features rather than fewer, as cargo's unification gives when they meet).
#[derive(Clone, Debug, Default)]
struct ManifestFeatures {
    table: Table,
    deps: Vec<DepDecl>,
}

fn read_toml(manifest: &Path) -> Option<toml::Table> {
    crate::deps_memo::saw(manifest);
    std::fs::read_to_string(manifest).ok()?.parse().ok()
}

fn manifest_features(manifest: &Path) -> Option<ManifestFeatures> {
    let t = read_toml(manifest)?;
    let strings = |v: Option<&toml::Value>| -> Vec<String> {
        (v.and_then(toml::Value::as_array).into_iter().flatten())
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let mut table: Table = (t.get("features").and_then(toml::Value::as_table))
        .map(|f| {
            f.iter()
                .map(|(k, v)| (k.clone(), strings(Some(v))))
                .collect()
        })
        .unwrap_or_default();
    // `dep = { workspace = true, features = [..] }`: the root's entry, plus its own features
    let workspace: Option<toml::Table> = manifest.parent().and_then(|dir| {
        dir.ancestors().find_map(|d| {
            let t = read_toml(&d.join("Cargo.toml"))?;
            Some(t.get("workspace")?.get("dependencies")?.as_table()?.clone())
        })
    });
    let mut tables: Vec<&toml::Table> = Vec::new();
    let kinds = ["dependencies", "build-dependencies", "dev-dependencies"];
    for k in kinds {
        tables.extend(t.get(k).and_then(toml::Value::as_table));
    }
    for v in (t.get("target").and_then(toml::Value::as_table).into_iter()).flat_map(|t| t.values())
    {
        for k in kinds {
            tables.extend(v.get(k).and_then(toml::Value::as_table));
        }
    }
    let mut deps = Vec::new();
    for (key, spec) in tables.into_iter().flatten() {
        let mut d = DepDecl {
            key: key.clone(),
            package: key.clone(),
            default_features: true,
            ..Default::default()
        };
        let mut read = |s: &toml::Table| {
            if let Some(p) = s.get("package").and_then(toml::Value::as_str) {
                d.package = p.to_string();
            }
            d.features.extend(strings(s.get("features")));
            for k in ["default-features", "default_features"] {
                if let Some(b) = s.get(k).and_then(toml::Value::as_bool) {
                    d.default_features = b;
                }
            }
            d.optional |= s.get("optional").and_then(toml::Value::as_bool) == Some(true);
        };
        if let toml::Value::Table(s) = spec {
            if s.get("workspace").and_then(toml::Value::as_bool) == Some(true) {
                if let Some(toml::Value::Table(w)) = workspace.as_ref().and_then(|w| w.get(key)) {
                    read(w);
                }
            }
            read(s);
        }
        deps.push(d);
    }
    // an optional dependency that no feature names as `dep:x` is a feature of its own
    let named: BTreeSet<&str> = (table.values().flatten())
        .filter_map(|v| v.strip_prefix("dep:"))
        .collect();
    let implicit: Vec<String> = (deps.iter())
        .filter(|d| d.optional && !named.contains(d.key.as_str()))
        .map(|d| d.key.clone())
        .collect();
    for k in implicit {
        table
            .entry(k.clone())
            .or_insert_with(|| vec![format!("dep:{k}")]);
    }
    Some(ManifestFeatures { table, deps })
}

/// The features of an analyzed package read from its manifest (for a plan without cargo's
/// metadata of it).
pub fn for_manifest(manifest: &Path, name: &str, flags: &FeatureFlags) -> Option<Features> {
    Some(for_package(
        name,
        &manifest_features(manifest)?.table,
        flags,
    ))
}

/// A package of the graph the features are unified over: its manifest, and its
/// dependencies as (package index, package name).
pub struct Node {
    pub manifest: PathBuf,
    pub deps: Vec<(usize, String)>,
}

/// The features of every package of `nodes` reached from the `roots` (packages whose
/// features are known), from the manifests: each dependency gets the union of what its
/// dependents ask of it, and what those features enable. A package no dependent asks to
/// build (behind optional dependencies that are off) or whose manifest cannot be read is
/// left out: its features are not known.
pub fn unify(nodes: &[Node], roots: &[(usize, Features)]) -> BTreeMap<usize, Features> {
    let mut info: BTreeMap<usize, Option<ManifestFeatures>> = BTreeMap::new();
    let mut info_of = |i: usize| -> Option<ManifestFeatures> {
        info.entry(i)
            .or_insert_with(|| manifest_features(&nodes[i].manifest))
            .clone()
    };
    let mut asked: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut known: BTreeMap<usize, Features> = roots.iter().cloned().collect();
    let mut work: Vec<usize> = roots.iter().map(|(i, _)| *i).collect();
    // features are only ever added, so this ends; the bound is for safety
    let mut budget = 100_000usize;
    while let Some(i) = work.pop() {
        budget = budget.saturating_sub(1);
        let (Some(feats), Some(mi)) = (known.get(&i).cloned(), info_of(i)) else {
            continue;
        };
        if budget == 0 {
            break;
        }
        let (_, asks) = close(&mi.table, &feats.enabled);
        for (d, package) in &nodes[i].deps {
            if roots.iter().any(|(r, _)| r == d) {
                continue;
            }
            let mut values = BTreeSet::new();
            let mut active = false;
            for decl in mi.deps.iter().filter(|x| x.package == *package) {
                let on = !decl.optional
                    || feats.enabled.contains(&decl.key)
                    || asks.iter().any(|a| a.dep == decl.key && !a.weak);
                if !on {
                    continue;
                }
                active = true;
                values.extend(decl.features.iter().cloned());
                if decl.default_features {
                    values.insert("default".to_string());
                }
                let mine = asks.iter().filter(|a| a.dep == decl.key);
                values.extend(mine.filter_map(|a| a.feature.clone()));
            }
            if !active {
                continue;
            }
            let entry = asked.entry(*d).or_default();
            let before = entry.len();
            entry.extend(values);
            if entry.len() == before && known.contains_key(d) {
                continue;
            }
            let Some(dm) = info_of(*d) else { continue };
            known.insert(*d, features_of(&dm.table, entry));
            work.push(*d);
        }
    }
    known
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(entries: &[(&str, &[&str])]) -> Table {
        (entries.iter())
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn features_enable_features() {
        let t = table(&[
            ("default", &["std"]),
            ("std", &["alloc", "log/std"]),
            ("alloc", &[]),
            ("libc", &["dep:libc"]),
            ("log", &["dep:log"]),
            ("trace", &["log?/max_level_trace"]),
        ]);
        let f = for_package("p", &t, &FeatureFlags::default());
        assert_eq!(f.enabled, set(&["default", "std", "alloc", "log"]));
        assert!(f.declared.contains("libc"));
        let flags = FeatureFlags {
            features: vec!["libc, trace".into()],
            no_default_features: true,
            ..Default::default()
        };
        let f = for_package("p", &t, &flags);
        assert_eq!(f.enabled, set(&["libc", "trace"]));
        let all = FeatureFlags {
            all_features: true,
            ..Default::default()
        };
        assert_eq!(for_package("p", &t, &all).enabled.len(), t.len());
        // `p/alloc` is p's own; `q/x` and an unknown name are not p's features
        let flags = FeatureFlags {
            features: vec!["p/alloc".into(), "q/x".into(), "nope".into()],
            no_default_features: true,
            ..Default::default()
        };
        assert_eq!(for_package("p", &t, &flags).enabled, set(&["alloc"]));
        let (_, asks) = close(&t, &set(&["std", "trace"]));
        assert!(asks.contains(&DepAsk {
            dep: "log".into(),
            feature: Some("std".into()),
            weak: false
        }));
        assert!(asks.contains(&DepAsk {
            dep: "log".into(),
            feature: Some("max_level_trace".into()),
            weak: true
        }));
    }

    #[test]
    fn cargo_flags() {
        let flags = FeatureFlags {
            features: vec!["a,b".into(), "c".into()],
            all_features: false,
            no_default_features: true,
        };
        assert_eq!(
            flags.cargo_args(),
            ["--features", "a,b,c", "--no-default-features"]
        );
        assert!(FeatureFlags::default().cargo_args().is_empty());
    }

    #[test]
    fn dependents_unify_what_they_ask() {
        let root = std::env::temp_dir().join(format!("lockstep-features-{}", std::process::id()));
        let write = |dir: &str, text: &str| {
            let d = root.join(dir);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("Cargo.toml"), text).unwrap();
            d.join("Cargo.toml")
        };
        let app = write(
            "app",
            "[package]\nname = \"app\"\n[features]\ndefault = [\"fast\"]\nfast = [\"sync/spin\"]\n\
             [dependencies]\nsync = { path = \"../sync\", default-features = false }\n\
             extra = { path = \"../extra\", optional = true }\n",
        );
        let sync = write(
            "sync",
            "[package]\nname = \"sync\"\n[features]\ndefault = [\"std\"]\nstd = []\nspin = []\n\
             libc = [\"dep:libc\"]\n[dependencies]\nlibc = { version = \"0.2\", optional = true }\n",
        );
        let extra = write("extra", "[package]\nname = \"extra\"\n");
        let nodes = vec![
            Node {
                manifest: app.clone(),
                deps: vec![(1, "sync".into()), (2, "extra".into())],
            },
            Node {
                manifest: sync,
                deps: vec![],
            },
            Node {
                manifest: extra,
                deps: vec![],
            },
        ];
        let app_features = for_manifest(&app, "app", &FeatureFlags::default()).unwrap();
        assert!(app_features.declared.contains("extra"), "implicit feature");
        let got = unify(&nodes, &[(0, app_features)]);
        assert_eq!(got[&1].enabled, set(&["spin"]));
        assert_eq!(got[&1].declared, set(&["default", "std", "spin", "libc"]));
        // the optional dependency is off: nothing says how it would be built
        assert!(!got.contains_key(&2));
        let _ = std::fs::remove_dir_all(&root);
    }
}
