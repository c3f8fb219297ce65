//! Objects not yet shared, across calls. Lowering finds, in one body, the acquisitions on a
//! lock the function's own `let` built that happen before the object is shared, counting a
//! plain hand-over to a call (`setup(&t)`, `t.arm(..)`) apart (`lower/body/unshared.rs`,
//! `Body::unshared_if`), and what the body does with each of its parameters
//! (`Body::params_handed`). Here, with the calls resolved, a parameter is *kept* by its
//! function when no use shares it and every call it is handed to runs only functions that
//! keep the matching parameter; an acquisition of `Body::unshared_if` is unshared when every
//! call the object was handed to before the guard was released keeps it.
//!
//! "Keeps" is the greatest fixed point over the resolved calls (recursion that only passes
//! the object around keeps it), bounded by [`MAX_ROUNDS`]. A call with no target, one
//! dispatched through a trait, a trait method, an `async fn` (its future holds the object), a
//! call of a function value, a function whose flow or lowering was cut short, or a parameter
//! the body binds again shares the object.

use std::collections::{BTreeMap, BTreeSet};

use crate::flow::{FnFlow, Held, HeldLock};
use crate::index::Index;
use crate::ir::{Callee, NodeId};
use crate::lower::LoweredFile;
use crate::resolve::Target;

/// Rounds of the fixed point before giving up (then nothing is taken as kept).
pub const MAX_ROUNDS: usize = 64;

/// Mark the acquisitions on objects handed only to calls that keep them as unshared
/// (`ResolvedLock::unshared`, in the acquisitions and every held-lock state). Returns how
/// many acquisitions were marked.
pub fn settle(
    ix: &Index,
    files: &[LoweredFile],
    flows: &mut [FnFlow],
    targets: &[Vec<Vec<Target>>],
) -> usize {
    // most runs have no acquisition that waits on a hand-over: then nothing to settle
    let any = flows
        .iter()
        .any(|f| (ix.func(files, f.func).body.as_ref()).is_some_and(|b| !b.unshared_if.is_empty()));
    if !any {
        return 0;
    }
    let mut to_mark: Vec<(usize, BTreeSet<NodeId>)> = Vec::new();
    {
        let facts = Facts::new(ix, files, flows, targets);
        let Some(shares) = facts.shares() else {
            return 0;
        };
        for (fi, flow) in flows.iter().enumerate() {
            let Some(body) = ix.func(files, flow.func).body.as_ref() else {
                continue;
            };
            if !facts.whole[fi] {
                continue;
            }
            let nodes: BTreeSet<NodeId> = (body.unshared_if.iter())
                .filter(|u| {
                    (u.calls.iter())
                        .all(|&(node, slot)| !facts.call_shares(&shares, fi, node, slot))
                })
                .map(|u| u.acq)
                .collect();
            if !nodes.is_empty() {
                to_mark.push((fi, nodes));
            }
        }
    }
    (to_mark.into_iter())
        .map(|(fi, nodes)| mark(&mut flows[fi], &nodes))
        .sum()
}

/// What the fixed point reads, per flow.
struct Facts<'a> {
    ix: &'a Index,
    files: &'a [LoweredFile],
    flows: &'a [FnFlow],
    targets: &'a [Vec<Vec<Target>>],
    /// Call node → index into the flow's `calls` (the first event of that node).
    call_of: Vec<BTreeMap<NodeId, usize>>,
    /// The flow was explored and lowered whole.
    whole: Vec<bool>,
}

impl<'a> Facts<'a> {
    fn new(
        ix: &'a Index,
        files: &'a [LoweredFile],
        flows: &'a [FnFlow],
        targets: &'a [Vec<Vec<Target>>],
    ) -> Self {
        let call_of = (flows.iter())
            .map(|f| {
                let mut m = BTreeMap::new();
                for (ci, c) in f.calls.iter().enumerate() {
                    m.entry(c.node).or_insert(ci);
                }
                m
            })
            .collect();
        let whole = (flows.iter())
            .map(|f| {
                let body = ix.func(files, f.func).body.as_ref();
                !f.budget_hit && !f.truncated && body.is_some_and(|b| !b.truncated)
            })
            .collect();
        Facts {
            ix,
            files,
            flows,
            targets,
            call_of,
            whole,
        }
    }

