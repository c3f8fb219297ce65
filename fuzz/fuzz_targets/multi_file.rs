//! A multi-file crate built from the fuzzer's bytes: a `lib.rs` with `mod` declarations and
//! modules in their own files (some nested, some inline), traits with several impls and
//! recursive dispatch through `&dyn Trait` / `Box<dyn Trait>` / `Vec<Box<dyn Trait>>` /
//! `Option<Box<dyn Trait>>` / `Arc<dyn Trait>` / generic `T: Trait` fields and a generic
//! container of trait objects, cross-module calls (`crate::a::f()`, `super::…`, `use …`),
//! std / spin / parking_lot locks in struct fields and statics taken in various orders, guards
//! held across calls, closures passed to lock-holding helpers, and `macro_rules!` (defined in
//! `lib.rs` or a `#[macro_use] mod macros;`) that generate types and impls.
//!
//! Each file is lowered with its module path and the crate's macros (as the driver does),
//! then analysed with every lint. Invariants: nothing panics; two runs on the same input give
//! the same diagnostics and the same summary work; the summary work stays within the run
//! budget plus a margin (libFuzzer's `-timeout` bounds the time).
//!
//! `LOCKSTEP_FUZZ_PRINT=1` prints the generated files and the run's figures to stderr (to turn
//! a crashing input into a readable program: `cargo fuzz run multi_file crash-…`).
#![no_main]

use std::collections::BTreeSet;
use std::fmt::Write as _;

use arbitrary::Arbitrary;
use lockstep_analyzer::interproc::{RUN_ENTRY_BUDGET, SCC_ENTRY_BUDGET};
use lockstep_analyzer::macros::MacroTable;
use lockstep_analyzer::{analyze, lower_file_in, Config, SourceDb, SourceFile};
use lockstep_lints::LintContext;

/// Stack of the tool's analysis threads.
const STACK_SIZE: usize = 64 << 20;
/// Summary work allowed past the run budget: the budget is checked before each function's
/// summary, so one summary may go past it.
const WORK_MARGIN: u64 = 200_000;

// ---- the description ----------------------------------------------------------------------

/// A list of at most `N` elements whose length is one byte of the input (`Vec`'s encoding, a
/// continuation bit per element, makes random inputs describe one-element lists).
#[derive(Debug)]
struct List<T, const N: usize>(Vec<T>);

impl<'a, T: Arbitrary<'a>, const N: usize> Arbitrary<'a> for List<T, N> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let n = u.int_in_range(0..=N as u8)? as usize;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            if u.is_empty() {
                break;
            }
            v.push(T::arbitrary(u)?);
        }
        Ok(List(v))
    }
}

impl<T, const N: usize> std::ops::Deref for List<T, N> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

#[derive(Arbitrary, Debug)]
struct Krate {
    traits: List<TraitDesc, 4>,
    root: List<Item, 8>,
    modules: List<ModDesc, 6>,
    statics: List<StaticDesc, 5>,
    macros_in_file: bool,
    root_style: u8,
    budget: u8,
    budget_n: u16,
}

#[derive(Arbitrary, Debug)]
struct TraitDesc {
    home: u8,
    required: List<u8, 2>,
    defaults: List<(u8, Body), 2>,
    sup: Option<u8>,
}

#[derive(Arbitrary, Debug)]
struct ModDesc {
    /// 0: child of the crate root, else of an earlier module.
    parent: u8,
    inline: bool,
    /// How paths to other modules' items are written (see `Names::path_to`).
    style: u8,
    items: List<Item, 8>,
}

#[derive(Arbitrary, Debug)]
struct StaticDesc {
    home: u8,
    kind: u8,
}

#[derive(Arbitrary, Debug)]
enum Item {
    Struct(StructDesc),
    Fn(FnDesc),
    /// `def_node!(S, Tr, m)` (0), `leaves!(Tr, m[, lock]; S, Sx)` (1).
    MacroNode {
        tr: u8,
        meth: u8,
        form: u8,
        lock: u8,
    },
}

#[derive(Arbitrary, Debug)]
struct StructDesc {
    locks: List<u8, 4>,
    children: List<(u8, u8), 4>,
    impls: List<ImplDesc, 3>,
    inherent: List<Body, 2>,
}

#[derive(Arbitrary, Debug)]
struct ImplDesc {
    tr: u8,
    /// Bodies of the trait's methods in order (required, then overridden defaults); a
    /// required method without one visits every child that has a method of its name.
    bodies: List<Body, 3>,
    /// Through `impl_fwd!` when the struct has a lock and a directly callable child.
    via_macro: bool,
}

#[derive(Arbitrary, Debug)]
struct FnDesc {
    /// 0 plain (`node: &dyn Tr`), 1 generic (`t: &T`, `T: Tr`), 2 entry (`dev: &S`),
    /// 3 lock-holding closure helper, 4 closure helper over a slice of trait objects.
    kind: u8,
    /// The trait (0, 1, 4), struct (2) or lock kind (3).
    arg: u8,
    irq: bool,
    body: Body,
}

/// A function body.
type Body = List<Stmt, 6>;
/// A nested block.
type Inner = List<Stmt, 3>;

#[derive(Arbitrary, Debug)]
enum Stmt {
    Lock { lock: u8, guard: u8, how: u8 },
    Drop(u8),
    Write(u8),
    Visit { node: u8, meth: u8, how: u8 },
    Call { func: u8, arg: u8 },
    Closure { func: u8, target: u8, body: Inner },
    MacroLock { lock: u8, body: Inner },
    LocalClosure(Inner),
    If { cond: u8, then: Inner, els: Inner },
    Loop { n: u8, body: Inner },
    Block(Inner),
    Return(u8),
    Sleep,
}

// ---- names ----------------------------------------------------------------------------------

const MOD_NAMES: &[&str] = &["dev", "tree", "bus", "acpi", "net", "irqs", "blk", "vmm"];
const METHODS: &[&str] = &[
    "emit", "visit", "walk", "poll", "flush", "tick", "probe", "reset",
];
const MAX_TRAITS: usize = 4;
const MAX_MODULES: usize = 6;
const MAX_ITEMS: usize = 8;
const MAX_STATICS: usize = 5;
const MAX_DEPTH: usize = 4;
/// Statements rendered over the whole crate.
const MAX_STMTS: usize = 500;

