//! Name resolution as rustc does it, per crate: the module tree of every analyzed crate, the
//! items each module declares, its `use` imports (renames, groups, globs, `self`/`super`/
//! `crate`, re-exports through any number of modules) and the other analyzed crates by name
//! (or by the name a crate gives a renamed dependency).
//! A path resolves to an item of the analyzed code, to a path outside it (a dependency or std,
//! as far as the imports spell it: `use parking_lot::Mutex` makes `Mutex` stand for
//! `parking_lot::Mutex`), or to nothing — never to a same-named item somewhere else.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;

use foldhash::fast::FixedState;

use crate::lower::LoweredFile;

/// Maps of names, looked up on every path the analysis resolves.
type Names<V> = crate::fast_hash::HashMap<String, V>;

/// An item of the analyzed code: its kind and where it is in the lowered files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Item {
    Struct(usize, usize),
    Enum(usize, usize),
    Alias(usize, usize),
    Trait(usize, usize),
    Static(usize, usize),
    Fn(usize, usize),
    Module(ModId),
}

/// A module of the analyzed code.
pub type ModId = u32;

/// What a path stands for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Res {
    Item(Item),
    /// An associated item of a type of the analyzed code (`Device::new`, `Self::f` resolved by
    /// the caller): the type and the rest of the path.
    Assoc(Item, Vec<String>),
    /// Outside the analyzed code: the full path as the imports spell it (`std::sync::Mutex`).
    External(Vec<String>),
}

/// Which namespace the last segment is looked up in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ns {
    Type,
    Value,
}

#[derive(Default)]
struct Module {
    path: String,
    parent: Option<ModId>,
    /// The crate root of this module.
    root: ModId,
    types: Names<Item>,
    values: Names<Item>,
    /// `use a::b as c`: local name → the path written.
    uses: Names<Vec<String>>,
    /// `use a::b::*`: the paths written.
    globs: Vec<Vec<String>>,
}

/// Names of std's prelude that a path may use without importing them.
const PRELUDE: &[(&str, &str)] = &[
    ("Box", "std::boxed::Box"),
    ("Vec", "std::vec::Vec"),
    ("String", "std::string::String"),
    ("Option", "std::option::Option"),
    ("Some", "std::option::Option::Some"),
    ("None", "std::option::Option::None"),
    ("Result", "std::result::Result"),
    ("Ok", "std::result::Result::Ok"),
    ("Err", "std::result::Result::Err"),
    ("Clone", "std::clone::Clone"),
    ("Copy", "std::marker::Copy"),
    ("Send", "std::marker::Send"),
    ("Sync", "std::marker::Sync"),
    ("Sized", "std::marker::Sized"),
    ("Unpin", "std::marker::Unpin"),
    ("Default", "std::default::Default"),
    ("Drop", "std::ops::Drop"),
    ("Fn", "std::ops::Fn"),
    ("FnMut", "std::ops::FnMut"),
    ("FnOnce", "std::ops::FnOnce"),
    ("Iterator", "std::iter::Iterator"),
    ("IntoIterator", "std::iter::IntoIterator"),
    ("Extend", "std::iter::Extend"),
    ("From", "std::convert::From"),
    ("Into", "std::convert::Into"),
    ("TryFrom", "std::convert::TryFrom"),
    ("TryInto", "std::convert::TryInto"),
    ("AsRef", "std::convert::AsRef"),
    ("AsMut", "std::convert::AsMut"),
    ("PartialEq", "std::cmp::PartialEq"),
    ("Eq", "std::cmp::Eq"),
    ("PartialOrd", "std::cmp::PartialOrd"),
    ("Ord", "std::cmp::Ord"),
    ("ToString", "std::string::ToString"),
    ("ToOwned", "std::borrow::ToOwned"),
];

/// Crates every crate can name without declaring them.
const SYSROOT: &[&str] = &["std", "core", "alloc"];

