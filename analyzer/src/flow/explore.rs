//! The exploration of one body: a depth-first walk over (node, state) pairs, each operation
//! applied to the state, and the acquisitions, calls, blocking points and exits recorded with
//! the locks held there, once per distinct state.

use std::collections::BTreeSet;

use crate::fast_hash::HashSet;

use crate::index::FnRef;
use crate::ir::{AcqStyle, BlockKind, Body, Callee, GuardId, Mode, NodeId, Op, Place};
use crate::source::Span;

use super::resolved::Resolved;
use super::{
    op_span, AcqEvent, BlockEvent, CallEvent, ExitEvent, FnFlow, ForeignRelease, Held, HeldLock,
    STEP_BUDGET,
};

/// Most locks tracked as held at once on one path.
const MAX_HELD: usize = 32;
/// Distinct states kept per node before branch correlations are forgotten there.
const STATES_PER_NODE: usize = 24;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct H {
    lock: u32,
    guard: Option<GuardId>,
    node: NodeId,
    mode: Mode,
    style: AcqStyle,
    is_try: bool,
    irq_method: bool,
    /// The local the lock's instance is rooted at was assigned since the acquisition: the
    /// name now stands for another instance. A flag, not a count: a loop that reassigns the
    /// local on every iteration reaches the same state again.
    stale: bool,
    leaked: Option<NodeId>,
}

type AcqKey = (NodeId, Vec<H>, bool, Vec<u8>);
type BlockKey = (NodeId, Vec<H>, Vec<u8>);
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

/// A 128-bit fingerprint of a queued (node, state) pair: two hashes under fixed seeds.
fn fingerprint(node: NodeId, st: &State) -> u128 {
    use std::hash::BuildHasher;
    let a = foldhash::fast::FixedState::with_seed(0x6c6f_636b_7374_6570).hash_one((node, st));
    let b = foldhash::fast::FixedState::with_seed(0x9e37_79b9_7f4a_7c15).hash_one((node, st));
    (u128::from(a) << 64) | u128::from(b)
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

    /// A guard dropped: what it holds is released.
    fn release(&mut self, guard: GuardId) {
        self.held
            .retain(|h| !(h.guard == Some(guard) && h.leaked.is_none()));
        self.pg.retain(|(g, _)| *g != guard);
        self.irq_guards.retain(|g| *g != guard);
    }

    /// A guard moved to another slot (`let b = a;`): what it holds is held through `to`.
    fn transfer(&mut self, from: GuardId, to: GuardId) {
        for g in self.irq_guards.iter_mut() {
            if *g == from {
                *g = to;
            }
        }
        for h in self.held.iter_mut() {
            if h.guard == Some(from) {
                h.guard = Some(to);
            }
        }
        self.held.sort();
        if self.pg.iter().any(|(g, _)| *g == from) {
            self.pg.retain(|(g, _)| *g != to);
            for e in self.pg.iter_mut() {
                if e.0 == from {
                    e.0 = to;
                }
            }
            self.pg.sort_unstable();
        }
    }

    /// A guard leaked at `node` (`mem::forget`, …): what it holds stays held for good.
    fn leak(&mut self, node: NodeId, guard: GuardId) {
        for h in self.held.iter_mut() {
            if h.guard == Some(guard) {
                h.leaked = Some(node);
            }
        }
        // A loop leaking on every iteration would otherwise grow the state forever.
        self.held.sort();
        self.held.dedup();
    }

    /// A guard returned to the caller: no longer held here, listed at the exits.
    fn return_guard(&mut self, guard: GuardId) {
        self.pg.retain(|(g, _)| *g != guard);
        let (ret, keep): (Vec<H>, Vec<H>) = self
            .held
            .drain(..)
            .partition(|h| h.guard == Some(guard) && h.leaked.is_none());
        self.held = keep;
        self.returned.extend(ret);
        self.returned.sort();
    }

    /// Whether one of `guards` holds a lock (an `AssumeEmpty` this path contradicts).
    fn holds_any(&self, guards: &[GuardId]) -> bool {
        self.held
            .iter()
            .any(|h| h.guard.is_some_and(|g| guards.contains(&g)) && h.leaked.is_none())
    }

    /// A guard that keeps interrupts masked while it is alive.
    fn irq_guard(&mut self, guard: GuardId) {
        if !self.irq_guards.contains(&guard) && self.irq_guards.len() < 8 {
            self.irq_guards.push(guard);
            self.irq_guards.sort_unstable();
        }
    }

    /// The path leaves a loop by `break` at `span`: noted while an explicit-release lock is held.
    fn leave(&mut self, span: Span) {
        if self
            .held
            .iter()
            .any(|h| h.style == AcqStyle::Raw || h.leaked.is_some())
        {
            self.via = Some(span);
        }
    }
}

