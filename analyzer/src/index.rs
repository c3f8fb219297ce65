//! The crate-wide index: structs, statics, aliases, `use`s and functions of every file, and
//! the resolution of a [`Place`] to a lock class.

mod deref;
mod globals;
mod subst;
use subst::{subst, subst_self};

use std::collections::BTreeMap;

use crate::fast_hash::HashMap;

use crate::config::Config;
use crate::ir::{FnDef, LockClass, LockInstance, Place, Proj, Root, StructDef, TypeRef};
pub use crate::lock_api::LockKind;
use crate::lock_api::{
    args_mention_critical_section, args_mention_irq_policy, is_raw_lock_trait, is_raw_rwlock_trait,
    name_table_kind, COLLECTIONS, MAPS, NOT_LOCKS, WRAPPERS,
};
use crate::lower::LoweredFile;
use crate::sema::{DefMap, Item, Ns, Res};

/// A place resolved to a lock.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResolvedLock {
    /// Canonical class: `crate::module::Type.field`, `crate::module::STATIC`, or for a lock
    /// local to one function `crate::module::func::name`.
    pub class: LockClass,
    /// The instance inside the function (`self.state`, `q`), for same-lock checks.
    pub instance: LockInstance,
    pub kind: LockKind,
    /// The type was not written anywhere; the lock was assumed from the call's shape.
    pub assumed: bool,
    /// A lock of an object the acquiring function built and has not shared yet
    /// (`Body::unshared`): no other thread or handler can hold or wait for it.
    pub unshared: bool,
}

/// A place being walked, one projection at a time (see [`Index::walk_place`]).
struct Walk {
    ty: Option<TypeRef>,
    class: String,
    module: String,
    instance: String,
    projs: Vec<Proj>,
    /// The next projection.
    i: usize,
}

/// The result of walking a place: see [`Index::walk_place`].
#[derive(Clone, Debug)]
pub struct PlaceWalk {
    pub ty: Option<TypeRef>,
    pub class: String,
    pub module: String,
    /// The place's text with accessor calls replaced by the fields they return
    /// (`self.sockets()` → `self.sockets`), so both spellings are one instance.
    pub instance: String,
}

pub use crate::ir::FnRef;

/// A lock type learned from its code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeLock {
    pub kind: LockKind,
    /// Why it is a lock, for notes (`wraps `std::sync::Mutex``, `spins in `lock``).
    pub evidence: String,
    /// Its `lock` masks interrupts only for one value of a const parameter (maestro's
    /// `Mutex<T, const INT: bool>` does `if !INT { cli() }`): that parameter's position among
    /// the type's parameters, the value, and the parameter's default.
    pub irq_safe_if: Option<ConstCond>,
}

pub use crate::ir::ConstCond;

#[derive(Default)]
pub struct Index {
    /// module → (alias → full path)
    uses: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Every function, in file order.
    pub fns: Vec<FnRef>,
    /// (self type name, method name) → functions.
    pub methods: BTreeMap<(String, String), Vec<FnRef>>,
    /// trait name → implementing type names.
    pub trait_impls: BTreeMap<String, Vec<String>>,
    /// type name → traits it implements.
    pub impls_of: BTreeMap<String, Vec<String>>,
    /// Method → the canonical path of the struct its impl is for.
    pub self_struct: BTreeMap<FnRef, String>,
    /// method name → every method of that name, whatever its type.
    pub methods_by_name: BTreeMap<String, Vec<FnRef>>,
    /// struct path → method name → the methods of its impls (file order).
    struct_methods: HashMap<String, HashMap<String, Vec<FnRef>>>,
    /// Traits declared in the analyzed code (by name) → the supertraits they require.
    pub traits: BTreeMap<String, Vec<String>>,
    crate_names: Vec<String>,
    /// Name resolution over every analyzed crate.
    pub defmap: DefMap,
    /// Impls by resolved self type and trait.
    pub impls: crate::sema::Impls,
    /// Lock types of the analyzed code recognised from their code, by struct path.
    pub code_locks: HashMap<String, CodeLock>,
    /// Lock classes united because they name one value (`resolve::alias`).
    pub aliases: crate::sema::aliases::Aliases,
    /// Function values stored into places and called through them (`resolve::fnvalues`).
    pub fn_values: crate::sema::fnvalues::FnValues,
}

impl Index {
    pub fn build(files: &[LoweredFile]) -> Index {
        Index::build_with(files, crate::sema::ExternNames::new())
    }