/// Most `use` hops one resolution follows along one chain (re-exports, globs).
const MAX_HOPS: u32 = 32;
/// Most module lookups one resolution makes in all (import cycles through globs branch).
const MAX_LOOKUPS: u32 = 512;

/// The names crates give their dependencies other than the dependencies' crate names:
/// crate → extern name → crate name (`deps_renamed` → `mysync` → `ksync`).
pub type ExternNames = HashMap<String, HashMap<String, String>>;

/// The extern names of the crates of `db`'s files ([`SourceFile::extern_names`]).
///
/// [`SourceFile::extern_names`]: crate::source::SourceFile::extern_names
pub fn extern_names(db: &crate::source::SourceDb) -> ExternNames {
    let mut out = ExternNames::new();
    for f in db.files() {
        if f.extern_names.is_empty() {
            continue;
        }
        let names = out.entry(f.crate_name.clone()).or_default();
        for (alias, krate) in &f.extern_names {
            names.entry(alias.clone()).or_insert_with(|| krate.clone());
        }
    }
    out
}

/// Shards of [`DefMap`]'s memo of resolutions (flows resolve paths on every thread).
const MEMO_SHARDS: usize = 16;

/// A resolution asked before: module, namespace, segments.
type MemoKey = (ModId, bool, Vec<String>);

/// The module trees and items of every analyzed crate.
#[derive(Default)]
pub struct DefMap {
    modules: Vec<Module>,
    by_path: Names<ModId>,
    crates: Names<ModId>,
    /// Renamed dependencies, per crate: the extern name stands for the crate of that name
    /// (one crate analyzed once, under its own name, whatever its dependents call it).
    externs: ExternNames,
    /// Every resolution made, by its question: a path is resolved from scratch with a fresh
    /// lookup budget, so the answer depends on the question only, and one asked again (`Some`,
    /// `Vec::new`, a module's own types, in every body) is not walked again through the globs.
    memo: [Mutex<crate::fast_hash::HashMap<MemoKey, Option<Res>>>; MEMO_SHARDS],
}

impl DefMap {
    pub fn build(files: &[LoweredFile]) -> DefMap {
        let mut dm = DefMap::default();
        for (fi, f) in files.iter().enumerate() {
            let it = &f.items;
            for (i, s) in it.structs.iter().enumerate() {
                let m = dm.module(&s.module);
                dm.put(m, Ns::Type, &s.name, Item::Struct(fi, i));
                if s.ctor {
                    dm.put(m, Ns::Value, &s.name, Item::Struct(fi, i));
                }
            }
            for (i, e) in it.enums.iter().enumerate() {
                let m = dm.module(&e.module);
                dm.put(m, Ns::Type, &e.name, Item::Enum(fi, i));
            }
            for (i, a) in it.aliases.iter().enumerate() {
                let m = dm.module(&a.module);
                dm.put(m, Ns::Type, &a.name, Item::Alias(fi, i));
            }
            for (i, t) in it.traits.iter().enumerate() {
                let m = dm.module(&t.module);
                dm.put(m, Ns::Type, &t.name, Item::Trait(fi, i));
            }
            for (i, s) in it.statics.iter().enumerate() {
                let m = dm.module(&s.module);
                dm.put(m, Ns::Value, &s.name, Item::Static(fi, i));
            }
            for (i, func) in it.fns.iter().enumerate() {
                let m = dm.module(&func.module);
                if func.self_ty.is_some() || func.in_trait || func.path.contains('{') {
                    continue;
                }
                dm.put(m, Ns::Value, &func.name, Item::Fn(fi, i));
            }
            for u in &it.uses {
                let m = dm.module(&u.module);
                let md = &mut dm.modules[m as usize];
                if u.glob {
                    if !md.globs.contains(&u.path) {
                        md.globs.push(u.path.clone());
                    }
                } else if !u.alias.is_empty() && u.alias != "_" {
                    md.uses
                        .entry(u.alias.clone())
                        .or_insert_with(|| u.path.clone());
                }
            }
        }
        dm
    }