/// Lock types: (field type, static initializer, std-style `Result`, rwlock).
const LOCKS: &[(&str, &str, bool, bool)] = &[
    (
        "std::sync::Mutex<u32>",
        "std::sync::Mutex::new(0)",
        true,
        false,
    ),
    (
        "std::sync::RwLock<u32>",
        "std::sync::RwLock::new(0)",
        true,
        true,
    ),
    ("spin::Mutex<u32>", "spin::Mutex::new(0)", false, false),
    (
        "parking_lot::Mutex<u32>",
        "parking_lot::Mutex::new(0)",
        false,
        false,
    ),
    (
        "parking_lot::RwLock<u32>",
        "parking_lot::RwLock::new(0)",
        false,
        true,
    ),
    ("spin::RwLock<u32>", "spin::RwLock::new(0)", false, true),
    // fields only
    ("std::sync::Arc<std::sync::Mutex<u32>>", "", true, false),
];
const STATIC_LOCKS: usize = 6;

/// How a child field is held and visited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChildKind {
    Ref,
    Boxed,
    VecBox,
    OptBox,
    ArcDyn,
    Generic,
    Bag,
    MutexBox,
    VecGeneric,
    ArrayBox,
}

const CHILD_KINDS: &[ChildKind] = &[
    ChildKind::Ref,
    ChildKind::Boxed,
    ChildKind::VecBox,
    ChildKind::OptBox,
    ChildKind::ArcDyn,
    ChildKind::Generic,
    ChildKind::Bag,
    ChildKind::MutexBox,
    ChildKind::VecGeneric,
    ChildKind::ArrayBox,
];

struct ModInfo {
    name: String,
    /// Module path inside the crate (empty for the root).
    path: Vec<String>,
    parent: usize,
    inline: bool,
    style: u8,
}

struct TraitInfo {
    name: String,
    home: usize,
    required: Vec<String>,
    defaults: Vec<String>,
    sup: Option<usize>,
}

struct StaticInfo {
    name: String,
    home: usize,
    kind: usize,
}

struct StructInfo {
    name: String,
    home: usize,
    locks: Vec<usize>,
    children: Vec<(ChildKind, usize)>,
    /// Traits it implements.
    impls: Vec<usize>,
    inherent: Vec<String>,
    /// Needs `<'a>`.
    lt: bool,
    /// Type parameters: (name, trait).
    params: Vec<(String, usize)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FnKind {
    Plain,
    Generic,
    Entry,
    WithLock,
    Each,
}

struct FnInfo {
    name: String,
    home: usize,
    kind: FnKind,
    /// Trait, struct or lock kind, by `kind`.
    arg: usize,
}

/// Everything declared, with global names, before any text is written.
struct Names {
    mods: Vec<ModInfo>,
    traits: Vec<TraitInfo>,
    statics: Vec<StaticInfo>,
    structs: Vec<StructInfo>,
    fns: Vec<FnInfo>,
}

impl Names {
    /// `item` of module `to` as written in module `from`, per style; `use` lines it needs are
    /// added to `uses`.
    fn path_to(
        &self,
        from: usize,
        to: usize,
        item: &str,
        style: usize,
        uses: &mut BTreeSet<String>,
    ) -> String {
        if from == to {
            return item.to_string();
        }
        let abs = {
            let mut s = String::from("crate");
            for p in &self.mods[to].path {
                s.push_str("::");
                s.push_str(p);
            }
            s
        };
        match style % 5 {
            0 => format!("{abs}::{item}"),
            1 => {
                let (f, t) = (&self.mods[from].path, &self.mods[to].path);
                let common = f.iter().zip(t).take_while(|(a, b)| a == b).count();
                let mut s = String::new();
                if f.len() == common {
                    s.push_str("self::");
                } else {
                    for _ in common..f.len() {
                        s.push_str("super::");
                    }
                }
                for p in &t[common..] {
                    s.push_str(p);
                    s.push_str("::");
                }
                s.push_str(item);
                s
            }
            2 => {
                uses.insert(format!("use {abs}::{item};"));
                item.to_string()
            }
            3 => {
                uses.insert(format!("use {abs}::*;"));
                item.to_string()
            }
            _ => {
                if to == 0 {
                    format!("{abs}::{item}")
                } else if self.mods[to].parent == from {
                    format!("{}::{item}", self.mods[to].name)
                } else {
                    uses.insert(format!("use {abs};"));
                    format!("{}::{item}", self.mods[to].name)
                }
            }
        }
    }

    /// Every method a value bounded by trait `t` has (its supertraits' too).
    fn trait_methods(&self, t: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = Some(t);
        let mut steps = 0;
        while let Some(i) = at {
            let tr = &self.traits[i];
            for m in tr.required.iter().chain(&tr.defaults) {
                if !out.contains(m) {
                    out.push(m.clone());
                }
            }
            at = tr.sup;
            steps += 1;
            if steps > MAX_TRAITS {
                break;
            }
        }
        out
    }

