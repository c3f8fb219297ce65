//! Per-file collection: syn in, plain [`SeqFileFacts`] out.

use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;

use super::names;
use super::*;
use crate::diag::{Applicability, Edit};
use crate::fix;
use crate::parse::SpanMap;
use crate::source::SourceFile;

/// Deepest value tree kept for an operand; deeper parts become [`Val::Unknown`].
const MAX_VAL_DEPTH: usize = 12;
/// Methods whose closure argument receives an element of the receiver.
const ELEMENT_METHODS: &[&str] = &[
    "map",
    "and_then",
    "filter",
    "filter_map",
    "find",
    "find_map",
    "any",
    "all",
    "for_each",
    "position",
    "map_or",
    "map_or_else",
    "is_some_and",
    "is_none_or",
    "take_while",
    "skip_while",
    "inspect",
    "retain",
    "max_by_key",
    "min_by_key",
    "flat_map",
    "fold_while",
];
/// Deepest expression nesting walked.
const MAX_EXPR_DEPTH: usize = 160;
/// Largest value tree stored as a local's initializer.
const MAX_INIT_NODES: usize = 64;

/// Collect the sequence-number facts of one parsed file.
pub fn collect_file(file: &SourceFile, ast: &syn::File, map: &SpanMap) -> SeqFileFacts {
    let mut c = Collector {
        file,
        map: *map,
        facts: SeqFileFacts::default(),
        mods: Vec::new(),
        ctx: ImplCtx::default(),
        fn_path: String::new(),
        scopes: Vec::new(),
        in_test: false,
        depth: 0,
        overlay: Default::default(),
    };
    c.items(&ast.items);
    c.facts
}

#[derive(Clone)]
struct LocalInfo {
    name: String,
    ty: Option<TypeRef>,
    decl_span: Span,
    init: Option<Val>,
    init_text: Option<String>,
    sources: Vec<IsnSource>,
}

struct Collector<'a> {
    file: &'a SourceFile,
    map: SpanMap,
    facts: SeqFileFacts,
    mods: Vec<String>,
    ctx: ImplCtx,
    fn_path: String,
    scopes: Vec<Vec<LocalInfo>>,
    /// Inside `#[cfg(test)]`: deterministic initial sequence numbers are expected there.
    in_test: bool,
    /// Expression nesting of the walk.
    depth: usize,
    /// Closure parameters bound while a closure body is turned into a value
    /// (`opt.map(|s| s.0)`): name, value, declaration, description.
    overlay: std::cell::RefCell<Vec<(String, Val, Span, String)>>,
}

/// Where an expression's value goes, for casts that feed arithmetic or indexing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parent {
    Other,
    Arith,
    Index,
}

pub(super) fn type_ref(ty: &syn::Type) -> TypeRef {
    match ty {
        syn::Type::Path(p) => match p.path.segments.last() {
            Some(seg) => {
                let mut args = Vec::new();
                if let syn::PathArguments::AngleBracketed(a) = &seg.arguments {
                    for g in &a.args {
                        if let syn::GenericArgument::Type(t) = g {
                            args.push(type_ref(t));
                        }
                    }
                }
                TypeRef {
                    name: seg.ident.to_string(),
                    args,
                }
            }
            None => TypeRef::named("_"),
        },
        syn::Type::Reference(r) => type_ref(&r.elem),
        syn::Type::Paren(p) => type_ref(&p.elem),
        syn::Type::Group(g) => type_ref(&g.elem),
        syn::Type::Ptr(p) => TypeRef {
            name: "*".into(),
            args: vec![type_ref(&p.elem)],
        },
        syn::Type::Tuple(t) => TypeRef {
            name: "()".into(),
            args: t.elems.iter().map(type_ref).collect(),
        },
        syn::Type::Array(a) => TypeRef {
            name: "[]".into(),
            args: vec![type_ref(&a.elem)],
        },
        syn::Type::Slice(a) => TypeRef {
            name: "[]".into(),
            args: vec![type_ref(&a.elem)],
        },
        _ => TypeRef::named("_"),
    }
}

fn val_size(v: &Val) -> usize {
    1 + match v {
        Val::Local { init, .. } => init.as_deref().map_or(0, val_size),
        Val::Field { base, .. } => val_size(base),
        Val::Method { recv, args, .. } => val_size(recv) + args.iter().map(val_size).sum::<usize>(),
        Val::Call { args, .. } => args.iter().map(val_size).sum(),
        Val::Bin { l, r, .. } => val_size(l) + val_size(r),
        Val::Neg(x) => val_size(x),
        Val::Cast { inner, .. } => val_size(inner),
        _ => 0,
    }
}

fn strip(e: &syn::Expr) -> &syn::Expr {
    match e {
        syn::Expr::Paren(p) => strip(&p.expr),
        syn::Expr::Group(g) => strip(&g.expr),
        _ => e,
    }
}

/// The last name of a place expression: `self.tcb.snd_nxt` → `snd_nxt`, `x` → `x`.
fn place_name(e: &syn::Expr) -> Option<String> {
    match strip(e) {
        syn::Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        syn::Expr::Field(f) => match &f.member {
            syn::Member::Named(n) => Some(n.to_string()),
            syn::Member::Unnamed(i) => place_name(&f.base).map(|b| format!("{b}.{}", i.index)),
        },
        syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => place_name(&u.expr),
        syn::Expr::Index(i) => place_name(&i.expr),
        _ => None,
    }
}

/// A name that marks an initial sequence number (`isn`, `iss`, `initial_seq`, `gen_iss`).
pub(super) fn is_isn_name(name: &str) -> bool {
    let t = names::tokens(name);
    t.iter().any(|w| w == "isn" || w == "iss")
        || t.windows(2)
            .any(|w| w[0] == "initial" && (w[1] == "seq" || w[1] == "sequence"))
}

