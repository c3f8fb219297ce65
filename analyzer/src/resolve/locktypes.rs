//! Lock types of the analyzed code recognised from what their code does, not from their names:
//! a type is a lock when one of its lock-API methods (`lock`, `read`, `write`, `lock_irqsave`,
//! …) returns the guard of a lock it wraps, or spins (a compare-and-swap in a loop, a spin
//! hint) and returns a guard that refers to it, or spins and has an `unlock`. How it behaves
//! comes from the same code: it spins or sleeps as what it wraps or as its own loop does, and
//! its plain `lock` masks interrupts when that method (or what it calls) does.
//!
//! A type of the analyzed code that shows none of this keeps the old reading by its name (a
//! stub `SpinLock` with no body behind its guard): see [`crate::index::Index::lock_kind`].

use super::alias::callee_name;
use std::collections::BTreeMap;

use crate::fast_hash::HashMap;

use crate::index::{CodeLock, ConstCond, FnRef, Index, LockKind};
use crate::ir::{BlockKind, FnDef, Op, Proj, Root, TypeRef};
use crate::lock_api;
use crate::lower::LoweredFile;
use crate::resolve::returns::Returns;
use crate::sema::impls::{resolve_ty, TyKey, TyRes};

/// Calls that spin-wait or hint a spin loop.
const SPIN_HINTS: &[&str] = &[
    "spin_loop",
    "spin_loop_hint",
    "cpu_relax",
    "relax",
    "pause",
    "wfe",
];

/// Atomic read-modify-write operations a lock takes its flag with.
const CAS_OPS: &[&str] = &[
    "compare_exchange",
    "compare_exchange_weak",
    "compare_and_swap",
    "swap",
    "fetch_or",
    "fetch_add",
    "test_and_set",
];

/// Calls that put the thread to sleep instead of spinning.
const SLEEP_OPS: &[&str] = &[
    "park",
    "park_timeout",
    "futex_wait",
    "schedule",
    "sleep",
    "wait",
    "wait_while",
    "block_on",
];

#[derive(Clone, Copy, Default)]
struct Facts {
    spins: bool,
    sleeps: bool,
    masks_irq: bool,
}

struct Cx<'a> {
    ix: &'a Index,
    files: &'a [LoweredFile],
    by_pos: BTreeMap<FnRef, usize>,
    /// Facts per function, and whether they include its callees' (not cut at the depth).
    memo: HashMap<FnRef, (Facts, bool)>,
}

/// Calls followed from an acquire method: a mutex's sleep may sit several helpers down
/// (`write` → `wait_write` → a wait queue's `wait_until` → its implementation → `wait`).
const FACT_DEPTH: u32 = 6;

