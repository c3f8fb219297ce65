//! Items: structs and their derives, aliases, ordering and operator impls, functions.

use super::*;

impl Collector<'_> {
    pub(super) fn items(&mut self, items: &[syn::Item]) {
        for item in items {
            self.item(item);
        }
    }

    pub(super) fn item(&mut self, item: &syn::Item) {
        match item {
            syn::Item::Struct(s) => self.item_struct(s),
            syn::Item::Type(t) => self.facts.aliases.push(AliasDecl {
                name: t.ident.to_string(),
                params: t
                    .generics
                    .type_params()
                    .map(|p| p.ident.to_string())
                    .collect(),
                target: type_ref(&t.ty),
                span: self.span(&t.ident),
            }),
            syn::Item::Use(u) => self.use_tree(&u.tree),
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    let saved = self.in_test;
                    self.in_test |= crate::syntax::has_cfg_test(&m.attrs);
                    self.mods.push(m.ident.to_string());
                    self.items(inner);
                    self.mods.pop();
                    self.in_test = saved;
                }
            }
            syn::Item::Impl(i) => self.item_impl(i),
            syn::Item::Fn(f) => {
                self.facts.fns.push(FnSig {
                    self_ty: None,
                    name: f.sig.ident.to_string(),
                    ret: ret_type(&f.sig),
                    span: self.span(&f.sig.ident),
                });
                let saved = std::mem::take(&mut self.ctx);
                let saved_test = self.in_test;
                self.in_test |= crate::syntax::has_cfg_test(&f.attrs) || is_test_fn(&f.attrs);
                self.func(&f.sig, &f.block, None);
                self.in_test = saved_test;
                self.ctx = saved;
            }
            syn::Item::Trait(t) => {
                for ti in &t.items {
                    if let syn::TraitItem::Fn(f) = ti {
                        if let Some(b) = &f.default {
                            let saved = std::mem::take(&mut self.ctx);
                            self.func(&f.sig, b, Some(t.ident.to_string()));
                            self.ctx = saved;
                        }
                    }
                }
            }
            syn::Item::Const(c) => {
                self.scopes.push(Vec::new());
                self.fn_path = format!("{}::{}", self.module(), c.ident);
                self.expr(&c.expr, Parent::Other);
                self.scopes.pop();
            }
            syn::Item::Static(c) => {
                self.scopes.push(Vec::new());
                self.fn_path = format!("{}::{}", self.module(), c.ident);
                self.expr(&c.expr, Parent::Other);
                self.scopes.pop();
            }
            _ => {}
        }
    }

    pub(super) fn use_tree(&mut self, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => self.use_tree(&p.tree),
            syn::UseTree::Rename(r) => self.facts.aliases.push(AliasDecl {
                name: r.rename.to_string(),
                params: Vec::new(),
                target: TypeRef::named(&r.ident.to_string()),
                span: self.span(&r.rename),
            }),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(t);
                }
            }
            _ => {}
        }
    }

    pub(super) fn item_struct(&mut self, s: &syn::ItemStruct) {
        let name = s.ident.to_string();
        let mut fields = Vec::new();
        let tuple = matches!(s.fields, syn::Fields::Unnamed(_));
        for (i, f) in s.fields.iter().enumerate() {
            let fname = f
                .ident
                .as_ref()
                .map(|i| i.to_string())
                .unwrap_or_else(|| i.to_string());
            let ty = type_ref(&f.ty);
            let span = match &f.ident {
                Some(id) => self.span(id),
                None => self.span(&f.ty),
            };
            if matches!(ty.name.as_str(), "BTreeMap" | "BTreeSet") {
                if let Some(key) = ty.args.first() {
                    self.facts.sites.push(Site {
                        kind: SiteKind::OrderedKey {
                            container: ty.name.clone(),
                            holder: format!("{name}.{fname}"),
                        },
                        span: self.span(&f.ty),
                        operands: vec![Val::Local {
                            name: fname.clone(),
                            ty: Some(key.clone()),
                            decl_span: span,
                            init: None,
                            init_text: None,
                        }],
                        operand_spans: vec![span],
                        operand_texts: vec![fname.clone()],
                        fn_path: format!("{}::{name}", self.module()),
                        ctx: ImplCtx::default(),
                        fix_caveat: None,
                        in_index: false,
                    });
                }
            }
            fields.push(FieldDecl {
                name: fname,
                ty,
                span,
            });
        }
        let mut derive_ord = None;
        for attr in &s.attrs {
            if !attr.path().is_ident("derive") {
                continue;
            }
            let Ok(paths) =
                attr.parse_args_with(Punctuated::<syn::Path, syn::Token![,]>::parse_terminated)
            else {
                continue;
            };
            let ord = paths.iter().any(|p| {
                p.segments
                    .last()
                    .is_some_and(|s| s.ident == "PartialOrd" || s.ident == "Ord")
            });
            if !ord {
                continue;
            }
            let attr_span = self.span(attr);
            let mut edits = Vec::new();
            if let Some((new_attr, imp)) = fix::modular_ord(s, attr) {
                let mut del = attr_span;
                if new_attr.is_empty() {
                    // Remove the whole line when the attribute is alone on it.
                    let text = &self.file.text;
                    let end = del.end as usize;
                    let rest = &text[end.min(text.len())..];
                    let eol = rest.find('\n').map(|i| i + 1).unwrap_or(rest.len());
                    let line_start = text[..(del.start as usize).min(text.len())]
                        .rfind('\n')
                        .map(|i| i + 1)
                        .unwrap_or(0);
                    if rest[..eol].trim().is_empty()
                        && text[line_start..del.start as usize].trim().is_empty()
                    {
                        del = Span::new(del.file, line_start as u32, (end + eol) as u32);
                    }
                }
                edits.push(Edit {
                    span: del,
                    replacement: new_attr,
                });
                let end = self.span(s).end;
                edits.push(Edit {
                    span: Span::new(self.map.file, end, end),
                    replacement: format!("\n\n{}", imp.trim_end()),
                });
            }
            derive_ord = Some(DeriveOrd {
                span: attr_span,
                fix: edits,
            });
        }
        self.facts.structs.push(StructDecl {
            name,
            fields,
            tuple,
            span: self.span(&s.ident),
            derive_ord,
            path: self.module(),
        });
    }

    pub(super) fn item_impl(&mut self, i: &syn::ItemImpl) {
        let self_ty = type_ref(&i.self_ty).name;
        let trait_name = i
            .trait_
            .as_ref()
            .and_then(|(_, p, _)| p.segments.last())
            .map(|s| s.ident.to_string());
        if let (Some(tn), Some((_, tp, _))) = (&trait_name, &i.trait_) {
            match tn.as_str() {
                "PartialOrd" | "Ord" => {
                    let body = i.to_token_stream().to_string();
                    let modular = [
                        "wrapping_sub",
                        "overflowing_sub",
                        "as i32",
                        "as i64",
                        "before",
                        "after",
                        "seq_lt",
                        "seq_gt",
                        "seq_leq",
                        "seq_geq",
                        "serial_",
                    ]
                    .iter()
                    .any(|m| body.contains(m));
                    self.facts.ord_impls.push(OrdImpl {
                        self_ty: self_ty.clone(),
                        trait_name: tn.clone(),
                        modular,
                        span: self.span(&i.self_ty),
                    });
                }
                "Add" | "Sub" | "AddAssign" | "SubAssign" | "Neg" => {
                    let rhs = tp.segments.last().and_then(|s| match &s.arguments {
                        syn::PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| {
                            if let syn::GenericArgument::Type(t) = g {
                                Some(type_ref(t))
                            } else {
                                None
                            }
                        }),
                        _ => None,
                    });
                    let output = i.items.iter().find_map(|ii| match ii {
                        syn::ImplItem::Type(t) if t.ident == "Output" => Some(type_ref(&t.ty)),
                        _ => None,
                    });
                    self.facts.op_impls.push(OpImpl {
                        self_ty: self_ty.clone(),
                        trait_name: tn.clone(),
                        rhs: rhs.or_else(|| Some(TypeRef::named(&self_ty))),
                        output: output.map(|o| {
                            if o.name == "Self" {
                                TypeRef::named(&self_ty)
                            } else {
                                o
                            }
                        }),
                    });
                }
                _ => {}
            }
        }
        let saved = std::mem::replace(
            &mut self.ctx,
            ImplCtx {
                self_ty: Some(self_ty.clone()),
                trait_name: trait_name.clone(),
            },
        );
        for ii in &i.items {
            if let syn::ImplItem::Fn(f) = ii {
                let mut ret = ret_type(&f.sig);
                if let Some(r) = &mut ret {
                    if r.name == "Self" {
                        *r = TypeRef::named(&self_ty);
                    }
                }
                self.facts.fns.push(FnSig {
                    self_ty: Some(self_ty.clone()),
                    name: f.sig.ident.to_string(),
                    ret,
                    span: self.span(&f.sig.ident),
                });
                let saved_test = self.in_test;
                self.in_test |= crate::syntax::has_cfg_test(&f.attrs);
                self.func(&f.sig, &f.block, Some(self_ty.clone()));
                self.in_test = saved_test;
            }
        }
        self.ctx = saved;
    }

    pub(super) fn func(&mut self, sig: &syn::Signature, block: &syn::Block, owner: Option<String>) {
        let saved_path = std::mem::take(&mut self.fn_path);
        self.fn_path = match &owner {
            Some(o) => format!("{}::{o}::{}", self.module(), sig.ident),
            None => format!("{}::{}", self.module(), sig.ident),
        };
        let saved_scopes = std::mem::take(&mut self.scopes);
        self.scopes.push(Vec::new());
        for input in &sig.inputs {
            if let syn::FnArg::Typed(pt) = input {
                let mut ty = type_ref(&pt.ty);
                if ty.name == "Self" {
                    if let Some(o) = &owner {
                        ty = TypeRef::named(o);
                    }
                }
                self.bind_pat(&pt.pat, Some(ty), None);
            }
        }
        self.scopes.push(Vec::new());
        self.with_local_fns(&block.stmts, |c| {
            for s in &block.stmts {
                c.stmt(s);
            }
        });
        let fname = sig.ident.to_string();
        let returns_number = match &sig.output {
            syn::ReturnType::Type(_, t) => {
                let t = type_ref(t);
                let t = if t.name == "Option" || t.name == "Result" {
                    t.args.first().cloned().unwrap_or_default()
                } else {
                    t
                };
                matches!(t.name.as_str(), "u32" | "i32" | "Wrapping")
                    || names::is_seq_type_name(&t.name, &[], &[])
            }
            syn::ReturnType::Default => false,
        };
        if is_isn_fn_name(&fname) && !self.in_test && returns_number {
            if let Some(tail) = tail_expr(block) {
                // Everything the function computes feeds its result (`getrandom(&mut buf)`).
                let mut extra = Vec::new();
                for s in &block.stmts[..block.stmts.len() - 1] {
                    let e = match s {
                        syn::Stmt::Expr(e, _) => Some(e),
                        syn::Stmt::Local(l) => l.init.as_ref().map(|i| &*i.expr),
                        _ => None,
                    };
                    if let Some(e) = e {
                        extra.extend(
                            self.isn_sources(e)
                                .into_iter()
                                .filter(|s| !matches!(s, IsnSource::Constant(_))),
                        );
                    }
                }
                self.isn_site_with(&format!("{fname}()"), tail, extra);
            }
        }
        self.scopes = saved_scopes;
        self.fn_path = saved_path;
    }
}
