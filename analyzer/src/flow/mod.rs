//! Per-function flow analysis: which locks are held at every acquisition, call, blocking point
//! and exit, path by path.
//!
//! The state is the set of held locks plus the branch conditions assumed on the path, so that
//! `if flag { lock } … if flag { unlock }` is seen as balanced. States are explored
//! exhaustively up to a step budget counted in operations (never in time), so results are
//! deterministic.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::config::Config;
use crate::index::{FnRef, Index, ResolvedLock};
use crate::ir::{AcqStyle, BlockKind, Callee, GuardId, Mode, NodeId, Op, Place};
use crate::lower::LoweredFile;
use crate::resolve::returns::Returns;
use crate::source::Span;

mod resolved;

use resolved::resolve_body;

/// Operations explored per function before giving up on the rest (reported as a note).
pub const STEP_BUDGET: usize = 200_000;
/// Most locks tracked as held at once on one path.
const MAX_HELD: usize = 32;
/// Distinct states kept per node before branch correlations are forgotten there.
const STATES_PER_NODE: usize = 24;

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
    pub leaked: Option<(Span, String)>,
    /// Taken on an earlier iteration / through a binding since reassigned: another instance.
    pub stale: bool,
}

#[derive(Clone, Debug)]
pub struct AcqEvent {
    pub node: NodeId,
    pub span: Span,
    pub method: String,
    pub lock: ResolvedLock,
    pub style: AcqStyle,
    pub mode: Mode,
    pub is_try: bool,
    pub irq_method: bool,
    /// Interrupts are masked by an enclosing region (`critical_section::with`).
    pub irq_region: bool,
    pub held: Vec<HeldLock>,
    /// Call nodes whose closure argument this acquisition runs in, innermost last.
    pub regions: Vec<NodeId>,
    /// Guards received by value that may still be held here (indices into `FnDef::params`).
    pub held_params: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct BlockEvent {
    pub span: Span,
    pub kind: BlockKind,
    pub held: Vec<HeldLock>,
    /// Guards received by value that may still be held here (indices into `FnDef::params`).
    pub held_params: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct CallEvent {
    pub node: NodeId,
    pub span: Span,
    pub callee: Callee,
    pub args: Vec<Option<Place>>,
    pub held: Vec<HeldLock>,
    pub irq_region: bool,
    /// Call nodes whose closure argument this call runs in, innermost last.
    pub regions: Vec<NodeId>,
    /// Entries of `held` whose guard is moved into the call, with the argument index: the
    /// callee holds them only until it drops them (see `Summary` `held_params`).
    pub passed: Vec<(u32, usize)>,
    /// Guards received by value that stay held through the call (not passed on).
    pub held_params: Vec<u8>,
    /// Guards received by value and passed on: argument index, parameter index.
    pub passed_params: Vec<(u32, u8)>,
}

#[derive(Clone, Debug)]
pub struct ExitEvent {
    pub span: Span,
    /// Locks still held when the function returns (guards returned to the caller excluded).
    pub held: Vec<HeldLock>,
    /// Guards returned to the caller.
    pub returned: Vec<HeldLock>,
    /// Explicit-release acquisitions executed on the path (held or not at the exit).
    pub raw_seen: Vec<NodeId>,
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

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct H {
    lock: u32,
    guard: Option<GuardId>,
    node: NodeId,
    mode: Mode,
    style: AcqStyle,
    is_try: bool,
    irq_method: bool,
    age: u32,
    leaked: Option<NodeId>,
}

type ExitKey = (NodeId, Vec<H>, Vec<H>, Vec<NodeId>, Option<Span>);
type CallKey = (NodeId, Vec<H>, bool, Vec<(GuardId, u8)>);

#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
struct State {
    held: Vec<H>,
    returned: Vec<H>,
    assume: Vec<(u32, bool)>,
    seen: Vec<NodeId>,
    irq_off: u8,
    /// Guards that keep interrupts masked while held (`IrqGuard`).
    irq_guards: Vec<GuardId>,
    regions: Vec<NodeId>,
    via: Option<Span>,
    /// Guards received by value still held: slot, parameter index.
    pg: Vec<(GuardId, u8)>,
}

impl State {
    /// Interrupts are masked here: inside a masking region or while an irq guard is held.
    fn irq_masked(&self) -> bool {
        self.irq_off > 0 || !self.irq_guards.is_empty()
    }

    /// Parameters whose received guard is still held, sorted.
    fn held_params(&self) -> Vec<u8> {
        let mut v: Vec<u8> = self.pg.iter().map(|&(_, p)| p).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
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
    let body = func.body.as_ref()?;
    let res = resolve_body(ix, files, func, body, config, returns, by_pos);
    let mut flow = FnFlow {
        func: fref,
        acquisitions: Vec::new(),
        blocks: Vec::new(),
        calls: Vec::new(),
        exits: Vec::new(),
        foreign_releases: Vec::new(),
        budget_hit: false,
        truncated: body.truncated,
    };
    let mut seen: HashSet<(NodeId, State)> = HashSet::new();
    let mut per_node: Vec<usize> = vec![0; body.nodes.len()];
    let mut pg: Vec<(GuardId, u8)> = body.param_guards.iter().map(|&(p, g)| (g, p)).collect();
    pg.sort_unstable();
    let start = State {
        pg,
        ..State::default()
    };
    let mut stack: Vec<(NodeId, State)> = vec![(0, start)];
    let mut acq_keys: BTreeSet<(NodeId, Vec<H>, bool, Vec<u8>)> = BTreeSet::new();
    let mut call_keys: BTreeSet<CallKey> = BTreeSet::new();
    let mut block_keys: BTreeSet<(NodeId, Vec<H>, Vec<u8>)> = BTreeSet::new();
    let mut exit_keys: BTreeSet<ExitKey> = BTreeSet::new();
    let mut foreign_keys: BTreeSet<NodeId> = BTreeSet::new();
    let mut steps = 0usize;
    let materialize = |hs: &[H]| -> Vec<HeldLock> {
        hs.iter()
            .map(|h| HeldLock {
                lock: res.locks[h.lock as usize].clone(),
                acq_span: op_span(&body.nodes[h.node as usize].op),
                acq_node: h.node,
                style: h.style,
                mode: h.mode,
                is_try: h.is_try,
                irq_method: h.irq_method,
                stale: h.age > 0,
                leaked: h.leaked.map(|n| {
                    let how = match &body.nodes[n as usize].op {
                        Op::Leak { how, .. } => how.clone(),
                        _ => String::new(),
                    };
                    (op_span(&body.nodes[n as usize].op), how)
                }),
            })
            .collect()
    };
    while let Some((node, mut st)) = stack.pop() {
        steps += 1;
        if steps > STEP_BUDGET {
            flow.budget_hit = true;
            break;
        }
        let n = &body.nodes[node as usize];
        match &n.op {
            Op::Acquire {
                style,
                mode,
                is_try,
                guard,
                span,
                method,
                ..
            } => {
                if let Some(&li) = res.at.get(&node) {
                    let lock = &res.locks[li as usize];
                    let style = if lock.kind.raw { AcqStyle::Raw } else { *style };
                    let irqm = crate::lock_api::irq_method(method) || lock.kind.irq_safe;
                    let region = st.irq_masked();
                    let hp = st.held_params();
                    if acq_keys.insert((node, st.held.clone(), region, hp.clone())) {
                        flow.acquisitions.push(AcqEvent {
                            node,
                            span: *span,
                            method: method.clone(),
                            lock: lock.clone(),
                            style,
                            mode: *mode,
                            is_try: *is_try,
                            irq_method: irqm,
                            irq_region: region,
                            held: materialize(&st.held),
                            regions: st.regions.clone(),
                            held_params: hp,
                        });
                    }
                    let h = H {
                        lock: li,
                        guard: if style == AcqStyle::Raw { None } else { *guard },
                        node,
                        mode: *mode,
                        style,
                        is_try: *is_try,
                        irq_method: irqm,
                        age: 0,
                        leaked: None,
                    };
                    // A guard received by value and overwritten by this acquisition's guard is
                    // gone (`tail = self.tail.lock()`, the old guard dropped after the new one is
                    // taken).
                    if let Some(g) = guard {
                        st.pg.retain(|(pg, _)| pg != g);
                    }
                    if style == AcqStyle::Raw && !st.seen.contains(&node) {
                        st.seen.push(node);
                        st.seen.sort_unstable();
                    }
                    // The same acquisition again while its earlier instance is still held (a loop
                    // that never releases) is one entry: keeps states finite.
                    let dup = st
                        .held
                        .iter()
                        .any(|x| x.node == h.node && x.lock == h.lock && x.leaked == h.leaked);
                    if !dup && st.held.len() < MAX_HELD {
                        st.held.push(h);
                        st.held.sort();
                    }
                }
            }
            Op::Release { guard, .. } => {
                st.held
                    .retain(|h| !(h.guard == Some(*guard) && h.leaked.is_none()));
                st.pg.retain(|(g, _)| g != guard);
                st.irq_guards.retain(|g| g != guard);
            }
            Op::Transfer { from, to, .. } => {
                for g in st.irq_guards.iter_mut() {
                    if g == from {
                        *g = *to;
                    }
                }
                for h in st.held.iter_mut() {
                    if h.guard == Some(*from) {
                        h.guard = Some(*to);
                    }
                }
                st.held.sort();
                if st.pg.iter().any(|(g, _)| g == from) {
                    st.pg.retain(|(g, _)| g != to);
                    for e in st.pg.iter_mut() {
                        if e.0 == *from {
                            e.0 = *to;
                        }
                    }
                    st.pg.sort_unstable();
                }
            }
            Op::Leak { guard, .. } => {
                for h in st.held.iter_mut() {
                    if h.guard == Some(*guard) {
                        h.leaked = Some(node);
                    }
                }
                // A loop leaking on every iteration would otherwise grow the state forever.
                st.held.sort();
                st.held.dedup();
            }
            Op::SetMode {
                guard,
                mode,
                waits,
                span,
            } => {
                let mut raised = Vec::new();
                for h in st.held.iter_mut() {
                    if h.guard == Some(*guard) && h.leaked.is_none() {
                        if *waits && *mode == Mode::Exclusive && h.mode != Mode::Exclusive {
                            raised.push(h.lock);
                        }
                        h.mode = *mode;
                    }
                }
                st.held.sort();
                // An upgrade waits until every other holder is gone: one that is this very
                // path (a read guard of the same lock still alive) never goes.
                for li in raised {
                    let others: Vec<H> = st
                        .held
                        .iter()
                        .filter(|h| h.lock == li && h.guard != Some(*guard) && h.age == 0)
                        .cloned()
                        .collect();
                    if others.is_empty() {
                        continue;
                    }
                    let region = st.irq_masked();
                    let hp = st.held_params();
                    if acq_keys.insert((node, others.clone(), region, hp.clone())) {
                        flow.acquisitions.push(AcqEvent {
                            node,
                            span: *span,
                            method: "upgrade".into(),
                            lock: res.locks[li as usize].clone(),
                            style: AcqStyle::Guard,
                            mode: Mode::Exclusive,
                            is_try: false,
                            irq_method: others.iter().any(|h| h.irq_method),
                            irq_region: region,
                            held: materialize(&others),
                            regions: st.regions.clone(),
                            held_params: hp,
                        });
                    }
                }
            }
            Op::ReturnGuard { guard, .. } => {
                st.pg.retain(|(g, _)| g != guard);
                let (ret, keep): (Vec<H>, Vec<H>) = st
                    .held
                    .drain(..)
                    .partition(|h| h.guard == Some(*guard) && h.leaked.is_none());
                st.held = keep;
                st.returned.extend(ret);
                st.returned.sort();
            }
            Op::Unlock { span, .. } => {
                if let Some(&li) = res.at.get(&node) {
                    let l = &res.locks[li as usize];
                    // Prefer an explicit-release entry of the same instance, then any of the class.
                    let pos = st
                        .held
                        .iter()
                        .position(|h| {
                            h.lock == li
                                && h.age == 0
                                && (h.style == AcqStyle::Raw || h.leaked.is_some())
                        })
                        .or_else(|| st.held.iter().position(|h| h.lock == li && h.age == 0))
                        .or_else(|| {
                            st.held
                                .iter()
                                .position(|h| res.locks[h.lock as usize].class == l.class)
                        });
                    match pos {
                        Some(p) => {
                            st.held.remove(p);
                        }
                        None => {
                            if foreign_keys.insert(node) {
                                flow.foreign_releases.push(ForeignRelease {
                                    span: *span,
                                    lock: l.clone(),
                                });
                            }
                        }
                    }
                }
            }
            Op::Call {
                callee,
                span,
                args,
                moved,
                ..
            } => {
                let region = st.irq_masked();
                if call_keys.insert((node, st.held.clone(), region, st.pg.clone())) {
                    let passed = moved
                        .iter()
                        .flat_map(|&(a, g)| {
                            st.held
                                .iter()
                                .enumerate()
                                .filter(move |(_, h)| h.guard == Some(g) && h.leaked.is_none())
                                .map(move |(i, _)| (a, i))
                        })
                        .collect();
                    let mut passed_params = Vec::new();
                    let mut held_params = Vec::new();
                    for &(g, p) in &st.pg {
                        match moved.iter().find(|(_, mg)| *mg == g) {
                            Some(&(a, _)) => passed_params.push((a, p)),
                            None => held_params.push(p),
                        }
                    }
                    held_params.sort_unstable();
                    held_params.dedup();
                    flow.calls.push(CallEvent {
                        node,
                        span: *span,
                        callee: (**callee).clone(),
                        args: args.clone(),
                        held: materialize(&st.held),
                        irq_region: region,
                        regions: st.regions.clone(),
                        passed,
                        held_params,
                        passed_params,
                    });
                }
                if let Some(what) = res.alloc_at.get(&node) {
                    let hp = st.held_params();
                    if block_keys.insert((node, st.held.clone(), hp.clone())) {
                        flow.blocks.push(BlockEvent {
                            span: *span,
                            kind: BlockKind::Alloc(what.clone()),
                            held: materialize(&st.held),
                            held_params: hp,
                        });
                    }
                }
                if let Some(&(li, g, mode)) = res.call_at.get(&node) {
                    let h = H {
                        lock: li,
                        guard: Some(g),
                        node,
                        mode,
                        style: AcqStyle::Guard,
                        is_try: false,
                        irq_method: false,
                        age: 0,
                        leaked: None,
                    };
                    if !st.held.iter().any(|x| x.node == node && x.lock == li)
                        && st.held.len() < MAX_HELD
                    {
                        st.held.push(h);
                        st.held.sort();
                    }
                }
            }
            Op::Block { kind, span } => {
                let hp = st.held_params();
                if block_keys.insert((node, st.held.clone(), hp.clone())) {
                    let mut held = st.held.clone();
                    if let BlockKind::CondWait(Some(g)) = kind {
                        held.retain(|h| h.guard != Some(*g));
                    }
                    let mut kind = kind.clone();
                    if let BlockKind::Spin { releases, unlocks } = &kind {
                        // Only what the loop never gives back spins with it.
                        let classes: Vec<&str> = unlocks
                            .iter()
                            .filter_map(|n| res.at.get(n))
                            .map(|&li| res.locks[li as usize].class.as_str())
                            .collect();
                        held.retain(|h| {
                            !h.guard.is_some_and(|g| releases.contains(&g))
                                && !classes.contains(&res.locks[h.lock as usize].class.as_str())
                        });
                        kind = BlockKind::Spin {
                            releases: Vec::new(),
                            unlocks: Vec::new(),
                        };
                    }
                    flow.blocks.push(BlockEvent {
                        span: *span,
                        kind,
                        held: materialize(&held),
                        held_params: hp,
                    });
                }
            }
            Op::Assume { value, .. } => {
                if let Some(&k) = res.key_at.get(&node) {
                    match st.assume.iter().find(|(kk, _)| *kk == k) {
                        Some((_, v)) if v != value => continue,
                        Some(_) => {}
                        None => {
                            st.assume.push((k, *value));
                            st.assume.sort_unstable();
                        }
                    }
                }
            }
            Op::AssumeEmpty { guards } => {
                if st
                    .held
                    .iter()
                    .any(|h| h.guard.is_some_and(|g| guards.contains(&g)) && h.leaked.is_none())
                {
                    continue;
                }
            }
            Op::Assign { root } => {
                if !st.assume.is_empty() {
                    st.assume.retain(|(k, _)| {
                        !res.keys[*k as usize]
                            .roots
                            .iter()
                            .any(|r| r.starts_with(root.as_str()) || root.starts_with(r.as_str()))
                    });
                }
                if !root.contains(['.', '[', '(']) {
                    let mut changed = false;
                    for h in st.held.iter_mut() {
                        if crate::resolve::instance::instance_root(
                            &res.locks[h.lock as usize].instance,
                        ) == root
                        {
                            h.age += 1;
                            changed = true;
                        }
                    }
                    if changed {
                        st.held.sort();
                    }
                }
            }
            Op::IrqOff { .. } => st.irq_off = st.irq_off.saturating_add(1),
            Op::IrqOn => st.irq_off = st.irq_off.saturating_sub(1),
            Op::IrqGuard { guard } => {
                if !st.irq_guards.contains(guard) && st.irq_guards.len() < 8 {
                    st.irq_guards.push(*guard);
                    st.irq_guards.sort_unstable();
                }
            }
            Op::ClosureEnter { call } => st.regions.push(*call),
            Op::Leave { span } => {
                if st
                    .held
                    .iter()
                    .any(|h| h.style == AcqStyle::Raw || h.leaked.is_some())
                {
                    st.via = Some(*span);
                }
            }
            Op::ClosureExit => {
                st.regions.pop();
            }
            Op::Exit { span } => {
                if exit_keys.insert((
                    node,
                    st.held.clone(),
                    st.returned.clone(),
                    st.seen.clone(),
                    st.via,
                )) {
                    flow.exits.push(ExitEvent {
                        span: *span,
                        held: materialize(&st.held),
                        returned: materialize(&st.returned),
                        raw_seen: st.seen.clone(),
                        via: st.via,
                    });
                }
                continue;
            }
            Op::HandOff { places, .. } => {
                if res.handoff_at.contains(&node) {
                    let inside = |inst: &str| {
                        places.iter().any(|p| {
                            inst.strip_prefix(p.as_str())
                                .is_some_and(|r| r.is_empty() || r.starts_with(['.', '[']))
                        })
                    };
                    st.held.retain(|h| {
                        !((h.style == AcqStyle::Raw || h.leaked.is_some())
                            && inside(&res.locks[h.lock as usize].instance))
                    });
                }
            }
            Op::Nop | Op::Count { .. } | Op::CallOutcome { .. } | Op::Store { .. } => {}
        }
        for &s in n.succs.iter().rev() {
            let mut next = st.clone();
            let cnt = &mut per_node[s as usize];
            if *cnt >= STATES_PER_NODE {
                next.assume.clear();
            }
            if seen.insert((s, next.clone())) {
                *cnt += 1;
                stack.push((s, next));
            }
        }
    }
    Some(flow)
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
