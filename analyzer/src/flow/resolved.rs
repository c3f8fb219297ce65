//! Resolution of every lock operation of a body to the lock it takes or releases, done once
//! before the paths are explored.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Config;
use crate::index::{AcqCall, FnRef, Index, ResolvedLock};
use crate::ir::{
    AcqStyle, BlockKind, Body, Callee, CondKey, FnDef, GuardId, Mode, NodeId, Op, Place,
};
use crate::lower::LoweredFile;
use crate::resolve::returns::Returns;

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
pub(super) struct Resolved {
    pub(super) locks: Vec<ResolvedLock>,
    /// node → index into `locks` (for Acquire / Unlock nodes that are locks).
    pub(super) at: BTreeMap<NodeId, u32>,
    pub(super) keys: Vec<CondKey>,
    pub(super) key_at: BTreeMap<NodeId, u32>,
    /// Call node → (lock, result slot, mode) for calls to helpers that return a guard.
    pub(super) call_at: BTreeMap<NodeId, (u32, GuardId, Mode)>,
    /// Call node → what it allocates, for methods that grow a heap collection (`v.push(x)` on
    /// a `Vec`, not on a `heapless::Vec`).
    pub(super) alloc_at: BTreeMap<NodeId, String>,
    /// `HandOff` nodes whose struct has a `Drop` impl.
    pub(super) handoff_at: BTreeSet<NodeId>,
}

pub(super) fn resolve_body(
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
            } => acquired_lock(
                ix,
                files,
                func,
                config,
                place,
                &method.name,
                *unwrapped,
                *style,
            ),
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
        // An async lock (its `lock` an `async fn`; by its crate, `tokio::sync::Mutex`,
        // async-lock, futures) is acquired when its `lock()` future is awaited: a future
        // created and not awaited right there holds nothing.
        let res = res.filter(|l| {
            !matches!(n.op, Op::Acquire { .. })
                || !(l.kind.awaits || crate::lock_api::async_by_name(&l.kind.type_name))
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
        if let Some(mut l) = res {
            l.unshared = body.unshared.binary_search(&(i as NodeId)).is_ok();
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
    /// The index of a lock in `locks`, added when it is new. An acquisition of an object not
    /// shared yet is another entry than a later one of the same lock after it is shared.
    fn intern(&mut self, l: ResolvedLock) -> u32 {
        match self.locks.iter().position(|x| {
            x.class == l.class && x.instance == l.instance && x.unshared == l.unshared
        }) {
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
        &method.name,
        AcqCall {
            unwrapped: *unwrapped,
            fn_call: false,
        },
        config,
    )?;
    l.instance = crate::resolve::instance::map_instance(callee_def, &l.instance, callee, args)
        .map(|t| cx.ix.canon_instance(cx.files, cx.func, &t))
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
                &method.name,
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
    arg.text = format!("{}{rest}", arg.text).into();
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

/// Methods that copy a heap collection into a new allocation (`v.clone()` of a `Vec`, not of
/// an `Arc<Vec<_>>`).
const COPY_METHODS: &[&str] = &["clone", "to_vec", "to_owned"];

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
    let copy = COPY_METHODS.contains(&method);
    if !GROW_METHODS.contains(&method) && !copy {
        return None;
    }
    let walk = ix.walk_place(files, func, recv)?;
    if copy && shared_pointer(walk.ty.as_ref()?) {
        return None;
    }
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
    let first = ix.defmap.crate_named(&walk.module, first);
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

/// `Arc<_>` / `Rc<_>` / `Weak<_>` behind references: its `clone` shares, it copies nothing.
fn shared_pointer(ty: &crate::ir::TypeRef) -> bool {
    match ty {
        crate::ir::TypeRef::Ref { inner, .. } => shared_pointer(inner),
        crate::ir::TypeRef::Path { segs, .. } => {
            matches!(segs.last().map(String::as_str), Some("Arc" | "Rc" | "Weak"))
        }
        _ => false,
    }
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
            awaits: false,
        },
        assumed: true,
        unshared: false,
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
