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
                syn::Expr::Path(p) => {
                    let path: Vec<String> = p
                        .path
                        .segments
                        .iter()
                        .map(|s| s.ident.to_string())
                        .collect();
                    let local = match path.as_slice() {
                        [name] => self.local_fn(name).map(|f| Box::new(f.clone())),
                        _ => None,
                    };
                    Val::Call {
                        path,
                        args: c.args.iter().map(|a| self.val(a, d)).collect(),
                        local,
                    }
                }
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
            syn::Expr::If(_) | syn::Expr::Match(_) | syn::Expr::Block(_) | syn::Expr::Unsafe(_) => {
                let mut branches = Vec::new();
                self.branch_vals(e, d, &mut branches);
                if branches.is_empty() {
                    Val::Unknown
                } else {
                    Val::Join(branches)
                }
            }
            _ => Val::Unknown,
        }
    }

    /// The function item of this name declared in an enclosing block, innermost first.
    fn local_fn(&self, name: &str) -> Option<&FnSig> {
        self.local_fns
            .iter()
            .rev()
            .flat_map(|s| s.iter())
            .find(|f| f.name == name)
    }

    /// The values an `if` / `match` / block can end with, into `out`; a diverging branch adds
    /// none. The value trees are built with the bindings in scope where the expression is,
    /// so a branch that binds names of its own (`if let`, a `let` in the block, a match arm
    /// binding its pattern) is [`Val::Unknown`]: its names could mean something else there.
    fn branch_vals(&self, e: &syn::Expr, d: usize, out: &mut Vec<Val>) {
        if out.len() > MAX_BRANCHES {
            out.push(Val::Unknown);
            return;
        }
        match strip(e) {
            syn::Expr::If(i) => {
                let Some((_, els)) = &i.else_branch else {
                    out.push(Val::Unknown);
                    return;
                };
                if binds_in_cond(&i.cond) {
                    out.push(Val::Unknown);
                } else {
                    self.block_vals(&i.then_branch, d, out);
                }
                self.branch_vals(els, d, out);
            }
            syn::Expr::Match(m) => {
                for arm in &m.arms {
                    if binds_nothing(&arm.pat) {
                        self.branch_vals(&arm.body, d, out);
                    } else if !diverges(&arm.body) {
                        out.push(Val::Unknown);
                    }
                }
            }
            syn::Expr::Block(b) if b.label.is_none() => self.block_vals(&b.block, d, out),
            syn::Expr::Unsafe(b) => self.block_vals(&b.block, d, out),
            e if diverges(e) => {}
            e => out.push(self.val(e, d)),
        }
    }

    fn block_vals(&self, b: &syn::Block, d: usize, out: &mut Vec<Val>) {
        let own_bindings = b
            .stmts
            .iter()
            .any(|s| matches!(s, syn::Stmt::Local(_) | syn::Stmt::Item(_)));
        match b.stmts.last() {
            Some(syn::Stmt::Expr(e, None)) if !own_bindings => self.branch_vals(e, d, out),
            Some(syn::Stmt::Expr(e, Some(_))) if diverges(e) => {}
            Some(syn::Stmt::Macro(m)) if diverging_macro(&m.mac) => {}
            _ => out.push(Val::Unknown),
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

/// Most branches of one `if` chain or `match` kept in a value tree.
const MAX_BRANCHES: usize = 16;

/// `return`, `break`, `continue`, `panic!(..)` and the like: no value.
fn diverges(e: &syn::Expr) -> bool {
    match strip(e) {
        syn::Expr::Return(_) | syn::Expr::Break(_) | syn::Expr::Continue(_) => true,
        syn::Expr::Macro(m) => diverging_macro(&m.mac),
        syn::Expr::Block(b) => match b.block.stmts.last() {
            Some(syn::Stmt::Expr(e, _)) => diverges(e),
            Some(syn::Stmt::Macro(m)) => diverging_macro(&m.mac),
            _ => false,
        },
        _ => false,
    }
}

fn diverging_macro(m: &syn::Macro) -> bool {
    m.path.segments.last().is_some_and(|s| {
        matches!(
            s.ident.to_string().as_str(),
            "panic" | "unreachable" | "todo" | "unimplemented"
        )
    })
}

/// The condition binds names (`if let`, a let chain).
fn binds_in_cond(c: &syn::Expr) -> bool {
    match strip(c) {
        syn::Expr::Let(_) => true,
        syn::Expr::Binary(b) => binds_in_cond(&b.left) || binds_in_cond(&b.right),
        _ => false,
    }
}

/// A pattern that binds no name: literals, `_`, paths and unit variants (`None`, upper-case
/// names), and tuples, references and alternatives of those.
fn binds_nothing(p: &syn::Pat) -> bool {
    match p {
        syn::Pat::Wild(_) | syn::Pat::Lit(_) | syn::Pat::Range(_) | syn::Pat::Path(_) => true,
        syn::Pat::Rest(_) => true,
        syn::Pat::Ident(i) => {
            i.subpat.is_none() && i.ident.to_string().starts_with(|c: char| c.is_uppercase())
        }
        syn::Pat::Or(o) => o.cases.iter().all(binds_nothing),
        syn::Pat::Paren(p) => binds_nothing(&p.pat),
        syn::Pat::Reference(r) => binds_nothing(&r.pat),
        syn::Pat::Tuple(t) => t.elems.iter().all(binds_nothing),
        syn::Pat::TupleStruct(t) => t.elems.iter().all(binds_nothing),
        _ => false,
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
