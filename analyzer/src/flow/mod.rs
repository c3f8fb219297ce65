//! Per-function flow analysis: which locks are held at every acquisition, call, blocking point
//! and exit, path by path.
//!
//! The state is the set of held locks plus the branch conditions assumed on the path, so that
//! `if flag { lock } … if flag { unlock }` is seen as balanced. States are explored
//! exhaustively up to a step budget counted in operations (never in time), so results are
//! deterministic.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::index::{FnRef, Index, ResolvedLock};
use crate::ir::{AcqMethod, AcqStyle, BlockKind, Callee, Mode, NodeId, Op, Place};
use crate::lower::LoweredFile;
use crate::resolve::returns::Returns;
use crate::source::Span;

mod explore;
mod resolved;

use explore::Explorer;
use resolved::resolve_body;

/// Operations explored per function before giving up on the rest (reported as a note).
pub const STEP_BUDGET: usize = 200_000;

/// A lock held at some point, with where it was taken.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HeldLock {
    pub lock: ResolvedLock,
    pub acq_span: Span,
    pub acq_node: NodeId,
    pub style: AcqStyle,
    pub mode: Mode,
    pub is_try: bool,
    /// Acquired through a method that masks interrupts (`lock_irqsave`).
    pub irq_method: bool,
    /// Leaked (`mem::forget`, …): nothing will release it; with the leak site and how.
    pub leaked: Option<(Span, crate::sym::Sym)>,
    /// Taken on an earlier iteration / through a binding since reassigned: another instance.
    pub stale: bool,
}

/// The locks held at an event, shared by the events of one function that see the same ones.
pub type Held = std::sync::Arc<[HeldLock]>;

#[derive(Clone, Debug)]
pub struct AcqEvent {
    pub node: NodeId,
    pub span: Span,
    pub method: AcqMethod,
    pub lock: ResolvedLock,
    pub style: AcqStyle,
    pub mode: Mode,
    pub is_try: bool,
    pub irq_method: bool,
    /// Interrupts are masked by an enclosing region (`critical_section::with`).
    pub irq_region: bool,
    pub held: Held,
    /// Call nodes whose closure argument this acquisition runs in, innermost last.
    pub regions: Box<[NodeId]>,
    /// Guards received by value that may still be held here (indices into `FnDef::params`).
    pub held_params: Box<[u8]>,
}

#[derive(Clone, Debug)]
pub struct BlockEvent {
    pub span: Span,
    pub kind: BlockKind,
    pub held: Held,
    /// Guards received by value that may still be held here (indices into `FnDef::params`).
    pub held_params: Box<[u8]>,
}

#[derive(Clone, Debug)]
pub struct CallEvent {
    pub node: NodeId,
    pub span: Span,
    /// The call node's own callee and arguments, shared.
    pub callee: std::sync::Arc<Callee>,
    pub args: std::sync::Arc<[Option<Place>]>,
    pub held: Held,
    pub irq_region: bool,
    /// Call nodes whose closure argument this call runs in, innermost last.
    pub regions: Box<[NodeId]>,
    /// Entries of `held` whose guard is moved into the call, with the argument index: the
    /// callee holds them only until it drops them (see `Summary` `held_params`).
    pub passed: Box<[(u32, usize)]>,
    /// Guards received by value that stay held through the call (not passed on).
    pub held_params: Box<[u8]>,
    /// Guards received by value and passed on: argument index, parameter index.
    pub passed_params: Box<[(u32, u8)]>,
}

#[derive(Clone, Debug)]
pub struct ExitEvent {
    pub span: Span,
    /// Locks still held when the function returns (guards returned to the caller excluded).
    pub held: Held,
    /// Guards returned to the caller.
    pub returned: Held,
    /// Explicit-release acquisitions executed on the path (held or not at the exit).
    pub raw_seen: Box<[NodeId]>,
    /// The `break` the path left a loop by, when an explicit-release lock was held then.
    pub via: Option<Span>,
}

/// An explicit release of a lock this function did not acquire on that path.
#[derive(Clone, Debug)]
pub struct ForeignRelease {
    pub span: Span,
    pub lock: ResolvedLock,
}

/// Everything the lints need to know about one function.
#[derive(Clone, Debug)]
pub struct FnFlow {
    pub func: FnRef,
    pub acquisitions: Vec<AcqEvent>,
    pub blocks: Vec<BlockEvent>,
    pub calls: Vec<CallEvent>,
    pub exits: Vec<ExitEvent>,
    pub foreign_releases: Vec<ForeignRelease>,
    /// The step budget ran out; results are partial.
    pub budget_hit: bool,
    /// Lowering stopped early (body too large or too deep).
    pub truncated: bool,
}

/// Explore one function.
pub fn analyze_fn(
    ix: &Index,
    files: &[LoweredFile],
    fref: FnRef,
    config: &Config,
    returns: &Returns,
    by_pos: &BTreeMap<FnRef, usize>,
) -> Option<FnFlow> {
    let func = ix.func(files, fref);
    // a body released by an earlier analysis has no nodes left to explore
    let body = func.body.as_ref().filter(|b| !b.released)?;
    let res = resolve_body(ix, files, func, body, config, returns, by_pos);
    let stored = by_pos
        .get(&fref)
        .map(|&pos| ix.fn_values.stored_calls(pos))
        .unwrap_or_default();
    Some(Explorer::new(fref, body, &res, stored).run())
}

/// The span an operation reports at.
pub fn op_span(op: &Op) -> Span {
    match op {
        Op::Acquire { span, .. }
        | Op::Release { span, .. }
        | Op::Unlock { span, .. }
        | Op::Leak { span, .. }
        | Op::Transfer { span, .. }
        | Op::ReturnGuard { span, .. }
        | Op::SetMode { span, .. }
        | Op::Call { span, .. }
        | Op::Block { span, .. }
        | Op::IrqOff { span }
        | Op::Exit { span } => *span,
        _ => Span::default(),
    }
}

#[cfg(test)]
mod tests;