    /// With the extern names of the crates ([`extern_names`]).
    pub fn with_extern_names(mut self, externs: ExternNames) -> DefMap {
        self.externs = externs;
        self
    }

    /// The crate a path written in `module` that starts with `name` starts in, when `name` is
    /// an extern name of the module's crate (`mysync` → `ksync`); else `name`.
    pub fn crate_named<'a>(&'a self, module: &str, name: &'a str) -> &'a str {
        let Some(m) = self.module_id(module) else {
            return name;
        };
        let root = &self.modules[self.modules[m as usize].root as usize];
        self.externs
            .get(&root.path)
            .and_then(|e| e.get(name))
            .map_or(name, String::as_str)
    }

    /// The crate that `name` names in module `m` as an extern name of `m`'s crate: the
    /// analyzed crate of that name, else the path outside the analyzed code.
    fn extern_crate(&self, m: ModId, name: &str) -> Option<Res> {
        let root = &self.modules[self.modules[m as usize].root as usize];
        let krate = self.externs.get(&root.path)?.get(name)?;
        Some(match self.crates.get(krate) {
            Some(&c) => Res::Item(Item::Module(c)),
            None => Res::External(vec![krate.clone()]),
        })
    }

    /// The module at a path (`krate::a::b`), created with its ancestors when new.
    fn module(&mut self, path: &str) -> ModId {
        if let Some(&m) = self.by_path.get(path) {
            return m;
        }
        let (parent, name) = match path.rsplit_once("::") {
            Some((p, n)) => (Some(self.module(p)), n.to_string()),
            None => (None, path.to_string()),
        };
        let id = self.modules.len() as ModId;
        let root = parent.map_or(id, |p| self.modules[p as usize].root);
        self.modules.push(Module {
            path: path.to_string(),
            parent,
            root,
            ..Module::default()
        });
        self.by_path.insert(path.to_string(), id);
        match parent {
            Some(p) => {
                self.put(p, Ns::Type, &name, Item::Module(id));
            }
            None => {
                self.crates.insert(path.to_string(), id);
            }
        }
        id
    }

    fn put(&mut self, m: ModId, ns: Ns, name: &str, item: Item) {
        let md = &mut self.modules[m as usize];
        let map = match ns {
            Ns::Type => &mut md.types,
            Ns::Value => &mut md.values,
        };
        // The first definition wins (`#[cfg]` alternatives of one name are one item to us).
        map.entry(name.to_string()).or_insert(item);
    }

    /// The module at a full path, if it is one of the analyzed code's.
    pub fn module_id(&self, path: &str) -> Option<ModId> {
        self.by_path.get(path).copied()
    }

    pub fn module_path(&self, m: ModId) -> &str {
        &self.modules[m as usize].path
    }

    /// Whether `name` is an analyzed crate.
    pub fn is_crate(&self, name: &str) -> bool {
        self.crates.contains_key(name)
    }

    /// Resolve a path written in the module at `module` (a full module path), its last
    /// segment in namespace `ns`.
    pub fn resolve(&self, module: &str, segs: &[String], ns: Ns) -> Option<Res> {
        let m = self.module_id(module)?;
        let key: MemoKey = (m, ns == Ns::Type, segs.to_vec());
        let shard = &self.memo[FixedState::default().hash_one(&key) as usize % MEMO_SHARDS];
        if let Some(r) = shard.lock().ok().and_then(|memo| memo.get(&key).cloned()) {
            return r;
        }
        let r = self.resolve_fresh(m, segs, ns);
        if let Ok(mut memo) = shard.lock() {
            memo.insert(key, r.clone());
        }
        r
    }

    fn resolve_fresh(&self, m: ModId, segs: &[String], ns: Ns) -> Option<Res> {
        let mut budget = MAX_LOOKUPS;
        match self.resolve_in(m, segs, ns, 0, &mut budget)? {
            // `core::` and `alloc::` items are std's.
            Res::External(mut p)
                if matches!(p.first().map(String::as_str), Some("core" | "alloc")) =>
            {
                p[0] = "std".to_string();
                Some(Res::External(p))
            }
            r => Some(r),
        }
    }

