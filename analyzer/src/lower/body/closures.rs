//! Closures: inlined at the call that runs them, or lowered as functions of their own when they run elsewhere.

use super::*;

impl<'a> BodyLowerer<'a> {
    pub(super) fn lower_closure_as_fn(&mut self, body: &syn::Expr, end: Span) -> Body {
        self.start();
        self.frames.push(Frame {
            exits: Vec::new(),
            scope_depth: 0,
            temp_depth: 0,
            is_fn: true,
        });
        self.scopes.push(Scope::default());
        self.temps.push(Vec::new());
        self.unshared_at = super::unshared::unshared_acquisitions(
            super::unshared::BodyRoot::Expr(body),
            self.map,
            &[],
        );
        let v = self.expr(body, Ext::None);
        self.finish_fn(v, end)
    }

    /// The closures passed to a call: inlined at the call (the first one-parameter closure
    /// receives the combinator's element) or lowered as functions of their own (their paths
    /// returned).
    pub(super) fn run_closures(
        &mut self,
        closures: Vec<syn::ExprClosure>,
        run: calls::ClosureRun,
        span: Span,
    ) -> Vec<String> {
        let call_node = self.cur;
        let mut elem = match run {
            calls::ClosureRun::Elsewhere => {
                return closures.iter().map(|c| self.spawn_closure(c)).collect();
            }
            calls::ClosureRun::Inline(elem) => elem,
        };
        for c in closures {
            let e = if c.inputs.len() == 1 {
                elem.take()
            } else {
                None
            };
            self.inline_closure_at(&c, span, call_node, e);
        }
        Vec::new()
    }

    /// Closures passed to a call that is not a known combinator of the standard library run
    /// during the call (inlined there), but the callee may also keep them for later
    /// (`event::register_callback(irq, |..| ..)` storing its parameter in a table): each is
    /// lowered a second time as a function of its own, a *value copy* named `{value#N}`,
    /// passed as the call's argument (`Body::fn_stores`). `resolve::fnvalues` keeps the copies
    /// a callee stores; the others are not analyzed.
    pub(super) fn value_copies(
        &mut self,
        closures: &[(u32, syn::ExprClosure)],
        call: Option<NodeId>,
    ) {
        let Some(call) = call else { return };
        for (index, c) in closures {
            // Never inside another copy: nested closures would be lowered once per
            // combination of copies (2^depth).
            if self.in_value_copy || self.value_count >= MAX_VALUE_COPIES {
                return;
            }
            let func = self.spawn_closure_kind(c, VALUE_KIND);
            self.fn_store(
                FnStoreTo::Arg {
                    call,
                    index: *index,
                },
                func,
            );
        }
    }

    /// A closure bound to a local and called here runs here.
    pub(super) fn inline_closure(&mut self, c: &syn::ExprClosure, span: Span) {
        self.inline_closure_at(c, span, None, None);
    }

