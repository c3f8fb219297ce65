//! Expressions: places, operands, assignments and binary operators.

use super::*;

impl<'a> BodyLowerer<'a> {
    pub(super) fn expr(&mut self, e: &syn::Expr, ext: Ext) -> Val {
        if self.cur.is_none() {
            return Val::default();
        }
        self.depth += 1;
        let v = if self.depth > MAX_DEPTH {
            self.truncated = true;
            Val::default()
        } else {
            self.expr_inner(e, ext)
        };
        self.depth -= 1;
        v
    }

    /// Lower an operand nobody takes ownership of.
    pub(super) fn operand(&mut self, e: &syn::Expr) -> Val {
        let v = self.expr(e, Ext::None);
        self.settle(&v, false);
        Val {
            guards: if v.fresh { Vec::new() } else { v.guards },
            fresh: false,
            place: v.place,
            pending: None,
            closure: v.closure,
            func: v.func,
            ty: v.ty,
        }
    }

    pub(super) fn expr_inner(&mut self, e: &syn::Expr, ext: Ext) -> Val {
        let sub_ext = if ext == Ext::Value {
            Ext::Value
        } else {
            Ext::None
        };
        match e {
            syn::Expr::Paren(p) => self.expr(&p.expr, ext),
            syn::Expr::Group(g) => self.expr(&g.expr, ext),
            syn::Expr::Path(p) => self.path_expr(p),
            syn::Expr::Lit(_) => Val::default(),
            syn::Expr::Reference(r) => self.reference(r, ext),
            syn::Expr::RawAddr(r) => {
                let v = self.expr(&r.expr, Ext::None);
                self.settle(&v, false);
                Val {
                    place: v.place,
                    ..Val::default()
                }
            }
            syn::Expr::Unary(u) => self.unary(u, ext),
            syn::Expr::Field(f) => self.field(f, ext),
            syn::Expr::Index(i) => self.index(i, ext),
            syn::Expr::Cast(c) => {
                let v = self.expr(&c.expr, sub_ext);
                Val {
                    pending: None,
                    ty: Some(type_ref(&c.ty)),
                    ..v
                }
            }
            syn::Expr::MethodCall(m) => self.method_call(m),
            syn::Expr::Call(c) => self.call(c, sub_ext, calls::ArgRole::Plain),
            syn::Expr::Macro(m) => self.mac(&m.mac),
            syn::Expr::Block(b) => {
                if b.label.is_some() {
                    return self.labeled_block(b, ext);
                }
                self.block(&b.block, sub_ext)
            }
            syn::Expr::Unsafe(u) => self.block(&u.block, sub_ext),
            syn::Expr::Const(c) => {
                let _ = c;
                Val::default()
            }
            syn::Expr::Assign(a) => {
                self.assign(&a.left, &a.right, self.span(e));
                Val::default()
            }
            syn::Expr::Binary(b) => self.binary(b),
            syn::Expr::If(i) => self.if_expr(i, sub_ext),
            syn::Expr::Match(m) => self.match_expr(m, sub_ext),
            syn::Expr::Loop(l) => {
                self.loop_expr(None, &l.body, l.label.as_ref(), self.span(&l.loop_token));
                Val::default()
            }
            syn::Expr::While(w) if spin_loop::is_true(&w.cond) => {
                // `while true` is a `loop`.
                self.loop_expr(None, &w.body, w.label.as_ref(), self.span(&w.while_token));
                Val::default()
            }
            syn::Expr::While(w) => {
                self.loop_expr(Some(&w.cond), &w.body, w.label.as_ref(), self.span(e));
                Val::default()
            }
            syn::Expr::ForLoop(f) => {
                self.for_loop(f);
                Val::default()
            }
            syn::Expr::Return(r) => self.return_expr(r, self.span(e)),
            syn::Expr::Break(b) => {
                let span = self.span(e);
                if let Some(v) = &b.expr {
                    let v = self.expr(v, Ext::None);
                    self.settle(&v, false);
                }
                self.break_to(b.label.as_ref(), span, false);
                Val::default()
            }
            syn::Expr::Continue(c) => {
                self.break_to(c.label.as_ref(), self.span(e), true);
                Val::default()
            }
            syn::Expr::Try(t) => self.try_expr(t, self.span(e)),
            syn::Expr::Await(a) => {
                let v = self.expr(&a.base, Ext::None);
                self.emit(Op::Block {
                    kind: BlockKind::Await,
                    span: self.span(&a.await_token),
                });
                v
            }
            syn::Expr::Closure(c) => Val {
                closure: Some(Box::new(c.clone())),
                ..Val::default()
            },
            syn::Expr::Async(a) => {
                self.spawn_body_block(&a.block, "async");
                Val::default()
            }
            syn::Expr::Struct(s) => self.struct_lit(s, sub_ext, self.span(e)),
            syn::Expr::Tuple(t) => self.aggregate(t.elems.iter(), sub_ext),
            syn::Expr::Array(a) => {
                let v = self.aggregate(a.elems.iter(), sub_ext);
                Val {
                    ty: v.ty.map(|t| TypeRef::Array(Box::new(t))),
                    ..v
                }
            }
            syn::Expr::Repeat(r) => {
                let v = self.operand(&r.expr);
                Val {
                    ty: v.ty.map(|t| TypeRef::Array(Box::new(t))),
                    ..Val::default()
                }
            }
            syn::Expr::Range(r) => {
                if let Some(s) = &r.start {
                    let _ = self.operand(s);
                }
                if let Some(s) = &r.end {
                    let _ = self.operand(s);
                }
                Val::default()
            }
            syn::Expr::Let(l) => {
                // A `let` outside an `if`/`while` condition (inside a let chain handled there).
                let v = self.expr(&l.expr, Ext::None);
                self.settle(&v, false);
                Val::default()
            }
            syn::Expr::TryBlock(t) => self.block(&t.block, sub_ext),
            syn::Expr::Yield(y) => {
                if let Some(v) = &y.expr {
                    let _ = self.operand(v);
                }
                Val::default()
            }
            _ => Val::default(),
        }
    }

