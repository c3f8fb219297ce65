//! Generic substitution: a type's parameters replaced by the arguments a use gives them, and
//! types spelled in full so that they mean the same in another module.

use super::Index;
use crate::ir::{FnDef, TypeRef};
use crate::lower::LoweredFile;

impl Index {
    /// A type written in `module` with every path of the analyzed code or outside it spelled
    /// in full (`SwitchResult` → `kernel::process::manager::SwitchResult`), so that it means
    /// the same where it is substituted into a type written in another module.
    pub(super) fn qualify(
        &self,
        files: &[LoweredFile],
        module: &str,
        ty: &TypeRef,
        depth: u32,
    ) -> TypeRef {
        use crate::sema::defmap::{Item, Ns, Res};
        if depth > 8 {
            return ty.clone();
        }
        let go = |t: &TypeRef| self.qualify(files, module, t, depth + 1);
        match ty {
            TypeRef::Path { segs, args } => {
                let full = match self.defmap.resolve(module, segs, Ns::Type) {
                    Some(Res::Item(item)) => match item {
                        Item::Struct(f, i) => Some(files[f].items.structs[i].path.clone()),
                        Item::Enum(f, i) => Some(files[f].items.enums[i].path.clone()),
                        Item::Alias(f, i) => Some(files[f].items.aliases[i].path.clone()),
                        Item::Trait(f, i) => Some(files[f].items.traits[i].path.clone()),
                        _ => None,
                    }
                    .map(|p| p.split("::").map(str::to_string).collect()),
                    Some(Res::External(p)) => Some(p),
                    _ => None,
                };
                TypeRef::Path {
                    segs: full.unwrap_or_else(|| segs.clone()),
                    args: args.iter().map(go).collect(),
                }
            }
            TypeRef::Ref { mutable, inner } => TypeRef::Ref {
                mutable: *mutable,
                inner: Box::new(go(inner)),
            },
            TypeRef::Ptr(t) => TypeRef::Ptr(Box::new(go(t))),
            TypeRef::Slice(t) => TypeRef::Slice(Box::new(go(t))),
            TypeRef::Array(t) => TypeRef::Array(Box::new(go(t))),
            TypeRef::Tuple(v) => TypeRef::Tuple(v.iter().map(go).collect()),
            TypeRef::Trait(_) | TypeRef::Unknown => ty.clone(),
        }
    }

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
                    vals.push(self.qualify(files, module, a, 0));
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
        TypeRef::Ref { mutable, inner } => TypeRef::Ref {
            mutable: *mutable,
            inner: Box::new(go(inner)),
        },
        TypeRef::Ptr(t) => TypeRef::Ptr(Box::new(go(t))),
        TypeRef::Slice(t) => TypeRef::Slice(Box::new(go(t))),
        TypeRef::Array(t) => TypeRef::Array(Box::new(go(t))),
        TypeRef::Tuple(v) => TypeRef::Tuple(v.iter().map(go).collect()),
        TypeRef::Trait(_) | TypeRef::Unknown => ty.clone(),
    }
}