    /// A closure passed to a call runs during that call, under the locks held there (and
    /// under whatever the callee holds when it calls the closure: see `ClosureEnter`).
    pub(super) fn inline_closure_at(
        &mut self,
        c: &syn::ExprClosure,
        span: Span,
        call: Option<NodeId>,
        elem: Option<Place>,
    ) {
        let key = self.span(c).start;
        if self.inlining.contains(&key) {
            // A closure reached again from its own body (through shadowed names): stop here.
            return;
        }
        if self.inline_depth > 8 {
            self.spawn_closure(c);
            return;
        }
        self.inline_depth += 1;
        self.inlining.push(key);
        let enter = call.and_then(|call| self.emit(Op::ClosureEnter { call, exit: None }));
        let saved_loops = std::mem::take(&mut self.loops);
        self.frames.push(Frame {
            exits: Vec::new(),
            scope_depth: self.scopes.len(),
            temp_depth: self.temps.len(),
            is_fn: false,
        });
        self.scopes.push(Scope::default());
        // An iterator's or an `Option`'s element, for a one-parameter closure of a combinator.
        for input in &c.inputs {
            // Like the parameters of a closure lowered on its own: typed when annotated.
            let (pat, ty) = split_pat_type(input);
            let ty = ty.filter(|_| matches!(pat, syn::Pat::Ident(_)));
            let tag = self.span(input).start;
            for name in pat_idents(pat) {
                let alias = match (&elem, pat, &ty) {
                    (Some(p), syn::Pat::Ident(_), None) => {
                        // `v.first().map(|x| ..)`: the receiver is the element already.
                        let p = if names_element(p) {
                            p.clone()
                        } else {
                            project(p.clone(), Proj::Elem)
                        };
                        Some(self.named_by_binding(&name, p))
                    }
                    _ => None,
                };
                self.bind(Binding {
                    name,
                    guards: Vec::new(),
                    alias,
                    ty: ty.clone(),
                    tag,
                    closure: None,
                });
            }
        }
        self.temps.push(Vec::new());
        let v = self.expr(&c.body, Ext::None);
        self.settle(&v, false);
        let t = self.temps.pop().unwrap_or_default();
        self.release_all(&t, span);
        let scope = self.scopes.pop().unwrap_or_default();
        self.drop_scope(&scope, span);
        let frame = self.frames.pop().expect("frame pushed above");
        let mut preds: Vec<Option<NodeId>> = frame.exits.into_iter().map(Some).collect();
        preds.push(self.cur);
        self.join(&preds);
        if call.is_some() {
            let exit = self.emit(Op::ClosureExit);
            if let (Some(e), Some(x)) = (enter, exit) {
                if let Op::ClosureEnter { exit, .. } = &mut self.nodes[e as usize].op {
                    *exit = Some(x);
                }
            }
        }
        self.loops = saved_loops;
        self.inline_depth -= 1;
        self.inlining.pop();
    }

    /// A closure that runs elsewhere becomes a function of its own, analyzed with no caller
    /// lock; its path is returned.
    pub(super) fn spawn_closure(&mut self, c: &syn::ExprClosure) -> String {
        self.spawn_closure_kind(c, "closure")
    }

    pub(super) fn spawn_closure_kind(&mut self, c: &syn::ExprClosure, kind: &str) -> String {
        let own = c
            .inputs
            .iter()
            .flat_map(|p| {
                let (pat, ty) = split_pat_type(p);
                pat_idents(pat)
                    .into_iter()
                    .map(move |n| (n, ty.clone().unwrap_or(TypeRef::Unknown)))
            })
            .collect();
        let end = self.span(&c.body);
        self.spawn_body(
            |bl| bl.lower_closure_as_fn(&c.body, end),
            kind,
            self.span(c),
            own,
            &c.body,
        )
    }

    pub(super) fn spawn_body_block(&mut self, b: &syn::Block, kind: &str) {
        let end = self.map.span(b.brace_token.span.close());
        let expr = syn::Expr::Block(syn::ExprBlock {
            attrs: Vec::new(),
            label: None,
            block: b.clone(),
        });
        self.spawn_body(
            |bl| bl.lower_closure_as_fn(&expr, end),
            kind,
            end,
            Vec::new(),
            b,
        );
    }

