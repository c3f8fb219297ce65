//! Counted resources (KB Q228942): a counter moved one way on a path (a send credit taken, an
//! in-flight count raised) must be moved back, or the thing it was taken for handed off to a
//! call that completes it later, before the path leaves the function.
//!
//! Only counters that the analyzed code moves in both directions somewhere are resources: a
//! statistics counter that only grows is not.

use std::collections::{BTreeMap, BTreeSet};

use crate::flow::FnFlow;
use crate::index::Index;
use crate::ir::{ArgMask, Body, Callee, FnDef, NodeId, Op, Place, Root, TypeRef};
use crate::lower::LoweredFile;
use crate::source::Span;

/// One leaking take.
#[derive(Clone, Debug)]
pub struct Leak {
    pub flow: usize,
    pub counter: String,
    pub take: Span,
    /// Exits reached with the resource neither given back nor handed off.
    pub leaking_exits: Vec<Span>,
    /// Exits where it was given back or handed off, with the site that did it.
    pub ok_exits: Vec<(Span, Span)>,
}

/// Calls that dispose of a packet instead of handing it on.
const DISPOSE: &[&str] = &[
    "drop",
    "free",
    "forget",
    "discard",
    "dealloc",
    "release",
    "free_packet",
    "drop_packet",
    "recycle",
    "len",
    "is_empty",
    "trace",
    "debug",
    "log",
    "clone",
    "as_ref",
    "as_mut",
];

fn counter_key(ix: &Index, files: &[LoweredFile], f: &FnDef, p: &Place) -> String {
    if matches!(p.root, Root::Opaque) {
        return format!("pair:{}", p.text);
    }
    match ix.walk_place(files, f, p) {
        Some(w) if !w.class.is_empty() => w.class,
        _ => format!("{}::{}", f.path, p.text),
    }
}

/// What the counted-resource pass reads of the bodies before their flows are built, so that a
/// body can drop its nodes with its flow unless the pass walks it: the counters each function
/// moves, by node, and the directions each counter is moved in crate-wide. Counters are
/// numbered (`names`), so the per-function sets hold no text.
#[derive(Debug, Default)]
pub struct Counters {
    /// Counter number → its key (the lock-class-style text of the counted place).
    names: Vec<String>,
    /// Per counter: the directions it is moved in (bit 0 up, bit 1 down).
    dirs: Vec<u8>,
    /// Per position in `Index::fns`: each `Count` node, the counter it moves and which way.
    moved: BTreeMap<usize, Vec<(NodeId, u32, i8)>>,
}

/// A counter number and the direction of one move of it.
type Move = (u32, i8);

impl Counters {
    /// The counters of every needed function with a body (those the flows are built for).
    pub fn collect(ix: &Index, files: &[LoweredFile], needed: &[bool]) -> Counters {
        use rayon::prelude::*;
        type Moves = Vec<(NodeId, String, i8)>;
        let per_fn: Vec<(usize, Moves)> = (0..ix.fns.len())
            .into_par_iter()
            .filter(|&pos| needed.get(pos).copied().unwrap_or(false))
            .filter_map(|pos| {
                let f = ix.func(files, ix.fns[pos]);
                let body = f.body.as_ref()?;
                let m: Moves = body
                    .nodes
                    .iter()
                    .enumerate()
                    .filter_map(|(i, n)| match &n.op {
                        Op::Count { place, delta, .. } => {
                            Some((i as NodeId, counter_key(ix, files, f, place), *delta))
                        }
                        _ => None,
                    })
                    .collect();
                (!m.is_empty()).then_some((pos, m))
            })
            .collect();
        let mut out = Counters::default();
        let mut numbers: crate::fast_hash::HashMap<String, u32> = Default::default();
        for (pos, m) in per_fn {
            let mut ids = Vec::with_capacity(m.len());
            for (node, key, delta) in m {
                let id = *numbers.entry(key).or_insert_with_key(|k| {
                    out.names.push(k.clone());
                    out.dirs.push(0);
                    (out.names.len() - 1) as u32
                });
                out.dirs[id as usize] |= if delta > 0 { 1 } else { 2 };
                ids.push((node, id, delta));
            }
            out.moved.insert(pos, ids);
        }
        out
    }

