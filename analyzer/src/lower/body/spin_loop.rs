//! Loops with no exit. A `loop` that nothing leaves — no `break` out of it or an outer loop, no
//! `continue` of an outer loop, no `return`, no `?` — and that does not block inside (blocking is
//! reported where it happens) spins forever: a spinlock held when it is entered and not released
//! by its body is never released again. A panic is not counted as an exit; a loop with a macro
//! whose meaning is unknown is given the benefit of the doubt.

use super::{strip_parens, BodyLowerer};
use crate::ir::{BlockKind, GuardId, NodeId, Op};
use crate::source::Span;

/// What was known when a `loop` was entered.
pub(super) struct SpinStart {
    /// The node before the loop's head that becomes the `Spin` block.
    pre: NodeId,
    /// Guards created from here on belong to the loop's body.
    guard_base: GuardId,
    frame_exits: usize,
    outer_breaks: usize,
    opaque_macros: usize,
}

impl BodyLowerer<'_> {
    pub(super) fn spin_start(&self, pre: NodeId) -> SpinStart {
        SpinStart {
            pre,
            guard_base: self.guard_count,
            frame_exits: self.frames.last().map_or(0, |f| f.exits.len()),
            outer_breaks: self.loops.iter().map(|l| l.breaks.len()).sum(),
            opaque_macros: self.opaque_macros.len(),
        }
    }

    /// The loop whose head is `head` has been lowered and has no `break` of its own: mark its
    /// entry when nothing else leaves it either and it does come back to its head.
    pub(super) fn spin_finish(&mut self, s: SpinStart, head: NodeId, span: Span) {
        // A macro whose meaning is unknown may hide the way out (`select! { .. => break }`).
        if self.truncated
            || self.opaque_macros.len() > s.opaque_macros
            || self.frames.last().map_or(0, |f| f.exits.len()) > s.frame_exits
            || self.loops.iter().map(|l| l.breaks.len()).sum::<usize>() > s.outer_breaks
        {
            return;
        }
        let end = self.nodes.len() as NodeId;
        let mut back_edge = false;
        let mut releases = Vec::new();
        let mut unlocks = Vec::new();
        for id in head..end {
            let n = &self.nodes[id as usize];
            for &succ in &n.succs {
                if succ < head {
                    // `continue 'outer`: the loop is left.
                    return;
                }
                back_edge |= succ == head && id != head;
            }
            match &n.op {
                Op::Exit { .. }
                | Op::Block {
                    kind:
                        BlockKind::Await
                        | BlockKind::Sleep(_)
                        | BlockKind::CondWait(_)
                        | BlockKind::ChannelRecv(_)
                        | BlockKind::Join,
                    ..
                } => return,
                Op::Release { guard, .. } | Op::Transfer { from: guard, .. }
                    if *guard < s.guard_base =>
                {
                    releases.push(*guard);
                }
                Op::Unlock { .. } => unlocks.push(id),
                _ => {}
            }
        }
        if !back_edge {
            // The body never comes back (an inner loop that never exits): that loop is the one.
            return;
        }
        releases.sort_unstable();
        releases.dedup();
        self.nodes[s.pre as usize].op = Op::Block {
            kind: BlockKind::Spin {
                releases: releases.into(),
                unlocks: unlocks.into(),
            },
            span,
        };
    }
}

/// `true`, as a `while` condition.
pub(super) fn is_true(e: &syn::Expr) -> bool {
    matches!(
        strip_parens(e),
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Bool(b),
            ..
        }) if b.value
    )
}