    fn struct_methods(&self, s: usize) -> Vec<String> {
        let st = &self.structs[s];
        let mut out = st.inherent.clone();
        for &t in &st.impls {
            for m in self.trait_methods(t) {
                if !out.contains(&m) {
                    out.push(m);
                }
            }
        }
        out
    }
}

fn collect(k: &Krate) -> Names {
    let mut mods = vec![ModInfo {
        name: String::new(),
        path: Vec::new(),
        parent: 0,
        inline: false,
        style: k.root_style,
    }];
    for (i, m) in k.modules.iter().take(MAX_MODULES).enumerate() {
        let idx = i + 1;
        // a parent among the earlier modules (0 is the root), at most 3 deep
        let mut parent = m.parent as usize % idx;
        if mods[parent].path.len() >= 3 {
            parent = 0;
        }
        let name = MOD_NAMES[i % MOD_NAMES.len()].to_string();
        let mut path = mods[parent].path.clone();
        path.push(name.clone());
        mods.push(ModInfo {
            name,
            path,
            parent,
            inline: m.inline,
            style: m.style,
        });
    }
    let nmods = mods.len();
    let mut traits = Vec::new();
    let ntraits = k.traits.len().clamp(1, MAX_TRAITS);
    for i in 0..ntraits {
        let (home, req, defs, sup) = match k.traits.get(i) {
            Some(t) => (
                t.home as usize % nmods,
                t.required
                    .iter()
                    .take(2)
                    .map(|m| *m as usize)
                    .collect::<Vec<_>>(),
                t.defaults
                    .iter()
                    .take(2)
                    .map(|d| d.0 as usize)
                    .collect::<Vec<_>>(),
                t.sup.map(|s| s as usize),
            ),
            None => (0, Vec::new(), Vec::new(), None),
        };
        let mut required: Vec<String> = Vec::new();
        for m in req {
            let m = METHODS[m % METHODS.len()].to_string();
            if !required.contains(&m) {
                required.push(m);
            }
        }
        if required.is_empty() {
            required.push(METHODS[i % METHODS.len()].to_string());
        }
        let mut defaults: Vec<String> = Vec::new();
        for m in defs {
            let m = METHODS[m % METHODS.len()].to_string();
            if !required.contains(&m) && !defaults.contains(&m) {
                defaults.push(m);
            }
        }
        traits.push(TraitInfo {
            name: format!("Tr{i}"),
            home,
            required,
            defaults,
            sup: sup.filter(|_| i > 0).map(|s| s % i),
        });
    }
    let statics = (k.statics.iter().take(MAX_STATICS).enumerate())
        .map(|(i, s)| StaticInfo {
            name: format!("L{i}"),
            home: s.home as usize % nmods,
            kind: s.kind as usize % STATIC_LOCKS,
        })
        .collect();
    let mut names = Names {
        mods,
        traits,
        statics,
        structs: Vec::new(),
        fns: Vec::new(),
    };
    for (m, items) in module_items(k) {
        for it in items.iter().take(MAX_ITEMS) {
            declare(&mut names, m, it);
        }
    }
    names
}

/// The item lists of the root and of every module kept, with their module index.
fn module_items(k: &Krate) -> Vec<(usize, &Vec<Item>)> {
    let mut v = vec![(0, &k.root.0)];
    for (i, m) in k.modules.iter().take(MAX_MODULES).enumerate() {
        v.push((i + 1, &m.items.0));
    }
    v
}

fn declare(names: &mut Names, m: usize, it: &Item) {
    let ntraits = names.traits.len();
    match it {
        Item::Struct(s) => {
            let i = names.structs.len();
            let locks: Vec<usize> = s
                .locks
                .iter()
                .take(4)
                .map(|l| *l as usize % LOCKS.len())
                .collect();
            let mut children = Vec::new();
            let mut params = Vec::new();
            for (c, t) in s.children.iter().take(4) {
                let kind = CHILD_KINDS[*c as usize % CHILD_KINDS.len()];
                let t = *t as usize % ntraits;
                if matches!(kind, ChildKind::Generic | ChildKind::VecGeneric) {
                    params.push((format!("N{}", params.len()), t));
                }
                children.push((kind, t));
            }
            let mut impls = Vec::new();
            for im in s.impls.iter().take(3) {
                let t = im.tr as usize % ntraits;
                if !impls.contains(&t) {
                    impls.push(t);
                }
            }
            let inherent = (0..s.inherent.len().min(2))
                .map(|j| format!("h{i}_{j}"))
                .collect();
            names.structs.push(StructInfo {
                name: format!("S{i}"),
                home: m,
                lt: children.iter().any(|c| c.0 == ChildKind::Ref),
                locks,
                children,
                impls,
                inherent,
                params,
            });
        }
        Item::Fn(f) => {
            let i = names.fns.len();
            let kind = match f.kind % 5 {
                0 => FnKind::Plain,
                1 => FnKind::Generic,
                2 => FnKind::Entry,
                3 => FnKind::WithLock,
                _ => FnKind::Each,
            };
            // an entry needs a struct declared before it
            let kind = if kind == FnKind::Entry && names.structs.is_empty() {
                FnKind::Plain
            } else {
                kind
            };
            let arg = match kind {
                FnKind::Entry => f.arg as usize % names.structs.len(),
                FnKind::WithLock => f.arg as usize % STATIC_LOCKS,
                _ => f.arg as usize % ntraits,
            };
            names.fns.push(FnInfo {
                name: format!("f{i}"),
                home: m,
                kind,
                arg,
            });
        }
        Item::MacroNode { tr, form, .. } => {
            let i = names.structs.len();
            let t = *tr as usize % ntraits;
            // `leaves!` declares two unit structs, `def_node!` one
            let count = if form % 2 == 1 { 2 } else { 1 };
            for j in 0..count {
                names.structs.push(StructInfo {
                    name: if j == 0 {
                        format!("S{i}")
                    } else {
                        format!("S{i}x")
                    },
                    home: m,
                    locks: Vec::new(),
                    children: Vec::new(),
                    impls: vec![t],
                    inherent: Vec::new(),
                    lt: false,
                    params: Vec::new(),
                });
            }
        }
    }
}

// ---- rendering ------------------------------------------------------------------------------

/// A lock a body may take: its place as written there and its kind.
#[derive(Clone)]
struct LockRef {
    place: String,
    kind: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// `x.m(out)`
    Direct,
    /// `for c in x.iter() { c.m(out) }`
    Iter,
    /// `if let Some(c) = &x { c.m(out) }`
    Opt,
    /// `x.each(|c| c.m(out))` (the lock-holding generic container)
    Bag,
    /// `x.lock().unwrap().m(out)`
    Locked,
}

/// A value a body may call methods on.
#[derive(Clone)]
struct NodeRef {
    expr: String,
    access: Access,
    methods: Vec<String>,
    /// Traits behind it (for choosing a matching argument).
    traits: Vec<usize>,
    /// An expression usable as `&dyn Trait` / `&T`.
    as_ref: Option<String>,
}

struct Out<'n> {
    names: &'n Names,
    stmts_left: usize,
    counter: usize,
}

struct Cx<'a, 'n> {
    out: &'a mut Out<'n>,
    module: usize,
    uses: &'a mut BTreeSet<String>,
    s: String,
    depth: usize,
    locks: Vec<LockRef>,
    nodes: Vec<NodeRef>,
    guards: [bool; 4],
}

impl<'a, 'n> Cx<'a, 'n> {
    fn new(
        out: &'a mut Out<'n>,
        module: usize,
        uses: &'a mut BTreeSet<String>,
        depth: usize,
    ) -> Self {
        let mut cx = Cx {
            out,
            module,
            uses,
            s: String::new(),
            depth,
            locks: Vec::new(),
            nodes: Vec::new(),
            guards: [false; 4],
        };
        // every body may take the statics
        for i in 0..cx.out.names.statics.len() {
            let st = &cx.out.names.statics[i];
            let (home, name, kind) = (st.home, st.name.clone(), st.kind);
            let place = cx.path(home, &name);
            cx.locks.push(LockRef { place, kind });
        }
        cx
    }