/// One function's exploration: the body and its resolved lock operations, the events found so
/// far, and the keys that record each event once per distinct state.
pub(super) struct Explorer<'a> {
    body: &'a Body,
    res: &'a Resolved,
    flow: FnFlow,
    acq_keys: BTreeSet<AcqKey>,
    call_keys: BTreeSet<CallKey>,
    block_keys: BTreeSet<BlockKey>,
    exit_keys: BTreeSet<ExitKey>,
    foreign_keys: BTreeSet<NodeId>,
    /// Calls whose inlined closures are stored by the callee, not run (see `run`).
    stored_calls: Vec<NodeId>,
    /// The held sets materialized so far (`materialize`).
    held_memo: std::cell::RefCell<crate::fast_hash::HashMap<Vec<H>, Held>>,
}

impl<'a> Explorer<'a> {
    pub(super) fn new(
        func: FnRef,
        body: &'a Body,
        res: &'a Resolved,
        stored_calls: Vec<NodeId>,
    ) -> Self {
        Explorer {
            body,
            res,
            stored_calls,
            flow: FnFlow {
                func,
                acquisitions: Vec::new(),
                blocks: Vec::new(),
                calls: Vec::new(),
                exits: Vec::new(),
                foreign_releases: Vec::new(),
                budget_hit: false,
                truncated: body.truncated,
            },
            acq_keys: BTreeSet::new(),
            call_keys: BTreeSet::new(),
            block_keys: BTreeSet::new(),
            exit_keys: BTreeSet::new(),
            foreign_keys: BTreeSet::new(),
            held_memo: Default::default(),
        }
    }

    /// Explore every path from the entry, up to the step budget, and return what was found.
    pub(super) fn run(mut self) -> FnFlow {
        let body = self.body;
        // States already queued, by a 128-bit fingerprint of (node, state): the states themselves
        // (their paths' visited nodes, held sets) would be most of the run's memory on a large
        // function before the step budget stops it.
        let mut seen: HashSet<u128> = HashSet::default();
        let mut per_node: Vec<usize> = vec![0; body.nodes.len()];
        let mut stack: Vec<(NodeId, State)> = vec![(0, self.start())];
        let mut steps = 0usize;
        while let Some((node, mut st)) = stack.pop() {
            steps += 1;
            if steps > STEP_BUDGET {
                self.flow.budget_hit = true;
                break;
            }
            // A closure the callee keeps for later does not run here.
            let succ_of = match &body.nodes[node as usize].op {
                Op::ClosureEnter {
                    call,
                    exit: Some(x),
                } if self.stored_calls.contains(call) => *x,
                _ => {
                    if !self.step(node, &mut st) {
                        continue;
                    }
                    node
                }
            };
            for &s in body.nodes[succ_of as usize].succs.iter().rev() {
                let mut next = st.clone();
                let cnt = &mut per_node[s as usize];
                if *cnt >= STATES_PER_NODE {
                    next.assume.clear();
                }
                if seen.insert(fingerprint(s, &next)) {
                    *cnt += 1;
                    stack.push((s, next));
                }
            }
        }
        // Kept to the end of the run: no growth slack.
        let f = &mut self.flow;
        f.acquisitions.shrink_to_fit();
        f.blocks.shrink_to_fit();
        f.calls.shrink_to_fit();
        f.exits.shrink_to_fit();
        self.flow
    }

