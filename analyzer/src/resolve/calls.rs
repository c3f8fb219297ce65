//! Call resolution: the functions a call may run, by name resolution and the receiver's type.
//! A call whose callee or receiver type the analysis does not know runs nothing it can see:
//! it gets no target (never a same-named function elsewhere), and the reason is kept for
//! `--stats`.

use std::collections::BTreeMap;

use crate::index::{FnRef, Index};
use crate::ir::{Callee, FnDef, Root, TypeRef};
use crate::lower::LoweredFile;
use crate::sema::impls::{generic_names, resolve_trait, resolve_ty, TyKey, TyRes};
use crate::sema::{Item, Ns, Res};

/// A function a call may run.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// Index into `Analysis::flows`.
    pub flow: usize,
    /// The call is dispatched through this trait: the impl is assumed.
    pub via_trait: Option<String>,
}

/// Why a call has no target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Gap {
    /// A method on a receiver whose type is not known.
    ReceiverUnknown,
    /// A method of a type outside the analyzed code (`Vec::push`, a dependency's type).
    ExternalType,
    /// A function outside the analyzed code (`std::mem::swap`, a dependency's function).
    ExternalFn,
    /// A type of the analyzed code without a method of that name (derived, macro-made).
    NoSuchMethod,
    /// A path that names nothing the analysis can resolve.
    UnresolvedPath,
    /// A trait method on a type parameter bounded only by traits from outside.
    ExternalBound,
    /// A trait method on a trait object or through a trait path, with no impl of the method in
    /// the analyzed code.
    NoImpl,
    /// A call of a value (a callback in a field, a local) with no function known to be stored
    /// where it is read from.
    FnValue,
}

impl Gap {
    pub fn describe(self) -> &'static str {
        match self {
            Gap::ReceiverUnknown => "receiver type unknown",
            Gap::ExternalType => "method of a type outside the analyzed code",
            Gap::ExternalFn => "function outside the analyzed code",
            Gap::NoSuchMethod => "no such method in the analyzed code",
            Gap::UnresolvedPath => "path not resolved",
            Gap::ExternalBound => "type parameter bounded by outside traits only",
            Gap::NoImpl => "trait method with no impl in the analyzed code",
            Gap::FnValue => "function value with nothing known stored",
        }
    }
}

/// What a call may run.
#[derive(Debug, Default)]
pub struct Resolution {
    pub targets: Vec<Target>,
    /// Why there is no target (`None` with no target: the call is not a function call the
    /// analysis counts, such as a closure value or a tuple-struct constructor).
    pub gap: Option<Gap>,
}

/// Standard traits whose implementors are everywhere (std's own types, derives): a receiver
/// bounded only by one of them is not dispatched to the analyzed code's few explicit impls.
const OPEN_TRAITS: &[&str] = &[
    "Any",
    "AsMut",
    "AsRef",
    "Borrow",
    "BorrowMut",
    "Clone",
    "Copy",
    "Debug",
    "Default",
    "Deref",
    "DerefMut",
    "Display",
    "Drop",
    "Eq",
    "Error",
    "Fn",
    "FnMut",
    "FnOnce",
    "From",
    "Future",
    "Hash",
    "Into",
    "IntoIterator",
    "Iterator",
    "Ord",
    "PartialEq",
    "PartialOrd",
    "Send",
    "Sized",
    "Sync",
    "ToOwned",
    "ToString",
    "TryFrom",
    "TryInto",
    "Unpin",
];

fn last(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path)
}

struct Push<'a> {
    by_ref: &'a BTreeMap<FnRef, usize>,
    out: Vec<Target>,
}

impl Push<'_> {
    fn push(&mut self, r: FnRef, via: Option<&str>) {
        if let Some(&flow) = self.by_ref.get(&r) {
            let t = Target {
                flow,
                via_trait: via.map(|t| last(t).to_string()),
            };
            if !self.out.contains(&t) {
                self.out.push(t);
            }
        }
    }
}

/// The functions a call in `func` may run.
pub fn resolve_call(
    ix: &Index,
    files: &[LoweredFile],
    func: &FnDef,
    callee: &Callee,
    by_ref: &BTreeMap<FnRef, usize>,
) -> Resolution {
    let mut p = Push {
        by_ref,
        out: Vec::new(),
    };
    let gap = match callee {
        Callee::Path(segs) => path_call(ix, files, func, segs, &mut p),
        Callee::Method { recv, name } => {
            let recv_ty = recv
                .as_ref()
                .and_then(|r| receiver_type(ix, files, func, r));
            method_call(ix, files, func, recv_ty, name, &mut p)
        }
        Callee::Value { place, .. } => value_call(ix, files, func, place.as_ref(), &mut p),
    };
    let gap = if p.out.is_empty() { gap } else { None };
    Resolution {
        targets: p.out,
        gap,
    }
}

