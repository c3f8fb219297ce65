//! Byte ranges of syn nodes without printing them.
//!
//! `syn::spanned::Spanned::span` turns the whole node back into tokens and joins the first and
//! last span: linear in the node's size, so taking the span of every expression of a body is
//! quadratic in its nesting. The functions here find a node's first and last token by walking
//! down its leftmost and rightmost children instead (linear in the depth). Variants not
//! modelled fall back to `Spanned`; the unit test checks both agree on real sources.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{
    Attribute, Block, Expr, ImplItem, Item, Member, PathArguments, ReturnType, Signature, Stmt,
    TraitItem, Visibility,
};

/// First and last token of a node.
pub type Ends = (Span, Span);

fn whole<T: Spanned + ?Sized>(t: &T) -> Ends {
    let s = t.span();
    (s, s)
}

fn attr_first(attrs: &[Attribute]) -> Option<Span> {
    // Inner attributes (`#![allow(..)]` inside a fn or mod body) are printed inside.
    attrs
        .iter()
        .find(|a| matches!(a.style, syn::AttrStyle::Outer))
        .map(|a| a.pound_token.span)
}

fn vis_first(v: &Visibility) -> Option<Span> {
    match v {
        Visibility::Public(p) => Some(p.span),
        Visibility::Restricted(r) => Some(r.pub_token.span),
        Visibility::Inherited => None,
    }
}

fn label_first(l: &Option<syn::Label>) -> Option<Span> {
    l.as_ref().map(|l| l.name.apostrophe)
}

fn block_ends(b: &Block) -> Ends {
    (b.brace_token.span.open(), b.brace_token.span.close())
}

fn path_first(p: &syn::Path) -> Span {
    match (&p.leading_colon, p.segments.first()) {
        (Some(c), _) => c.spans[0],
        (None, Some(s)) => s.ident.span(),
        (None, None) => p.span(),
    }
}

fn path_last(p: &syn::Path) -> Span {
    match p.segments.last() {
        Some(s) => match &s.arguments {
            PathArguments::None => s.ident.span(),
            PathArguments::AngleBracketed(a) => a.gt_token.span,
            PathArguments::Parenthesized(_) => s.arguments.span(),
        },
        None => p.span(),
    }
}

fn type_last(t: &syn::Type) -> Span {
    match t {
        syn::Type::Path(p) if p.qself.is_none() => path_last(&p.path),
        _ => t.span(),
    }
}

/// First and last token of an expression (outer attributes included, as syn prints them).
pub fn expr(e: &Expr) -> Ends {
    (expr_first(e), expr_last(e))
}

