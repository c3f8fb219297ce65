//! Scopes and temporaries: blocks, statements and `let`, bindings and their guard slots, and unwinding the scopes a jump leaves.

use super::*;

impl<'a> BodyLowerer<'a> {
    pub(super) fn release_all(&mut self, guards: &[GuardId], span: Span) {
        for &g in guards.iter().rev() {
            self.emit(Op::Release {
                guard: g,
                span,
                explicit: false,
            });
        }
    }

    pub(super) fn drop_scope(&mut self, scope: &Scope, span: Span) {
        for b in scope.bindings.iter().rev() {
            for &g in b.guards.iter().rev() {
                self.emit(Op::Release {
                    guard: g,
                    span,
                    explicit: false,
                });
            }
        }
    }

    /// Release everything above the given depths (for `return`, `break`, `continue`, `?`).
    pub(super) fn unwind(&mut self, scope_depth: usize, temp_depth: usize, span: Span) {
        let temps: Vec<GuardId> = self.temps[temp_depth.min(self.temps.len())..]
            .iter()
            .rev()
            .flatten()
            .copied()
            .collect();
        for g in temps {
            self.emit(Op::Release {
                guard: g,
                span,
                explicit: false,
            });
        }
        let guards: Vec<GuardId> = self.scopes[scope_depth.min(self.scopes.len())..]
            .iter()
            .rev()
            .flat_map(|s| {
                s.bindings
                    .iter()
                    .rev()
                    .flat_map(|b| b.guards.iter().rev().copied())
            })
            .collect();
        for g in guards {
            self.emit(Op::Release {
                guard: g,
                span,
                explicit: false,
            });
        }
    }

    /// Leave the current frame (function or inlined closure) from here.
    pub(super) fn exit_frame(&mut self, span: Span) {
        let Some(f) = self.frames.last() else { return };
        let (sd, td, is_fn) = (f.scope_depth, f.temp_depth, f.is_fn);
        self.unwind(sd, td, span);
        if is_fn {
            self.emit(Op::Exit { span });
        } else if let Some(c) = self.cur {
            if let Some(f) = self.frames.last_mut() {
                f.exits.push(c);
            }
        }
        self.cur = None;
    }

    /// Put fresh guards of a value where they belong when nobody takes ownership.
    pub(super) fn settle(&mut self, v: &Val, ext: bool) {
        if !v.fresh || v.guards.is_empty() {
            return;
        }
        if ext {
            // Extended temporaries live as long as the `let`'s bindings, even when the `&`
            // sits in a nested block, `if` or `match` arm of the initializer.
            let at = self
                .ext_scope
                .filter(|&i| i < self.scopes.len())
                .unwrap_or(self.scopes.len().saturating_sub(1));
            if let Some(s) = self.scopes.get_mut(at) {
                s.bindings.push(Binding {
                    name: String::new(),
                    guards: v.guards.clone(),
                    alias: None,
                    ty: None,
                    tag: 0,
                    closure: None,
                });
                return;
            }
        }
        if let Some(t) = self.temps.last_mut() {
            t.extend(v.guards.iter().copied());
        }
    }

    /// A pattern or loop binding's place, named by the binding (`q`, not `self.queues[_]`) —
    /// unless the binding shadows one of the same name that stands for another place (`db`
    /// bound from `self.buf`, then an inner `db` from `src.buf`): the two are different
    /// locks, so the inner keeps its own spelling and is not taken for the outer one.
    pub(super) fn named_by_binding(&self, name: &str, mut p: Place) -> Place {
        let other = self
            .lookup(name)
            .and_then(|b| b.alias.as_ref())
            .is_some_and(|a| a.text == name && (a.root != p.root || a.proj != p.proj));
        if !other {
            p.text = name.to_string().into();
        }
        p
    }

