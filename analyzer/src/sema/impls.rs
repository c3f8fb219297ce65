//! Impls keyed by what they are for, as rustc keys them: the *resolved* self type (a struct or
//! enum of the analyzed code by its path, or a type outside it by its full path) and the
//! *resolved* trait. Method lookup follows rustc's order: inherent methods, then the methods of
//! the trait impls of the type, then the traits' default bodies.

use std::collections::BTreeMap;

use crate::fast_hash::HashMap;

use super::defmap::{DefMap, Item, Ns, Res};
use crate::ir::FnRef;
use crate::ir::{FnDef, TypeRef};
use crate::lower::LoweredFile;

/// A type as method lookup knows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TyKey {
    /// A struct or enum of the analyzed code, by its path.
    Local(String),
    /// A type outside the analyzed code, by its full path (`std::sync::RwLock`).
    External(String),
}

/// What a type written in a module is, for method lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TyRes {
    Key(TyKey),
    /// A trait object or `impl Trait`: the resolved traits.
    Traits(Vec<String>),
    /// A type parameter in scope (or `Self` in a trait).
    Param(String),
}

/// Method name → methods of that name with the trait of their impl (`None`: inherent).
type MethodsByName = HashMap<String, Vec<(FnRef, Option<String>)>>;

/// The impls of the analyzed code.
#[derive(Default)]
pub struct Impls {
    /// Self type → method name → methods of its impls with the trait of their impl (`None`:
    /// inherent), inherent ones first, in file order.
    methods: HashMap<TyKey, MethodsByName>,
    /// Trait (resolved path) → the self types it is implemented for.
    impls: BTreeMap<String, Vec<TyKey>>,
    /// Trait → methods of its blanket impls (`impl<T: Bound> Trait for T`) by name.
    blanket: HashMap<String, HashMap<String, Vec<FnRef>>>,
    /// Trait declared in the analyzed code → its methods (with or without a default body).
    decls: HashMap<String, HashMap<String, FnRef>>,
    /// Trait declared in the analyzed code → its supertraits (resolved).
    supertraits: HashMap<String, Vec<String>>,
    /// Self type → the traits implemented for it.
    traits_of: HashMap<TyKey, Vec<String>>,
}

/// The path of a resolved trait, or of a trait outside the analyzed code.
fn trait_path(files: &[LoweredFile], r: &Res) -> Option<String> {
    match r {
        Res::Item(Item::Trait(f, i)) => Some(files[*f].items.traits[*i].path.clone()),
        Res::External(p) => Some(p.join("::")),
        _ => None,
    }
}

/// Resolve a trait path written in `module`.
pub fn resolve_trait(
    dm: &DefMap,
    files: &[LoweredFile],
    module: &str,
    segs: &[String],
) -> Option<String> {
    trait_path(files, &dm.resolve(module, segs, Ns::Type)?)
}

