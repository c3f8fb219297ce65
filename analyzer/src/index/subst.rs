//! Generic substitution: a type's parameters replaced by the arguments a use gives them (spelled
//! in full, [`Index::canonical`], so that they mean the same in another module).

use super::Index;
use crate::ir::{FnDef, TypeRef};
use crate::lower::LoweredFile;

impl Index {
    /// A method's return type for a receiver of type `recv` (written in `module`): the
    /// impl's type parameters replaced by the receiver's type arguments (`impl<T>
    /// PerCpuVar<T>`, a `PerCpuVar<SwitchResult>`: `T` is `SwitchResult`), `Self` by the impl's
    /// type.
    pub(super) fn instantiate(
        &self,
        files: &[LoweredFile],
        module: &str,
        d: &FnDef,
        recv: Option<&TypeRef>,
        ret: &TypeRef,
    ) -> TypeRef {
        let ret = subst_self(ret, d.self_ty.as_ref());
        let (Some(TypeRef::Path { args: params, .. }), Some(TypeRef::Path { args, .. })) =
            (d.self_ty.as_ref(), recv)
        else {
            return ret;
        };
        if params.len() != args.len() {
            return ret;
        }
        let mut names = Vec::new();
        let mut vals = Vec::new();
        for (p, a) in params.iter().zip(args) {
            // only the impl's own parameters (`impl<T> PerCpuVar<T>`), not a concrete argument
            if let TypeRef::Path { segs, args: pa } = p {
                if segs.len() == 1 && pa.is_empty() && d.generics.iter().any(|g| g.name == segs[0])
                {
                    names.push(segs[0].clone());
                    vals.push(self.canonical(files, module, a, &[], 0));
                }
            }
        }
        if names.is_empty() {
            return ret;
        }
        subst(&ret, &names, &vals)
    }
}

/// `Self` in a method's signature is its impl's type.
pub(super) fn subst_self(ty: &TypeRef, self_ty: Option<&TypeRef>) -> TypeRef {
    match (ty, self_ty) {
        (TypeRef::Path { segs, args }, Some(st))
            if segs.len() == 1 && segs[0] == "Self" && args.is_empty() =>
        {
            st.clone()
        }
        (TypeRef::Path { segs, args }, _) => TypeRef::Path {
            segs: segs.clone(),
            args: args.iter().map(|a| subst_self(a, self_ty)).collect(),
        },
        (TypeRef::Ref { mutable, inner }, _) => TypeRef::Ref {
            mutable: *mutable,
            inner: Box::new(subst_self(inner, self_ty)),
        },
        _ => ty.clone(),
    }
}

/// Replace the type parameters `names` by `args` in a type.
pub(super) fn subst(ty: &TypeRef, names: &[String], args: &[TypeRef]) -> TypeRef {
    let go = |t: &TypeRef| subst(t, names, args);
    match ty {
        TypeRef::Path { segs, args: a } => {
            if segs.len() == 1 && a.is_empty() {
                if let Some(i) = names.iter().position(|n| *n == segs[0]) {
                    return args[i].clone();
                }
            }
            TypeRef::Path {
                segs: segs.clone(),
                args: a.iter().map(go).collect(),
            }
        }
        t => t.map_inner(go).unwrap_or_else(|| t.clone()),
    }
}
