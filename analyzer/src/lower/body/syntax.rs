//! Pure syntax helpers over syn trees: no lowering state.

use super::*;

/// Every identifier in a token stream (`self` included), into `out`.
pub(super) fn idents_of(ts: proc_macro2::TokenStream, out: &mut BTreeSet<String>) {
    for tt in ts {
        match tt {
            proc_macro2::TokenTree::Ident(i) => {
                out.insert(i.to_string());
            }
            proc_macro2::TokenTree::Group(g) => idents_of(g.stream(), out),
            _ => {}
        }
    }
}

/// The segments of a path expression. A qualified path without a trait (`<Device>::new`,
/// `<T>::f`) names the type's item, like `Device::new`; with a trait (`<T as Ops>::f`) it names
/// the trait's item, like `Ops::f`.
pub(super) fn expr_path_segs(p: &syn::ExprPath) -> Vec<String> {
    let segs = path_segs(&p.path);
    let Some(q) = p.qself.as_ref().filter(|q| q.position == 0) else {
        return segs;
    };
    let mut ty = &*q.ty;
    while let syn::Type::Paren(t) = ty {
        ty = &t.elem;
    }
    match ty {
        syn::Type::Path(tp) if tp.qself.is_none() => {
            let mut out = path_segs(&tp.path);
            out.extend(segs);
            out
        }
        // `<[T]>::len`, `<&str>::from`: no type the analysis names.
        _ => segs,
    }
}

pub(super) fn strip_parens(e: &syn::Expr) -> &syn::Expr {
    match e {
        syn::Expr::Paren(p) => strip_parens(&p.expr),
        syn::Expr::Group(g) => strip_parens(&g.expr),
        _ => e,
    }
}

pub(super) fn unreachable_stmt() -> ! {
    unreachable!("checked by the caller")
}

/// `Some(x)` / `Ok(x)` (with `ref`/`mut` allowed on `x`).
/// A place that is one element of a collection already, inside an `Option` the way `get`,
/// `first` or an iterator's `next` return it.
pub(super) fn names_element(p: &Place) -> bool {
    match p.proj.last() {
        Some(Proj::Index(_)) => true,
        Some(Proj::Method(m)) => crate::lock_api::ELEM_METHODS.contains(&m.as_str()),
        _ => false,
    }
}

/// `Some(x)`, one binding.
pub(super) fn some_binding(pat: &syn::Pat) -> bool {
    some_or_ok_binding(pat)
        && matches!(pat, syn::Pat::TupleStruct(ts) if ts.path.segments.last().is_some_and(|s| s.ident == "Some"))
}

pub(super) fn some_or_ok_binding(pat: &syn::Pat) -> bool {
    let syn::Pat::TupleStruct(ts) = pat else {
        return false;
    };
    let is_variant = ts
        .path
        .segments
        .last()
        .is_some_and(|s| s.ident == "Some" || s.ident == "Ok");
    is_variant && ts.elems.len() == 1 && matches!(ts.elems.first(), Some(syn::Pat::Ident(_)))
}

/// The `#[cfg(..)]` predicates on a statement, as token text.
pub(super) fn stmt_cfgs(stmt: &syn::Stmt) -> Vec<String> {
    stmt_attrs(stmt)
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .filter_map(|a| a.meta.require_list().ok())
        .map(|l| l.tokens.to_string())
        .collect()
}

/// The outer attributes of a statement (of its expression, for an expression statement).
pub(super) fn stmt_attrs(stmt: &syn::Stmt) -> &[syn::Attribute] {
    match stmt {
        syn::Stmt::Local(l) => &l.attrs,
        syn::Stmt::Macro(m) => &m.attrs,
        syn::Stmt::Item(i) => crate::syntax::item_attrs(i),
        syn::Stmt::Expr(e, _) => match e {
            syn::Expr::Assign(x) => &x.attrs,
            syn::Expr::Block(x) => &x.attrs,
            syn::Expr::Call(x) => &x.attrs,
            syn::Expr::ForLoop(x) => &x.attrs,
            syn::Expr::If(x) => &x.attrs,
            syn::Expr::Let(x) => &x.attrs,
            syn::Expr::Loop(x) => &x.attrs,
            syn::Expr::Macro(x) => &x.attrs,
            syn::Expr::Match(x) => &x.attrs,
            syn::Expr::MethodCall(x) => &x.attrs,
            syn::Expr::Return(x) => &x.attrs,
            syn::Expr::Unsafe(x) => &x.attrs,
            syn::Expr::While(x) => &x.attrs,
            _ => &[],
        },
    }
}