/// A function that makes a fresh sequence number: `gen_isn`, `initial_seq`, `random_seq_no`,
/// `generate_iss`.
pub(super) fn is_isn_fn_name(name: &str) -> bool {
    if is_isn_name(name) {
        return true;
    }
    let t = names::tokens(name);
    let seq = t
        .iter()
        .any(|w| matches!(w.as_str(), "seq" | "seqno" | "seqnum" | "sequence"));
    let fresh = t.iter().any(|w| {
        matches!(
            w.as_str(),
            "random" | "rand" | "gen" | "generate" | "initial" | "fresh" | "pick" | "choose"
        )
    });
    seq && fresh
}

/// The state an ISN generator keeps (`isn_counter`, `iss_seed`), not an ISN itself.
fn is_isn_state_name(name: &str) -> bool {
    names::tokens(name).last().is_some_and(|w| {
        matches!(
            w.as_str(),
            "counter"
                | "cnt"
                | "count"
                | "seed"
                | "secret"
                | "key"
                | "clock"
                | "timer"
                | "rng"
                | "state"
                | "generator"
                | "gen"
                | "offset"
                | "hasher"
        )
    })
}

fn classify_source_word(word: &str) -> Option<IsnSource> {
    let lw = word.to_ascii_lowercase();
    let toks = names::tokens(word);
    let has = |w: &str| toks.iter().any(|t| t == w);
    if matches!(
        lw.as_str(),
        "random"
            | "gen"
            | "gen_range"
            | "next_u32"
            | "next_u64"
            | "fill_bytes"
            | "getrandom"
            | "thread_rng"
            | "osrng"
            | "smallrng"
            | "stdrng"
            | "try_fill_bytes"
            | "random_range"
            | "fastrand"
            | "rand"
    ) || has("rng")
        || has("rand")
        || has("random")
    {
        return Some(IsnSource::Random(word.to_string()));
    }
    if matches!(
        lw.as_str(),
        "now"
            | "instant"
            | "systemtime"
            | "elapsed"
            | "clock"
            | "ticks"
            | "tick"
            | "jiffies"
            | "timestamp"
            | "as_micros"
            | "as_millis"
            | "as_nanos"
            | "uptime"
            | "monotonic"
            | "cycles"
            | "total_micros"
            | "total_millis"
            | "get_time"
            | "time"
    ) || has("clock")
        || has("ticks")
        || has("jiffies")
        || has("timestamp")
        || has("now")
    {
        return Some(IsnSource::Clock(word.to_string()));
    }
    if matches!(
        lw.as_str(),
        "hash"
            | "hasher"
            | "siphasher"
            | "siphash"
            | "siphasher13"
            | "siphasher24"
            | "hmac"
            | "secret"
            | "md5"
            | "sha256"
            | "sha1"
            | "digest"
            | "keyed_hash"
            | "finish"
    ) || has("hash")
        || has("secret")
        || has("hasher")
    {
        return Some(IsnSource::Hash(word.to_string()));
    }
    None
}

impl<'a> Collector<'a> {
    fn span(&self, node: &(impl Spanned + 'static)) -> Span {
        self.map.of(node)
    }

    fn text(&self, node: &(impl Spanned + 'static)) -> String {
        self.file.snippet(self.span(node)).to_string()
    }

    fn module(&self) -> String {
        let mut s = self.file.module_name();
        for m in &self.mods {
            s.push_str("::");
            s.push_str(m);
        }
        s
    }

    fn lookup(&self, name: &str) -> Option<&LocalInfo> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|l| l.name == name)
    }

    fn bind(&mut self, info: LocalInfo) {
        if let Some(s) = self.scopes.last_mut() {
            s.push(info);
        }
    }

