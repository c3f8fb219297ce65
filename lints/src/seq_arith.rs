//! `seq_arith`: non-wrapping arithmetic on TCP sequence numbers.

use crate::seq_common::{report, Words};
use crate::{Lint, LintContext, LintMeta};
use lockstep_analyzer::seq::{SeqCheck, SeqFinding, SeqKind};
use lockstep_analyzer::seq_facts::BinOp;
use lockstep_analyzer::Diagnostic;

declare_lint! {
    /// ## What it does
    /// Reports `+`, `-`, `+=`, `-=` and unary `-` on raw 32-bit sequence numbers, and casts of
    /// a sequence number to `usize`/`u64`/`i64` whose value feeds arithmetic or indexing.
    /// Arithmetic on `Wrapping<u32>` is not reported (it wraps), nor is arithmetic on a
    /// sequence newtype at its call sites: the newtype's own `Add`/`Sub` impls are judged
    /// instead, once.
    ///
    /// ## Why is this bad?
    /// `snd_nxt + len` overflows when the sequence space wraps, which every long transfer
    /// reaches (KB Q189080). In a debug build that is a panic a remote peer can trigger by
    /// choosing its initial sequence number near 2^32; in a release build the wrap happens to be
    /// right, until the value is widened first: `seq as usize - base as usize` is then off by
    /// 2^32 and indexes out of the buffer.
    ///
    /// ## Known problems
    /// Operands are recognized as for `seq_compare`: a finding whose sequence numbers are known
    /// by their names only is one level weaker (a warning by default) and its note says so. So
    /// is `x += 1` on a place (known by its name across the analyzed code) that every write
    /// sets to a constant or steps by one: a count from zero wraps only after 2^32 steps.
    /// Differences of two sequence numbers are offsets and are not reported once taken with
    /// `wrapping_sub`. The fix for a cast needs the base the offset is taken from and is only
    /// offered with a placeholder.
    ///
    /// ## Example
    /// ```rust,ignore
    /// self.snd_nxt += seg.len as u32;
    /// let end = seg.seq + seg.len as u32;
    /// ```
    /// Use instead:
    /// ```rust,ignore
    /// self.snd_nxt = self.snd_nxt.wrapping_add(seg.len as u32);
    /// let end = seg.seq.wrapping_add(seg.len as u32);
    /// ```
    pub SEQ_ARITH, "seq_arith", Deny, "non-wrapping arithmetic on sequence numbers"
}

pub struct SeqArith;

impl Lint for SeqArith {
    fn meta(&self) -> &'static LintMeta {
        &SEQ_ARITH
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
        report(cx, &SEQ_ARITH, SeqCheck::Arith, words, out);
    }
}

const ARITH_HELP: &str = "sequence numbers wrap at 2^32: plain `+`/`-` panics in debug builds \
                          (a remote peer can trigger it) and is wrong in release builds only by luck";