impl Cx<'_> {
    /// What a function's body does, and what the functions it calls do ([`FACT_DEPTH`]
    /// levels deep).
    fn facts(&mut self, r: FnRef, depth: u32) -> Facts {
        if let Some(&(f, complete)) = self.memo.get(&r) {
            if complete || depth >= FACT_DEPTH {
                return f;
            }
        }
        let func = self.ix.func(self.files, r);
        let Some(body) = &func.body else {
            return Facts::default();
        };
        let mut f = Facts::default();
        let mut cas = false;
        let back_edge = body
            .nodes
            .iter()
            .enumerate()
            .any(|(i, n)| n.succs.iter().any(|&s| (s as usize) <= i));
        for n in &body.nodes {
            match &n.op {
                Op::IrqOff { .. } | Op::IrqGuard { .. } => f.masks_irq = true,
                Op::Block {
                    kind: BlockKind::Spin { .. },
                    ..
                } => f.spins = true,
                Op::Block {
                    kind: BlockKind::Sleep(_) | BlockKind::CondWait(_),
                    ..
                } => f.sleeps = true,
                // The lock of its own state (`self.inner.get().spin.lock()`): this spins or
                // masks interrupts as that lock does, when its code says so. Not `self` itself
                // (a raw interface built on its own guard methods says nothing new).
                Op::Acquire { place, .. }
                    if matches!(place.root, Root::SelfValue) && !place.proj.is_empty() =>
                {
                    let kind = self.ix.walk_place(self.files, func, place).and_then(|w| {
                        let ty = w.ty?;
                        let cfg = crate::config::Config::default();
                        self.ix.lock_kind(self.files, &w.module, &ty, &cfg)
                    });
                    if let Some(k) = kind.filter(|k| !k.by_name) {
                        f.spins |= k.spin;
                        f.masks_irq |= k.irq_safe;
                    }
                }
                Op::Call { callee, .. } => {
                    let Some(name) = callee_name(callee) else {
                        continue;
                    };
                    if SPIN_HINTS.contains(&name) {
                        f.spins = true;
                    }
                    if CAS_OPS.contains(&name) {
                        cas = true;
                    }
                    if SLEEP_OPS.contains(&name) {
                        f.sleeps = true;
                    }
                }
                _ => {}
            }
        }
        f.spins |= cas && back_edge;
        // (recursion through the call graph meets this entry and stops)
        self.memo.insert(r, (f, true));
        if depth < FACT_DEPTH && !(f.spins && f.masks_irq) {
            // complete when no callee's facts were cut at the depth
            let mut complete = true;
            // What the calls on the way do (`self.raw.spin_until_owned()`, `push_off()`).
            for n in &body.nodes {
                let Op::Call { callee, .. } = &n.op else {
                    continue;
                };
                let res = crate::resolve::calls::resolve_call(
                    self.ix,
                    self.files,
                    func,
                    callee,
                    &self.by_pos,
                );
                // A call dispatched through a trait bound or a trait object may run any impl:
                // what one impl does says nothing about this function (`lock_api::Mutex::lock`
                // calls its raw lock's `lock` through the `R: RawMutex` bound).
                for t in res.targets.iter().filter(|t| t.via_trait.is_none()).take(4) {
                    let callee = self.ix.fns[t.flow];
                    let c = self.facts(callee, depth + 1);
                    f.spins |= c.spins;
                    f.masks_irq |= c.masks_irq;
                    f.sleeps |= c.sleeps;
                    complete &= self.memo.get(&callee).is_none_or(|e| e.1);
                }
            }
            self.memo.insert(r, (f, complete));
        } else {
            self.memo
                .insert(r, (f, depth < FACT_DEPTH || f.spins && f.masks_irq));
        }
        f
    }
}

/// Whether `ty`, written in `module`, is (a reference to) the struct at `path`.
fn refers_to(ix: &Index, files: &[LoweredFile], module: &str, ty: &TypeRef, path: &str) -> bool {
    let t = ix.strip(files, module, ty, 0);
    if let TypeRef::Path { segs, .. } = &t {
        if segs.len() == 1 && segs[0] == "Self" {
            return false;
        }
    }
    matches!(
        resolve_ty(&ix.defmap, files, module, &t, &[]),
        Some(TyRes::Key(TyKey::Local(p))) if p == path
    )
}

/// A method's return type is a guard of the struct at `path`: a struct of the analyzed code
/// with a field referring to it (`struct SpinLockGuard<'a, T> { owner: &'a SpinLock<T> }`),
/// seen through `Option`/`Result` (a try-lock).
fn returns_guard_of(ix: &Index, files: &[LoweredFile], m: &FnDef, path: &str) -> bool {
    let Some(ret) = &m.ret else { return false };
    let ret = match ret {
        TypeRef::Path { segs, args }
            if matches!(segs.last().map(String::as_str), Some("Option" | "Result"))
                && !args.is_empty() =>
        {
            &args[0]
        }
        t => t,
    };
    let Some(g) = ix.find_struct(
        files,
        &m.module,
        match ret {
            TypeRef::Path { segs, .. } => segs,
            _ => return false,
        },
    ) else {
        return false;
    };
    // A field refers to the lock, or dropping the guard runs code (it releases something).
    g.fields
        .iter()
        .any(|(_, t, _)| refers_to(ix, files, &g.module, t, path))
        || !ix
            .impls
            .impl_method(&TyKey::Local(g.path.clone()), "std::ops::Drop", "drop")
            .is_empty()
}

/// Every lock type of the analyzed code that its code shows to be one, by struct path.
pub fn compute(ix: &Index, files: &[LoweredFile], returns: &Returns) -> HashMap<String, CodeLock> {
    let by_pos: BTreeMap<FnRef, usize> = ix.fns.iter().enumerate().map(|(i, r)| (*r, i)).collect();
    let mut cx = Cx {
        ix,
        files,
        by_pos,
        memo: HashMap::default(),
    };
    let mut out = HashMap::default();
    for f in files {
        for s in &f.items.structs {
            if let Some(l) = classify(&mut cx, returns, s) {
                out.insert(s.path.clone(), l);
            }
        }
    }
    out
}