    /// [`Index::build`] with the names crates give their renamed dependencies.
    pub fn build_with(files: &[LoweredFile], externs: crate::sema::ExternNames) -> Index {
        let mut ix = Index {
            defmap: DefMap::build(files).with_extern_names(externs),
            ..Index::default()
        };
        for (fi, f) in files.iter().enumerate() {
            for u in &f.items.uses {
                if !u.glob {
                    ix.uses
                        .entry(u.module.clone())
                        .or_default()
                        .insert(u.alias.clone(), u.path.clone());
                }
            }
            for (i, func) in f.items.fns.iter().enumerate() {
                let r = FnRef { file: fi, idx: i };
                ix.fns.push(r);
                if let Some(t) = &func.self_ty {
                    let tn = crate::ir::type_name(t);
                    ix.methods
                        .entry((tn, func.name.to_string()))
                        .or_default()
                        .push(r);
                }
            }
            for t in &f.items.traits {
                let sup = ix.traits.entry(t.name.clone()).or_default();
                for st in &t.supertraits {
                    if let Some(n) = st.last() {
                        if !sup.contains(n) {
                            sup.push(n.clone());
                        }
                    }
                }
            }
            for imp in &f.items.trait_impls {
                let t = imp.trait_path.last().cloned().unwrap_or_default();
                let tn = crate::ir::type_name(&imp.self_ty);
                ix.impls_of.entry(tn.clone()).or_default().push(t.clone());
                ix.trait_impls.entry(t).or_default().push(tn);
            }
            if let Some(first) = f.items.fns.first() {
                let c = first.module.split("::").next().unwrap_or("").to_string();
                if !ix.crate_names.contains(&c) {
                    ix.crate_names.push(c);
                }
            }
        }
        for v in ix.trait_impls.values_mut() {
            v.sort();
            v.dedup();
        }
        // The struct each method's impl is for, resolved once.
        let mut self_struct = BTreeMap::new();
        for &r in &ix.fns {
            let f = &files[r.file].items.fns[r.idx];
            if let Some(TypeRef::Path { segs, .. }) = &f.self_ty {
                if let Some(d) = ix.find_struct(files, &f.module, segs) {
                    self_struct.insert(r, d.path.clone());
                    ix.struct_methods
                        .entry(d.path.clone())
                        .or_default()
                        .entry(f.name.to_string())
                        .or_default()
                        .push(r);
                }
            }
        }
        ix.self_struct = self_struct;
        ix.impls = crate::sema::Impls::build(&ix.defmap, files, &ix.fns);
        for ((_, m), v) in &ix.methods {
            ix.methods_by_name
                .entry(m.clone())
                .or_default()
                .extend(v.iter().copied());
        }
        ix
    }

    /// The traits a type parameter of `func` is bounded by, with their supertraits (by name,
    /// deduplicated, in order), or `None` when `name` is not a type parameter in scope.
    pub fn param_traits(&self, func: &FnDef, name: &str) -> Option<Vec<String>> {
        let g = func.generics.iter().find(|g| g.name == name)?;
        Some(self.with_supertraits(g.bounds.iter().filter_map(|b| b.last().cloned())))
    }

    /// Traits and, transitively, the supertraits the analyzed code declares for them.
    pub fn with_supertraits(&self, traits: impl IntoIterator<Item = String>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut todo: Vec<String> = traits.into_iter().collect();
        todo.reverse();
        while let Some(t) = todo.pop() {
            if out.contains(&t) || out.len() >= 64 {
                continue;
            }
            if let Some(sup) = self.traits.get(&t) {
                todo.extend(sup.iter().rev().cloned());
            }
            out.push(t);
        }
        out
    }