/// A call of a value: the functions stored into the slot it is read from
/// (`resolve::fnvalues`). A closure parameter is the caller's closure (see
/// `interproc::closure_calls`), not a gap; any other value nothing is known to be stored in is.
fn value_call(
    ix: &Index,
    files: &[LoweredFile],
    func: &FnDef,
    place: Option<&crate::ir::Place>,
    p: &mut Push<'_>,
) -> Option<Gap> {
    let place = place?;
    if matches!(place.root, Root::Param { .. }) && place.proj.is_empty() {
        return None;
    }
    // `let f = Self::tick; f()`: the local names a function item.
    if let Root::Path(segs) = &place.root {
        if place.proj.is_empty() {
            if let Some(r) = ix.find_fn_ref(files, &func.module, func, segs) {
                p.push(r, None);
                return None;
            }
        }
    }
    let Some(slot) = crate::resolve::fnvalues::slot(ix, files, func, place) else {
        return Some(Gap::FnValue);
    };
    for &pos in ix.fn_values.get(&slot) {
        p.push(ix.fns[pos], None);
    }
    Some(Gap::FnValue)
}

/// What the receiver of a method call is, for lookup.
fn receiver_type(
    ix: &Index,
    files: &[LoweredFile],
    func: &FnDef,
    recv: &crate::ir::Place,
) -> Option<TyRes> {
    // `self` in a trait's default method: any implementor.
    if func.in_trait && matches!(recv.root, Root::SelfValue) && recv.proj.is_empty() {
        return Some(TyRes::Param("Self".into()));
    }
    let w = ix.walk_place(files, func, recv)?;
    let ty = w.ty?;
    let stripped = ix.strip(files, &w.module, &ty, 0);
    type_in(ix, files, func, &w.module, &stripped)
}

/// Resolve a type written in `module` as seen from `func` (its type parameters count only
/// where they are in scope: in the function's own module; `Self` is the impl's type).
fn type_in(
    ix: &Index,
    files: &[LoweredFile],
    func: &FnDef,
    module: &str,
    ty: &TypeRef,
) -> Option<TyRes> {
    if let TypeRef::Path { segs, .. } = ty {
        if segs.len() == 1 && segs[0] == "Self" {
            if func.in_trait {
                return Some(TyRes::Param("Self".into()));
            }
            let st = func.self_ty.as_ref()?;
            return resolve_ty(&ix.defmap, files, &func.module, st, &generic_names(func));
        }
    }
    let generics = if module == func.module {
        generic_names(func)
    } else {
        Vec::new()
    };
    resolve_ty(&ix.defmap, files, module, ty, &generics)
}

fn method_call(
    ix: &Index,
    files: &[LoweredFile],
    func: &FnDef,
    recv: Option<TyRes>,
    name: &str,
    p: &mut Push<'_>,
) -> Option<Gap> {
    let Some(recv) = recv else {
        return Some(Gap::ReceiverUnknown);
    };
    match recv {
        TyRes::Traits(traits) => {
            dispatch(ix, files, &traits, name, false, p);
            Some(Gap::NoImpl)
        }
        TyRes::Param(param) => {
            let traits = param_traits(ix, files, func, &param);
            dispatch(ix, files, &traits, name, true, p);
            Some(Gap::ExternalBound)
        }
        TyRes::Key(k) => lookup(ix, files, &k, name, p),
    }
}

/// A method of a known type: its impls' methods (inherent first), else the default bodies of
/// the traits it implements.
fn lookup(
    ix: &Index,
    files: &[LoweredFile],
    k: &TyKey,
    name: &str,
    p: &mut Push<'_>,
) -> Option<Gap> {
    let mut k = k.clone();
    // Auto-deref through the analyzed code's own `Deref` impls (`impl Deref for Db { type
    // Target = Tree; .. }`: `db.insert(..)` is `Tree::insert`), as rustc's method probe does.
    for _ in 0..4 {
        let gap = lookup_here(ix, files, &k, name, p);
        if gap != Some(Gap::NoSuchMethod) {
            return gap;
        }
        match ix.deref_target(files, &k) {
            Some(t) => k = t,
            None => return gap,
        }
    }
    Some(Gap::NoSuchMethod)
}

fn lookup_here(
    ix: &Index,
    files: &[LoweredFile],
    k: &TyKey,
    name: &str,
    p: &mut Push<'_>,
) -> Option<Gap> {
    let ms = ix.impls.methods_of(k, name);
    if !ms.is_empty() {
        for r in ms {
            p.push(r, None);
        }
        return None;
    }
    let ds = ix.impls.defaults_of(files, k, name);
    if !ds.is_empty() {
        for r in ds {
            p.push(r, None);
        }
        return None;
    }
    Some(match k {
        TyKey::External(_) => Gap::ExternalType,
        TyKey::Local(_) => Gap::NoSuchMethod,
    })
}

/// The traits a type parameter of `func` is bounded by, resolved.
fn param_traits(ix: &Index, files: &[LoweredFile], func: &FnDef, param: &str) -> Vec<String> {
    let Some(g) = func.generics.iter().find(|g| g.name == param) else {
        return Vec::new();
    };
    g.bounds
        .iter()
        .filter_map(|b| resolve_trait(&ix.defmap, files, &func.module, b))
        .collect()
}