/// Resolve a type written in `module` to what method lookup needs, looking through aliases;
/// `generics` are the type parameters in scope.
pub fn resolve_ty(
    dm: &DefMap,
    files: &[LoweredFile],
    module: &str,
    ty: &TypeRef,
    generics: &[String],
) -> Option<TyRes> {
    let mut module = module.to_string();
    let mut ty = ty.clone();
    for _ in 0..8 {
        match &ty {
            TypeRef::Ref { inner, .. } => {
                let inner = (**inner).clone();
                ty = inner;
                continue;
            }
            TypeRef::Trait(bounds) => {
                let traits = bounds
                    .iter()
                    .filter_map(|b| resolve_trait(dm, files, &module, b))
                    .collect();
                return Some(TyRes::Traits(traits));
            }
            TypeRef::Path { segs, .. } => {
                if segs.len() == 1 && generics.iter().any(|g| *g == segs[0]) {
                    return Some(TyRes::Param(segs[0].clone()));
                }
                match dm.resolve(&module, segs, Ns::Type)? {
                    Res::Item(Item::Struct(f, i)) => {
                        return Some(TyRes::Key(TyKey::Local(
                            files[f].items.structs[i].path.clone(),
                        )))
                    }
                    Res::Item(Item::Enum(f, i)) => {
                        return Some(TyRes::Key(TyKey::Local(
                            files[f].items.enums[i].path.clone(),
                        )))
                    }
                    Res::Item(Item::Alias(f, i)) => {
                        let a = &files[f].items.aliases[i];
                        module = a.module.clone();
                        ty = a.ty.clone();
                        continue;
                    }
                    // A bare trait object (`Box<Trait>`, 2015 style).
                    r @ Res::Item(Item::Trait(..)) => {
                        return Some(TyRes::Traits(trait_path(files, &r).into_iter().collect()))
                    }
                    // `Enum::Variant { .. }`: a value of the enum.
                    Res::Assoc(Item::Enum(f, i), rest) if rest.len() == 1 => {
                        return Some(TyRes::Key(TyKey::Local(
                            files[f].items.enums[i].path.clone(),
                        )))
                    }
                    Res::External(p) => return Some(TyRes::Key(TyKey::External(p.join("::")))),
                    _ => return None,
                }
            }
            TypeRef::Slice(_) => return Some(TyRes::Key(TyKey::External("[]".into()))),
            TypeRef::Array(_) => return Some(TyRes::Key(TyKey::External("[; N]".into()))),
            TypeRef::Tuple(_) => return Some(TyRes::Key(TyKey::External("()".into()))),
            TypeRef::Ptr(_) => return Some(TyRes::Key(TyKey::External("*".into()))),
            TypeRef::Unknown => return None,
        }
    }
    None
}

/// The names of the type parameters a function sees (its own and its impl's).
pub fn generic_names(f: &FnDef) -> Vec<String> {
    f.generics.iter().map(|g| g.name.clone()).collect()
}

impl Impls {
    pub fn build(dm: &DefMap, files: &[LoweredFile], fns: &[FnRef]) -> Impls {
        let mut im = Impls::default();
        for (fi, f) in files.iter().enumerate() {
            for t in &f.items.traits {
                let sup = t
                    .supertraits
                    .iter()
                    .filter_map(|s| resolve_trait(dm, files, &t.module, s))
                    .collect();
                im.supertraits.insert(t.path.clone(), sup);
            }
            for imp in &f.items.trait_impls {
                let Some(tr) = resolve_trait(dm, files, &imp.module, &imp.trait_path) else {
                    continue;
                };
                match resolve_ty(dm, files, &imp.module, &imp.self_ty, &imp.generics) {
                    Some(TyRes::Key(k)) => {
                        let v = im.impls.entry(tr.clone()).or_default();
                        if !v.contains(&k) {
                            v.push(k.clone());
                        }
                        let t = im.traits_of.entry(k).or_default();
                        if !t.contains(&tr) {
                            t.push(tr);
                        }
                    }
                    Some(TyRes::Param(_)) => {
                        im.blanket.entry(tr).or_default();
                    }
                    _ => {}
                }
            }
            let _ = fi;
        }
        for &r in fns {
            let f = &files[r.file].items.fns[r.idx];
            if f.path.contains('{') {
                continue;
            }
            let generics = generic_names(f);
            if f.in_trait {
                // A trait's own method: the trait is the module's item of that name.
                let Some(tn) = &f.trait_name else { continue };
                if let Some(tr) = resolve_trait(dm, files, &f.module, std::slice::from_ref(tn)) {
                    im.decls
                        .entry(tr)
                        .or_default()
                        .entry(f.name.to_string())
                        .or_insert(r);
                }
                continue;
            }
            let Some(self_ty) = &f.self_ty else { continue };
            let key = resolve_ty(dm, files, &f.module, self_ty, &generics);
            // A method of a trait impl is never inherent, even when its trait's path does not
            // resolve (`impl lock_api_crate::RawMutex for X` through a renamed dependency):
            // such a trait keeps its written path.
            let tr = f.trait_name.as_ref().map(|t| {
                let segs: Vec<String> = t.split("::").map(str::to_string).collect();
                resolve_trait(dm, files, &f.module, &segs).unwrap_or_else(|| t.clone())
            });
            match (key, tr) {
                (Some(TyRes::Key(k)), tr) => {
                    let v = im
                        .methods
                        .entry(k)
                        .or_default()
                        .entry(f.name.to_string())
                        .or_default();
                    if tr.is_none() {
                        // inherent methods first
                        let at = v.iter().position(|x| x.1.is_some()).unwrap_or(v.len());
                        v.insert(at, (r, None));
                    } else {
                        v.push((r, tr));
                    }
                }
                (Some(TyRes::Param(_)), Some(tr)) => {
                    im.blanket
                        .entry(tr)
                        .or_default()
                        .entry(f.name.to_string())
                        .or_default()
                        .push(r);
                }
                _ => {}
            }
        }
        im
    }