    pub fn func<'f>(&self, files: &'f [LoweredFile], r: FnRef) -> &'f FnDef {
        &files[r.file].items.fns[r.idx]
    }

    /// The full path a name stands for in a module, through `use`.
    pub fn resolve_use(&self, module: &str, name: &str) -> Option<&Vec<String>> {
        self.uses.get(module).and_then(|u| u.get(name))
    }

    /// The methods named `name` of the impls of the struct at `path`, in file order.
    pub fn methods_of_struct(&self, path: &str, name: &str) -> Option<&[FnRef]> {
        self.struct_methods
            .get(path)
            .and_then(|m| m.get(name))
            .map(Vec::as_slice)
    }

    /// The struct a type path written in `module` names (through aliases), by name
    /// resolution: never a same-named struct of another module.
    pub fn find_struct<'f>(
        &self,
        files: &'f [LoweredFile],
        module: &str,
        segs: &[String],
    ) -> Option<&'f StructDef> {
        match self.find_type_item(files, module, segs)? {
            Item::Struct(f, i) => Some(&files[f].items.structs[i]),
            _ => None,
        }
    }

    /// The item (other than an alias) a type path written in `module` names, through
    /// aliases, by name resolution.
    fn find_type_item(&self, files: &[LoweredFile], module: &str, segs: &[String]) -> Option<Item> {
        let mut module = module.to_string();
        let mut segs = segs.to_vec();
        for _ in 0..8 {
            match self.defmap.resolve(&module, &segs, Ns::Type)? {
                Res::Item(Item::Alias(f, i)) => {
                    let a = &files[f].items.aliases[i];
                    let TypeRef::Path { segs: s, .. } = &a.ty else {
                        return None;
                    };
                    segs = s.clone();
                    module = a.module.clone();
                }
                Res::Item(item) => return Some(item),
                _ => return None,
            }
        }
        None
    }

    /// The type an alias path written in `module` stands for, with the alias's type
    /// parameters replaced by `args` and every path in it made absolute (its names are the
    /// alias's module's, so the result reads the same from any module).
    fn find_alias(
        &self,
        files: &[LoweredFile],
        module: &str,
        segs: &[String],
        args: &[TypeRef],
    ) -> Option<TypeRef> {
        let Res::Item(Item::Alias(f, i)) = self.defmap.resolve(module, segs, Ns::Type)? else {
            return None;
        };
        let a = &files[f].items.aliases[i];
        let body = self.canonical(files, &a.module, &a.ty, &a.generics, 0);
        if a.generics.is_empty() || args.len() != a.generics.len() {
            return Some(body);
        }
        let args: Vec<TypeRef> = args
            .iter()
            .map(|t| self.canonical(files, module, t, &[], 0))
            .collect();
        Some(subst(&body, &a.generics, &args))
    }

    /// A type written in `module` with its paths made absolute: items of the analyzed code by
    /// their full path, outside items by the path their imports give; type parameters in
    /// `params` and unresolved names stay as written.
    pub fn canonical(
        &self,
        files: &[LoweredFile],
        module: &str,
        ty: &TypeRef,
        params: &[String],
        depth: u32,
    ) -> TypeRef {
        if depth > 16 {
            return ty.clone();
        }
        let go = |t: &TypeRef| self.canonical(files, module, t, params, depth + 1);
        match ty {
            TypeRef::Path { segs, args } => {
                let args = args.iter().map(go).collect();
                if segs.len() == 1 && (params.contains(&segs[0]) || segs[0] == "Self") {
                    return TypeRef::Path {
                        segs: segs.clone(),
                        args,
                    };
                }
                let split = |p: &str| p.split("::").map(str::to_string).collect::<Vec<_>>();
                let full = match self.defmap.resolve(module, segs, Ns::Type) {
                    Some(Res::Item(Item::Struct(f, i))) => split(&files[f].items.structs[i].path),
                    Some(Res::Item(Item::Enum(f, i))) => split(&files[f].items.enums[i].path),
                    Some(Res::Item(Item::Alias(f, i))) => split(&files[f].items.aliases[i].path),
                    Some(Res::Item(Item::Trait(f, i))) => split(&files[f].items.traits[i].path),
                    Some(Res::External(p)) => p,
                    _ => segs.clone(),
                };
                TypeRef::Path { segs: full, args }
            }
            TypeRef::Trait(bounds) => TypeRef::Trait(
                bounds
                    .iter()
                    .map(|b| match self.defmap.resolve(module, b, Ns::Type) {
                        Some(Res::Item(Item::Trait(f, i))) => files[f].items.traits[i]
                            .path
                            .split("::")
                            .map(str::to_string)
                            .collect(),
                        Some(Res::External(p)) => p,
                        _ => b.clone(),
                    })
                    .collect(),
            ),
            t => t.map_inner(go).unwrap_or_else(|| t.clone()),
        }
    }

    /// The static or const a path written in `module` names.
    fn find_static<'f>(
        &self,
        files: &'f [LoweredFile],
        module: &str,
        segs: &[String],
    ) -> Option<&'f crate::ir::StaticDef> {
        match self.defmap.resolve(module, segs, Ns::Value)? {
            Res::Item(Item::Static(f, i)) => Some(&files[f].items.statics[i]),
            _ => None,
        }
    }

    /// What a type path written in `module` names.
    pub fn resolve_type(&self, module: &str, segs: &[String]) -> Option<Res> {
        self.defmap.resolve(module, segs, Ns::Type)
    }

    /// What a value path (a function, a static, `Type::f`) written in `module` names.
    pub fn resolve_value(&self, module: &str, segs: &[String]) -> Option<Res> {
        self.defmap.resolve(module, segs, Ns::Value)
    }

    /// Classify a type as a lock, looking through wrappers (`Arc<Mutex<T>>`, `&SpinLock<T>`).
    pub fn lock_kind(
        &self,
        files: &[LoweredFile],
        module: &str,
        ty: &TypeRef,
        config: &Config,
    ) -> Option<LockKind> {
        let ty = self.strip(files, module, ty, 0);
        let TypeRef::Path { segs, args } = &ty else {
            return None;
        };
        let name = segs.last()?.as_str();
        // The path the name stands for (`use spin::Mutex;` → spin::Mutex).
        let full: Vec<String> = if segs.len() == 1 {
            self.resolve_use(module, name)
                .cloned()
                .unwrap_or_else(|| segs.clone())
        } else {
            segs.clone()
        };
        let real = full.last().map(String::as_str).unwrap_or(name);
        // the crate, as its dependent may rename it (`spin2 = { package = "spin" }`)
        let first = full.first().map(String::as_str).unwrap_or("");
        let first = self.defmap.crate_named(module, first);
        let type_name = full.join("::");
        if let Some(t) = config
            .lock_types
            .iter()
            .find(|t| t.type_name == name || t.type_name == type_name || t.type_name == real)
        {
            return Some(LockKind {
                type_name: type_name.into(),
                spin: t.spin,
                rw: false,
                reentrant: t.reentrant,
                raw: false,
                irq_safe: false,
                by_name: false,
                awaits: false,
            });
        }
        if NOT_LOCKS.contains(&real) {
            return None;
        }
        // A lock type of the analyzed code, as its code behaves.
        let source = self.find_struct(files, module, segs);
        if let Some(s) = source {
            if let Some(l) = self.code_locks.get(&s.path) {
                let mut kind = l.kind.clone();
                kind.irq_safe |= l.irq_safe_if.as_ref().is_some_and(|c| c.holds(args));
                return Some(kind);
            }
        }
        // Read by the name table without its source: std's own types are known exactly.
        let by_name = source.is_none() && {
            let outside = match self.defmap.resolve(module, segs, crate::sema::Ns::Type) {
                Some(crate::sema::Res::External(p)) => p,
                Some(_) => Vec::new(),
                None if segs.len() > 1 => segs.clone(),
                None => Vec::new(),
            };
            outside
                .first()
                .is_some_and(|c| !matches!(c.as_str(), "std" | "core" | "alloc"))
        };
        // A user type implementing lock_api's raw traits is a raw lock.
        // (Unless it also has an inherent guard-returning `lock`/`read`/`write`: inherent
        // methods win over trait methods.)
        let inherent_guard = self.inherent_guard(files, real);
        if let Some(k) = self.raw_trait_lock(real, &type_name, inherent_guard) {
            return Some(k);
        }
        let mut k = LockKind {
            type_name: type_name.into(),
            spin: false,
            rw: false,
            reentrant: false,
            raw: false,
            irq_safe: false,
            by_name,
            awaits: false,
        };
        if !name_table_kind(real, first, args, inherent_guard, &mut k) {
            return None;
        }
        // A guard-policy type argument masking interrupts (`SpinLock<T, LocalIrqDisabled>`,
        // `RwLock<T, WriteIrqDisabled>`): a lock held with interrupts off does not sleep.
        if args_mention_irq_policy(args) {
            k.irq_safe = true;
            k.spin = true;
        }
        // embassy-sync `Mutex<CriticalSectionRawMutex, T>`: held with interrupts masked.
        if args_mention_critical_section(args) {
            k.spin = true;
            k.irq_safe = true;
        }
        // lock_api's `Mutex<R, T>` over a raw lock of the analyzed code (or of a dependency
        // read from source): it spins and masks interrupts as that raw lock's code does.
        if !k.raw {
            if let Some(raw) = self.raw_lock_arg(files, module, args) {
                k.spin = raw.spin;
                k.irq_safe |= raw.irq_safe;
            }
        }
        Some(k)
    }

    /// Whether a type named `real` has an inherent `lock`/`read`/`write` that returns a
    /// value (inherent methods win over lock_api's trait methods).
    fn inherent_guard(&self, files: &[LoweredFile], real: &str) -> bool {
        ["lock", "read", "write"].iter().any(|m| {
            self.methods
                .get(&(real.to_string(), m.to_string()))
                .is_some_and(|v| {
                    v.iter().any(|r| {
                        let f = &files[r.file].items.fns[r.idx];
                        f.trait_name.is_none() && f.ret.is_some()
                    })
                })
        })
    }

    /// A user type implementing lock_api's raw traits (`impl RawMutex for X`) is a raw lock.
    fn raw_trait_lock(
        &self,
        real: &str,
        type_name: &str,
        inherent_guard: bool,
    ) -> Option<LockKind> {
        let traits = self.impls_of.get(real).filter(|_| !inherent_guard)?;
        if !traits.iter().any(|t| is_raw_lock_trait(t)) {
            return None;
        }
        let l = real.to_ascii_lowercase();
        Some(LockKind {
            type_name: type_name.to_string().into(),
            spin: l.contains("spin") || l.contains("ticket"),
            rw: traits.iter().any(|t| is_raw_rwlock_trait(t)),
            reentrant: false,
            raw: true,
            irq_safe: l.contains("irq"),
            by_name: false,
            awaits: false,
        })
    }

    /// The first type argument when it is a raw lock whose code says how it behaves.
    fn raw_lock_arg(
        &self,
        files: &[LoweredFile],
        module: &str,
        args: &[TypeRef],
    ) -> Option<&LockKind> {
        let TypeRef::Path { segs, .. } = args.first()? else {
            return None;
        };
        let s = self.find_struct(files, module, segs)?;
        let l = self.code_locks.get(&s.path)?;
        l.kind.raw.then_some(&l.kind)
    }

    /// Strip pointer-like wrappers and aliases down to the interesting type.
    pub fn strip(&self, files: &[LoweredFile], module: &str, ty: &TypeRef, depth: u32) -> TypeRef {
        if depth > 16 {
            return ty.clone();
        }
        match ty {
            TypeRef::Ref { inner, .. } | TypeRef::Ptr(inner) => {
                self.strip(files, module, inner, depth + 1)
            }
            TypeRef::Path { segs, args } => {
                let name = segs.last().map(String::as_str).unwrap_or("");
                if WRAPPERS.contains(&name) {
                    if let Some(a) = args.first() {
                        return self.strip(files, module, a, depth + 1);
                    }
                }
                if let Some(t) = self.find_alias(files, module, segs, args) {
                    return self.strip(files, module, &t, depth + 1);
                }
                ty.clone()
            }
            _ => ty.clone(),
        }
    }

    /// The element type of a collection (`Vec<Mutex<T>>` → `Mutex<T>`; a map's value).
    fn elem(&self, files: &[LoweredFile], module: &str, ty: &TypeRef) -> Option<TypeRef> {
        match self.strip(files, module, ty, 0) {
            TypeRef::Slice(t) | TypeRef::Array(t) => Some(*t),
            TypeRef::Path { segs, args } => {
                let name = segs.last().map(String::as_str).unwrap_or("");
                if MAPS.contains(&name) {
                    // `HashMap<K, V, S>`: the value.
                    args.get(1).cloned()
                } else if COLLECTIONS.contains(&name) || name == "Option" {
                    args.first().cloned()
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Look up a method by the (stripped) type it is called on.
    pub fn method<'f>(
        &self,
        files: &'f [LoweredFile],
        type_name: &str,
        method: &str,
    ) -> Option<&'f FnDef> {
        let v = self
            .methods
            .get(&(type_name.to_string(), method.to_string()))?;
        v.first().map(|r| self.func(files, *r))
    }

    /// Resolve a place in a function to the lock it names, if it is one.
    /// Walk a place from its root through fields, indexing and accessors: its type (when
    /// known), the class it would have as a lock, and the module that type lives in.
    pub fn walk_place(
        &self,
        files: &[LoweredFile],
        func: &FnDef,
        place: &Place,
    ) -> Option<PlaceWalk> {
        let mut module = func.module.to_string();
        let (ty, class) = self.walk_root(files, func, place, &mut module);
        let instance = self
            .global_call_instance(files, func, place)
            .unwrap_or_else(|| place.text.clone().to_string());
        let mut w = Walk {
            ty,
            class,
            module,
            instance,
            projs: place.proj.clone(),
            i: 0,
        };
        let mut steps = 0;
        while w.i < w.projs.len() {
            steps += 1;
            if steps > 64 {
                return None;
            }
            let p = w.projs[w.i].clone();
            w.i += 1;
            match p {
                Proj::Field(f) => self.step_field(files, &mut w, &f),
                Proj::Guard => self.step_guard(files, &mut w),
                Proj::Unwrap => self.step_unwrap(files, &mut w),
                Proj::Index(_) => self.step_elem(files, &mut w, false),
                Proj::Elem => self.step_elem(files, &mut w, true),
                Proj::Method(m) => self.step_method(files, &mut w, &m, false),
                Proj::Via(m) => self.step_method(files, &mut w, &m, true),
                Proj::Ctor { ctor, field } => self.step_ctor(files, &mut w, &ctor, &field),
            }
        }
        Some(PlaceWalk {
            ty: w.ty,
            class: w.class,
            module: w.module,
            instance: w.instance,
        })
    }

    /// The type of a place's root and its class prefix; `owner_module` becomes the module the
    /// root's type is written in (a static's, a callee's signature's).
    fn walk_root(
        &self,
        files: &[LoweredFile],
        func: &FnDef,
        place: &Place,
        owner_module: &mut String,
    ) -> (Option<TypeRef>, String) {
        let module = func.module.as_str();
        match &place.root {
            Root::SelfValue => (func.self_ty.clone(), String::new()),
            Root::Param { name, ty } => (
                Some(TypeRef::clone(ty)),
                format!("{}::{name}", func.owner_of(name, None)),
            ),
            Root::Local { name, ty, tag } => (
                ty.as_deref().cloned(),
                format!("{}::{name}", func.owner_of(name, Some(*tag))),
            ),
            Root::Path(segs) => match self.find_static(files, module, segs) {
                Some(s) => {
                    *owner_module = s.module.clone();
                    (Some(s.ty.clone()), s.path.clone())
                }
                None => (None, String::new()),
            },
            Root::Call(segs) => {
                let f = self.find_fn(files, module, func, segs);
                match f {
                    // `fn new() -> Self` in an impl: the impl's type.
                    Some(f) => {
                        *owner_module = f.module.to_string();
                        (
                            f.ret.as_ref().map(|r| subst_self(r, f.self_ty.as_ref())),
                            format!("{}()", f.path),
                        )
                    }
                    None => (None, String::new()),
                }
            }
            Root::Value(t) => (Some((**t).clone()), String::new()),
            Root::Opaque => (None, String::new()),
        }
    }

    /// `.f`: a struct's field (its type argument substituted), or a tuple's by position.
    fn step_field(&self, files: &[LoweredFile], w: &mut Walk, f: &str) {
        let cur = w.ty.clone();
        // A tuple's field by position: `pair.0` is the tuple's first type (a map
        // of `(Weak<Ctx>, usize)` values and the like).
        let tuple_field = f.parse::<usize>().ok().and_then(|n| {
            match cur.as_ref().map(|t| self.strip(files, &w.module, t, 0)) {
                Some(TypeRef::Tuple(v)) => v.get(n).cloned(),
                _ => None,
            }
        });
        if let Some(t) = tuple_field {
            if !w.class.is_empty() {
                w.class = format!("{}.{f}", w.class);
            }
            w.ty = Some(t);
            return;
        }
        let st = cur
            .as_ref()
            .and_then(|t| match self.strip(files, &w.module, t, 0) {
                TypeRef::Path { segs, args } => {
                    self.find_struct(files, &w.module, &segs).map(|s| (s, args))
                }
                _ => None,
            });
        match st {
            Some((s, args)) => {
                // A field of the struct's type parameter has the type argument
                // the place's type gives it (`Driver<D>`'s `dev: T` is a `D`).
                let fty = s.fields.iter().find(|(n, _, _)| *n == f).map(|(_, t, _)| {
                    if !args.is_empty() && args.len() == s.generics.len() {
                        let args: Vec<TypeRef> = args
                            .iter()
                            .map(|a| self.canonical(files, &w.module, a, &[], 0))
                            .collect();
                        subst(t, &s.generics, &args)
                    } else {
                        t.clone()
                    }
                });
                w.class = format!("{}.{f}", s.path);
                w.module = s.module.clone();
                w.ty = fty;
            }
            None => {
                w.class = if w.class.is_empty() {
                    String::new()
                } else {
                    format!("{}.{f}", w.class)
                };
                w.ty = None;
            }
        }
    }

    /// A field bound by a constructor pattern: an enum variant's field (its type argument
    /// substituted), or a struct's when the pattern names that struct; unknown otherwise.
    fn step_ctor(&self, files: &[LoweredFile], w: &mut Walk, ctor: &str, field: &str) {
        let stripped = w.ty.as_ref().map(|t| self.strip(files, &w.module, t, 0));
        if let Some(TypeRef::Path { segs, args }) = &stripped {
            match self.find_type_item(files, &w.module, segs) {
                Some(Item::Enum(f, i)) => {
                    let e = &files[f].items.enums[i];
                    let fty = e
                        .variants
                        .iter()
                        .find(|(v, _)| v == ctor)
                        .and_then(|(_, fields)| fields.iter().find(|(n, _)| n == field))
                        .map(|(_, t)| {
                            if !args.is_empty() && args.len() == e.generics.len() {
                                subst(t, &e.generics, args)
                            } else {
                                t.clone()
                            }
                        });
                    if let Some(t) = fty {
                        w.class = format!("{}::{ctor}.{field}", e.path);
                        w.module = e.module.clone();
                        w.ty = Some(t);
                        return;
                    }
                }
                Some(Item::Struct(f, i)) => {
                    let s = &files[f].items.structs[i];
                    if s.name == ctor || ctor == "Self" {
                        self.step_field(files, w, field);
                        return;
                    }
                }
                _ => {}
            }
        }
        // not a constructor of the value's type that the analysis knows
        w.ty = None;
        if !w.class.is_empty() {
            w.class = format!("{}.{field}", w.class);
        }
    }

    /// A guard's target: `Mutex<T>` → `T` (lock_api's `Mutex<R, T>` → `T`).
    fn step_guard(&self, files: &[LoweredFile], w: &mut Walk) {
        let cur = w.ty.clone();
        // A guard of the lock a value derefs to: walk the deref, then the guard again.
        if let Some(t) = cur.as_ref() {
            if self
                .lock_kind(files, &w.module, t, &Config::default())
                .is_none()
                && self.derefs_for(files, &w.module, t, None)
                && deref::may_deref_again(&w.projs[..w.i])
            {
                w.i -= 1;
                w.projs.insert(w.i, Proj::Method("deref".into()));
                return;
            }
        }
        // Mutex<T> → T (lock_api's Mutex<R, T> → T; a trailing const argument, as in
        // `Mutex<T, false>`, is not the data).
        w.ty = cur.and_then(|t| match self.strip(files, &w.module, &t, 0) {
            TypeRef::Path { args, .. } => args.iter().rev().find(|a| !a.is_const_arg()).cloned(),
            _ => None,
        });
    }

    /// `?` / `.unwrap()`: `Option<T>` / `Result<T, E>` → `T`.
    fn step_unwrap(&self, files: &[LoweredFile], w: &mut Walk) {
        let cur = w.ty.clone();
        // `Option<T>` / `Result<T, E>` → `T`; anything else stays (a guard's data
        // is already unwrapped).
        w.ty = cur.map(|t| match self.strip(files, &w.module, &t, 0) {
            TypeRef::Path { segs, args }
                if matches!(
                    segs.last().map(String::as_str),
                    Some("Option" | "Result" | "LockResult" | "Poll")
                ) && !args.is_empty() =>
            {
                args[0].clone()
            }
            other => other,
        });
    }

    /// `[i]` or one element (`elem`: `pop()`, a `for` binding): the collection's element type.
    fn step_elem(&self, files: &[LoweredFile], w: &mut Walk, elem: bool) {
        let cur = w.ty.clone();
        // The value in an `Option` is the field's own lock: no element marker.
        let option = elem
            && cur
                .as_ref()
                .is_some_and(|t| self.strip(files, &w.module, t, 0).last() == Some("Option"));
        w.ty = cur.and_then(|t| self.elem(files, &w.module, &t));
        if !w.class.is_empty() && !option {
            w.class.push_str("[]");
        }
    }

    /// `.m()` (`via`: a wrapper method the text does not show): the method's return type, an
    /// accessor's fields, a lock's view of itself, or a collection's element.
    fn step_method(&self, files: &[LoweredFile], w: &mut Walk, m: &str, via: bool) {
        let cur = w.ty.clone();
        // `Weak<T>::upgrade()` is an `Option` of the pointee.
        let weak = |t: &TypeRef| match t {
            TypeRef::Path { segs, args } => {
                segs.last().is_some_and(|s| s == "Weak") && !args.is_empty()
            }
            _ => false,
        };
        if m == "upgrade" && cur.as_ref().is_some_and(weak) {
            w.ty = cur.map(|t| TypeRef::Path {
                segs: vec!["Option".into()],
                args: vec![self.strip(files, &w.module, &t, 0)],
            });
            return;
        }
        let stripped = cur.as_ref().map(|t| self.strip(files, &w.module, t, 0));
        // `UnsafeCell<T>::get()` is a pointer to the `T` inside (a lock's own state).
        if let Some(t) = stripped.as_ref().and_then(|t| t.unsafe_cell_get(m)) {
            w.ty = Some(t);
            return;
        }
        let tn = stripped.as_ref().and_then(|t| t.last().map(str::to_string));
        let def = tn.as_deref().and_then(|tn| self.method(files, tn, m));
        let entry = matches!(
            m,
            "first_key_value" | "last_key_value" | "pop_first" | "pop_last"
        )
        .then(|| stripped.as_ref().and_then(TypeRef::std_map_kv))
        .flatten();
        // A lock's method returning the same lock type with other parameters
        // (`spin.disable_irq()` → `&SpinLock<T, IrqDisabled>`) is a view of the
        // receiver: a reference borrowed from `&self` whose type is the same lock.
        let view = def.filter(|d| {
            let same = |t: &TypeRef| match self.strip(files, &d.module, t, 0) {
                TypeRef::Path { segs, .. } => segs.last().cloned(),
                _ => None,
            };
            let (Some(c), Some(r)) = (cur.as_ref(), d.ret.as_ref()) else {
                return false;
            };
            same(c).is_some()
                && same(c) == same(r)
                && self
                    .lock_kind(files, &w.module, c, &Config::default())
                    .is_some()
        });
        if let Some(d) = view {
            w.instance = w.instance.replacen(&format!(".{m}()"), "", 1);
            w.ty = d.ret.clone();
            w.module = d.module.to_string();
            return;
        }
        match def {
            // A wrapper method the type does not declare: the same place.
            None if via => {}
            Some(d) if via && d.accessor_of.is_some() => {
                // The text has nothing for the wrapper method: the accessor's
                // fields go in before the text of the steps after it.
                let acc = d.accessor_of.clone().unwrap_or_default();
                let tail: String = w.projs[w.i..].iter().map(proj_text).collect();
                if let Some(at) = w.instance.len().checked_sub(tail.len()) {
                    if w.instance.ends_with(&tail) {
                        let fields: String = acc.iter().map(proj_text).collect();
                        w.instance.insert_str(at, &fields);
                    }
                }
                for (k, a) in acc.into_iter().enumerate() {
                    w.projs.insert(w.i + k, a);
                }
            }
            Some(d) if d.accessor_of.is_some() => {
                let acc = d.accessor_of.clone().unwrap_or_default();
                let fields: String = acc
                    .iter()
                    .map(|p| match p {
                        Proj::Field(f) => format!(".{f}"),
                        _ => String::new(),
                    })
                    .collect();
                w.instance = w.instance.replacen(&format!(".{m}()"), &fields, 1);
                for (k, a) in acc.into_iter().enumerate() {
                    w.projs.insert(w.i + k, a);
                }
            }
            Some(d) => {
                // A `deref` that is no field accessor (a generic pointer's `&**self`) names
                // the value it points to: the pointer's own place keeps the class, as a std
                // `Arc` around a lock does.
                if m != "deref" || w.class.is_empty() {
                    w.class = format!("{}()", d.path);
                }
                // `PerCpuVar<SwitchResult>::get_mut(&self) -> &mut T` is a `SwitchResult`
                w.ty = d
                    .ret
                    .as_ref()
                    .map(|r| self.instantiate(files, &w.module, d, stripped.as_ref(), r));
                w.module = d.module.to_string();
            }
            // `opt.take()`, `opt.replace(v)`: the same `Option`.
            None if matches!(m, "take" | "replace")
                && stripped
                    .as_ref()
                    .and_then(TypeRef::last)
                    .is_some_and(|l| l == "Option") => {}
            // `map.first_key_value()`: an entry of a std map, `Option<(K, V)>`.
            None if entry.is_some() => {
                w.ty = entry.map(|(k, v)| TypeRef::Path {
                    segs: vec!["Option".into()],
                    args: vec![TypeRef::Tuple(vec![k, v])],
                });
                if !w.class.is_empty() {
                    w.class.push_str("[]");
                }
            }
            // `v.first()`, `it.next()` on a collection (or an iterator over one,
            // whose place is the collection's): one of its elements.
            None if crate::lock_api::ELEM_METHODS.contains(&m)
                && cur
                    .as_ref()
                    .and_then(|t| self.elem(files, &w.module, t))
                    .is_some() =>
            {
                w.ty = cur.and_then(|t| self.elem(files, &w.module, &t));
                if !w.class.is_empty() {
                    w.class.push_str("[]");
                }
            }
            None => {
                w.ty = None;
                w.class = String::new();
            }
        }
    }

    pub fn resolve_lock(
        &self,
        files: &[LoweredFile],
        func: &FnDef,
        place: &Place,
        method: &str,
        how: AcqCall,
        config: &Config,
    ) -> Option<ResolvedLock> {
        let AcqCall { unwrapped, fn_call } = how;
        let PlaceWalk {
            ty,
            mut class,
            module: owner_module,
            instance,
        } = self.walk_place(files, func, place)?;
        let kind = match &ty {
            Some(t) => self.lock_kind(files, &owner_module, t, config),
            None => None,
        };
        let (kind, assumed) = match kind {
            Some(k) => (k, false),
            None => {
                if let Some(t) = ty.as_ref().filter(|t| !matches!(t, TypeRef::Unknown)) {
                    if !is_generic_param(ty.as_ref(), func) {
                        // A written type that is not a lock (`File::lock`, a user type's
                        // `lock`), unless it derefs to one.
                        return self.deref_lock(
                            files,
                            func,
                            place,
                            t,
                            &owner_module,
                            method,
                            AcqCall { unwrapped, fn_call },
                            config,
                        );
                    }
                }
                // Type not written: a `.lock().unwrap()` is std's poisoning lock in practice; an
                // acquire function (`KeAcquireSpinLock(&l)`, `spin_lock_irqsave(&l)`) is a manual
                // lock. A method (`x.upgradable_read()`, `x.blocking_lock()`) is neither.
                let raw_call = fn_call
                    && (method.starts_with(|c: char| c.is_uppercase())
                        || method.contains('_')
                            && !method.starts_with("lock")
                            && !method.starts_with("try_"));
                if !(unwrapped
                    && matches!(
                        method,
                        "lock" | "read" | "write" | "try_lock" | "try_read" | "try_write"
                    )
                    || raw_call)
                {
                    return None;
                }
                if matches!(place.root, Root::Opaque | Root::Call(_)) && !raw_call {
                    return None;
                }
                let k = LockKind {
                    type_name: String::from("unknown").into(),
                    spin: raw_call
                        && (method.contains("Spin")
                            || method.starts_with("spin")
                            || method.starts_with("raw_spin")),
                    rw: matches!(method, "read" | "write" | "try_read" | "try_write"),
                    reentrant: false,
                    raw: raw_call,
                    irq_safe: false,
                    by_name: false,
                    awaits: false,
                };
                (k, true)
            }
        };
        if class.is_empty() {
            class = format!("{}::{}", func.path, place.text);
        }
        if let Some(c) = self.aliases.canon_owned(&class) {
            class = c;
        }
        Some(ResolvedLock {
            class: class.into(),
            instance: instance.into(),
            kind,
            assumed,
            unshared: false,
        })
    }

    /// Resolve a call path to a function definition (free function, `Type::f`, `Self::f`) by
    /// name resolution; `Type::f` is the type's own method (inherent first).
    pub fn find_fn<'f>(
        &self,
        files: &'f [LoweredFile],
        module: &str,
        from: &FnDef,
        segs: &[String],
    ) -> Option<&'f FnDef> {
        let r = self.find_fn_ref(files, module, from, segs)?;
        Some(self.func(files, r))
    }

    /// See [`Index::find_fn`].
    pub fn find_fn_ref(
        &self,
        files: &[LoweredFile],
        module: &str,
        from: &FnDef,
        segs: &[String],
    ) -> Option<FnRef> {
        let name = segs.last()?;
        if segs.len() >= 2 && segs[segs.len() - 2] == "Self" {
            let st = self.self_struct_of(files, from)?;
            return self.own_method(files, &st, name);
        }
        match self.defmap.resolve(module, segs, Ns::Value)? {
            Res::Item(Item::Fn(file, idx)) => Some(FnRef { file, idx }),
            Res::Assoc(Item::Struct(f, i), rest) if rest.len() == 1 => {
                let st = &files[f].items.structs[i];
                self.own_method(files, &st.path, name)
            }
            Res::Assoc(Item::Alias(..), rest) if rest.len() == 1 => {
                let st = self.find_struct(files, module, &segs[..segs.len() - 1])?;
                self.own_method(files, &st.path, name)
            }
            _ => None,
        }
    }

    /// The struct path of a method's impl (`impl Device { .. }` → `k::dev::Device`).
    pub fn self_struct_of(&self, files: &[LoweredFile], f: &FnDef) -> Option<String> {
        match &f.self_ty {
            Some(TypeRef::Path { segs, .. }) => self
                .find_struct(files, &f.module, segs)
                .map(|d| d.path.clone()),
            _ => None,
        }
    }

    /// The method `name` of the struct at `path`: an inherent one first, as rustc picks.
    pub fn own_method(&self, files: &[LoweredFile], path: &str, name: &str) -> Option<FnRef> {
        let ms = self.methods_of_struct(path, name)?;
        ms.iter()
            .copied()
            .find(|r| self.func(files, *r).trait_name.is_none())
            .or_else(|| ms.first().copied())
    }
}

