//! Cross-file resolution: which operands are sequence numbers, and which sites are findings.

use std::collections::BTreeMap;

use super::{SeqAnalysis, SeqFinding, SeqStats};
use crate::config::Config;
use crate::diag::{Applicability, Edit};
use crate::fix;
use crate::lower::LoweredFile;
use crate::seq_facts::names::{is_seq_name, is_seq_type_name, mentions_seq};
use crate::seq_facts::{
    AliasDecl, BackwardWrite, BinOp, FnSig, IsnSite, IsnSource, OpImpl, Site, SiteKind, StructDecl,
    TypeRef, Val, ELEM_NAME, MAPPING_METHODS,
};
use crate::source::{SourceDb, Span};

/// Why a value is taken for a sequence number.
#[derive(Clone, Debug)]
struct Ev {
    subject: String,
    why: String,
    /// Where the evidence is written: the declaration, the assignment, the type.
    labels: Vec<(Span, String)>,
}

impl Ev {
    fn note(&self) -> String {
        format!("`{}` is a sequence number: {}", self.subject, self.why)
    }
}

#[derive(Clone, Debug)]
enum Kind {
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
    fn is_seq(&self) -> bool {
        matches!(self, Kind::Raw { .. } | Kind::Wrap { .. })
    }
    fn ev(&self) -> Option<&Ev> {
        match self {
            Kind::Raw { ev, .. } | Kind::Wrap { ev } => Some(ev),
            _ => None,
        }
    }
    fn certain_raw(&self) -> bool {
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

struct Newtype {
    inner_wrapping: bool,
    modular: bool,
}

struct Index<'a> {
    structs: BTreeMap<&'a str, Vec<&'a StructDecl>>,
    aliases: BTreeMap<&'a str, &'a AliasDecl>,
    newtypes: BTreeMap<&'a str, Newtype>,
    op_impls: BTreeMap<&'a str, Vec<&'a OpImpl>>,
    fns_by_name: BTreeMap<&'a str, Vec<&'a FnSig>>,
    backward: BTreeMap<&'a str, Vec<&'a BackwardWrite>>,
    config: &'a Config,
}

const PASS_THROUGH_TYPES: &[&str] = &[
    "Option", "Cell", "Box", "Rc", "Arc", "RefCell", "Mutex", "RwLock", "SpinLock", "Volatile",
];
const NOT_SEQ_TYPES: &[&str] = &[
    "u8",
    "u16",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i64",
    "i128",
    "isize",
    "bool",
    "f32",
    "f64",
    "char",
    "str",
    "String",
    "Vec",
    "VecDeque",
    "Duration",
    "Instant",
    "SystemTime",
    "HashMap",
    "BTreeMap",
    "BTreeSet",
    "HashSet",
    "()",
    "[]",
    "Ordering",
];

impl<'a> Index<'a> {
    fn new(files: &'a [LoweredFile], config: &'a Config) -> Index<'a> {
        let mut ix = Index {
            structs: BTreeMap::new(),
            aliases: BTreeMap::new(),
            newtypes: BTreeMap::new(),
            op_impls: BTreeMap::new(),
            fns_by_name: BTreeMap::new(),
            backward: BTreeMap::new(),
            config,
        };
        let mut ord_modular: BTreeMap<&str, bool> = BTreeMap::new();
        for f in files {
            let s = &f.seq;
            for st in &s.structs {
                ix.structs.entry(&st.name).or_default().push(st);
            }
            for a in &s.aliases {
                // `use x::Foo as Foo` style self-renames would loop; skip them.
                if a.target.name != a.name {
                    ix.aliases.entry(&a.name).or_insert(a);
                }
            }
            for o in &s.ord_impls {
                *ord_modular.entry(&o.self_ty).or_insert(false) |= o.modular;
            }
            for o in &s.op_impls {
                ix.op_impls.entry(&o.self_ty).or_default().push(o);
            }
            for fs in &s.fns {
                ix.fns_by_name.entry(&fs.name).or_default().push(fs);
            }
            for b in &s.backward_writes {
                ix.backward.entry(&b.name).or_default().push(b);
            }
        }
        let mut newtypes = BTreeMap::new();
        for (name, decls) in &ix.structs {
            for st in decls {
                if !st.tuple || st.fields.len() != 1 {
                    continue;
                }
                if !is_seq_type_name(name, &config.seq_names, &config.seq_ignore) {
                    continue;
                }
                let inner = ix.unalias(&st.fields[0].ty).0;
                let wrapping = inner.name == "Wrapping"
                    && inner
                        .args
                        .first()
                        .is_some_and(|a| a.name == "u32" || a.name == "i32");
                if inner.name == "u32" || inner.name == "i32" || wrapping {
                    newtypes.insert(
                        *name,
                        Newtype {
                            inner_wrapping: wrapping,
                            modular: ord_modular.get(name).copied().unwrap_or(false),
                        },
                    );
                }
            }
        }
        ix.newtypes = newtypes;
        ix
    }

