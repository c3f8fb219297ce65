//! Lowering of items: structs, statics, aliases, `use`, functions and methods.

use quote::ToTokens;

use crate::cfg_pred::{CfgPred, ItemCfg};
use crate::config::Config;
use crate::ir::{
    AliasDef, EnumDef, FileItems, FnDef, GenericParam, ImplDef, Proj, StaticDef, StructDef,
    TraitDef, TypeRef, UseDef,
};
use crate::lower::body::BodyLowerer;
use crate::parse::SpanMap;
use crate::source::{Edition, SourceFile};

/// Context shared while walking one file's items.
pub struct ItemCx<'a> {
    pub map: &'a SpanMap,
    pub edition: Edition,
    pub config: &'a Config,
    pub test_only: bool,
    pub out: FileItems,
    /// Type parameters of the impl or trait whose methods are being lowered.
    outer_generics: Vec<GenericParam>,
    /// The `#[cfg(..)]` predicates of the item being lowered and of the items around it.
    cfg: ItemCfg,
}

/// Convert a syn type into a [`TypeRef`].
pub fn type_ref(t: &syn::Type) -> TypeRef {
    match t {
        syn::Type::Path(p) => path_type(&p.path),
        syn::Type::Reference(r) => TypeRef::Ref {
            mutable: r.mutability.is_some(),
            inner: Box::new(type_ref(&r.elem)),
        },
        syn::Type::Ptr(p) => TypeRef::Ptr(Box::new(type_ref(&p.elem))),
        syn::Type::Slice(s) => TypeRef::Slice(Box::new(type_ref(&s.elem))),
        syn::Type::Array(a) => TypeRef::Array(Box::new(type_ref(&a.elem))),
        syn::Type::Tuple(t) => TypeRef::Tuple(t.elems.iter().map(type_ref).collect()),
        syn::Type::Paren(p) => type_ref(&p.elem),
        syn::Type::Group(g) => type_ref(&g.elem),
        syn::Type::TraitObject(o) => TypeRef::Trait(bounds(&o.bounds)),
        syn::Type::ImplTrait(i) => TypeRef::Trait(bounds(&i.bounds)),
        _ => TypeRef::Unknown,
    }
}

fn bounds(
    b: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
) -> Vec<Vec<String>> {
    b.iter()
        .filter_map(|b| match b {
            syn::TypeParamBound::Trait(t) => Some(path_segs(&t.path)),
            _ => None,
        })
        .collect()
}

/// The type and const parameters of an item, in order: the positions its arguments take.
fn value_params(g: &syn::Generics) -> Vec<String> {
    g.params
        .iter()
        .filter_map(|p| match p {
            syn::GenericParam::Type(t) => Some(t.ident.to_string()),
            syn::GenericParam::Const(c) => Some(c.ident.to_string()),
            syn::GenericParam::Lifetime(_) => None,
        })
        .collect()
}

/// The const parameters of an item with their defaults as written (`const INT: bool = true`).
fn const_params(g: &syn::Generics) -> Vec<(String, Option<String>)> {
    g.const_params()
        .map(|c| {
            let default = c
                .default
                .as_ref()
                .map(|d| quote::ToTokens::to_token_stream(d).to_string());
            (c.ident.to_string(), default)
        })
        .collect()
}

pub fn path_segs(p: &syn::Path) -> Vec<String> {
    // A raw identifier names the same item as the plain one (`r#async::f` is `async::f`).
    p.segments
        .iter()
        .map(|s| syn::ext::IdentExt::unraw(&s.ident).to_string())
        .collect()
}