    /// `&x`: the place of `x`; in an extending context (`let r = &x.lock().f;`) its
    /// temporaries live as long as the binding.
    fn reference(&mut self, r: &syn::ExprReference, ext: Ext) -> Val {
        let inner_ext = if ext == Ext::Value || ext == Ext::Place {
            Ext::Place
        } else {
            Ext::None
        };
        let v = self.expr(&r.expr, inner_ext);
        self.settle(&v, inner_ext == Ext::Place);
        Val {
            place: v.place,
            ..Val::default()
        }
    }

    /// `*x` keeps the place of `x`; `!x` and `-x` are values.
    fn unary(&mut self, u: &syn::ExprUnary, ext: Ext) -> Val {
        let deref = matches!(u.op, syn::UnOp::Deref(_));
        let inner_ext = if ext == Ext::Place && deref {
            Ext::Place
        } else {
            Ext::None
        };
        let v = self.expr(&u.expr, inner_ext);
        self.settle(&v, inner_ext == Ext::Place);
        if deref {
            Val {
                place: v.place,
                ..Val::default()
            }
        } else {
            Val::default()
        }
    }

    /// The context a place expression's base is lowered in: a place stays a place.
    fn base_ext(ext: Ext) -> Ext {
        if ext == Ext::Place {
            Ext::Place
        } else {
            Ext::None
        }
    }

    /// `x.f`: a field of the place of `x`.
    fn field(&mut self, f: &syn::ExprField, ext: Ext) -> Val {
        let base_ext = Self::base_ext(ext);
        let v = self.expr(&f.base, base_ext);
        self.settle(&v, base_ext == Ext::Place);
        let name = member_name(&f.member);
        Val {
            place: v.place.map(|p| project(p, Proj::Field(name.into()))),
            ..Val::default()
        }
    }

    /// `x[i]`: an element of the place of `x`.
    fn index(&mut self, i: &syn::ExprIndex, ext: Ext) -> Val {
        let base_ext = Self::base_ext(ext);
        let v = self.expr(&i.expr, base_ext);
        self.settle(&v, base_ext == Ext::Place);
        let _ = self.operand(&i.index);
        // `x[a..b]`: a view of the same elements, not one of them
        if matches!(strip_parens(&i.index), syn::Expr::Range(_)) {
            return Val {
                place: v.place,
                ..Val::default()
            };
        }
        let idx = tokens(&i.index);
        Val {
            place: v.place.map(|p| project(p, Proj::Index(idx.into()))),
            ..Val::default()
        }
    }

    /// `return v`: a guard in `v` leaves with the function (a closure's return only settles
    /// it), then every scope of the frame unwinds.
    fn return_expr(&mut self, r: &syn::ExprReturn, span: Span) -> Val {
        if let Some(v) = &r.expr {
            let val = self.expr(v, Ext::None);
            if self.frames.last().is_some_and(|f| f.is_fn) {
                let owned = self.take_ownership(&val, span);
                for g in owned {
                    self.emit(Op::ReturnGuard { guard: g, span });
                }
            } else {
                self.settle(&val, false);
            }
        }
        self.exit_frame(span);
        Val::default()
    }

