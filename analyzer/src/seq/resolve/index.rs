//! The declarations of every file, indexed by name: structs, aliases, sequence newtypes,
//! operator impls and signatures; and the declared type of a value.

use super::*;
use crate::seq_facts::SeqFileFacts;

pub(super) struct Newtype {
    pub(super) inner_wrapping: bool,
    pub(super) modular: bool,
}

pub(super) struct Index<'a> {
    pub(super) structs: BTreeMap<&'a str, Vec<&'a StructDecl>>,
    pub(super) aliases: BTreeMap<&'a str, &'a AliasDecl>,
    pub(super) newtypes: BTreeMap<&'a str, Newtype>,
    pub(super) op_impls: BTreeMap<&'a str, Vec<&'a OpImpl>>,
    pub(super) fns_by_name: BTreeMap<&'a str, Vec<&'a FnSig>>,
    pub(super) backward: BTreeMap<&'a str, Vec<&'a BackwardWrite>>,
    /// Names of places written (`SeqWrite`): whether every write sets a constant or steps by
    /// one.
    pub(super) counted: BTreeMap<&'a str, bool>,
    pub(super) config: &'a Config,
}

pub(super) const PASS_THROUGH_TYPES: &[&str] = &[
    "Option", "Result", "Cell", "Box", "Rc", "Arc", "RefCell", "Mutex", "RwLock", "SpinLock",
    "Volatile",
];
/// Integer types other than the 32-bit ones: never a TCP sequence number.
pub(super) const OTHER_INTS: &[&str] = &[
    "u8", "u16", "u64", "u128", "usize", "i8", "i16", "i64", "i128", "isize",
];
pub(super) const NOT_SEQ_TYPES: &[&str] = &[
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
    pub(super) fn new(facts: &'a [SeqFileFacts], config: &'a Config) -> Index<'a> {
        let mut ix = Index {
            structs: BTreeMap::new(),
            aliases: BTreeMap::new(),
            newtypes: BTreeMap::new(),
            op_impls: BTreeMap::new(),
            fns_by_name: BTreeMap::new(),
            backward: BTreeMap::new(),
            counted: BTreeMap::new(),
            config,
        };
        let mut ord_modular: BTreeMap<&str, bool> = BTreeMap::new();
        for s in facts {
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
            for w in &s.writes {
                *ix.counted.entry(&w.name).or_insert(true) &= w.counted;
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
    pub(super) fn unalias(&self, ty: &TypeRef) -> (TypeRef, Option<String>) {
        let mut t = ty.clone();
        let mut seq_alias = None;
        for _ in 0..8 {
            match self.aliases.get(t.name.as_str()) {
                Some(a) if !self.newtypes.contains_key(t.name.as_str()) => {
                    if is_seq_type_name(&a.name, &self.config.seq_names, &self.config.seq_ignore) {
                        seq_alias.get_or_insert(a.name.clone());
                    }
                    let args = std::mem::take(&mut t.args);
                    t = if a.params.is_empty() {
                        let mut t = a.target.clone();
                        if t.args.is_empty() {
                            t.args = args;
                        }
                        t
                    } else {
                        // `type Res<T> = Result<T, Error>` used as `Res<u64>`
                        subst(&a.target, &a.params, &args)
                    };
                }
                _ => break,
            }
        }
        (t, seq_alias)
    }

    /// A type name with plain aliases (`use a::SeqNumber as TcpSeqNumber`) followed.
    pub(super) fn canon<'n>(&'n self, name: &'n str) -> &'n str {
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
    pub(super) fn struct_for(&self, ty: &str, field: &str) -> Option<&'a StructDecl> {
        let cands = self.structs.get(self.canon(ty))?;
        cands
            .iter()
            .find(|s| s.fields.iter().any(|f| f.name == field))
            .or_else(|| cands.first())
            .copied()
    }

    pub(super) fn seq_name(&self, name: &str) -> bool {
        is_seq_name(name, &self.config.seq_names, &self.config.seq_ignore)
    }
}

/// `ty` with the type parameters `params` replaced by `args` (a missing argument stays the
/// parameter's name).
fn subst(ty: &TypeRef, params: &[String], args: &[TypeRef]) -> TypeRef {
    if ty.args.is_empty() {
        if let Some(i) = params.iter().position(|p| *p == ty.name) {
            if let Some(a) = args.get(i) {
                return a.clone();
            }
        }
    }
    TypeRef {
        name: ty.name.clone(),
        args: ty.args.iter().map(|a| subst(a, params, args)).collect(),
    }
}

impl<'a> Index<'a> {
    /// The declared type of a value, where it can be told.
    pub(super) fn type_of(&self, v: &Val, depth: usize) -> Option<TypeRef> {
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
                        // `type_of` already looked through `Option`/`Result`/`Box`/…: a
                        // struct or a number is the value they held (`opt.map(|x| ..)`)
                        n if self.structs.contains_key(self.canon(n))
                            || OTHER_INTS.contains(&n)
                            || matches!(n, "u32" | "i32") =>
                        {
                            Some(t)
                        }
                        _ => None,
                    }
                }
                _ => {
                    let rt = self.type_of(recv, d);
                    self.method_sig(rt.as_ref(), name)
                        .and_then(|f| f.ret.clone())
                }
            },
            Val::Call {
                local: Some(f),
                path,
                ..
            } if path.len() == 1 => f.ret.clone(),
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
            Val::Bin { op, l, r } => self.bin_type(*op, l, r, d),
            Val::Cast { ty, .. } => Some(ty.clone()),
            Val::Join(vs) => vs
                .iter()
                .filter(|v| !matches!(v, Val::Lit))
                .find_map(|v| self.type_of(v, d)),
            _ => None,
        }?;
        Some(self.strip_wrappers(t))
    }

    /// The type of `l op r`: an operator impl's `Output` in the analyzed code, else (for
    /// numbers, whose operands share one type) the type of either side.
    fn bin_type(&self, op: BinOp, l: &Val, r: &Val, d: usize) -> Option<TypeRef> {
        let trait_name = match op {
            BinOp::Add => "Add",
            BinOp::Sub => "Sub",
            _ => return None,
        };
        let lt = self.type_of(l, d);
        if let Some(t) = &lt {
            if let Some(impls) = self.op_impls.get(self.canon(&t.name)) {
                let rt = self.type_of(r, d);
                return impls
                    .iter()
                    .filter(|i| i.trait_name == trait_name)
                    .find(|i| match (&rt, &i.rhs) {
                        (Some(a), Some(b)) => self.canon(&a.name) == self.canon(&b.name),
                        _ => true,
                    })
                    .and_then(|i| i.output.clone());
            }
        }
        let number = |t: &TypeRef| {
            OTHER_INTS.contains(&t.name.as_str()) || t.name == "u32" || t.name == "i32"
        };
        lt.filter(number)
            .or_else(|| self.type_of(r, d).filter(number))
    }

    /// Aliases followed and wrappers (`Option`, `Box`, `Arc`, …) looked through.
    pub(super) fn strip_wrappers(&self, mut t: TypeRef) -> TypeRef {
        for _ in 0..8 {
            t = self.unalias(&t).0;
            if PASS_THROUGH_TYPES.contains(&t.name.as_str()) && !t.args.is_empty() {
                t = t.args[0].clone();
            } else {
                break;
            }
        }
        t
    }

    pub(super) fn method_sig(&self, recv_ty: Option<&TypeRef>, name: &str) -> Option<&'a FnSig> {
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
}
