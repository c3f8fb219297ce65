//! Function values: closures and functions stored into a place and called later through it
//! (`self.handlers.push(Box::new(move || ..))` … `for h in &self.handlers { h() }`) run where
//! that call runs — in interrupt context when an interrupt handler calls them.
//!
//! Flow-insensitive, like the lock-value pass (`resolve::alias`), over three kinds of facts
//! the lowering records: closures lowered as functions of their own whose value is stored or
//! passed (`Body::fn_stores`), value flows (`Body::value_flows`: a fn item, a parameter or
//! another slot stored into a place), and the arguments of calls. A *slot* is the class of
//! the place that holds the value with its element and `Option` steps dropped, so
//! `self.handlers[i]`, `Some(h) = &self.cb` and the `h` of `for h in self.handlers.iter()`
//! name the slot the stores named. A parameter stored into a slot of a callable type is a
//! *sink* of that slot (`fn register(&mut self, f: Box<dyn Fn()>) { self.handlers.push(f) }`);
//! a closure, fn item or slot passed for it, at a call that resolves to the function, goes
//! into the slot. Sinks pass through functions that hand their parameter on. A slot holds at
//! most [`MAX_PER_SLOT`] functions; a call through a slot nothing is known to be stored in
//! runs nothing and is counted in `--stats`.

use crate::sym::Sym;
use std::collections::{BTreeMap, BTreeSet};

use crate::fast_hash::HashMap;

pub use crate::sema::fnvalues::FnValues;

use super::alias::{bodies, callee_name, param_index, sink_args, ParamKey};
use crate::index::{FnRef, Index};
use crate::ir::{FlowTo, FnDef, FnStoreTo, Op, Place, Proj, Root, TypeRef};
use crate::LoweredFile;

/// Rounds of sink propagation through functions that hand a parameter on.
const MAX_ROUNDS: usize = 8;
/// Functions one slot may hold; past it the slot stops growing (`FnValues::capped`).
pub const MAX_PER_SLOT: usize = 64;

/// What a stored value is.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Src {
    /// A function or closure, by position in `Index::fns`.
    Fn(usize),
    /// Whatever another slot holds.
    Slot(String),
}

/// Which functions every slot may hold; see the module docs.
pub fn compute(
    ix: &Index,
    files: &[LoweredFile],
    by_pos: &BTreeMap<FnRef, usize>,
    needed: &[bool],
) -> FnValues {
    let cx = Cx {
        ix,
        files,
        by_path: closure_positions(ix, files),
    };
    let mut sinks: HashMap<ParamKey, BTreeSet<String>> = HashMap::default();
    let mut into: BTreeMap<String, BTreeSet<Src>> = BTreeMap::new();
    for (pos, func, body) in bodies(ix, files, needed) {
        for s in &body.fn_stores {
            let Some(&f) = cx.by_path.get(s.func.as_str()) else {
                continue;
            };
            let to = match &s.to {
                FnStoreTo::Flow(to) => cx.flow_slot(func, to),
                FnStoreTo::Arg { .. } => continue,
            };
            if let Some(to) = to {
                into.entry(to).or_default().insert(Src::Fn(f));
            }
        }
        for v in &body.value_flows {
            let Some(to) = cx.flow_slot(func, &v.to) else {
                continue;
            };
            if let Some(pi) = param_index(func, &v.from) {
                if cx.callable_flow(func, &v.to) {
                    sinks.entry((pos, pi)).or_default().insert(to);
                }
            } else if let Some(src) = cx.source(func, &v.from) {
                into.entry(to).or_default().insert(src);
            }
        }
    }
    let calls = sink_calls(&cx, by_pos, needed, &mut sinks);
    // Closures, fn items and slots passed for a sink parameter go into its slots.
    for (pos, node, targets) in &calls {
        let func = ix.func(files, ix.fns[*pos]);
        let Some(body) = func.body.as_ref() else {
            continue;
        };
        let Op::Call { callee, args, .. } = &body.nodes[*node].op else {
            continue;
        };
        let closures: Vec<(u32, usize)> = body
            .fn_stores
            .iter()
            .filter_map(|s| match s.to {
                FnStoreTo::Arg { call, index } if call as usize == *node => {
                    cx.by_path.get(s.func.as_str()).map(|&f| (index, f))
                }
                _ => None,
            })
            .collect();
        for &t in targets {
            for (ai, arg, to) in sink_args(ix, files, callee, args, t, &sinks) {
                let mut srcs: Vec<Src> = closures
                    .iter()
                    .filter(|(i, _)| *i as usize == ai)
                    .map(|&(_, f)| Src::Fn(f))
                    .collect();
                srcs.extend(arg.as_ref().and_then(|a| cx.source(func, a)));
                for slot in to {
                    into.entry(slot).or_default().extend(srcs.iter().cloned());
                }
            }
        }
    }
    propagate(into)
}

