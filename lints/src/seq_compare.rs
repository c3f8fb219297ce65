//! `seq_compare`: ordering raw 32-bit TCP sequence numbers as plain integers.

use crate::seq_common::{report, Words};
use crate::{Lint, LintContext, LintMeta};
use lockstep_analyzer::seq::{SeqCheck, SeqFinding, SeqKind};
use lockstep_analyzer::Diagnostic;

declare_lint! {
    /// ## What it does
    /// Reports `<`, `<=`, `>`, `>=`, `.max()`, `.min()`, `.cmp()`, `.partial_cmp()`, `.clamp()`,
    /// `cmp::max`/`cmp::min`, sorts and `BTreeMap`/`BTreeSet` keys on raw TCP sequence numbers
    /// (`u32`, `i32` or `Wrapping<u32>` values named like `seq`, `ack`, `snd_una`, `rcv_nxt`,
    /// or the integer inside a sequence newtype), and `#[derive(PartialOrd)]` / `#[derive(Ord)]`
    /// on a sequence newtype. Each finding's note says why the operand is taken for a sequence
    /// number: its declared type, the field or local it comes from, or its name.
    ///
    /// ## Why is this bad?
    /// Sequence numbers wrap at 2^32. Right after the wrap, `0x0000_0010` follows
    /// `0xffff_fff0`, yet `<` says it comes before. A stack that compares them as plain integers
    /// loses track of what was acknowledged on long transfers and resets the connection
    /// (KB Q189080), or takes new segments for old ones (KB Q228811). Comparisons must be done
    /// on the signed distance modulo 2^32 (RFC 1982, RFC 9293 §3.4), as Linux's `before()` and
    /// `after()` do.
    ///
    /// ## Known problems
    /// There is no type checker: operands are recognized from declared field, local and
    /// parameter types, function signatures (through `?`, `Option`/`Result` and type aliases),
    /// operator impls and names. A value whose type resolves to an integer other than a 32-bit
    /// one (`u64`, `usize`, `u16`) is never a sequence number. A comparison whose operands are
    /// sequence numbers by their names only (no operand's type is known) is reported one level
    /// weaker, a warning by default, with a `MaybeIncorrect` fix and a note saying so. Names
    /// are matched as whole words (`seq_len`, `ack_timer`, `sequence_len` are not sequence
    /// numbers); `seq_names` and `seq_ignore` in the configuration adjust them. Comparisons on
    /// a newtype that derives its ordering are not reported one by one: the derive is.
    ///
    /// ## Example
    /// ```rust,ignore
    /// if seg.ack > self.snd_una {
    ///     self.snd_una = seg.ack;
    /// }
    /// ```
    /// Use instead:
    /// ```rust,ignore
    /// if (seg.ack.wrapping_sub(self.snd_una) as i32) > 0 {
    ///     self.snd_una = seg.ack;
    /// }
    /// ```
    pub SEQ_COMPARE, "seq_compare", Deny, "sequence numbers ordered as plain integers (wrong across the 2^32 wrap)"
}

pub struct SeqCompare;

impl Lint for SeqCompare {
    fn meta(&self) -> &'static LintMeta {
        &SEQ_COMPARE
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
        report(cx, &SEQ_COMPARE, SeqCheck::Compare, words, out);
    }
}

const CMP_HELP: &str = "compare sequence numbers by their signed distance modulo 2^32 (RFC 1982, \
                        RFC 9293 §3.4): `(a.wrapping_sub(b) as i32) < 0` means `a` is before `b`";