fn is_generic_param(ty: Option<&TypeRef>, func: &FnDef) -> bool {
    // A type parameter in scope, or any single uppercase letter type (`T`): a type that is not
    // known.
    matches!(ty, Some(TypeRef::Path { segs, args }) if segs.len() == 1 && args.is_empty()
        && (segs[0].len() == 1 || func.generics.iter().any(|g| g.name == segs[0])))
}

/// `a::b::C` ends with `b::C` (or `C`) on a segment boundary.
/// The text a projection adds to a place's spelling (as the lowering writes it).
fn proj_text(p: &Proj) -> String {
    match p {
        Proj::Field(f) => format!(".{f}"),
        Proj::Index(i) => format!("[{i}]"),
        Proj::Method(m) => format!(".{m}()"),
        Proj::Elem => "[_]".to_string(),
        Proj::Unwrap => String::new(),
        Proj::Guard => ".*".to_string(),
        Proj::Via(_) => String::new(),
        Proj::Ctor { field, .. } => format!(".{field}"),
    }
}

/// How an acquisition was written, for locks whose type is not written.
#[derive(Clone, Copy, Debug, Default)]
pub struct AcqCall {
    /// `m.lock().unwrap()`: std's shape.
    pub unwrapped: bool,
    /// An acquire function applied to the lock (`spin_lock(&l)`), not a method.
    pub fn_call: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Edition, FileId, SourceFile};

    #[test]
    fn a_renamed_lock_crate_is_known_by_its_own_name() {
        let f = SourceFile::new(FileId(0), "lib.rs", "use spin2::Mutex;").with_crate(
            "drv",
            vec![],
            Edition::E2021,
        );
        let files = vec![crate::lower_file(&f)];
        let ty = TypeRef::Path {
            segs: vec!["Mutex".to_string()],
            args: vec![],
        };
        let spin = |externs: crate::sema::ExternNames| {
            let ix = Index::build_with(&files, externs);
            let k = ix.lock_kind(&files, "drv", &ty, &Config::default());
            k.map(|k| k.spin)
        };
        // `spin2 = { package = "spin" }`: spin's `Mutex` spins, whatever the driver calls it
        let mut externs = crate::sema::ExternNames::new();
        externs.insert(
            "drv".to_string(),
            [("spin2".to_string(), "spin".to_string())].into(),
        );
        assert_eq!(spin(externs), Some(true));
        // a crate of that name unknown: a `Mutex` is a sleeping lock
        assert_eq!(spin(crate::sema::ExternNames::new()), Some(false));
    }
}