/// The acquiring methods of lock_api's raw-lock traits.
const RAW_TRAIT_METHODS: &[&str] = &["lock", "lock_exclusive", "lock_shared"];

fn is_acquire_name(n: &str) -> bool {
    lock_api::GUARD_METHODS.contains(&n) || lock_api::TRY_METHODS.contains(&n)
}

/// The acquire `r` of a lock_api raw-lock impl (`impl RawMutex for RawSpin`): a raw lock,
/// spinning or masking interrupts as its `lock` does. One whose code shows neither keeps the
/// reading by its name (see `lock_kind`). Whether it may sleep.
fn raw_trait_acquire(
    cx: &mut Cx<'_>,
    r: FnRef,
    t: &str,
    kind: &mut LockKind,
    evidence: &mut Option<String>,
) -> bool {
    let name = cx.ix.func(cx.files, r).name;
    let facts = cx.facts(r, 0);
    if !(facts.spins || facts.masks_irq) {
        return false;
    }
    kind.raw = true;
    kind.rw |= t
        .rsplit("::")
        .next()
        .is_some_and(|l| l.starts_with("RawRwLock"));
    kind.spin |= facts.spins;
    kind.irq_safe |= facts.masks_irq;
    evidence.get_or_insert(format!(
        "{} in `{}::{}`",
        if facts.spins {
            "spins"
        } else {
            "masks interrupts"
        },
        t.rsplit("::").next().unwrap_or(t),
        name
    ));
    facts.sleeps
}

fn classify(cx: &mut Cx<'_>, returns: &Returns, s: &crate::ir::StructDef) -> Option<CodeLock> {
    let path = s.path.as_str();
    let ix = cx.ix;
    let files = cx.files;
    let key = TyKey::Local(path.to_string());
    let mut kind = LockKind {
        type_name: path.to_string().into(),
        spin: false,
        rw: false,
        reentrant: false,
        raw: false,
        irq_safe: false,
        by_name: false,
        awaits: false,
    };
    let mut evidence: Option<String> = None;
    let mut plain_masks = false;
    let consts: Vec<(usize, String, Option<String>)> = s
        .consts
        .iter()
        .filter_map(|(c, d)| {
            let i = s.generics.iter().position(|g| g == c)?;
            Some((i, c.clone(), d.clone()))
        })
        .collect();
    let mut masks_when: Option<ConstCond> = None;
    let mut any_sleeps = false;
    // A blocking acquire (not a `try_`) that may sleep: the type is a sleeping lock, whatever
    // its try methods' retry loops look like.
    let mut blocking_sleeps = false;
    let mut is_async = false;
    let methods: Vec<FnRef> = lock_api::GUARD_METHODS
        .iter()
        .chain(lock_api::TRY_METHODS)
        .chain(RAW_TRAIT_METHODS)
        .flat_map(|n| ix.impls.methods_of(&key, n))
        .collect();
    let has_unlock = ["unlock", "release", "force_unlock"]
        .iter()
        .any(|n| !ix.impls.methods_of(&key, n).is_empty());
    for r in methods {
        let m = ix.func(files, r);
        if let Some(t) = m
            .trait_name
            .as_deref()
            .filter(|t| lock_api::is_raw_lock_trait(t))
        {
            if m.has_self && RAW_TRAIT_METHODS.contains(&m.name.as_str()) {
                any_sleeps |= raw_trait_acquire(cx, r, t, &mut kind, &mut evidence);
            }
            continue;
        }
        // Otherwise inherent methods only.
        if !m.has_self || !is_acquire_name(&m.name) || m.trait_name.is_some() {
            continue;
        }
        let facts = cx.facts(r, 0);
        any_sleeps |= facts.sleeps;
        blocking_sleeps |= facts.sleeps && !m.name.starts_with("try");
        // An async lock (its `lock` is a future) waits without spinning.
        if m.is_async {
            is_async = true;
            if returns_guard_of(ix, files, m, path) {
                evidence.get_or_insert(format!("`{}` is async", m.name));
            }
            continue;
        }
        if matches!(m.name.as_str(), "read" | "write" | "try_read" | "try_write") {
            kind.rw = true;
        }
        if m.name == "lock" || m.name == "read" || m.name == "write" {
            // `if !INT { cli() }`: masking that only one value of a const parameter takes.
            match facts
                .masks_irq
                .then(|| masks_only_when(m, &consts))
                .flatten()
            {
                Some(c) => masks_when = masks_when.or(Some(c)),
                None => plain_masks |= facts.masks_irq,
            }
        }
        // A wrapper: the guard of a lock in one of its fields.
        if let Some((place, method, _, unwrapped)) = returns.get(&r) {
            let field_of_self = matches!(place.root, Root::SelfValue)
                && matches!(place.proj.first(), Some(Proj::Field(_)));
            if field_of_self {
                if let Some(inner) = ix.resolve_lock(
                    files,
                    m,
                    place,
                    &method.name,
                    crate::index::AcqCall {
                        unwrapped: *unwrapped,
                        fn_call: false,
                    },
                    &crate::config::Config::default(),
                ) {
                    if !inner.assumed {
                        kind.spin |= inner.kind.spin;
                        kind.rw |= inner.kind.rw;
                        kind.irq_safe |= inner.kind.irq_safe;
                        kind.reentrant |= inner.kind.reentrant;
                        evidence.get_or_insert(format!(
                            "wraps `{}` (`{}`)",
                            inner.kind.type_name, place.text
                        ));
                        continue;
                    }
                }
            }
        }
        // Its own spin loop, with a guard that refers to it, or a raw lock with an unlock. One
        // that may also sleep (a wait queue's spin fallback) is a sleeping lock.
        let own = returns_guard_of(ix, files, m, path) || m.ret.is_none() && has_unlock;
        if own && facts.spins && !facts.sleeps {
            kind.spin = true;
            kind.raw |= m.ret.is_none();
            evidence.get_or_insert(format!("spins in `{}`", m.name));
        } else if own && facts.sleeps {
            kind.raw |= m.ret.is_none();
            evidence.get_or_insert(format!("sleeps in `{}`", m.name));
        }
    }
    let evidence = evidence?;
    kind.irq_safe |= plain_masks;
    kind.spin &= !(any_sleeps && kind.raw || blocking_sleeps || is_async);
    kind.awaits = is_async;
    let irq_safe_if = masks_when.filter(|_| !kind.irq_safe);
    Some(CodeLock {
        kind,
        evidence,
        irq_safe_if,
    })
}