    /// `shares[flow][param]` (parameters numbered `self` first): the function may share it.
    /// `None` when the fixed point was not reached within [`MAX_ROUNDS`].
    fn shares(&self) -> Option<Vec<Vec<bool>>> {
        let mut shares: Vec<Vec<bool>> = (self.flows.iter().enumerate())
            .map(|(fi, f)| {
                let func = self.ix.func(self.files, f.func);
                let n = usize::from(func.has_self) + func.params.len();
                let mut s = vec![true; n];
                if let (true, Some(body)) = (self.whole[fi], func.body.as_ref()) {
                    for p in body.params_handed.iter().filter(|p| !p.escapes) {
                        if let Some(x) = s.get_mut(usize::from(p.param)) {
                            *x = false;
                        }
                    }
                }
                s
            })
            .collect();
        for _ in 0..MAX_ROUNDS {
            let mut changed = false;
            for (fi, f) in self.flows.iter().enumerate() {
                let Some(body) = self.ix.func(self.files, f.func).body.as_ref() else {
                    continue;
                };
                for p in &body.params_handed {
                    let i = usize::from(p.param);
                    if shares[fi].get(i) != Some(&false) {
                        continue;
                    }
                    let shared = (p.calls.iter())
                        .any(|&(node, slot)| self.call_shares(&shares, fi, node, slot));
                    if shared {
                        shares[fi][i] = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                return Some(shares);
            }
        }
        None
    }

    /// The call at `node` of flow `fi` may share what it is handed as `slot` (0: the
    /// receiver, k + 1: argument k).
    fn call_shares(&self, shares: &[Vec<bool>], fi: usize, node: NodeId, slot: u8) -> bool {
        let Some(&ci) = self.call_of[fi].get(&node) else {
            return true;
        };
        let call = &self.flows[fi].calls[ci];
        let ts = match self.targets.get(fi).and_then(|t| t.get(ci)) {
            Some(ts) if !ts.is_empty() => ts,
            _ => return true,
        };
        ts.iter().any(|t| {
            let callee = self.ix.func(self.files, self.flows[t.flow].func);
            // a trait's method may have callers and impls not followed here; an `async fn`'s
            // future holds its parameters and runs wherever it is sent
            if t.via_trait.is_some()
                || callee.trait_name.is_some()
                || callee.in_trait
                || callee.is_async
            {
                return true;
            }
            let param = match (&*call.callee, slot) {
                (Callee::Method { .. }, 0) if callee.has_self => Some(0),
                (Callee::Method { .. }, k) if k > 0 && callee.has_self => Some(usize::from(k)),
                // `Type::f(a, b)`: argument k is parameter k, `self` first
                (Callee::Path(_), k) if k > 0 => Some(usize::from(k) - 1),
                _ => None,
            };
            param.is_none_or(|p| shares[t.flow].get(p) != Some(&false))
        })
    }
}

/// Mark the acquisitions at `nodes` in `flow` as unshared, and the locks held from them.
fn mark(flow: &mut FnFlow, nodes: &BTreeSet<NodeId>) -> usize {
    // held sets are shared between events: each one is rewritten once, and stays shared (the
    // old set is kept alive beside its rewrite, so its address names it until the end)
    let mut done: BTreeMap<*const HeldLock, (Held, Held)> = BTreeMap::new();
    let mut held = |hs: &mut Held| {
        if !hs.iter().any(|h| nodes.contains(&h.acq_node)) {
            return;
        }
        let (_, new) = done.entry(hs.as_ptr()).or_insert_with(|| {
            let mut v = hs.to_vec();
            for h in v.iter_mut().filter(|h| nodes.contains(&h.acq_node)) {
                h.lock.unshared = true;
            }
            (hs.clone(), v.into())
        });
        *hs = new.clone();
    };
    let mut marked = 0;
    for a in &mut flow.acquisitions {
        if nodes.contains(&a.node) {
            a.lock.unshared = true;
            marked += 1;
        }
        held(&mut a.held);
    }
    for b in &mut flow.blocks {
        held(&mut b.held);
    }
    for c in &mut flow.calls {
        held(&mut c.held);
    }
    for e in &mut flow.exits {
        held(&mut e.held);
        held(&mut e.returned);
    }
    marked
}
