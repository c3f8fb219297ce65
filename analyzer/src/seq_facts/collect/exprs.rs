//! Statements and expressions: the candidate sites and the writes that move a counter back.

use super::*;

impl Collector<'_> {
    pub(super) fn block(&mut self, b: &syn::Block) {
        self.scopes.push(Vec::new());
        self.with_local_fns(&b.stmts, |c| {
            for s in &b.stmts {
                c.stmt(s);
            }
        });
        self.scopes.pop();
    }

    pub(super) fn stmt(&mut self, s: &syn::Stmt) {
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

    pub(super) fn mac(&mut self, m: &syn::Macro) {
        if let Ok(args) =
            m.parse_body_with(Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
        {
            for a in &args {
                self.expr(a, Parent::Other);
            }
        }
    }

    pub(super) fn scoped(&mut self, f: impl FnOnce(&mut Self)) {
        self.scopes.push(Vec::new());
        f(self);
        self.scopes.pop();
    }

    pub(super) fn expr(&mut self, e: &syn::Expr, parent: Parent) {
        // Long operator chains nest without delimiters; stop descending well before the stack
        // could run out.
        if self.depth > MAX_EXPR_DEPTH {
            return;
        }
        self.depth += 1;
        self.expr_inner(e, parent);
        self.depth -= 1;
    }

    /// One expression: sites are recorded by the helpers of the kinds that have them, then the
    /// walk goes on into the operands.
    fn expr_inner(&mut self, e: &syn::Expr, parent: Parent) {
        match e {
            syn::Expr::Binary(b) => self.binary(e, b, parent),
            syn::Expr::Assign(a) => self.assign(a),
            syn::Expr::Unary(u) => self.unary(e, u, parent),
            syn::Expr::Cast(c) => self.cast(e, c, parent),
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
                self.exprs(&c.args);
            }
            syn::Expr::Closure(c) => self.unguarded(|s| {
                s.scoped(|s| {
                    for p in &c.inputs {
                        s.bind_pat(p, None, None);
                    }
                    s.expr(&c.body, Parent::Other);
                })
            }),
            syn::Expr::Block(b) => self.scoped(|s| s.block(&b.block)),
            syn::Expr::Unsafe(b) => self.scoped(|s| s.block(&b.block)),
            syn::Expr::Async(b) => self.scoped(|s| s.block(&b.block)),
            syn::Expr::Const(b) => self.scoped(|s| s.block(&b.block)),
            syn::Expr::TryBlock(b) => self.scoped(|s| s.block(&b.block)),
            syn::Expr::Loop(l) => self.unguarded(|s| s.scoped(|s| s.block(&l.body))),
            syn::Expr::While(w) => self.unguarded(|s| {
                s.scoped(|s| {
                    s.expr(&w.cond, Parent::Other);
                    s.block(&w.body);
                })
            }),
            syn::Expr::ForLoop(f) => self.unguarded(|s| s.for_loop(f)),
            syn::Expr::If(i) => self.scoped(|s| {
                s.expr(&i.cond, Parent::Other);
                s.guarded(&i.cond, |s| s.block(&i.then_branch));
                if let Some((_, els)) = &i.else_branch {
                    s.expr(els, Parent::Other);
                }
            }),
            syn::Expr::Let(l) => {
                self.expr(&l.expr, Parent::Other);
                self.bind_pat(&l.pat, None, Some(&l.expr));
            }
            syn::Expr::Match(m) => self.match_expr(m),
            syn::Expr::Struct(s) => self.struct_expr(s),
            syn::Expr::Field(f) => self.expr(&f.base, Parent::Other),
            syn::Expr::Reference(r) => self.expr(&r.expr, parent),
            syn::Expr::Return(r) => self.opt_expr(r.expr.as_deref(), Parent::Other),
            syn::Expr::Break(r) => self.opt_expr(r.expr.as_deref(), Parent::Other),
            syn::Expr::Try(t) => self.expr(&t.expr, parent),
            syn::Expr::Await(a) => self.expr(&a.base, Parent::Other),
            syn::Expr::Tuple(t) => self.exprs(&t.elems),
            syn::Expr::Array(t) => self.exprs(&t.elems),
            syn::Expr::Repeat(r) => self.expr(&r.expr, Parent::Other),
            syn::Expr::Range(r) => {
                self.opt_expr(r.start.as_deref(), parent);
                self.opt_expr(r.end.as_deref(), parent);
            }
            syn::Expr::Macro(m) => self.mac(&m.mac),
            _ => {}
        }
    }

    /// Every expression of a list, none of them feeding arithmetic.
    fn exprs<'e>(&mut self, es: impl IntoIterator<Item = &'e syn::Expr>) {
        for x in es {
            self.expr(x, Parent::Other);
        }
    }

    fn opt_expr(&mut self, e: Option<&syn::Expr>, parent: Parent) {
        if let Some(x) = e {
            self.expr(x, parent);
        }
    }

    /// `a = b`: an initial sequence number when `a` is named like one, and a backward write when
    /// `b` moves `a` back.
    fn assign(&mut self, a: &syn::ExprAssign) {
        self.expr(&a.right, Parent::Other);
        self.expr(&a.left, Parent::Other);
        self.written(&a.left);
        if let Some(name) = place_name(&a.left) {
            self.seq_write(&name, int_lit(&a.right).is_some());
            if is_isn_name(&name) || names::is_seq_name(&name, &[], &[]) {
                let place = self.val(&a.left, 0);
                self.isn_site_at(&name, &a.right, Some(place));
            }
            self.backward_assign(&name, &a.left, &a.right);
        }
    }

    /// `-a` is a site; `!a` and `*a` are only walked.
    fn unary(&mut self, e: &syn::Expr, u: &syn::ExprUnary, parent: Parent) {
        if matches!(u.op, syn::UnOp::Neg(_)) {
            let v = self.val(&u.expr, 0);
            self.push_site(SiteKind::Neg, e, vec![(&*u.expr, v)], None, parent);
        }
        self.expr(&u.expr, parent);
    }

    /// `a as usize` feeding arithmetic or an index is a site.
    fn cast(&mut self, e: &syn::Expr, c: &syn::ExprCast, parent: Parent) {
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

    fn for_loop(&mut self, f: &syn::ExprForLoop) {
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

    /// Every arm's bindings hold what the scrutinee holds.
    fn match_expr(&mut self, m: &syn::ExprMatch) {
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

    /// `Tcb { iss: .., .. }`: a field named like a sequence number is a place an initial
    /// sequence number may be set.
    fn struct_expr(&mut self, s: &syn::ExprStruct) {
        for f in &s.fields {
            self.expr(&f.expr, Parent::Other);
            if let syn::Member::Named(n) = &f.member {
                let name = n.to_string();
                self.seq_write(&name, int_lit(&f.expr).is_some());
                if is_isn_name(&name) || names::is_seq_name(&name, &[], &[]) {
                    self.struct_field_isn(s, f, name);
                }
            }
        }
        self.opt_expr(s.rest.as_deref(), Parent::Other);
    }

    fn struct_field_isn(&mut self, s: &syn::ExprStruct, f: &syn::FieldValue, name: String) {
        let owner = Val::Call {
            path: s
                .path
                .segments
                .iter()
                .map(|x| x.ident.to_string())
                .collect(),
            args: Vec::new(),
            local: None,
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

    pub(super) fn binary(&mut self, e: &syn::Expr, b: &syn::ExprBinary, parent: Parent) {
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
                if !(op == BinOp::Sub && self.guarded_decrement(l, r)) {
                    let (lv, rv) = (self.val(l, 0), self.val(r, 0));
                    self.push_site(SiteKind::Arith(op), e, vec![(l, lv), (r, rv)], None, parent);
                }
                self.expr(l, Parent::Arith);
                self.expr(r, Parent::Arith);
            }
            B::AddAssign(_) | B::SubAssign(_) => {
                self.written(l);
                let op = if matches!(b.op, B::AddAssign(_)) {
                    BinOp::Add
                } else {
                    BinOp::Sub
                };
                if let Some(name) = place_name(l) {
                    self.seq_write(
                        &name,
                        op == BinOp::Add && int_lit(r).as_deref() == Some("1"),
                    );
                }
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
            B::And(_) => {
                self.expr(l, Parent::Other);
                self.guarded(l, |s| s.expr(r, Parent::Other));
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

    /// A write of a place named like a sequence number, for [`SeqWrite`].
    fn seq_write(&mut self, name: &str, counted: bool) {
        if names::is_seq_name(name, &[], &[]) {
            self.facts.writes.push(crate::seq_facts::SeqWrite {
                name: name.to_string(),
                counted,
            });
        }
    }

    pub(super) fn backward_assign(&mut self, name: &str, left: &syn::Expr, right: &syn::Expr) {
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

    pub(super) fn method_call(&mut self, e: &syn::Expr, m: &syn::ExprMethodCall) {
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
    pub(super) fn elem_of(&self, recv: &syn::Expr) -> Val {
        Val::Method {
            recv: Box::new(self.val(recv, 1)),
            name: ELEM_NAME.into(),
            args: Vec::new(),
        }
    }

    pub(super) fn closure_with_elem(&mut self, c: &syn::ExprClosure, elem: Val, recv: &syn::Expr) {
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

    pub(super) fn call(&mut self, e: &syn::Expr, c: &syn::ExprCall) {
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

    pub(super) fn push_site(
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
}

/// The digits of an integer literal (`0`, `1u32`), through parentheses and casts.
fn int_lit(e: &syn::Expr) -> Option<String> {
    match strip(e) {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => Some(i.base10_digits().to_string()),
        syn::Expr::Cast(c) => int_lit(&c.expr),
        _ => None,
    }
}