fn words(f: &SeqFinding) -> Words {
    match &f.kind {
        SeqKind::DerivedOrd { ty, inner, decl } => {
            let mut w = Words::new(
                format!(
                    "sequence type `{ty}` derives a plain integer ordering that is wrong across the 2^32 wrap"
                ),
                "order sequence numbers by their signed distance modulo 2^32 (RFC 1982): implement \
                 `PartialOrd` by hand with `wrapping_sub`, and drop `Ord` (a modular order is not total)",
                "implement `PartialOrd` modulo 2^32",
                "derive".into(),
            );
            w.labels.push((*decl, format!("`{ty}` wraps a `{inner}`")));
            w.notes.push(format!(
                "`{ty}` is a sequence type: its name, and it holds a single `{inner}`"
            ));
            w
        }
        SeqKind::Compare { op, operands: [l, r] } => Words::new(
            format!(
                "`{}` compares sequence numbers as plain integers, which is wrong across the 2^32 wrap",
                op.as_str()
            ),
            CMP_HELP,
            "compare modulo 2^32",
            format!("{l} {} {r}", op.as_str()),
        ),
        SeqKind::MethodCmp {
            method: m,
            free_fn,
            operands,
        } => {
            let call = if *free_fn {
                format!("`cmp::{m}`")
            } else {
                format!("`.{m}()`")
            };
            Words::new(
                format!(
                    "{call} orders sequence numbers as plain integers, which is wrong across the 2^32 wrap"
                ),
                CMP_HELP,
                "compare modulo 2^32",
                format!("{m}({})", operands.join(", ")),
            )
        }
        SeqKind::Sort { method: m, operand } => Words::new(
            format!(
                "`{m}` orders sequence numbers as plain integers, which is wrong across the 2^32 wrap"
            ),
            "sort by the distance from a base sequence number (`seq.wrapping_sub(base)`, e.g. \
             `snd_una` or `rcv_nxt`), which orders correctly within a window of 2^31",
            "sort by the offset from a base sequence number",
            format!("{m}({operand})"),
        ),
        SeqKind::OrderedKey {
            container,
            holder,
            key_ty,
            key_why,
        } => {
            let mut w = Words::new(
                format!(
                    "`{container}` keyed by raw sequence numbers orders them as plain integers across the 2^32 wrap"
                ),
                "key the map by the offset from a base sequence number (`seq.wrapping_sub(base)`), \
                 or by a sequence type whose ordering is modular",
                "key by the offset from a base sequence number",
                format!("{container}<{key_ty}>"),
            );
            w.notes.push(format!(
                "the keys of `{holder}` are sequence numbers: {key_why}"
            ));
            w
        }
        k => unreachable!("not a comparison finding: {k:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{assert_message, check, Tester};
    use lockstep_analyzer::diag::Applicability;

    #[test]
    fn reports_with_evidence_fix_and_key() {
        let d = check(
            &SeqCompare,
            "struct Tcb { snd_una: u32 }\n\
             impl Tcb { fn on(&mut self, ack: u32) -> bool { ack > self.snd_una } }",
        );
        assert_eq!(d.len(), 1);
        let d = &d[0];
        assert_eq!(d.lint, "seq_compare");
        assert!(d.message.contains("wrap"));
        assert!(d
            .notes
            .contains(&"`snd_una` is a sequence number: field of `Tcb` declared `u32`".into()));
        assert!(d
            .labels
            .iter()
            .any(|l| l.message == "`snd_una` declared here"));
        let s = &d.suggestions[0];
        assert_eq!(s.applicability, Applicability::MachineApplicable);
        assert_eq!(
            s.edits[0].replacement,
            "(ack.wrapping_sub(self.snd_una) as i32) > 0"
        );
        assert_eq!(d.key, "seq_compare:crate::Tcb::on:ack > self.snd_una");
        assert!(d.help.is_some());
    }

    #[test]
    fn modular_type_and_offsets_are_fine() {
        let d = check(
            &SeqCompare,
            "#[derive(PartialEq)] struct SeqNum(u32);\n\
             impl PartialOrd for SeqNum { fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {\n\
                 (self.0.wrapping_sub(o.0) as i32).partial_cmp(&0) } }\n\
             fn f(a: SeqNum, b: SeqNum, snd_nxt: u32, snd_una: u32, wnd: u32) -> bool {\n\
                 a < b && snd_nxt.wrapping_sub(snd_una) < wnd && (snd_nxt.wrapping_sub(snd_una) as i32) < 0 }",
        );
        assert!(d.is_empty(), "{d:#?}");
    }

    const TCB: &str = "struct Tcb { snd_una: u32 }
impl Tcb { fn on(&mut self, ack: u32) -> bool { ack > self.snd_una } }";

    #[test]
    fn vectors() {
        Tester::new(&SeqCompare)
            .pass(&[
                // the signed distance modulo 2^32
                "fn f(ack: u32, snd_una: u32) -> bool { (ack.wrapping_sub(snd_una) as i32) > 0 }",
                // an offset compared with a window
                "fn f(snd_nxt: u32, snd_una: u32, wnd: u32) -> bool { snd_nxt.wrapping_sub(snd_una) < wnd }",
                // names are whole words: a length is no sequence number
                "fn f(seq_len: u32, n: u32) -> bool { seq_len < n }",
                // nothing named like a sequence number
                "fn f(len: u32, max: u32) -> bool { len > max }",
                // a newtype whose ordering is modular
                "#[derive(PartialEq)] struct SeqNum(u32);
                impl PartialOrd for SeqNum { fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
                    (self.0.wrapping_sub(o.0) as i32).partial_cmp(&0) } }
                fn f(a: SeqNum, b: SeqNum) -> bool { a < b }",
                // sorting by the offset from a base
                "struct Seg { seq: u32 }
                fn f(segs: &mut Vec<Seg>, rcv_nxt: u32) { segs.sort_by_key(|s| s.seq.wrapping_sub(rcv_nxt)); }",
            ])
            .fail(&[
                TCB,
                "fn f(snd_una: u32, ack: u32) -> u32 { snd_una.max(ack) }",
                "fn f(ack: u32, snd_nxt: u32) -> u32 { std::cmp::min(ack, snd_nxt) }",
                "fn f(ack: u32, snd_una: u32, snd_nxt: u32) -> u32 { ack.clamp(snd_una, snd_nxt) }",
                "struct Seg { seq: u32 }
                fn f(segs: &mut Vec<Seg>) { segs.sort_by_key(|s| s.seq); }",
                "struct Rx { ooo_by_seq: std::collections::BTreeMap<u32, Vec<u8>> }",
                "#[derive(Clone, Copy, PartialEq, Eq, PartialOrd)] struct SeqNum(u32);",
            ])
            .run();
    }

    #[test]
    fn message() {
        assert_message(
            &SeqCompare,
            TCB,
            &[
                "deny[seq_compare]: `>` compares sequence numbers as plain integers, which is wrong across the 2^32 wrap",
                "  --> 2:49 `ack > self.snd_una`: ",
                "   - 2:29 `ack`: `ack` declared here",
                "   - 1:14 `snd_una`: `snd_una` declared here",
                "  note: `ack` is a sequence number: declared `u32`, with a sequence-number name",
                "  note: `snd_una` is a sequence number: field of `Tcb` declared `u32`",
                "  help: compare sequence numbers by their signed distance modulo 2^32 (RFC 1982, RFC 9293 §3.4): `(a.wrapping_sub(b) as i32) < 0` means `a` is before `b`",
                "  fix (MachineApplicable): compare modulo 2^32",
                "    2:49 `ack > self.snd_una` => `(ack.wrapping_sub(self.snd_una) as i32) > 0`",
                "  key: seq_compare:crate::Tcb::on:ack > self.snd_una",
            ],
        );
    }
}