    /// The state on entry: nothing held but the guards received by value.
    fn start(&self) -> State {
        let mut pg: Vec<(GuardId, u8)> = self
            .body
            .param_guards
            .iter()
            .map(|&(p, g)| (g, p))
            .collect();
        pg.sort_unstable();
        State {
            pg,
            ..State::default()
        }
    }

    /// Apply the operation of `node` to the state. False when the path stops there: at an
    /// exit, or at an assumption it contradicts.
    fn step(&mut self, node: NodeId, st: &mut State) -> bool {
        let op = &self.body.nodes[node as usize].op;
        match op {
            Op::Acquire { .. } => self.acquire(node, op, st),
            Op::Release { guard, .. } => st.release(*guard),
            Op::Transfer { from, to, .. } => st.transfer(*from, *to),
            Op::Leak { guard, .. } => st.leak(node, *guard),
            Op::SetMode {
                guard,
                mode,
                waits,
                span,
            } => self.set_mode(node, *guard, *mode, *waits, *span, st),
            Op::ReturnGuard { guard, .. } => st.return_guard(*guard),
            Op::Unlock { span, .. } => self.unlock(node, *span, st),
            Op::Call {
                callee, span, args, ..
            } => {
                let moved: Vec<(u32, GuardId)> = self.body.moved_into(node).collect();
                self.call(node, callee, *span, args, &moved, st)
            }
            Op::Block { kind, span } => self.block(node, kind, *span, st),
            Op::Assume { value, .. } => return self.assume(node, *value, st),
            Op::AssumeEmpty { guards } => return !st.holds_any(guards),
            Op::Assign { root } => self.assign(root, st),
            Op::IrqOff { .. } => st.irq_off = st.irq_off.saturating_add(1),
            Op::IrqOn => st.irq_off = st.irq_off.saturating_sub(1),
            Op::IrqGuard { guard } => st.irq_guard(*guard),
            Op::ClosureEnter { call, .. } => st.regions.push(*call),
            Op::Leave { span } => st.leave(*span),
            Op::ClosureExit => {
                st.regions.pop();
            }
            Op::Exit { span } => {
                self.exit(node, *span, st);
                return false;
            }
            Op::HandOff { places, .. } => self.hand_off(node, places, st),
            Op::Nop | Op::Count { .. } | Op::CallOutcome { .. } | Op::Store { .. } => {}
        }
        true
    }

    /// The held locks as the lints see them; events that hold the same ones share them.
    fn materialize(&self, hs: &[H]) -> Held {
        if let Some(h) = self.held_memo.borrow().get(hs) {
            return h.clone();
        }
        let held: Held = self.materialize_new(hs).into();
        self.held_memo
            .borrow_mut()
            .insert(hs.to_vec(), held.clone());
        held
    }

    fn materialize_new(&self, hs: &[H]) -> Vec<HeldLock> {
        let (body, res) = (self.body, self.res);
        hs.iter()
            .map(|h| HeldLock {
                lock: res.locks[h.lock as usize].clone(),
                acq_span: op_span(&body.nodes[h.node as usize].op),
                acq_node: h.node,
                style: h.style,
                mode: h.mode,
                is_try: h.is_try,
                irq_method: h.irq_method,
                stale: h.stale,
                // a guard stored into a value that owns it is held as a returned one is
                leaked: h.leaked.and_then(|n| match &body.nodes[n as usize].op {
                    Op::Leak { owned: true, .. } => None,
                    Op::Leak { how, .. } => Some((op_span(&body.nodes[n as usize].op), *how)),
                    op => Some((op_span(op), Default::default())),
                }),
            })
            .collect()
    }

