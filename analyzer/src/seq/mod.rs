//! Sequence-number analysis.
//!
//! TCP sequence numbers live in a 32-bit space that wraps: ordering and arithmetic on them must
//! be done modulo 2^32 (RFC 1982, RFC 9293 §3.4). Lowering collects each file's facts
//! ([`crate::seq_facts`]); [`resolve`] then decides, with every file's declarations at hand,
//! which operands are sequence numbers and which sites are findings.

mod resolve;

pub use resolve::resolve;

use crate::diag::{Applicability, Edit};
use crate::seq_facts::BinOp;
use crate::source::Span;

/// One resolved finding: what was found ([`SeqKind`]), where, why its operands are sequence
/// numbers, and the fix. The wording is the lints' business.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeqFinding {
    pub kind: SeqKind,
    /// The site.
    pub span: Span,
    /// The function the site is in (for a derive: the type).
    pub path: String,
    /// Only names say the operands are sequence numbers: no type on the way is known to be
    /// one (a heuristic; the lints report such a finding one level weaker and say so).
    pub by_name: bool,
    /// The site steps a place by one that every write in the analyzed code sets to a constant
    /// or steps by one: a count, not a number taken from the wire (a heuristic, one level
    /// weaker, the note says so).
    pub counter: bool,
    /// The evidence for the operands, each once: where it is written, and what it is.
    pub labels: Vec<(Span, String)>,
    pub notes: Vec<String>,
    /// The fix, when one could be built.
    pub edits: Vec<Edit>,
    pub applicability: Applicability,
}

/// Which of the three checks a finding belongs to, in the order findings at one span sort by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SeqCheck {
    /// An initial sequence number that can move backwards.
    Isn,
    /// Non-wrapping arithmetic.
    Arith,
    /// A plain integer ordering.
    Compare,
}

/// What a finding is about, with the data its message needs. Operand texts have their
/// whitespace squashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SeqKind {
    /// `#[derive(PartialOrd)]` / `#[derive(Ord)]` on sequence newtype `ty` holding one
    /// `inner`; `decl` is the type's declaration.
    DerivedOrd {
        ty: String,
        inner: String,
        decl: Span,
    },
    /// `a < b` and friends.
    Compare { op: BinOp, operands: [String; 2] },
    /// `a.max(b)` (`free_fn`: `cmp::max(a, b)`) and friends.
    MethodCmp {
        method: String,
        free_fn: bool,
        operands: Vec<String>,
    },
    /// `v.sort()`, `v.sort_by_key(|x| key)`: the vector or the key.
    Sort { method: String, operand: String },
    /// A `BTreeMap` / `BTreeSet` field `holder` keyed by `key_ty`; `key_why` says why its keys
    /// are sequence numbers (the evidence notes leave that one out).
    OrderedKey {
        container: String,
        holder: String,
        key_ty: String,
        key_why: String,
    },
    /// `a + b`, `a - b`.
    Arith { op: BinOp, operands: [String; 2] },
    /// `a += b`, `a -= b` (`op` is `Add` or `Sub`).
    AssignArith { op: BinOp, operands: [String; 2] },
    /// `-a`.
    Neg { operand: String },
    /// A sequence number (or the difference of two: two operands) cast to `ty` and used in
    /// arithmetic.
    CastArith { ty: String, operands: Vec<String> },
    /// Initial sequence number `target` taken from `cause`.
    Isn {
        target: String,
        why: IsnWhy,
        cause: IsnCause,
    },
}

/// Why a value is taken for an initial sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsnWhy {
    /// It is what a function named like `gen_isn` returns.
    FnName,
    /// A sequence number set from a random value.
    RandomWrite,
    /// The name of the field or local it is assigned to.
    Name,
}

/// Where an initial sequence number comes from that makes it a finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IsnCause {
    /// Random sources alone (the words read, in order; at least one).
    Random(Vec<String>),
    /// A hash of the connection, no clock (the hash words, at least one).
    Hash(Vec<String>),
    /// A constant (its text, squashed).
    Constant(String),
    /// A counter that moves backwards at `writes` (span, how).
    Counter {
        name: String,
        writes: Vec<(Span, String)>,
    },
}