    fn names(&self) -> &'n Names {
        self.out.names
    }

    /// A path from this module, in this module's style (a style of 128 or more mixes them).
    fn path(&mut self, to: usize, item: &str) -> String {
        let names = self.out.names;
        let base = names.mods[self.module].style;
        let style = if base >= 128 {
            self.out.counter += 1;
            base as usize + self.out.counter
        } else {
            base as usize
        };
        names.path_to(self.module, to, item, style, self.uses)
    }

    fn trait_path(&mut self, t: usize) -> String {
        let names = self.out.names;
        self.path(names.traits[t].home, &names.traits[t].name)
    }

    fn line(&mut self, text: &str) {
        for _ in 0..self.depth {
            self.s.push_str("    ");
        }
        self.s.push_str(text);
        self.s.push('\n');
    }

    fn body(&mut self, stmts: &[Stmt]) {
        for st in stmts {
            self.stmt(st);
        }
    }

    fn nested(&mut self, open: &str, body: &[Stmt], close: &str) {
        self.line(open);
        self.depth += 1;
        let saved = self.guards;
        self.body(body);
        self.guards = saved;
        self.depth -= 1;
        self.line(close);
    }

    fn visit(&mut self, n: &NodeRef, m: &str, how: u8) {
        let e = &n.expr;
        let text = match n.access {
            Access::Direct => format!("{e}.{m}(out);"),
            Access::Iter if how % 2 == 0 => format!("for c in {e}.iter() {{ c.{m}(out); }}"),
            Access::Iter => format!("{e}.iter().for_each(|c| c.{m}(out));"),
            Access::Opt => format!("if let Some(c) = &{e} {{ c.{m}(out); }}"),
            Access::Bag if how % 2 == 0 => format!("{e}.each(|c| c.{m}(out));"),
            Access::Bag => format!("for c in {e}.items.iter() {{ c.{m}(out); }}"),
            Access::Locked => format!("{e}.lock().unwrap().{m}(out);"),
        };
        self.line(&text);
    }

    /// An argument for a function taking a node of trait `t` (any node when none matches).
    fn node_arg(&self, t: Option<usize>, pick: u8) -> String {
        let with_ref: Vec<&NodeRef> = self.nodes.iter().filter(|n| n.as_ref.is_some()).collect();
        let matching: Vec<&&NodeRef> = with_ref
            .iter()
            .filter(|n| t.is_none_or(|t| n.traits.contains(&t)))
            .collect();
        let chosen = if !matching.is_empty() {
            Some(*matching[pick as usize % matching.len()])
        } else if !with_ref.is_empty() {
            Some(with_ref[pick as usize % with_ref.len()])
        } else {
            None
        };
        chosen
            .and_then(|n| n.as_ref.clone())
            .unwrap_or_else(|| "&()".to_string())
    }

    fn stmt(&mut self, st: &Stmt) {
        if self.depth > MAX_DEPTH + 2 || self.out.stmts_left == 0 {
            return;
        }
        self.out.stmts_left -= 1;
        let names = self.names();
        match st {
            Stmt::Lock { lock, guard, how } => {
                if self.locks.is_empty() {
                    return;
                }
                let l = self.locks[*lock as usize % self.locks.len()].clone();
                let acq = acquire(l.kind, *how);
                let g = *guard as usize % 4;
                if how % 4 == 3 {
                    // a temporary guard, released at the end of the statement
                    self.line(&format!("*{}.{acq} += 1;", l.place));
                } else {
                    self.line(&format!("let mut g{g} = {}.{acq};", l.place));
                    self.guards[g] = true;
                }
            }
            Stmt::Drop(g) => {
                let g = *g as usize % 4;
                if self.guards[g] {
                    self.line(&format!("drop(g{g});"));
                    self.guards[g] = false;
                }
            }
            Stmt::Write(g) => {
                let g = *g as usize % 4;
                if self.guards[g] {
                    self.line(&format!("*g{g} += 1;"));
                }
            }
            Stmt::Visit { node, meth, how } => {
                if self.nodes.is_empty() {
                    return;
                }
                let n = self.nodes[*node as usize % self.nodes.len()].clone();
                if n.methods.is_empty() {
                    return;
                }
                let m = n.methods[*meth as usize % n.methods.len()].clone();
                self.visit(&n, &m, *how);
            }
            Stmt::Call { func, arg } => {
                let callable: Vec<usize> = (0..names.fns.len())
                    .filter(|&i| {
                        matches!(
                            names.fns[i].kind,
                            FnKind::Plain | FnKind::Generic | FnKind::Entry
                        )
                    })
                    .collect();
                if callable.is_empty() {
                    return;
                }
                let f = &names.fns[callable[*func as usize % callable.len()]];
                let path = self.path(f.home, &f.name);
                let a = match f.kind {
                    FnKind::Entry => {
                        let s = &names.structs[f.arg];
                        // a node implementing one of the struct's traits
                        let t = s.impls.first().copied();
                        self.node_arg(t, *arg)
                    }
                    _ => self.node_arg(Some(f.arg), *arg),
                };
                self.line(&format!("{path}({a}, out);"));
            }
            Stmt::Closure { func, target, body } => {
                let helpers: Vec<usize> = (0..names.fns.len())
                    .filter(|&i| matches!(names.fns[i].kind, FnKind::WithLock | FnKind::Each))
                    .collect();
                if helpers.is_empty() {
                    self.nested("let c = || {", body, "};");
                    self.line("c();");
                    return;
                }
                let f = &names.fns[helpers[*func as usize % helpers.len()]];
                let path = self.path(f.home, &f.name);
                match f.kind {
                    FnKind::WithLock => {
                        // prefer a lock of the helper's kind
                        let same: Vec<&LockRef> =
                            self.locks.iter().filter(|l| l.kind == f.arg).collect();
                        let place = if !same.is_empty() {
                            same[*target as usize % same.len()].place.clone()
                        } else if !self.locks.is_empty() {
                            self.locks[*target as usize % self.locks.len()]
                                .place
                                .clone()
                        } else {
                            return;
                        };
                        self.line(&format!("{path}(&{place}, |v| {{"));
                        self.depth += 1;
                        self.line("*v += 1;");
                        let saved = self.guards;
                        self.guards = [false; 4];
                        self.body(body);
                        self.guards = saved;
                        self.depth -= 1;
                        self.line("});");
                    }
                    _ => {
                        let t = f.arg;
                        let slices: Vec<&NodeRef> = self
                            .nodes
                            .iter()
                            .filter(|n| n.access == Access::Iter && n.traits.contains(&t))
                            .collect();
                        let v = if slices.is_empty() {
                            "&[]".to_string()
                        } else {
                            format!("&{}", slices[*target as usize % slices.len()].expr)
                        };
                        self.line(&format!("{path}({v}, |c| {{"));
                        self.depth += 1;
                        let methods = names.trait_methods(t);
                        let m = methods[*target as usize % methods.len()].clone();
                        self.line(&format!("c.{m}(out);"));
                        let saved = (self.guards, self.nodes.len());
                        self.guards = [false; 4];
                        self.nodes.push(NodeRef {
                            expr: "c".into(),
                            access: Access::Direct,
                            methods,
                            traits: vec![t],
                            as_ref: Some("c".into()),
                        });
                        self.body(body);
                        self.nodes.truncate(saved.1);
                        self.guards = saved.0;
                        self.depth -= 1;
                        self.line("});");
                    }
                }
            }
            Stmt::MacroLock { lock, body } => {
                if self.locks.is_empty() {
                    return;
                }
                let l = self.locks[*lock as usize % self.locks.len()].place.clone();
                self.nested(&format!("locked!({l}, {{"), body, "});");
            }
            Stmt::LocalClosure(body) => {
                self.nested("let c = || {", body, "};");
                self.line("c();");
            }
            Stmt::If { cond, then, els } => {
                self.nested(&format!("if out.len() > {cond} {{"), then, "} else {");
                self.depth += 1;
                let saved = self.guards;
                self.body(els);
                self.guards = saved;
                self.depth -= 1;
                self.line("}");
            }
            Stmt::Loop { n, body } => {
                self.nested(&format!("for _ in 0..{} {{", n % 4), body, "}");
            }
            Stmt::Block(body) => self.nested("{", body, "}"),
            Stmt::Return(n) => self.line(&format!("if out.len() > {n} {{ return; }}")),
            Stmt::Sleep => self.line("std::thread::sleep(std::time::Duration::from_millis(1));"),
        }
    }
}