    /// The methods `name` of a type's impls: the inherent one when there is one (rustc picks
    /// it over trait methods), else those of its trait impls.
    pub fn methods_of(&self, ty: &TyKey, name: &str) -> Vec<FnRef> {
        let Some(v) = self.methods.get(ty).and_then(|m| m.get(name)) else {
            return Vec::new();
        };
        let inherent: Vec<FnRef> = v.iter().filter(|x| x.1.is_none()).map(|x| x.0).collect();
        if inherent.is_empty() {
            v.iter().map(|x| x.0).collect()
        } else {
            inherent
        }
    }

    /// Default bodies of `name` in the traits a type implements that declare it and whose impl
    /// for the type does not override it.
    pub fn defaults_of(&self, files: &[LoweredFile], ty: &TyKey, name: &str) -> Vec<FnRef> {
        let mut out = Vec::new();
        for tr in self.traits_of.get(ty).into_iter().flatten() {
            if let Some(&d) = self.decls.get(tr).and_then(|m| m.get(name)) {
                if files[d.file].items.fns[d.idx].body.is_some() {
                    out.push(d);
                }
            }
        }
        out
    }

    /// The traits and, transitively, their supertraits (deduplicated, in order).
    pub fn with_supertraits(&self, traits: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut todo: Vec<String> = traits.iter().rev().cloned().collect();
        while let Some(t) = todo.pop() {
            if out.contains(&t) || out.len() >= 64 {
                continue;
            }
            if let Some(sup) = self.supertraits.get(&t) {
                todo.extend(sup.iter().rev().cloned());
            }
            out.push(t);
        }
        out
    }

    /// Whether the trait is declared in the analyzed code.
    pub fn declared(&self, tr: &str) -> bool {
        self.supertraits.contains_key(tr)
    }

    /// The trait's own method `name` (declaration, with its default body if it has one).
    pub fn decl(&self, tr: &str, name: &str) -> Option<FnRef> {
        self.decls.get(tr).and_then(|m| m.get(name)).copied()
    }

    /// The self types a trait is implemented for.
    pub fn implementors(&self, tr: &str) -> &[TyKey] {
        self.impls.get(tr).map_or(&[], Vec::as_slice)
    }

    /// Whether `ty` has an impl of `tr` of its own (not a blanket one).
    pub fn implements(&self, ty: &TyKey, tr: &str) -> bool {
        self.implementors(tr).contains(ty)
    }

    /// Whether a trait has blanket impls (`impl<T: Bound> Tr for T`).
    pub fn has_blanket(&self, tr: &str) -> bool {
        self.blanket.contains_key(tr)
    }

    /// Methods `name` of a trait's blanket impls.
    pub fn blanket(&self, tr: &str, name: &str) -> &[FnRef] {
        self.blanket
            .get(tr)
            .and_then(|m| m.get(name))
            .map_or(&[], Vec::as_slice)
    }

    /// The method `name` of the trait `tr`'s impl for `ty` (not its default body).
    pub fn impl_method(&self, ty: &TyKey, tr: &str, name: &str) -> Vec<FnRef> {
        let Some(v) = self.methods.get(ty).and_then(|m| m.get(name)) else {
            return Vec::new();
        };
        v.iter()
            .filter(|x| x.1.as_deref() == Some(tr))
            .map(|x| x.0)
            .collect()
    }
}
