//! Counted resources (KB Q228942): a counter moved one way on a path (a send credit taken, an
//! in-flight count raised) must be moved back, or the thing it was taken for handed off to a
//! call that completes it later, before the path leaves the function.
//!
//! Only counters that the analyzed code moves in both directions somewhere are resources: a
//! statistics counter that only grows is not.

use std::collections::{BTreeMap, BTreeSet};

use crate::flow::FnFlow;
use crate::index::Index;
use crate::ir::{Body, Callee, FnDef, NodeId, Op, Place, Root, TypeRef};
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

pub fn analyze(
    ix: &Index,
    files: &[LoweredFile],
    flows: &[FnFlow],
    ip: &crate::interproc::Interproc,
) -> Vec<Leak> {
    // Directions each counter is moved in, crate-wide.
    let mut dirs: BTreeMap<String, BTreeSet<i8>> = BTreeMap::new();
    let mut keys: Vec<BTreeMap<NodeId, String>> = Vec::with_capacity(flows.len());
    for flow in flows {
        let f = ix.func(files, flow.func);
        let mut m = BTreeMap::new();
        if let Some(body) = &f.body {
            for (i, n) in body.nodes.iter().enumerate() {
                if let Op::Count { place, delta, .. } = &n.op {
                    let k = counter_key(ix, files, f, place);
                    dirs.entry(k.clone()).or_default().insert(*delta);
                    m.insert(i as NodeId, k);
                }
            }
        }
        keys.push(m);
    }
    // What each function moves, directly or through its callees (a `return_credit()` helper).
    let mut moves: Vec<BTreeSet<(String, i8)>> = keys
        .iter()
        .enumerate()
        .map(|(fi, m)| {
            let body = ix.func(files, flows[fi].func).body.as_ref();
            m.iter()
                .filter_map(|(n, k)| match body.map(|b| &b.nodes[*n as usize].op) {
                    Some(Op::Count { delta, .. }) => Some((k.clone(), *delta)),
                    _ => None,
                })
                .collect()
        })
        .collect();
    for _ in 0..8 {
        let mut changed = false;
        for fi in 0..flows.len() {
            let mut add = BTreeSet::new();
            for t in ip.targets.get(fi).into_iter().flatten().flatten() {
                if t.flow != fi {
                    add.extend(moves[t.flow].iter().cloned());
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
        // Call node → what the call may move.
        let mut call_moves: BTreeMap<NodeId, BTreeSet<(String, i8)>> = BTreeMap::new();
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
                    .extend(moves[t.flow].iter().cloned());
            }
        }
        let f = ix.func(files, flow.func);
        let Some(body) = &f.body else { continue };
        for (&node, key) in &keys[fi] {
            if dirs.get(key).is_none_or(|d| d.len() < 2) {
                continue;
            }
            let Op::Count { delta, span, .. } = &body.nodes[node as usize].op else {
                continue;
            };
            // Only the first move of this counter on a path is a take.
            if reached_after_same(body, &keys[fi], key, node) {
                continue;
            }
            let (leaking, ok) = follow(body, &keys[fi], key, *delta, node, f, &call_moves);
            if !leaking.is_empty() && !ok.is_empty() {
                out.push(Leak {
                    flow: fi,
                    counter: key.clone(),
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
fn reached_after_same(
    body: &Body,
    keys: &BTreeMap<NodeId, String>,
    key: &str,
    node: NodeId,
) -> bool {
    let mut seen = vec![false; body.nodes.len()];
    let mut stack: Vec<NodeId> = keys
        .iter()
        .filter(|(n, k)| **n != node && k.as_str() == key)
        .map(|(n, _)| *n)
        .collect();
    while let Some(n) = stack.pop() {
        for &s in &body.nodes[n as usize].succs {
            if s == node {
                return true;
            }
            if !seen[s as usize] && keys.get(&s).is_none_or(|k| k != key) {
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
    keys: &BTreeMap<NodeId, String>,
    key: &str,
    delta: i8,
    take: NodeId,
    f: &FnDef,
    call_moves: &BTreeMap<NodeId, BTreeSet<(String, i8)>>,
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
                if keys.get(&n).is_some_and(|k| k == key) && *d == -delta =>
            {
                done = done.or(Some((*span, None)));
            }
            Op::Call { span, .. }
                if done.is_none()
                    && call_moves
                        .get(&n)
                        .is_some_and(|m| m.contains(&(key.to_string(), -delta))) =>
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
fn hands_off(callee: &Callee, args: &[Option<Place>], by_value: &[bool], f: &FnDef) -> bool {
    let name = match callee {
        Callee::Path(s) => s.last().cloned().unwrap_or_default(),
        Callee::Method { name, .. } => name.clone(),
        Callee::Value { text, .. } => text.clone(),
    };
    if DISPOSE.iter().any(|d| {
        name == *d || name.starts_with(&format!("{d}_")) || name.ends_with(&format!("_{d}"))
    }) {
        return false;
    }
    let _ = f;
    let param_arg = args.iter().zip(by_value).any(|(p, &v)| {
        v && p.as_ref().is_some_and(|p| {
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
        Callee::Method { name, .. } => name.clone(),
        Callee::Value { text, .. } => text.clone(),
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
