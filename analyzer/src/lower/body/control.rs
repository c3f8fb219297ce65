//! Control flow: conditions (`if`, `if let`, `let` chains), `match`, loops, labelled blocks, `break` and `continue`.

use super::*;

impl<'a> BodyLowerer<'a> {
    /// Lower a condition; returns (true-path end, false-path end) with `Assume`s emitted.
    /// `scrut_temps_live` tells whether `if let` scrutinee temporaries stay alive in the
    /// branches (they are collected into the current temp scope) or not.
    pub(super) fn cond(&mut self, c: &syn::Expr) -> (Option<NodeId>, Option<NodeId>, Vec<Binding>) {
        match c {
            syn::Expr::Paren(p) => self.cond(&p.expr),
            syn::Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_)) => {
                let (t1, f1, mut binds) = self.cond_operand(&b.left);
                self.cur = t1;
                // Bindings of the left part are visible on the right.
                self.scopes.push(Scope {
                    bindings: binds.clone(),
                });
                let (t2, f2, b2) = self.cond_operand(&b.right);
                self.scopes.pop();
                binds.extend(b2);
                self.join(&[f1, f2]);
                (t2, self.cur, binds)
            }
            syn::Expr::Let(l) => self.cond_let(l),
            _ => self.cond_plain(c),
        }
    }

    /// An operand of `&&` in a condition: without a `let`, a temporary scope of its own (its
    /// guards are dropped on both of its outcomes before the next operand or the branches).
    fn cond_operand(&mut self, e: &syn::Expr) -> (Option<NodeId>, Option<NodeId>, Vec<Binding>) {
        if contains_let(e) {
            return self.cond(e);
        }
        self.temps.push(Vec::new());
        let (t, f, binds) = self.cond(e);
        let temps = self.temps.pop().unwrap_or_default();
        let span = self.span(e);
        let mut out = [t, f];
        for o in &mut out {
            self.cur = *o;
            self.release_all(&temps, span);
            *o = self.cur;
        }
        (out[0], out[1], binds)
    }

    /// `let PAT = scrutinee` in a condition: the success path (bindings, a try-lock's
    /// acquisition) and the failure path. When the scrutinee is a call and the pattern names its
    /// outcome (`Ok`/`Some` vs `Err`/`None`), each path is marked with a `CallOutcome`.
    pub(super) fn cond_let(
        &mut self,
        l: &syn::ExprLet,
    ) -> (Option<NodeId>, Option<NodeId>, Vec<Binding>) {
        let v = self.expr(&l.expr, Ext::None);
        let call = self.call_of(&l.expr);
        let outcome = call.zip(pattern_outcome(&l.pat));
        let before = self.cur;
        if let Some((call, ok)) = outcome {
            self.emit(Op::CallOutcome { call, ok });
        }
        // Success path: a try-lock acquires; the pattern may take the guard.
        let refutable = !matches!(&*l.pat, syn::Pat::Ident(_) | syn::Pat::Wild(_));
        let takes_guard = pattern_takes_value(&l.pat);
        let v_ok = self.matched_value(&v, &l.pat);
        let mut binds = Vec::new();
        let names = pat_idents(&l.pat);
        let mut owned = Vec::new();
        if takes_guard && !v_ok.guards.is_empty() {
            owned = self.take_ownership(&v_ok, self.span(&*l.expr));
        } else {
            self.settle(&v_ok, false);
        }
        // `if let Some(peer) = self.peers.get(k)`: the one binding is the element the
        // scrutinee names.
        let single = names.len() == 1 && some_or_ok_binding(&l.pat);
        // `if let Frame::Data { queue, .. } = &self.frame`: each binding's part of the value
        let base = v.place.clone().filter(|p| !matches!(p.root, Root::Opaque));
        let parts = pattern_places(&l.pat, base.as_ref());
        for (i, name) in names.into_iter().enumerate() {
            let alias = if single {
                let some = some_binding(&l.pat);
                v.place
                    .clone()
                    .filter(|p| !matches!(p.root, Root::Opaque))
                    .and_then(|p| {
                        if names_element(&p) {
                            Some(p)
                        } else if some {
                            // `if let Some(h) = &self.hook`: the value in the `Option`.
                            Some(project(p, Proj::Elem))
                        } else {
                            None
                        }
                    })
                    .map(|p| self.named_by_binding(&name, p))
            } else {
                parts
                    .get(i)
                    .and_then(|(_, p)| p.clone())
                    .map(|p| self.named_by_binding(&name, p))
            };
            // A new value each time the condition matches (a `while let` iteration) — unless
            // the binding shadows one of its name bound from the same place: the same value.
            if !self.rebinds_same_place(&name, alias.as_ref()) {
                self.emit(Op::Assign {
                    root: name.clone().into(),
                });
            }
            binds.push(Binding {
                name,
                guards: if i == 0 { owned.clone() } else { Vec::new() },
                alias,
                ty: None,
                tag: self.span(&*l.pat).start,
                closure: None,
            });
        }
        let t = self.cur;
        if !refutable {
            return (t, None, binds);
        }
        self.cur = before;
        if let Some((call, ok)) = outcome {
            self.emit(Op::CallOutcome { call, ok: !ok });
        }
        // Failure path: no pending acquisition; a fresh guard of the scrutinee (e.g. the
        // `Err` of a poisoned lock) is still a temporary of the scrutinee.
        if v.pending.is_none() {
            self.settle(&v, false);
        }
        (t, self.cur, binds)
    }

    pub(super) fn cond_plain(
        &mut self,
        c: &syn::Expr,
    ) -> (Option<NodeId>, Option<NodeId>, Vec<Binding>) {
        let (key, neg) = cond_key(c);
        // `if raw.try_lock() { .. }`: the true path acquires.
        let v = self.expr(strip_not(c), Ext::None);
        self.settle(
            &Val {
                pending: None,
                ..v.clone()
            },
            false,
        );
        let before = self.cur;
        let (tv, fv) = if neg { (false, true) } else { (true, false) };
        // `opt.is_none()` / `opt.is_some()` on a local that keeps a guard in an `Option`: on
        // the path where it is `None`, it holds no lock.
        let empty = self.option_test(strip_not(c));
        if let Some(k) = &key {
            self.emit(Op::Assume {
                key: k.clone(),
                value: tv,
            });
        }
        if let Some((slots, none_when)) = &empty {
            if *none_when == tv {
                self.emit(Op::AssumeEmpty {
                    guards: slots.clone(),
                });
            }
        }
        if let Some(p) = &v.pending {
            if !neg {
                self.emit_raw_try(p);
            }
        }
        let t = self.cur;
        self.cur = before;
        if let Some(k) = &key {
            self.emit(Op::Assume {
                key: k.clone(),
                value: fv,
            });
        }
        if let Some((slots, none_when)) = empty {
            if none_when == fv {
                self.emit(Op::AssumeEmpty { guards: slots });
            }
        }
        if let Some(p) = &v.pending {
            if neg {
                self.emit_raw_try(p);
            }
        }
        (t, self.cur, Vec::new())
    }

    /// `x.is_none()` / `x.is_some()` on a local with guard slots: the slots, and the value of
    /// the test when `x` is `None`.
    pub(super) fn option_test(&self, e: &syn::Expr) -> Option<(Vec<GuardId>, bool)> {
        let syn::Expr::MethodCall(m) = strip_parens(e) else {
            return None;
        };
        let none_when = match m.method.to_string().as_str() {
            "is_none" => true,
            "is_some" => false,
            _ => return None,
        };
        if !m.args.is_empty() {
            return None;
        }
        let syn::Expr::Path(p) = strip_parens(&m.receiver) else {
            return None;
        };
        let name = p.path.get_ident()?.to_string();
        let slots = self.lookup(&name)?.guards.clone();
        (!slots.is_empty()).then_some((slots, none_when))
    }

    /// The scrutinee's value on the path where `pat` matched: a pending try-lock acquires
    /// there when the pattern is its success (`Ok(..)`/`Some(..)`), and is dropped otherwise.
    pub(super) fn matched_value(&mut self, v: &Val, pat: &syn::Pat) -> Val {
        if v.pending.is_some() && pattern_is_success(pat) {
            self.take_pending(v.clone())
        } else {
            Val {
                pending: None,
                ..v.clone()
            }
        }
    }

    /// The call node just emitted (looking back over the releases of arguments it consumed).
    /// The call node `e` ends in when `e` is a call (`f(..)`, `x.m(..)`, awaited or in
    /// parentheses): what matching its value against `Ok`/`Some` says the outcome of.
    pub(super) fn call_of(&self, e: &syn::Expr) -> Option<NodeId> {
        let mut e = strip_parens(e);
        while let syn::Expr::Await(a) = e {
            e = strip_parens(&a.base);
        }
        if matches!(e, syn::Expr::Call(_) | syn::Expr::MethodCall(_)) {
            self.last_call()
        } else {
            None
        }
    }

    pub(super) fn last_call(&self) -> Option<NodeId> {
        let mut c = self.cur?;
        for _ in 0..8 {
            match self.nodes[c as usize].op {
                Op::Call { .. } => return Some(c),
                Op::Release { .. } | Op::Transfer { .. } => {
                    let pred = (0..c)
                        .rev()
                        .find(|&p| self.nodes[p as usize].succs[..] == [c])?;
                    c = pred;
                }
                _ => return None,
            }
        }
        None
    }

    pub(super) fn emit_raw_try(&mut self, p: &Pending) {
        self.emit(Op::Acquire {
            place: Box::new(p.place.clone()),
            method: crate::lock_api::acq_method(&p.method),
            style: AcqStyle::Raw,
            mode: p.mode,
            is_try: true,
            guard: None,
            unwrapped: false,
            span: p.span,
        });
    }

    pub(super) fn if_expr(&mut self, i: &syn::ExprIf, ext: Ext) -> Val {
        let has_let = contains_let(&i.cond);
        let span = self.span(&i.cond);
        // Condition temporaries: a plain `if` drops them before either branch; an `if let`
        // keeps them through the branches (2021: to the end of the enclosing statement;
        // 2024: dropped before `else` and at the end of the `then` block).
        let scoped = !has_let || self.edition.is_2024();
        if scoped {
            self.temps.push(Vec::new());
        }
        // `if a_addr < b_addr`: the branches take the two objects' locks in an order.
        let (cmp, then_o, else_o) = match self.if_order(&i.cond) {
            Some((c, t, e)) => (Some(c), t, e),
            None => (None, 0, 0),
        };
        let (t, f, binds) = self.cond(&i.cond);
        let cond_temps = if scoped {
            self.temps.pop().unwrap_or_default()
        } else {
            Vec::new()
        };
        let result = self.new_guard();
        // Then branch.
        self.cur = t;
        if !has_let {
            self.release_all(&cond_temps, span);
        }
        // The `then` block of a scoped `if let` still holds the scrutinee temporaries: a
        // `break`, `continue`, `return` or `?` in it drops them on the way out.
        let held = has_let && scoped;
        if held {
            self.temps.push(cond_temps.clone());
        }
        self.scopes.push(Scope { bindings: binds });
        let entered = self.enter_order(cmp.as_ref(), then_o);
        let tv = self.block_inner(&i.then_branch, ext);
        self.leave_order(entered);
        let then_owned = self.yield_value(&tv, result, span);
        let sc = self.scopes.pop().unwrap_or_default();
        self.drop_scope(&sc, self.map.span(i.then_branch.brace_token.span.close()));
        if held {
            self.temps.pop();
        }
        if has_let {
            self.release_all(&cond_temps, span);
        }
        let then_end = self.cur;
        // Else branch.
        self.cur = f;
        self.release_all(&cond_temps, span);
        let mut else_owned = false;
        let mut ev = None;
        if let Some((_, e)) = &i.else_branch {
            let entered = self.enter_order(cmp.as_ref(), else_o);
            let v = self.expr(e, ext);
            self.leave_order(entered);
            else_owned = self.yield_value(&v, result, span);
            ev = Some(v);
        }
        let else_end = self.cur;
        self.join(&[then_end, else_end]);
        // The value's place and type: a branch's when the other one does not come back
        // (`let t = if let Some(t) = m.remove(k) { t } else { return }`), or both's.
        let (place, ty) = match (then_end, else_end, ev) {
            (Some(_), None, _) => (tv.place, tv.ty),
            (None, Some(_), Some(ev)) => (ev.place, ev.ty),
            (_, _, Some(ev)) if ev.place == tv.place => (tv.place, tv.ty.or(ev.ty)),
            _ => (None, None),
        };
        if then_owned || else_owned {
            return Val {
                guards: vec![result],
                fresh: true,
                place,
                ty,
                ..Val::default()
            };
        }
        Val {
            place,
            ty,
            ..Val::default()
        }
    }

    /// A branch yields a value carrying guards: move them into the join's result guard.
    pub(super) fn yield_value(&mut self, v: &Val, result: GuardId, span: Span) -> bool {
        if v.guards.is_empty() {
            return false;
        }
        for &g in &v.guards {
            self.emit(Op::Transfer {
                from: g,
                to: result,
                span,
            });
        }
        true
    }

    pub(super) fn match_expr(&mut self, m: &syn::ExprMatch, ext: Ext) -> Val {
        let cmp = self.match_order(&m.expr);
        let scrut = self.expr(&m.expr, Ext::None);
        let span = self.span(&*m.expr);
        // Scrutinee temporaries live through every arm, to the end of the enclosing statement.
        let call = self.call_of(&m.expr);
        let before = self.cur;
        let result = self.new_guard();
        let mut ends = Vec::new();
        let mut any_owned = false;
        let mut settled = false;
        // The value's place and type: the one every arm that comes back yields
        // (`let vm = match space() { Some(vm) => vm, None => return 0 }`).
        let mut yielded: Option<(Option<Place>, Option<TypeRef>)> = None;
        let mut mixed = false;
        for (ai, arm) in m.arms.iter().enumerate() {
            self.cur = before;
            if let Some((call, ok)) = call.zip(pattern_outcome(&arm.pat)) {
                self.emit(Op::CallOutcome { call, ok });
            }
            let v = self.matched_value(&scrut, &arm.pat);
            let mut scope = Scope::default();
            let names = pat_idents(&arm.pat);
            // `Some(h) =>` on a place: the value in the `Option` (or the element `get`,
            // `first`, `next` returned); `Frame::Data { queue, .. } =>` its field.
            let base = scrut
                .place
                .clone()
                .filter(|p| !matches!(p.root, Root::Opaque));
            let parts = pattern_places(&arm.pat, base.as_ref());
            let aliases: Vec<Option<Place>> = names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    parts
                        .get(i)
                        .and_then(|(_, p)| p.clone())
                        .map(|p| self.named_by_binding(n, p))
                })
                .collect();
            let alias_of = |i: usize, _: &str| aliases.get(i).cloned().flatten();
            if pattern_takes_value(&arm.pat) && !v.guards.is_empty() && !names.is_empty() {
                let owned = self.take_ownership(&v, span);
                for (i, n) in names.into_iter().enumerate() {
                    let alias = alias_of(i, &n);
                    scope.bindings.push(Binding {
                        name: n,
                        guards: if i == 0 { owned.clone() } else { Vec::new() },
                        alias,
                        ty: None,
                        tag: 0,
                        closure: None,
                    });
                }
            } else {
                if !settled && v.fresh && !v.guards.is_empty() {
                    // A guard scrutinee not taken by the pattern is a temporary of the statement.
                    settled = true;
                    if let Some(t) = self.temps.last_mut() {
                        t.extend(v.guards.iter().copied());
                    }
                }
                for (i, n) in names.into_iter().enumerate() {
                    let alias = alias_of(i, &n);
                    scope.bindings.push(Binding {
                        name: n,
                        guards: Vec::new(),
                        alias,
                        ty: None,
                        tag: 0,
                        closure: None,
                    });
                }
            }
            self.scopes.push(scope);
            if let Some((_, g)) = &arm.guard {
                // A match guard is a temporary scope: its temporaries (a guard from
                // `self.state().doorbell().is_some()`) are dropped before the arm's body.
                self.temps.push(Vec::new());
                let _ = self.operand(g);
                let t = self.temps.pop().unwrap_or_default();
                self.release_all(&t, self.span(&**g));
            }
            let outcomes = cmp
                .as_ref()
                .map_or(0, |c| Self::arm_outcomes(c, &m.arms, ai));
            let entered = self.enter_order(cmp.as_ref(), outcomes);
            let av = self.expr(&arm.body, ext);
            self.leave_order(entered);
            any_owned |= self.yield_value(&av, result, span);
            let sc = self.scopes.pop().unwrap_or_default();
            self.drop_scope(&sc, self.span(&arm.body));
            if self.cur.is_some() {
                match &mut yielded {
                    None => yielded = Some((av.place, av.ty)),
                    Some((p, t)) if *p == av.place => {
                        if t.is_none() {
                            *t = av.ty;
                        }
                    }
                    Some(_) => mixed = true,
                }
            }
            ends.push(self.cur);
        }
        if m.arms.is_empty() {
            ends.push(None);
        }
        self.join(&ends);
        let (place, ty) = match yielded {
            Some(v) if !mixed => v,
            _ => (None, None),
        };
        if any_owned {
            return Val {
                guards: vec![result],
                fresh: true,
                place,
                ty,
                ..Val::default()
            };
        }
        Val {
            place,
            ty,
            ..Val::default()
        }
    }

    pub(super) fn loop_expr(
        &mut self,
        cond: Option<&syn::Expr>,
        body: &syn::Block,
        label: Option<&syn::Label>,
        span: Span,
    ) {
        // A `loop` may turn out to have no exit: its entry is marked once the body is known.
        let spin = if cond.is_none() {
            self.emit(Op::Nop).map(|pre| self.spin_start(pre))
        } else {
            None
        };
        let Some(head) = self.new_node() else {
            self.cur = None;
            return;
        };
        if let Some(c) = self.cur {
            self.link(c, head);
        }
        self.cur = Some(head);
        self.loops.push(LoopCx {
            label: label.map(|l| l.name.ident.to_string()),
            head,
            breaks: Vec::new(),
            scope_depth: self.scopes.len(),
            temp_depth: self.temps.len(),
            frame: self.frames.len(),
        });
        let mut exit_path = None;
        let mut iter_temps = Vec::new();
        let mut binds = Vec::new();
        if let Some(c) = cond {
            self.temps.push(Vec::new());
            let (t, f, b) = self.cond(c);
            iter_temps = self.temps.pop().unwrap_or_default();
            binds = b;
            // The false path leaves the loop, dropping the condition's temporaries.
            self.cur = f;
            self.release_all(&iter_temps, span);
            exit_path = self.cur;
            self.cur = t;
            if !contains_let(c) {
                self.release_all(&iter_temps, span);
                iter_temps.clear();
            }
        }
        // `while let` scrutinee temporaries live through the body; they are released at the end
        // of each iteration (and by `break`/`continue` through the loop's temp scope).
        self.temps.push(iter_temps.clone());
        self.scopes.push(Scope { bindings: binds });
        let v = self.block_inner(body, Ext::None);
        self.settle(&v, false);
        let sc = self.scopes.pop().unwrap_or_default();
        let close = self.map.span(body.brace_token.span.close());
        self.drop_scope(&sc, close);
        let t = self.temps.pop().unwrap_or_default();
        self.release_all(&t, close);
        if let Some(c) = self.cur {
            self.link(c, head);
        }
        let lp = self.loops.pop().expect("loop pushed above");
        if let Some(spin) = spin {
            if lp.breaks.is_empty() {
                self.spin_finish(spin, head, span);
            }
        }
        let mut preds: Vec<Option<NodeId>> = lp.breaks.into_iter().map(Some).collect();
        preds.push(exit_path);
        if cond.is_none() && preds.iter().all(|p| p.is_none()) {
            // `loop` without `break`: nothing continues after it.
            self.cur = None;
            return;
        }
        self.join(&preds);
    }

    pub(super) fn for_loop(&mut self, f: &syn::ExprForLoop) {
        let span = self.span(&*f.expr);
        // The iterator expression's temporaries live for the whole loop. A local named by value
        // (`for area in iter`) moves into the loop: what it holds (an iterator keeping a
        // guard) is dropped when the loop ends, as a temporary of the `for` statement.
        let it = self.expr(&f.expr, Ext::None);
        let moved_in =
            matches!(strip_parens(&f.expr), syn::Expr::Path(p) if p.path.get_ident().is_some());
        if moved_in && !it.fresh && !it.guards.is_empty() && !self.temps.is_empty() {
            let owned = self.take_ownership(&it, span);
            if let Some(t) = self.temps.last_mut() {
                t.extend(owned);
            }
        } else {
            self.settle(&it, false);
        }
        let Some(head) = self.new_node() else {
            self.cur = None;
            return;
        };
        if let Some(c) = self.cur {
            self.link(c, head);
        }
        self.cur = Some(head);
        self.loops.push(LoopCx {
            label: f.label.as_ref().map(|l| l.name.ident.to_string()),
            head,
            breaks: Vec::new(),
            scope_depth: self.scopes.len(),
            temp_depth: self.temps.len(),
            frame: self.frames.len(),
        });
        let exit_path = self.cur;
        let mut scope = Scope::default();
        let names = pat_idents(&f.pat);
        for (i, n) in names.iter().enumerate() {
            self.emit(Op::Assign {
                root: n.clone().into(),
            });
            let alias = if i == 0 && names.len() == 1 {
                it.place
                    .clone()
                    .filter(|p| !matches!(p.root, Root::Opaque))
                    .map(|p| self.named_by_binding(n, project(p, Proj::Elem)))
            } else {
                None
            };
            scope.bindings.push(Binding {
                name: n.clone(),
                guards: Vec::new(),
                alias,
                ty: None,
                tag: self.span(&*f.pat).start,
                closure: None,
            });
        }
        self.temps.push(Vec::new());
        self.scopes.push(scope);
        let v = self.block_inner(&f.body, Ext::None);
        self.settle(&v, false);
        let sc = self.scopes.pop().unwrap_or_default();
        let close = self.map.span(f.body.brace_token.span.close());
        self.drop_scope(&sc, close);
        let t = self.temps.pop().unwrap_or_default();
        self.release_all(&t, close);
        if let Some(c) = self.cur {
            self.link(c, head);
        }
        let lp = self.loops.pop().expect("loop pushed above");
        let mut preds: Vec<Option<NodeId>> = lp.breaks.into_iter().map(Some).collect();
        preds.push(exit_path);
        self.join(&preds);
        let _ = span;
    }

    pub(super) fn labeled_block(&mut self, b: &syn::ExprBlock, ext: Ext) -> Val {
        let Some(head) = self.new_node() else {
            self.cur = None;
            return Val::default();
        };
        if let Some(c) = self.cur {
            self.link(c, head);
        }
        self.cur = Some(head);
        self.loops.push(LoopCx {
            label: b.label.as_ref().map(|l| l.name.ident.to_string()),
            head,
            breaks: Vec::new(),
            scope_depth: self.scopes.len(),
            temp_depth: self.temps.len(),
            frame: self.frames.len(),
        });
        let v = self.block(&b.block, ext);
        self.settle(&v, false);
        let lp = self.loops.pop().expect("pushed above");
        let mut preds: Vec<Option<NodeId>> = lp.breaks.into_iter().map(Some).collect();
        preds.push(self.cur);
        self.join(&preds);
        Val::default()
    }

    pub(super) fn break_to(
        &mut self,
        label: Option<&syn::Lifetime>,
        span: Span,
        is_continue: bool,
    ) {
        let name = label.map(|l| l.ident.to_string());
        let frame = self.frames.len();
        let idx = self
            .loops
            .iter()
            .rposition(|l| l.frame == frame && (name.is_none() || l.label == name));
        let Some(idx) = idx else {
            self.cur = None;
            return;
        };
        let (sd, td, head) = (
            self.loops[idx].scope_depth,
            self.loops[idx].temp_depth,
            self.loops[idx].head,
        );
        self.unwind(sd, td, span);
        if !is_continue {
            self.emit(Op::Leave { span });
        }
        if let Some(c) = self.cur {
            if is_continue {
                self.link(c, head);
            } else {
                self.loops[idx].breaks.push(c);
            }
        }
        self.cur = None;
    }
}
