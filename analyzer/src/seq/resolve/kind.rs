//! What a value is: a sequence number (and the evidence for it), an offset, or not one.

use super::*;

/// Why a value is taken for a sequence number.
#[derive(Clone, Debug)]
pub(super) struct Ev {
    pub(super) subject: String,
    pub(super) why: String,
    /// Where the evidence is written: the declaration, the assignment, the type.
    pub(super) labels: Vec<(Span, String)>,
    /// Only a name says so: no type on the way is known to be a 32-bit sequence number.
    pub(super) by_name: bool,
}

impl Ev {
    pub(super) fn note(&self) -> String {
        format!("`{}` is a sequence number: {}", self.subject, self.why)
    }
}

#[derive(Clone, Debug)]
pub(super) enum Kind {
    /// A plain integer holding a sequence number. `certain`: its declared type is known to be
    /// `u32`/`i32`; `cast`: it was widened (`as usize`).
    Raw {
        certain: bool,
        cast: bool,
        ev: Ev,
    },
    /// `Wrapping<u32>`: arithmetic wraps, ordering does not.
    Wrap {
        ev: Ev,
    },
    /// A sequence newtype; its impls decide.
    Newtype,
    /// The distance between two sequence numbers.
    Offset,
    Lit,
    /// Known not to be a sequence number.
    NotSeq,
    Unknown,
}

impl Kind {
    pub(super) fn is_seq(&self) -> bool {
        matches!(self, Kind::Raw { .. } | Kind::Wrap { .. })
    }
    pub(super) fn ev(&self) -> Option<&Ev> {
        match self {
            Kind::Raw { ev, .. } | Kind::Wrap { ev } => Some(ev),
            _ => None,
        }
    }
    pub(super) fn certain_raw(&self) -> bool {
        matches!(
            self,
            Kind::Raw {
                certain: true,
                cast: false,
                ..
            }
        )
    }
}

