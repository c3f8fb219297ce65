//! Lock identity follows values: one `Arc<Mutex<_>>` created once and stored into several
//! structs is one lock, whatever the fields are called.
//!
//! A flow-insensitive, unification-based pass (Steensgaard-style) over the lowered bodies'
//! value flows (`Body::value_flows`: struct literal fields, assignments to fields and
//! statics) and over the calls that pass a value to a parameter the callee stores. Every
//! place whose type is a lock (seen through `Arc`, `Box`, `&`, …) has a class as
//! [`Index::resolve_lock`] names it; a flow between two such places unites their classes.
//! A call's result (`Arc::new(..)`, `SpinLock::new(..)`) is a new value, not a place. A
//! parameter is not a class of its own here: a helper that only locks what it is given (`fn
//! wait(l: &Mutex<T>)`) would otherwise unite every lock passed to it. A parameter that the
//! callee stores into a field is a *sink* of that field, and an argument passed for it, at a
//! call that resolves to the callee, is united with the field. Sinks pass through wrappers
//! that hand their parameter on (`fn with(a) -> Self { Self::new(a) }`).
//!
//! Each set of united classes is named by one member: a struct field before anything else,
//! then a static, then the rest; the shortest `Type.field` first (the owner of the value
//! tends to have the plainest name: `Vm.memory_manager`, not
//! `ReceiveMigrationConfiguredData.memory_manager`), then the text, so the name does not
//! depend on the order of files or functions. Only places whose lock type the analysis knows take part; an
//! unknown type unites nothing. A place stored from values of two or more classes (a guard's
//! `raw: &'a RawMutex`, a handle made once per lock) is a view of several locks and unites
//! none of them; `--stats` counts those.

use crate::sym::Sym;
use std::collections::{BTreeMap, BTreeSet};

use crate::fast_hash::HashMap;

pub use crate::sema::aliases::{rank, Aliases};

use crate::config::Config;
use crate::index::{FnRef, Index};
use crate::ir::{Callee, FlowTo, FnDef, Op, Place, Root, TypeRef};
use crate::LoweredFile;

/// Passes over the calls that hand a parameter on (a wrapper of a wrapper of a constructor).
const MAX_ROUNDS: usize = 4;

/// A parameter of a function, by the function's position in `Index::fns` and the
/// parameter's index in `FnDef::params`.
pub(super) type ParamKey = (usize, usize);

#[derive(Default)]
struct UnionFind {
    ids: HashMap<String, usize>,
    names: Vec<String>,
    parent: Vec<usize>,
}

impl UnionFind {
    fn id(&mut self, s: &str) -> usize {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.names.len();
        self.ids.insert(s.to_string(), i);
        self.names.push(s.to_string());
        self.parent.push(i);
        i
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: &str, b: &str) {
        if a == b {
            return;
        }
        let (a, b) = (self.id(a), self.id(b));
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
    }
}

/// Unite the lock classes that name one value; see the module docs.
pub fn compute(
    ix: &Index,
    files: &[LoweredFile],
    config: &Config,
    by_pos: &BTreeMap<FnRef, usize>,
    needed: &[bool],
) -> Aliases {
    let mut sinks: HashMap<ParamKey, BTreeSet<String>> = HashMap::default();
    // place class → the classes whose values are stored into it
    let mut stores: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let cx = Cx { ix, files, config };
    for (pos, func, body) in bodies(ix, files, needed) {
        for f in &body.value_flows {
            let to = match &f.to {
                FlowTo::Field { ty, field } => cx.field_class(func, ty, field),
                FlowTo::Place(p) => cx.lock_class(func, p),
            };
            let Some(to) = to else { continue };
            if let Some(pi) = param_index(func, &f.from) {
                sinks.entry((pos, pi)).or_default().insert(to.clone());
            } else if let Some(from) = cx.lock_class(func, &f.from) {
                stores.entry(to).or_default().insert(from);
            }
        }
    }
    // Calls to functions with sinks: an argument is united with the fields its parameter is
    // stored in; a parameter passed on makes the caller's parameter a sink too.
    let mut scanned: BTreeSet<Sym> = BTreeSet::new();
    for _ in 0..MAX_ROUNDS {
        let names: BTreeSet<Sym> = sinks
            .keys()
            .map(|&(pos, _)| ix.func(files, ix.fns[pos]).name)
            .filter(|n| !scanned.contains(n))
            .collect();
        if names.is_empty() {
            break;
        }
        let mut grew = false;
        for (pos, func, body) in bodies(ix, files, needed) {
            for n in &body.nodes {
                let Op::Call { callee, args, .. } = &n.op else {
                    continue;
                };
                if !callee_name(callee).is_some_and(|c| names.contains(c)) {
                    continue;
                }
                let targets = crate::resolve::calls::call_targets(ix, files, func, callee, by_pos);
                for t in &targets {
                    for (_, arg, to) in sink_args(ix, files, callee, args, t.flow, &sinks) {
                        let Some(arg) = &arg else { continue };
                        if let Some(own) = param_index(func, arg) {
                            let mine = sinks.entry((pos, own)).or_default();
                            let before = mine.len();
                            mine.extend(to.iter().cloned());
                            grew |= mine.len() != before;
                        } else if let Some(from) = cx.lock_class(func, arg) {
                            for c in &to {
                                stores.entry(c.clone()).or_default().insert(from.clone());
                            }
                        }
                    }
                }
            }
        }
        scanned.extend(names);
        if !grew {
            break;
        }
    }
    // A place that receives one value is that value. One that receives several (a guard's
    // `raw: &'a RawMutex` pointing at whichever lock it was made for, a handle built once
    // per lock) is a view of many locks: uniting through it would make them one lock.
    let mut uf = UnionFind::default();
    let mut views = 0;
    for (to, from) in &stores {
        if from.len() == 1 {
            for f in from {
                uf.union(f, to);
            }
        } else {
            views += 1;
        }
    }
    let mut out = finish(uf);
    out.views = views;
    out
}

