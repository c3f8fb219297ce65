//! Auto-deref through the analyzed code's `Deref` impls, as rustc's method lookup does: a
//! method the type does not have is looked up on what it derefs to (`impl Deref for
//! AddressSpace { type Target = RwLock<Inner>; .. }`, then `space.read()` is the lock's).

use super::{AcqCall, Index, ResolvedLock};
use crate::config::Config;
use crate::index::FnRef;
use crate::ir::{FnDef, Place, Proj, TypeRef};
use crate::lower::LoweredFile;
use crate::sema::impls::{generic_names, resolve_ty, TyKey, TyRes};

/// Derefs followed for one place: `Deref` chains are short, and a cycle must end.
const MAX_DEREFS: usize = 3;

/// Whether a walk through `projs` may deref once more (fewer than [`MAX_DEREFS`] so far).
pub(super) fn may_deref_again(projs: &[Proj]) -> bool {
    projs
        .iter()
        .filter(|p| matches!(p, Proj::Method(m) if m == "deref"))
        .count()
        < MAX_DEREFS
}

impl Index {
    /// The `Deref::deref` of a type of the analyzed code (`k`).
    pub fn deref_fn(&self, k: &TyKey) -> Option<FnRef> {
        self.impls
            .impl_method(k, "std::ops::Deref", "deref")
            .into_iter()
            .next()
    }

    /// The type a type of the analyzed code derefs to, by its `Deref` impl's `deref`
    /// signature (`-> &Self::Target` is the impl's `type Target`, normalized at lowering).
    pub fn deref_target(&self, files: &[LoweredFile], k: &TyKey) -> Option<TyKey> {
        let d = self.deref_fn(k)?;
        let f = &files[d.file].items.fns[d.idx];
        let ret = f.ret.as_ref()?;
        let target = self.strip(files, &f.module, ret, 0);
        match resolve_ty(&self.defmap, files, &f.module, &target, &generic_names(f))? {
            TyRes::Key(t) if t != *k => Some(t),
            _ => None,
        }
    }

    /// The key of a type written in `module`, when it is one of the analyzed code's.
    pub(super) fn local_key(
        &self,
        files: &[LoweredFile],
        module: &str,
        ty: &TypeRef,
    ) -> Option<TyKey> {
        let t = self.strip(files, module, ty, 0);
        match resolve_ty(&self.defmap, files, module, &t, &[])? {
            TyRes::Key(k @ TyKey::Local(_)) => Some(k),
            _ => None,
        }
    }

    /// Whether a value of type `ty` (written in `module`) reaches `method` only through its
    /// `Deref` impl: the type is the analyzed code's, has no method of that name of its own
    /// (inherent, trait impl or trait default), and derefs.
    pub(super) fn derefs_for(
        &self,
        files: &[LoweredFile],
        module: &str,
        ty: &TypeRef,
        method: Option<&str>,
    ) -> bool {
        let Some(k) = self.local_key(files, module, ty) else {
            return false;
        };
        if let Some(m) = method {
            if !self.impls.methods_of(&k, m).is_empty()
                || !self.impls.defaults_of(files, &k, m).is_empty()
            {
                return false;
            }
        }
        self.deref_fn(&k).is_some()
    }

    /// `place.method()` where the place's type is not a lock but derefs to one: the lock the
    /// deref reaches (`space.read()` with `deref` returning `&self.inner` is `space.inner`'s).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn deref_lock(
        &self,
        files: &[LoweredFile],
        func: &FnDef,
        place: &Place,
        ty: &TypeRef,
        module: &str,
        method: &str,
        how: AcqCall,
        config: &Config,
    ) -> Option<ResolvedLock> {
        if !may_deref_again(&place.proj) || !self.derefs_for(files, module, ty, Some(method)) {
            return None;
        }
        let mut p = place.clone();
        p.proj.push(Proj::Method("deref".into()));
        p.text = format!("{}.deref()", p.text).into();
        self.resolve_lock(files, func, &p, method, how, config)
    }
}