impl SeqKind {
    pub fn check(&self) -> SeqCheck {
        match self {
            SeqKind::Isn { .. } => SeqCheck::Isn,
            SeqKind::Arith { .. }
            | SeqKind::AssignArith { .. }
            | SeqKind::Neg { .. }
            | SeqKind::CastArith { .. } => SeqCheck::Arith,
            SeqKind::DerivedOrd { .. }
            | SeqKind::Compare { .. }
            | SeqKind::MethodCmp { .. }
            | SeqKind::Sort { .. }
            | SeqKind::OrderedKey { .. } => SeqCheck::Compare,
        }
    }
}

/// How the candidate sites of one file were judged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeqStats {
    /// Comparisons, arithmetic, casts, sorts and ordered-map keys looked at.
    pub sites: usize,
    /// Sites with an operand of a sequence newtype (judged by its impls).
    pub newtype_sites: usize,
    /// Sites with a raw sequence-number operand (`u32`, `Wrapping<u32>`, `.0`).
    pub raw_sites: usize,
    /// Sites with an offset operand (the difference of two sequence numbers).
    pub offset_sites: usize,
    pub isn_sites: usize,
    /// Struct declarations and hand-written ordering impls (and how many of those compare
    /// modulo the wrap) read from the file.
    pub structs: usize,
    pub ord_impls: usize,
    pub modular_ord_impls: usize,
}

/// Resolved findings of all files, in source order.
#[derive(Clone, Debug, Default)]
pub struct SeqAnalysis {
    pub findings: Vec<SeqFinding>,
    /// Per-file counts of what was judged, for reports and triage.
    pub stats: std::collections::BTreeMap<crate::source::FileId, SeqStats>,
}

impl SeqAnalysis {
    /// The findings of one check, in order.
    pub fn of_check(&self, check: SeqCheck) -> impl Iterator<Item = &SeqFinding> + '_ {
        self.findings
            .iter()
            .filter(move |f| f.kind.check() == check)
    }
}

#[cfg(test)]
mod tests {
    use crate::source::{FileId, SourceDb, SourceFile};
    use crate::{analyze, lower_file, Config};

    fn run(files: &[(&str, &str)]) -> super::SeqAnalysis {
        let mut db = SourceDb::new();
        let mut lowered = Vec::new();
        for (i, (path, text)) in files.iter().enumerate() {
            let id = db.add(SourceFile::new(FileId(i as u32), *path, *text));
            lowered.push(lower_file(db.get(id)));
        }
        analyze(&db, lowered, &Config::default()).seq
    }

    #[test]
    fn long_operator_chains_do_not_overflow() {
        let chain = vec!["seq"; 2000].join(" + ");
        let text = format!("pub fn f(seq: u32) -> u32 {{ {chain} }}");
        let a = std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(move || run(&[("a.rs", text.as_str())]).findings.len())
            .unwrap()
            .join()
            .expect("no stack overflow");
        assert!(a >= 1);
    }

    #[test]
    fn long_local_chains_stay_bounded() {
        let mut body = String::from("let s0 = seq;\n");
        for i in 1..2000 {
            body.push_str(&format!("let s{i} = s{};\n", i - 1));
        }
        let text = format!("pub fn f(seq: u32, b: u32) -> bool {{ {body} s1999 < b }}");
        let a = run(&[("a.rs", text.as_str())]);
        assert!(a.findings.len() <= 1);
    }

    #[test]
    fn resolves_across_files_and_states_the_evidence() {
        let a = run(&[
            ("tcb.rs", "pub struct Tcb { pub snd_una: u32, pub timer: u64 }"),
            (
                "input.rs",
                "impl Tcb { fn on(&mut self, seg_ack: u32) { if self.snd_una < seg_ack { self.snd_una = seg_ack; } } }",
            ),
        ]);
        assert_eq!(a.findings.len(), 1);
        let f = &a.findings[0];
        assert!(matches!(
            &f.kind,
            super::SeqKind::Compare { op: crate::seq_facts::BinOp::Lt, operands }
                if operands == &["self.snd_una".to_string(), "seg_ack".to_string()]
        ));
        assert!(f
            .notes
            .iter()
            .any(|n| n == "`snd_una` is a sequence number: field of `Tcb` declared `u32`"));
        assert_eq!(f.labels[0].0.file, FileId(0));
        assert_eq!(f.path, "crate::Tcb::on");
        assert_eq!(
            f.applicability,
            crate::diag::Applicability::MachineApplicable
        );
    }