    /// `x?`: the error path leaves the function (or closure), releasing what `x` made.
    fn try_expr(&mut self, t: &syn::ExprTry, span: Span) -> Val {
        let v = self.expr(&t.expr, Ext::None);
        let v = self.take_pending(v);
        let call = self.call_of(&t.expr);
        let before = self.cur;
        if let Some(call) = call {
            self.emit(Op::CallOutcome { call, ok: false });
        }
        if v.fresh {
            self.release_all(&v.guards, span);
        }
        self.exit_frame(span);
        self.cur = before;
        // The success value: out of its `Result`/`Option` (a guard's data is already that).
        Val {
            place: v.place.map(|p| project(p, Proj::Unwrap)),
            ty: v.ty.and_then(calls::unwrapped_ty),
            ..v
        }
    }

    /// A struct literal owns the guards of its fields; the places it is built from are
    /// handed off to it (a `Drop` impl may release them); a closure stored in a field runs
    /// later, elsewhere.
    fn struct_lit(&mut self, s: &syn::ExprStruct, ext: Ext, span: Span) -> Val {
        let mut guards = Vec::new();
        let mut places = Vec::new();
        let ty = path_segs(&s.path);
        for f in &s.fields {
            let v = self.expr(&f.expr, ext);
            if let Some(p) = v.place.as_ref().filter(|p| !matches!(p.root, Root::Opaque)) {
                places.push(p.text.to_string());
                self.value_flow(
                    FlowTo::Field {
                        ty: ty.clone(),
                        field: member_name(&f.member),
                    },
                    p.clone(),
                );
            }
            // A guard kept in a `ManuallyDrop` field (`inner: ManuallyDrop::new(guard)`) was
            // leaked by that call; the struct's `Drop` may release it, as for a raw hold.
            for &g in &v.guards {
                if let Some(p) = self.guard_place(g) {
                    if !places.iter().any(|t| p.text == *t) {
                        places.push(p.text.to_string());
                    }
                }
            }
            guards.extend(self.take_ownership(&v, self.span(&f.expr)));
            let func = match &v.closure {
                Some(c) => Some(self.spawn_closure(c)),
                None => v.func.clone(),
            };
            if let Some(func) = func {
                let to = FlowTo::Field {
                    ty: ty.clone(),
                    field: member_name(&f.member),
                };
                self.fn_store(FnStoreTo::Flow(to), func);
            }
        }
        if !places.is_empty() {
            self.emit(Op::HandOff {
                ty: ty.into(),
                places: places.into(),
                span,
            });
        }
        if let Some(rest) = &s.rest {
            let _ = self.operand(rest);
        }
        Val {
            fresh: !guards.is_empty(),
            guards,
            ty: Some(crate::lower::items::path_type(&s.path)),
            ..Val::default()
        }
    }