    /// An acquisition (`op`, at `node`) of a resolved lock: recorded with what is held before
    /// it, then held.
    fn acquire(&mut self, node: NodeId, op: &Op, st: &mut State) {
        let Op::Acquire {
            style,
            mode,
            is_try,
            guard,
            span,
            method,
            ..
        } = op
        else {
            return;
        };
        let res = self.res;
        let Some(&li) = res.at.get(&node) else {
            return;
        };
        let lock = &res.locks[li as usize];
        let style = if lock.kind.raw { AcqStyle::Raw } else { *style };
        let irqm = method.masks_irq || lock.kind.irq_safe;
        let region = st.irq_masked();
        let hp = st.held_params();
        if self
            .acq_keys
            .insert((node, st.held.clone(), region, hp.clone()))
        {
            let held = self.materialize(&st.held);
            self.flow.acquisitions.push(AcqEvent {
                node,
                span: *span,
                method: method.clone(),
                lock: lock.clone(),
                style,
                mode: *mode,
                is_try: *is_try,
                irq_method: irqm,
                irq_region: region,
                held,
                regions: st.regions.clone().into(),
                held_params: hp.into(),
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
            stale: false,
            leaked: None,
        };
        // A guard received by value and overwritten by this acquisition's guard is gone
        // (`tail = self.tail.lock()`, the old guard dropped after the new one is taken).
        if let Some(g) = guard {
            st.pg.retain(|(pg, _)| pg != g);
        }
        if style == AcqStyle::Raw && !st.seen.contains(&node) {
            st.seen.push(node);
            st.seen.sort_unstable();
        }
        // The same acquisition again while its earlier instance is still held (a loop that
        // never releases) is one entry: keeps states finite.
        let dup = st
            .held
            .iter()
            .any(|x| x.node == h.node && x.lock == h.lock && x.leaked == h.leaked);
        if !dup && st.held.len() < MAX_HELD {
            st.held.push(h);
            st.held.sort();
        }
    }

    /// A guard's mode changed (a downgrade, or an upgrade that `waits` for the other holders).
    fn set_mode(
        &mut self,
        node: NodeId,
        guard: GuardId,
        mode: Mode,
        waits: bool,
        span: Span,
        st: &mut State,
    ) {
        let mut raised = Vec::new();
        for h in st.held.iter_mut() {
            if h.guard == Some(guard) && h.leaked.is_none() {
                if waits && mode == Mode::Exclusive && h.mode != Mode::Exclusive {
                    raised.push(h.lock);
                }
                h.mode = mode;
            }
        }
        st.held.sort();
        // An upgrade waits until every other holder is gone: one that is this very path (a
        // read guard of the same lock still alive) never goes.
        for li in raised {
            let others: Vec<H> = st
                .held
                .iter()
                .filter(|h| h.lock == li && h.guard != Some(guard) && !h.stale)
                .cloned()
                .collect();
            if others.is_empty() {
                continue;
            }
            let region = st.irq_masked();
            let hp = st.held_params();
            if self
                .acq_keys
                .insert((node, others.clone(), region, hp.clone()))
            {
                let held = self.materialize(&others);
                self.flow.acquisitions.push(AcqEvent {
                    node,
                    span,
                    method: crate::lock_api::acq_method("upgrade"),
                    lock: self.res.locks[li as usize].clone(),
                    style: AcqStyle::Guard,
                    mode: Mode::Exclusive,
                    is_try: false,
                    irq_method: others.iter().any(|h| h.irq_method),
                    irq_region: region,
                    held,
                    regions: st.regions.clone().into(),
                    held_params: hp.into(),
                });
            }
        }
    }

    /// An explicit release of a resolved lock: the matching held entry goes, or the release is
    /// recorded as foreign when the path holds none.
    fn unlock(&mut self, node: NodeId, span: Span, st: &mut State) {
        let res = self.res;
        let Some(&li) = res.at.get(&node) else {
            return;
        };
        let l = &res.locks[li as usize];
        // Prefer an explicit-release entry of the same instance, then any of the class.
        let pos = st
            .held
            .iter()
            .position(|h| {
                h.lock == li && !h.stale && (h.style == AcqStyle::Raw || h.leaked.is_some())
            })
            .or_else(|| st.held.iter().position(|h| h.lock == li && !h.stale))
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
                if self.foreign_keys.insert(node) {
                    self.flow.foreign_releases.push(ForeignRelease {
                        span,
                        lock: l.clone(),
                    });
                }
            }
        }
    }