    /// Whether the pass walks this function's body: it moves a counter that the analyzed code
    /// moves both ways.
    pub fn walks(&self, pos: usize) -> bool {
        self.moved.get(&pos).is_some_and(|m| self.any_two_way(m))
    }

    fn any_two_way(&self, moves: &[(NodeId, u32, i8)]) -> bool {
        moves.iter().any(|&(_, k, _)| self.two_way(k))
    }

    fn two_way(&self, key: u32) -> bool {
        self.dirs.get(key as usize) == Some(&3)
    }
}

pub fn analyze(
    ix: &Index,
    files: &[LoweredFile],
    flows: &[FnFlow],
    ip: &crate::interproc::Interproc,
    counters: &Counters,
    by_pos: &BTreeMap<crate::index::FnRef, usize>,
) -> Vec<Leak> {
    let moved: Vec<&[(NodeId, u32, i8)]> = flows
        .iter()
        .map(|flow| {
            by_pos
                .get(&flow.func)
                .and_then(|pos| counters.moved.get(pos))
                .map_or(&[][..], |m| &m[..])
        })
        .collect();
    // What each function moves, directly or through its callees (a `return_credit()` helper).
    let mut moves: Vec<BTreeSet<Move>> = moved
        .iter()
        .map(|m| m.iter().map(|&(_, k, d)| (k, d)).collect())
        .collect();
    for _ in 0..8 {
        let mut changed = false;
        for fi in 0..flows.len() {
            let mut add = BTreeSet::new();
            for t in ip.targets.get(fi).into_iter().flatten().flatten() {
                if t.flow != fi {
                    add.extend(moves[t.flow].iter().copied());
                }
            }
            let before = moves[fi].len();
            moves[fi].extend(add);
            changed |= moves[fi].len() != before;
        }
        if !changed {
            break;
        }
    }
    let mut out = Vec::new();
    for (fi, flow) in flows.iter().enumerate() {
        // the bodies `Counters::walks` kept, and no other
        if !counters.any_two_way(moved[fi]) {
            continue;
        }
        let keys: BTreeMap<NodeId, u32> = moved[fi].iter().map(|&(n, k, _)| (n, k)).collect();
        // Call node → what the call may move.
        let mut call_moves: BTreeMap<NodeId, BTreeSet<Move>> = BTreeMap::new();
        for (ci, c) in flow.calls.iter().enumerate() {
            for t in ip
                .targets
                .get(fi)
                .and_then(|t| t.get(ci))
                .into_iter()
                .flatten()
            {
                call_moves
                    .entry(c.node)
                    .or_default()
                    .extend(moves[t.flow].iter().copied());
            }
        }
        let f = ix.func(files, flow.func);
        let Some(body) = &f.body else { continue };
        // kept by `build_flows` for this pass (`Counters::walks`)
        if body.released {
            debug_assert!(false, "a walked body was released");
            continue;
        }
        for (&node, &key) in &keys {
            if !counters.two_way(key) {
                continue;
            }
            let Op::Count { delta, span, .. } = &body.nodes[node as usize].op else {
                continue;
            };
            // Only the first move of this counter on a path is a take.
            if reached_after_same(body, &keys, key, node) {
                continue;
            }
            let (leaking, ok) = follow(body, &keys, key, *delta, node, f, &call_moves);
            if !leaking.is_empty() && !ok.is_empty() {
                out.push(Leak {
                    flow: fi,
                    counter: counters.names[key as usize].clone(),
                    take: *span,
                    leaking_exits: leaking,
                    ok_exits: ok,
                });
            }
        }
    }
    out
}

