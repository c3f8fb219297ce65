//! Per-function flow analysis: which locks are held at every acquisition, call, blocking point
//! and exit, path by path.
//!
//! The state is the set of held locks plus the branch conditions assumed on the path, so that
//! `if flag { lock } … if flag { unlock }` is seen as balanced. States are explored
//! exhaustively up to a step budget counted in operations (never in time), so results are
//! deterministic.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::config::Config;
use crate::index::{AcqCall, FnRef, Index, ResolvedLock};
use crate::ir::{
    AcqStyle, BlockKind, Body, Callee, CondKey, FnDef, GuardId, Mode, NodeId, Op, Place,
};
use crate::lower::LoweredFile;
use crate::resolve::returns::Returns;
use crate::source::Span;

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

/// Whether the struct a literal names (`Guard`, `Self`) has a `Drop` impl in the analyzed code.
fn has_drop(ix: &Index, files: &[LoweredFile], func: &FnDef, ty: &[String]) -> bool {
    let segs: Vec<String> = if ty.len() == 1 && ty[0] == "Self" {
        match &func.self_ty {
            Some(crate::ir::TypeRef::Path { segs, .. }) => segs.clone(),
            _ => return false,
        }
    } else {
        ty.to_vec()
    };
    let Some(sd) = ix.find_struct(files, &func.module, &segs) else {
        return false;
    };
    ix.methods_of_struct(&sd.path, "drop").is_some_and(|ms| {
        ms.iter()
            .any(|&m| ix.func(files, m).trait_name.as_deref() == Some("Drop"))
    })
}

/// Resolution of every lock operation of a body, done once before exploring paths.
struct Resolved {
    locks: Vec<ResolvedLock>,
    /// node → index into `locks` (for Acquire / Unlock nodes that are locks).
    at: BTreeMap<NodeId, u32>,
    keys: Vec<CondKey>,
    key_at: BTreeMap<NodeId, u32>,
    /// Call node → (lock, result slot, mode) for calls to helpers that return a guard.
    call_at: BTreeMap<NodeId, (u32, GuardId, Mode)>,
    /// Call node → what it allocates, for methods that grow a heap collection (`v.push(x)` on
    /// a `Vec`, not on a `heapless::Vec`).
    alloc_at: BTreeMap<NodeId, String>,
    /// `HandOff` nodes whose struct has a `Drop` impl.
    handoff_at: BTreeSet<NodeId>,
}

fn resolve_body(
    ix: &Index,
    files: &[LoweredFile],
    func: &FnDef,
    body: &Body,
    config: &Config,
    returns: &Returns,
    by_pos: &BTreeMap<FnRef, usize>,
) -> Resolved {
    let mut r = Resolved {
        locks: Vec::new(),
        at: BTreeMap::new(),
        keys: Vec::new(),
        key_at: BTreeMap::new(),
        call_at: BTreeMap::new(),
        alloc_at: BTreeMap::new(),
        handoff_at: BTreeSet::new(),
    };
    for (i, n) in body.nodes.iter().enumerate() {
        if let Op::Call { callee, .. } = &n.op {
            if let Callee::Method {
                recv: Some(recv),
                name,
            } = &**callee
            {
                if let Some(what) = heap_growth(ix, files, func, recv, name) {
                    r.alloc_at.insert(i as NodeId, what);
                }
            }
        }
        if let Op::HandOff { ty, .. } = &n.op {
            if has_drop(ix, files, func, ty) {
                r.handoff_at.insert(i as NodeId);
            }
        }
        let res = match &n.op {
            Op::Acquire {
                place,
                method,
                unwrapped,
                style,
                ..
            } => acquired_lock(ix, files, func, config, place, method, *unwrapped, *style),
            Op::Unlock { place, method, .. } => {
                unlocked_lock(ix, files, func, config, place, method)
            }
            Op::Assume { key, .. } => {
                let k = match r.keys.iter().position(|k| k == key) {
                    Some(p) => p as u32,
                    None => {
                        r.keys.push(key.clone());
                        r.keys.len() as u32 - 1
                    }
                };
                r.key_at.insert(i as NodeId, k);
                None
            }
            _ => None,
        };
        // An async lock (`tokio::sync::Mutex`, async-lock, futures) is acquired when its
        // `lock()` future is awaited: a future created and not awaited right there holds nothing.
        let res = res.filter(|l| {
            !matches!(n.op, Op::Acquire { .. })
                || !is_async_lock(&l.kind.type_name)
                || n.succs.iter().any(|&s| {
                    matches!(
                        body.nodes[s as usize].op,
                        Op::Block {
                            kind: BlockKind::Await,
                            ..
                        }
                    )
                })
        });
        if let Some(l) = res {
            let idx = r.intern(l);
            r.at.insert(i as NodeId, idx);
        }
    }
    // Calls to helpers that return a guard: the caller holds that lock.
    if !returns.is_empty() {
        let cx = ReturnCx {
            ix,
            files,
            func,
            config,
            returns,
            by_pos,
        };
        for (i, n) in body.nodes.iter().enumerate() {
            let Op::Call {
                callee,
                args,
                result: Some(g),
                ..
            } = &n.op
            else {
                continue;
            };
            if let Some((l, mode)) = returned_lock(&cx, callee, args, i) {
                let idx = r.intern(l);
                r.call_at.insert(i as NodeId, (idx, *g, mode));
            }
        }
    }
    r
}