/// The acquisition call of a lock kind.
fn acquire(kind: usize, how: u8) -> String {
    let (_, _, std_result, rw) = LOCKS[kind];
    let call = if rw {
        if how % 2 == 0 {
            "read()"
        } else {
            "write()"
        }
    } else if how % 3 == 2 {
        "try_lock()"
    } else {
        "lock()"
    };
    if std_result || call == "try_lock()" {
        format!("{call}.unwrap()")
    } else {
        call.to_string()
    }
}

const MACROS: &str = r#"macro_rules! impl_fwd {
    (ref $t:ident, $tr:path, $m:ident, $l:ident, $c:ident) => {
        impl<'a> $tr for $t<'a> {
            fn $m(&self, out: &mut Vec<u8>) {
                let _g = self.$l.lock();
                self.$c.$m(out);
            }
        }
    };
    ($t:ident, $tr:path, $m:ident, $l:ident, $c:ident) => {
        impl $tr for $t {
            fn $m(&self, out: &mut Vec<u8>) {
                let _g = self.$l.lock();
                self.$c.$m(out);
            }
        }
    };
}

macro_rules! def_node {
    ($name:ident, $tr:path, $m:ident) => {
        pub struct $name {
            pub lock: std::sync::Mutex<u32>,
            pub kids: Vec<Box<dyn $tr>>,
        }
        impl $tr for $name {
            fn $m(&self, out: &mut Vec<u8>) {
                let g = self.lock.lock().unwrap();
                out.push(*g as u8);
                for k in &self.kids {
                    k.$m(out);
                }
            }
        }
    };
}

macro_rules! leaves {
    ($tr:path, $m:ident, $l:expr; $($name:ident),+) => {
        $(
            pub struct $name;
            impl $tr for $name {
                fn $m(&self, out: &mut Vec<u8>) {
                    let _g = $l.lock();
                    out.push(0);
                }
            }
        )+
    };
    ($tr:path, $m:ident; $($name:ident),+) => {
        $(
            pub struct $name;
            impl $tr for $name {
                fn $m(&self, out: &mut Vec<u8>) {
                    out.push(0);
                }
            }
        )+
    };
}

macro_rules! locked {
    ($l:expr, $body:block) => {{
        let _g = $l.lock();
        $body
    }};
}
"#;

const BAG: &str = "/// A generic container of trait objects that locks while it visits them.
pub struct Bag<T: ?Sized> {
    pub items: Vec<Box<T>>,
    pub lock: std::sync::Mutex<u32>,
}

impl<T: ?Sized> Bag<T> {
    pub fn each(&self, mut f: impl FnMut(&T)) {
        let _g = self.lock.lock().unwrap();
        for x in &self.items {
            f(x);
        }
    }
}
";

/// A generated file: path, module path, text.
struct GenFile {
    path: String,
    module: Vec<String>,
    text: String,
}

fn render(k: &Krate) -> Vec<GenFile> {
    let names = collect(k);
    let mut out = Out {
        names: &names,
        stmts_left: MAX_STMTS,
        counter: 0,
    };
    let items = module_items(k);
    // render every module's own items (children are placed after)
    let mut own: Vec<String> = Vec::new();
    let mut struct_i = 0;
    let mut fn_i = 0;
    for (m, its) in &items {
        let mut uses = BTreeSet::new();
        let mut s = String::new();
        render_module_items(
            &mut out,
            *m,
            k,
            its,
            &mut uses,
            &mut s,
            &mut struct_i,
            &mut fn_i,
        );
        let mut text = String::new();
        for u in &uses {
            text.push_str(u);
            text.push('\n');
        }
        if !uses.is_empty() {
            text.push('\n');
        }
        text.push_str(&s);
        own.push(text);
    }
    // assemble: each module's text followed by its children (declared or inline)
    fn assemble(names: &Names, own: &[String], m: usize, files: &mut Vec<GenFile>) -> String {
        let mut text = String::new();
        for c in 1..names.mods.len() {
            if names.mods[c].parent != m {
                continue;
            }
            let name = &names.mods[c].name;
            if names.mods[c].inline {
                let inner = assemble(names, own, c, files);
                let _ = writeln!(text, "pub mod {name} {{");
                for l in inner.lines() {
                    if l.is_empty() {
                        text.push('\n');
                    } else {
                        let _ = writeln!(text, "    {l}");
                    }
                }
                text.push_str("}\n\n");
            } else {
                let _ = writeln!(text, "pub mod {name};");
                let inner = assemble(names, own, c, files);
                // the file of an inline module's child sits under the inline module's path
                files.push(GenFile {
                    path: format!("src/{}.rs", names.mods[c].path.join("/")),
                    module: names.mods[c].path.clone(),
                    text: inner,
                });
            }
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&own[m]);
        text
    }
    let mut files = Vec::new();
    let body = assemble(&names, &own, 0, &mut files);
    let mut root = String::new();
    if k.macros_in_file {
        root.push_str("#[macro_use]\nmod macros;\n\n");
        files.push(GenFile {
            path: "src/macros.rs".into(),
            module: vec!["macros".into()],
            text: MACROS.to_string(),
        });
    } else {
        root.push_str(MACROS);
        root.push('\n');
    }
    root.push_str(BAG);
    root.push('\n');
    root.push_str(&body);
    files.insert(
        0,
        GenFile {
            path: "src/lib.rs".into(),
            module: Vec::new(),
            text: root,
        },
    );
    files
}