/// The text of `not(p)` for a cfg predicate's text (`not(q)` gives `q`).
pub(super) fn negate_cfg(p: &str) -> String {
    match p.strip_prefix("not (").and_then(|q| q.strip_suffix(')')) {
        Some(q) => q.to_string(),
        None => format!("not ({p})"),
    }
}

pub(super) fn project(mut p: Place, proj: Proj) -> Place {
    match &proj {
        Proj::Field(f) => p.text = format!("{}.{f}", p.text).into(),
        Proj::Index(i) => p.text = format!("{}[{i}]", p.text).into(),
        Proj::Method(m) => p.text = format!("{}.{m}()", p.text).into(),
        Proj::Elem => p.text = format!("{}[_]", p.text).into(),
        Proj::Guard => p.text = format!("{}.*", p.text).into(),
        Proj::Ctor { field, .. } => p.text = format!("{}.{field}", p.text).into(),
        Proj::Via(_) | Proj::Unwrap => {}
    }
    p.proj.push(proj);
    p
}

/// The last segment of a path as text (`Slot::Busy` → `Busy`; empty for an empty path).
pub(super) fn last_ident(p: &syn::Path) -> String {
    p.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

pub(super) fn member_name(m: &syn::Member) -> String {
    match m {
        syn::Member::Named(i) => i.to_string(),
        syn::Member::Unnamed(i) => i.index.to_string(),
    }
}

/// Token text with spacing normalized (`self . a` → `self.a`).
pub fn tokens<T: ToTokens>(t: &T) -> String {
    let s = t.to_token_stream().to_string();
    let mut out = String::with_capacity(s.len());
    for (i, part) in s.split(' ').enumerate() {
        if i > 0 {
            let prev = out.chars().last().unwrap_or(' ');
            let next = part.chars().next().unwrap_or(' ');
            let glue = matches!(prev, '.' | '(' | '[' | '&' | '!' | ':' | '*')
                || matches!(next, '.' | ')' | ']' | '(' | '[' | ',' | ':' | '?');
            if !glue {
                out.push(' ');
            }
        }
        out.push_str(part);
    }
    out
}

pub(super) fn split_pat_type(p: &syn::Pat) -> (&syn::Pat, Option<TypeRef>) {
    match p {
        syn::Pat::Type(pt) => (&pt.pat, Some(type_ref(&pt.ty))),
        _ => (p, None),
    }
}

/// The name an identifier pattern binds: none for an uppercase single identifier written
/// without `ref`/`mut`, which is most likely a unit variant or a constant.
fn bound_ident(i: &syn::PatIdent) -> Option<String> {
    let s = i.ident.to_string();
    let variant_like = s.chars().next().is_some_and(|c| c.is_uppercase())
        && i.by_ref.is_none()
        && i.mutability.is_none();
    (!variant_like).then_some(s)
}

/// Identifiers a pattern binds, in order.
pub fn pat_idents(p: &syn::Pat) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(p: &syn::Pat, out: &mut Vec<String>) {
        match p {
            syn::Pat::Ident(i) => {
                if let Some(s) = bound_ident(i) {
                    out.push(s);
                }
                if let Some((_, sp)) = &i.subpat {
                    walk(sp, out);
                }
            }
            syn::Pat::Or(o) => {
                if let Some(first) = o.cases.first() {
                    walk(first, out);
                }
            }
            syn::Pat::Paren(x) => walk(&x.pat, out),
            syn::Pat::Reference(r) => walk(&r.pat, out),
            syn::Pat::Slice(s) => s.elems.iter().for_each(|e| walk(e, out)),
            syn::Pat::Struct(s) => s.fields.iter().for_each(|f| walk(&f.pat, out)),
            syn::Pat::Tuple(t) => t.elems.iter().for_each(|e| walk(e, out)),
            syn::Pat::TupleStruct(t) => t.elems.iter().for_each(|e| walk(e, out)),
            syn::Pat::Type(t) => walk(&t.pat, out),
            _ => {}
        }
    }
    walk(p, &mut out);
    out
}