/// Resolve every slot's sources to functions: a slot holds what the slots stored into it hold.
fn propagate(into: BTreeMap<String, BTreeSet<Src>>) -> FnValues {
    let mut out = FnValues::default();
    let mut held: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for (slot, srcs) in &into {
        let fns = held.entry(slot.clone()).or_default();
        fns.extend(srcs.iter().filter_map(|s| match s {
            Src::Fn(f) => Some(*f),
            Src::Slot(_) => None,
        }));
    }
    // copy edges: from-slot → the slots it is stored into
    let mut copies: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (slot, srcs) in &into {
        for s in srcs {
            if let Src::Slot(from) = s {
                if from != slot {
                    copies.entry(from.as_str()).or_default().push(slot.as_str());
                }
            }
        }
    }
    let mut capped: BTreeSet<String> = BTreeSet::new();
    let mut work: Vec<&str> = copies.keys().copied().collect();
    // Each slot's set only grows and is bounded, so this ends; the step count bounds it too.
    let mut steps = 0usize;
    while let Some(from) = work.pop() {
        steps += 1;
        if steps > 100_000 {
            break;
        }
        let src: Vec<usize> = held.get(from).into_iter().flatten().copied().collect();
        if src.is_empty() {
            continue;
        }
        for &to in copies.get(from).into_iter().flatten() {
            let set = held.entry(to.to_string()).or_default();
            let before = set.len();
            for &f in &src {
                if set.len() >= MAX_PER_SLOT {
                    capped.insert(to.to_string());
                    break;
                }
                set.insert(f);
            }
            if set.len() != before && copies.contains_key(to) {
                work.push(to);
            }
        }
    }
    for (slot, fns) in held {
        if !fns.is_empty() {
            let mut v: Vec<usize> = fns.into_iter().collect();
            v.truncate(MAX_PER_SLOT);
            out.slots.insert(slot, v);
        }
    }
    out.capped = capped.len();
    out
}

/// Calls to functions with sinks, resolved once each: a parameter passed on for a sink makes
/// the caller's parameter a sink too (rounds until nothing grows, at most [`MAX_ROUNDS`]).
/// Returns (caller position, node, target positions) for every call that reaches a sink.
fn sink_calls(
    cx: &Cx<'_>,
    by_pos: &BTreeMap<FnRef, usize>,
    needed: &[bool],
    sinks: &mut HashMap<ParamKey, BTreeSet<String>>,
) -> Vec<(usize, usize, Vec<usize>)> {
    let (ix, files) = (cx.ix, cx.files);
    let mut resolved: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    let mut scanned: BTreeSet<Sym> = BTreeSet::new();
    let mut grown: BTreeSet<usize> = sinks.keys().map(|&(p, _)| p).collect();
    for _ in 0..MAX_ROUNDS {
        // names whose sinks are new or grew: their callers are (re)visited
        let names: BTreeSet<Sym> = grown
            .iter()
            .map(|&p| ix.func(files, ix.fns[p]).name)
            .collect();
        if names.is_empty() {
            break;
        }
        grown.clear();
        for (pos, func, body) in bodies(ix, files, needed) {
            for (ni, n) in body.nodes.iter().enumerate() {
                let Op::Call { callee, args, .. } = &n.op else {
                    continue;
                };
                if !callee_name(callee).is_some_and(|c| names.contains(c)) {
                    continue;
                }
                let targets = resolved.entry((pos, ni)).or_insert_with(|| {
                    crate::resolve::calls::call_targets(ix, files, func, callee, by_pos)
                        .into_iter()
                        .map(|t| t.flow)
                        .collect()
                });
                for &t in targets.iter() {
                    for (_, arg, to) in sink_args(ix, files, callee, args, t, sinks) {
                        if let Some(own) = arg.as_ref().and_then(|a| param_index(func, a)) {
                            let mine = sinks.entry((pos, own)).or_default();
                            let before = mine.len();
                            mine.extend(to);
                            if mine.len() != before {
                                grown.insert(pos);
                            }
                        }
                    }
                }
            }
        }
        scanned.extend(names);
        if grown.is_empty() {
            break;
        }
    }
    // keep the calls that reach a sink
    resolved
        .into_iter()
        .filter(|(_, ts)| {
            ts.iter().any(|&t| {
                let n = ix.func(files, ix.fns[t]).params.len();
                (0..n).any(|pi| sinks.contains_key(&(t, pi)))
            })
        })
        .map(|((pos, node), ts)| (pos, node, ts))
        .collect()
}

