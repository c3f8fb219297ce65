//! What a call does by its name, before it runs: interrupt masking, sleeping functions,
//! configured resource pairs, allocations.

use super::calls::PathCall;
use super::syntax::tokens;
use super::BodyLowerer;
use crate::ir::{BlockKind, GuardId, Op, Place};
use crate::lock_api;
use crate::source::Span;

impl BodyLowerer<'_> {
    /// A call that masks or unmasks interrupts by its name; one returning a masking guard
    /// keeps them masked while its result is held.
    pub(super) fn irq_effect(&mut self, segs: &[String], result: Option<GuardId>, span: Span) {
        match lock_api::irq_effect(segs) {
            Some(lock_api::IrqEffect::Off) => {
                self.emit(Op::IrqOff { span });
            }
            Some(lock_api::IrqEffect::On) => {
                self.emit(Op::IrqOn);
            }
            Some(lock_api::IrqEffect::Guard) => {
                if let Some(g) = result {
                    self.emit(Op::IrqGuard { guard: g });
                }
            }
            None => {}
        }
    }

    /// What a call does by its name before it runs: sleeping functions, configured resource
    /// pairs, allocations (`GFP_KERNEL`, `Box::new`, `Vec::with_capacity`, `Arc::new`).
    pub(super) fn path_call_effects(&mut self, pc: &PathCall<'_>) {
        let span = pc.span;
        let last = pc.last.as_str();
        let full = pc.segs.join("::");
        if lock_api::SLEEP_FNS.contains(&last)
            || self
                .config
                .blocking_functions
                .iter()
                .any(|b| b == last || *b == full)
        {
            self.emit(Op::Block {
                kind: BlockKind::Sleep(full.clone().into()),
                span,
            });
        }
        self.resource_pair_effect(last, span);
        if pc.c.args.iter().any(|a| tokens(a).contains("GFP_KERNEL")) {
            self.emit(Op::Block {
                kind: BlockKind::Alloc(format!("{full}(GFP_KERNEL)").into()),
                span,
            });
        } else if pc.two("Box", "new")
            || pc.two("Vec", "with_capacity")
            || pc.two("String", "with_capacity")
            || pc.two("Arc", "new")
        {
            self.emit(Op::Block {
                kind: BlockKind::Alloc(full.into()),
                span,
            });
        }
    }

    /// A call of a configured resource pair's take or give (`[[resource_pair]]`), by the
    /// function's or method's name: one unit of that resource taken or given back.
    pub(super) fn resource_pair_effect(&mut self, name: &str, span: Span) {
        if let Some(pair) = self
            .config
            .resource_pairs
            .iter()
            .find(|p| p.take == name || p.give == name)
        {
            let delta = if pair.take == name { -1 } else { 1 };
            let place = Place::opaque(format!("{}/{}", pair.take, pair.give));
            self.emit(Op::Count {
                place: Box::new(place),
                delta,
                span,
            });
        }
    }
}