    pub(super) fn aggregate<'e>(
        &mut self,
        elems: impl Iterator<Item = &'e syn::Expr>,
        ext: Ext,
    ) -> Val {
        let mut guards = Vec::new();
        let mut ty = None;
        for el in elems {
            let v = self.expr(el, ext);
            guards.extend(self.take_ownership(&v, self.span(el)));
            ty = ty.or(v.ty);
        }
        Val {
            guards: guards.clone(),
            fresh: !guards.is_empty(),
            ty,
            ..Val::default()
        }
    }

    pub(super) fn path_expr(&mut self, p: &syn::ExprPath) -> Val {
        let segs = expr_path_segs(p);
        if segs.len() == 1 {
            let name = &segs[0];
            if name == "self" {
                return Val {
                    place: Some(Place {
                        root: Root::SelfValue,
                        proj: Vec::new(),
                        text: "self".into(),
                    }),
                    ..Val::default()
                };
            }
            if let Some(b) = self.lookup(name) {
                let place = match &b.alias {
                    Some(a) => a.clone(),
                    None => Place {
                        root: Root::Local {
                            name: name.clone().into(),
                            ty: b.ty.clone().map(Into::into),
                            tag: b.tag,
                        },
                        proj: Vec::new(),
                        text: name.clone().into(),
                    },
                };
                return Val {
                    guards: b.guards.clone(),
                    fresh: false,
                    place: Some(place),
                    pending: None,
                    closure: b.closure.clone(),
                    func: None,
                    ty: b.ty.clone(),
                };
            }
            if let Some((_, ty)) = self.params.iter().find(|(n, _)| n == name) {
                return Val {
                    place: Some(Place {
                        root: Root::Param {
                            name: name.clone().into(),
                            ty: ty.clone().into(),
                        },
                        proj: Vec::new(),
                        text: name.clone().into(),
                    }),
                    ty: Some(ty.clone()),
                    ..Val::default()
                };
            }
        }
        Val {
            place: Some(Place {
                root: Root::Path(segs.clone().into()),
                proj: Vec::new(),
                text: segs.join("::").into(),
            }),
            ..Val::default()
        }
    }

    /// Emit a pending try-lock's acquisition: we are on its success path now.
    pub(super) fn take_pending(&mut self, mut v: Val) -> Val {
        if let Some(p) = v.pending.take() {
            self.emit(Op::Acquire {
                place: Box::new(p.place),
                method: crate::lock_api::acq_method(&p.method),
                style: AcqStyle::Guard,
                mode: p.mode,
                is_try: true,
                guard: Some(p.guard),
                unwrapped: true,
                span: p.span,
            });
            v.guards = vec![p.guard];
            v.fresh = true;
        }
        v
    }

    pub(super) fn assign(&mut self, left: &syn::Expr, right: &syn::Expr, span: Span) {
        let v = self.expr(right, Ext::None);
        let target = self.operand_place_only(left);
        let text = target
            .as_ref()
            .map(|p| p.text)
            .unwrap_or_else(|| tokens(left).into());
        // Assigning a guard to a local replaces (drops) the old one.
        if let syn::Expr::Path(p) = left {
            if let Some(name) = p.path.get_ident().map(|i| i.to_string()) {
                let old = self
                    .lookup(&name)
                    .map(|b| b.guards.clone())
                    .unwrap_or_default();
                let owned = self.take_ownership(&v, span);
                if self.lookup(&name).is_some() {
                    for g in old.iter().rev() {
                        self.emit(Op::Release {
                            guard: *g,
                            span,
                            explicit: false,
                        });
                    }
                    // The binding keeps fixed guard slots: a new guard moves into them, so code
                    // that runs again (a loop body) releases whatever the binding holds now.
                    let mut slots = old.clone();
                    while slots.len() < owned.len() {
                        slots.push(self.new_guard());
                    }
                    for (o, s) in owned.iter().zip(&slots) {
                        self.emit(Op::Transfer {
                            from: *o,
                            to: *s,
                            span,
                        });
                    }
                    if let Some(b) = self.lookup_mut(&name) {
                        if !owned.is_empty() {
                            b.guards = slots;
                        }
                        if b.guards.is_empty() {
                            b.alias = v.place.clone().filter(|p| !matches!(p.root, Root::Opaque));
                        }
                    }
                }
                self.emit(Op::Assign { root: name.into() });
                return;
            }
        }
        let outlives = target.as_ref().is_some_and(|p| {
            matches!(p.root, Root::SelfValue | Root::Param { .. } | Root::Path(_))
        });
        // A field or a place that outlives the function now holds the value (a local's
        // alias is followed by the binding itself).
        let flows = target.as_ref().filter(|to| outlives || !to.proj.is_empty());
        if let (Some(to), Some(from)) = (flows, &v.place) {
            self.value_flow(FlowTo::Place(to.clone()), from.clone());
        }
        if outlives {
            let mut params = Vec::new();
            self.moved_params(right, &mut params);
            self.emit(Op::Store {
                params,
                place: text,
                span,
            });
        }
        // A closure stored for later (`self.on_rx = Some(Box::new(move || ..))`) runs
        // elsewhere: whoever calls it through the place.
        let func = match (&v.closure, outlives) {
            (Some(c), true) => Some(self.spawn_closure(c)),
            _ => v.func.clone(),
        };
        if let (Some(to), Some(func)) = (flows, func) {
            self.fn_store(FnStoreTo::Flow(FlowTo::Place(to.clone())), func);
        }
        // A guard stored into something that outlives the function leaks from its view.
        if !v.guards.is_empty() {
            if outlives {
                // into `self` or a parameter: a value that someone drops; a static is not
                let owned = target
                    .as_ref()
                    .is_some_and(|p| matches!(p.root, Root::SelfValue | Root::Param { .. }));
                for &g in &v.guards {
                    self.emit(Op::Leak {
                        guard: g,
                        span,
                        how: (format!("stored in `{text}`")).into(),
                        owned,
                    });
                }
            } else if v.fresh {
                // Stored in a local aggregate: it lives with that local; approximate by its scope.
                self.settle(&v, true);
            }
        }
        self.emit(Op::Assign { root: text });
    }

    /// Record a value stored into a place (bounded per body: a generated body of struct
    /// literals must not grow the IR without limit).
    pub(super) fn value_flow(&mut self, to: FlowTo, from: Place) {
        if matches!(from.root, Root::Opaque) || self.value_flows.len() >= MAX_VALUE_FLOWS {
            return;
        }
        let f = ValueFlow { to, from };
        if !self.value_flows.contains(&f) {
            self.value_flows.push(f);
        }
    }

    /// Record a closure's value stored or passed on (bounded per body like value flows).
    pub(super) fn fn_store(&mut self, to: FnStoreTo, func: String) {
        if self.fn_stores.len() >= MAX_VALUE_FLOWS {
            return;
        }
        let f = FnStore { to, func };
        if !self.fn_stores.contains(&f) {
            self.fn_stores.push(f);
        }
    }

    /// Parameters an expression moves as a whole into its value: `pkt`, `Some(pkt)`,
    /// `Box::new(pkt)`, `Slot { pkt, .. }`, `(pkt, n)`.
    pub(super) fn moved_params(&self, e: &syn::Expr, out: &mut Vec<String>) {
        match e {
            syn::Expr::Path(p) => {
                if let Some(id) = p.path.get_ident().map(|i| i.to_string()) {
                    if self.lookup(&id).is_none() && self.params.iter().any(|(n, _)| *n == id) {
                        out.push(id);
                    }
                }
            }
            syn::Expr::Call(c) => {
                let ctor = match &*c.func {
                    syn::Expr::Path(p) => p.path.segments.last().is_some_and(|s| {
                        let n = s.ident.to_string();
                        n.starts_with(|ch: char| ch.is_uppercase()) || n == "new" || n == "from"
                    }),
                    _ => false,
                };
                if ctor {
                    for a in &c.args {
                        self.moved_params(a, out);
                    }
                }
            }
            syn::Expr::Struct(s) => {
                for f in &s.fields {
                    self.moved_params(&f.expr, out);
                }
            }
            syn::Expr::Tuple(t) => {
                for a in &t.elems {
                    self.moved_params(a, out);
                }
            }
            syn::Expr::Paren(p) => self.moved_params(&p.expr, out),
            _ => {}
        }
    }

    pub(super) fn operand_place_only(&mut self, e: &syn::Expr) -> Option<Place> {
        let v = self.expr(e, Ext::None);
        self.settle(&v, false);
        v.place
    }

    /// An operand of `&&` / `||`, its temporaries dropped at its end.
    fn lazy_operand(&mut self, e: &syn::Expr) {
        self.temps.push(Vec::new());
        let _ = self.operand(e);
        let t = self.temps.pop().unwrap_or_default();
        let span = self.span(e);
        self.release_all(&t, span);
    }

    pub(super) fn binary(&mut self, b: &syn::ExprBinary) -> Val {
        match b.op {
            syn::BinOp::And(_) | syn::BinOp::Or(_) => {
                // Each operand of a lazy boolean operator is a temporary scope of its own: a
                // guard made in the left operand is dropped before the right one runs.
                self.lazy_operand(&b.left);
                let before = self.cur;
                self.lazy_operand(&b.right);
                let after = self.cur;
                self.join(&[before, after]);
            }
            syn::BinOp::AddAssign(_)
            | syn::BinOp::SubAssign(_)
            | syn::BinOp::MulAssign(_)
            | syn::BinOp::DivAssign(_)
            | syn::BinOp::RemAssign(_)
            | syn::BinOp::BitXorAssign(_)
            | syn::BinOp::BitAndAssign(_)
            | syn::BinOp::BitOrAssign(_)
            | syn::BinOp::ShlAssign(_)
            | syn::BinOp::ShrAssign(_) => {
                let _ = self.operand(&b.right);
                let t = self.operand(&b.left);
                let by_one = tokens(&b.right) == "1";
                if by_one && matches!(b.op, syn::BinOp::AddAssign(_) | syn::BinOp::SubAssign(_)) {
                    if let Some(p) = &t.place {
                        let delta = if matches!(b.op, syn::BinOp::AddAssign(_)) {
                            1
                        } else {
                            -1
                        };
                        self.emit(Op::Count {
                            place: Box::new(p.clone()),
                            delta,
                            span: self.span(b),
                        });
                    }
                }
                let root = t
                    .place
                    .map(|p| p.text)
                    .unwrap_or_else(|| tokens(&b.left).into());
                self.emit(Op::Assign { root });
            }
            _ => {
                let _ = self.operand(&b.left);
                let _ = self.operand(&b.right);
            }
        }
        Val::default()
    }
}