    fn resolve_in(
        &self,
        m: ModId,
        segs: &[String],
        ns: Ns,
        hops: u32,
        budget: &mut u32,
    ) -> Option<Res> {
        if hops > MAX_HOPS || segs.is_empty() {
            return None;
        }
        let md = &self.modules[m as usize];
        // The module the rest of the path is looked up in, and where the rest starts.
        let (start, rest) = match segs[0].as_str() {
            "crate" | "$crate" => (md.root, &segs[1..]),
            "self" => (m, &segs[1..]),
            "super" => {
                let mut cur = m;
                let mut i = 0;
                while segs.get(i).is_some_and(|s| s == "super") {
                    cur = self.modules[cur as usize].parent.unwrap_or(cur);
                    i += 1;
                }
                (cur, &segs[i..])
            }
            first => {
                let last_ns = if segs.len() == 1 { ns } else { Ns::Type };
                let res = self.lookup_scope(m, first, last_ns, hops, budget)?;
                return self.walk(res, &segs[1..], ns, hops, budget);
            }
        };
        if rest.is_empty() {
            return Some(Res::Item(Item::Module(start)));
        }
        let last_ns = if rest.len() == 1 { ns } else { Ns::Type };
        let res = self.lookup_module(start, &rest[0], last_ns, hops, budget)?;
        self.walk(res, &rest[1..], ns, hops, budget)
    }

    /// Follow the remaining segments from what the first ones resolved to.
    fn walk(
        &self,
        mut res: Res,
        rest: &[String],
        ns: Ns,
        hops: u32,
        budget: &mut u32,
    ) -> Option<Res> {
        for (i, seg) in rest.iter().enumerate() {
            let last_ns = if i + 1 == rest.len() { ns } else { Ns::Type };
            res = match res {
                Res::Item(Item::Module(m)) => self.lookup_module(m, seg, last_ns, hops, budget)?,
                Res::Item(item) => return Some(Res::Assoc(item, rest[i..].to_vec())),
                Res::Assoc(item, mut more) => {
                    more.extend(rest[i..].iter().cloned());
                    return Some(Res::Assoc(item, more));
                }
                Res::External(mut p) => {
                    p.extend(rest[i..].iter().cloned());
                    return Some(Res::External(p));
                }
            };
        }
        Some(res)
    }