impl Index<'_> {
    /// The kind of a value of declared type `ty` held under `name`.
    pub(super) fn type_kind(&self, ty: &TypeRef, name: &str, ev: impl Fn() -> Ev) -> Kind {
        let (t, seq_alias) = self.unalias(ty);
        let named = self.seq_name(name) || seq_alias.is_some();
        let with_alias = |mut e: Ev| {
            if let Some(a) = &seq_alias {
                e.why = format!("{} (alias `{a}`)", e.why);
            }
            e
        };
        match t.name.as_str() {
            n if PASS_THROUGH_TYPES.contains(&n) => match t.args.first() {
                Some(a) => self.type_kind(a, name, ev),
                None => Kind::Unknown,
            },
            "AtomicU32" | "AtomicI32" if named => Kind::Raw {
                certain: false,
                cast: false,
                ev: with_alias(ev()),
            },
            "u32" | "i32" if named => Kind::Raw {
                certain: true,
                cast: false,
                ev: with_alias(ev()),
            },
            "u32" | "i32" => Kind::NotSeq,
            "Wrapping" => match t.args.first().map(|a| a.name.as_str()) {
                Some("u32" | "i32") if named => Kind::Wrap {
                    ev: with_alias(ev()),
                },
                _ => Kind::NotSeq,
            },
            n if self.newtypes.contains_key(n) => Kind::Newtype,
            n if NOT_SEQ_TYPES.contains(&n) => Kind::NotSeq,
            n if self.structs.contains_key(n) => Kind::NotSeq,
            _ => Kind::Unknown,
        }
    }

    pub(super) fn name_ev(&self, subject: &str, why: &str) -> Kind {
        if self.seq_name(subject) {
            Kind::Raw {
                certain: false,
                cast: false,
                ev: Ev {
                    subject: subject.to_string(),
                    why: why.to_string(),
                    labels: Vec::new(),
                    by_name: true,
                },
            }
        } else {
            Kind::Unknown
        }
    }

    pub(super) fn kind(&self, v: &Val, depth: usize) -> Kind {
        if depth > 24 {
            return Kind::Unknown;
        }
        let d = depth + 1;
        match v {
            Val::Lit | Val::Const(_) => Kind::Lit,
            Val::Local {
                name,
                ty: Some(t),
                decl_span,
                init,
                init_text,
            } => {
                let k = self.type_kind(t, name, || Ev {
                    subject: name.clone(),
                    why: format!("declared `{}`, with a sequence-number name", t.display()),
                    labels: vec![(*decl_span, format!("`{name}` declared here"))],
                    by_name: false,
                });
                // `let end: u32 = seg.seq;`: a plain name, but a sequence number's value.
                let plain_32 = matches!(self.unalias(t).0.name.as_str(), "u32" | "i32");
                match (k, init) {
                    (Kind::NotSeq, Some(i)) if plain_32 => match self.kind(i, d) {
                        Kind::Raw { ev, .. } => Kind::Raw {
                            certain: true,
                            cast: false,
                            ev: Ev {
                                subject: name.clone(),
                                why: format!(
                                    "declared `{}` and assigned from `{}`, and {}",
                                    t.display(),
                                    init_text.as_deref().unwrap_or("?"),
                                    ev.note()
                                ),
                                labels: with_labels(
                                    (*decl_span, format!("`{name}` assigned here")),
                                    &ev,
                                ),
                                by_name: false,
                            },
                        },
                        Kind::Offset => Kind::Offset,
                        _ => Kind::NotSeq,
                    },
                    (k, _) => k,
                }
            }
            Val::Local {
                name,
                ty: None,
                init: Some(init),
                init_text,
                decl_span,
            } => match self.kind(init, d) {
                Kind::Raw { certain, cast, ev } => Kind::Raw {
                    certain,
                    cast,
                    ev: Ev {
                        subject: name.clone(),
                        why: format!("{}, and {}", assigned_from(init_text.as_deref()), ev.note()),
                        labels: with_labels((*decl_span, format!("`{name}` assigned here")), &ev),
                        by_name: ev.by_name,
                    },
                },
                Kind::Unknown => {
                    match self.resolved_kind(init, init_text.as_deref(), name, *decl_span, d) {
                        Kind::Unknown => {
                            self.name_ev(name, "its name (its value's type is not known)")
                        }
                        k => k,
                    }
                }
                // `let seq = read_u32()?`: a plain number, held under a sequence-number name
                Kind::NotSeq => {
                    match self.resolved_kind(init, init_text.as_deref(), name, *decl_span, d) {
                        k @ Kind::Raw { .. } => k,
                        _ => Kind::NotSeq,
                    }
                }
                k => k,
            },
            Val::Local { name, .. } => self.name_ev(name, "its name"),
            Val::Path(_) | Val::Unknown | Val::Neg(_) => Kind::Unknown,
            Val::Join(vs) => self.join_kind(vs, d),
            Val::SelfRef { ty } => match ty {
                Some(t) if self.newtypes.contains_key(t.as_str()) => Kind::Newtype,
                _ => Kind::Unknown,
            },
            Val::Field { base, name } => self.field_kind(base, name, d),
            Val::Method { recv, name, args } => self.method_kind(recv, name, args, d),
            Val::Call { path, args, local } => self.call_kind(path, args, local.as_deref(), d),
            Val::Bin { op, l, r } => match op {
                BinOp::Add | BinOp::Sub => self.arith_kind(*op, l, r, d),
                BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne => {
                    Kind::NotSeq
                }
                _ => Kind::Unknown,
            },
            Val::Cast { inner, ty } => match self.kind(inner, d) {
                Kind::Offset => Kind::Offset,
                Kind::Lit => Kind::Lit,
                Kind::Raw { certain, ev, .. } => match ty.name.as_str() {
                    "u32" | "i32" => Kind::Raw {
                        certain,
                        cast: false,
                        ev,
                    },
                    "usize" | "u64" | "i64" | "u128" | "i128" | "isize" => Kind::Raw {
                        certain,
                        cast: true,
                        ev,
                    },
                    _ => Kind::NotSeq,
                },
                Kind::Unknown => Kind::Unknown,
                _ => Kind::NotSeq,
            },
        }
    }

    /// The kind of a value whose own tree says nothing, from the type it resolves to (the
    /// callee's return type through `?`, an alias, an operator's `Output`): an integer other
    /// than a 32-bit one is no sequence number; a 32-bit one is left to its name.
    fn resolved_kind(
        &self,
        init: &Val,
        text: Option<&str>,
        name: &str,
        decl_span: Span,
        d: usize,
    ) -> Kind {
        let Some(t) = self.type_of(init, d) else {
            return Kind::Unknown;
        };
        if OTHER_INTS.contains(&t.name.as_str()) {
            return Kind::NotSeq;
        }
        match self.type_kind(&t, name, || Ev {
            subject: name.to_string(),
            why: format!(
                "{}, of type `{}`, with a sequence-number name",
                assigned_from(text),
                t.display()
            ),
            labels: vec![(decl_span, format!("`{name}` assigned here"))],
            by_name: false,
        }) {
            Kind::NotSeq if matches!(t.name.as_str(), "u32" | "i32") => Kind::Unknown,
            k => k,
        }
    }

    /// One of several branches' values: their common kind, literals aside.
    fn join_kind(&self, vs: &[Val], d: usize) -> Kind {
        let mut out: Option<Kind> = None;
        for v in vs {
            let k = self.kind(v, d);
            if matches!(k, Kind::Lit) {
                continue;
            }
            match &mut out {
                None => out = Some(k),
                Some(o) if std::mem::discriminant(o) != std::mem::discriminant(&k) => {
                    return Kind::Unknown
                }
                Some(Kind::Raw { certain, cast, .. }) => {
                    if let Kind::Raw {
                        certain: c2,
                        cast: k2,
                        ..
                    } = k
                    {
                        *certain &= c2;
                        *cast |= k2;
                    }
                }
                Some(_) => {}
            }
        }
        out.unwrap_or(if vs.is_empty() {
            Kind::Unknown
        } else {
            Kind::Lit
        })
    }

    /// The value of a call: a constructor, `max`/`min`, or what the callee returns.
    fn call_kind(&self, path: &[String], args: &[Val], local: Option<&FnSig>, d: usize) -> Kind {
        let Some(last) = path.last() else {
            return Kind::Unknown;
        };
        if last == "Wrapping" {
            return match args.first().map(|a| self.kind(a, d)) {
                Some(Kind::Raw { ev, .. }) => Kind::Wrap { ev },
                _ => Kind::Unknown,
            };
        }
        if self.newtypes.contains_key(self.canon(last)) {
            return Kind::Newtype;
        }
        if (last == "max" || last == "min") && args.len() == 2 {
            return self.kind(&args[0], d);
        }
        if self.structs.contains_key(last.as_str()) {
            return Kind::NotSeq;
        }
        // a function declared in an enclosing block, else the only one of its name
        let callee = local.or_else(|| match self.fns_by_name.get(last.as_str()) {
            Some(c) if c.len() == 1 => Some(c[0]),
            _ => None,
        });
        match callee {
            Some(c) => match &c.ret {
                Some(r) => {
                    let span = c.span;
                    self.type_kind(r, last, || Ev {
                        subject: format!("{last}()"),
                        why: format!("`{last}` returns `{}`", r.display()),
                        labels: vec![(span, format!("`{last}` declared here"))],
                        by_name: false,
                    })
                }
                None => Kind::NotSeq,
            },
            _ => Kind::Unknown,
        }
    }

    pub(super) fn arith_kind(&self, op: BinOp, l: &Val, r: &Val, d: usize) -> Kind {
        let (kl, kr) = (self.kind(l, d), self.kind(r, d));
        match (&kl, &kr) {
            (Kind::Newtype, _) | (_, Kind::Newtype) => {
                let ty = self
                    .type_of(l, d)
                    .filter(|t| self.newtypes.contains_key(t.name.as_str()));
                let trait_name = if op == BinOp::Add { "Add" } else { "Sub" };
                let output =
                    ty.as_ref().and_then(|t| {
                        let impls = self.op_impls.get(t.name.as_str())?;
                        let rhs_ty = self.type_of(r, d);
                        let pick = impls.iter().filter(|i| i.trait_name == trait_name).find(
                            |i| match (&rhs_ty, &i.rhs) {
                                (Some(a), Some(b)) => a.name == b.name,
                                _ => true,
                            },
                        )?;
                        pick.output.clone()
                    });
                match output {
                    Some(o) if self.newtypes.contains_key(o.name.as_str()) => Kind::Newtype,
                    Some(_) => Kind::Offset,
                    None if op == BinOp::Sub && matches!(kr, Kind::Newtype) => Kind::Offset,
                    None => Kind::Newtype,
                }
            }
            (Kind::Wrap { .. }, Kind::Wrap { .. }) if op == BinOp::Sub => Kind::Offset,
            (Kind::Wrap { .. }, _) => kl,
            (_, Kind::Wrap { .. }) => kr,
            (Kind::Raw { .. }, Kind::Raw { .. }) if op == BinOp::Sub => Kind::Offset,
            (Kind::Raw { certain, ev, .. }, _) => Kind::Raw {
                certain: *certain,
                cast: false,
                ev: ev.clone(),
            },
            (_, Kind::Raw { certain, ev, .. }) if op == BinOp::Add => Kind::Raw {
                certain: *certain,
                cast: false,
                ev: ev.clone(),
            },
            (Kind::Offset, _) | (_, Kind::Offset) => Kind::Offset,
            (Kind::NotSeq | Kind::Lit, Kind::NotSeq | Kind::Lit) => Kind::NotSeq,
            _ => Kind::Unknown,
        }
    }

    pub(super) fn field_kind(&self, base: &Val, name: &str, d: usize) -> Kind {
        let subject = |base_text: &str| format!("{base_text}.{name}");
        let base_name = val_name(base);
        if let Some(bt) = self.type_of(base, d) {
            if let Some(st) = self.struct_for(&bt.name, name) {
                if name == "0" {
                    if let Some(nt) = self.newtypes.get(bt.name.as_str()) {
                        let ev = Ev {
                            subject: subject(&base_name),
                            why: format!("the integer inside sequence type `{}`", st.name),
                            labels: vec![(st.span, format!("`{}` declared here", st.name))],
                            by_name: false,
                        };
                        return if nt.inner_wrapping {
                            Kind::Wrap { ev }
                        } else {
                            Kind::Raw {
                                certain: true,
                                cast: false,
                                ev,
                            }
                        };
                    }
                }
                return match st.fields.iter().find(|f| f.name == name) {
                    Some(f) => self.type_kind(&f.ty, name, || Ev {
                        subject: name.to_string(),
                        why: format!("field of `{}` declared `{}`", st.name, f.ty.display()),
                        labels: vec![(f.span, format!("`{name}` declared here"))],
                        by_name: false,
                    }),
                    None => Kind::Unknown,
                };
            }
            // An element of a tuple: a narrower or wider integer is not a sequence number; a
            // 32-bit one is left to the name it is bound to.
            if bt.name == "()" {
                return match name.parse::<usize>().ok().and_then(|i| bt.args.get(i)) {
                    Some(t) => match self.type_kind(t, "", || Ev {
                        subject: String::new(),
                        why: String::new(),
                        labels: Vec::new(),
                        by_name: false,
                    }) {
                        Kind::NotSeq if !matches!(t.name.as_str(), "u32" | "i32") => Kind::NotSeq,
                        Kind::Newtype => Kind::Newtype,
                        _ => Kind::Unknown,
                    },
                    None => Kind::Unknown,
                };
            }
            if bt.name == "Wrapping" && name == "0" {
                return match self.kind(base, d) {
                    Kind::Wrap { ev } => Kind::Raw {
                        certain: true,
                        cast: false,
                        ev,
                    },
                    _ => Kind::NotSeq,
                };
            }
        }
        if name == "0" {
            return match self.kind(base, d) {
                Kind::Wrap { ev } => Kind::Raw {
                    certain: true,
                    cast: false,
                    ev,
                },
                Kind::Newtype => Kind::Raw {
                    certain: false,
                    cast: false,
                    ev: Ev {
                        subject: subject(&base_name),
                        why: "the integer inside a sequence type".into(),
                        labels: Vec::new(),
                        by_name: false,
                    },
                },
                _ => Kind::Unknown,
            };
        }
        // The receiver's type is not known here: every struct that declares this field.
        let mut kinds = Vec::new();
        for decls in self.structs.values() {
            for st in decls {
                if let Some(f) = st.fields.iter().find(|f| f.name == name) {
                    kinds.push(self.type_kind(&f.ty, name, || Ev {
                        subject: name.to_string(),
                        why: format!(
                            "field `{name}` is declared `{}` in `{}` (the type of `{base_name}` is not known)",
                            f.ty.display(),
                            st.name
                        ),
                        labels: vec![(f.span, format!("`{name}` declared here"))],
                        by_name: false,
                    }));
                }
            }
        }
        if kinds.is_empty() {
            return self.name_ev(name, "its name (the type of its struct is not known)");
        }
        let same = kinds
            .iter()
            .all(|k| std::mem::discriminant(k) == std::mem::discriminant(&kinds[0]));
        if same {
            match kinds.swap_remove(0) {
                Kind::Raw { ev, cast, .. } => Kind::Raw {
                    certain: false,
                    cast,
                    ev,
                },
                k => k,
            }
        } else {
            Kind::Unknown
        }
    }

    pub(super) fn method_kind(&self, recv: &Val, name: &str, args: &[Val], d: usize) -> Kind {
        if MAPPING_METHODS.contains(&name) {
            if let Some(body) = args.last() {
                match self.kind(body, d) {
                    Kind::Unknown => {}
                    k => return k,
                }
            }
        }
        match name {
            ELEM_NAME => {
                // A 32-bit element is left to the name it is bound to.
                let Some(t) = self.type_of(
                    &Val::Method {
                        recv: Box::new(recv.clone()),
                        name: name.to_string(),
                        args: Vec::new(),
                    },
                    d,
                ) else {
                    return Kind::Unknown;
                };
                match self.type_kind(&t, "", || Ev {
                    subject: String::new(),
                    why: String::new(),
                    labels: Vec::new(),
                    by_name: false,
                }) {
                    Kind::NotSeq if !matches!(t.name.as_str(), "u32" | "i32") => Kind::NotSeq,
                    Kind::Newtype => Kind::Newtype,
                    _ => Kind::Unknown,
                }
            }
            "wrapping_add" | "wrapping_sub" => {
                let rk = self.kind(recv, d);
                if name == "wrapping_sub" && args.first().is_some_and(|a| self.kind(a, d).is_seq())
                {
                    return Kind::Offset;
                }
                match rk {
                    Kind::Raw { certain, ev, .. } => Kind::Raw {
                        certain,
                        cast: false,
                        ev,
                    },
                    Kind::Offset => Kind::Offset,
                    Kind::Unknown if name == "wrapping_add" => {
                        match args.first().map(|a| self.kind(a, d)) {
                            Some(k @ Kind::Raw { .. }) => k,
                            _ => Kind::Unknown,
                        }
                    }
                    _ => Kind::NotSeq,
                }
            }
            "unwrap" | "expect" | "unwrap_or" | "unwrap_or_default" | "clone" | "get" | "load"
            | "to_owned" | "max" | "min" | "copied" | "cloned" => self.kind(recv, d),
            "cmp" | "partial_cmp" | "len" | "is_empty" => Kind::NotSeq,
            _ => {
                let rt = self.type_of(recv, d);
                match self.method_sig(rt.as_ref(), name) {
                    Some(f) => match &f.ret {
                        Some(r) => self.type_kind(r, name, || Ev {
                            subject: format!("{name}()"),
                            why: format!("`{name}()` returns `{}`", r.display()),
                            labels: vec![(f.span, format!("`{name}` declared here"))],
                            by_name: false,
                        }),
                        None => Kind::NotSeq,
                    },
                    None if args.is_empty() => self.name_ev(
                        name,
                        "its name (the method is not declared in the analyzed code)",
                    ),
                    None => Kind::Unknown,
                }
            }
        }
    }
}

/// "assigned from `x.y`", or "an element of `v`" for a closure's parameter.
fn assigned_from(text: Option<&str>) -> String {
    match text {
        Some(t) if t.starts_with("an element of `") => t.to_string(),
        Some(t) => format!("assigned from `{t}`"),
        None => "assigned from `?`".into(),
    }
}

/// `first`, then the labels of the evidence it rests on.
pub(super) fn with_labels(first: (Span, String), inner: &Ev) -> Vec<(Span, String)> {
    let mut v = vec![first];
    v.extend(inner.labels.iter().cloned());
    v
}

pub(super) fn val_name(v: &Val) -> String {
    match v {
        Val::Local { name, .. } => name.clone(),
        Val::SelfRef { .. } => "self".into(),
        Val::Field { base, name } => format!("{}.{name}", val_name(base)),
        Val::Method { recv, name, .. } => format!("{}.{name}()", val_name(recv)),
        Val::Path(p) | Val::Const(p) => p.clone(),
        _ => "…".into(),
    }
}