    /// The binding shadows one of its name that is bound from the same place (nested `if let
    /// Buf::Double(db) = &self.buf`): it names the same value.
    pub(super) fn rebinds_same_place(&self, name: &str, p: Option<&Place>) -> bool {
        let Some(p) = p else { return false };
        self.lookup(name)
            .and_then(|b| b.alias.as_ref())
            .is_some_and(|a| a.text == name && a.root == p.root && a.proj == p.proj)
    }

    pub(super) fn lookup(&self, name: &str) -> Option<&Binding> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.bindings.iter().rev())
            .find(|b| b.name == name)
    }

    pub(super) fn lookup_mut(&mut self, name: &str) -> Option<&mut Binding> {
        self.scopes
            .iter_mut()
            .rev()
            .flat_map(|s| s.bindings.iter_mut().rev())
            .find(|b| b.name == name)
    }

    pub(super) fn bind(&mut self, b: Binding) {
        if let Some(s) = self.scopes.last_mut() {
            s.bindings.push(b);
        }
    }

    pub(super) fn block(&mut self, block: &syn::Block, ext: Ext) -> Val {
        self.scopes.push(Scope::default());
        let v = self.block_inner(block, ext);
        let scope = self.scopes.pop().unwrap_or_default();
        let end = self.map.span(block.brace_token.span.close());
        self.drop_scope(&scope, end);
        v
    }

    /// Statements and tail of a block whose scope is already pushed (and popped by the caller).
    pub(super) fn block_inner(&mut self, block: &syn::Block, ext: Ext) -> Val {
        let n = block.stmts.len();
        // `#[cfg(P)]` predicates of the statements lowered so far: a statement under the
        // negation of one of them belongs to another configuration (`#[cfg(feature = "std")]
        // let g = m.lock().unwrap(); #[cfg(not(feature = "std"))] let g = m.lock();`), and no
        // build has both (`cfg_gate.rs`).
        let mut cfgs = cfg_gate::BlockCfgs::default();
        for (i, stmt) in block.stmts.iter().enumerate() {
            if self.cur.is_none() {
                break;
            }
            let is_tail = i + 1 == n && matches!(stmt, syn::Stmt::Expr(_, None));
            match cfgs.classify(&block.stmts, i, self.test_only) {
                cfg_gate::StmtCfg::Skip => continue,
                cfg_gate::StmtCfg::Plain => {}
                cfg_gate::StmtCfg::Gate {
                    pred,
                    kept_if_unknown,
                } => {
                    let Some(g) = self.open_gate() else { break };
                    // an alternative kept only when decided is no tail: undecided, the block's
                    // value is the first alternative's, as a statement
                    let v = if is_tail && kept_if_unknown {
                        self.tail_stmt(stmt, ext)
                    } else {
                        self.stmt(stmt);
                        Val::default()
                    };
                    self.close_gate(g, pred, kept_if_unknown);
                    if is_tail {
                        return v;
                    }
                    continue;
                }
            }
            if is_tail {
                return self.tail_stmt(stmt, ext);
            }
            self.stmt(stmt);
        }
        Val::default()
    }

    /// A block's tail expression (`stmt` is a `Stmt::Expr` without a semicolon).
    fn tail_stmt(&mut self, stmt: &syn::Stmt, ext: Ext) -> Val {
        let syn::Stmt::Expr(e, None) = stmt else {
            unreachable_stmt()
        };
        if self.edition.is_2024() {
            self.temps.push(Vec::new());
            let v = self.expr(e, ext);
            let t = self.temps.pop().unwrap_or_default();
            self.release_all(&t, self.span(e));
            return v;
        }
        self.expr(e, ext)
    }

    pub(super) fn stmt(&mut self, stmt: &syn::Stmt) {
        match stmt {
            syn::Stmt::Local(local) => self.local(local),
            syn::Stmt::Item(_) => {}
            syn::Stmt::Expr(e, _) => {
                self.temps.push(Vec::new());
                self.stmt_expr = Some(self.span(e));
                let v = self.expr(e, Ext::None);
                self.stmt_expr = None;
                self.settle(&v, false);
                let t = self.temps.pop().unwrap_or_default();
                self.release_all(&t, self.span(e));
            }
            syn::Stmt::Macro(m) => {
                if self.stmt_macro(&m.mac) {
                    return;
                }
                self.temps.push(Vec::new());
                let v = self.mac(&m.mac);
                self.settle(&v, false);
                let t = self.temps.pop().unwrap_or_default();
                self.release_all(&t, self.span(&m.mac));
            }
        }
    }

    pub(super) fn local(&mut self, local: &syn::Local) {
        let span = self.span(local);
        self.temps.push(Vec::new());
        let (pat, ty) = split_pat_type(&local.pat);
        let Some(init) = &local.init else {
            self.temps.pop();
            for name in pat_idents(pat) {
                let tag = self.span(pat).start;
                self.bind(Binding {
                    name,
                    guards: Vec::new(),
                    alias: None,
                    ty: ty.clone(),
                    tag,
                    closure: None,
                });
            }
            return;
        };
        if init.diverge.is_none() {
            if let (syn::Pat::Tuple(pt), syn::Expr::Tuple(et)) = (pat, strip_parens(&init.expr)) {
                if pt.elems.len() == et.elems.len()
                    && !pt.elems.iter().any(|p| matches!(p, syn::Pat::Rest(_)))
                {
                    // `let (a, _) = (x, y);`: each element goes to its own sub-pattern; a
                    // value matched by `_` is a temporary of the statement.
                    let saved = self.ext_scope.replace(self.scopes.len().saturating_sub(1));
                    let vals: Vec<Val> = et
                        .elems
                        .iter()
                        .map(|e| {
                            let v = self.expr(e, Ext::Value);
                            Val { pending: None, ..v }
                        })
                        .collect();
                    self.ext_scope = saved;
                    for (p, v) in pt.elems.iter().zip(vals) {
                        if matches!(p, syn::Pat::Wild(_)) {
                            self.settle(&v, false);
                        } else {
                            self.bind_pattern(p, None, v, span);
                        }
                    }
                    let t = self.temps.pop().unwrap_or_default();
                    self.release_all(&t, span);
                    return;
                }
            }
        }
        let key = self.key_of_init(pat, &init.expr);
        let saved = self.ext_scope.replace(self.scopes.len().saturating_sub(1));
        let mut v = self.expr(&init.expr, Ext::Value);
        self.ext_scope = saved;
        if let Some((_, diverge)) = &init.diverge {
            // let-else: the else branch runs when the pattern does not match, and diverges.
            // A call matched by its outcome (`let Some(x) = f() else ..`): each path says it.
            let outcome = self.call_of(&init.expr).zip(pattern_outcome(pat));
            let before = self.cur;
            let refutable_try = v.pending.is_some();
            let t = self.temps.pop().unwrap_or_default();
            self.temps.push(Vec::new());
            if let Some((call, ok)) = outcome {
                self.emit(Op::CallOutcome { call, ok: !ok });
            }
            self.release_all(&t, self.span(&**diverge));
            let _ = self.expr(diverge, Ext::None);
            self.settle_stmt_temps(span);
            self.cur = before;
            if let Some((call, ok)) = outcome {
                self.emit(Op::CallOutcome { call, ok });
            }
            self.temps.push(t);
            if refutable_try {
                v = self.take_pending(v);
            }
        } else if v.pending.is_some() {
            // `let r = m.try_lock();` keeps a Result that may hold the guard: the binding owns
            // it on the path where the try succeeded.
            let before = self.cur;
            v = self.take_pending(v);
            let after = self.cur;
            self.join(&[after, before]);
        }
        self.bind_pattern(pat, ty, v, span);
        self.note_key(key);
        // `let mut held = None;` may be given a guard later (`held = Some(m.lock())`): the
        // binding has its slot from the start, so a test of `held.is_none()` before that
        // assignment (a loop's next iteration) reads the same slot.
        if let (syn::Pat::Ident(pi), syn::Expr::Path(p)) = (pat, strip_parens(&init.expr)) {
            if p.path.is_ident("None") && pi.subpat.is_none() {
                let name = pi.ident.to_string();
                if self.lookup(&name).is_some_and(|b| b.guards.is_empty()) {
                    let slot = self.new_guard();
                    if let Some(b) = self.lookup_mut(&name) {
                        b.guards.push(slot);
                    }
                }
            }
        }
        let t = self.temps.pop().unwrap_or_default();
        self.release_all(&t, span);
    }

    pub(super) fn settle_stmt_temps(&mut self, span: Span) {
        let t = self.temps.pop().unwrap_or_default();
        self.release_all(&t, span);
    }

    /// Bind a value to a pattern: an identifier takes ownership of the guards; `_` drops a
    /// fresh guard at once; other patterns keep it alive with the binding's scope.
    pub(super) fn bind_pattern(&mut self, pat: &syn::Pat, ty: Option<TypeRef>, v: Val, span: Span) {
        let tag = self.span(pat).start;
        match pat {
            syn::Pat::Wild(_) => {
                if v.fresh {
                    self.release_all(&v.guards, span);
                }
            }
            syn::Pat::Ident(pi) if pi.subpat.is_none() => {
                let name = pi.ident.to_string();
                let guards = self.take_ownership(&v, span);
                let mut alias = v.place.clone().filter(|p| !matches!(p.root, Root::Opaque));
                // `let l = Type::new(..)`: a new value of `Type`, not an alias of the call.
                let mut ty = ty;
                if let Some(Place {
                    root: Root::Call(segs),
                    proj,
                    ..
                }) = &alias
                {
                    if let Some(t) = constructor_type(segs).filter(|_| proj.is_empty()) {
                        ty = ty.or(v.ty.clone()).or(Some(t));
                        alias = None;
                    }
                }
                // `let d = Data { .. }`, `let v = vec![..]`, `let a = Arc::new(..)`.
                if alias.is_none() {
                    ty = ty.or(v.ty.clone());
                }
                self.emit(Op::Assign {
                    root: name.clone().into(),
                });
                // `let h = Box::new(move || ..)`: the local holds that closure.
                if let Some(func) = v.func.clone().filter(|_| alias.is_none()) {
                    let to = Place {
                        root: Root::Local {
                            name: name.clone().into(),
                            ty: ty.clone().map(Into::into),
                            tag,
                        },
                        proj: Vec::new(),
                        text: name.clone().into(),
                    };
                    self.fn_store(FnStoreTo::Flow(FlowTo::Place(to)), func);
                }
                self.bind(Binding {
                    name,
                    guards,
                    alias,
                    ty,
                    tag,
                    closure: v.closure,
                });
            }
            _ => {
                // `let Dev { queue, .. } = &self.dev`: each binding names its part of the value
                let base = v.place.clone().filter(|p| !matches!(p.root, Root::Opaque));
                let bound = pattern_places(pat, base.as_ref());
                let guards = self.take_ownership(&v, span);
                let mut first = true;
                for (name, alias) in bound {
                    self.emit(Op::Assign {
                        root: name.clone().into(),
                    });
                    let g = if first { guards.clone() } else { Vec::new() };
                    first = false;
                    self.bind(Binding {
                        name,
                        guards: g,
                        alias,
                        ty: None,
                        tag,
                        closure: None,
                    });
                }
                if first && !guards.is_empty() {
                    // No binding at all (a literal pattern): the value is dropped at once.
                    self.release_all(&guards, span);
                }
            }
        }
    }

    /// Guards a new owner takes from a value: fresh guards directly, a binding's guards moved
    /// through a transfer (the old owner's drop then does nothing).
    pub(super) fn take_ownership(&mut self, v: &Val, span: Span) -> Vec<GuardId> {
        if v.guards.is_empty() {
            return Vec::new();
        }
        if v.fresh {
            return v.guards.clone();
        }
        let mut out = Vec::new();
        for &g in &v.guards {
            let n = self.new_guard();
            self.emit(Op::Transfer {
                from: g,
                to: n,
                span,
            });
            out.push(n);
        }
        out
    }
}
