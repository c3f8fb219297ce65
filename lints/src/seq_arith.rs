//! `seq_arith`: non-wrapping arithmetic on TCP sequence numbers.

use crate::{seq_common::report, Lint, LintContext, LintMeta};
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
        report(cx, &SEQ_ARITH, out);
    }
}