    /// A call: recorded with what is held (and which held guards it takes by value); an
    /// allocation when it grows a heap collection; the lock of the guard it returns held after.
    fn call(
        &mut self,
        node: NodeId,
        callee: &std::sync::Arc<Callee>,
        span: Span,
        args: &std::sync::Arc<[Option<Place>]>,
        moved: &[(u32, GuardId)],
        st: &mut State,
    ) {
        let region = st.irq_masked();
        if self
            .call_keys
            .insert((node, st.held.clone(), region, st.pg.clone()))
        {
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
            let held = self.materialize(&st.held);
            self.flow.calls.push(CallEvent {
                node,
                span,
                callee: callee.clone(),
                args: args.clone(),
                held,
                irq_region: region,
                regions: st.regions.clone().into(),
                passed,
                held_params: held_params.into(),
                passed_params: passed_params.into(),
            });
        }
        if let Some(what) = self.res.alloc_at.get(&node) {
            let hp = st.held_params();
            if self.block_keys.insert((node, st.held.clone(), hp.clone())) {
                let held = self.materialize(&st.held);
                self.flow.blocks.push(BlockEvent {
                    span,
                    kind: BlockKind::Alloc(what.clone().into()),
                    held,
                    held_params: hp.into(),
                });
            }
        }
        if let Some(&(li, g, mode)) = self.res.call_at.get(&node) {
            let h = H {
                lock: li,
                guard: Some(g),
                node,
                mode,
                style: AcqStyle::Guard,
                is_try: false,
                irq_method: false,
                stale: false,
                leaked: None,
            };
            if !st.held.iter().any(|x| x.node == node && x.lock == li) && st.held.len() < MAX_HELD {
                st.held.push(h);
                st.held.sort();
            }
        }
    }

    /// A blocking point, recorded with what stays held while it blocks.
    fn block(&mut self, node: NodeId, kind: &BlockKind, span: Span, st: &State) {
        let res = self.res;
        let hp = st.held_params();
        if !self.block_keys.insert((node, st.held.clone(), hp.clone())) {
            return;
        }
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
                releases: Box::default(),
                unlocks: Box::default(),
            };
        }
        let held = self.materialize(&held);
        self.flow.blocks.push(BlockEvent {
            span,
            kind,
            held,
            held_params: hp.into(),
        });
    }

    /// A branch condition assumed `value` on this path. False when the path assumed the
    /// opposite earlier: it is infeasible.
    fn assume(&self, node: NodeId, value: bool, st: &mut State) -> bool {
        if let Some(&k) = self.res.key_at.get(&node) {
            match st.assume.iter().find(|(kk, _)| *kk == k) {
                Some((_, v)) if *v != value => return false,
                Some(_) => {}
                None => {
                    st.assume.push((k, value));
                    st.assume.sort_unstable();
                }
            }
        }
        true
    }

    /// An assignment to `root`: conditions on it are forgotten, and locks whose instance is
    /// rooted at a reassigned local become another instance (stale).
    fn assign(&self, root: &str, st: &mut State) {
        let res = self.res;
        if !st.assume.is_empty() {
            st.assume.retain(|(k, _)| {
                !res.keys[*k as usize]
                    .roots
                    .iter()
                    .any(|r| r.starts_with(root) || root.starts_with(r.as_str()))
            });
        }
        if !root.contains(['.', '[', '(']) {
            let mut changed = false;
            for h in st.held.iter_mut() {
                if crate::resolve::instance::instance_root(&res.locks[h.lock as usize].instance)
                    == root
                    && !h.stale
                {
                    h.stale = true;
                    changed = true;
                }
            }
            if changed {
                st.held.sort();
            }
        }
    }

    /// The function returns: recorded with what is still held and what is returned.
    fn exit(&mut self, node: NodeId, span: Span, st: &State) {
        if self.exit_keys.insert((
            node,
            st.held.clone(),
            st.returned.clone(),
            st.seen.clone(),
            st.via,
        )) {
            let held = self.materialize(&st.held);
            let returned = self.materialize(&st.returned);
            self.flow.exits.push(ExitEvent {
                span,
                held,
                returned,
                raw_seen: st.seen.clone().into(),
                via: st.via,
            });
        }
    }

    /// A value whose `Drop` impl takes over `places`: explicit-release locks inside them are
    /// released by it.
    fn hand_off(&self, node: NodeId, places: &[String], st: &mut State) {
        let res = self.res;
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
}
