//! `seq_compare`: ordering raw 32-bit TCP sequence numbers as plain integers.

use crate::{seq_common::report, Lint, LintContext, LintMeta};
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
    /// parameter types, function signatures and names. A comparison on a value of unknown type
    /// whose name reads like a sequence number is reported with a `MaybeIncorrect` fix. Names
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
        report(cx, &SEQ_COMPARE, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seq_common::test_support::check;
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
}
