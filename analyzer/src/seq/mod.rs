//! Sequence-number analysis.
//!
//! TCP sequence numbers live in a 32-bit space that wraps: ordering and arithmetic on them must
//! be done modulo 2^32 (RFC 1982, RFC 9293 §3.4). Lowering collects each file's facts
//! ([`crate::seq_facts`]); [`resolve`] then decides, with every file's declarations at hand,
//! which operands are sequence numbers and which sites are findings.

mod resolve;

pub use resolve::resolve;

use crate::diag::{Applicability, Edit};
use crate::source::Span;

/// One resolved finding of a sequence lint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeqFinding {
    /// `seq_compare`, `seq_arith` or `isn_not_monotonic`.
    pub lint: &'static str,
    pub span: Span,
    pub message: String,
    pub labels: Vec<(Span, String)>,
    pub notes: Vec<String>,
    pub help: String,
    pub fix_message: String,
    pub edits: Vec<Edit>,
    pub applicability: Applicability,
    pub key: String,
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
}

/// Resolved findings of all files, in source order.
#[derive(Clone, Debug, Default)]
pub struct SeqAnalysis {
    pub findings: Vec<SeqFinding>,
    /// Per-file counts of what was judged, for reports and triage.
    pub stats: std::collections::BTreeMap<crate::source::FileId, SeqStats>,
}

impl SeqAnalysis {
    pub fn of_lint<'a>(&'a self, lint: &'a str) -> impl Iterator<Item = &'a SeqFinding> + 'a {
        self.findings.iter().filter(move |f| f.lint == lint)
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
        assert_eq!(f.lint, "seq_compare");
        assert!(f
            .notes
            .iter()
            .any(|n| n == "`snd_una` is a sequence number: field of `Tcb` declared `u32`"));
        assert_eq!(f.labels[0].0.file, FileId(0));
        assert_eq!(f.key, "seq_compare:crate::Tcb::on:self.snd_una < seg_ack");
        assert_eq!(
            f.applicability,
            crate::diag::Applicability::MachineApplicable
        );
    }
}
