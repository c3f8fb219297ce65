//! Values: an expression reduced to a [`Val`] tree.

use super::*;

impl Collector<'_> {
    /// The value tree of an expression, `depth` levels below an operand.
    pub(super) fn val(&self, e: &syn::Expr, depth: usize) -> Val {
        if depth > MAX_VAL_DEPTH {
            return Val::Unknown;
        }
        let d = depth + 1;
        match e {
            syn::Expr::Lit(_) => Val::Lit,
            syn::Expr::Path(p) => self.path_val(&p.path),
            syn::Expr::Field(f) => Val::Field {
                base: Box::new(self.val(&f.base, d)),
                name: match &f.member {
                    syn::Member::Named(n) => n.to_string(),
                    syn::Member::Unnamed(i) => i.index.to_string(),
                },
            },
            syn::Expr::MethodCall(m) => self.method_val(m, d),
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
            syn::Expr::Binary(b) => Val::Bin {
                op: bin_op(&b.op),
                l: Box::new(self.val(&b.left, d)),
                r: Box::new(self.val(&b.right, d)),
            },
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

    /// A path: `self`, a closure parameter or local in scope, or else a constant (upper case)
    /// or some other path.
    fn path_val(&self, path: &syn::Path) -> Val {
        if path.segments.len() == 1 {
            let name = path.segments[0].ident.to_string();
            return self.bound_val(&name).unwrap_or_else(|| {
                if is_const_name(&name) {
                    Val::Const(name)
                } else {
                    Val::Path(name)
                }
            });
        }
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let last = segs.last().cloned().unwrap_or_default();
        if is_const_name(&last) {
            Val::Const(segs.join("::"))
        } else {
            Val::Path(segs.join("::"))
        }
    }

    /// `self`, or a name bound in the closure being turned into a value or in a scope.
    fn bound_val(&self, name: &str) -> Option<Val> {
        if name == "self" {
            return Some(Val::SelfRef {
                ty: self.ctx.self_ty.clone(),
            });
        }
        let bound = self
            .overlay
            .borrow()
            .iter()
            .rev()
            .find(|o| o.0 == name)
            .cloned();
        if let Some((name, init, decl_span, text)) = bound {
            return Some(Val::Local {
                name,
                ty: None,
                decl_span,
                init: Some(Box::new(init)),
                init_text: Some(text),
            });
        }
        let l = self.lookup(name)?;
        Some(Val::Local {
            name: l.name.clone(),
            ty: l.ty.clone(),
            decl_span: l.decl_span,
            init: l.init.clone().map(Box::new),
            init_text: l.init_text.clone(),
        })
    }

    fn method_val(&self, m: &syn::ExprMethodCall, d: usize) -> Val {
        let recv = self.val(&m.receiver, d);
        let name = m.method.to_string();
        // `opt.map(|s| s.0 as u32)`: the value is the closure's body, with `s` an
        // element of the receiver.
        if MAPPING_METHODS.contains(&name.as_str()) {
            if let Some(body) = self.mapped_val(m, &recv, d) {
                return Val::Method {
                    recv: Box::new(recv),
                    name,
                    args: vec![body],
                };
            }
        }
        Val::Method {
            recv: Box::new(recv),
            name,
            args: m.args.iter().map(|a| self.val(a, d)).collect(),
        }
    }

    /// The body of the one-parameter closure handed to a mapping method, its parameter bound
    /// to an element of `recv`.
    fn mapped_val(&self, m: &syn::ExprMethodCall, recv: &Val, d: usize) -> Option<Val> {
        let syn::Expr::Closure(c) = m.args.last().map(strip)? else {
            return None;
        };
        let param = c.inputs.first().and_then(|p| match p {
            syn::Pat::Ident(pi) => Some(pi),
            syn::Pat::Reference(r) => match &*r.pat {
                syn::Pat::Ident(pi) => Some(pi),
                _ => None,
            },
            _ => None,
        });
        let (Some(pi), 1) = (param, c.inputs.len()) else {
            return None;
        };
        let elem = Val::Method {
            recv: Box::new(recv.clone()),
            name: ELEM_NAME.into(),
            args: Vec::new(),
        };
        let text = format!("an element of `{}`", self.text(&*m.receiver));
        self.overlay
            .borrow_mut()
            .push((pi.ident.to_string(), elem, self.span(&pi.ident), text));
        let body = self.val(&c.body, d);
        self.overlay.borrow_mut().pop();
        Some(body)
    }
}

/// An upper-case name (`MAX_SEQ`, `U32_MAX`): a constant.
fn is_const_name(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_uppercase() || c == '_' || c.is_ascii_digit())
}

fn bin_op(op: &syn::BinOp) -> BinOp {
    use syn::BinOp as B;
    match op {
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
    }
}