fn expr_first(e: &Expr) -> Span {
    let attrs: &[Attribute] = match e {
        Expr::Array(x) => &x.attrs,
        Expr::Assign(x) => &x.attrs,
        Expr::Async(x) => &x.attrs,
        Expr::Await(x) => &x.attrs,
        Expr::Binary(x) => &x.attrs,
        Expr::Block(x) => &x.attrs,
        Expr::Break(x) => &x.attrs,
        Expr::Call(x) => &x.attrs,
        Expr::Cast(x) => &x.attrs,
        Expr::Closure(x) => &x.attrs,
        Expr::Const(x) => &x.attrs,
        Expr::Continue(x) => &x.attrs,
        Expr::Field(x) => &x.attrs,
        Expr::ForLoop(x) => &x.attrs,
        Expr::If(x) => &x.attrs,
        Expr::Index(x) => &x.attrs,
        Expr::Let(x) => &x.attrs,
        Expr::Lit(x) => &x.attrs,
        Expr::Loop(x) => &x.attrs,
        Expr::Macro(x) => &x.attrs,
        Expr::Match(x) => &x.attrs,
        Expr::MethodCall(x) => &x.attrs,
        Expr::Paren(x) => &x.attrs,
        Expr::Path(x) => &x.attrs,
        Expr::Range(x) => &x.attrs,
        Expr::Reference(x) => &x.attrs,
        Expr::Repeat(x) => &x.attrs,
        Expr::Return(x) => &x.attrs,
        Expr::Struct(x) => &x.attrs,
        Expr::Try(x) => &x.attrs,
        Expr::Tuple(x) => &x.attrs,
        Expr::Unary(x) => &x.attrs,
        Expr::Unsafe(x) => &x.attrs,
        Expr::While(x) => &x.attrs,
        _ => return whole(e).0,
    };
    if let Some(s) = attr_first(attrs) {
        return s;
    }
    match e {
        Expr::Array(x) => x.bracket_token.span.open(),
        Expr::Assign(x) => expr_first(&x.left),
        Expr::Async(x) => x.async_token.span,
        Expr::Await(x) => expr_first(&x.base),
        Expr::Binary(x) => expr_first(&x.left),
        Expr::Block(x) => label_first(&x.label).unwrap_or(x.block.brace_token.span.open()),
        Expr::Break(x) => x.break_token.span,
        Expr::Call(x) => expr_first(&x.func),
        Expr::Cast(x) => expr_first(&x.expr),
        Expr::Closure(x) => {
            if x.lifetimes.is_some() {
                return whole(e).0;
            }
            x.constness
                .map(|t| t.span)
                .or(x.movability.map(|t| t.span))
                .or(x.asyncness.map(|t| t.span))
                .or(x.capture.map(|t| t.span))
                .unwrap_or(x.or1_token.span)
        }
        Expr::Const(x) => x.const_token.span,
        Expr::Continue(x) => x.continue_token.span,
        Expr::Field(x) => expr_first(&x.base),
        Expr::ForLoop(x) => label_first(&x.label).unwrap_or(x.for_token.span),
        Expr::If(x) => x.if_token.span,
        Expr::Index(x) => expr_first(&x.expr),
        Expr::Let(x) => x.let_token.span,
        Expr::Lit(x) => x.lit.span(),
        Expr::Loop(x) => label_first(&x.label).unwrap_or(x.loop_token.span),
        Expr::Macro(x) => path_first(&x.mac.path),
        Expr::Match(x) => x.match_token.span,
        Expr::MethodCall(x) => expr_first(&x.receiver),
        Expr::Paren(x) => x.paren_token.span.open(),
        Expr::Path(x) => match &x.qself {
            Some(q) => q.lt_token.span,
            None => path_first(&x.path),
        },
        Expr::Range(x) => match &x.start {
            Some(s) => expr_first(s),
            None => x.limits.span(),
        },
        Expr::Reference(x) => x.and_token.span,
        Expr::Repeat(x) => x.bracket_token.span.open(),
        Expr::Return(x) => x.return_token.span,
        Expr::Struct(x) => match &x.qself {
            Some(q) => q.lt_token.span,
            None => path_first(&x.path),
        },
        Expr::Try(x) => expr_first(&x.expr),
        Expr::Tuple(x) => x.paren_token.span.open(),
        Expr::Unary(x) => x.op.span(),
        Expr::Unsafe(x) => x.unsafe_token.span,
        Expr::While(x) => label_first(&x.label).unwrap_or(x.while_token.span),
        _ => whole(e).0,
    }
}

fn expr_last(e: &Expr) -> Span {
    match e {
        Expr::Array(x) => x.bracket_token.span.close(),
        Expr::Assign(x) => expr_last(&x.right),
        Expr::Async(x) => x.block.brace_token.span.close(),
        Expr::Await(x) => x.await_token.span,
        Expr::Binary(x) => expr_last(&x.right),
        Expr::Block(x) => x.block.brace_token.span.close(),
        Expr::Break(x) => match (&x.expr, &x.label) {
            (Some(v), _) => expr_last(v),
            (None, Some(l)) => l.ident.span(),
            (None, None) => x.break_token.span,
        },
        Expr::Call(x) => x.paren_token.span.close(),
        Expr::Cast(x) => type_last(&x.ty),
        Expr::Closure(x) => expr_last(&x.body),
        Expr::Const(x) => x.block.brace_token.span.close(),
        Expr::Continue(x) => match &x.label {
            Some(l) => l.ident.span(),
            None => x.continue_token.span,
        },
        Expr::Field(x) => match &x.member {
            Member::Named(i) => i.span(),
            Member::Unnamed(i) => i.span,
        },
        Expr::ForLoop(x) => x.body.brace_token.span.close(),
        Expr::If(x) => match &x.else_branch {
            Some((_, els)) => expr_last(els),
            None => x.then_branch.brace_token.span.close(),
        },
        Expr::Index(x) => x.bracket_token.span.close(),
        Expr::Let(x) => expr_last(&x.expr),
        Expr::Lit(x) => x.lit.span(),
        Expr::Loop(x) => x.body.brace_token.span.close(),
        Expr::Macro(x) => macro_last(&x.mac),
        Expr::Match(x) => x.brace_token.span.close(),
        Expr::MethodCall(x) => x.paren_token.span.close(),
        Expr::Paren(x) => x.paren_token.span.close(),
        Expr::Path(x) => path_last(&x.path),
        Expr::Range(x) => match &x.end {
            Some(v) => expr_last(v),
            None => x.limits.span(),
        },
        Expr::Reference(x) => expr_last(&x.expr),
        Expr::Repeat(x) => x.bracket_token.span.close(),
        Expr::Return(x) => match &x.expr {
            Some(v) => expr_last(v),
            None => x.return_token.span,
        },
        Expr::Struct(x) => x.brace_token.span.close(),
        Expr::Try(x) => x.question_token.span,
        Expr::Tuple(x) => x.paren_token.span.close(),
        Expr::Unary(x) => expr_last(&x.expr),
        Expr::Unsafe(x) => x.block.brace_token.span.close(),
        Expr::While(x) => x.body.brace_token.span.close(),
        _ => whole(e).1,
    }
}