/// Whether every interrupt-masking point of `m`'s own body is reached only on paths that
/// assume one value of a const parameter of its type (`if !INT { cli(); }` masks when `INT`
/// is `false`): that parameter and value. Masking done by a callee is not looked at here; a
/// body whose own masking is conditional is taken as masking under that condition only.
fn masks_only_when(m: &FnDef, consts: &[(usize, String, Option<String>)]) -> Option<ConstCond> {
    let body = m.body.as_ref()?;
    // depth-first over (node, the const assumption on the path), each pair once
    let mut seen: crate::fast_hash::HashSet<(u32, Option<(usize, bool)>)> = Default::default();
    let mut stack: Vec<(u32, Option<(usize, bool)>)> = vec![(0, None)];
    let mut found: Option<(usize, bool)> = None;
    while let Some((n, cond)) = stack.pop() {
        if seen.len() > 10_000 {
            return None;
        }
        if !seen.insert((n, cond)) {
            continue;
        }
        let node = body.nodes.get(n as usize)?;
        let mut cond = cond;
        match &node.op {
            Op::Assume { key, value } => {
                if let Some(ci) = consts.iter().position(|(_, c, _)| *c == key.text) {
                    cond = cond.or(Some((ci, *value)));
                }
            }
            Op::IrqOff { .. } | Op::IrqGuard { .. } => match (cond, found) {
                (None, _) => return None,
                (Some(c), None) => found = Some(c),
                (Some(c), Some(f)) if c != f => return None,
                _ => {}
            },
            _ => {}
        }
        for &s in &node.succs {
            stack.push((s, cond));
        }
    }
    let (ci, value) = found?;
    let (pos, _, default) = consts[ci].clone();
    Some(ConstCond {
        pos,
        value: value.to_string(),
        default,
    })
}
