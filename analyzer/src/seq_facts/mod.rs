//! Per-file sequence-number facts.
//!
//! TCP sequence numbers live in a 32-bit space that wraps: ordering and arithmetic on them must
//! be done modulo 2^32 (RFC 1982, RFC 9293 §3.4). Per file, [`collect_file`] lowers what matters
//! into plain data: declared struct fields and aliases, ordering and operator impls, function
//! signatures, and every candidate site (comparisons, arithmetic, casts, sorts, ordered maps,
//! initial sequence numbers) with its operands as small value trees and the replacement text of
//! the fix. The facts only describe one file's syntax; [`crate::seq`] decides, with every file's
//! facts at hand, which operands are sequence numbers and which sites are findings.
//!
//! This module reads syntax and nothing above it: lowering stores its result in every
//! lowered file.

mod collect;
pub mod names;

pub use collect::collect_file;

use crate::diag::{Applicability, Edit};
use crate::source::Span;

/// Methods whose value is their closure's result (`Option::map` and friends).
pub(crate) const MAPPING_METHODS: &[&str] = &[
    "map",
    "and_then",
    "map_or",
    "map_or_else",
    "filter_map",
    "find_map",
];
/// The pseudo-method that stands for "an element of" in value trees: a [`Val::Method`] of this
/// name and no arguments is an element of its receiver (`segs.iter().any(|s| ..)`: `s`).
pub const ELEM_NAME: &str = "<elem>";

/// A type as written, reduced to its last path segment and generic arguments
/// (`&'a std::num::Wrapping<u32>` → `Wrapping<u32>`). References are stripped; tuples, arrays
/// and slices are named `()`, `[]`.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct TypeRef {
    pub name: String,
    pub args: Vec<TypeRef>,
}

impl TypeRef {
    pub fn named(name: &str) -> TypeRef {
        TypeRef {
            name: name.to_string(),
            args: Vec::new(),
        }
    }

    /// Rust-like display (`Wrapping<u32>`).
    pub fn display(&self) -> String {
        if self.args.is_empty() {
            self.name.clone()
        } else {
            let a: Vec<String> = self.args.iter().map(TypeRef::display).collect();
            format!("{}<{}>", self.name, a.join(", "))
        }
    }
}

/// A struct field (named, or `0`, `1` for tuple structs).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldDecl {
    pub name: String,
    pub ty: TypeRef,
    pub span: Span,
}

/// `#[derive(PartialOrd / Ord)]` on a struct, with the fix that replaces it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeriveOrd {
    /// The `derive(..)` attribute.
    pub span: Span,
    pub fix: Vec<Edit>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StructDecl {
    pub name: String,
    pub fields: Vec<FieldDecl>,
    pub tuple: bool,
    /// The struct's name.
    pub span: Span,
    pub derive_ord: Option<DeriveOrd>,
    /// Module path of the declaration, for the key.
    pub path: String,
}

/// `type Name = Target;` or `use path::Target as Name;`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AliasDecl {
    pub name: String,
    /// The alias's type parameters (`type Res<T> = Result<T, Error>`: `T`), replaced by the
    /// arguments it is used with.
    pub params: Vec<String>,
    pub target: TypeRef,
    pub span: Span,
}

/// A hand-written `PartialOrd` / `Ord` impl.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrdImpl {
    pub self_ty: String,
    pub trait_name: String,
    /// The body compares through a wrapping difference (`wrapping_sub`, `as i32`, a call to a
    /// `before`/`after`-style helper, or delegates to another such impl).
    pub modular: bool,
    pub span: Span,
}

/// An operator impl (`impl Add<usize> for SeqNumber`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpImpl {
    pub self_ty: String,
    pub trait_name: String,
    pub rhs: Option<TypeRef>,
    pub output: Option<TypeRef>,
}