fn macro_last(m: &syn::Macro) -> Span {
    match &m.delimiter {
        syn::MacroDelimiter::Paren(p) => p.span.close(),
        syn::MacroDelimiter::Brace(b) => b.span.close(),
        syn::MacroDelimiter::Bracket(b) => b.span.close(),
    }
}

/// First and last token of a statement.
pub fn stmt(s: &Stmt) -> Ends {
    match s {
        Stmt::Local(l) => local(l),
        Stmt::Item(i) => item(i),
        // A lone `;` is an empty verbatim expression with its semicolon.
        Stmt::Expr(Expr::Verbatim(ts), Some(semi)) if ts.is_empty() => (semi.span, semi.span),
        Stmt::Expr(e, semi) => {
            let (a, b) = expr(e);
            (a, semi.map(|t| t.span).unwrap_or(b))
        }
        Stmt::Macro(m) => {
            let first = attr_first(&m.attrs).unwrap_or_else(|| path_first(&m.mac.path));
            let last = m.semi_token.map(|t| t.span).unwrap_or(macro_last(&m.mac));
            (first, last)
        }
    }
}

/// First and last token of a `let` statement.
pub fn local(l: &syn::Local) -> Ends {
    (
        attr_first(&l.attrs).unwrap_or(l.let_token.span),
        l.semi_token.span,
    )
}

/// First and last token of a block.
pub fn block(b: &Block) -> Ends {
    block_ends(b)
}

fn sig_first(s: &Signature) -> Span {
    s.constness
        .map(|t| t.span)
        .or(s.asyncness.map(|t| t.span))
        .or(s.unsafety.map(|t| t.span))
        .or(s.abi.as_ref().map(|a| a.extern_token.span))
        .unwrap_or(s.fn_token.span)
}

/// First and last token of a function signature.
pub fn signature(s: &Signature) -> Ends {
    if s.generics.where_clause.is_some() {
        return whole(s);
    }
    let last = match &s.output {
        ReturnType::Default => s.paren_token.span.close(),
        ReturnType::Type(_, t) => type_last(t),
    };
    (sig_first(s), last)
}

/// First and last token of a pattern; kinds not modelled are printed.
pub fn pat(p: &syn::Pat) -> Ends {
    use syn::Pat;
    let (attrs, ends): (&[Attribute], Ends) = match p {
        Pat::Ident(x) if x.subpat.is_none() => (
            &x.attrs,
            (
                x.by_ref
                    .map(|t| t.span)
                    .or(x.mutability.map(|t| t.span))
                    .unwrap_or(x.ident.span()),
                x.ident.span(),
            ),
        ),
        Pat::Wild(x) => (&x.attrs, (x.underscore_token.span, x.underscore_token.span)),
        Pat::Path(x) if x.qself.is_none() => (&x.attrs, (path_first(&x.path), path_last(&x.path))),
        Pat::TupleStruct(x) if x.qself.is_none() => {
            (&x.attrs, (path_first(&x.path), x.paren_token.span.close()))
        }
        Pat::Struct(x) if x.qself.is_none() => {
            (&x.attrs, (path_first(&x.path), x.brace_token.span.close()))
        }
        Pat::Tuple(x) => (
            &x.attrs,
            (x.paren_token.span.open(), x.paren_token.span.close()),
        ),
        Pat::Reference(x) => (&x.attrs, (x.and_token.span, pat(&x.pat).1)),
        _ => return whole(p),
    };
    match attr_first(attrs) {
        Some(a) => (a, ends.1),
        None => ends,
    }
}