pub fn path_type(p: &syn::Path) -> TypeRef {
    let segs = path_segs(p);
    let args = match p.segments.last().map(|s| &s.arguments) {
        Some(syn::PathArguments::AngleBracketed(a)) => a
            .args
            .iter()
            .filter_map(|g| match g {
                syn::GenericArgument::Type(t) => Some(type_ref(t)),
                // `Mutex<T, false>`: a const argument keeps its place among the arguments,
                // spelled as written.
                syn::GenericArgument::Const(e) => Some(TypeRef::Path {
                    segs: vec![quote::ToTokens::to_token_stream(e).to_string()],
                    args: Vec::new(),
                }),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    TypeRef::Path { segs, args }
}

impl<'a> ItemCx<'a> {
    pub fn new(map: &'a SpanMap, file: &SourceFile, config: &'a Config) -> Self {
        ItemCx {
            map,
            edition: file.edition,
            config,
            test_only: file.test_only,
            out: FileItems::default(),
            outer_generics: Vec::new(),
            cfg: None,
        }
    }

    /// Run `f` with the `#[cfg(..)]` predicates of `attrs` added to those in force.
    fn with_cfg<R>(&mut self, attrs: &[syn::Attribute], f: impl FnOnce(&mut Self) -> R) -> R {
        let Some(own) = crate::syntax::cfg_pred(attrs) else {
            return f(self);
        };
        let cfg = CfgPred::both(self.cfg.as_deref(), Some(&own)).map(Box::new);
        let saved = std::mem::replace(&mut self.cfg, cfg);
        let r = f(self);
        self.cfg = saved;
        r
    }

    pub fn items(&mut self, items: &[syn::Item], module: &str, test: bool) {
        for item in items {
            self.item(item, module, test);
        }
    }

    fn item(&mut self, item: &syn::Item, module: &str, test: bool) {
        self.with_cfg(crate::syntax::item_attrs(item), |cx| {
            cx.item_in_cfg(item, module, test)
        });
    }

    fn item_in_cfg(&mut self, item: &syn::Item, module: &str, test: bool) {
        match item {
            syn::Item::Struct(s) => self.struct_item(s, module),
            syn::Item::Union(s) => self.union_item(s, module),
            syn::Item::Enum(e) => self.enum_item(e, module),
            syn::Item::Static(s) => self.out.statics.push(StaticDef {
                path: format!("{module}::{}", s.ident),
                name: s.ident.to_string(),
                ty: type_ref(&s.ty),
                span: self.map.of(&s.ident),
                module: module.to_string(),
                cfg: self.cfg.clone(),
            }),
            syn::Item::Const(c) => self.out.statics.push(StaticDef {
                path: format!("{module}::{}", c.ident),
                name: c.ident.to_string(),
                ty: type_ref(&c.ty),
                span: self.map.of(&c.ident),
                module: module.to_string(),
                cfg: self.cfg.clone(),
            }),
            syn::Item::Type(t) => self.out.aliases.push(AliasDef {
                path: format!("{module}::{}", t.ident),
                name: t.ident.to_string(),
                ty: type_ref(&t.ty),
                module: module.to_string(),
                generics: value_params(&t.generics),
                cfg: self.cfg.clone(),
            }),
            syn::Item::Use(u) => {
                let mut prefix = Vec::new();
                self.use_tree(&u.tree, &mut prefix, module);
            }
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    let t = test || crate::syntax::has_cfg_test(&m.attrs);
                    self.items(inner, &format!("{module}::{}", m.ident), t);
                }
            }
            syn::Item::Fn(f) => {
                let t = test || crate::syntax::has_cfg_test(&f.attrs);
                self.function(
                    &f.sig,
                    Some(&f.block),
                    &f.attrs,
                    module,
                    None,
                    None,
                    false,
                    t,
                );
            }
            syn::Item::Impl(i) => self.impl_block(i, module, test),
            syn::Item::Trait(tr) => self.trait_item(tr, module, test),
            syn::Item::Macro(m)
                if m.mac
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "lazy_static") =>
            {
                // `lazy_static! { [pub] static ref NAME: Type = init; ... }`
                for (name, ty, span) in lazy_statics(&m.mac, self.map) {
                    self.out.statics.push(StaticDef {
                        path: format!("{module}::{name}"),
                        name,
                        ty,
                        span,
                        module: module.to_string(),
                        cfg: self.cfg.clone(),
                    });
                }
            }
            syn::Item::Macro(m) if m.ident.is_none() => {
                // a crate-local `macro_rules!` generating items
                let t = test || crate::syntax::has_cfg_test(&m.attrs);
                crate::macros::with_items(&m.mac, |items| self.items(items, module, t));
            }
            syn::Item::ForeignMod(fm) => {
                for fi in &fm.items {
                    if let syn::ForeignItem::Fn(f) = fi {
                        self.with_cfg(&f.attrs, |cx| {
                            cx.function(&f.sig, None, &f.attrs, module, None, None, false, test)
                        });
                    }
                }
            }
            _ => {}
        }
    }

    /// A struct: its fields (named, or by position) and type parameters.
    fn struct_item(&mut self, s: &syn::ItemStruct, module: &str) {
        let fields = match &s.fields {
            syn::Fields::Named(n) => self.named_fields(n),
            syn::Fields::Unnamed(u) => u
                .unnamed
                .iter()
                .enumerate()
                .map(|(i, f)| (i.to_string(), type_ref(&f.ty), self.map.of(f)))
                .collect(),
            syn::Fields::Unit => Vec::new(),
        };
        let generics = value_params(&s.generics);
        let consts = const_params(&s.generics);
        let ctor = !matches!(s.fields, syn::Fields::Named(_));
        self.push_struct(&s.ident, fields, (generics, consts), module, ctor);
    }

    fn enum_item(&mut self, e: &syn::ItemEnum, module: &str) {
        let variants = e
            .variants
            .iter()
            .map(|v| {
                let fields = match &v.fields {
                    syn::Fields::Named(n) => self
                        .named_fields(n)
                        .into_iter()
                        .map(|(name, ty, _)| (name, ty))
                        .collect(),
                    syn::Fields::Unnamed(u) => u
                        .unnamed
                        .iter()
                        .enumerate()
                        .map(|(i, f)| (i.to_string(), type_ref(&f.ty)))
                        .collect(),
                    syn::Fields::Unit => Vec::new(),
                };
                (v.ident.to_string(), fields)
            })
            .collect();
        let cfg = self.cfg.clone();
        self.out.enums.push(EnumDef {
            cfg,
            path: format!("{module}::{}", e.ident),
            name: e.ident.to_string(),
            module: module.to_string(),
            generics: e
                .generics
                .type_params()
                .map(|p| p.ident.to_string())
                .collect(),
            variants,
        });
    }

    /// A union, as a struct of its fields.
    fn union_item(&mut self, s: &syn::ItemUnion, module: &str) {
        let fields = self.named_fields(&s.fields);
        self.push_struct(&s.ident, fields, (Vec::new(), Vec::new()), module, false);
    }

    /// Named fields with their types as written and spans.
    fn named_fields(&self, n: &syn::FieldsNamed) -> Vec<(String, TypeRef, crate::source::Span)> {
        n.named
            .iter()
            .filter_map(|f| {
                Some((
                    f.ident.as_ref()?.to_string(),
                    type_ref(&f.ty),
                    self.map.of(f),
                ))
            })
            .collect()
    }

    fn push_struct(
        &mut self,
        ident: &syn::Ident,
        fields: Vec<(String, TypeRef, crate::source::Span)>,
        (generics, consts): (Vec<String>, Vec<(String, Option<String>)>),
        module: &str,
        ctor: bool,
    ) {
        self.out.structs.push(StructDef {
            path: format!("{module}::{ident}"),
            name: ident.to_string(),
            fields,
            generics,
            consts,
            span: self.map.of(ident),
            module: module.to_string(),
            ctor,
            cfg: self.cfg.clone(),
        });
    }

    /// An impl block: the trait impl it records and its functions.
    fn impl_block(&mut self, i: &syn::ItemImpl, module: &str, test: bool) {
        let self_ty = type_ref(&i.self_ty);
        let trait_name = i.trait_.as_ref().map(|(_, p, _)| path_segs(p).join("::"));
        let t = test || crate::syntax::has_cfg_test(&i.attrs);
        if let Some((_, p, _)) = &i.trait_ {
            self.out.trait_impls.push(ImplDef {
                trait_path: path_segs(p),
                self_ty: self_ty.clone(),
                module: module.to_string(),
                generics: i
                    .generics
                    .type_params()
                    .map(|p| p.ident.to_string())
                    .collect(),
                test_only: t || self.test_only,
                cfg: self.cfg.clone(),
            });
        }
        let saved = std::mem::replace(&mut self.outer_generics, generic_params(&i.generics));
        self.impl_items(&i.items, module, &self_ty, &trait_name, t);
        self.outer_generics = saved;
    }

    /// A trait: its supertraits and its methods (with `Self` bounded by the trait).
    fn trait_item(&mut self, tr: &syn::ItemTrait, module: &str, test: bool) {
        let self_ty = TypeRef::Path {
            segs: vec![tr.ident.to_string()],
            args: Vec::new(),
        };
        // `Self` in a trait is any implementor: bounded by the trait and its supertraits.
        let mut generics = generic_params(&tr.generics);
        let supertraits = trait_bounds(&tr.supertraits);
        let mut own = vec![vec![tr.ident.to_string()]];
        own.extend(supertraits.iter().cloned());
        add_bounds(&mut generics, "Self", own);
        let supertraits = generics
            .iter()
            .find(|g| g.name == "Self")
            .map(|g| {
                g.bounds
                    .iter()
                    .filter(|b| b.last() != Some(&tr.ident.to_string()))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        self.out.traits.push(TraitDef {
            path: format!("{module}::{}", tr.ident),
            name: tr.ident.to_string(),
            supertraits,
            module: module.to_string(),
            cfg: self.cfg.clone(),
        });
        let saved = std::mem::replace(&mut self.outer_generics, generics);
        for ti in &tr.items {
            if let syn::TraitItem::Fn(f) = ti {
                self.with_cfg(&f.attrs, |cx| {
                    cx.function(
                        &f.sig,
                        f.default.as_ref(),
                        &f.attrs,
                        module,
                        Some(self_ty.clone()),
                        Some(tr.ident.to_string()),
                        true,
                        test,
                    )
                });
            }
        }
        self.outer_generics = saved;
    }

    fn impl_items(
        &mut self,
        items: &[syn::ImplItem],
        module: &str,
        self_ty: &TypeRef,
        trait_name: &Option<String>,
        test: bool,
    ) {
        let first = self.out.fns.len();
        for ii in items {
            match ii {
                syn::ImplItem::Fn(f) => {
                    let t = test || crate::syntax::has_cfg_test(&f.attrs);
                    self.with_cfg(&f.attrs, |cx| {
                        cx.function(
                            &f.sig,
                            Some(&f.block),
                            &f.attrs,
                            module,
                            Some(self_ty.clone()),
                            trait_name.clone(),
                            false,
                            t,
                        )
                    });
                }
                syn::ImplItem::Macro(m) => {
                    let t = test || crate::syntax::has_cfg_test(&m.attrs);
                    self.with_cfg(&m.attrs, |cx| {
                        crate::macros::with_impl_items(&m.mac, |items| {
                            cx.impl_items(items, module, self_ty, trait_name, t)
                        })
                    });
                }
                _ => {}
            }
        }
        // `Self::Target` in the signatures of an impl that declares `type Target = X` is `X`
        // (the projection normalized as rustc does inside the impl).
        let assoc: Vec<(String, TypeRef)> = items
            .iter()
            .filter_map(|ii| match ii {
                syn::ImplItem::Type(t) => Some((t.ident.to_string(), type_ref(&t.ty))),
                _ => None,
            })
            .collect();
        if !assoc.is_empty() {
            for f in &mut self.out.fns[first..] {
                for (_, t) in &mut f.params {
                    *t = normalize_assoc(t, &assoc);
                }
                if let Some(r) = &mut f.ret {
                    *r = normalize_assoc(r, &assoc);
                }
            }
        }
    }

    fn use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>, module: &str) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(&p.tree, prefix, module);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let name = n.ident.to_string();
                let mut path = prefix.clone();
                if name != "self" {
                    path.push(name.clone());
                }
                let alias = if name == "self" {
                    prefix.last().cloned().unwrap_or_default()
                } else {
                    name
                };
                self.out.uses.push(UseDef {
                    module: module.to_string(),
                    alias,
                    path,
                    glob: false,
                    cfg: self.cfg.clone(),
                });
            }
            syn::UseTree::Rename(r) => {
                let mut path = prefix.clone();
                if r.ident != "self" {
                    path.push(r.ident.to_string());
                }
                self.out.uses.push(UseDef {
                    module: module.to_string(),
                    alias: r.rename.to_string(),
                    path,
                    glob: false,
                    cfg: self.cfg.clone(),
                });
            }
            syn::UseTree::Glob(_) => {
                self.out.uses.push(UseDef {
                    module: module.to_string(),
                    alias: String::new(),
                    path: prefix.clone(),
                    glob: true,
                    cfg: self.cfg.clone(),
                });
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(t, prefix, module);
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn function(
        &mut self,
        sig: &syn::Signature,
        block: Option<&syn::Block>,
        attrs: &[syn::Attribute],
        module: &str,
        self_ty: Option<TypeRef>,
        trait_name: Option<String>,
        in_trait: bool,
        test: bool,
    ) {
        let name = sig.ident.to_string();
        let path = match &self_ty {
            Some(t) => format!("{module}::{}::{name}", crate::ir::type_name(t)),
            None => format!("{module}::{name}"),
        };
        let mut has_self = false;
        let mut params = Vec::new();
        for input in &sig.inputs {
            match input {
                syn::FnArg::Receiver(_) => has_self = true,
                syn::FnArg::Typed(pt) => {
                    let ty = type_ref(&pt.ty);
                    match &*pt.pat {
                        syn::Pat::Ident(pi) => params.push((pi.ident.to_string(), ty)),
                        other => params.push((other.to_token_stream().to_string(), ty)),
                    }
                }
            }
        }
        let ret = match &sig.output {
            syn::ReturnType::Default => None,
            syn::ReturnType::Type(_, t) => Some(type_ref(t)),
        };
        let attr_names = attrs
            .iter()
            .map(|a| {
                let p = a.path();
                p.segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect::<Vec<_>>()
                    .join("::")
            })
            .filter(|n| n != "doc")
            .collect();
        let mut def = FnDef {
            path: path.clone().into(),
            name: name.clone().into(),
            module: module.to_string().into(),
            self_ty: self_ty.clone(),
            trait_name,
            in_trait,
            has_self,
            params,
            ret,
            is_async: sig.asyncness.is_some(),
            attrs: attr_names,
            span: self.map.of(sig),
            name_span: self.map.of(&sig.ident),
            body: None,
            test_only: test || self.test_only,
            accessor_of: None,
            generics: Vec::new(),
            captures: Vec::new(),
            foreign_entry: sig
                .abi
                .as_ref()
                .is_some_and(|a| a.name.as_ref().is_none_or(|n| n.value() != "Rust"))
                || attrs.iter().any(unmangled),
            allows_dead_code: attrs.iter().any(allows_dead_code),
            cfg: self.cfg.clone(),
        };
        let mut generics = generic_params(&sig.generics);
        for g in &self.outer_generics {
            add_bounds(&mut generics, &g.name, g.bounds.clone());
        }
        if !in_trait {
            // `where Self: Sized` on an impl's method: `Self` is the impl's type, not a parameter.
            generics.retain(|g| g.name != "Self");
        }
        def.generics = generics;
        if let Some(block) = block {
            def.accessor_of = accessor_field(block);
            let mut bl = BodyLowerer::new(self.map, self.edition, self.config, &def);
            let body = bl.lower_fn_body(block);
            let extra = bl.take_extra_fns();
            def.body = Some(body);
            let generics = def.generics.clone();
            self.out.fns.push(def);
            for mut f in extra {
                // Closures lowered as functions of their own see the same type parameters.
                f.generics = generics.clone();
                self.out.fns.push(f);
            }
            // Items nested in the body (fns inside fns).
            let nested: Vec<&syn::Item> = block
                .stmts
                .iter()
                .filter_map(|s| match s {
                    syn::Stmt::Item(i) => Some(i),
                    _ => None,
                })
                .collect();
            // Items nested in a body do not see the outer type parameters.
            let saved = std::mem::take(&mut self.outer_generics);
            for i in nested {
                self.item(i, module, test);
            }
            self.outer_generics = saved;
        } else {
            self.out.fns.push(def);
        }
    }
}

/// Trait bounds as paths, without `?Sized`-style relaxations.
fn trait_bounds(
    b: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
) -> Vec<Vec<String>> {
    b.iter()
        .filter_map(|b| match b {
            syn::TypeParamBound::Trait(t)
                if matches!(t.modifier, syn::TraitBoundModifier::None) =>
            {
                Some(path_segs(&t.path))
            }
            _ => None,
        })
        .collect()
}

/// Add bounds to the parameter `name`, creating it when it is not there yet.
fn add_bounds(gs: &mut Vec<GenericParam>, name: &str, bounds: Vec<Vec<String>>) {
    let g = match gs.iter().position(|g| g.name == name) {
        Some(i) => &mut gs[i],
        None => {
            gs.push(GenericParam {
                name: name.to_string(),
                bounds: Vec::new(),
            });
            gs.last_mut().expect("pushed above")
        }
    };
    for b in bounds {
        if !g.bounds.contains(&b) {
            g.bounds.push(b);
        }
    }
}

/// The type parameters of a generics list with their bounds, inline and from the `where`
/// clause (`where D: NicOps`, `where Self: Sized`).
fn generic_params(g: &syn::Generics) -> Vec<GenericParam> {
    let mut out = Vec::new();
    for p in g.type_params() {
        add_bounds(&mut out, &p.ident.to_string(), trait_bounds(&p.bounds));
    }
    if let Some(w) = &g.where_clause {
        for pred in &w.predicates {
            let syn::WherePredicate::Type(pt) = pred else {
                continue;
            };
            let syn::Type::Path(tp) = &pt.bounded_ty else {
                continue;
            };
            if tp.qself.is_none() {
                if let Some(id) = tp.path.get_ident() {
                    add_bounds(&mut out, &id.to_string(), trait_bounds(&pt.bounds));
                }
            }
        }
    }
    out
}

/// `&self.f`, `&self.a.b`, `self.f.clone()`, `Arc::clone(&self.f)` as a body's only expression.
fn accessor_field(block: &syn::Block) -> Option<Vec<Proj>> {
    if block.stmts.len() != 1 {
        return None;
    }
    let syn::Stmt::Expr(e, None) = &block.stmts[0] else {
        return None;
    };
    fn strip(e: &syn::Expr) -> &syn::Expr {
        match e {
            syn::Expr::Reference(r) => strip(&r.expr),
            syn::Expr::Paren(p) => strip(&p.expr),
            syn::Expr::MethodCall(m)
                if m.args.is_empty()
                    && matches!(m.method.to_string().as_str(), "clone" | "as_ref" | "deref") =>
            {
                strip(&m.receiver)
            }
            syn::Expr::Call(c) if c.args.len() == 1 => {
                if let syn::Expr::Path(p) = &*c.func {
                    let segs = path_segs(&p.path);
                    if segs.ends_with(&["Arc".into(), "clone".into()])
                        || segs.ends_with(&["Rc".into(), "clone".into()])
                    {
                        return strip(&c.args[0]);
                    }
                }
                e
            }
            _ => e,
        }
    }
    let mut projs = Vec::new();
    let mut cur = strip(e);
    loop {
        match cur {
            syn::Expr::Field(f) => {
                let name = match &f.member {
                    syn::Member::Named(i) => i.to_string(),
                    syn::Member::Unnamed(i) => i.index.to_string(),
                };
                projs.push(Proj::Field(name.into()));
                cur = &f.base;
            }
            syn::Expr::Path(p) if p.path.is_ident("self") => break,
            _ => return None,
        }
    }
    if projs.is_empty() {
        return None;
    }
    projs.reverse();
    Some(projs)
}

/// The statics a `lazy_static!` block declares.
fn lazy_statics(mac: &syn::Macro, map: &SpanMap) -> Vec<(String, TypeRef, crate::source::Span)> {
    use syn::parse::Parser;
    let parser = |input: syn::parse::ParseStream<'_>| -> syn::Result<Vec<(syn::Ident, syn::Type)>> {
        let mut out = Vec::new();
        while !input.is_empty() {
            let _attrs = input.call(syn::Attribute::parse_outer)?;
            let _vis: syn::Visibility = input.parse()?;
            let _: syn::Token![static] = input.parse()?;
            let _: syn::Token![ref] = input.parse()?;
            let name: syn::Ident = input.parse()?;
            let _: syn::Token![:] = input.parse()?;
            let ty: syn::Type = input.parse()?;
            let _: syn::Token![=] = input.parse()?;
            let _: syn::Expr = input.parse()?;
            let _: syn::Token![;] = input.parse()?;
            out.push((name, ty));
        }
        Ok(out)
    };
    match parser.parse2(mac.tokens.clone()) {
        Ok(v) => v
            .into_iter()
            .map(|(n, t)| (n.to_string(), type_ref(&t), map.of(&n)))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// `#[allow(dead_code)]` or `#[expect(dead_code)]` (with other lints beside it, too).
fn allows_dead_code(a: &syn::Attribute) -> bool {
    let syn::Meta::List(l) = &a.meta else {
        return false;
    };
    (l.path.is_ident("allow") || l.path.is_ident("expect"))
        && l.tokens.clone().into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == "dead_code",
            _ => false,
        })
}