fn words(f: &SeqFinding) -> Words {
    match &f.kind {
        SeqKind::Arith {
            op,
            operands: [l, r],
        } => {
            let (what, wrapping) = if *op == BinOp::Add {
                ("addition", "wrapping_add")
            } else {
                ("subtraction", "wrapping_sub")
            };
            Words::new(
                format!("non-wrapping {what} on a sequence number overflows at the 2^32 wrap"),
                ARITH_HELP,
                &format!("use `{wrapping}`"),
                format!("{l} {} {r}", op.as_str()),
            )
        }
        SeqKind::AssignArith {
            op,
            operands: [l, r],
        } => {
            let (s, w) = if *op == BinOp::Add {
                ("+=", "wrapping_add")
            } else {
                ("-=", "wrapping_sub")
            };
            Words::new(
                format!("`{s}` on a sequence number overflows at the 2^32 wrap"),
                ARITH_HELP,
                &format!("use `{w}`"),
                format!("{l} {s} {r}"),
            )
        }
        SeqKind::Neg { operand } => Words::new(
            "negation of a sequence number overflows".into(),
            ARITH_HELP,
            "use `wrapping_neg`",
            format!("-{operand}"),
        ),
        SeqKind::CastArith { ty, operands } => Words::new(
            format!("sequence number cast to `{ty}` and used in arithmetic loses the 2^32 wrap"),
            "take the offset from a base sequence number with `wrapping_sub` first, then widen \
             the offset: `seq.wrapping_sub(base) as usize`",
            "widen the wrapping offset instead",
            format!("{} as {ty}", operands.join(" - ")),
        ),
        k => unreachable!("not an arithmetic finding: {k:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{assert_message, check, Tester};

    #[test]
    fn plain_addition_is_reported_wrapping_is_not() {
        let d = check(
            &SeqArith,
            "fn f(seq: u32, len: usize) -> (u32, u32) { (seq + len as u32, seq.wrapping_add(1)) }",
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(
            d[0].suggestions[0].edits[0].replacement,
            "seq.wrapping_add(len as u32)"
        );
        assert!(d[0].message.starts_with("non-wrapping addition"));
    }

    #[test]
    fn wrapping_type_arithmetic_is_fine() {
        let d = check(
            &SeqArith,
            "use std::num::Wrapping;\nfn f(snd_nxt: Wrapping<u32>, n: u32) -> Wrapping<u32> { snd_nxt + Wrapping(n) }",
        );
        assert!(d.is_empty(), "{d:#?}");
    }

    const SND: &str = "struct Tcb { snd_nxt: u32 }
impl Tcb { fn sent(&mut self, n: u32) { self.snd_nxt += n; } }";

    #[test]
    fn vectors() {
        Tester::new(&SeqArith)
            .pass(&[
                "fn f(seq: u32, n: u32) -> u32 { seq.wrapping_add(n) }",
                "fn f(snd_nxt: std::num::Wrapping<u32>, n: u32) -> std::num::Wrapping<u32> { snd_nxt + std::num::Wrapping(n) }",
                "fn f(len: u32, n: u32) -> u32 { len + n }",
                "struct Tcb { snd_nxt: u32 }
                impl Tcb { fn sent(&mut self, n: u32) { self.snd_nxt = self.snd_nxt.wrapping_add(n); } }",
                // the widened wrapping offset the help text recommends, whatever the base is
                "fn f(buf: &[u8], seq: u32, base: u32) -> u8 { buf[seq.wrapping_sub(base) as usize] }",
                "fn f(buf: &[u8], seq: u32, snd_una: u32) -> u8 { buf[seq.wrapping_sub(snd_una) as usize + 1] }",
                // a decrement guarded by the value being above zero cannot wrap
                "struct St { expected_seq: u32 }
                fn f(state: &St, seq: u32) -> bool { state.expected_seq > 0 && seq == state.expected_seq - 1 }",
                "fn f(seq: u32) -> u32 { if seq != 0 { seq - 1 } else { 0 } }",
            ])
            .fail(&[
                // the guard holds for the `&&`'s right operand only
                "struct St { expected_seq: u32 }
                fn f(state: &St, seq: u32) -> bool { (state.expected_seq > 0 || seq == 0) && seq == state.expected_seq - 1 }",
                "fn f(seq: u32) -> u32 { if seq > 0 { 0 } else { seq - 1 } }",
                // the value tested is written before the decrement, or the decrement runs again
                "fn f(mut seq: u32, n: u32) -> u32 { if seq > 0 { seq = n; seq - 1 } else { 0 } }",
                "fn f(mut seq: u32) -> u32 { if seq > 0 { while seq != 7 { seq = seq - 1; } } seq }",
                SND,
                "struct Seg { seq: u32, len: usize }
                fn end(seg: &Seg) -> u32 { seg.seq + seg.len as u32 }",
                "fn in_flight(snd_nxt: u32, snd_una: u32) -> u32 { snd_nxt - snd_una }",
                "fn f(rcv_nxt: i32) -> i32 { -rcv_nxt }",
                "fn f(buf: &[u8], seq: u32, snd_una: u32) -> u8 { buf[seq as usize - snd_una as usize] }",
                "struct Tcb { snd_nxt: u32 }
                impl Tcb { fn back(&mut self, n: u32) { self.snd_nxt -= n; } }",
            ])
            .run();
    }

    #[test]
    fn message() {
        assert_message(
            &SeqArith,
            SND,
            &[
                "deny[seq_arith]: `+=` on a sequence number overflows at the 2^32 wrap",
                "  --> 2:41 `self.snd_nxt += n`: ",
                "   - 1:14 `snd_nxt`: `snd_nxt` declared here",
                "  note: `snd_nxt` is a sequence number: field of `Tcb` declared `u32`",
                "  help: sequence numbers wrap at 2^32: plain `+`/`-` panics in debug builds (a remote peer can trigger it) and is wrong in release builds only by luck",
                "  fix (MachineApplicable): use `wrapping_add`",
                "    2:41 `self.snd_nxt += n` => `self.snd_nxt = self.snd_nxt.wrapping_add(n)`",
                "  key: seq_arith:crate::Tcb::sent:self.snd_nxt += n",
            ],
        );
    }
}