/// Name every set by its first member in (field, static, other; short name length; text) order.
fn finish(mut uf: UnionFind) -> Aliases {
    let mut sets: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for i in 0..uf.names.len() {
        let r = uf.find(i);
        sets.entry(r).or_default().push(uf.names[i].clone());
    }
    let mut out = Aliases::default();
    for (_, mut members) in sets {
        if members.len() < 2 {
            continue;
        }
        members.sort_by_key(|m| (rank(m), crate::ir::short_class(m).len(), m.clone()));
        let rep = members[0].clone();
        for m in &members {
            out.canon.insert(m.clone(), rep.clone());
        }
        out.sets.insert(rep, members);
    }
    out
}

/// The functions the run needs that have a body, with their positions in `Index::fns`; value
/// copies of closures are left out (their inlined twins record the same flows and calls).
pub(super) fn bodies<'a>(
    ix: &'a Index,
    files: &'a [LoweredFile],
    needed: &'a [bool],
) -> impl Iterator<Item = (usize, &'a FnDef, &'a crate::ir::Body)> + 'a {
    ix.fns.iter().enumerate().filter_map(move |(pos, &r)| {
        if !needed.get(pos).copied().unwrap_or(false) {
            return None;
        }
        let func = ix.func(files, r);
        if func.path.contains(super::fnvalues::VALUE_MARK) {
            return None;
        }
        func.body.as_ref().map(|b| (pos, func, b))
    })
}

/// The arguments a call passes for the parameters of `target` (a position in `Index::fns`)
/// that have sinks: the argument's index, its place when it is one, and what the parameter
/// is stored into.
pub(super) fn sink_args(
    ix: &Index,
    files: &[LoweredFile],
    callee: &Callee,
    args: &[Option<Place>],
    target: usize,
    sinks: &HashMap<ParamKey, BTreeSet<String>>,
) -> Vec<(usize, Option<Place>, BTreeSet<String>)> {
    let cdef = ix.func(files, ix.fns[target]);
    let offset = usize::from(matches!(callee, Callee::Path(_)) && cdef.has_self);
    (0..cdef.params.len())
        .filter_map(|pi| {
            let to = sinks.get(&(target, pi))?;
            let arg = args.get(pi + offset)?;
            Some((pi + offset, arg.clone(), to.clone()))
        })
        .collect()
}

pub(super) fn callee_name(c: &Callee) -> Option<&str> {
    match c {
        Callee::Path(p) => p.last().map(String::as_str),
        Callee::Method { name, .. } => Some(name),
        Callee::Value { .. } => None,
    }
}

/// The parameter a place is, as a whole (`alloc`, `alloc.clone()`).
pub(super) fn param_index(func: &FnDef, p: &Place) -> Option<usize> {
    match &p.root {
        Root::Param { name, .. } if p.proj.is_empty() => {
            func.params.iter().position(|(n, _)| n == name)
        }
        _ => None,
    }
}

struct Cx<'a> {
    ix: &'a Index,
    files: &'a [LoweredFile],
    config: &'a Config,
}

impl Cx<'_> {
    /// The class of a place whose type is a known lock, as `Index::resolve_lock` names it.
    fn lock_class(&self, func: &FnDef, p: &Place) -> Option<String> {
        // A call's result is a new value on every call (`SpinLock::new(..)`), not one place.
        if matches!(p.root, Root::Call(_) | Root::Value(_) | Root::Opaque) && p.proj.is_empty() {
            return None;
        }
        let w = self.ix.walk_place(self.files, func, p)?;
        let ty = w.ty.as_ref()?;
        self.ix.lock_kind(self.files, &w.module, ty, self.config)?;
        let class = if w.class.is_empty() {
            format!("{}::{}", func.path, p.text)
        } else {
            w.class
        };
        (!class.ends_with(')')).then_some(class)
    }

    /// The class of a struct literal's field whose type is a known lock.
    fn field_class(&self, func: &FnDef, ty: &[String], field: &str) -> Option<String> {
        let segs = if ty == ["Self"] {
            match &func.self_ty {
                Some(TypeRef::Path { segs, .. }) => segs.clone(),
                _ => return None,
            }
        } else {
            ty.to_vec()
        };
        let s = self.ix.find_struct(self.files, &func.module, &segs)?;
        let (_, fty, _) = s.fields.iter().find(|(n, _, _)| n == field)?;
        self.ix.lock_kind(self.files, &s.module, fty, self.config)?;
        Some(format!("{}.{field}", s.path))
    }
}