/// The identifiers a pattern binds (as [`pat_idents`] lists them), each with the place it
/// names inside `base`, the matched value's place: a struct's or an enum variant's field
/// ([`Proj::Ctor`]), a tuple's position, the value in `Some` (the element itself when `base`
/// already names one) or `Ok`, a slice element, the slice for `rest @ ..`. `None` where the
/// pattern does not say which part: after a `..` in a tuple, an `Err`'s payload, the cases of
/// an or-pattern.
pub(super) fn pattern_places(pat: &syn::Pat, base: Option<&Place>) -> Vec<(String, Option<Place>)> {
    fn positional<'a>(
        elems: impl Iterator<Item = &'a syn::Pat>,
        base: Option<&Place>,
        proj: impl Fn(usize) -> Proj,
        out: &mut Vec<(String, Option<Place>)>,
    ) {
        let mut after_rest = false;
        for (i, e) in elems.enumerate() {
            if matches!(e, syn::Pat::Rest(_)) {
                after_rest = true;
                continue;
            }
            let b = base
                .filter(|_| !after_rest)
                .map(|b| project(b.clone(), proj(i)));
            walk(e, b.as_ref(), out);
        }
    }
    fn walk(p: &syn::Pat, base: Option<&Place>, out: &mut Vec<(String, Option<Place>)>) {
        match p {
            syn::Pat::Ident(i) => {
                if let Some(s) = bound_ident(i) {
                    out.push((s, base.cloned()));
                }
                if let Some((_, sp)) = &i.subpat {
                    walk(sp, base, out);
                }
            }
            syn::Pat::Or(o) => {
                if let Some(first) = o.cases.first() {
                    walk(first, base.filter(|_| o.cases.len() == 1), out);
                }
            }
            syn::Pat::Paren(x) => walk(&x.pat, base, out),
            syn::Pat::Reference(r) => walk(&r.pat, base, out),
            syn::Pat::Type(t) => walk(&t.pat, base, out),
            syn::Pat::Slice(s) => {
                for e in &s.elems {
                    let rest = matches!(e, syn::Pat::Ident(i)
                        if matches!(i.subpat.as_ref().map(|(_, p)| &**p), Some(syn::Pat::Rest(_))));
                    let b = if rest {
                        base.cloned()
                    } else {
                        base.map(|b| project(b.clone(), Proj::Elem))
                    };
                    walk(e, b.as_ref(), out);
                }
            }
            syn::Pat::Tuple(t) => positional(
                t.elems.iter(),
                base,
                |i| Proj::Field(i.to_string().into()),
                out,
            ),
            syn::Pat::TupleStruct(ts) => {
                let ctor = last_ident(&ts.path);
                match ctor.as_str() {
                    "Some" | "Ok" if ts.elems.len() == 1 => {
                        let b = base.map(|b| match ctor.as_str() {
                            "Some" if names_element(b) => b.clone(),
                            "Some" => project(b.clone(), Proj::Elem),
                            _ => project(b.clone(), Proj::Unwrap),
                        });
                        walk(&ts.elems[0], b.as_ref(), out);
                    }
                    "Some" | "Ok" | "Err" => positional(ts.elems.iter(), None, |_| Proj::Elem, out),
                    _ => positional(
                        ts.elems.iter(),
                        base,
                        |i| Proj::Ctor {
                            ctor: ctor.clone().into(),
                            field: i.to_string().into(),
                        },
                        out,
                    ),
                }
            }
            syn::Pat::Struct(st) => {
                let ctor = last_ident(&st.path);
                for f in &st.fields {
                    let field = member_name(&f.member);
                    let b = base.map(|b| {
                        project(
                            b.clone(),
                            Proj::Ctor {
                                ctor: ctor.clone().into(),
                                field: field.into(),
                            },
                        )
                    });
                    walk(&f.pat, b.as_ref(), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(pat, base, &mut out);
    out
}

/// A pattern that binds the matched value (or the payload of `Ok`/`Some`/`Err`) by value.
pub(super) fn pattern_takes_value(p: &syn::Pat) -> bool {
    match p {
        syn::Pat::Ident(i) => i.by_ref.is_none() && i.subpat.is_none(),
        syn::Pat::TupleStruct(t) => {
            let last = t
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            matches!(last.as_str(), "Ok" | "Some" | "Err")
                && t.elems.len() == 1
                && pattern_takes_value(&t.elems[0])
        }
        syn::Pat::Type(t) => pattern_takes_value(&t.pat),
        syn::Pat::Paren(x) => pattern_takes_value(&x.pat),
        _ => false,
    }
}

/// `Ok(..)`, `Some(..)`, a binding or `_` match the success of a try-lock.
pub(super) fn pattern_is_success(p: &syn::Pat) -> bool {
    match p {
        syn::Pat::TupleStruct(t) => {
            let last = t
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            matches!(last.as_str(), "Ok" | "Some")
        }
        syn::Pat::Paren(x) => pattern_is_success(&x.pat),
        syn::Pat::Lit(l) => tokens(l) == "true",
        _ => false,
    }
}

pub(super) fn contains_let(e: &syn::Expr) -> bool {
    match e {
        syn::Expr::Let(_) => true,
        syn::Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_)) => {
            contains_let(&b.left) || contains_let(&b.right)
        }
        syn::Expr::Paren(p) => contains_let(&p.expr),
        _ => false,
    }
}

pub(super) fn strip_not(e: &syn::Expr) -> &syn::Expr {
    match e {
        syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => strip_not(&u.expr),
        syn::Expr::Paren(p) => strip_not(&p.expr),
        _ => e,
    }
}

/// A simple condition later branches can be correlated with: a path, field chain or
/// argument-free method call, possibly negated.
pub(super) fn cond_key(e: &syn::Expr) -> (Option<CondKey>, bool) {
    let mut neg = false;
    let mut cur = e;
    loop {
        match cur {
            syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => {
                neg = !neg;
                cur = &u.expr;
            }
            syn::Expr::Paren(p) => cur = &p.expr,
            _ => break,
        }
    }
    fn simple(e: &syn::Expr, roots: &mut Vec<String>) -> bool {
        match e {
            syn::Expr::Path(p) => {
                roots.push(path_segs(&p.path).join("::"));
                true
            }
            syn::Expr::Field(f) => {
                let ok = simple(&f.base, roots);
                if ok {
                    if let Some(r) = roots.last_mut() {
                        r.push('.');
                        r.push_str(&member_name(&f.member));
                    }
                }
                ok
            }
            syn::Expr::MethodCall(m) => m.args.is_empty() && simple(&m.receiver, roots),
            syn::Expr::Binary(b) if matches!(b.op, syn::BinOp::Eq(_) | syn::BinOp::Ne(_)) => {
                simple(&b.left, roots)
                    && matches!(&*b.right, syn::Expr::Lit(_) | syn::Expr::Path(_))
            }
            syn::Expr::Paren(p) => simple(&p.expr, roots),
            _ => false,
        }
    }
    let mut roots = Vec::new();
    if !simple(cur, &mut roots) {
        return (None, neg);
    }
    // A method call may read anything: correlate only when it takes no arguments.
    (
        Some(CondKey {
            text: tokens(cur),
            roots,
        }),
        neg,
    )
}

/// `Type::new`, `Type::default`, `Type::from(..)`, `Type::with_capacity(..)`: the type built.
pub(super) fn constructor_type(segs: &[String]) -> Option<TypeRef> {
    let upper = |s: &str| s.chars().next().is_some_and(|c| c.is_uppercase());
    // `Foo(x)`: a tuple struct; `Enum::Variant(x)`: the enum (name resolution decides).
    if segs.len() == 1 && upper(&segs[0]) && !matches!(segs[0].as_str(), "Some" | "Ok" | "Err") {
        return Some(TypeRef::Path {
            segs: segs.to_vec(),
            args: Vec::new(),
        });
    }
    if segs.len() >= 2 && upper(&segs[segs.len() - 1]) && upper(&segs[segs.len() - 2]) {
        return Some(TypeRef::Path {
            segs: segs[..segs.len() - 1].to_vec(),
            args: Vec::new(),
        });
    }
    if segs.len() < 2 {
        return None;
    }
    let last = segs[segs.len() - 1].as_str();
    let ty = &segs[segs.len() - 2];
    let ctor = matches!(last, "new" | "default" | "from" | "const_new")
        || last.starts_with("new_")
        || last.starts_with("with_");
    if !ctor || !ty.chars().next().is_some_and(|c| c.is_uppercase()) {
        return None;
    }
    Some(TypeRef::Path {
        segs: segs[..segs.len() - 1].to_vec(),
        args: Vec::new(),
    })
}

/// What matching a call's result with this pattern says about the call: `Some(true)` for
/// `Ok(..)`/`Some(..)`, `Some(false)` for `Err(..)`/`None`.
pub(super) fn pattern_outcome(p: &syn::Pat) -> Option<bool> {
    let name = match p {
        syn::Pat::TupleStruct(t) => t.path.segments.last()?.ident.to_string(),
        syn::Pat::Path(pp) => pp.path.segments.last()?.ident.to_string(),
        syn::Pat::Ident(i) if i.ident == "None" => "None".to_string(),
        syn::Pat::Paren(x) => return pattern_outcome(&x.pat),
        _ => return None,
    };
    match name.as_str() {
        "Ok" | "Some" => Some(true),
        "Err" | "None" => Some(false),
        _ => None,
    }
}