/// First and last token of an item; kinds not modelled are printed.
pub fn item(i: &Item) -> Ends {
    match i {
        Item::Fn(f) => {
            let first = attr_first(&f.attrs)
                .or(vis_first(&f.vis))
                .unwrap_or_else(|| sig_first(&f.sig));
            (first, f.block.brace_token.span.close())
        }
        Item::Impl(x) => {
            let first = attr_first(&x.attrs)
                .or(x.defaultness.map(|t| t.span))
                .or(x.unsafety.map(|t| t.span))
                .unwrap_or(x.impl_token.span);
            (first, x.brace_token.span.close())
        }
        Item::Mod(m) => {
            let first = attr_first(&m.attrs)
                .or(vis_first(&m.vis))
                .or(m.unsafety.map(|t| t.span))
                .unwrap_or(m.mod_token.span);
            let last = match (&m.content, &m.semi) {
                (Some((b, _)), _) => b.span.close(),
                (None, Some(s)) => s.span,
                (None, None) => return whole(i),
            };
            (first, last)
        }
        Item::Trait(t) => {
            let first = attr_first(&t.attrs)
                .or(vis_first(&t.vis))
                .or(t.unsafety.map(|x| x.span))
                .or(t.auto_token.map(|x| x.span))
                .unwrap_or(t.trait_token.span);
            (first, t.brace_token.span.close())
        }
        _ => whole(i),
    }
}

/// First and last token of an impl item.
pub fn impl_item(i: &ImplItem) -> Ends {
    match i {
        ImplItem::Fn(f) => impl_fn(f),
        _ => whole(i),
    }
}

/// First and last token of a method in an impl.
pub fn impl_fn(f: &syn::ImplItemFn) -> Ends {
    let first = attr_first(&f.attrs)
        .or(vis_first(&f.vis))
        .or(f.defaultness.map(|t| t.span))
        .unwrap_or_else(|| sig_first(&f.sig));
    (first, f.block.brace_token.span.close())
}

/// First and last token of a trait item.
pub fn trait_item(i: &TraitItem) -> Ends {
    match i {
        TraitItem::Fn(f) => {
            let first = attr_first(&f.attrs).unwrap_or_else(|| sig_first(&f.sig));
            let last = match (&f.default, &f.semi_token) {
                (Some(b), _) => b.brace_token.span.close(),
                (None, Some(s)) => s.span,
                (None, None) => return whole(i),
            };
            (first, last)
        }
        _ => whole(i),
    }
}