    /// The findings' (line-free) kinds and whether only names back them.
    fn by_name(files: &[(&str, &str)]) -> Vec<bool> {
        run(files).findings.iter().map(|f| f.by_name).collect()
    }

    #[test]
    fn a_local_fn_returning_a_wide_integer_through_an_alias_and_try_is_no_sequence_number() {
        let src = "type Res<T> = Result<T, ()>;
            pub fn other() { fn dv(d: &mut u8) -> Res<u32> { Ok(0) } }
            pub fn decode(dec: &mut u8, snd_una: u64) -> Res<bool> {
                fn dv(d: &mut u8) -> Res<u64> { Ok(0) }
                let sequence_number = dv(dec)?;
                Ok(snd_una > sequence_number)
            }";
        assert_eq!(by_name(&[("a.rs", src)]), Vec::<bool>::new());
        // the same shape with 32-bit values is one, by the declared types
        let narrow = src.replace("u64", "u32");
        assert_eq!(by_name(&[("a.rs", narrow.as_str())]), vec![false]);
    }

    #[test]
    fn a_closure_parameter_of_an_option_method_takes_the_option_s_type() {
        let src = "pub type Number = u64;
            pub struct Space { largest_acked: Option<Number> }
            impl Space {
                fn lost(&self, seq: Number) -> bool {
                    let largest_acked = self.largest_acked;
                    largest_acked.is_some_and(|largest_ack| seq < largest_ack)
                }
            }";
        assert_eq!(by_name(&[("a.rs", src)]), Vec::<bool>::new());
        let narrow = src.replace("= u64", "= u32");
        assert_eq!(by_name(&[("a.rs", narrow.as_str())]), vec![false]);
    }

    #[test]
    fn the_output_of_an_operator_impl_through_an_if_is_a_distance() {
        let src = "pub struct SeqNumber(pub i32);
            impl core::ops::Sub for SeqNumber { type Output = usize;
                fn sub(self, o: SeqNumber) -> usize { self.0.wrapping_sub(o.0) as usize } }
            pub struct Sock { remote_last_seq: SeqNumber, local_seq_no: SeqNumber }
            impl Sock {
                fn can_send(&self, effective_mss: usize) -> bool {
                    let max_send_seq = self.local_seq_no;
                    let capped_send_seq = if max_send_seq >= self.remote_last_seq {
                        max_send_seq - self.remote_last_seq
                    } else {
                        0
                    };
                    let max_send = capped_send_seq.min(effective_mss);
                    max_send >= effective_mss
                }
            }";
        assert_eq!(by_name(&[("a.rs", src)]), Vec::<bool>::new());
    }

    #[test]
    fn an_if_value_takes_its_branches_kind() {
        let src = "pub fn f(snd_una: u32, rcv_nxt: u32, c: bool) -> bool {
                let edge = if c { snd_una } else { return false };
                edge < rcv_nxt
            }";
        assert_eq!(by_name(&[("a.rs", src)]), vec![false]);
    }

    #[test]
    fn a_value_known_by_its_name_only_is_marked() {
        let src = "pub fn f(seg: &Foreign, snd_una: u32) -> bool {
                let seg_seq = seg.start();
                seg_seq < snd_una
            }
            pub fn g(seg: &Foreign, seg_ack: &Foreign) -> bool {
                let seg_seq = seg.start();
                let ack = seg_ack.end();
                seg_seq < ack
            }";
        // one typed operand types the comparison; two named ones do not
        assert_eq!(by_name(&[("a.rs", src)]), vec![false, true]);
    }
}