/// Closures lowered as functions of their own, by path (the paths `Body::fn_stores` name).
fn closure_positions<'a>(ix: &Index, files: &'a [LoweredFile]) -> HashMap<&'a str, usize> {
    ix.fns
        .iter()
        .enumerate()
        .filter_map(|(pos, &r)| {
            let f = &files[r.file].items.fns[r.idx];
            f.name.starts_with('{').then_some((f.path.as_str(), pos))
        })
        .collect()
}

/// Value copies of closures (`{value#N}`, see `BodyLowerer::value_copies`) that no slot holds,
/// and everything lowered inside them, are not analyzed: the closure ran inline where it was
/// passed, and nothing keeps it for later.
/// The calls whose copies are kept do not run the inlined closure (`FnValues::stored_at`).
pub fn drop_unstored(ix: &Index, files: &[LoweredFile], fv: &mut FnValues, needed: &mut [bool]) {
    let stored: BTreeSet<&str> = fv
        .slots
        .values()
        .flatten()
        .map(|&pos| ix.func(files, ix.fns[pos]).path.as_str())
        .collect();
    for (pos, _, body) in bodies(ix, files, needed) {
        for s in &body.fn_stores {
            if let FnStoreTo::Arg { call, .. } = s.to {
                if s.func.contains(VALUE_MARK) && stored.contains(s.func.as_str()) {
                    let calls = fv.stored_at.entry(pos).or_default();
                    if !calls.contains(&call) {
                        calls.push(call);
                    }
                }
            }
        }
    }
    for (pos, &r) in ix.fns.iter().enumerate() {
        let path = ix.func(files, r).path.as_str();
        if !path.contains(VALUE_MARK) {
            continue;
        }
        let mut end = 0;
        let mut keep = true;
        while let Some(i) = path[end..].find(VALUE_MARK) {
            let seg_end = path[end + i..]
                .find('}')
                .map_or(path.len(), |j| end + i + j + 1);
            if !stored.contains(&path[..seg_end]) {
                keep = false;
                break;
            }
            end = seg_end;
        }
        if !keep {
            if let Some(n) = needed.get_mut(pos) {
                *n = false;
            }
        }
    }
}

/// How a value copy's path segment starts.
pub(super) const VALUE_MARK: &str = "::{value#";

/// The slot a place names: the class of the place with its trailing element, index,
/// `Option`, guard and pass-through steps dropped (`self.handlers[i]` and the `h` of
/// `for h in &self.handlers` are the slot `Table.handlers`). `None` when the place's class is
/// not known.
pub fn slot(ix: &Index, files: &[LoweredFile], func: &FnDef, place: &Place) -> Option<String> {
    let mut p = place.clone();
    while let Some(last) = p.proj.last() {
        let through = match last {
            // the data behind a lock stores what the lock's place stores
            Proj::Elem | Proj::Index(_) | Proj::Unwrap | Proj::Via(_) | Proj::Guard => true,
            Proj::Ctor { ctor, .. } => matches!(ctor.as_str(), "Some" | "Ok"),
            // std's pass-through methods (`Option::as_ref`, `Vec::get`, `Arc::clone`), unless
            // the receiver's type is one of the analyzed code that declares the method
            Proj::Method(m) => {
                matches!(
                    m.as_str(),
                    "as_ref"
                        | "as_mut"
                        | "as_deref"
                        | "unwrap"
                        | "expect"
                        | "clone"
                        | "cloned"
                        | "copied"
                        | "iter"
                        | "iter_mut"
                        | "get"
                        | "get_mut"
                        | "first"
                        | "last"
                        | "values"
                ) && !declares(ix, files, func, &p, m)
            }
            Proj::Field(_) => false,
        };
        if !through {
            break;
        }
        p.proj.pop();
    }
    if matches!(p.root, Root::Opaque | Root::Call(_) | Root::Value(_)) {
        return None;
    }
    // (a path that names no static has no class: not a slot)
    let w = ix.walk_place(files, func, &p)?;
    let class = w.class.replace("[]", "");
    (!class.is_empty() && !class.ends_with(')')).then_some(class)
}

/// Whether the receiver of the last step of `p` (a method call `m`) has a type of the
/// analyzed code that declares `m`.
fn declares(ix: &Index, files: &[LoweredFile], func: &FnDef, p: &Place, m: &str) -> bool {
    let recv = Place {
        root: p.root.clone(),
        proj: p.proj[..p.proj.len().saturating_sub(1)].to_vec(),
        text: p.text,
    };
    ix.walk_place(files, func, &recv)
        .and_then(|w| {
            let t = ix.strip(files, &w.module, w.ty.as_ref()?, 0);
            t.last().map(|tn| ix.method(files, tn, m).is_some())
        })
        .unwrap_or(false)
}