/// Is this node reachable from an earlier move of the same counter (so it is a give, not a take)?
fn reached_after_same(body: &Body, keys: &BTreeMap<NodeId, u32>, key: u32, node: NodeId) -> bool {
    let mut seen = vec![false; body.nodes.len()];
    let mut stack: Vec<NodeId> = keys
        .iter()
        .filter(|(n, k)| **n != node && **k == key)
        .map(|(n, _)| *n)
        .collect();
    while let Some(n) = stack.pop() {
        for &s in &body.nodes[n as usize].succs {
            if s == node {
                return true;
            }
            if !seen[s as usize] && keys.get(&s).is_none_or(|k| *k != key) {
                seen[s as usize] = true;
                stack.push(s);
            }
        }
    }
    false
}

/// A store into a place the function itself clears on another path (`ring.tokens[slot] =
/// None` when the device refuses), followed by a call that hands the packet off: the place is
/// a staging slot and the hand-off is the call; a path that returns between the two leaks.
fn staging(body: &Body, store: NodeId, place: &str, f: &FnDef) -> bool {
    let cleared = body.nodes.iter().any(
        |n| matches!(&n.op, Op::Store { params, place: p, .. } if params.is_empty() && p == place),
    );
    if !cleared {
        return false;
    }
    let mut seen = vec![false; body.nodes.len()];
    let mut stack = vec![store];
    while let Some(n) = stack.pop() {
        for &s in &body.nodes[n as usize].succs {
            if seen[s as usize] {
                continue;
            }
            seen[s as usize] = true;
            if let Op::Call {
                callee,
                args,
                by_value,
                ..
            } = &body.nodes[s as usize].op
            {
                if hands_off(callee, args, by_value, f) {
                    return true;
                }
            }
            stack.push(s);
        }
    }
    false
}

/// Explore from a take: exits reached without a give-back or hand-off, and exits reached with
/// one (with the site).
fn follow(
    body: &Body,
    keys: &BTreeMap<NodeId, u32>,
    key: u32,
    delta: i8,
    take: NodeId,
    f: &FnDef,
    call_moves: &BTreeMap<NodeId, BTreeSet<Move>>,
) -> (Vec<Span>, Vec<(Span, Span)>) {
    let mut leaking = Vec::new();
    let mut ok = Vec::new();
    let (taken, take_span) = match &body.nodes[take as usize].op {
        Op::Count { place, span, .. } => (Some(place), Some(*span)),
        _ => (None, None),
    };
    // (node, how the resource was given back or handed off so far: the site and, for a
    // hand-off, the call whose failure would undo it)
    type Done = Option<(Span, Option<NodeId>)>;
    let mut seen: BTreeSet<(NodeId, Done)> = BTreeSet::new();
    let mut stack: Vec<(NodeId, Done)> = body.nodes[take as usize]
        .succs
        .iter()
        .map(|&s| (s, None))
        .collect();
    let mut steps = 0usize;
    // Whether a store is staging depends on the store alone: decided once per store node.
    let mut staging_at: BTreeMap<NodeId, bool> = BTreeMap::new();
    while let Some((n, done)) = stack.pop() {
        steps += 1;
        if steps > 100_000 || !seen.insert((n, done)) {
            continue;
        }
        let node = &body.nodes[n as usize];
        let mut done = done;
        match &node.op {
            Op::Count { delta: d, span, .. }
                if keys.get(&n).is_some_and(|k| *k == key) && *d == -delta =>
            {
                done = done.or(Some((*span, None)));
            }
            Op::Call { span, .. }
                if done.is_none()
                    && call_moves
                        .get(&n)
                        .is_some_and(|m| m.contains(&(key, -delta))) =>
            {
                done = Some((*span, None))
            }
            Op::Call {
                callee,
                span,
                args,
                by_value,
                ..
            } if done.is_none()
                && (hands_off(callee, args, by_value, f)
                    || lends_counter(callee, args, taken.map(|v| &**v))) =>
            {
                done = Some((*span, Some(n)))
            }
            // Stored where a completion routine will find it (`self.slot = Some(pkt)`); the
            // same place assigned again (`self.slot = None`) drops the packet it held.
            Op::Store {
                params,
                place,
                span,
            } => {
                let overwritten = done.and_then(|(_, c)| c).is_some_and(|c| {
                    matches!(&body.nodes[c as usize].op, Op::Store { place: p, .. } if p == place)
                });
                if overwritten {
                    done = None;
                }
                if done.is_none()
                    && !params.is_empty()
                    && !*staging_at
                        .entry(n)
                        .or_insert_with(|| staging(body, n, place, f))
                {
                    done = Some((*span, Some(n)));
                }
            }
            // The taking call itself failed (a configured take matched as `None` / `Err`):
            // nothing was taken on this path.
            Op::CallOutcome { call, ok: false }
                if done.is_none()
                    && matches!(&body.nodes[*call as usize].op, Op::Call { span, .. } if Some(*span) == take_span) =>
            {
                continue;
            }
            // The hand-off call failed (`Err(..)`, `None`, the error path of `?`): the packet
            // came back and nothing will complete it.
            Op::CallOutcome { call, ok: false } if done.is_some_and(|(_, c)| c == Some(*call)) => {
                done = None
            }
            Op::Exit { span } => {
                match done {
                    Some((site, _)) => {
                        if !ok.iter().any(|(e, _)| e == span) {
                            ok.push((*span, site));
                        }
                    }
                    None => {
                        if !leaking.contains(span) {
                            leaking.push(*span);
                        }
                    }
                }
                continue;
            }
            _ => {}
        }
        for &s in node.succs.iter().rev() {
            stack.push((s, done));
        }
    }
    leaking.sort();
    ok.sort();
    (leaking, ok)
}