impl Resolved {
    /// The index of a lock in `locks`, added when it is new.
    fn intern(&mut self, l: ResolvedLock) -> u32 {
        match self
            .locks
            .iter()
            .position(|x| x.class == l.class && x.instance == l.instance)
        {
            Some(p) => p as u32,
            None => {
                self.locks.push(l);
                self.locks.len() as u32 - 1
            }
        }
    }
}

/// The lock an acquisition takes: a typed lock, or a configured or built-in acquire function's
/// (`spin_lock(&l)`, a `lock_pairs` entry) raw lock.
#[allow(clippy::too_many_arguments)]
fn acquired_lock(
    ix: &Index,
    files: &[LoweredFile],
    func: &FnDef,
    config: &Config,
    place: &Place,
    method: &str,
    unwrapped: bool,
    style: AcqStyle,
) -> Option<ResolvedLock> {
    let raw_fn = style == AcqStyle::Raw
        && crate::lock_api::ACQUIRE_FNS
            .iter()
            .any(|(n, _, _)| *n == method)
        || config.lock_pairs.iter().any(|p| p.acquire == method);
    let mut l = ix.resolve_lock(
        files,
        func,
        place,
        method,
        AcqCall {
            unwrapped,
            fn_call: style == AcqStyle::Raw,
        },
        config,
    );
    if l.is_none() && raw_fn {
        l = Some(fn_pair_lock(func, place, method, config));
    }
    if let Some(l) = &mut l {
        if raw_fn {
            let (spin, irq) = pair_props(method, config);
            l.kind.raw = true;
            l.kind.spin |= spin;
            l.kind.irq_safe |= irq;
        }
    }
    l
}

/// The lock a manual unlock releases (`m.force_unlock()`, `spin_unlock(&l)`).
fn unlocked_lock(
    ix: &Index,
    files: &[LoweredFile],
    func: &FnDef,
    config: &Config,
    place: &Place,
    method: &str,
) -> Option<ResolvedLock> {
    let raw_fn = crate::lock_api::RELEASE_FNS.contains(&method)
        || config.lock_pairs.iter().any(|p| p.release == method);
    let l = ix.resolve_lock(
        files,
        func,
        place,
        "lock",
        AcqCall {
            unwrapped: true,
            fn_call: false,
        },
        config,
    );
    match l {
        Some(l) => Some(l),
        None if raw_fn => Some(fn_pair_lock(func, place, method, config)),
        None => None,
    }
}

/// What resolving the locks of returned guards needs.
struct ReturnCx<'a> {
    ix: &'a Index,
    files: &'a [LoweredFile],
    func: &'a FnDef,
    config: &'a Config,
    returns: &'a Returns,
    by_pos: &'a BTreeMap<FnRef, usize>,
}

/// The lock held through the guard a call returns (node `i`), in the caller's terms, and its
/// mode.
fn returned_lock(
    cx: &ReturnCx<'_>,
    callee: &Callee,
    args: &[Option<Place>],
    i: usize,
) -> Option<(ResolvedLock, Mode)> {
    let ReturnCx {
        ix,
        files,
        func,
        config,
        returns,
        by_pos,
    } = *cx;
    let targets = crate::resolve::calls::call_targets(ix, files, func, callee, by_pos);
    let (callee_def, (place, method, mode, unwrapped)) = targets.iter().find_map(|t| {
        let fr = ix.fns[t.flow];
        returns.get(&fr).map(|x| (ix.func(files, fr), x))
    })?;
    let mut l = ix.resolve_lock(
        files,
        callee_def,
        place,
        method,
        AcqCall {
            unwrapped: *unwrapped,
            fn_call: false,
        },
        config,
    )?;
    l.instance = crate::resolve::instance::map_instance(callee_def, &l.instance, callee, args)
        .unwrap_or_else(|| format!("{}#{i}", l.instance))
        .into();
    // A helper that locks the lock it is given (`fn wait_lock(l: &Mutex<T>) -> Guard`):
    // the lock is the caller's argument, named as the caller names it, not one class
    // shared by every caller of the helper.
    if let Some(cl) = param_arg_place(callee_def, place, callee, args)
        .and_then(|cp| {
            ix.resolve_lock(
                files,
                func,
                &cp,
                method,
                AcqCall {
                    unwrapped: *unwrapped,
                    fn_call: false,
                },
                config,
            )
        })
        .filter(|cl| !cl.assumed)
    {
        l.class = cl.class;
        l.instance = cl.instance;
    }
    Some((l, *mode))
}