fn is_static(ix: &Index, files: &[LoweredFile], func: &FnDef, p: &Place) -> bool {
    let bare = Place {
        root: p.root.clone(),
        proj: Vec::new(),
        text: p.text,
    };
    ix.walk_place(files, func, &bare)
        .is_some_and(|w| !w.class.is_empty())
}

struct Cx<'a> {
    ix: &'a Index,
    files: &'a [LoweredFile],
    by_path: HashMap<&'a str, usize>,
}

impl Cx<'_> {
    /// The slot a value flow stores into.
    fn flow_slot(&self, func: &FnDef, to: &FlowTo) -> Option<String> {
        match to {
            FlowTo::Place(p) => slot(self.ix, self.files, func, p),
            FlowTo::Field { ty, field } => {
                let segs = self.struct_segs(func, ty)?;
                let s = self.ix.find_struct(self.files, &func.module, &segs)?;
                s.fields
                    .iter()
                    .any(|(n, _, _)| n == field)
                    .then(|| format!("{}.{field}", s.path))
            }
        }
    }

    fn struct_segs(&self, func: &FnDef, ty: &[String]) -> Option<Vec<String>> {
        if ty == ["Self"] {
            match &func.self_ty {
                Some(TypeRef::Path { segs, .. }) => Some(segs.clone()),
                _ => None,
            }
        } else {
            Some(ty.to_vec())
        }
    }

    /// What a stored place is as a function value: a fn item, or another slot.
    fn source(&self, func: &FnDef, p: &Place) -> Option<Src> {
        if let Root::Path(segs) = &p.root {
            if p.proj.is_empty() && !is_static(self.ix, self.files, func, p) {
                let r = self.ix.find_fn_ref(self.files, &func.module, func, segs)?;
                return self.ix.fns.iter().position(|x| *x == r).map(Src::Fn);
            }
        }
        if matches!(p.root, Root::Param { .. }) && p.proj.is_empty() {
            return None;
        }
        slot(self.ix, self.files, func, p).map(Src::Slot)
    }

    /// Whether the place a flow stores into can hold a function value: its declared type
    /// mentions `Fn`/`FnMut`/`FnOnce`, is a type parameter or is not known (`fn(..)` pointers
    /// are not spelled in the IR).
    fn callable_flow(&self, func: &FnDef, to: &FlowTo) -> bool {
        let mut generics: Vec<String> = func.generics.iter().map(|g| g.name.clone()).collect();
        let ty = match to {
            FlowTo::Place(p) => match self.ix.walk_place(self.files, func, p) {
                Some(w) => w.ty.map(|t| (t, w.module)),
                None => return false,
            },
            FlowTo::Field { ty, field } => {
                let Some(segs) = self.struct_segs(func, ty) else {
                    return false;
                };
                let Some(s) = self.ix.find_struct(self.files, &func.module, &segs) else {
                    return false;
                };
                generics.extend(s.generics.iter().cloned());
                s.fields
                    .iter()
                    .find(|(n, _, _)| n == field)
                    .map(|(_, t, _)| (t.clone(), s.module.clone()))
            }
        };
        match ty {
            None => true,
            Some((t, module)) => self.callable(&module, &t, &generics, 0),
        }
    }

    fn callable(&self, module: &str, t: &TypeRef, generics: &[String], depth: u32) -> bool {
        if depth > 8 {
            return false;
        }
        match t {
            TypeRef::Trait(bounds) => bounds.iter().any(|b| {
                b.last()
                    .is_some_and(|l| matches!(l.as_str(), "Fn" | "FnMut" | "FnOnce"))
            }),
            TypeRef::Unknown => true,
            TypeRef::Path { segs, args } => {
                if segs.len() == 1 && generics.contains(&segs[0]) {
                    // a type parameter (`struct Timer<F> { cb: F }`)
                    return true;
                }
                if args
                    .iter()
                    .any(|a| self.callable(module, a, generics, depth + 1))
                {
                    return true;
                }
                let stripped = self.ix.strip(self.files, module, t, 0);
                stripped != *t && self.callable(module, &stripped, generics, depth + 1)
            }
            TypeRef::Ref { inner, .. }
            | TypeRef::Ptr(inner)
            | TypeRef::Slice(inner)
            | TypeRef::Array(inner) => self.callable(module, inner, generics, depth + 1),
            TypeRef::Tuple(v) => v
                .iter()
                .any(|a| self.callable(module, a, generics, depth + 1)),
        }
    }
}