    /// A name used unqualified in module `m`: the module's items and imports, then its crate's
    /// extern names, the other analyzed crates and the sysroot crates, then std's prelude.
    fn lookup_scope(
        &self,
        m: ModId,
        name: &str,
        ns: Ns,
        hops: u32,
        budget: &mut u32,
    ) -> Option<Res> {
        if let Some(r) = self.lookup_module(m, name, ns, hops, budget) {
            return Some(r);
        }
        if let Some(r) = self.extern_crate(m, name) {
            return Some(r);
        }
        if let Some(&c) = self.crates.get(name) {
            return Some(Res::Item(Item::Module(c)));
        }
        if SYSROOT.contains(&name) {
            return Some(Res::External(vec![name.to_string()]));
        }
        PRELUDE
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| Res::External(p.split("::").map(str::to_string).collect()))
    }

    /// A name as a member of module `m`: its items, its imports (re-exports), its globs.
    fn lookup_module(
        &self,
        m: ModId,
        name: &str,
        ns: Ns,
        hops: u32,
        budget: &mut u32,
    ) -> Option<Res> {
        if *budget == 0 || hops > MAX_HOPS {
            return None;
        }
        *budget -= 1;
        let md = &self.modules[m as usize];
        let own = match ns {
            Ns::Type => md.types.get(name),
            Ns::Value => md.values.get(name),
        };
        if let Some(&item) = own {
            return Some(Res::Item(item));
        }
        if let Some(path) = md.uses.get(name) {
            if let Some(r) = self.resolve_use(m, path, ns, hops + 1, budget) {
                return Some(r);
            }
        }
        for g in &md.globs {
            let Some(target) = self.resolve_use(m, g, Ns::Type, hops + 1, budget) else {
                continue;
            };
            match target {
                Res::Item(Item::Module(t)) if t != m => {
                    if let Some(r) = self.lookup_module(t, name, ns, hops + 1, budget) {
                        return Some(r);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// A `use` path of module `m`: relative to `m` (or `crate`/`self`/`super`), else a crate
    /// by extern name or by name, else (edition 2015) relative to the crate root, else outside
    /// the analyzed code.
    fn resolve_use(
        &self,
        m: ModId,
        path: &[String],
        ns: Ns,
        hops: u32,
        budget: &mut u32,
    ) -> Option<Res> {
        if hops > MAX_HOPS || path.is_empty() {
            return None;
        }
        let first = path[0].as_str();
        if matches!(first, "crate" | "$crate" | "self" | "super") {
            return self.resolve_in(m, path, ns, hops, budget);
        }
        let last_ns = if path.len() == 1 { ns } else { Ns::Type };
        // `use foo::Bar` where `foo` is an item of this module (uniform paths), but not the
        // import itself (`use log;` naming the crate).
        let md = &self.modules[m as usize];
        let local = match last_ns {
            Ns::Type => md.types.get(first),
            Ns::Value => md.values.get(first),
        };
        if let Some(&item) = local {
            return self.walk(Res::Item(item), &path[1..], ns, hops, budget);
        }
        if let Some(r) = self.extern_crate(m, first) {
            return self.walk(r, &path[1..], ns, hops, budget);
        }
        if let Some(&c) = self.crates.get(first) {
            return self.walk(Res::Item(Item::Module(c)), &path[1..], ns, hops, budget);
        }
        let root = md.root;
        if root != m {
            if let Some(r) = self.lookup_module(root, first, last_ns, hops + 1, budget) {
                return self.walk(r, &path[1..], ns, hops, budget);
            }
        }
        Some(Res::External(path.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{FileId, SourceFile};

    fn files(srcs: &[(&str, &[&str], &str)]) -> Vec<LoweredFile> {
        srcs.iter()
            .enumerate()
            .map(|(i, (krate, module, text))| {
                let mut f = SourceFile::new(FileId(i as u32), format!("f{i}.rs"), *text);
                f.crate_name = krate.to_string();
                f.module_path = module.iter().map(|s| s.to_string()).collect();
                crate::lower_file(&f)
            })
            .collect()
    }

    fn segs(p: &str) -> Vec<String> {
        p.split("::").map(str::to_string).collect()
    }

    fn struct_path(fs: &[LoweredFile], r: Option<Res>) -> String {
        match r {
            Some(Res::Item(Item::Struct(f, i))) => fs[f].items.structs[i].path.clone(),
            Some(Res::External(p)) => format!("extern {}", p.join("::")),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn paths_resolve_through_modules_uses_and_reexports() {
        let fs = files(&[
            (
                "k",
                &[],
                "mod a; mod b; pub use a::inner::Dev as Device; use parking_lot::Mutex as PlMutex;",
            ),
            (
                "k",
                &["a"],
                "pub mod inner { pub struct Dev; } pub struct Dev;",
            ),
            (
                "k",
                &["b"],
                "use super::Device; use crate::a::*; pub struct Other;",
            ),
        ]);
        let dm = DefMap::build(&fs);
        let r = |m: &str, p: &str| struct_path(&fs, dm.resolve(m, &segs(p), Ns::Type));
        assert_eq!(r("k", "Device"), "k::a::inner::Dev");
        assert_eq!(r("k::b", "Device"), "k::a::inner::Dev");
        // the glob brings `a::Dev`, not the inner one
        assert_eq!(r("k::b", "Dev"), "k::a::Dev");
        assert_eq!(r("k::b", "crate::a::inner::Dev"), "k::a::inner::Dev");
        assert_eq!(r("k::b", "super::a::Dev"), "k::a::Dev");
        assert_eq!(r("k", "PlMutex"), "extern parking_lot::Mutex");
        assert_eq!(r("k", "Vec"), "extern std::vec::Vec");
        // a same-named type elsewhere is not found by its name alone
        assert_eq!(r("k", "Other"), "None");
    }

    #[test]
    fn crates_see_each_other_by_name() {
        let fs = files(&[
            ("aml", &[], "pub trait Aml {} pub struct Name;"),
            ("vmm", &[], "use aml::Name; mod m { pub fn f() {} }"),
        ]);
        let dm = DefMap::build(&fs);
        let r = |m: &str, p: &str| struct_path(&fs, dm.resolve(m, &segs(p), Ns::Type));
        assert_eq!(r("vmm", "Name"), "aml::Name");
        assert_eq!(r("vmm", "aml::Name"), "aml::Name");
        assert!(matches!(
            dm.resolve("vmm", &segs("aml::Aml"), Ns::Type),
            Some(Res::Item(Item::Trait(0, 0)))
        ));
        assert!(matches!(
            dm.resolve("vmm", &segs("m::f"), Ns::Value),
            Some(Res::Item(Item::Fn(1, _)))
        ));
        assert!(matches!(
            dm.resolve("vmm", &segs("Name::new"), Ns::Value),
            Some(Res::Assoc(Item::Struct(0, 0), _))
        ));
    }

    #[test]
    fn a_renamed_dependency_is_its_crate_under_the_dependents_name() {
        let fs = files(&[
            (
                "ksync",
                &[],
                "pub struct Gate; pub mod sched { pub fn wait() {} }",
            ),
            ("drv", &[], "use mysync::Gate; use spin2::Mutex;"),
            ("other", &[], "use ksync::Gate as G;"),
        ]);
        let mut externs = ExternNames::new();
        externs.insert(
            "drv".to_string(),
            [("mysync", "ksync"), ("spin2", "spin")]
                .into_iter()
                .map(|(a, c)| (a.to_string(), c.to_string()))
                .collect(),
        );
        let dm = DefMap::build(&fs).with_extern_names(externs);
        let r = |m: &str, p: &str| struct_path(&fs, dm.resolve(m, &segs(p), Ns::Type));
        assert_eq!(r("drv", "Gate"), "ksync::Gate");
        assert_eq!(r("drv", "mysync::Gate"), "ksync::Gate");
        assert!(matches!(
            dm.resolve("drv", &segs("mysync::sched::wait"), Ns::Value),
            Some(Res::Item(Item::Fn(0, _)))
        ));
        // a crate not analyzed is the path outside under its own name
        assert_eq!(r("drv", "Mutex"), "extern spin::Mutex");
        assert_eq!(r("drv", "spin2::Mutex"), "extern spin::Mutex");
        // the rename is the dependent's own: another crate names the crate by its name
        assert_eq!(r("other", "G"), "ksync::Gate");
        assert_eq!(r("other", "mysync::Gate"), "None");
        assert_eq!(dm.crate_named("drv", "spin2"), "spin");
        assert_eq!(dm.crate_named("other", "spin2"), "spin2");
    }

    #[test]
    fn import_cycles_end() {
        let fs = files(&[
            ("k", &[], "mod a; mod b;"),
            ("k", &["a"], "pub use crate::b::X; pub use crate::b::*;"),
            ("k", &["b"], "pub use crate::a::X; pub use crate::a::*;"),
        ]);
        let dm = DefMap::build(&fs);
        // whatever it answers, it answers
        let _ = dm.resolve("k::a", &segs("X"), Ns::Type);
        let _ = dm.resolve("k::b", &segs("Y"), Ns::Type);
    }
}