#[allow(clippy::too_many_arguments)]
fn render_module_items(
    out: &mut Out<'_>,
    m: usize,
    k: &Krate,
    items: &[Item],
    uses: &mut BTreeSet<String>,
    s: &mut String,
    struct_i: &mut usize,
    fn_i: &mut usize,
) {
    let names = out.names;
    for st in names.statics.iter().filter(|st| st.home == m) {
        let (ty, init, _, _) = LOCKS[st.kind];
        let _ = writeln!(s, "pub static {}: {ty} = {init};\n", st.name);
    }
    for (t, tr) in names.traits.iter().enumerate() {
        if tr.home != m {
            continue;
        }
        let mut cx = Cx::new(out, m, uses, 1);
        let sup = tr
            .sup
            .map(|p| format!(": {}", cx.trait_path(p)))
            .unwrap_or_default();
        let _ = writeln!(cx.s, "pub trait {}{sup} {{", tr.name);
        for r in &tr.required {
            cx.line(&format!("fn {r}(&self, out: &mut Vec<u8>);"));
        }
        let methods = names.trait_methods(t);
        let bodies = k.traits.get(t).map(|d| &d.defaults[..]).unwrap_or(&[]);
        for (j, d) in tr.defaults.iter().enumerate() {
            cx.line(&format!("fn {d}(&self, out: &mut Vec<u8>) {{"));
            cx.depth += 1;
            cx.nodes = vec![NodeRef {
                expr: "self".into(),
                access: Access::Direct,
                methods: methods.clone(),
                traits: vec![t],
                as_ref: None,
            }];
            cx.guards = [false; 4];
            let body = bodies
                .iter()
                .find(|b| METHODS[b.0 as usize % METHODS.len()] == d);
            match body {
                Some((_, b)) if !b.is_empty() => cx.body(b),
                _ => {
                    let r = tr.required[j % tr.required.len()].clone();
                    cx.line(&format!("self.{r}(out);"));
                }
            }
            cx.depth -= 1;
            cx.line("}");
        }
        cx.s.push_str("}\n\n");
        s.push_str(&cx.s);
    }
    for it in items.iter().take(MAX_ITEMS) {
        match it {
            Item::Struct(d) => {
                let i = *struct_i;
                *struct_i += 1;
                render_struct(out, m, i, d, uses, s);
            }
            Item::Fn(d) => {
                let i = *fn_i;
                *fn_i += 1;
                render_fn(out, m, i, d, uses, s);
            }
            Item::MacroNode {
                meth, form, lock, ..
            } => {
                let i = *struct_i;
                let st = &names.structs[i];
                *struct_i += if form % 2 == 1 { 2 } else { 1 };
                let t = st.impls[0];
                let mut cx = Cx::new(out, m, uses, 0);
                let tp = cx.trait_path(t);
                let methods = names.trait_methods(t);
                let mname = &methods[*meth as usize % methods.len()];
                if form % 2 == 0 {
                    let _ = writeln!(cx.s, "def_node!({}, {tp}, {mname});\n", st.name);
                } else if cx.locks.is_empty() || lock % 2 == 0 {
                    let _ = writeln!(cx.s, "leaves!({tp}, {mname}; {}, {}x);\n", st.name, st.name);
                } else {
                    let l = cx.locks[*lock as usize % cx.locks.len()].place.clone();
                    let _ = writeln!(
                        cx.s,
                        "leaves!({tp}, {mname}, {l}; {}, {}x);\n",
                        st.name, st.name
                    );
                }
                s.push_str(&cx.s);
            }
        }
    }
}

fn generics(cx: &mut Cx<'_, '_>, st: &StructInfo, with_lt: bool) -> (String, String) {
    let mut decl = Vec::new();
    let mut args = Vec::new();
    if st.lt {
        if with_lt {
            decl.push("'a".to_string());
            args.push("'a".to_string());
        } else {
            args.push("'_".to_string());
        }
    }
    for (p, t) in &st.params {
        let tp = cx.trait_path(*t);
        decl.push(format!("{p}: {tp}"));
        args.push(p.clone());
    }
    let wrap = |v: Vec<String>| {
        if v.is_empty() {
            String::new()
        } else {
            format!("<{}>", v.join(", "))
        }
    };
    (wrap(decl), wrap(args))
}