/// A function or method signature: what a call returns.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FnSig {
    pub self_ty: Option<String>,
    pub name: String,
    pub ret: Option<TypeRef>,
    pub span: Span,
}

/// Binary operators the analysis distinguishes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum BinOp {
    Add,
    Sub,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    BitXor,
    BitOr,
    BitAnd,
    Other,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::BitXor => "^",
            BinOp::BitOr => "|",
            BinOp::BitAnd => "&",
            BinOp::Other => "?",
        }
    }
}

/// An expression reduced to what decides whether it is a sequence number.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Val {
    Lit,
    /// An upper-case path (`MAX_SEQ`, `u32::MAX`).
    Const(String),
    /// A local or parameter with what is known about it where it is used.
    Local {
        name: String,
        ty: Option<TypeRef>,
        /// The `let` or parameter.
        decl_span: Span,
        init: Option<Box<Val>>,
        init_text: Option<String>,
    },
    /// A path that is not a known local (a static, an enum variant, a function item).
    Path(String),
    /// `self` inside an impl of `ty`.
    SelfRef {
        ty: Option<String>,
    },
    Field {
        base: Box<Val>,
        name: String,
    },
    Method {
        recv: Box<Val>,
        name: String,
        args: Vec<Val>,
    },
    Call {
        path: Vec<String>,
        args: Vec<Val>,
        /// The function item declared in an enclosing block that a one-segment path names
        /// (`fn dv(..) -> Res<u64>` inside the caller's body): it shadows any other of its name.
        local: Option<Box<FnSig>>,
    },
    Bin {
        op: BinOp,
        l: Box<Val>,
        r: Box<Val>,
    },
    Neg(Box<Val>),
    Cast {
        inner: Box<Val>,
        ty: TypeRef,
    },
    /// The value of an `if` / `match` / block: one of its branches' values (branches that
    /// diverge left out). A branch that could name bindings of its own is [`Val::Unknown`].
    Join(Vec<Val>),
    Unknown,
}

/// What kind of site a candidate is.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SiteKind {
    /// `a < b`, `a <= b`, `a > b`, `a >= b`.
    Compare(BinOp),
    /// `a.max(b)`, `a.min(b)`, `a.cmp(&b)`, `a.partial_cmp(&b)`, `a.clamp(lo, hi)`.
    MethodCmp(String),
    /// `cmp::max(a, b)`, `cmp::min(a, b)`.
    FnCmp(String),
    /// `v.sort_by_key(|x| key)` and friends: the operand is the key.
    SortKey(String),
    /// `v.sort()` / `sort_unstable()`: the operand is the vector.
    Sort(String),
    /// A `BTreeMap`/`BTreeSet` declared with the operand's type as key.
    OrderedKey { container: String, holder: String },
    /// `a + b`, `a - b`.
    Arith(BinOp),
    /// `a += b`, `a -= b`.
    AssignArith(BinOp),
    /// `-a`.
    Neg,
    /// `a as usize` whose value feeds arithmetic or indexing.
    CastArith(String),
}

/// The impl a site sits in.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImplCtx {
    pub self_ty: Option<String>,
    pub trait_name: Option<String>,
}

/// A candidate site. Its fix is built when it turns out to be a finding, from the operands'
/// source text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Site {
    pub kind: SiteKind,
    /// The whole expression.
    pub span: Span,
    pub operands: Vec<Val>,
    pub operand_spans: Vec<Span>,
    pub operand_texts: Vec<String>,
    /// Enclosing function path (`krate::tcp::Tcb::on_ack`).
    pub fn_path: String,
    pub ctx: ImplCtx,
    /// The fix evaluates an operand twice or needs a placeholder filled in.
    pub fix_caveat: Option<Applicability>,
    /// The expression is an index (`buf[..]`): a cast there needs no parentheses.
    pub in_index: bool,
}

/// A source an initial sequence number is computed from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum IsnSource {
    Random(String),
    Clock(String),
    Hash(String),
    Constant(String),
    Counter(String),
}