    /// Lower a closure or async block that runs elsewhere as a function of its own. It sees
    /// what the enclosing function sees at this point (its module, `self`, the parameters and
    /// the bindings in scope with their types and aliases), minus the names its own parameters
    /// `own` hide, and none of the guards held here. `body` is the source it lowers: only the
    /// names it mentions are recorded as captures.
    pub(super) fn spawn_body(
        &mut self,
        f: impl FnOnce(&mut BodyLowerer<'a>) -> Body,
        kind: &str,
        span: Span,
        own: Vec<(String, TypeRef)>,
        body: &dyn ToTokens,
    ) -> String {
        // Value copies (see `value_copies`) are numbered apart, so the closures lowered as
        // before keep their names.
        let n = if kind == VALUE_KIND {
            self.value_count += 1;
            self.value_count
        } else {
            self.closure_count += 1;
            self.closure_count
        };
        let path = format!("{}::{{{kind}#{n}}}", self.fn_path);
        let hidden = |n: &str| own.iter().any(|(o, _)| o == n);
        // Names the body mentions, and those of closures in scope it may call and inline.
        let mut mentioned = BTreeSet::new();
        idents_of(body.to_token_stream(), &mut mentioned);
        for b in self.scopes.iter().flat_map(|s| s.bindings.iter()) {
            if let Some(c) = b.closure.as_ref().filter(|_| mentioned.contains(&b.name)) {
                idents_of(c.body.to_token_stream(), &mut mentioned);
            }
        }
        let owners: BTreeMap<(&str, Option<u32>), &str> = self
            .enclosing
            .captures
            .iter()
            .map(|c| ((c.name.as_str(), c.tag), c.owner.as_str()))
            .collect();
        let owner = |name: &str, tag: Option<u32>| {
            owners
                .get(&(name, tag))
                .map_or_else(|| self.fn_path.clone(), |o| (*o).to_string())
        };
        let mut captures: BTreeMap<(String, Option<u32>), String> = BTreeMap::new();
        let mut params = own.clone();
        for (n, t) in &self.params {
            if !hidden(n) && !params.iter().any(|(p, _)| p == n) {
                params.push((n.clone(), t.clone()));
                if mentioned.contains(n) {
                    captures.insert((n.clone(), None), owner(n, None));
                }
            }
        }
        // Captured bindings keep their types and aliases (a closure capturing `state` sees
        // `self.state`), and hold no guard.
        let mut captured = Scope::default();
        for b in self.scopes.iter().flat_map(|s| s.bindings.iter()) {
            if b.name.is_empty() || hidden(&b.name) {
                continue;
            }
            if mentioned.contains(&b.name) {
                captures.insert((b.name.clone(), Some(b.tag)), owner(&b.name, Some(b.tag)));
                // The root the binding aliases (`let a2 = Arc::clone(&a)` names `a`).
                match b.alias.as_ref().map(|a| &a.root) {
                    Some(Root::Local { name, tag, .. }) => {
                        captures.insert(
                            (name.clone().to_string(), Some(*tag)),
                            owner(name, Some(*tag)),
                        );
                    }
                    Some(Root::Param { name, .. }) => {
                        captures.insert((name.clone().to_string(), None), owner(name, None));
                    }
                    _ => {}
                }
            }
            captured.bindings.push(Binding {
                guards: Vec::new(),
                ..b.clone()
            });
        }
        let captures = captures
            .into_iter()
            .map(|((name, tag), owner)| Capture { name, tag, owner })
            .collect();
        let mut def = FnDef {
            path: path.clone().into(),
            name: format!("{{{kind}#{n}}}").into(),
            module: self.enclosing.module.clone().into(),
            self_ty: self.enclosing.self_ty.clone(),
            trait_name: self.enclosing.trait_name.clone(),
            in_trait: self.enclosing.in_trait,
            has_self: self.enclosing.has_self,
            params: Vec::new(),
            ret: None,
            is_async: kind == "async",
            attrs: Vec::new(),
            span,
            name_span: span,
            body: None,
            test_only: self.enclosing.test_only,
            accessor_of: None,
            generics: Vec::new(),
            captures,
            foreign_entry: false,
            allows_dead_code: false,
            cfg: self.enclosing.cfg.clone(),
        };
        let mut sub = BodyLowerer::new(self.map, self.edition, self.config, &def);
        sub.params = params;
        // Nesting carries over, so closures that mention each other cannot recurse forever.
        sub.inline_depth = self.inline_depth;
        sub.depth = self.depth;
        sub.inlining = self.inlining.clone();
        sub.in_value_copy = self.in_value_copy || kind == VALUE_KIND;
        sub.scopes.push(captured);
        let body = f(&mut sub);
        def.body = Some(body);
        self.extra.push(def);
        self.extra.append(&mut sub.extra);
        path
    }
}