fn render_struct(
    out: &mut Out<'_>,
    m: usize,
    i: usize,
    d: &StructDesc,
    uses: &mut BTreeSet<String>,
    s: &mut String,
) {
    let names = out.names;
    let st = &names.structs[i];
    let mut cx = Cx::new(out, m, uses, 1);
    let (decl, args) = generics(&mut cx, st, true);
    let _ = writeln!(cx.s, "pub struct {}{decl} {{", st.name);
    for (j, l) in st.locks.iter().enumerate() {
        let _ = writeln!(cx.s, "    pub m{j}: {},", LOCKS[*l].0);
    }
    let mut nodes = Vec::new();
    let mut gp = 0;
    for (j, (kind, t)) in st.children.iter().enumerate() {
        let tp = cx.trait_path(*t);
        let (ty, access, as_ref) = match kind {
            ChildKind::Ref => (
                format!("&'a dyn {tp}"),
                Access::Direct,
                Some(format!("self.c{j}")),
            ),
            ChildKind::Boxed => (
                format!("Box<dyn {tp}>"),
                Access::Direct,
                Some(format!("&*self.c{j}")),
            ),
            ChildKind::VecBox => (
                format!("Vec<Box<dyn {tp}>>"),
                Access::Iter,
                Some(format!("&*self.c{j}[0]")),
            ),
            ChildKind::OptBox => (format!("Option<Box<dyn {tp}>>"), Access::Opt, None),
            ChildKind::ArcDyn => (
                format!("std::sync::Arc<dyn {tp} + Send + Sync>"),
                Access::Direct,
                Some(format!("&*self.c{j}")),
            ),
            ChildKind::Generic => {
                let p = st.params[gp].0.clone();
                gp += 1;
                (p, Access::Direct, Some(format!("&self.c{j}")))
            }
            ChildKind::Bag => {
                let bag = cx.path(0, "Bag");
                (
                    format!("{bag}<dyn {tp}>"),
                    Access::Bag,
                    Some(format!("&*self.c{j}.items[0]")),
                )
            }
            ChildKind::MutexBox => (
                format!("std::sync::Mutex<Box<dyn {tp}>>"),
                Access::Locked,
                None,
            ),
            ChildKind::VecGeneric => {
                let p = st.params[gp].0.clone();
                gp += 1;
                (
                    format!("Vec<{p}>"),
                    Access::Iter,
                    Some(format!("&self.c{j}[0]")),
                )
            }
            ChildKind::ArrayBox => (
                format!("[Box<dyn {tp}>; 2]"),
                Access::Iter,
                Some(format!("&*self.c{j}[1]")),
            ),
        };
        let _ = writeln!(cx.s, "    pub c{j}: {ty},");
        nodes.push(NodeRef {
            expr: format!("self.c{j}"),
            access,
            methods: names.trait_methods(*t),
            traits: vec![*t],
            as_ref,
        });
    }
    if st.locks.is_empty() && st.children.is_empty() {
        cx.s.push_str("    pub id: u32,\n");
    }
    cx.s.push_str("}\n\n");
    // the struct's own locks come first, then the statics; a bag's lock too
    let mut locks: Vec<LockRef> = (st.locks.iter().enumerate())
        .map(|(j, l)| LockRef {
            place: format!("self.m{j}"),
            kind: *l,
        })
        .collect();
    for (j, (kind, _)) in st.children.iter().enumerate() {
        if *kind == ChildKind::Bag {
            locks.push(LockRef {
                place: format!("self.c{j}.lock"),
                kind: 0,
            });
        }
    }
    locks.append(&mut cx.locks);
    cx.locks = locks;
    nodes.push(NodeRef {
        expr: "self".into(),
        access: Access::Direct,
        methods: names.struct_methods(i),
        traits: st.impls.clone(),
        as_ref: Some("self".into()),
    });
    cx.nodes = nodes;
    // trait impls
    let mut seen = Vec::new();
    for im in d.impls.iter().take(3) {
        let t = im.tr as usize % names.traits.len();
        if seen.contains(&t) {
            continue;
        }
        seen.push(t);
        let tr = &names.traits[t];
        let tp = cx.trait_path(t);
        let direct = (st.children.iter().enumerate())
            .find(|(_, (k, _))| matches!(k, ChildKind::Ref | ChildKind::Boxed | ChildKind::ArcDyn));
        if im.via_macro && st.params.is_empty() && !st.locks.is_empty() {
            if let Some((c, _)) = direct {
                let r = if st.lt { "ref " } else { "" };
                let _ = writeln!(
                    cx.s,
                    "impl_fwd!({r}{}, {tp}, {}, m0, c{c});\n",
                    st.name, tr.required[0]
                );
                continue;
            }
        }
        let _ = writeln!(cx.s, "impl{decl} {tp} for {}{args} {{", st.name);
        let all: Vec<&String> = tr.required.iter().chain(&tr.defaults).collect();
        for (j, meth) in all.iter().enumerate() {
            let body = im.bodies.get(j);
            if j >= tr.required.len() && body.is_none() {
                break;
            }
            cx.line(&format!("fn {meth}(&self, out: &mut Vec<u8>) {{"));
            cx.depth += 1;
            cx.guards = [false; 4];
            match body {
                Some(b) if !b.is_empty() => cx.body(b),
                _ => {
                    // visit every child that has this method
                    let ns: Vec<NodeRef> = cx.nodes[..cx.nodes.len() - 1].to_vec();
                    for n in ns {
                        if n.methods.iter().any(|x| x == *meth) {
                            cx.visit(&n, meth, 0);
                        }
                    }
                    cx.line("out.push(1);");
                }
            }
            cx.depth -= 1;
            cx.line("}");
        }
        cx.s.push_str("}\n\n");
    }
    if !st.inherent.is_empty() {
        let _ = writeln!(cx.s, "impl{decl} {}{args} {{", st.name);
        for (j, h) in st.inherent.iter().enumerate() {
            cx.line(&format!("pub fn {h}(&self, out: &mut Vec<u8>) {{"));
            cx.depth += 1;
            cx.guards = [false; 4];
            cx.body(&d.inherent[j]);
            cx.depth -= 1;
            cx.line("}");
        }
        cx.s.push_str("}\n\n");
    }
    s.push_str(&cx.s);
}

fn render_fn(
    out: &mut Out<'_>,
    m: usize,
    i: usize,
    d: &FnDesc,
    uses: &mut BTreeSet<String>,
    s: &mut String,
) {
    let names = out.names;
    let f = &names.fns[i];
    let mut cx = Cx::new(out, m, uses, 1);
    if d.irq {
        cx.s.push_str("#[interrupt]\n");
    }
    let name = &f.name;
    match f.kind {
        FnKind::Plain | FnKind::Generic => {
            let tp = cx.trait_path(f.arg);
            if f.kind == FnKind::Plain {
                let _ = writeln!(cx.s, "pub fn {name}(node: &dyn {tp}, out: &mut Vec<u8>) {{");
            } else {
                let _ = writeln!(
                    cx.s,
                    "pub fn {name}<T: {tp} + ?Sized>(node: &T, out: &mut Vec<u8>) {{"
                );
            }
            let methods = names.trait_methods(f.arg);
            cx.nodes.push(NodeRef {
                expr: "node".into(),
                access: Access::Direct,
                methods: methods.clone(),
                traits: vec![f.arg],
                as_ref: Some("node".into()),
            });
            if d.body.is_empty() {
                cx.line(&format!("node.{}(out);", methods[0]));
            }
            cx.body(&d.body);
        }
        FnKind::Entry => {
            let st = &names.structs[f.arg];
            let sp = cx.path(st.home, &st.name);
            let (decl, args) = generics(&mut cx, st, false);
            let _ = writeln!(
                cx.s,
                "pub fn {name}{decl}(dev: &{sp}{args}, out: &mut Vec<u8>) {{"
            );
            let methods = names.struct_methods(f.arg);
            cx.nodes.push(NodeRef {
                expr: "dev".into(),
                access: Access::Direct,
                methods: methods.clone(),
                traits: st.impls.clone(),
                as_ref: Some("dev".into()),
            });
            cx.body(&d.body);
            if let Some(m0) = methods.first() {
                cx.line(&format!("dev.{m0}(out);"));
            }
        }
        FnKind::WithLock => {
            let (ty, _, _, _) = LOCKS[f.arg];
            let _ = writeln!(
                cx.s,
                "pub fn {name}<R>(m: &{ty}, f: impl FnOnce(&mut u32) -> R) -> R {{"
            );
            let acq = acquire(f.arg, 1);
            cx.line(&format!("let mut g = m.{acq};"));
            cx.locks.insert(
                0,
                LockRef {
                    place: "m".into(),
                    kind: f.arg,
                },
            );
            cx.body(&d.body);
            cx.line("f(&mut *g)");
        }
        FnKind::Each => {
            let tp = cx.trait_path(f.arg);
            let _ = writeln!(
                cx.s,
                "pub fn {name}(v: &[Box<dyn {tp}>], mut f: impl FnMut(&dyn {tp})) {{"
            );
            cx.body(&d.body);
            cx.line("for x in v {");
            cx.line("    f(&**x);");
            cx.line("}");
        }
    }
    cx.s.push_str("}\n\n");
    s.push_str(&cx.s);
}