    /// Follow aliases; also says whether an alias on the way has a sequence-number name.
    fn unalias(&self, ty: &TypeRef) -> (TypeRef, Option<String>) {
        let mut t = ty.clone();
        let mut seq_alias = None;
        for _ in 0..8 {
            match self.aliases.get(t.name.as_str()) {
                Some(a) if !self.newtypes.contains_key(t.name.as_str()) => {
                    if is_seq_type_name(&a.name, &self.config.seq_names, &self.config.seq_ignore) {
                        seq_alias.get_or_insert(a.name.clone());
                    }
                    let args = std::mem::take(&mut t.args);
                    t = a.target.clone();
                    if t.args.is_empty() {
                        t.args = args;
                    }
                }
                _ => break,
            }
        }
        (t, seq_alias)
    }

    /// A type name with plain aliases (`use a::SeqNumber as TcpSeqNumber`) followed.
    fn canon<'n>(&'n self, name: &'n str) -> &'n str {
        let mut n = name;
        for _ in 0..8 {
            match self.aliases.get(n) {
                Some(a) if a.target.args.is_empty() && !self.newtypes.contains_key(n) => {
                    n = a.target.name.as_str()
                }
                _ => break,
            }
        }
        n
    }

    /// The struct named `ty` that declares `field`; several crates' modules may declare
    /// structs of the same name (`Socket`), so the one with the field wins.
    fn struct_for(&self, ty: &str, field: &str) -> Option<&'a StructDecl> {
        let cands = self.structs.get(self.canon(ty))?;
        cands
            .iter()
            .find(|s| s.fields.iter().any(|f| f.name == field))
            .or_else(|| cands.first())
            .copied()
    }

    fn seq_name(&self, name: &str) -> bool {
        is_seq_name(name, &self.config.seq_names, &self.config.seq_ignore)
    }

    /// The kind of a value of declared type `ty` held under `name`.
    fn type_kind(&self, ty: &TypeRef, name: &str, ev: impl Fn() -> Ev) -> Kind {
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

    /// The declared type of a value, where it can be told.
    fn type_of(&self, v: &Val, depth: usize) -> Option<TypeRef> {
        if depth > 16 {
            return None;
        }
        let d = depth + 1;
        let t = match v {
            Val::SelfRef { ty } => ty.as_ref().map(|t| TypeRef::named(t)),
            Val::Local { ty: Some(t), .. } => Some(t.clone()),
            Val::Local {
                init: Some(i),
                ty: None,
                ..
            } => self.type_of(i, d),
            Val::Field { base, name } => {
                let bt = self.type_of(base, d)?;
                if bt.name == "()" {
                    return name
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| bt.args.get(i).cloned());
                }
                let st = self.struct_for(&bt.name, name)?;
                st.fields
                    .iter()
                    .find(|f| &f.name == name)
                    .map(|f| f.ty.clone())
            }
            Val::Method { recv, name, args } => match name.as_str() {
                "unwrap" | "expect" | "clone" | "lock" | "borrow" | "borrow_mut" | "read"
                | "write" | "as_ref" | "as_mut" | "get_mut" | "deref" | "deref_mut" | "iter"
                | "iter_mut" | "into_iter" | "copied" | "cloned" | "rev" | "as_slice" | "skip"
                | "take" | "peekable" | "filter" | "as_deref" => self.type_of(recv, d),
                n if MAPPING_METHODS.contains(&n) => self.type_of(args.last()?, d),
                ELEM_NAME => {
                    let t = self.type_of(recv, d)?;
                    match t.name.as_str() {
                        "Vec" | "VecDeque" | "[]" | "BTreeSet" | "HashSet" | "Option" => {
                            t.args.first().cloned()
                        }
                        // `type_of` already looked through `Option`/`Box`/…
                        _ if self.structs.contains_key(self.canon(&t.name)) => Some(t),
                        _ => None,
                    }
                }
                _ => {
                    let rt = self.type_of(recv, d);
                    self.method_sig(rt.as_ref(), name)
                        .and_then(|f| f.ret.clone())
                }
            },
            Val::Call { path, .. } => {
                let last = self.canon(path.last()?);
                if self.structs.contains_key(last) {
                    Some(TypeRef::named(last))
                } else if path.len() >= 2 && path[path.len() - 1] == "new" {
                    Some(TypeRef::named(&path[path.len() - 2]))
                } else {
                    let c = self.fns_by_name.get(last)?;
                    (c.len() == 1).then(|| c[0].ret.clone()).flatten()
                }
            }
            _ => None,
        }?;
        Some(self.strip_wrappers(self.unalias(&t).0))
    }

    fn strip_wrappers(&self, mut t: TypeRef) -> TypeRef {
        for _ in 0..8 {
            if PASS_THROUGH_TYPES.contains(&t.name.as_str()) && !t.args.is_empty() {
                t = t.args[0].clone();
            } else {
                break;
            }
        }
        t
    }

    fn method_sig(&self, recv_ty: Option<&TypeRef>, name: &str) -> Option<&'a FnSig> {
        let cands = self.fns_by_name.get(name)?;
        if let Some(rt) = recv_ty {
            if let Some(f) = cands
                .iter()
                .find(|f| f.self_ty.as_deref() == Some(rt.name.as_str()))
            {
                return Some(f);
            }
            if self.structs.contains_key(rt.name.as_str()) {
                return None;
            }
        }
        let methods: Vec<&&FnSig> = cands.iter().filter(|f| f.self_ty.is_some()).collect();
        let first = methods.first()?;
        methods
            .iter()
            .all(|f| f.ret == first.ret)
            .then_some(**first)
    }

    fn name_ev(&self, subject: &str, why: &str) -> Kind {
        if self.seq_name(subject) {
            Kind::Raw {
                certain: false,
                cast: false,
                ev: Ev {
                    subject: subject.to_string(),
                    why: why.to_string(),
                    labels: Vec::new(),
                },
            }
        } else {
            Kind::Unknown
        }
    }

    fn kind(&self, v: &Val, depth: usize) -> Kind {
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
                        why: format!(
                            "assigned from `{}`, and {}",
                            init_text.as_deref().unwrap_or("?"),
                            ev.note()
                        ),
                        labels: with_labels((*decl_span, format!("`{name}` assigned here")), &ev),
                    },
                },
                Kind::Unknown => self.name_ev(name, "its name (its value's type is not known)"),
                k => k,
            },
            Val::Local { name, .. } => self.name_ev(name, "its name"),
            Val::Path(_) | Val::Unknown | Val::Neg(_) => Kind::Unknown,
            Val::SelfRef { ty } => match ty {
                Some(t) if self.newtypes.contains_key(t.as_str()) => Kind::Newtype,
                _ => Kind::Unknown,
            },
            Val::Field { base, name } => self.field_kind(base, name, d),
            Val::Method { recv, name, args } => self.method_kind(recv, name, args, d),
            Val::Call { path, args } => {
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
                match self.fns_by_name.get(last.as_str()) {
                    Some(c) if c.len() == 1 => match &c[0].ret {
                        Some(r) => {
                            let span = c[0].span;
                            self.type_kind(r, last, || Ev {
                                subject: format!("{last}()"),
                                why: format!("`{last}` returns `{}`", r.display()),
                                labels: vec![(span, format!("`{last}` declared here"))],
                            })
                        }
                        None => Kind::NotSeq,
                    },
                    _ => Kind::Unknown,
                }
            }
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

    fn arith_kind(&self, op: BinOp, l: &Val, r: &Val, d: usize) -> Kind {
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

    fn field_kind(&self, base: &Val, name: &str, d: usize) -> Kind {
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

    fn method_kind(&self, recv: &Val, name: &str, args: &[Val], d: usize) -> Kind {
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

/// `first`, then the labels of the evidence it rests on.
fn with_labels(first: (Span, String), inner: &Ev) -> Vec<(Span, String)> {
    let mut v = vec![first];
    v.extend(inner.labels.iter().cloned());
    v
}

fn val_name(v: &Val) -> String {
    match v {
        Val::Local { name, .. } => name.clone(),
        Val::SelfRef { .. } => "self".into(),
        Val::Field { base, name } => format!("{}.{name}", val_name(base)),
        Val::Method { recv, name, .. } => format!("{}.{name}()", val_name(recv)),
        Val::Path(p) | Val::Const(p) => p.clone(),
        _ => "…".into(),
    }
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Module paths declared under `#[cfg(test)]` (`krate::a::tests`), from the `mod` declarations
/// of every file.
fn test_modules(db: &SourceDb, files: &[LoweredFile]) -> Vec<String> {
    let mut out = Vec::new();
    for f in files {
        if (f.file.0 as usize) >= db.len() {
            continue;
        }
        let src = db.get(f.file);
        for d in f.mod_decls.iter().filter(|d| d.cfg_test) {
            let mut p = src.module_name();
            for (n, _) in &d.inline_parents {
                p.push_str("::");
                p.push_str(n);
            }
            p.push_str("::");
            p.push_str(&d.name);
            out.push(p);
        }
    }
    out
}

/// Resolve every file's sequence facts together.
pub fn resolve(db: &SourceDb, files: &[LoweredFile], config: &Config) -> SeqAnalysis {
    let ix = Index::new(files, config);
    let tests = test_modules(db, files);
    let in_test_code = |f: &LoweredFile, path: &str| {
        ((f.file.0 as usize) < db.len() && db.get(f.file).test_only)
            || tests
                .iter()
                .any(|t| path.starts_with(t.as_str()) && path[t.len()..].starts_with("::"))
    };
    let mut findings = Vec::new();
    let mut stats = BTreeMap::new();
    for f in files {
        // a dependency's types count (a sequence newtype of a dependency), its sites do not
        if (f.file.0 as usize) < db.len() && db.get(f.file).dependency {
            continue;
        }
        let mut st = SeqStats {
            sites: f.seq.sites.len(),
            isn_sites: f.seq.isn_sites.len(),
            ..Default::default()
        };
        for site in &f.seq.sites {
            let kinds: Vec<Kind> = site.operands.iter().map(|v| ix.kind(v, 0)).collect();
            let newtype = kinds.iter().any(|k| matches!(k, Kind::Newtype));
            if newtype {
                st.newtype_sites += 1;
            }
            if kinds.iter().any(Kind::is_seq) && !newtype {
                st.raw_sites += 1;
            }
            if kinds.iter().any(|k| matches!(k, Kind::Offset)) {
                st.offset_sites += 1;
            }
        }
        stats.insert(f.file, st);
        for st in &f.seq.structs {
            derive_finding(&ix, st, &mut findings);
        }
        for site in &f.seq.sites {
            if let Some(fd) = site_finding(&ix, site) {
                findings.push(fd);
            }
        }
        for isn in &f.seq.isn_sites {
            // Tests pick deterministic initial sequence numbers on purpose.
            if in_test_code(f, &isn.fn_path) {
                continue;
            }
            if let Some(fd) = isn_finding(&ix, isn) {
                findings.push(fd);
            }
        }
    }
    findings.sort_by(|a, b| {
        (a.span.file, a.span.start, a.span.end, a.lint).cmp(&(
            b.span.file,
            b.span.start,
            b.span.end,
            b.lint,
        ))
    });
    findings.dedup_by(|a, b| a.span == b.span && a.lint == b.lint);
    SeqAnalysis { findings, stats }
}

fn derive_finding(ix: &Index<'_>, st: &StructDecl, out: &mut Vec<SeqFinding>) {
    let Some(d) = &st.derive_ord else {
        return;
    };
    let Some(nt) = ix.newtypes.get(st.name.as_str()) else {
        return;
    };
    if nt.modular {
        return;
    }
    let inner = st.fields[0].ty.display();
    out.push(SeqFinding {
        lint: "seq_compare",
        span: d.span,
        message: format!(
            "sequence type `{}` derives a plain integer ordering that is wrong across the 2^32 wrap",
            st.name
        ),
        labels: vec![(st.span, format!("`{}` wraps a `{inner}`", st.name))],
        notes: vec![format!(
            "`{}` is a sequence type: its name, and it holds a single `{inner}`",
            st.name
        )],
        help: "order sequence numbers by their signed distance modulo 2^32 (RFC 1982): implement \
               `PartialOrd` by hand with `wrapping_sub`, and drop `Ord` (a modular order is not total)"
            .into(),
        fix_message: "implement `PartialOrd` modulo 2^32".into(),
        edits: d.fix.clone(),
        applicability: Applicability::MaybeIncorrect,
        key: format!("seq_compare:{}::{}:derive", st.path, st.name),
    });
}

fn own_ordering_impl(ix: &Index<'_>, site: &Site) -> bool {
    let (Some(ty), Some(tr)) = (&site.ctx.self_ty, &site.ctx.trait_name) else {
        return false;
    };
    matches!(
        tr.as_str(),
        "PartialOrd" | "Ord" | "Sub" | "SubAssign" | "PartialEq"
    ) && ix.newtypes.get(ty.as_str()).is_some_and(|n| n.modular)
}

/// Operand text longer than this gets no fix (the finding is still reported).
const MAX_FIX_INPUT: usize = 2000;

/// The fix of a site and its alternative: for comparisons, raw operands and `Wrapping<u32>`
/// operands (through `.0`); for `a + b`, the sequence number on the left and on the right.
fn build_fixes(site: &Site) -> (Option<String>, Option<String>) {
    if site.operand_texts.iter().map(String::len).sum::<usize>() > MAX_FIX_INPUT {
        return (None, None);
    }
    let Some(ops) = site
        .operand_texts
        .iter()
        .map(|t| syn::parse_str::<syn::Expr>(t).ok())
        .collect::<Option<Vec<syn::Expr>>>()
    else {
        return (None, None);
    };
    match (&site.kind, ops.as_slice()) {
        (SiteKind::Compare(op), [l, r]) => (
            Some(fix::compare(op.as_str(), l, r, false)),
            Some(fix::compare(op.as_str(), l, r, true)),
        ),
        (SiteKind::MethodCmp(m) | SiteKind::FnCmp(m), [recv, args @ ..]) => (
            fix::method_compare(m, recv, args, false),
            fix::method_compare(m, recv, args, true),
        ),
        (SiteKind::SortKey(_), [k]) => (Some(fix::relative_key(k)), None),
        (SiteKind::Sort(_), [v]) => (Some(fix::sort_relative(v)), None),
        (SiteKind::Arith(op), [l, r]) => (
            Some(fix::arith(op.as_str(), l, r, true)),
            (*op == BinOp::Add).then(|| fix::arith("+", l, r, false)),
        ),
        (SiteKind::AssignArith(op), [l, r]) => {
            let s = if *op == BinOp::Add { "+=" } else { "-=" };
            (Some(fix::assign_arith(s, l, r)), None)
        }
        (SiteKind::Neg, [x]) => (Some(fix::neg(x)), None),
        (SiteKind::CastArith(ty), ops) => {
            let Ok(ty) = syn::parse_str::<syn::Type>(ty) else {
                return (None, None);
            };
            match ops {
                [x] => (Some(fix::cast_offset(x, &ty, !site.in_index)), None),
                [a, b] => (Some(fix::cast_difference(a, b, &ty, !site.in_index)), None),
                _ => (None, None),
            }
        }
        _ => (None, None),
    }
}

fn site_finding(ix: &Index<'_>, site: &Site) -> Option<SeqFinding> {
    let kinds: Vec<Kind> = site.operands.iter().map(|v| ix.kind(v, 0)).collect();
    let fixes = std::cell::OnceCell::new();
    let fx = || fixes.get_or_init(|| build_fixes(site));
    let texts = &site.operand_texts;
    let key_tail: Vec<String> = texts.iter().map(|t| squash(t)).collect();
    let mut labels = Vec::new();
    let mut notes = Vec::new();
    let add_ev = |k: &Kind, labels: &mut Vec<(Span, String)>, notes: &mut Vec<String>| {
        if let Some(ev) = k.ev() {
            let n = ev.note();
            if !notes.contains(&n) {
                notes.push(n);
            }
            for l in &ev.labels {
                if !labels.contains(l) {
                    labels.push(l.clone());
                }
            }
        }
    };
    let mk = |lint: &'static str,
              message: String,
              labels: Vec<(Span, String)>,
              notes: Vec<String>,
              help: &str,
              fix_message: &str,
              fix: Option<&String>,
              appl: Applicability,
              what: &str| SeqFinding {
        lint,
        span: site.span,
        message,
        labels,
        notes,
        help: help.to_string(),
        fix_message: fix_message.to_string(),
        edits: fix
            .map(|f| {
                vec![Edit {
                    span: site.span,
                    replacement: f.clone(),
                }]
            })
            .unwrap_or_default(),
        applicability: match (appl, site.fix_caveat) {
            (Applicability::MachineApplicable, Some(c)) => c,
            (a, _) => a,
        },
        key: format!("{lint}:{}:{what}", site.fn_path),
    };
    const CMP_HELP: &str = "compare sequence numbers by their signed distance modulo 2^32 (RFC 1982, \
                            RFC 9293 §3.4): `(a.wrapping_sub(b) as i32) < 0` means `a` is before `b`";
    const ARITH_HELP: &str = "sequence numbers wrap at 2^32: plain `+`/`-` panics in debug builds \
                              (a remote peer can trigger it) and is wrong in release builds only by luck";
    match &site.kind {
        SiteKind::Compare(op) => {
            let (kl, kr) = (&kinds[0], &kinds[1]);
            if own_ordering_impl(ix, site) {
                return None;
            }
            if !cmp_candidate(kl, kr) {
                return None;
            }
            add_ev(kl, &mut labels, &mut notes);
            add_ev(kr, &mut labels, &mut notes);
            let wrap = matches!(kl, Kind::Wrap { .. }) && matches!(kr, Kind::Wrap { .. });
            let appl = if kl.certain_raw() && kr.certain_raw() {
                Applicability::MachineApplicable
            } else {
                Applicability::MaybeIncorrect
            };
            let fix = if wrap {
                fx().1.as_ref()
            } else {
                fx().0.as_ref()
            };
            Some(mk(
                "seq_compare",
                format!(
                    "`{}` compares sequence numbers as plain integers, which is wrong across the 2^32 wrap",
                    op.as_str()
                ),
                labels,
                notes,
                CMP_HELP,
                "compare modulo 2^32",
                fix,
                appl,
                &format!("{} {} {}", key_tail[0], op.as_str(), key_tail[1]),
            ))
        }
        SiteKind::MethodCmp(m) | SiteKind::FnCmp(m) => {
            if own_ordering_impl(ix, site) {
                return None;
            }
            let first = &kinds[0];
            let rest_ok = kinds[1..].iter().all(|k| cmp_candidate(first, k));
            let any_seq = kinds.iter().any(Kind::is_seq);
            if !any_seq
                || !rest_ok
                || kinds
                    .iter()
                    .any(|k| matches!(k, Kind::Offset | Kind::Lit | Kind::NotSeq))
            {
                return None;
            }
            for k in &kinds {
                add_ev(k, &mut labels, &mut notes);
            }
            let wrap = kinds.iter().all(|k| matches!(k, Kind::Wrap { .. }));
            let appl = if kinds.iter().all(Kind::certain_raw) {
                Applicability::MachineApplicable
            } else {
                Applicability::MaybeIncorrect
            };
            let fix = if wrap {
                fx().1.as_ref()
            } else {
                fx().0.as_ref()
            };
            let call = if matches!(site.kind, SiteKind::FnCmp(_)) {
                format!("`cmp::{m}`")
            } else {
                format!("`.{m}()`")
            };
            Some(mk(
                "seq_compare",
                format!("{call} orders sequence numbers as plain integers, which is wrong across the 2^32 wrap"),
                labels,
                notes,
                CMP_HELP,
                "compare modulo 2^32",
                fix,
                appl,
                &format!("{m}({})", key_tail.join(", ")),
            ))
        }
        SiteKind::SortKey(m) | SiteKind::Sort(m) => {
            // A key already taken relative to a base (`s.seq.wrapping_sub(base)`) is an offset.
            if matches!(&site.operands[0], Val::Method { name, .. } if name == "wrapping_sub") {
                return None;
            }
            let k = if matches!(site.kind, SiteKind::Sort(_)) {
                sort_elem_kind(ix, &site.operands[0], &texts[0])
            } else {
                kinds[0].clone()
            };
            if !k.is_seq() {
                return None;
            }
            add_ev(&k, &mut labels, &mut notes);
            Some(mk(
                "seq_compare",
                format!("`{m}` orders sequence numbers as plain integers, which is wrong across the 2^32 wrap"),
                labels,
                notes,
                "sort by the distance from a base sequence number (`seq.wrapping_sub(base)`, e.g. \
                 `snd_una` or `rcv_nxt`), which orders correctly within a window of 2^31",
                "sort by the offset from a base sequence number",
                fx().0.as_ref(),
                Applicability::HasPlaceholders,
                &format!("{m}({})", key_tail[0]),
            ))
        }
        SiteKind::OrderedKey { container, holder } => {
            let Val::Local {
                ty: Some(key),
                decl_span,
                ..
            } = &site.operands[0]
            else {
                return None;
            };
            let field = holder.rsplit('.').next().unwrap_or(holder);
            let as_name = if mentions_seq(field) { "seq" } else { field };
            let k = ix.type_kind(key, as_name, || Ev {
                subject: holder.clone(),
                why: format!(
                    "its key type is `{}` and its name mentions sequence numbers",
                    key.display()
                ),
                labels: vec![(*decl_span, format!("`{field}` declared here"))],
            });
            if !k.is_seq() {
                return None;
            }
            add_ev(&k, &mut labels, &mut notes);
            if let Kind::Wrap { ev } | Kind::Raw { ev, .. } = &k {
                notes.retain(|n| n != &ev.note());
                notes.push(format!(
                    "the keys of `{holder}` are sequence numbers: {}",
                    ev.why
                ));
            }
            Some(mk(
                "seq_compare",
                format!("`{container}` keyed by raw sequence numbers orders them as plain integers across the 2^32 wrap"),
                labels,
                notes,
                "key the map by the offset from a base sequence number (`seq.wrapping_sub(base)`), \
                 or by a sequence type whose ordering is modular",
                "key by the offset from a base sequence number",
                None,
                Applicability::Unspecified,
                &format!("{container}<{}>", key.display()),
            ))
        }
        SiteKind::Arith(op) => {
            let (kl, kr) = (&kinds[0], &kinds[1]);
            let plain = |k: &Kind| matches!(k, Kind::Raw { cast: false, .. });
            let blocked = |k: &Kind| {
                matches!(k, Kind::Wrap { .. } | Kind::Newtype | Kind::Offset)
                    || matches!(k, Kind::Raw { cast: true, .. })
            };
            if !(plain(kl) || plain(kr)) || blocked(kl) || blocked(kr) {
                return None;
            }
            add_ev(kl, &mut labels, &mut notes);
            add_ev(kr, &mut labels, &mut notes);
            let seq_left = plain(kl);
            let (fix, certain) = if seq_left {
                (fx().0.as_ref(), kl.certain_raw())
            } else if *op == BinOp::Add {
                (fx().1.as_ref(), kr.certain_raw())
            } else {
                (fx().0.as_ref(), false)
            };
            let other_ok = if seq_left { kr } else { kl };
            let other_ok = other_ok.certain_raw()
                || matches!(other_ok, Kind::Lit | Kind::NotSeq | Kind::Unknown);
            let appl = if certain && other_ok {
                Applicability::MachineApplicable
            } else {
                Applicability::MaybeIncorrect
            };
            let what = if *op == BinOp::Add {
                "addition"
            } else {
                "subtraction"
            };
            let wrapping = if *op == BinOp::Add {
                "wrapping_add"
            } else {
                "wrapping_sub"
            };
            Some(mk(
                "seq_arith",
                format!("non-wrapping {what} on a sequence number overflows at the 2^32 wrap"),
                labels,
                notes,
                ARITH_HELP,
                &format!("use `{wrapping}`"),
                fix,
                appl,
                &format!("{} {} {}", key_tail[0], op.as_str(), key_tail[1]),
            ))
        }
        SiteKind::AssignArith(op) => {
            let k = &kinds[0];
            if !matches!(k, Kind::Raw { cast: false, .. }) {
                return None;
            }
            add_ev(k, &mut labels, &mut notes);
            let (s, w) = if *op == BinOp::Add {
                ("+=", "wrapping_add")
            } else {
                ("-=", "wrapping_sub")
            };
            let appl = if k.certain_raw() {
                Applicability::MachineApplicable
            } else {
                Applicability::MaybeIncorrect
            };
            Some(mk(
                "seq_arith",
                format!("`{s}` on a sequence number overflows at the 2^32 wrap"),
                labels,
                notes,
                ARITH_HELP,
                &format!("use `{w}`"),
                fx().0.as_ref(),
                appl,
                &format!("{} {s} {}", key_tail[0], key_tail[1]),
            ))
        }
        SiteKind::Neg => {
            let k = &kinds[0];
            if !matches!(k, Kind::Raw { cast: false, .. }) {
                return None;
            }
            add_ev(k, &mut labels, &mut notes);
            let appl = if k.certain_raw() {
                Applicability::MachineApplicable
            } else {
                Applicability::MaybeIncorrect
            };
            Some(mk(
                "seq_arith",
                "negation of a sequence number overflows".into(),
                labels,
                notes,
                ARITH_HELP,
                "use `wrapping_neg`",
                fx().0.as_ref(),
                appl,
                &format!("-{}", key_tail[0]),
            ))
        }
        SiteKind::CastArith(ty) => {
            if !kinds
                .iter()
                .any(|k| matches!(k, Kind::Raw { cast: false, .. } | Kind::Wrap { .. }))
            {
                return None;
            }
            for k in &kinds {
                add_ev(k, &mut labels, &mut notes);
            }
            let both = kinds.len() == 2 && kinds.iter().all(Kind::is_seq);
            let (fix, appl) = if kinds.len() == 2 && !both {
                (None, Applicability::Unspecified)
            } else if both {
                (fx().0.as_ref(), Applicability::MaybeIncorrect)
            } else {
                (fx().0.as_ref(), Applicability::HasPlaceholders)
            };
            Some(mk(
                "seq_arith",
                format!("sequence number cast to `{ty}` and used in arithmetic loses the 2^32 wrap"),
                labels,
                notes,
                "take the offset from a base sequence number with `wrapping_sub` first, then widen \
                 the offset: `seq.wrapping_sub(base) as usize`",
                "widen the wrapping offset instead",
                fix,
                appl,
                &format!("{} as {ty}", key_tail.join(" - ")),
            ))
        }
    }
}

/// Whether two operands of an ordering are a sequence-number comparison.
fn cmp_candidate(a: &Kind, b: &Kind) -> bool {
    let blocks = |k: &Kind| matches!(k, Kind::Offset | Kind::Lit | Kind::NotSeq | Kind::Newtype);
    if blocks(a) || blocks(b) {
        return false;
    }
    a.is_seq() || b.is_seq()
}

fn sort_elem_kind(ix: &Index<'_>, v: &Val, text: &str) -> Kind {
    let Some(t) = ix.type_of(v, 0) else {
        return Kind::Unknown;
    };
    if !matches!(t.name.as_str(), "Vec" | "VecDeque" | "[]") {
        return Kind::Unknown;
    }
    let Some(elem) = t.args.first() else {
        return Kind::Unknown;
    };
    let holder = text.rsplit('.').next().unwrap_or(text);
    let as_name = if mentions_seq(holder) { "seq" } else { holder };
    ix.type_kind(elem, as_name, || Ev {
        subject: text.to_string(),
        why: format!(
            "a `{}` of `{}` whose name mentions sequence numbers",
            t.name,
            elem.display()
        ),
        labels: Vec::new(),
    })
}

fn isn_finding(ix: &Index<'_>, isn: &IsnSite) -> Option<SeqFinding> {
    let has_clock = isn.sources.iter().any(|s| matches!(s, IsnSource::Clock(_)));
    let random: Vec<&String> = isn
        .sources
        .iter()
        .filter_map(|s| match s {
            IsnSource::Random(w) => Some(w),
            _ => None,
        })
        .collect();
    let constant = isn.sources.iter().find_map(|s| match s {
        IsnSource::Constant(c) => Some(c),
        _ => None,
    });
    let mut labels = Vec::new();
    let mut notes = vec![format!(
        "`{}` is an initial sequence number: {}",
        isn.target,
        if isn.target.ends_with("()") {
            "the name of the function says it makes a new one"
        } else if isn.only_random {
            "a sequence number set from a random value starts a sequence space"
        } else {
            "its name"
        }
    )];
    let message;
    let key_what;
    if has_clock || (isn.only_random && random.is_empty()) {
        return None;
    }
    if let Some(t) = &isn.target_val {
        if matches!(ix.kind(t, 0), Kind::NotSeq | Kind::Lit | Kind::Offset) {
            return None;
        }
    }
    if let Some(t) = isn.value_val.as_ref().and_then(|v| ix.type_of(v, 0)) {
        let capable = matches!(
            t.name.as_str(),
            "u32" | "i32" | "Wrapping" | "AtomicU32" | "AtomicI32"
        ) || ix.newtypes.contains_key(t.name.as_str());
        if !capable {
            return None;
        }
    }
    if !random.is_empty() {
        message = format!(
            "initial sequence number `{}` comes from a random source alone ({}) and can move backwards",
            isn.target,
            random
                .iter()
                .map(|w| format!("`{w}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        notes.push(
            "RFC 9293 (MUST-8) and RFC 6528: the ISN must follow a clock that advances \
                    monotonically, plus a keyed hash of the connection's 4-tuple; a random value \
                    alone can be lower than the previous ISN of the same connection"
                .into(),
        );
        key_what = format!("random:{}", random[0]);
    } else if let Some(h) = isn.sources.iter().find_map(|s| match s {
        IsnSource::Hash(w) => Some(w),
        _ => None,
    }) {
        let words: Vec<String> = isn
            .sources
            .iter()
            .filter_map(|s| match s {
                IsnSource::Hash(w) => Some(format!("`{w}`")),
                _ => None,
            })
            .collect();
        message = format!(
            "initial sequence number `{}` is a hash of the connection alone ({}), with no clock",
            isn.target,
            words.join(", ")
        );
        notes.push(
            "a keyed hash of the 4-tuple is the same for every incarnation of the connection; \
             RFC 6528 adds it to a clock that advances, and the clock is what keeps the ISN moving \
             forward (RFC 9293 MUST-8)"
                .into(),
        );
        key_what = format!("hash:{h}");
    } else if let Some(c) = constant {
        message = format!(
            "initial sequence number `{}` is the constant `{}`",
            isn.target,
            squash(c)
        );
        notes.push(
            "every connection starts at the same sequence number, so segments of an old \
             incarnation of the connection are taken for new ones"
                .into(),
        );
        key_what = "constant".into();
    } else {
        let mut hit = None;
        for s in &isn.sources {
            if let IsnSource::Counter(name) = s {
                if let Some(ws) = ix.backward.get(name.as_str()) {
                    hit = Some((name.clone(), ws.clone()));
                    break;
                }
            }
        }
        let (name, writes) = hit?;
        for w in &writes {
            labels.push((w.span, format!("`{name}` moves backwards here: {}", w.how)));
        }
        message = format!(
            "initial sequence number `{}` comes from counter `{name}`, which can move backwards",
            isn.target
        );
        notes.push(
            "an ISN lower than the previous one for the same connection makes the peer take new \
             segments for old duplicates (RFC 9293 MUST-8)"
                .into(),
        );
        key_what = format!("counter:{name}");
    }
    Some(SeqFinding {
        lint: "isn_not_monotonic",
        span: isn.span,
        message,
        labels,
        notes,
        help:
            "derive the ISN from a clock that advances monotonically (RFC 9293: every 4 µs) plus \
               a keyed hash of the local and remote addresses and ports (RFC 6528)"
                .into(),
        fix_message: "clock plus keyed hash of the 4-tuple (fill in the clock and hash)".into(),
        edits: vec![Edit {
            span: isn.span,
            replacement: isn.fix.clone(),
        }],
        applicability: Applicability::HasPlaceholders,
        key: format!(
            "isn_not_monotonic:{}:{}:{key_what}",
            isn.fn_path, isn.target
        ),
    })
}