/// A call that passes one of the function's own (non-`self`) parameters on: the packet the
/// credit was taken for goes to someone who will complete it. A parameter of a scalar type (a
/// flow hash, a length, a flag) is no packet: passing it on hands nothing off.
fn hands_off(callee: &Callee, args: &[Option<Place>], by_value: &ArgMask, f: &FnDef) -> bool {
    let name = match callee {
        Callee::Path(s) => s.last().cloned().unwrap_or_default(),
        Callee::Method { name, .. } => name.to_string(),
        Callee::Value { text, .. } => text.to_string(),
    };
    if DISPOSE.iter().any(|d| {
        name == *d || name.starts_with(&format!("{d}_")) || name.ends_with(&format!("_{d}"))
    }) {
        return false;
    }
    let _ = f;
    let param_arg = args.iter().enumerate().any(|(i, p)| {
        by_value.get(i)
            && p.as_ref().is_some_and(|p| {
                matches!(&p.root, Root::Param { ty, .. } if !is_scalar(ty)) && p.proj.is_empty()
            })
    });
    param_arg
}

/// A call that is given the counter itself (`Protector::None(&self.active)`, a guard struct
/// whose `Drop` moves it back): whoever holds it now can give the resource back, so it is handed
/// off, as a guard is when it is returned.
fn lends_counter(callee: &Callee, args: &[Option<Place>], taken: Option<&Place>) -> bool {
    let Some(taken) = taken else {
        return false;
    };
    if matches!(taken.root, Root::Opaque) {
        return false;
    }
    let name = match callee {
        Callee::Path(s) => s.last().cloned().unwrap_or_default(),
        Callee::Method { name, .. } => name.to_string(),
        Callee::Value { text, .. } => text.to_string(),
    };
    if DISPOSE.contains(&name.as_str()) {
        return false;
    }
    args.iter()
        .flatten()
        .any(|p| p.root == taken.root && p.proj == taken.proj)
}

/// An integer, float, `bool` or `char`, or a reference to one.
fn is_scalar(ty: &TypeRef) -> bool {
    const SCALARS: &[&str] = &[
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
        "f32", "f64", "bool", "char",
    ];
    match ty {
        TypeRef::Path { segs, args } => {
            args.is_empty() && segs.len() == 1 && SCALARS.contains(&segs[0].as_str())
        }
        TypeRef::Ref { inner, .. } => is_scalar(inner),
        _ => false,
    }
}