/// `#[no_mangle]`, `#[export_name = ..]`, and their `#[unsafe(..)]` forms (edition 2024).
fn unmangled(a: &syn::Attribute) -> bool {
    let named = |p: &syn::Path| p.is_ident("no_mangle") || p.is_ident("export_name");
    if named(a.path()) {
        return true;
    }
    if !a.path().is_ident("unsafe") {
        return false;
    }
    let mut inner = false;
    let _ = a.parse_nested_meta(|m| {
        inner |= named(&m.path);
        if m.input.peek(syn::Token![=]) {
            let _: syn::Expr = m.value()?.parse()?;
        }
        Ok(())
    });
    inner
}

/// `ty` with `Self::Name` replaced by the impl's `type Name = ..` (`assoc`).
fn normalize_assoc(ty: &TypeRef, assoc: &[(String, TypeRef)]) -> TypeRef {
    match ty {
        TypeRef::Path { segs, args } => {
            if let [s, n] = segs.as_slice() {
                if s == "Self" && args.is_empty() {
                    if let Some((_, t)) = assoc.iter().find(|(a, _)| a == n) {
                        return t.clone();
                    }
                }
            }
            TypeRef::Path {
                segs: segs.clone(),
                args: args.iter().map(|a| normalize_assoc(a, assoc)).collect(),
            }
        }
        other => other
            .map_inner(|t| normalize_assoc(t, assoc))
            .unwrap_or_else(|| other.clone()),
    }
}