/// The caller's place for a callee place rooted at one of the callee's parameters: the
/// argument passed for it, with the callee's projections after it.
fn param_arg_place(
    callee_def: &crate::ir::FnDef,
    place: &Place,
    callee: &crate::ir::Callee,
    args: &[Option<Place>],
) -> Option<Place> {
    if matches!(place.root, crate::ir::Root::SelfValue) && place.proj.is_empty() {
        // A method of the lock type itself (`impl Ext for RwLock<T> { fn wl(&self) .. }`):
        // the lock is the caller's receiver.
        let recv = match callee {
            crate::ir::Callee::Method { recv, .. } => recv.clone()?,
            crate::ir::Callee::Path(_) if callee_def.has_self => args.first()?.clone()?,
            _ => return None,
        };
        return (!matches!(recv.root, crate::ir::Root::Opaque)).then_some(recv);
    }
    let crate::ir::Root::Param { name, .. } = &place.root else {
        return None;
    };
    let pos = callee_def.params.iter().position(|(n, _)| n == name)?;
    let offset = usize::from(matches!(callee, crate::ir::Callee::Path(_)) && callee_def.has_self);
    let mut arg = args.get(pos + offset)?.clone()?;
    if matches!(arg.root, crate::ir::Root::Opaque) {
        return None;
    }
    let rest = place.text.strip_prefix(name.as_str())?;
    arg.proj.extend(place.proj.iter().cloned());
    arg.text.push_str(rest);
    Some(arg)
}

/// Methods that may grow a heap collection.
const GROW_METHODS: &[&str] = &[
    "push",
    "push_back",
    "push_front",
    "push_str",
    "insert",
    "extend",
    "extend_from_slice",
    "append",
    "reserve",
    "resize",
];

/// Heap collections (std / `alloc`), by their last path segment.
const HEAP_COLLECTIONS: &[&str] = &[
    "Vec",
    "VecDeque",
    "String",
    "BTreeMap",
    "BTreeSet",
    "BinaryHeap",
    "LinkedList",
    "HashMap",
    "HashSet",
];

/// `v.push(x)` where `v` is a heap collection: `Vec::push`. Fixed-capacity collections of the
/// same name (`heapless::Vec`, `arrayvec`) do not allocate.
fn heap_growth(
    ix: &Index,
    files: &[LoweredFile],
    func: &FnDef,
    recv: &Place,
    method: &str,
) -> Option<String> {
    if !GROW_METHODS.contains(&method) {
        return None;
    }
    let walk = ix.walk_place(files, func, recv)?;
    let ty = ix.strip(files, &walk.module, walk.ty.as_ref()?, 0);
    let crate::ir::TypeRef::Path { segs, .. } = &ty else {
        return None;
    };
    let name = segs.last()?;
    let full = match segs.len() {
        1 => ix
            .resolve_use(&walk.module, name)
            .or_else(|| ix.resolve_use(&func.module, name))
            .cloned()
            .unwrap_or_else(|| segs.clone()),
        _ => segs.clone(),
    };
    let real = full.last()?;
    let first = full.first().map(String::as_str).unwrap_or("");
    if !HEAP_COLLECTIONS.contains(&real.as_str())
        || matches!(
            first,
            "heapless" | "arrayvec" | "tinyvec" | "staticvec" | "fixedvec" | "smallvec"
        )
    {
        return None;
    }
    Some(format!("{real}::{method}"))
}

/// The lock an acquire/release function pair works on, when its argument's type is unknown.
fn fn_pair_lock(func: &FnDef, place: &Place, method: &str, config: &Config) -> ResolvedLock {
    let (spin, irq) = pair_props(method, config);
    let class = match &place.root {
        crate::ir::Root::Opaque | crate::ir::Root::Value(_) => {
            format!("{}::{}", func.path, place.text)
        }
        crate::ir::Root::Local { name, tag, .. } => {
            format!("{}::{}", func.owner_of(name, Some(*tag)), place.text)
        }
        crate::ir::Root::Param { name, .. } => {
            format!("{}::{}", func.owner_of(name, None), place.text)
        }
        _ => format!("{}::{}", func.module, place.text),
    };
    ResolvedLock {
        class: class.into(),
        instance: place.text.as_str().into(),
        kind: crate::index::LockKind {
            type_name: "raw".into(),
            spin,
            rw: false,
            reentrant: false,
            raw: true,
            irq_safe: irq,
            by_name: false,
        },
        assumed: true,
    }
}

fn pair_props(method: &str, config: &Config) -> (bool, bool) {
    if let Some(p) = config.lock_pairs.iter().find(|p| p.acquire == method) {
        return (p.spin, p.irq_safe);
    }
    if let Some((_, s, i)) = crate::lock_api::ACQUIRE_FNS
        .iter()
        .find(|(n, _, _)| *n == method)
    {
        return (*s, *i);
    }
    (
        method.to_ascii_lowercase().contains("spin"),
        method.contains("irqsave") || method.contains("_irq"),
    )
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

/// A lock whose acquisition is a future (`lock().await`).
fn is_async_lock(type_name: &str) -> bool {
    [
        "tokio::",
        "async_lock::",
        "futures::",
        "futures_util::",
        "async_std::",
        "smol::",
        "async_mutex::",
    ]
    .iter()
    .any(|p| type_name.starts_with(p))
        || type_name.starts_with("embassy_sync::mutex::")
}