    fn bind_pat(&mut self, pat: &syn::Pat, ty: Option<TypeRef>, init: Option<&syn::Expr>) {
        match pat {
            syn::Pat::Ident(pi) => {
                let (init_val, init_text, sources) = match init {
                    Some(e) => {
                        let v = self.val(e, 0);
                        let v = (val_size(&v) <= MAX_INIT_NODES).then_some(v);
                        (v, Some(self.text(e)), self.isn_sources(e))
                    }
                    None => (None, None, Vec::new()),
                };
                self.bind(LocalInfo {
                    name: pi.ident.to_string(),
                    ty,
                    decl_span: self.span(&pi.ident),
                    init: init_val,
                    init_text,
                    sources,
                });
                if let Some((_, sub)) = &pi.subpat {
                    self.bind_pat(sub, None, None);
                }
            }
            syn::Pat::Type(pt) => self.bind_pat(&pt.pat, Some(type_ref(&pt.ty)), init),
            syn::Pat::Reference(r) => self.bind_pat(&r.pat, ty, init),
            syn::Pat::Paren(p) => self.bind_pat(&p.pat, ty, init),
            syn::Pat::Tuple(t) => {
                let init = init.map(strip);
                match init {
                    // `let (a, b) = (x, y)`: element by element.
                    Some(syn::Expr::Tuple(te)) if te.elems.len() == t.elems.len() => {
                        for (p, e) in t.elems.iter().zip(te.elems.iter()) {
                            self.bind_pat(p, None, Some(e));
                        }
                    }
                    // `let (a, b) = pair`: `b` is `pair.1`, typed by the tuple's declaration.
                    Some(e) => {
                        let base = self.val(e, 0);
                        let text = self.text(e);
                        for (i, p) in t.elems.iter().enumerate() {
                            match p {
                                syn::Pat::Ident(pi) if pi.subpat.is_none() => {
                                    let v = Val::Field {
                                        base: Box::new(base.clone()),
                                        name: i.to_string(),
                                    };
                                    self.bind(LocalInfo {
                                        name: pi.ident.to_string(),
                                        ty: None,
                                        decl_span: self.span(&pi.ident),
                                        init: (val_size(&v) <= MAX_INIT_NODES).then_some(v),
                                        init_text: Some(format!("{text}.{i}")),
                                        sources: Vec::new(),
                                    });
                                }
                                _ => self.bind_pat(p, None, None),
                            }
                        }
                    }
                    None => {
                        for p in &t.elems {
                            self.bind_pat(p, None, None);
                        }
                    }
                }
            }
            syn::Pat::TupleStruct(t) => {
                // `Some(x) = opt`, `Ok(x) = res`: `x` holds what `opt` holds.
                let unwraps = t
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "Some" || s.ident == "Ok");
                if unwraps && t.elems.len() == 1 && init.is_some() {
                    self.bind_pat(&t.elems[0], None, init);
                } else {
                    for p in &t.elems {
                        self.bind_pat(p, None, None);
                    }
                }
            }
            syn::Pat::Struct(s) => {
                for f in &s.fields {
                    self.bind_pat(&f.pat, None, None);
                }
            }
            syn::Pat::Slice(s) => {
                for p in &s.elems {
                    self.bind_pat(p, None, None);
                }
            }
            syn::Pat::Or(o) => {
                if let Some(p) = o.cases.first() {
                    self.bind_pat(p, None, None);
                }
            }
            _ => {}
        }
    }

    // ---- items ----

    fn items(&mut self, items: &[syn::Item]) {
        for item in items {
            self.item(item);
        }
    }

    fn item(&mut self, item: &syn::Item) {
        match item {
            syn::Item::Struct(s) => self.item_struct(s),
            syn::Item::Type(t) => self.facts.aliases.push(AliasDecl {
                name: t.ident.to_string(),
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

    fn use_tree(&mut self, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => self.use_tree(&p.tree),
            syn::UseTree::Rename(r) => self.facts.aliases.push(AliasDecl {
                name: r.rename.to_string(),
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

    fn item_struct(&mut self, s: &syn::ItemStruct) {
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

    fn item_impl(&mut self, i: &syn::ItemImpl) {
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

    fn func(&mut self, sig: &syn::Signature, block: &syn::Block, owner: Option<String>) {
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
        for s in &block.stmts {
            self.stmt(s);
        }
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

    // ---- statements and expressions ----

    fn block(&mut self, b: &syn::Block) {
        self.scopes.push(Vec::new());
        for s in &b.stmts {
            self.stmt(s);
        }
        self.scopes.pop();
    }

    fn stmt(&mut self, s: &syn::Stmt) {
        match s {
            syn::Stmt::Local(l) => {
                let init = l.init.as_ref().map(|i| &*i.expr);
                if let Some(init) = init {
                    self.expr(init, Parent::Other);
                    if let Some((_, els)) = &l.init.as_ref().and_then(|i| i.diverge.as_ref()) {
                        self.expr(els, Parent::Other);
                    }
                }
                if let (Some(name), Some(init)) = (pat_name(&l.pat), init) {
                    if is_isn_name(&name) || names::is_seq_name(&name, &[], &[]) {
                        let declared = match &l.pat {
                            syn::Pat::Type(pt) => Some(type_ref(&pt.ty)),
                            _ => None,
                        };
                        let place = declared.map(|ty| Val::Local {
                            name: name.clone(),
                            ty: Some(ty),
                            decl_span: self.span(&l.pat),
                            init: None,
                            init_text: None,
                        });
                        self.isn_site_at(&name, init, place);
                    }
                }
                self.bind_pat(&l.pat, None, init);
            }
            syn::Stmt::Item(i) => {
                let saved_ctx = std::mem::take(&mut self.ctx);
                self.item(i);
                self.ctx = saved_ctx;
            }
            syn::Stmt::Expr(e, _) => self.expr(e, Parent::Other),
            syn::Stmt::Macro(m) => self.mac(&m.mac),
        }
    }

    fn mac(&mut self, m: &syn::Macro) {
        if let Ok(args) =
            m.parse_body_with(Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
        {
            for a in &args {
                self.expr(a, Parent::Other);
            }
        }
    }

    fn scoped(&mut self, f: impl FnOnce(&mut Self)) {
        self.scopes.push(Vec::new());
        f(self);
        self.scopes.pop();
    }

    fn expr(&mut self, e: &syn::Expr, parent: Parent) {
        // Long operator chains nest without delimiters; stop descending well before the stack
        // could run out.
        if self.depth > MAX_EXPR_DEPTH {
            return;
        }
        self.depth += 1;
        self.expr_inner(e, parent);
        self.depth -= 1;
    }

    fn expr_inner(&mut self, e: &syn::Expr, parent: Parent) {
        match e {
            syn::Expr::Binary(b) => self.binary(e, b, parent),
            syn::Expr::Assign(a) => {
                self.expr(&a.right, Parent::Other);
                self.expr(&a.left, Parent::Other);
                if let Some(name) = place_name(&a.left) {
                    if is_isn_name(&name) || names::is_seq_name(&name, &[], &[]) {
                        let place = self.val(&a.left, 0);
                        self.isn_site_at(&name, &a.right, Some(place));
                    }
                    self.backward_assign(&name, &a.left, &a.right);
                }
            }
            syn::Expr::Unary(u) => {
                if matches!(u.op, syn::UnOp::Neg(_)) {
                    let v = self.val(&u.expr, 0);
                    self.push_site(SiteKind::Neg, e, vec![(&*u.expr, v)], None, parent);
                }
                self.expr(&u.expr, parent);
            }
            syn::Expr::Cast(c) => {
                if parent != Parent::Other {
                    let ty = type_ref(&c.ty);
                    if matches!(
                        ty.name.as_str(),
                        "usize" | "u64" | "i64" | "u128" | "i128" | "isize"
                    ) {
                        let v = self.val(&c.expr, 0);
                        self.push_site(
                            SiteKind::CastArith(ty.name.clone()),
                            e,
                            vec![(&*c.expr, v)],
                            Some(Applicability::HasPlaceholders),
                            parent,
                        );
                    }
                }
                self.expr(&c.expr, Parent::Other);
            }
            syn::Expr::Index(i) => {
                self.expr(&i.expr, Parent::Other);
                self.expr(&i.index, Parent::Index);
            }
            syn::Expr::Paren(p) => self.expr(&p.expr, parent),
            syn::Expr::Group(g) => self.expr(&g.expr, parent),
            syn::Expr::MethodCall(m) => self.method_call(e, m),
            syn::Expr::Call(c) => {
                self.call(e, c);
                self.expr(&c.func, Parent::Other);
                for a in &c.args {
                    self.expr(a, Parent::Other);
                }
            }
            syn::Expr::Closure(c) => self.scoped(|s| {
                for p in &c.inputs {
                    s.bind_pat(p, None, None);
                }
                s.expr(&c.body, Parent::Other);
            }),
            syn::Expr::Block(b) => self.scoped(|s| s.block(&b.block)),
            syn::Expr::Unsafe(b) => self.scoped(|s| s.block(&b.block)),
            syn::Expr::Async(b) => self.scoped(|s| s.block(&b.block)),
            syn::Expr::Const(b) => self.scoped(|s| s.block(&b.block)),
            syn::Expr::TryBlock(b) => self.scoped(|s| s.block(&b.block)),
            syn::Expr::Loop(l) => self.scoped(|s| s.block(&l.body)),
            syn::Expr::While(w) => self.scoped(|s| {
                s.expr(&w.cond, Parent::Other);
                s.block(&w.body);
            }),
            syn::Expr::ForLoop(f) => {
                self.expr(&f.expr, Parent::Other);
                // `for i in a..b`: `i` starts as `a` (a literal start makes it a counter).
                let start = match strip(&f.expr) {
                    syn::Expr::Range(r) => r.start.as_deref(),
                    _ => None,
                };
                self.scoped(|s| {
                    s.bind_pat(&f.pat, None, start);
                    s.block(&f.body);
                });
            }
            syn::Expr::If(i) => self.scoped(|s| {
                s.expr(&i.cond, Parent::Other);
                s.block(&i.then_branch);
                if let Some((_, els)) = &i.else_branch {
                    s.expr(els, Parent::Other);
                }
            }),
            syn::Expr::Let(l) => {
                self.expr(&l.expr, Parent::Other);
                self.bind_pat(&l.pat, None, Some(&l.expr));
            }
            syn::Expr::Match(m) => {
                self.expr(&m.expr, Parent::Other);
                for arm in &m.arms {
                    self.scoped(|s| {
                        s.bind_pat(&arm.pat, None, Some(&m.expr));
                        if let Some((_, g)) = &arm.guard {
                            s.expr(g, Parent::Other);
                        }
                        s.expr(&arm.body, Parent::Other);
                    });
                }
            }
            syn::Expr::Struct(s) => {
                for f in &s.fields {
                    self.expr(&f.expr, Parent::Other);
                    if let syn::Member::Named(n) = &f.member {
                        let name = n.to_string();
                        if is_isn_name(&name) || names::is_seq_name(&name, &[], &[]) {
                            let owner = Val::Call {
                                path: s
                                    .path
                                    .segments
                                    .iter()
                                    .map(|x| x.ident.to_string())
                                    .collect(),
                                args: Vec::new(),
                            };
                            let place = Val::Field {
                                base: Box::new(owner),
                                name: name.clone(),
                            };
                            // A generator's counter starting at a constant in its constructor
                            // (`IsnGen { isn: 0, .. }` in `new`) is its initial state, not an
                            // initial sequence number; a constructor call is not a number.
                            let fn_name = self.fn_path.rsplit("::").next().unwrap_or("");
                            let ctor = matches!(fn_name, "new" | "default" | "const_new")
                                || fn_name.starts_with("new_")
                                || fn_name.starts_with("with_");
                            let literal = matches!(strip(&f.expr), syn::Expr::Lit(_));
                            let built = matches!(strip(&f.expr), syn::Expr::Call(c)
                                if matches!(&*c.func, syn::Expr::Path(p)
                                    if p.path.segments.len() >= 2
                                        && p.path.segments[p.path.segments.len() - 2]
                                            .ident
                                            .to_string()
                                            .starts_with(|ch: char| ch.is_uppercase())));
                            if !(built || ctor && literal) {
                                self.isn_site_at(&name, &f.expr, Some(place));
                            }
                        }
                    }
                }
                if let Some(r) = &s.rest {
                    self.expr(r, Parent::Other);
                }
            }
            syn::Expr::Field(f) => self.expr(&f.base, Parent::Other),
            syn::Expr::Reference(r) => self.expr(&r.expr, parent),
            syn::Expr::Return(r) => {
                if let Some(x) = &r.expr {
                    self.expr(x, Parent::Other);
                }
            }
            syn::Expr::Break(r) => {
                if let Some(x) = &r.expr {
                    self.expr(x, Parent::Other);
                }
            }
            syn::Expr::Try(t) => self.expr(&t.expr, parent),
            syn::Expr::Await(a) => self.expr(&a.base, Parent::Other),
            syn::Expr::Tuple(t) => {
                for x in &t.elems {
                    self.expr(x, Parent::Other);
                }
            }
            syn::Expr::Array(t) => {
                for x in &t.elems {
                    self.expr(x, Parent::Other);
                }
            }
            syn::Expr::Repeat(r) => self.expr(&r.expr, Parent::Other),
            syn::Expr::Range(r) => {
                if let Some(x) = &r.start {
                    self.expr(x, parent);
                }
                if let Some(x) = &r.end {
                    self.expr(x, parent);
                }
            }
            syn::Expr::Macro(m) => self.mac(&m.mac),
            _ => {}
        }
    }

    fn binary(&mut self, e: &syn::Expr, b: &syn::ExprBinary, parent: Parent) {
        use syn::BinOp as B;
        let (l, r) = (&*b.left, &*b.right);
        match b.op {
            B::Lt(_) | B::Le(_) | B::Gt(_) | B::Ge(_) => {
                let op = match b.op {
                    B::Lt(_) => BinOp::Lt,
                    B::Le(_) => BinOp::Le,
                    B::Gt(_) => BinOp::Gt,
                    _ => BinOp::Ge,
                };
                let (lv, rv) = (self.val(l, 0), self.val(r, 0));
                self.push_site(
                    SiteKind::Compare(op),
                    e,
                    vec![(l, lv), (r, rv)],
                    None,
                    parent,
                );
                self.expr(l, Parent::Other);
                self.expr(r, Parent::Other);
            }
            B::Add(_) | B::Sub(_) => {
                let op = if matches!(b.op, B::Add(_)) {
                    BinOp::Add
                } else {
                    BinOp::Sub
                };
                // `a as T - b as T`: one site for the difference of two casts.
                if let (syn::Expr::Cast(lc), syn::Expr::Cast(rc), BinOp::Sub) =
                    (strip(l), strip(r), op)
                {
                    let ty = type_ref(&lc.ty);
                    if ty == type_ref(&rc.ty)
                        && matches!(ty.name.as_str(), "usize" | "u64" | "i64" | "isize")
                    {
                        let (lv, rv) = (self.val(&lc.expr, 0), self.val(&rc.expr, 0));
                        self.push_site(
                            SiteKind::CastArith(ty.name.clone()),
                            e,
                            vec![(&*lc.expr, lv), (&*rc.expr, rv)],
                            Some(Applicability::MaybeIncorrect),
                            parent,
                        );
                        self.expr(&lc.expr, Parent::Other);
                        self.expr(&rc.expr, Parent::Other);
                        return;
                    }
                }
                let (lv, rv) = (self.val(l, 0), self.val(r, 0));
                self.push_site(SiteKind::Arith(op), e, vec![(l, lv), (r, rv)], None, parent);
                self.expr(l, Parent::Arith);
                self.expr(r, Parent::Arith);
            }
            B::AddAssign(_) | B::SubAssign(_) => {
                let op = if matches!(b.op, B::AddAssign(_)) {
                    BinOp::Add
                } else {
                    BinOp::Sub
                };
                let (lv, rv) = (self.val(l, 0), self.val(r, 0));
                self.push_site(
                    SiteKind::AssignArith(op),
                    e,
                    vec![(l, lv), (r, rv)],
                    None,
                    parent,
                );
                if op == BinOp::Sub {
                    if let Some(name) = place_name(l) {
                        self.facts.backward_writes.push(BackwardWrite {
                            name,
                            span: self.span(e),
                            how: format!("`{}`", self.text(e)),
                        });
                    }
                }
                self.expr(l, Parent::Other);
                self.expr(r, Parent::Arith);
            }
            B::Mul(_) | B::Div(_) | B::Rem(_) | B::Shl(_) | B::Shr(_) => {
                self.expr(l, Parent::Arith);
                self.expr(r, Parent::Arith);
            }
            _ => {
                self.expr(l, Parent::Other);
                self.expr(r, Parent::Other);
            }
        }
    }

    fn backward_assign(&mut self, name: &str, left: &syn::Expr, right: &syn::Expr) {
        let how = match strip(right) {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(i),
                ..
            }) if i.base10_digits() == "0" => Some("reset to 0".to_string()),
            syn::Expr::MethodCall(m)
                if m.method == "wrapping_sub"
                    && place_name(&m.receiver).as_deref() == Some(name) =>
            {
                Some(format!("`{}`", self.text(right)))
            }
            syn::Expr::Binary(b)
                if matches!(b.op, syn::BinOp::Sub(_))
                    && place_name(&b.left).as_deref() == Some(name) =>
            {
                Some(format!("`{}`", self.text(right)))
            }
            _ => None,
        };
        if let Some(how) = how {
            let span = self.span(left).to(self.span(right));
            self.facts.backward_writes.push(BackwardWrite {
                name: name.to_string(),
                span,
                how,
            });
        }
    }

    fn method_call(&mut self, e: &syn::Expr, m: &syn::ExprMethodCall) {
        let name = m.method.to_string();
        match (name.as_str(), m.args.len()) {
            ("max" | "min" | "cmp" | "partial_cmp", 1) | ("clamp", 2) => {
                let mut ops = vec![(&*m.receiver, self.val(&m.receiver, 0))];
                for a in &m.args {
                    ops.push((a, self.val(a, 0)));
                }
                let caveat = matches!(name.as_str(), "max" | "min" | "clamp")
                    .then_some(Applicability::MaybeIncorrect);
                self.push_site(
                    SiteKind::MethodCmp(name.clone()),
                    e,
                    ops,
                    caveat,
                    Parent::Other,
                );
            }
            ("sort_by_key" | "sort_unstable_by_key" | "sort_by_cached_key", 1) => {
                if let syn::Expr::Closure(c) = strip(&m.args[0]) {
                    self.scopes.push(Vec::new());
                    let elem = self.elem_of(&m.receiver);
                    let text = format!("an element of `{}`", self.text(&m.receiver));
                    for (i, p) in c.inputs.iter().enumerate() {
                        match p {
                            syn::Pat::Ident(pi) if i == 0 => self.bind(LocalInfo {
                                name: pi.ident.to_string(),
                                ty: None,
                                decl_span: self.span(&pi.ident),
                                init: Some(elem.clone()),
                                init_text: Some(text.clone()),
                                sources: Vec::new(),
                            }),
                            _ => self.bind_pat(p, None, None),
                        }
                    }
                    let v = self.val(&c.body, 0);
                    self.push_site(
                        SiteKind::SortKey(name.clone()),
                        &c.body,
                        vec![(&*c.body, v)],
                        Some(Applicability::HasPlaceholders),
                        Parent::Other,
                    );
                    self.scopes.pop();
                }
            }
            ("sort" | "sort_unstable", 0) => {
                let v = self.val(&m.receiver, 0);
                self.push_site(
                    SiteKind::Sort(name.clone()),
                    e,
                    vec![(&*m.receiver, v)],
                    Some(Applicability::HasPlaceholders),
                    Parent::Other,
                );
            }
            ("fetch_sub", _) => {
                if let Some(n) = place_name(&m.receiver) {
                    self.facts.backward_writes.push(BackwardWrite {
                        name: n,
                        span: self.span(e),
                        how: format!("`{}`", self.text(e)),
                    });
                }
            }
            ("store", _) => {
                if let (Some(n), Some(syn::Expr::Lit(l))) =
                    (place_name(&m.receiver), m.args.first().map(strip))
                {
                    if l.to_token_stream().to_string() == "0" {
                        self.facts.backward_writes.push(BackwardWrite {
                            name: n,
                            span: self.span(e),
                            how: "reset to 0".into(),
                        });
                    }
                }
            }
            _ => {}
        }
        self.expr(&m.receiver, Parent::Other);
        let elem_method = ELEMENT_METHODS.contains(&name.as_str());
        for a in &m.args {
            match strip(a) {
                // `opt.map(|s| s.0)`, `segs.iter().any(|s| s.seq == x)`: the closure's parameter
                // is an element of the receiver.
                syn::Expr::Closure(c) if elem_method => {
                    let elem = self.elem_of(&m.receiver);
                    self.closure_with_elem(c, elem, &m.receiver);
                }
                _ => self.expr(a, Parent::Other),
            }
        }
    }

    /// `recv`'s element, for closures handed to `map`, `any`, `sort_by_key`…
    fn elem_of(&self, recv: &syn::Expr) -> Val {
        Val::Method {
            recv: Box::new(self.val(recv, 1)),
            name: ELEM_NAME.into(),
            args: Vec::new(),
        }
    }

    fn closure_with_elem(&mut self, c: &syn::ExprClosure, elem: Val, recv: &syn::Expr) {
        let text = format!("an element of `{}`", self.text(recv));
        self.scoped(|s| {
            for (i, p) in c.inputs.iter().enumerate() {
                let p = match p {
                    syn::Pat::Reference(r) => &*r.pat,
                    syn::Pat::Type(t) => &*t.pat,
                    p => p,
                };
                match p {
                    syn::Pat::Ident(pi) if i == 0 && pi.subpat.is_none() => s.bind(LocalInfo {
                        name: pi.ident.to_string(),
                        ty: None,
                        decl_span: s.span(&pi.ident),
                        init: Some(elem.clone()),
                        init_text: Some(text.clone()),
                        sources: Vec::new(),
                    }),
                    _ => s.bind_pat(p, None, None),
                }
            }
            s.expr(&c.body, Parent::Other);
        });
    }

    fn call(&mut self, e: &syn::Expr, c: &syn::ExprCall) {
        let syn::Expr::Path(p) = strip(&c.func) else {
            return;
        };
        let segs: Vec<String> = p
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let Some(last) = segs.last() else {
            return;
        };
        let is_cmp = (last == "max" || last == "min")
            && c.args.len() == 2
            && (segs.len() == 1 || segs.iter().any(|s| s == "cmp"));
        if !is_cmp {
            return;
        }
        let ops: Vec<(&syn::Expr, Val)> = c.args.iter().map(|a| (a, self.val(a, 0))).collect();
        self.push_site(
            SiteKind::FnCmp(last.clone()),
            e,
            ops,
            Some(Applicability::MaybeIncorrect),
            Parent::Other,
        );
    }

    fn push_site(
        &mut self,
        kind: SiteKind,
        whole: &syn::Expr,
        operands: Vec<(&syn::Expr, Val)>,
        fix_caveat: Option<Applicability>,
        parent: Parent,
    ) {
        let operand_spans = operands.iter().map(|(e, _)| self.span(*e)).collect();
        let operand_texts = operands.iter().map(|(e, _)| self.text(*e)).collect();
        self.facts.sites.push(Site {
            kind,
            span: self.span(whole),
            operands: operands.into_iter().map(|(_, v)| v).collect(),
            operand_spans,
            operand_texts,
            fn_path: self.fn_path.clone(),
            ctx: self.ctx.clone(),
            fix_caveat,
            in_index: parent == Parent::Index,
        });
    }

    // ---- values ----

    fn val(&self, e: &syn::Expr, depth: usize) -> Val {
        if depth > MAX_VAL_DEPTH {
            return Val::Unknown;
        }
        let d = depth + 1;
        match e {
            syn::Expr::Lit(_) => Val::Lit,
            syn::Expr::Path(p) => {
                if p.path.segments.len() == 1 {
                    let name = p.path.segments[0].ident.to_string();
                    if name == "self" {
                        return Val::SelfRef {
                            ty: self.ctx.self_ty.clone(),
                        };
                    }
                    let bound = self
                        .overlay
                        .borrow()
                        .iter()
                        .rev()
                        .find(|o| o.0 == name)
                        .cloned();
                    if let Some((name, init, decl_span, text)) = bound {
                        return Val::Local {
                            name,
                            ty: None,
                            decl_span,
                            init: Some(Box::new(init)),
                            init_text: Some(text),
                        };
                    }
                    if let Some(l) = self.lookup(&name) {
                        return Val::Local {
                            name: l.name.clone(),
                            ty: l.ty.clone(),
                            decl_span: l.decl_span,
                            init: l.init.clone().map(Box::new),
                            init_text: l.init_text.clone(),
                        };
                    }
                    if name
                        .chars()
                        .all(|c| c.is_uppercase() || c == '_' || c.is_ascii_digit())
                    {
                        return Val::Const(name);
                    }
                    return Val::Path(name);
                }
                let segs: Vec<String> = p
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect();
                let last = segs.last().cloned().unwrap_or_default();
                if last
                    .chars()
                    .all(|c| c.is_uppercase() || c == '_' || c.is_ascii_digit())
                {
                    Val::Const(segs.join("::"))
                } else {
                    Val::Path(segs.join("::"))
                }
            }
            syn::Expr::Field(f) => Val::Field {
                base: Box::new(self.val(&f.base, d)),
                name: match &f.member {
                    syn::Member::Named(n) => n.to_string(),
                    syn::Member::Unnamed(i) => i.index.to_string(),
                },
            },
            syn::Expr::MethodCall(m) => {
                let recv = self.val(&m.receiver, d);
                let name = m.method.to_string();
                // `opt.map(|s| s.0 as u32)`: the value is the closure's body, with `s` an
                // element of the receiver.
                if MAPPING_METHODS.contains(&name.as_str()) {
                    if let Some(syn::Expr::Closure(c)) = m.args.last().map(strip) {
                        let param = c.inputs.first().and_then(|p| match p {
                            syn::Pat::Ident(pi) => Some(pi),
                            syn::Pat::Reference(r) => match &*r.pat {
                                syn::Pat::Ident(pi) => Some(pi),
                                _ => None,
                            },
                            _ => None,
                        });
                        if let (Some(pi), 1) = (param, c.inputs.len()) {
                            let elem = Val::Method {
                                recv: Box::new(recv.clone()),
                                name: ELEM_NAME.into(),
                                args: Vec::new(),
                            };
                            let text = format!("an element of `{}`", self.text(&*m.receiver));
                            self.overlay.borrow_mut().push((
                                pi.ident.to_string(),
                                elem,
                                self.span(&pi.ident),
                                text,
                            ));
                            let body = self.val(&c.body, d);
                            self.overlay.borrow_mut().pop();
                            return Val::Method {
                                recv: Box::new(recv),
                                name,
                                args: vec![body],
                            };
                        }
                    }
                }
                Val::Method {
                    recv: Box::new(recv),
                    name,
                    args: m.args.iter().map(|a| self.val(a, d)).collect(),
                }
            }
            syn::Expr::Call(c) => match strip(&c.func) {
                syn::Expr::Path(p) => Val::Call {
                    path: p
                        .path
                        .segments
                        .iter()
                        .map(|s| s.ident.to_string())
                        .collect(),
                    args: c.args.iter().map(|a| self.val(a, d)).collect(),
                },
                _ => Val::Unknown,
            },
            syn::Expr::Binary(b) => {
                use syn::BinOp as B;
                let op = match b.op {
                    B::Add(_) => BinOp::Add,
                    B::Sub(_) => BinOp::Sub,
                    B::Lt(_) => BinOp::Lt,
                    B::Le(_) => BinOp::Le,
                    B::Gt(_) => BinOp::Gt,
                    B::Ge(_) => BinOp::Ge,
                    B::Eq(_) => BinOp::Eq,
                    B::Ne(_) => BinOp::Ne,
                    B::BitXor(_) => BinOp::BitXor,
                    B::BitOr(_) => BinOp::BitOr,
                    B::BitAnd(_) => BinOp::BitAnd,
                    _ => BinOp::Other,
                };
                Val::Bin {
                    op,
                    l: Box::new(self.val(&b.left, d)),
                    r: Box::new(self.val(&b.right, d)),
                }
            }
            syn::Expr::Unary(u) => match u.op {
                syn::UnOp::Neg(_) => Val::Neg(Box::new(self.val(&u.expr, d))),
                syn::UnOp::Deref(_) => self.val(&u.expr, d),
                _ => Val::Unknown,
            },
            syn::Expr::Paren(p) => self.val(&p.expr, d),
            syn::Expr::Group(g) => self.val(&g.expr, d),
            syn::Expr::Reference(r) => self.val(&r.expr, d),
            syn::Expr::Cast(c) => Val::Cast {
                inner: Box::new(self.val(&c.expr, d)),
                ty: type_ref(&c.ty),
            },
            syn::Expr::Try(t) => Val::Method {
                recv: Box::new(self.val(&t.expr, d)),
                name: "unwrap".into(),
                args: Vec::new(),
            },
            _ => Val::Unknown,
        }
    }

    // ---- initial sequence numbers ----

    /// Every source word an expression reads, following locals to their initializers.
    fn isn_sources(&self, e: &syn::Expr) -> Vec<IsnSource> {
        let mut out = Vec::new();
        let mut only_const = true;
        self.sources_rec(e, &mut out, &mut only_const, 0);
        if only_const {
            out.push(IsnSource::Constant(self.text(e)));
        }
        out.sort();
        out.dedup();
        out
    }

    fn sources_rec(
        &self,
        e: &syn::Expr,
        out: &mut Vec<IsnSource>,
        only_const: &mut bool,
        d: usize,
    ) {
        if d > 32 {
            *only_const = false;
            return;
        }
        let d = d + 1;
        let word = |w: &str, out: &mut Vec<IsnSource>| {
            if let Some(s) = classify_source_word(w) {
                out.push(s);
            }
        };
        match e {
            syn::Expr::Lit(_) => {}
            syn::Expr::Path(p) => {
                let segs: Vec<String> = p
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect();
                for s in &segs {
                    word(s, out);
                }
                if segs.len() == 1 {
                    if let Some(l) = self.lookup(&segs[0]) {
                        if l.sources
                            .iter()
                            .any(|s| !matches!(s, IsnSource::Constant(_)))
                        {
                            *only_const = false;
                        }
                        out.extend(
                            l.sources
                                .iter()
                                .filter(|s| !matches!(s, IsnSource::Constant(_)))
                                .cloned(),
                        );
                        if l.init.is_none() && l.sources.is_empty() {
                            *only_const = false;
                        }
                        return;
                    }
                    let n = &segs[0];
                    if n.chars()
                        .all(|c| c.is_uppercase() || c == '_' || c.is_ascii_digit())
                    {
                        // A constant, or a static counter: both are recorded.
                        out.push(IsnSource::Counter(n.clone()));
                        return;
                    }
                }
                let last = segs.last().map(String::as_str).unwrap_or("");
                if !last
                    .chars()
                    .all(|c| c.is_uppercase() || c == '_' || c.is_ascii_digit())
                {
                    *only_const = false;
                }
            }
            syn::Expr::Field(f) => {
                *only_const = false;
                if let syn::Member::Named(n) = &f.member {
                    let n = n.to_string();
                    word(&n, out);
                    out.push(IsnSource::Counter(n));
                }
                self.sources_rec(&f.base, out, &mut true, d);
            }
            syn::Expr::MethodCall(m) => {
                *only_const = false;
                word(&m.method.to_string(), out);
                self.sources_rec(&m.receiver, out, &mut true, d);
                for a in &m.args {
                    self.sources_rec(a, out, &mut true, d);
                }
            }
            syn::Expr::Call(c) => {
                *only_const = false;
                self.sources_rec(&c.func, out, &mut true, d);
                for a in &c.args {
                    self.sources_rec(a, out, &mut true, d);
                }
            }
            syn::Expr::Macro(m) => {
                *only_const = false;
                if let Some(s) = m.mac.path.segments.last() {
                    word(&s.ident.to_string(), out);
                }
            }
            syn::Expr::Binary(b) => {
                self.sources_rec(&b.left, out, only_const, d);
                self.sources_rec(&b.right, out, only_const, d);
            }
            syn::Expr::Unary(u) => self.sources_rec(&u.expr, out, only_const, d),
            syn::Expr::Paren(p) => self.sources_rec(&p.expr, out, only_const, d),
            syn::Expr::Group(p) => self.sources_rec(&p.expr, out, only_const, d),
            syn::Expr::Cast(p) => self.sources_rec(&p.expr, out, only_const, d),
            syn::Expr::Reference(p) => self.sources_rec(&p.expr, out, only_const, d),
            syn::Expr::Try(p) => self.sources_rec(&p.expr, out, only_const, d),
            syn::Expr::Block(b) => {
                if let Some(t) = tail_expr(&b.block) {
                    self.sources_rec(t, out, only_const, d);
                } else {
                    *only_const = false;
                }
            }
            _ => *only_const = false,
        }
    }

    /// `target_val` is the place written, when it can be told.
    fn isn_site_at(&mut self, target: &str, e: &syn::Expr, target_val: Option<Val>) {
        if is_isn_state_name(target) || self.in_test {
            return;
        }
        if !is_isn_name(target) {
            // A random value written straight into a sequence number is an initial one.
            let direct = direct_random(e);
            if direct.is_empty() || mentions_narrow_int(e) {
                return;
            }
            // `(rng.next_u32() & 0xff) as u8`: a narrower sequence space (802.15.4, DNS ids).
            if let syn::Expr::Cast(c) = strip(e) {
                let t = type_ref(&c.ty);
                if !matches!(t.name.as_str(), "u32" | "i32") {
                    return;
                }
            }
            let mut sources = self.isn_sources(e);
            sources.retain(|s| !matches!(s, IsnSource::Constant(_)));
            self.facts.isn_sites.push(IsnSite {
                target: target.to_string(),
                span: self.span(e),
                fn_path: self.fn_path.clone(),
                sources,
                text: self.text(e),
                fix: fix::isn_value(),
                only_random: true,
                target_val,
                value_val: Some(self.val(e, 0)),
            });
            return;
        }
        self.isn_site_with(target, e, Vec::new());
    }

    fn isn_site_with(&mut self, target: &str, e: &syn::Expr, extra: Vec<IsnSource>) {
        // `next_iss = next_iss.wrapping_add(n)` updates the generator's state; the ISN is
        // where that state is read.
        if self
            .isn_sources(e)
            .iter()
            .any(|s| matches!(s, IsnSource::Counter(c) if c == target))
        {
            return;
        }
        // `self.iss = iss;` after `let iss = …;`: the value was judged where it was computed.
        if let syn::Expr::Path(p) = strip(e) {
            if let Some(id) = p.path.get_ident() {
                let n = id.to_string();
                if is_isn_name(&n) && self.lookup(&n).is_some() {
                    return;
                }
            }
        }
        let mut sources = self.isn_sources(e);
        if !extra.is_empty() {
            sources.retain(|s| !matches!(s, IsnSource::Constant(_)));
            sources.extend(extra);
            sources.sort();
            sources.dedup();
        }
        self.facts.isn_sites.push(IsnSite {
            target: target.to_string(),
            span: self.span(e),
            fn_path: self.fn_path.clone(),
            sources,
            text: self.text(e),
            fix: fix::isn_value(),
            only_random: false,
            target_val: None,
            value_val: None,
        });
    }
}

/// The expression names an integer type narrower than 32 bits (`rand::random::<u16>()`,
/// `AtomicU16::new(..)`): a different sequence space (RTP, 802.15.4).
fn mentions_narrow_int(e: &syn::Expr) -> bool {
    fn walk(ts: proc_macro2::TokenStream) -> bool {
        ts.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => matches!(
                i.to_string().as_str(),
                "u8" | "u16" | "i8" | "i16" | "AtomicU8" | "AtomicU16" | "AtomicI8" | "AtomicI16"
            ),
            proc_macro2::TokenTree::Group(g) => walk(g.stream()),
            _ => false,
        })
    }
    walk(e.to_token_stream())
}

/// Random-source words written in the expression itself (not through locals).
fn direct_random(e: &syn::Expr) -> Vec<String> {
    fn walk(ts: proc_macro2::TokenStream, out: &mut Vec<String>) {
        let mut skip_args = false;
        for t in ts {
            match t {
                proc_macro2::TokenTree::Ident(i) => {
                    let w = i.to_string();
                    // Calls of an ISN generator are judged at the generator, arguments
                    // (the RNG handed to it) included.
                    skip_args = is_isn_fn_name(&w);
                    if !skip_args && matches!(classify_source_word(&w), Some(IsnSource::Random(_)))
                    {
                        out.push(w);
                    }
                }
                proc_macro2::TokenTree::Group(g) => {
                    if !std::mem::take(&mut skip_args) {
                        walk(g.stream(), out);
                    }
                }
                _ => skip_args = false,
            }
        }
    }
    let mut out = Vec::new();
    walk(e.to_token_stream(), &mut out);
    out
}

/// `#[test]`, `#[tokio::test]` and the like.
fn is_test_fn(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| a.path().segments.last().is_some_and(|s| s.ident == "test"))
}

fn ret_type(sig: &syn::Signature) -> Option<TypeRef> {
    match &sig.output {
        syn::ReturnType::Type(_, t) => Some(type_ref(t)),
        syn::ReturnType::Default => None,
    }
}

fn tail_expr(b: &syn::Block) -> Option<&syn::Expr> {
    match b.stmts.last() {
        Some(syn::Stmt::Expr(e, None)) => Some(e),
        _ => None,
    }
}

fn pat_name(p: &syn::Pat) -> Option<String> {
    match p {
        syn::Pat::Ident(i) => Some(i.ident.to_string()),
        syn::Pat::Type(t) => pat_name(&t.pat),
        _ => None,
    }
}