/// First and last token of any node: the fast path for the node kinds above, printing for the
/// rest.
pub fn of<T: Spanned + 'static>(node: &T) -> Ends {
    use std::any::Any;
    let any = node as &dyn Any;
    if let Some(e) = any.downcast_ref::<Expr>() {
        return expr(e);
    }
    if let Some(e) = any.downcast_ref::<Box<Expr>>() {
        return expr(e);
    }
    if let Some(s) = any.downcast_ref::<Stmt>() {
        return stmt(s);
    }
    if let Some(b) = any.downcast_ref::<Block>() {
        return block(b);
    }
    if let Some(l) = any.downcast_ref::<syn::Local>() {
        return local(l);
    }
    if let Some(i) = any.downcast_ref::<Item>() {
        return item(i);
    }
    if let Some(i) = any.downcast_ref::<ImplItem>() {
        return impl_item(i);
    }
    if let Some(f) = any.downcast_ref::<syn::ImplItemFn>() {
        return impl_fn(f);
    }
    if let Some(t) = any.downcast_ref::<TraitItem>() {
        return trait_item(t);
    }
    if let Some(s) = any.downcast_ref::<Signature>() {
        return signature(s);
    }
    if let Some(i) = any.downcast_ref::<proc_macro2::Ident>() {
        return (i.span(), i.span());
    }
    if let Some(p) = any.downcast_ref::<syn::Pat>() {
        return pat(p);
    }
    if let Some(p) = any.downcast_ref::<Box<syn::Pat>>() {
        return pat(p);
    }
    if let Some(m) = any.downcast_ref::<syn::Macro>() {
        return (path_first(&m.path), macro_last(m));
    }
    if let Some(t) = any.downcast_ref::<syn::token::Await>() {
        return (t.span, t.span);
    }
    whole(node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::visit::Visit;

    struct Check {
        checked: usize,
        bad: Vec<String>,
    }

    fn eq(a: Ends, b: Span) -> bool {
        a.0.byte_range().start == b.byte_range().start && a.1.byte_range().end == b.byte_range().end
    }

    impl Check {
        fn check(&mut self, fast: Ends, slow: Span, what: &str) {
            self.checked += 1;
            if !eq(fast, slow) {
                self.bad.push(format!(
                    "{what}: fast {:?}..{:?} slow {:?}",
                    fast.0.byte_range(),
                    fast.1.byte_range(),
                    slow.byte_range()
                ));
            }
        }
    }

    impl<'ast> Visit<'ast> for Check {
        fn visit_expr(&mut self, e: &'ast Expr) {
            self.check(expr(e), e.span(), "expr");
            syn::visit::visit_expr(self, e);
        }
        fn visit_stmt(&mut self, s: &'ast Stmt) {
            self.check(stmt(s), s.span(), "stmt");
            syn::visit::visit_stmt(self, s);
        }
        fn visit_item(&mut self, i: &'ast Item) {
            self.check(item(i), i.span(), "item");
            syn::visit::visit_item(self, i);
        }
        fn visit_impl_item(&mut self, i: &'ast ImplItem) {
            self.check(impl_item(i), i.span(), "impl item");
            syn::visit::visit_impl_item(self, i);
        }
        fn visit_trait_item(&mut self, i: &'ast TraitItem) {
            self.check(trait_item(i), i.span(), "trait item");
            syn::visit::visit_trait_item(self, i);
        }
        fn visit_signature(&mut self, s: &'ast Signature) {
            self.check(signature(s), s.span(), "signature");
            syn::visit::visit_signature(self, s);
        }
        fn visit_pat(&mut self, p: &'ast syn::Pat) {
            self.check(pat(p), p.span(), "pat");
            syn::visit::visit_pat(self, p);
        }
        fn visit_block(&mut self, b: &'ast Block) {
            self.check(block(b), b.span(), "block");
            syn::visit::visit_block(self, b);
        }
    }

    /// Every node of every Rust file of this repository (sources and fixtures): the fast ends
    /// are the printed ones.
    #[test]
    fn fast_spans_agree_with_printing() {
        // `LOCKSTEP_FAST_SPAN_DIR` points the check at another tree (the cargo registry).
        let root = match std::env::var_os("LOCKSTEP_FAST_SPAN_DIR") {
            Some(d) => std::path::PathBuf::from(d),
            None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
        };
        let mut stack = vec![root];
        let mut c = Check {
            checked: 0,
            bad: Vec::new(),
        };
        let mut files = 0;
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
            entries.sort();
            for p in entries {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if p.is_dir() {
                    if name != "target" && !name.starts_with('.') {
                        stack.push(p);
                    }
                } else if name.ends_with(".rs") {
                    let Ok(text) = std::fs::read_to_string(&p) else {
                        continue;
                    };
                    let Ok(ast) = syn::parse_file(&text) else {
                        continue;
                    };
                    files += 1;
                    let before = c.bad.len();
                    c.visit_file(&ast);
                    for b in &mut c.bad[before..] {
                        *b = format!("{}: {b}", p.display());
                    }
                }
            }
        }
        assert!(files > 100, "only {files} files found");
        assert!(c.checked > 50_000, "only {} nodes checked", c.checked);
        assert!(
            c.bad.is_empty(),
            "{} mismatches:\n{}",
            c.bad.len(),
            c.bad[..c.bad.len().min(20)].join("\n")
        );
    }
}