/// An initial sequence number: an assignment to `isn`/`iss`/`initial_seq*` or the value a
/// `*isn*` / `gen_iss` function returns.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IsnSite {
    pub target: String,
    /// The value expression.
    pub span: Span,
    pub fn_path: String,
    pub sources: Vec<IsnSource>,
    pub text: String,
    pub fix: String,
    /// The target is an ordinary sequence number (`seq`, `snd_nxt`), not named as an ISN: only
    /// a random value written to it directly makes it an initial sequence number.
    pub only_random: bool,
    /// The place written (for `only_random` sites): it must be able to hold a 32-bit
    /// sequence number.
    pub target_val: Option<Val>,
    /// The value written (for `only_random` sites): a call whose declared type cannot be a
    /// 32-bit sequence number (a sequencer object, a `u16`) is not one.
    pub value_val: Option<Val>,
}

/// A write that moves a counter backwards: `c -= n`, `c = c.wrapping_sub(n)`, `c = 0`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackwardWrite {
    pub name: String,
    pub span: Span,
    pub how: String,
}

/// A write to a place named like a sequence number: `counted` when it sets a constant
/// (`seq = 0`, `Dump { seq: 0 }`) or steps by one (`seq += 1`). A name written only so is a
/// count from a constant, which wraps only after 2^32 steps.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SeqWrite {
    pub name: String,
    pub counted: bool,
}

/// Per-file facts the sequence analysis resolves across files.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct SeqFileFacts {
    pub structs: Vec<StructDecl>,
    pub aliases: Vec<AliasDecl>,
    pub ord_impls: Vec<OrdImpl>,
    pub op_impls: Vec<OpImpl>,
    pub fns: Vec<FnSig>,
    pub sites: Vec<Site>,
    pub isn_sites: Vec<IsnSite>,
    pub backward_writes: Vec<BackwardWrite>,
    pub writes: Vec<SeqWrite>,
    /// `sites` and `isn_sites` once packed ([`SeqFileFacts::pack`]).
    pub packed: Option<PackedSites>,
}

/// A file's candidate sites in postcard's encoding. They are most of a file's facts (each
/// operand carries what is known of its value, initialisers included) and are read once, by
/// the sequence analysis: packed they take about a tenth of the memory between lowering and
/// that analysis.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct PackedSites {
    bytes: Box<[u8]>,
    pub sites: u32,
    pub isn_sites: u32,
}

impl SeqFileFacts {
    /// Move the sites into their packed form. Plain data always encodes; were it ever not to,
    /// the sites stay as they are.
    pub fn pack(&mut self) {
        if self.packed.is_some() || (self.sites.is_empty() && self.isn_sites.is_empty()) {
            return;
        }
        let Ok(bytes) = postcard::to_allocvec(&(&self.sites, &self.isn_sites)) else {
            return;
        };
        self.packed = Some(PackedSites {
            bytes: bytes.into_boxed_slice(),
            sites: self.sites.len() as u32,
            isn_sites: self.isn_sites.len() as u32,
        });
        self.sites = Vec::new();
        self.isn_sites = Vec::new();
    }

    /// The sites and the ISN sites, unpacked if packed.
    pub fn all_sites(
        &self,
    ) -> (
        std::borrow::Cow<'_, [Site]>,
        std::borrow::Cow<'_, [IsnSite]>,
    ) {
        use std::borrow::Cow;
        match &self.packed {
            None => (Cow::Borrowed(&self.sites), Cow::Borrowed(&self.isn_sites)),
            Some(p) => {
                // the bytes were written by `pack` from these types: decoding cannot fail
                let (sites, isn): (Vec<Site>, Vec<IsnSite>) =
                    postcard::from_bytes(&p.bytes).unwrap_or_default();
                (Cow::Owned(sites), Cow::Owned(isn))
            }
        }
    }
}