// ---- the check ------------------------------------------------------------------------------

fn config(k: &Krate) -> Config {
    let mut c = Config::default();
    let n = k.budget_n as u64;
    match k.budget % 8 {
        5 => c.budget.summary_per_component = Some(500 + n * 4),
        6 => c.budget.summary_per_run = Some(1_000 + n * 16),
        7 => {
            c.budget.summary_per_component = Some(200 + n);
            c.budget.summary_per_run = Some(2_000 + n * 8);
        }
        _ => {}
    }
    c
}

/// What one run produced, for the determinism check.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    diagnostics: Vec<lockstep_analyzer::Diagnostic>,
    summary_work: u64,
    budget_sccs: Vec<Vec<usize>>,
    budget_run: Vec<usize>,
    flows: usize,
}

/// Lower every file with its module path and the crate's macros (as the driver does: files
/// defining macros first, then the rest, then again every file whose lowering the complete
/// table would change), analyze, run every lint.
fn run_here(files: &[GenFile], config: &Config) -> Outcome {
    let print = std::env::var_os("LOCKSTEP_FUZZ_PRINT").is_some();
    let t0 = std::time::Instant::now();
    let mut db = SourceDb::default();
    let mut ids = Vec::new();
    for f in files {
        let id = db.next_id();
        let file = SourceFile::new(id, f.path.clone(), f.text.clone()).with_crate(
            "fuzzed",
            f.module.clone(),
            Default::default(),
        );
        ids.push(db.add(file));
    }
    let mut table = MacroTable::new();
    let mut lowered = Vec::new();
    for first in [true, false] {
        let snapshot = table.clone();
        for &id in &ids {
            let file = db.get(id);
            if file.text.contains("macro_rules!") != first {
                continue;
            }
            let l = lower_file_in(file, config, &snapshot);
            table.add_all(&l.macros.defs);
            lowered.push(l);
        }
    }
    for l in lowered.iter_mut() {
        if !l.macros.valid_under(&table, l.file) {
            *l = lower_file_in(db.get(l.file), config, &table);
        }
    }
    let t1 = std::time::Instant::now();
    let analysis = analyze(&db, lowered, config);
    let t2 = std::time::Instant::now();
    let cx = LintContext {
        db: &db,
        analysis: &analysis,
        config,
    };
    let diagnostics = lockstep_lints::run_all(&cx);
    if print {
        for f in &analysis.files {
            if let Some(e) = &f.parse_error {
                eprintln!("==== parse error in {}: {}", db.get(f.file).path, e.message);
            }
        }
        eprintln!(
            "==== lower {:?}, analyze {:?}, lints {:?}",
            t1 - t0,
            t2 - t1,
            t2.elapsed()
        );
    }
    let ip = &analysis.interproc;
    Outcome {
        diagnostics,
        summary_work: ip.summary_work,
        budget_sccs: ip.budget_sccs.clone(),
        budget_run: ip.budget_run.clone(),
        flows: analysis.flows.len(),
    }
}

fn run(files: &std::sync::Arc<Vec<GenFile>>, config: &Config) -> Outcome {
    let files = std::sync::Arc::clone(files);
    let config = config.clone();
    let t = std::thread::Builder::new()
        .stack_size(STACK_SIZE)
        .spawn(move || run_here(&files, &config))
        .expect("spawn");
    match t.join() {
        Ok(o) => o,
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// Distinct edges per order of magnitude of the summary work, so that libFuzzer keeps inputs
/// that make the summaries work harder than any before.
macro_rules! magnitude {
    ($w:expr; $($k:literal)*) => {
        $( if $w >> $k != 0 { std::hint::black_box($k); } )*
    };
}

libfuzzer_sys::fuzz_target!(|k: Krate| {
    let files = std::sync::Arc::new(render(&k));
    let config = config(&k);
    let print = std::env::var_os("LOCKSTEP_FUZZ_PRINT").is_some();
    if print {
        for f in files.iter() {
            eprintln!(
                "==== {} (module {:?})\n{}",
                f.path,
                f.module.join("::"),
                f.text
            );
        }
        eprintln!("==== budget {:?}", config.budget);
    }
    let start = std::time::Instant::now();
    let a = run(&files, &config);
    let elapsed = start.elapsed();
    if print {
        eprintln!(
            "==== {} flows, summary work {}, {} diagnostics, budget sccs {}, budget run {}, {:?}",
            a.flows,
            a.summary_work,
            a.diagnostics.len(),
            a.budget_sccs.len(),
            a.budget_run.len(),
            elapsed
        );
    }
    let run_budget = config.budget.summary_per_run.unwrap_or(RUN_ENTRY_BUDGET);
    assert!(
        a.summary_work <= run_budget + WORK_MARGIN,
        "summary work {} past the run budget {run_budget} (+{WORK_MARGIN})",
        a.summary_work
    );
    // a component stopped at its budget only when it had one to reach
    let scc_budget = config
        .budget
        .summary_per_component
        .unwrap_or(SCC_ENTRY_BUDGET);
    assert!(
        a.budget_sccs.is_empty() || a.summary_work >= scc_budget,
        "a component stopped at its budget {scc_budget} with only {} entries composed",
        a.summary_work
    );
    magnitude!(a.summary_work; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24);
    let b = run(&files, &config);
    assert!(
        a == b,
        "two runs on the same crate differ:\n{a:#?}\n---\n{b:#?}"
    );
});