fn path_call(
    ix: &Index,
    files: &[LoweredFile],
    func: &FnDef,
    segs: &[String],
    p: &mut Push<'_>,
) -> Option<Gap> {
    let name = segs.last()?;
    if segs.len() == 2 {
        let head = segs[0].as_str();
        // `T::f(..)` with `T` a type parameter, `Self::f` in a trait: through the bounds.
        if func.generics.iter().any(|g| g.name == head) {
            let traits = param_traits(ix, files, func, head);
            dispatch(ix, files, &traits, name, true, p);
            return Some(Gap::ExternalBound);
        }
        if head == "Self" {
            return match type_in(ix, files, func, &func.module, &segs_ty(&segs[..1]))? {
                TyRes::Key(k) => lookup(ix, files, &k, name, p),
                _ => Some(Gap::ReceiverUnknown),
            };
        }
    }
    match ix.defmap.resolve(&func.module, segs, Ns::Value) {
        Some(Res::Item(Item::Fn(file, idx))) => {
            p.push(FnRef { file, idx }, None);
            None
        }
        Some(Res::Item(_)) => None,
        Some(Res::Assoc(item, rest)) if rest.len() == 1 => {
            let ty_segs = &segs[..segs.len() - 1];
            match item {
                Item::Trait(..) => {
                    let traits: Vec<String> =
                        resolve_trait(&ix.defmap, files, &func.module, ty_segs)
                            .into_iter()
                            .collect();
                    dispatch(ix, files, &traits, name, false, p);
                    Some(Gap::NoImpl)
                }
                _ => match type_in(ix, files, func, &func.module, &segs_ty(ty_segs))? {
                    TyRes::Key(k) => lookup(ix, files, &k, name, p),
                    TyRes::Traits(traits) => {
                        dispatch(ix, files, &traits, name, false, p);
                        Some(Gap::NoImpl)
                    }
                    TyRes::Param(_) => Some(Gap::ReceiverUnknown),
                },
            }
        }
        Some(Res::Assoc(..)) => Some(Gap::UnresolvedPath),
        Some(Res::External(path)) => {
            // `Mutex::new` of an outside type, `std::mem::drop`: outside the analyzed code,
            // unless the analyzed code implements a trait method for that type.
            let (ty, n) = path.split_at(path.len().saturating_sub(1));
            if !ty.is_empty() {
                let k = TyKey::External(ty.join("::"));
                // found among the analyzed code's impls for that type: no gap
                lookup(ix, files, &k, &n[0], p)?;
            }
            Some(Gap::ExternalFn)
        }
        None => Some(Gap::UnresolvedPath),
    }
}

fn segs_ty(segs: &[String]) -> TypeRef {
    TypeRef::Path {
        segs: segs.to_vec(),
        args: Vec::new(),
    }
}

/// A call of `name` on a receiver known only by the traits it implements (a `dyn`/`impl`
/// trait, a bounded type parameter, `Self` in a trait): the method of every impl of those
/// traits (supertraits included) in the analyzed code, or the trait's default body where an
/// impl does not override it, and the methods of blanket impls. A trait the analyzed code
/// declares is only searched when it declares the method. With `declared_only` (a type
/// parameter's bounds) only traits the analyzed code declares are followed: a bound on a trait
/// from outside (serde's `Serialize`, `Iterator`) admits types the analysis cannot see.
fn dispatch(
    ix: &Index,
    files: &[LoweredFile],
    traits: &[String],
    name: &str,
    declared_only: bool,
    p: &mut Push<'_>,
) {
    // A value bounded by `traits` is of a type that implements all of them: a supertrait's
    // method runs the supertrait impl of such a type only (`dyn Node` with `Node: IO` is
    // no `IO` implementor that is not a `Node`). Traits with blanket impls, or not declared
    // in the analyzed code, do not narrow.
    let bound: Vec<&String> = traits
        .iter()
        .filter(|t| ix.impls.declared(t) && !ix.impls.has_blanket(t))
        .collect();
    for tr in ix.impls.with_supertraits(traits) {
        let declared = ix.impls.declared(&tr);
        if !declared && (declared_only || OPEN_TRAITS.contains(&last(&tr))) {
            continue;
        }
        let decl = ix.impls.decl(&tr, name);
        if declared && decl.is_none() {
            continue;
        }
        let default = decl.filter(|d| files[d.file].items.fns[d.idx].body.is_some());
        for ty in ix.impls.implementors(&tr) {
            if !traits.contains(&tr) && !bound.iter().all(|b| ix.impls.implements(ty, b)) {
                continue;
            }
            let own = ix.impls.impl_method(ty, &tr, name);
            if own.is_empty() {
                if let Some(d) = default {
                    p.push(d, Some(&tr));
                }
            }
            for r in own {
                p.push(r, Some(&tr));
            }
        }
        for &r in ix.impls.blanket(&tr, name) {
            p.push(r, Some(&tr));
        }
    }
}

/// The functions a call may run, without the reason when there is none.
pub fn call_targets(
    ix: &Index,
    files: &[LoweredFile],
    func: &FnDef,
    callee: &Callee,
    by_ref: &BTreeMap<FnRef, usize>,
) -> Vec<Target> {
    resolve_call(ix, files, func, callee, by_ref).targets
}
