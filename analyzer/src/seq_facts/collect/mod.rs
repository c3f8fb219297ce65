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

mod exprs;
mod isn;
mod items;
mod values;

use isn::{is_isn_fn_name, is_isn_name};

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
        positive: Vec::new(),
        local_fns: Vec::new(),
    };
    c.items(&ast.items);
    c.facts.pack();
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
    /// Expressions known to be above zero where the walk is: the left operands of an `&&`
    /// chain and an `if` condition say so for what they guard (`x > 0 && y == x - 1`).
    positive: Vec<String>,
    /// The function items each enclosing block declares (visible in all of the block,
    /// nested functions included).
    local_fns: Vec<Vec<FnSig>>,
}

/// An expression's tokens without spacing, to compare two spellings of one expression.
fn norm(e: &syn::Expr) -> String {
    let mut s = quote::ToTokens::to_token_stream(e).to_string();
    s.retain(|c| !c.is_whitespace());
    s
}

/// What a condition, when true, shows to be above zero: `x > 0`, `x >= 1`, `x != 0` (and
/// the same written the other way round), through `&&`.
fn positives(cond: &syn::Expr, out: &mut Vec<String>) {
    let lit = |e: &syn::Expr, v: &str| matches!(strip(e), syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) if i.base10_digits() == v);
    let syn::Expr::Binary(b) = strip(cond) else {
        return;
    };
    let (l, r) = (&*b.left, &*b.right);
    match b.op {
        syn::BinOp::And(_) => {
            positives(l, out);
            positives(r, out);
        }
        syn::BinOp::Gt(_) | syn::BinOp::Ne(_) if lit(r, "0") => out.push(norm(l)),
        syn::BinOp::Ge(_) if lit(r, "1") => out.push(norm(l)),
        syn::BinOp::Lt(_) | syn::BinOp::Ne(_) if lit(l, "0") => out.push(norm(r)),
        syn::BinOp::Le(_) if lit(l, "1") => out.push(norm(r)),
        _ => {}
    }
}

impl Collector<'_> {
    /// Walk the statements of a block with the function items it declares in scope.
    fn with_local_fns(&mut self, stmts: &[syn::Stmt], f: impl FnOnce(&mut Self)) {
        let fns: Vec<FnSig> = stmts
            .iter()
            .filter_map(|s| match s {
                syn::Stmt::Item(syn::Item::Fn(f)) => Some(FnSig {
                    self_ty: None,
                    name: f.sig.ident.to_string(),
                    ret: ret_type(&f.sig),
                    span: self.span(&f.sig.ident),
                }),
                _ => None,
            })
            .collect();
        if fns.is_empty() {
            return f(self);
        }
        self.local_fns.push(fns);
        f(self);
        self.local_fns.pop();
    }

    /// Walk `f` with what `cond` shows to be above zero known.
    fn guarded(&mut self, cond: &syn::Expr, f: impl FnOnce(&mut Self)) {
        let before = self.positive.len();
        positives(cond, &mut self.positive);
        f(self);
        self.positive.truncate(before);
    }

    /// Walk `f` knowing nothing to be above zero: a loop body or a closure runs again, or
    /// later, after what was tested may have changed.
    fn unguarded(&mut self, f: impl FnOnce(&mut Self)) {
        let saved = std::mem::take(&mut self.positive);
        f(self);
        self.positive = saved;
    }

    /// `place` is written: what a guard said about it (or about a part of it) no longer holds.
    /// Entries are blanked, not removed, so that `guarded` still truncates to its own mark.
    fn written(&mut self, place: &syn::Expr) {
        let w = norm(place);
        for p in &mut self.positive {
            if *p == w || p.starts_with(&format!("{w}.")) {
                p.clear();
            }
        }
    }

    /// `x - 1` where `x` is known to be above zero: it cannot wrap.
    fn guarded_decrement(&self, l: &syn::Expr, r: &syn::Expr) -> bool {
        matches!(strip(r), syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) if i.base10_digits() == "1")
            && {
                let l = norm(l);
                !l.is_empty() && self.positive.contains(&l)
            }
    }
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
        Val::Join(vs) => vs.iter().map(val_size).sum(),
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
