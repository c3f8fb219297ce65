//! Lowering of function bodies into control-flow graphs of lock events, with guard lifetimes
//! as Rust drops them: bindings to the end of their scope, temporaries to the end of their
//! statement (or of a scrutinee / condition scope), lifetime extension of `&` operands in `let`,
//! and the edition-dependent `if let` and tail-expression rules.

use std::collections::{BTreeMap, BTreeSet};

use quote::ToTokens;
use syn::spanned::Spanned;

use crate::config::Config;
use crate::ir::{
    AcqStyle, BlockKind, Body, Callee, Capture, CondKey, FnDef, GuardId, Mode, Node, NodeId, Op,
    Place, Proj, Root, TypeRef,
};
use crate::lower_items::{path_segs, type_ref};
use crate::parse::SpanMap;
use crate::source::{Edition, Span};

mod guard_ops;
mod spin_loop;

/// Most nodes one body may have; past it the body is truncated (and a note is reported).
pub const MAX_NODES: usize = 50_000;
/// Deepest expression recursion lowering follows.
pub const MAX_DEPTH: u32 = 300;

/// Methods that acquire a lock and return a guard (when the receiver is a lock).
pub const GUARD_METHODS: &[&str] = &[
    "lock",
    "read",
    "write",
    "upgradable_read",
    "upgradeable_read",
    "lock_irqsave",
    "lock_irq",
    "lock_irq_disabled",
    "lock_irq_save",
    "lock_bh",
    "lock_noirq",
    "lock_arc",
    "read_arc",
    "write_arc",
    "lock_save_irq",
    "spin_lock",
    "blocking_lock",
    "blocking_read",
    "blocking_write",
];

/// Methods that try to acquire and return `Option`/`Result` of a guard (or `bool` for raw).
pub const TRY_METHODS: &[&str] = &[
    "try_lock",
    "try_read",
    "try_write",
    "try_upgradable_read",
    "try_upgradeable_read",
    "try_lock_irqsave",
    "try_lock_for",
    "try_lock_until",
    "try_lock_arc",
    "try_read_arc",
    "try_write_arc",
    "try_lock_shared",
    "try_lock_exclusive",
];

/// Raw-lock methods that acquire without a guard (lock_api `RawMutex`/`RawRwLock`).
pub const RAW_ACQUIRE_METHODS: &[&str] = &["lock_shared", "lock_exclusive", "lock_upgradable"];

/// Methods that release a place explicitly.
pub const UNLOCK_METHODS: &[&str] = &[
    "unlock",
    "unlock_shared",
    "unlock_exclusive",
    "unlock_upgradable",
    "force_unlock",
    "force_unlock_read",
    "force_unlock_write",
    "force_unlock_fair",
];

/// Free functions that acquire the lock passed as first argument and need an explicit release,
/// with whether they spin and whether they mask interrupts.
pub const ACQUIRE_FNS: &[(&str, bool, bool)] = &[
    ("KeAcquireSpinLock", true, false),
    ("KeAcquireSpinLockRaiseToDpc", true, false),
    ("KeAcquireSpinLockAtDpcLevel", true, false),
    ("KeAcquireInStackQueuedSpinLock", true, false),
    ("KeAcquireInStackQueuedSpinLockAtDpcLevel", true, false),
    ("KeAcquireInterruptSpinLock", true, true),
    ("ExAcquireSpinLockExclusive", true, false),
    ("ExAcquireSpinLockShared", true, false),
    ("ExAcquireSpinLockExclusiveAtDpcLevel", true, false),
    ("ExAcquireSpinLockSharedAtDpcLevel", true, false),
    ("NdisAcquireSpinLock", true, false),
    ("NdisDprAcquireSpinLock", true, false),
    ("NdisAcquireRWLockRead", true, false),
    ("NdisAcquireRWLockWrite", true, false),
    ("WdfSpinLockAcquire", true, false),
    ("WdfWaitLockAcquire", false, false),
    ("AcquireSRWLockExclusive", false, false),
    ("AcquireSRWLockShared", false, false),
    ("EnterCriticalSection", false, false),
    ("spin_lock", true, false),
    ("spin_lock_irqsave", true, true),
    ("spin_lock_irq", true, true),
    ("spin_lock_bh", true, false),
    ("raw_spin_lock", true, false),
    ("raw_spin_lock_irqsave", true, true),
    ("raw_spin_lock_irq", true, true),
    ("read_lock", true, false),
    ("write_lock", true, false),
    ("read_lock_irqsave", true, true),
    ("write_lock_irqsave", true, true),
    ("mutex_lock", false, false),
    ("mutex_lock_interruptible", false, false),
    ("pthread_mutex_lock", false, false),
    ("pthread_spin_lock", true, false),
];

/// Their releases.
pub const RELEASE_FNS: &[&str] = &[
    "KeReleaseSpinLock",
    "KeReleaseSpinLockFromDpcLevel",
    "KeReleaseInStackQueuedSpinLock",
    "KeReleaseInStackQueuedSpinLockFromDpcLevel",
    "KeReleaseInterruptSpinLock",
    "ExReleaseSpinLockExclusive",
    "ExReleaseSpinLockShared",
    "ExReleaseSpinLockExclusiveFromDpcLevel",
    "ExReleaseSpinLockSharedFromDpcLevel",
    "NdisReleaseSpinLock",
    "NdisDprReleaseSpinLock",
    "NdisReleaseRWLock",
    "WdfSpinLockRelease",
    "WdfWaitLockRelease",
    "ReleaseSRWLockExclusive",
    "ReleaseSRWLockShared",
    "LeaveCriticalSection",
    "spin_unlock",
    "spin_unlock_irqrestore",
    "spin_unlock_irq",
    "spin_unlock_bh",
    "raw_spin_unlock",
    "raw_spin_unlock_irqrestore",
    "raw_spin_unlock_irq",
    "read_unlock",
    "write_unlock",
    "read_unlock_irqrestore",
    "write_unlock_irqrestore",
    "mutex_unlock",
    "pthread_mutex_unlock",
    "pthread_spin_unlock",
];

/// Methods that keep the place of their receiver (`self.state.clone()` is still `self.state`).
const TRANSPARENT: &[&str] = &[
    "clone",
    "as_ref",
    "as_mut",
    "deref",
    "deref_mut",
    "borrow",
    "borrow_mut",
    "get_ref",
    "as_ptr",
    "as_mut_ptr",
    "by_ref",
    "as_deref",
    "inner",
];

/// Iterator adapters of a collection whose items are its elements (`for p in
/// self.peers.values()`): the place of the collection, unless the receiver's type declares the
/// method itself.
const ITERATORS: &[&str] = &[
    "iter",
    "iter_mut",
    "values",
    "values_mut",
    "into_iter",
    "into_values",
];

/// Methods of iterators and `Option` whose closure receives one element of the receiver
/// (`self.queues.iter().for_each(|q| ..)`, `self.hook.as_ref().map(|h| ..)`).
const ELEM_COMBINATORS: &[&str] = &[
    "for_each",
    "try_for_each",
    "map",
    "filter",
    "filter_map",
    "flat_map",
    "find",
    "find_map",
    "any",
    "all",
    "position",
    "inspect",
    "take_while",
    "skip_while",
    "map_while",
    "max_by_key",
    "min_by_key",
    "retain",
    "retain_mut",
    "and_then",
    "is_some_and",
    "is_none_or",
    "map_or",
    "map_or_else",
];

/// Methods that pass a guard through (`lock().unwrap()`, poison recovery).
const PASS_THROUGH: &[&str] = &[
    "unwrap",
    "expect",
    "unwrap_or_else",
    "unwrap_unchecked",
    "into_inner",
    "unwrap_or",
];

/// Free functions that only sleep or wait.
const SLEEP_FNS: &[&str] = &[
    "sleep",
    "msleep",
    "ssleep",
    "usleep_range",
    "fsleep",
    "schedule",
    "schedule_timeout",
    "KeDelayExecutionThread",
    "KeWaitForSingleObject",
    "KeWaitForMultipleObjects",
    "KeWaitForMutexObject",
    "NdisMSleep",
    "NdisWaitEvent",
    "WdfWaitLockAcquire",
    "yield_now",
    "park",
    "park_timeout",
    "block_on",
    "copy_from_user",
    "copy_to_user",
    "wait_event",
    "wait_event_interruptible",
    "wait_for_completion",
];

/// Calls whose closure argument runs somewhere else (another thread, a task, later).
const SPAWNERS: &[&str] = &[
    "spawn",
    "spawn_local",
    "spawn_blocking",
    "spawn_on",
    "spawn_unchecked",
    "Builder",
    "request_irq",
    "request_threaded_irq",
    "set_handler",
    "set_callback",
    "on_complete",
    "defer",
    "queue_work",
    "schedule_work",
    "call_rcu",
];

#[derive(Clone, Debug, Default)]
struct Val {
    /// Guards the value owns (fresh) or refers to (owned by a binding).
    guards: Vec<GuardId>,
    /// The guards are fresh temporaries that the consumer must settle.
    fresh: bool,
    place: Option<Place>,
    /// A try-lock whose acquisition happens on the success path.
    pending: Option<Pending>,
    closure: Option<Box<syn::ExprClosure>>,
}

#[derive(Default)]
struct CallArgs {
    args: Vec<Option<Place>>,
    by_value: Vec<bool>,
    closures: Vec<syn::ExprClosure>,
    /// Guards moved into the call: the argument's index and the guard.
    moved: Vec<(u32, GuardId)>,
}

#[derive(Clone, Debug)]
struct Pending {
    place: Place,
    method: String,
    mode: Mode,
    guard: GuardId,
    span: Span,
}

#[derive(Clone, Debug)]
struct Binding {
    name: String,
    guards: Vec<GuardId>,
    alias: Option<Place>,
    ty: Option<TypeRef>,
    tag: u32,
    closure: Option<Box<syn::ExprClosure>>,
}

#[derive(Default)]
struct Scope {
    bindings: Vec<Binding>,
}

struct LoopCx {
    label: Option<String>,
    head: NodeId,
    breaks: Vec<NodeId>,
    scope_depth: usize,
    temp_depth: usize,
    frame: usize,
}

struct Frame {
    exits: Vec<NodeId>,
    scope_depth: usize,
    temp_depth: usize,
    is_fn: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ext {
    None,
    /// A `let` initializer (or a sub-expression that extends like one).
    Value,
    /// The place operand of an extending `&`.
    Place,
}

/// What a closure lowered as a function of its own takes from the function it is written in:
/// the module and impl it resolves names in, and the captures it has so far.
#[derive(Clone)]
struct Enclosing {
    module: String,
    self_ty: Option<TypeRef>,
    trait_name: Option<String>,
    in_trait: bool,
    has_self: bool,
    test_only: bool,
    captures: Vec<Capture>,
}

pub struct BodyLowerer<'a> {
    map: &'a SpanMap,
    edition: Edition,
    config: &'a Config,
    fn_path: String,
    /// The function is test code (`#[cfg(test)]` statements in it are kept).
    test_only: bool,
    params: Vec<(String, TypeRef)>,
    /// Guards received by value, by parameter index (see `Body::param_guards`).
    param_guards: Vec<(u8, GuardId)>,
    enclosing: Enclosing,
    nodes: Vec<Node>,
    cur: Option<NodeId>,
    guard_count: u32,
    scopes: Vec<Scope>,
    temps: Vec<Vec<GuardId>>,
    loops: Vec<LoopCx>,
    frames: Vec<Frame>,
    depth: u32,
    truncated: bool,
    opaque_macros: Vec<String>,
    extra: Vec<FnDef>,
    closure_count: u32,
    inline_depth: u32,
    /// Closures being inlined (by span start), innermost last.
    inlining: Vec<u32>,
    /// The span of the expression statement being lowered: a call there drops its result at
    /// once, so it gets no result slot.
    stmt_expr: Option<Span>,
    /// Scope that temporaries extended by the `let` being lowered live in.
    ext_scope: Option<usize>,
    /// Extension context of the call being lowered (arguments of `Some(..)` extend like it).
    ctor_ext: Ext,
    /// The expression being lowered is an argument of an IRQ registrar: a closure boxed there
    /// is an interrupt handler.
    registrar_arg: bool,
    /// The collection (or `Option`) whose elements the closure about to be inlined receives
    /// as its one parameter (`self.queues.iter().for_each(|q| ..)`).
    closure_elem: Option<Place>,
}

impl<'a> BodyLowerer<'a> {
    pub fn new(map: &'a SpanMap, edition: Edition, config: &'a Config, def: &FnDef) -> Self {
        BodyLowerer {
            map,
            edition,
            config,
            fn_path: def.path.clone(),
            test_only: def.test_only,
            params: def.params.clone(),
            param_guards: Vec::new(),
            enclosing: Enclosing {
                module: def.module.clone(),
                self_ty: def.self_ty.clone(),
                trait_name: def.trait_name.clone(),
                in_trait: def.in_trait,
                has_self: def.has_self,
                test_only: def.test_only,
                captures: def.captures.clone(),
            },
            nodes: Vec::new(),
            cur: None,
            guard_count: 0,
            scopes: Vec::new(),
            temps: Vec::new(),
            loops: Vec::new(),
            frames: Vec::new(),
            depth: 0,
            truncated: false,
            opaque_macros: Vec::new(),
            extra: Vec::new(),
            closure_count: 0,
            inline_depth: 0,
            inlining: Vec::new(),
            stmt_expr: None,
            ext_scope: None,
            ctor_ext: Ext::None,
            registrar_arg: false,
            closure_elem: None,
        }
    }

    /// Closures and async blocks that run elsewhere, lowered as functions of their own.
    pub fn take_extra_fns(&mut self, _module: &str, _self_ty: Option<&TypeRef>) -> Vec<FnDef> {
        std::mem::take(&mut self.extra)
    }

    pub fn lower_fn_body(&mut self, block: &syn::Block) -> Body {
        self.start();
        self.frames.push(Frame {
            exits: Vec::new(),
            scope_depth: 0,
            temp_depth: 0,
            is_fn: true,
        });
        self.scopes.push(Scope::default());
        self.temps.push(Vec::new());
        self.bind_guard_params();
        let v = self.block_inner(block, Ext::None);
        self.finish_fn(v, self.map.span(block.brace_token.span.close()))
    }

    /// A guard received by value (`mut tail: MutexGuard<'_, T>`) is a binding with a guard
    /// slot that holds nothing on entry (the caller's lock is the caller's business): a guard
    /// assigned to the parameter later moves into that slot, so a `drop(tail)` that runs again
    /// (a loop body) releases it, and the function's end drops it.
    fn bind_guard_params(&mut self) {
        let params = self.params.clone();
        for (i, (name, ty)) in params.into_iter().enumerate() {
            if !ty.last().is_some_and(|l| l.ends_with("Guard")) {
                continue;
            }
            let slot = self.new_guard();
            if let Ok(i) = u8::try_from(i) {
                self.param_guards.push((i, slot));
            }
            let alias = Place {
                root: Root::Param {
                    name: name.clone(),
                    ty: ty.clone(),
                },
                proj: Vec::new(),
                text: name.clone(),
            };
            self.bind(Binding {
                name,
                guards: vec![slot],
                alias: Some(alias),
                ty: Some(ty),
                tag: 0,
                closure: None,
            });
        }
    }

    fn lower_closure_as_fn(&mut self, body: &syn::Expr, end: Span) -> Body {
        self.start();
        self.frames.push(Frame {
            exits: Vec::new(),
            scope_depth: 0,
            temp_depth: 0,
            is_fn: true,
        });
        self.scopes.push(Scope::default());
        self.temps.push(Vec::new());
        let v = self.expr(body, Ext::None);
        self.finish_fn(v, end)
    }

    fn start(&mut self) {
        self.nodes.push(Node {
            op: Op::Nop,
            succs: Vec::new(),
        });
        self.cur = Some(0);
    }

    fn finish_fn(&mut self, tail: Val, end: Span) -> Body {
        // The tail value: a guard returned to the caller.
        if tail.fresh || !tail.guards.is_empty() {
            for g in tail.guards.clone() {
                self.emit(Op::ReturnGuard {
                    guard: g,
                    span: end,
                });
            }
        }
        let temps = self.temps.pop().unwrap_or_default();
        self.release_all(&temps, end);
        let scope = self.scopes.pop().unwrap_or_default();
        self.drop_scope(&scope, end);
        self.emit(Op::Exit { span: end });
        let frame = self.frames.pop();
        debug_assert!(frame.is_some());
        Body {
            nodes: std::mem::take(&mut self.nodes),
            guard_count: self.guard_count,
            truncated: self.truncated,
            opaque_macros: std::mem::take(&mut self.opaque_macros),
            param_guards: std::mem::take(&mut self.param_guards),
        }
    }

    // ---- graph building -------------------------------------------------------------------

    fn emit(&mut self, op: Op) -> Option<NodeId> {
        let cur = self.cur?;
        if self.nodes.len() >= MAX_NODES {
            self.truncated = true;
            self.cur = None;
            return None;
        }
        let id = self.nodes.len() as NodeId;
        self.nodes.push(Node {
            op,
            succs: Vec::new(),
        });
        self.nodes[cur as usize].succs.push(id);
        self.cur = Some(id);
        Some(id)
    }

    fn new_node(&mut self) -> Option<NodeId> {
        if self.nodes.len() >= MAX_NODES {
            self.truncated = true;
            return None;
        }
        let id = self.nodes.len() as NodeId;
        self.nodes.push(Node {
            op: Op::Nop,
            succs: Vec::new(),
        });
        Some(id)
    }

    fn link(&mut self, from: NodeId, to: NodeId) {
        if !self.nodes[from as usize].succs.contains(&to) {
            self.nodes[from as usize].succs.push(to);
        }
    }

    /// Continue from every live predecessor.
    fn join(&mut self, preds: &[Option<NodeId>]) {
        let live: Vec<NodeId> = preds.iter().flatten().copied().collect();
        match live.len() {
            0 => self.cur = None,
            1 => self.cur = Some(live[0]),
            _ => {
                let Some(j) = self.new_node() else {
                    self.cur = None;
                    return;
                };
                for p in live {
                    self.link(p, j);
                }
                self.cur = Some(j);
            }
        }
    }

    fn new_guard(&mut self) -> GuardId {
        self.guard_count += 1;
        self.guard_count - 1
    }

    fn span<T: Spanned + 'static>(&self, t: &T) -> Span {
        self.map.of(t)
    }

    // ---- scopes ---------------------------------------------------------------------------

    fn release_all(&mut self, guards: &[GuardId], span: Span) {
        for &g in guards.iter().rev() {
            self.emit(Op::Release {
                guard: g,
                span,
                explicit: false,
            });
        }
    }

    fn drop_scope(&mut self, scope: &Scope, span: Span) {
        for b in scope.bindings.iter().rev() {
            for &g in b.guards.iter().rev() {
                self.emit(Op::Release {
                    guard: g,
                    span,
                    explicit: false,
                });
            }
        }
    }

    /// Release everything above the given depths (for `return`, `break`, `continue`, `?`).
    fn unwind(&mut self, scope_depth: usize, temp_depth: usize, span: Span) {
        let temps: Vec<GuardId> = self.temps[temp_depth.min(self.temps.len())..]
            .iter()
            .rev()
            .flatten()
            .copied()
            .collect();
        for g in temps {
            self.emit(Op::Release {
                guard: g,
                span,
                explicit: false,
            });
        }
        let guards: Vec<GuardId> = self.scopes[scope_depth.min(self.scopes.len())..]
            .iter()
            .rev()
            .flat_map(|s| {
                s.bindings
                    .iter()
                    .rev()
                    .flat_map(|b| b.guards.iter().rev().copied())
            })
            .collect();
        for g in guards {
            self.emit(Op::Release {
                guard: g,
                span,
                explicit: false,
            });
        }
    }

    /// Leave the current frame (function or inlined closure) from here.
    fn exit_frame(&mut self, span: Span) {
        let Some(f) = self.frames.last() else { return };
        let (sd, td, is_fn) = (f.scope_depth, f.temp_depth, f.is_fn);
        self.unwind(sd, td, span);
        if is_fn {
            self.emit(Op::Exit { span });
        } else if let Some(c) = self.cur {
            if let Some(f) = self.frames.last_mut() {
                f.exits.push(c);
            }
        }
        self.cur = None;
    }

    /// Put fresh guards of a value where they belong when nobody takes ownership.
    fn settle(&mut self, v: &Val, ext: bool) {
        if !v.fresh || v.guards.is_empty() {
            return;
        }
        if ext {
            // Extended temporaries live as long as the `let`'s bindings, even when the `&`
            // sits in a nested block, `if` or `match` arm of the initializer.
            let at = self
                .ext_scope
                .filter(|&i| i < self.scopes.len())
                .unwrap_or(self.scopes.len().saturating_sub(1));
            if let Some(s) = self.scopes.get_mut(at) {
                s.bindings.push(Binding {
                    name: String::new(),
                    guards: v.guards.clone(),
                    alias: None,
                    ty: None,
                    tag: 0,
                    closure: None,
                });
                return;
            }
        }
        if let Some(t) = self.temps.last_mut() {
            t.extend(v.guards.iter().copied());
        }
    }

    fn lookup(&self, name: &str) -> Option<&Binding> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.bindings.iter().rev())
            .find(|b| b.name == name)
    }

    fn lookup_mut(&mut self, name: &str) -> Option<&mut Binding> {
        self.scopes
            .iter_mut()
            .rev()
            .flat_map(|s| s.bindings.iter_mut().rev())
            .find(|b| b.name == name)
    }

    fn bind(&mut self, b: Binding) {
        if let Some(s) = self.scopes.last_mut() {
            s.bindings.push(b);
        }
    }

    // ---- blocks and statements ------------------------------------------------------------

    fn block(&mut self, block: &syn::Block, ext: Ext) -> Val {
        self.scopes.push(Scope::default());
        let v = self.block_inner(block, ext);
        let scope = self.scopes.pop().unwrap_or_default();
        let end = self.map.span(block.brace_token.span.close());
        self.drop_scope(&scope, end);
        v
    }

    /// Statements and tail of a block whose scope is already pushed (and popped by the caller).
    fn block_inner(&mut self, block: &syn::Block, ext: Ext) -> Val {
        let n = block.stmts.len();
        // `#[cfg(P)]` predicates of the statements lowered so far: a statement under the
        // negation of one of them belongs to another configuration (`#[cfg(feature = "std")]
        // let g = m.lock().unwrap(); #[cfg(not(feature = "std"))] let g = m.lock();`), and no
        // build has both, so only the first alternative is lowered.
        let mut cfgs: Vec<String> = Vec::new();
        for (i, stmt) in block.stmts.iter().enumerate() {
            if self.cur.is_none() {
                break;
            }
            let preds = stmt_cfgs(stmt);
            if preds.iter().any(|p| cfgs.contains(&negate_cfg(p))) {
                continue;
            }
            // A `#[cfg(test)]` statement in a function that is not test code: the body is
            // analyzed as the library's build has it.
            if !self.test_only
                && preds
                    .iter()
                    .any(|p| p == "test" || p.starts_with("all (test ,"))
            {
                continue;
            }
            cfgs.extend(preds);
            let is_tail = i + 1 == n && matches!(stmt, syn::Stmt::Expr(_, None));
            if is_tail {
                let syn::Stmt::Expr(e, None) = stmt else {
                    unreachable_stmt()
                };
                if self.edition.is_2024() {
                    self.temps.push(Vec::new());
                    let v = self.expr(e, ext);
                    let t = self.temps.pop().unwrap_or_default();
                    self.release_all(&t, self.span(e));
                    return v;
                }
                return self.expr(e, ext);
            }
            self.stmt(stmt);
        }
        Val::default()
    }

    fn stmt(&mut self, stmt: &syn::Stmt) {
        match stmt {
            syn::Stmt::Local(local) => self.local(local),
            syn::Stmt::Item(_) => {}
            syn::Stmt::Expr(e, _) => {
                self.temps.push(Vec::new());
                self.stmt_expr = Some(self.span(e));
                let v = self.expr(e, Ext::None);
                self.stmt_expr = None;
                self.settle(&v, false);
                let t = self.temps.pop().unwrap_or_default();
                self.release_all(&t, self.span(e));
            }
            syn::Stmt::Macro(m) => {
                if self.stmt_macro(&m.mac) {
                    return;
                }
                self.temps.push(Vec::new());
                let v = self.mac(&m.mac);
                self.settle(&v, false);
                let t = self.temps.pop().unwrap_or_default();
                self.release_all(&t, self.span(&m.mac));
            }
        }
    }

    fn local(&mut self, local: &syn::Local) {
        let span = self.span(local);
        self.temps.push(Vec::new());
        let (pat, ty) = split_pat_type(&local.pat);
        let Some(init) = &local.init else {
            self.temps.pop();
            for name in pat_idents(pat) {
                let tag = self.span(pat).start;
                self.bind(Binding {
                    name,
                    guards: Vec::new(),
                    alias: None,
                    ty: ty.clone(),
                    tag,
                    closure: None,
                });
            }
            return;
        };
        if init.diverge.is_none() {
            if let (syn::Pat::Tuple(pt), syn::Expr::Tuple(et)) = (pat, strip_parens(&init.expr)) {
                if pt.elems.len() == et.elems.len()
                    && !pt.elems.iter().any(|p| matches!(p, syn::Pat::Rest(_)))
                {
                    // `let (a, _) = (x, y);`: each element goes to its own sub-pattern; a
                    // value matched by `_` is a temporary of the statement.
                    let saved = self.ext_scope.replace(self.scopes.len().saturating_sub(1));
                    let vals: Vec<Val> = et
                        .elems
                        .iter()
                        .map(|e| {
                            let v = self.expr(e, Ext::Value);
                            Val { pending: None, ..v }
                        })
                        .collect();
                    self.ext_scope = saved;
                    for (p, v) in pt.elems.iter().zip(vals) {
                        if matches!(p, syn::Pat::Wild(_)) {
                            self.settle(&v, false);
                        } else {
                            self.bind_pattern(p, None, v, span);
                        }
                    }
                    let t = self.temps.pop().unwrap_or_default();
                    self.release_all(&t, span);
                    return;
                }
            }
        }
        let saved = self.ext_scope.replace(self.scopes.len().saturating_sub(1));
        let mut v = self.expr(&init.expr, Ext::Value);
        self.ext_scope = saved;
        if let Some((_, diverge)) = &init.diverge {
            // let-else: the else branch runs when the pattern does not match, and diverges.
            let before = self.cur;
            let refutable_try = v.pending.is_some();
            let t = self.temps.pop().unwrap_or_default();
            self.temps.push(Vec::new());
            self.release_all(&t, self.span(&**diverge));
            let _ = self.expr(diverge, Ext::None);
            self.settle_stmt_temps(span);
            self.cur = before;
            self.temps.push(t);
            if refutable_try {
                v = self.take_pending(v);
            }
        } else if v.pending.is_some() {
            // `let r = m.try_lock();` keeps a Result that may hold the guard: the binding owns
            // it on the path where the try succeeded.
            let before = self.cur;
            v = self.take_pending(v);
            let after = self.cur;
            self.join(&[after, before]);
        }
        self.bind_pattern(pat, ty, v, span);
        // `let mut held = None;` may be given a guard later (`held = Some(m.lock())`): the
        // binding has its slot from the start, so a test of `held.is_none()` before that
        // assignment (a loop's next iteration) reads the same slot.
        if let (syn::Pat::Ident(pi), syn::Expr::Path(p)) = (pat, strip_parens(&init.expr)) {
            if p.path.is_ident("None") && pi.subpat.is_none() {
                let name = pi.ident.to_string();
                if self.lookup(&name).is_some_and(|b| b.guards.is_empty()) {
                    let slot = self.new_guard();
                    if let Some(b) = self.lookup_mut(&name) {
                        b.guards.push(slot);
                    }
                }
            }
        }
        let t = self.temps.pop().unwrap_or_default();
        self.release_all(&t, span);
    }

    fn settle_stmt_temps(&mut self, span: Span) {
        let t = self.temps.pop().unwrap_or_default();
        self.release_all(&t, span);
    }

    /// Bind a value to a pattern: an identifier takes ownership of the guards; `_` drops a
    /// fresh guard at once; other patterns keep it alive with the binding's scope.
    fn bind_pattern(&mut self, pat: &syn::Pat, ty: Option<TypeRef>, v: Val, span: Span) {
        let tag = self.span(pat).start;
        match pat {
            syn::Pat::Wild(_) => {
                if v.fresh {
                    self.release_all(&v.guards, span);
                }
            }
            syn::Pat::Ident(pi) if pi.subpat.is_none() => {
                let name = pi.ident.to_string();
                let guards = self.take_ownership(&v, span);
                let mut alias = v.place.clone().filter(|p| !matches!(p.root, Root::Opaque));
                // `let l = Type::new(..)`: a new value of `Type`, not an alias of the call.
                let mut ty = ty;
                if let Some(Place {
                    root: Root::Call(segs),
                    proj,
                    ..
                }) = &alias
                {
                    if let Some(t) = constructor_type(segs).filter(|_| proj.is_empty()) {
                        ty = ty.or(Some(t));
                        alias = None;
                    }
                }
                self.emit(Op::Assign { root: name.clone() });
                self.bind(Binding {
                    name,
                    guards,
                    alias,
                    ty,
                    tag,
                    closure: v.closure,
                });
            }
            _ => {
                let names = pat_idents(pat);
                let guards = self.take_ownership(&v, span);
                let mut first = true;
                for name in names {
                    self.emit(Op::Assign { root: name.clone() });
                    let g = if first { guards.clone() } else { Vec::new() };
                    first = false;
                    self.bind(Binding {
                        name,
                        guards: g,
                        alias: None,
                        ty: None,
                        tag,
                        closure: None,
                    });
                }
                if first && !guards.is_empty() {
                    // No binding at all (a literal pattern): the value is dropped at once.
                    self.release_all(&guards, span);
                }
            }
        }
    }

    /// Guards a new owner takes from a value: fresh guards directly, a binding's guards moved
    /// through a transfer (the old owner's drop then does nothing).
    fn take_ownership(&mut self, v: &Val, span: Span) -> Vec<GuardId> {
        if v.guards.is_empty() {
            return Vec::new();
        }
        if v.fresh {
            return v.guards.clone();
        }
        let mut out = Vec::new();
        for &g in &v.guards {
            let n = self.new_guard();
            self.emit(Op::Transfer {
                from: g,
                to: n,
                span,
            });
            out.push(n);
        }
        out
    }

    // ---- expressions ----------------------------------------------------------------------

    fn expr(&mut self, e: &syn::Expr, ext: Ext) -> Val {
        if self.cur.is_none() {
            return Val::default();
        }
        self.depth += 1;
        let v = if self.depth > MAX_DEPTH {
            self.truncated = true;
            Val::default()
        } else {
            self.expr_inner(e, ext)
        };
        self.depth -= 1;
        v
    }

    /// Lower an operand nobody takes ownership of.
    fn operand(&mut self, e: &syn::Expr) -> Val {
        let v = self.expr(e, Ext::None);
        self.settle(&v, false);
        Val {
            guards: if v.fresh { Vec::new() } else { v.guards },
            fresh: false,
            place: v.place,
            pending: None,
            closure: v.closure,
        }
    }

    fn expr_inner(&mut self, e: &syn::Expr, ext: Ext) -> Val {
        let sub_ext = if ext == Ext::Value {
            Ext::Value
        } else {
            Ext::None
        };
        match e {
            syn::Expr::Paren(p) => self.expr(&p.expr, ext),
            syn::Expr::Group(g) => self.expr(&g.expr, ext),
            syn::Expr::Path(p) => self.path_expr(p),
            syn::Expr::Lit(_) => Val::default(),
            syn::Expr::Reference(r) => {
                let inner_ext = if ext == Ext::Value || ext == Ext::Place {
                    Ext::Place
                } else {
                    Ext::None
                };
                let v = self.expr(&r.expr, inner_ext);
                self.settle(&v, inner_ext == Ext::Place);
                Val {
                    place: v.place,
                    ..Val::default()
                }
            }
            syn::Expr::RawAddr(r) => {
                let v = self.expr(&r.expr, Ext::None);
                self.settle(&v, false);
                Val {
                    place: v.place,
                    ..Val::default()
                }
            }
            syn::Expr::Unary(u) => {
                let place_ext = if ext == Ext::Place {
                    Ext::Place
                } else {
                    Ext::None
                };
                let v = self.expr(
                    &u.expr,
                    if matches!(u.op, syn::UnOp::Deref(_)) {
                        place_ext
                    } else {
                        Ext::None
                    },
                );
                self.settle(
                    &v,
                    place_ext == Ext::Place && matches!(u.op, syn::UnOp::Deref(_)),
                );
                match u.op {
                    syn::UnOp::Deref(_) => Val {
                        place: v.place,
                        ..Val::default()
                    },
                    _ => Val::default(),
                }
            }
            syn::Expr::Field(f) => {
                let place_ext = if ext == Ext::Place {
                    Ext::Place
                } else {
                    Ext::None
                };
                let v = self.expr(&f.base, place_ext);
                self.settle(&v, place_ext == Ext::Place);
                let name = member_name(&f.member);
                Val {
                    place: v.place.map(|p| project(p, Proj::Field(name))),
                    ..Val::default()
                }
            }
            syn::Expr::Index(i) => {
                let place_ext = if ext == Ext::Place {
                    Ext::Place
                } else {
                    Ext::None
                };
                let v = self.expr(&i.expr, place_ext);
                self.settle(&v, place_ext == Ext::Place);
                let _ = self.operand(&i.index);
                let idx = tokens(&i.index);
                Val {
                    place: v.place.map(|p| project(p, Proj::Index(idx))),
                    ..Val::default()
                }
            }
            syn::Expr::Cast(c) => {
                let v = self.expr(&c.expr, sub_ext);
                Val { pending: None, ..v }
            }
            syn::Expr::MethodCall(m) => self.method_call(m),
            syn::Expr::Call(c) => {
                self.ctor_ext = sub_ext;
                self.call(c)
            }
            syn::Expr::Macro(m) => self.mac(&m.mac),
            syn::Expr::Block(b) => {
                if b.label.is_some() {
                    return self.labeled_block(b, ext);
                }
                self.block(&b.block, sub_ext)
            }
            syn::Expr::Unsafe(u) => self.block(&u.block, sub_ext),
            syn::Expr::Const(c) => {
                let _ = c;
                Val::default()
            }
            syn::Expr::Assign(a) => {
                self.assign(&a.left, &a.right, self.span(e));
                Val::default()
            }
            syn::Expr::Binary(b) => self.binary(b),
            syn::Expr::If(i) => self.if_expr(i, sub_ext),
            syn::Expr::Match(m) => self.match_expr(m, sub_ext),
            syn::Expr::Loop(l) => {
                self.loop_expr(None, &l.body, l.label.as_ref(), self.span(&l.loop_token));
                Val::default()
            }
            syn::Expr::While(w) if spin_loop::is_true(&w.cond) => {
                // `while true` is a `loop`.
                self.loop_expr(None, &w.body, w.label.as_ref(), self.span(&w.while_token));
                Val::default()
            }
            syn::Expr::While(w) => {
                self.loop_expr(Some(&w.cond), &w.body, w.label.as_ref(), self.span(e));
                Val::default()
            }
            syn::Expr::ForLoop(f) => {
                self.for_loop(f);
                Val::default()
            }
            syn::Expr::Return(r) => {
                let span = self.span(e);
                if let Some(v) = &r.expr {
                    let val = self.expr(v, Ext::None);
                    if self.frames.last().is_some_and(|f| f.is_fn) {
                        let owned = self.take_ownership(&val, span);
                        for g in owned {
                            self.emit(Op::ReturnGuard { guard: g, span });
                        }
                    } else {
                        self.settle(&val, false);
                    }
                }
                self.exit_frame(span);
                Val::default()
            }
            syn::Expr::Break(b) => {
                let span = self.span(e);
                if let Some(v) = &b.expr {
                    let v = self.expr(v, Ext::None);
                    self.settle(&v, false);
                }
                self.break_to(b.label.as_ref(), span, false);
                Val::default()
            }
            syn::Expr::Continue(c) => {
                self.break_to(c.label.as_ref(), self.span(e), true);
                Val::default()
            }
            syn::Expr::Try(t) => {
                let v = self.expr(&t.expr, Ext::None);
                let span = self.span(e);
                let v = self.take_pending(v);
                // The error path leaves the function (or closure).
                let call = self.last_call();
                let before = self.cur;
                if let Some(call) = call {
                    self.emit(Op::CallOutcome { call, ok: false });
                }
                if v.fresh {
                    self.release_all(&v.guards, span);
                }
                self.exit_frame(span);
                self.cur = before;
                v
            }
            syn::Expr::Await(a) => {
                let v = self.expr(&a.base, Ext::None);
                self.emit(Op::Block {
                    kind: BlockKind::Await,
                    span: self.span(&a.await_token),
                });
                v
            }
            syn::Expr::Closure(c) => Val {
                closure: Some(Box::new(c.clone())),
                ..Val::default()
            },
            syn::Expr::Async(a) => {
                self.spawn_body_block(&a.block, "async");
                Val::default()
            }
            syn::Expr::Struct(s) => {
                let mut guards = Vec::new();
                let mut places = Vec::new();
                for f in &s.fields {
                    let v = self.expr(&f.expr, sub_ext);
                    if let Some(p) = v.place.as_ref().filter(|p| !matches!(p.root, Root::Opaque)) {
                        places.push(p.text.clone());
                    }
                    guards.extend(self.take_ownership(&v, self.span(&f.expr)));
                    // A closure stored in a field runs later, elsewhere.
                    if let Some(c) = &v.closure {
                        self.spawn_closure(c);
                    }
                }
                if !places.is_empty() {
                    self.emit(Op::HandOff {
                        ty: path_segs(&s.path),
                        places,
                        span: self.span(e),
                    });
                }
                if let Some(rest) = &s.rest {
                    let _ = self.operand(rest);
                }
                Val {
                    guards: guards.clone(),
                    fresh: !guards.is_empty(),
                    ..Val::default()
                }
            }
            syn::Expr::Tuple(t) => self.aggregate(t.elems.iter(), sub_ext),
            syn::Expr::Array(a) => self.aggregate(a.elems.iter(), sub_ext),
            syn::Expr::Repeat(r) => {
                let _ = self.operand(&r.expr);
                Val::default()
            }
            syn::Expr::Range(r) => {
                if let Some(s) = &r.start {
                    let _ = self.operand(s);
                }
                if let Some(s) = &r.end {
                    let _ = self.operand(s);
                }
                Val::default()
            }
            syn::Expr::Let(l) => {
                // A `let` outside an `if`/`while` condition (inside a let chain handled there).
                let v = self.expr(&l.expr, Ext::None);
                self.settle(&v, false);
                Val::default()
            }
            syn::Expr::TryBlock(t) => self.block(&t.block, sub_ext),
            syn::Expr::Yield(y) => {
                if let Some(v) = &y.expr {
                    let _ = self.operand(v);
                }
                Val::default()
            }
            _ => Val::default(),
        }
    }

    fn aggregate<'e>(&mut self, elems: impl Iterator<Item = &'e syn::Expr>, ext: Ext) -> Val {
        let mut guards = Vec::new();
        for el in elems {
            let v = self.expr(el, ext);
            guards.extend(self.take_ownership(&v, self.span(el)));
        }
        Val {
            guards: guards.clone(),
            fresh: !guards.is_empty(),
            ..Val::default()
        }
    }

    fn path_expr(&mut self, p: &syn::ExprPath) -> Val {
        let segs = expr_path_segs(p);
        if segs.len() == 1 {
            let name = &segs[0];
            if name == "self" {
                return Val {
                    place: Some(Place {
                        root: Root::SelfValue,
                        proj: Vec::new(),
                        text: "self".into(),
                    }),
                    ..Val::default()
                };
            }
            if let Some(b) = self.lookup(name) {
                let place = match &b.alias {
                    Some(a) => a.clone(),
                    None => Place {
                        root: Root::Local {
                            name: name.clone(),
                            ty: b.ty.clone(),
                            tag: b.tag,
                        },
                        proj: Vec::new(),
                        text: name.clone(),
                    },
                };
                return Val {
                    guards: b.guards.clone(),
                    fresh: false,
                    place: Some(place),
                    pending: None,
                    closure: b.closure.clone(),
                };
            }
            if let Some((_, ty)) = self.params.iter().find(|(n, _)| n == name) {
                return Val {
                    place: Some(Place {
                        root: Root::Param {
                            name: name.clone(),
                            ty: ty.clone(),
                        },
                        proj: Vec::new(),
                        text: name.clone(),
                    }),
                    ..Val::default()
                };
            }
        }
        Val {
            place: Some(Place {
                root: Root::Path(segs.clone()),
                proj: Vec::new(),
                text: segs.join("::"),
            }),
            ..Val::default()
        }
    }

    /// Emit a pending try-lock's acquisition: we are on its success path now.
    fn take_pending(&mut self, mut v: Val) -> Val {
        if let Some(p) = v.pending.take() {
            self.emit(Op::Acquire {
                place: Box::new(p.place),
                method: p.method,
                style: AcqStyle::Guard,
                mode: p.mode,
                is_try: true,
                guard: Some(p.guard),
                unwrapped: true,
                span: p.span,
            });
            v.guards = vec![p.guard];
            v.fresh = true;
        }
        v
    }

    fn method_call(&mut self, m: &syn::ExprMethodCall) -> Val {
        self.registrar_arg = false;
        let name = m.method.to_string();
        let span = self.span(m);
        let method_span = self.span(&m.method).to(span);
        let nargs = m.args.len();
        // `g.take()` on an `Option` holding a guard moves the guard out: the option's drop
        // then releases nothing, and the result is a new owner (a temporary or a binding).
        // Any other `take()` (a user method, a pool) stays a call.
        let binding_guards = match &*m.receiver {
            syn::Expr::Path(p) => p
                .path
                .get_ident()
                .and_then(|i| self.lookup(&i.to_string()))
                .is_some_and(|b| !b.guards.is_empty() && b.closure.is_none()),
            _ => false,
        };
        if name == "take" && nargs == 0 && binding_guards {
            let recv = self.expr(&m.receiver, Ext::None);
            let out = self.take_ownership(&recv, span);
            return Val {
                guards: out,
                fresh: true,
                ..Val::default()
            };
        }
        // Pass-through of guards (`.unwrap()`, poison recovery).
        if PASS_THROUGH.contains(&name.as_str()) || name == "ok" {
            let recv = self.expr(&m.receiver, Ext::None);
            // `.lock().unwrap()`: std's poisoning signature, evidence of a lock.
            if let Some(c) = self.cur {
                if let Op::Acquire {
                    guard: Some(g),
                    unwrapped,
                    ..
                } = &mut self.nodes[c as usize].op
                {
                    if recv.guards.contains(g) {
                        *unwrapped = true;
                    }
                }
            }
            if name == "ok" && (recv.pending.is_some() || !recv.guards.is_empty()) {
                // `Result` to `Option`: the guard (or the pending try) passes through.
                return Val {
                    closure: None,
                    ..recv
                };
            }
            if !recv.guards.is_empty() || recv.pending.is_some() {
                for a in &m.args {
                    let _ = self.operand(a);
                }
                let v = self.take_pending(recv);
                return Val { closure: None, ..v };
            }
            self.settle(&recv, false);
            for a in &m.args {
                let _ = self.operand(a);
            }
            // `x.as_ref().unwrap()` still names the place of `x`.
            return Val {
                place: recv.place,
                ..Val::default()
            };
        }
        // `m.lock(|data| ..)` (embassy-sync's blocking mutex, `with`-style locks): the lock
        // is held while the closure runs.
        if nargs == 1
            && matches!(name.as_str(), "lock" | "lock_mut" | "read" | "write")
            && matches!(&m.args[0], syn::Expr::Closure(_))
        {
            let recv = self.expr(&m.receiver, Ext::None);
            self.settle(&recv, false);
            let syn::Expr::Closure(c) = &m.args[0] else {
                unreachable_stmt()
            };
            if let Some(place) = recv.place.clone() {
                let g = self.new_guard();
                let mode = if name == "read" {
                    Mode::Read
                } else {
                    Mode::Exclusive
                };
                self.emit(Op::Acquire {
                    place: Box::new(place),
                    method: name.clone(),
                    style: AcqStyle::Guard,
                    mode,
                    is_try: false,
                    guard: Some(g),
                    unwrapped: false,
                    span: self.span(&m.method).to(span),
                });
                self.inline_closure(c, span);
                self.emit(Op::Release {
                    guard: g,
                    span,
                    explicit: false,
                });
                return Val::default();
            }
        }
        // `addr_of!(x).read()`, `(&raw const x).write(v)`: raw-pointer reads and writes, never a
        // lock (a lock behind a raw pointer is locked through `(*p).lock()`).
        let on_raw_pointer = match strip_parens(&m.receiver) {
            syn::Expr::RawAddr(_) => true,
            syn::Expr::Macro(mm) => mm
                .mac
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "addr_of" || s.ident == "addr_of_mut"),
            _ => false,
        };
        let is_guard_m = nargs == 0
            && !on_raw_pointer
            && (GUARD_METHODS.contains(&name.as_str())
                || RAW_ACQUIRE_METHODS.contains(&name.as_str())
                || self
                    .config
                    .lock_types
                    .iter()
                    .any(|t| t.acquire.contains(&name) || t.irq_acquire.contains(&name)));
        let is_try_m = nargs == 0
            && !on_raw_pointer
            && (TRY_METHODS.contains(&name.as_str())
                || self
                    .config
                    .lock_types
                    .iter()
                    .any(|t| t.try_acquire.contains(&name)));
        let is_unlock_m = nargs == 0 && UNLOCK_METHODS.contains(&name.as_str());
        if is_guard_m || is_try_m || is_unlock_m {
            let recv = self.expr(&m.receiver, Ext::None);
            self.settle(&recv, false);
            let place = recv
                .place
                .clone()
                .unwrap_or_else(|| Place::opaque(tokens(&m.receiver)));
            let mode = match name.as_str() {
                "read" | "try_read" | "read_arc" | "try_read_arc" | "blocking_read"
                | "lock_shared" | "try_lock_shared" => Mode::Read,
                "upgradable_read"
                | "try_upgradable_read"
                | "upgradeable_read"
                | "try_upgradeable_read"
                | "lock_upgradable" => Mode::Upgradable,
                _ => Mode::Exclusive,
            };
            if is_unlock_m {
                self.emit(Op::Unlock {
                    place: Box::new(place),
                    method: name,
                    span: method_span,
                });
                return Val::default();
            }
            let g = self.new_guard();
            if is_try_m {
                return Val {
                    pending: Some(Pending {
                        place,
                        method: name,
                        mode,
                        guard: g,
                        span: method_span,
                    }),
                    ..Val::default()
                };
            }
            let unwrapped = false;
            let data = project(place.clone(), Proj::Guard);
            self.emit(Op::Acquire {
                place: Box::new(place),
                method: name,
                style: if RAW_ACQUIRE_METHODS.contains(&m.method.to_string().as_str()) {
                    AcqStyle::Raw
                } else {
                    AcqStyle::Guard
                },
                mode,
                is_try: false,
                guard: Some(g),
                unwrapped,
                span: method_span,
            });
            return Val {
                guards: vec![g],
                fresh: true,
                place: Some(data),
                ..Val::default()
            };
        }
        // Condition variables release the guard while waiting and give it back.
        if matches!(
            name.as_str(),
            "wait"
                | "wait_while"
                | "wait_timeout"
                | "wait_timeout_while"
                | "wait_for"
                | "wait_until"
        ) && nargs >= 1
        {
            let _ = self.operand(&m.receiver);
            let arg = self.expr(&m.args[0], Ext::None);
            for a in m.args.iter().skip(1) {
                let _ = self.operand(a);
            }
            let gw = arg.guards.first().copied();
            self.emit(Op::Block {
                kind: BlockKind::CondWait(gw),
                span,
            });
            // The guard comes back: a fresh guard returned by `wait`, re-acquired.
            if arg.guards.is_empty() {
                self.settle(&arg, false);
                return Val::default();
            }
            if arg.fresh {
                return arg;
            }
            let owned = self.take_ownership(&arg, span);
            return Val {
                guards: owned,
                fresh: true,
                ..Val::default()
            };
        }
        let recv = self.expr(&m.receiver, Ext::None);
        if let Some(v) = self.guard_method(&name, &recv, m, span) {
            return v;
        }
        let recv_place = recv.place.clone();
        let recv_has_guard = !recv.guards.is_empty();
        // `self.recv()` is the type's own method, analyzed through its body, not a channel's.
        let on_self = matches!(&*m.receiver, syn::Expr::Path(p) if p.path.is_ident("self"));
        self.settle(&recv, false);
        let CallArgs {
            args,
            by_value,
            mut closures,
            moved,
        } = self.call_args(m.args.iter(), is_irq_registrar(&name));
        // Blocking methods.
        let block = match name.as_str() {
            "join" if nargs == 0 => Some(BlockKind::Join),
            "recv" | "recv_timeout" | "blocking_recv" if !recv_has_guard && !on_self => {
                Some(BlockKind::ChannelRecv(name.clone()))
            }
            "sleep" => Some(BlockKind::Sleep(name.clone())),
            "wait" if nargs == 0 => Some(BlockKind::Sleep(name.clone())),
            _ => None,
        };
        if let Some(kind) = block {
            self.emit(Op::Block { kind, span });
        }
        if matches!(name.as_str(), "fetch_add" | "fetch_sub")
            && m.args.first().is_some_and(|a| tokens(a) == "1")
        {
            if let Some(p) = &recv_place {
                let delta = if name == "fetch_add" { 1 } else { -1 };
                self.emit(Op::Count {
                    place: Box::new(p.clone()),
                    delta,
                    span,
                });
            }
        }
        let spawner = SPAWNERS.contains(&name.as_str());
        if is_irq_registrar(&name) {
            for cl in closures.drain(..) {
                self.spawn_closure_kind(&cl, "irq");
            }
        }
        let mut result = None;
        if !recv_has_guard || !TRANSPARENT.contains(&name.as_str()) {
            if self.stmt_expr != Some(span) {
                result = Some(self.new_guard());
            }
            self.emit(Op::Call {
                callee: Box::new(Callee::Method {
                    recv: recv_place.clone(),
                    name: name.clone(),
                }),
                span,
                args,
                by_value,
                result,
                moved: moved.clone(),
            });
        }
        if ELEM_COMBINATORS.contains(&name.as_str()) {
            self.closure_elem = recv_place
                .clone()
                .filter(|p| !matches!(p.root, Root::Opaque));
        }
        self.run_closures(closures, spawner, span);
        self.closure_elem = None;
        for (_, g) in moved {
            self.emit(Op::Release {
                guard: g,
                span,
                explicit: true,
            });
        }
        // The place of the result, for receivers of a following `.lock()`.
        let place = match recv_place {
            // `clone` keeps the type; the others keep the place unless the receiver's own
            // type declares the method (decided with the types, `Index::walk_place`).
            Some(p) if nargs == 0 && name == "clone" => Some(p),
            Some(p)
                if nargs == 0
                    && (TRANSPARENT.contains(&name.as_str())
                        || ITERATORS.contains(&name.as_str())) =>
            {
                Some(project(p, Proj::Via(name.clone())))
            }
            Some(p) if nargs == 0 && !matches!(p.root, Root::Opaque) => {
                Some(project(p, Proj::Method(name.clone())))
            }
            Some(p)
                if nargs == 1
                    && matches!(
                        name.as_str(),
                        "get"
                            | "get_mut"
                            | "get_unchecked"
                            | "get_unchecked_mut"
                            | "remove"
                            | "swap_remove"
                    ) =>
            {
                Some(project(p, Proj::Index(tokens(&m.args[0]))))
            }
            _ => None,
        };
        Val {
            place,
            guards: result.into_iter().collect(),
            fresh: result.is_some(),
            ..Val::default()
        }
    }

    /// Lower a call's arguments: their places, which move by value, the closures among them,
    /// and the guards the callee takes (a binding's guard passed by name, or a fresh guard:
    /// the callee drops it).
    fn call_args<'e>(
        &mut self,
        exprs: impl Iterator<Item = &'e syn::Expr>,
        registrar: bool,
    ) -> CallArgs {
        let mut out = CallArgs::default();
        for a in exprs {
            self.registrar_arg = registrar;
            let v = self.expr(a, Ext::None);
            self.registrar_arg = false;
            if let Some(c) = v.closure.clone() {
                out.closures.push(*c);
            }
            let by_name = matches!(a, syn::Expr::Path(_));
            if !v.guards.is_empty() && (v.fresh || by_name) {
                let at = out.args.len() as u32;
                out.moved.extend(v.guards.iter().map(|&g| (at, g)));
            } else {
                self.settle(&v, false);
            }
            out.by_value.push(by_name);
            out.args.push(v.place);
        }
        out
    }

    fn run_closures(&mut self, closures: Vec<syn::ExprClosure>, spawner: bool, span: Span) {
        let call_node = self.cur;
        for c in closures {
            if spawner {
                self.spawn_closure(&c);
            } else {
                self.inline_closure_at(&c, span, call_node);
            }
        }
    }

    /// A closure bound to a local and called here runs here.
    fn inline_closure(&mut self, c: &syn::ExprClosure, span: Span) {
        self.inline_closure_at(c, span, None);
    }

    /// A closure passed to a call runs during that call, under the locks held there (and
    /// under whatever the callee holds when it calls the closure: see `ClosureEnter`).
    fn inline_closure_at(&mut self, c: &syn::ExprClosure, span: Span, call: Option<NodeId>) {
        let key = self.span(c).start;
        if self.inlining.contains(&key) {
            // A closure reached again from its own body (through shadowed names): stop here.
            return;
        }
        if self.inline_depth > 8 {
            self.spawn_closure(c);
            return;
        }
        self.inline_depth += 1;
        self.inlining.push(key);
        if let Some(call) = call {
            self.emit(Op::ClosureEnter { call });
        }
        let saved_loops = std::mem::take(&mut self.loops);
        self.frames.push(Frame {
            exits: Vec::new(),
            scope_depth: self.scopes.len(),
            temp_depth: self.temps.len(),
            is_fn: false,
        });
        self.scopes.push(Scope::default());
        // An iterator's or an `Option`'s element, for a one-parameter closure of a combinator.
        let elem = if c.inputs.len() == 1 {
            self.closure_elem.take()
        } else {
            None
        };
        for input in &c.inputs {
            // Like the parameters of a closure lowered on its own: typed when annotated.
            let (pat, ty) = split_pat_type(input);
            let ty = ty.filter(|_| matches!(pat, syn::Pat::Ident(_)));
            let tag = self.span(input).start;
            for name in pat_idents(pat) {
                let alias = match (&elem, pat, &ty) {
                    (Some(p), syn::Pat::Ident(_), None) => {
                        // `v.first().map(|x| ..)`: the receiver is the element already.
                        let mut p = if names_element(p) {
                            p.clone()
                        } else {
                            project(p.clone(), Proj::Elem)
                        };
                        p.text = name.clone();
                        Some(p)
                    }
                    _ => None,
                };
                self.bind(Binding {
                    name,
                    guards: Vec::new(),
                    alias,
                    ty: ty.clone(),
                    tag,
                    closure: None,
                });
            }
        }
        self.temps.push(Vec::new());
        let v = self.expr(&c.body, Ext::None);
        self.settle(&v, false);
        let t = self.temps.pop().unwrap_or_default();
        self.release_all(&t, span);
        let scope = self.scopes.pop().unwrap_or_default();
        self.drop_scope(&scope, span);
        let frame = self.frames.pop().expect("frame pushed above");
        let mut preds: Vec<Option<NodeId>> = frame.exits.into_iter().map(Some).collect();
        preds.push(self.cur);
        self.join(&preds);
        if call.is_some() {
            self.emit(Op::ClosureExit);
        }
        self.loops = saved_loops;
        self.inline_depth -= 1;
        self.inlining.pop();
    }

    /// A closure that runs elsewhere becomes a function of its own, analyzed with no caller lock.
    fn spawn_closure(&mut self, c: &syn::ExprClosure) {
        self.spawn_closure_kind(c, "closure");
    }

    fn spawn_closure_kind(&mut self, c: &syn::ExprClosure, kind: &str) {
        let own = c
            .inputs
            .iter()
            .flat_map(|p| {
                let (pat, ty) = split_pat_type(p);
                pat_idents(pat)
                    .into_iter()
                    .map(move |n| (n, ty.clone().unwrap_or(TypeRef::Unknown)))
            })
            .collect();
        let end = self.span(&c.body);
        self.spawn_body(
            |bl| bl.lower_closure_as_fn(&c.body, end),
            kind,
            self.span(c),
            own,
            &c.body,
        );
    }

    fn spawn_body_block(&mut self, b: &syn::Block, kind: &str) {
        let end = self.map.span(b.brace_token.span.close());
        let expr = syn::Expr::Block(syn::ExprBlock {
            attrs: Vec::new(),
            label: None,
            block: b.clone(),
        });
        self.spawn_body(
            |bl| bl.lower_closure_as_fn(&expr, end),
            kind,
            end,
            Vec::new(),
            b,
        );
    }

    /// Lower a closure or async block that runs elsewhere as a function of its own. It sees
    /// what the enclosing function sees at this point (its module, `self`, the parameters and
    /// the bindings in scope with their types and aliases), minus the names its own parameters
    /// `own` hide, and none of the guards held here. `body` is the source it lowers: only the
    /// names it mentions are recorded as captures.
    fn spawn_body(
        &mut self,
        f: impl FnOnce(&mut BodyLowerer<'a>) -> Body,
        kind: &str,
        span: Span,
        own: Vec<(String, TypeRef)>,
        body: &dyn ToTokens,
    ) {
        self.closure_count += 1;
        let path = format!("{}::{{{kind}#{}}}", self.fn_path, self.closure_count);
        let hidden = |n: &str| own.iter().any(|(o, _)| o == n);
        // Names the body mentions, and those of closures in scope it may call and inline.
        let mut mentioned = BTreeSet::new();
        idents_of(body.to_token_stream(), &mut mentioned);
        for b in self.scopes.iter().flat_map(|s| s.bindings.iter()) {
            if let Some(c) = b.closure.as_ref().filter(|_| mentioned.contains(&b.name)) {
                idents_of(c.body.to_token_stream(), &mut mentioned);
            }
        }
        let owners: BTreeMap<(&str, Option<u32>), &str> = self
            .enclosing
            .captures
            .iter()
            .map(|c| ((c.name.as_str(), c.tag), c.owner.as_str()))
            .collect();
        let owner = |name: &str, tag: Option<u32>| {
            owners
                .get(&(name, tag))
                .map_or_else(|| self.fn_path.clone(), |o| (*o).to_string())
        };
        let mut captures: BTreeMap<(String, Option<u32>), String> = BTreeMap::new();
        let mut params = own.clone();
        for (n, t) in &self.params {
            if !hidden(n) && !params.iter().any(|(p, _)| p == n) {
                params.push((n.clone(), t.clone()));
                if mentioned.contains(n) {
                    captures.insert((n.clone(), None), owner(n, None));
                }
            }
        }
        // Captured bindings keep their types and aliases (a closure capturing `state` sees
        // `self.state`), and hold no guard.
        let mut captured = Scope::default();
        for b in self.scopes.iter().flat_map(|s| s.bindings.iter()) {
            if b.name.is_empty() || hidden(&b.name) {
                continue;
            }
            if mentioned.contains(&b.name) {
                captures.insert((b.name.clone(), Some(b.tag)), owner(&b.name, Some(b.tag)));
                // The root the binding aliases (`let a2 = Arc::clone(&a)` names `a`).
                match b.alias.as_ref().map(|a| &a.root) {
                    Some(Root::Local { name, tag, .. }) => {
                        captures.insert((name.clone(), Some(*tag)), owner(name, Some(*tag)));
                    }
                    Some(Root::Param { name, .. }) => {
                        captures.insert((name.clone(), None), owner(name, None));
                    }
                    _ => {}
                }
            }
            captured.bindings.push(Binding {
                guards: Vec::new(),
                ..b.clone()
            });
        }
        let captures = captures
            .into_iter()
            .map(|((name, tag), owner)| Capture { name, tag, owner })
            .collect();
        let mut def = FnDef {
            path: path.clone(),
            name: format!("{{{kind}#{}}}", self.closure_count),
            module: self.enclosing.module.clone(),
            self_ty: self.enclosing.self_ty.clone(),
            trait_name: self.enclosing.trait_name.clone(),
            in_trait: self.enclosing.in_trait,
            has_self: self.enclosing.has_self,
            params: Vec::new(),
            ret: None,
            is_async: kind == "async",
            attrs: Vec::new(),
            span,
            name_span: span,
            body: None,
            test_only: self.enclosing.test_only,
            accessor_of: None,
            generics: Vec::new(),
            captures,
        };
        let mut sub = BodyLowerer::new(self.map, self.edition, self.config, &def);
        sub.params = params;
        // Nesting carries over, so closures that mention each other cannot recurse forever.
        sub.inline_depth = self.inline_depth;
        sub.depth = self.depth;
        sub.inlining = self.inlining.clone();
        sub.scopes.push(captured);
        let body = f(&mut sub);
        def.body = Some(body);
        self.extra.push(def);
        self.extra.append(&mut sub.extra);
    }

    fn call(&mut self, c: &syn::ExprCall) -> Val {
        let ctor_ext = std::mem::replace(&mut self.ctor_ext, Ext::None);
        let registrar_arg = std::mem::replace(&mut self.registrar_arg, false);
        let span = self.span(c);
        if let syn::Expr::Closure(cl) = strip_parens(&c.func) {
            // `(|| ..)()`: the closure runs here.
            for a in &c.args {
                let _ = self.operand(a);
            }
            self.inline_closure(cl, span);
            return Val::default();
        }
        let syn::Expr::Path(fp) = &*c.func else {
            // Calling a value: a closure in a local (`f()`), or an expression.
            let _ = self.operand(&c.func);
            for a in &c.args {
                let _ = self.operand(a);
            }
            self.emit(Op::Call {
                callee: Box::new(Callee::Value(tokens(&c.func))),
                span,
                args: Vec::new(),
                by_value: Vec::new(),
                result: None,
                moved: Vec::new(),
            });
            return Val::default();
        };
        let segs = expr_path_segs(fp);
        let last = segs.last().cloned().unwrap_or_default();
        let two = |a: &str, b: &str| segs.len() >= 2 && segs[segs.len() - 2] == a && last == b;
        if let Some(v) = self.guard_fn_call(&segs, c, span) {
            return v;
        }
        // A closure bound to a local, called here.
        if segs.len() == 1 {
            if let Some(b) = self.lookup(&last) {
                if let Some(cl) = b.closure.clone() {
                    for a in &c.args {
                        let _ = self.operand(a);
                    }
                    self.inline_closure(&cl, span);
                    return Val::default();
                }
            }
            if self.params.iter().any(|(n, t)| {
                n == &last
                    && matches!(
                        t,
                        TypeRef::Trait(_) | TypeRef::Path { .. } | TypeRef::Ref { .. }
                    )
            }) && self.lookup(&last).is_none()
                && last.chars().next().is_some_and(|ch| ch.is_lowercase())
            {
                for a in &c.args {
                    let _ = self.operand(a);
                }
                self.emit(Op::Call {
                    callee: Box::new(Callee::Value(last.clone())),
                    span,
                    args: Vec::new(),
                    by_value: Vec::new(),
                    result: None,
                    moved: Vec::new(),
                });
                return Val::default();
            }
        }
        // drop / forget / leak.
        let is_drop = last == "drop" && (segs.len() == 1 || two("mem", "drop"));
        let leak_how = if (last == "forget" && (segs.len() == 1 || two("mem", "forget")))
            || two("ManuallyDrop", "new")
            || two("Box", "leak")
            || two("MutexGuard", "leak")
            || two("RwLockWriteGuard", "leak")
            || two("RwLockReadGuard", "leak")
            || two("SpinLockGuard", "leak")
            || (last == "leak" && segs.len() >= 2 && segs[segs.len() - 2].ends_with("Guard"))
        {
            Some(segs.join("::"))
        } else {
            None
        };
        if two("ManuallyDrop", "drop") && c.args.len() == 1 {
            // `ManuallyDrop::drop(&mut md)` releases the guard `ManuallyDrop::new` leaked.
            let mut arg = strip_parens(&c.args[0]);
            while let syn::Expr::Reference(r) = arg {
                arg = strip_parens(&r.expr);
            }
            let v = self.expr(arg, Ext::None);
            for &g in &v.guards {
                if let Some(place) = self.guard_place(g) {
                    self.emit(Op::Unlock {
                        place: Box::new(place),
                        method: "ManuallyDrop::drop".into(),
                        span,
                    });
                }
            }
            return Val::default();
        }
        if (is_drop || leak_how.is_some()) && c.args.len() == 1 {
            let mut v = self.expr(&c.args[0], Ext::None);
            // `drop(w.g)`: moving the only guard out of a local aggregate.
            if v.guards.is_empty() {
                if let syn::Expr::Field(f) = strip_parens(&c.args[0]) {
                    if let syn::Expr::Path(p) = strip_parens(&f.base) {
                        if let Some(b) =
                            p.path.get_ident().and_then(|i| self.lookup(&i.to_string()))
                        {
                            if b.guards.len() == 1 {
                                v.guards = b.guards.clone();
                            }
                        }
                    }
                }
            }
            if let Some(how) = leak_how {
                for &g in &v.guards {
                    self.emit(Op::Leak {
                        guard: g,
                        span,
                        how: how.clone(),
                    });
                }
                // A leaked value keeps its guards: nothing releases them any more. A
                // `ManuallyDrop` still names them, for a later `ManuallyDrop::drop`.
                if two("ManuallyDrop", "new") {
                    return Val {
                        guards: v.guards,
                        fresh: v.fresh,
                        ..Val::default()
                    };
                }
                return Val::default();
            }
            for &g in &v.guards {
                self.emit(Op::Release {
                    guard: g,
                    span,
                    explicit: true,
                });
            }
            return Val::default();
        }
        // Guard-returning constructors that keep guards (`Some(g)`, `Box::new(g)`).
        if matches!(last.as_str(), "Some" | "Ok" | "Err")
            || two("Box", "new")
            || two("ManuallyDrop", "into_inner")
        {
            let mut guards = Vec::new();
            let mut place = None;
            let mut closure = None;
            for a in &c.args {
                let v = self.expr(a, ctor_ext);
                guards.extend(self.take_ownership(&v, span));
                place = v.place;
                if two("Box", "new") {
                    // A boxed closure is a callback kept for later: it runs elsewhere (as an
                    // interrupt handler when boxed for an IRQ registrar).
                    if let Some(c) = &v.closure {
                        let kind = if registrar_arg { "irq" } else { "closure" };
                        self.spawn_closure_kind(c, kind);
                    }
                } else {
                    // `Some(move || ..)` is still that closure.
                    closure = v.closure.or(closure);
                }
            }
            if two("Box", "new") {
                self.emit(Op::Block {
                    kind: BlockKind::Alloc(segs.join("::")),
                    span,
                });
            }
            return Val {
                guards: guards.clone(),
                fresh: !guards.is_empty(),
                place,
                closure,
                ..Val::default()
            };
        }
        // Same-place wrappers.
        if (two("Arc", "clone")
            || two("Rc", "clone")
            || two("Clone", "clone")
            || two("Pin", "new")
            || two("NonNull", "from"))
            && c.args.len() == 1
        {
            let v = self.operand(&c.args[0]);
            return Val {
                place: v.place,
                ..Val::default()
            };
        }
        // Explicit acquire / release function pairs.
        let pair_acq = ACQUIRE_FNS.iter().any(|(n, _, _)| *n == last)
            || self.config.lock_pairs.iter().any(|p| p.acquire == last);
        let pair_rel = RELEASE_FNS.contains(&last.as_str())
            || self.config.lock_pairs.iter().any(|p| p.release == last);
        if (pair_acq || pair_rel) && !c.args.is_empty() {
            let first = self.operand(&c.args[0]);
            for a in c.args.iter().skip(1) {
                let _ = self.operand(a);
            }
            let place = first
                .place
                .unwrap_or_else(|| Place::opaque(tokens(&c.args[0])));
            if pair_acq {
                self.emit(Op::Acquire {
                    place: Box::new(place),
                    method: last,
                    style: AcqStyle::Raw,
                    mode: Mode::Exclusive,
                    is_try: false,
                    guard: None,
                    unwrapped: false,
                    span,
                });
            } else {
                self.emit(Op::Unlock {
                    place: Box::new(place),
                    method: last,
                    span,
                });
            }
            return Val::default();
        }
        // Interrupt masking regions: `critical_section::with(|cs| ..)`, `without_interrupts(|| ..)`.
        let irq_region = (two("critical_section", "with")
            || last == "without_interrupts"
            || last == "interrupt_free"
            || last == "free")
            && c.args.len() == 1;
        let CallArgs {
            args,
            by_value,
            mut closures,
            moved,
        } = self.call_args(c.args.iter(), is_irq_registrar(&last));
        if SLEEP_FNS.contains(&last.as_str())
            || self
                .config
                .blocking_functions
                .iter()
                .any(|b| b == &last || *b == segs.join("::"))
        {
            self.emit(Op::Block {
                kind: BlockKind::Sleep(segs.join("::")),
                span,
            });
        }
        if let Some(pair) = self
            .config
            .resource_pairs
            .iter()
            .find(|p| p.take == last || p.give == last)
        {
            let delta = if pair.take == last { -1 } else { 1 };
            let place = Place::opaque(format!("{}/{}", pair.take, pair.give));
            self.emit(Op::Count {
                place: Box::new(place),
                delta,
                span,
            });
        }
        let gfp_kernel = c.args.iter().any(|a| tokens(a).contains("GFP_KERNEL"));
        if gfp_kernel {
            self.emit(Op::Block {
                kind: BlockKind::Alloc(format!("{}(GFP_KERNEL)", segs.join("::"))),
                span,
            });
        } else if two("Box", "new")
            || two("Vec", "with_capacity")
            || two("String", "with_capacity")
            || two("Arc", "new")
        {
            self.emit(Op::Block {
                kind: BlockKind::Alloc(segs.join("::")),
                span,
            });
        }
        let result = if self.stmt_expr == Some(span) {
            None
        } else {
            Some(self.new_guard())
        };
        self.emit(Op::Call {
            callee: Box::new(Callee::Path(segs.clone())),
            span,
            args,
            by_value,
            result,
            moved: moved.clone(),
        });
        let irq_registrar = is_irq_registrar(&last);
        if irq_registrar {
            for cl in closures.drain(..) {
                self.spawn_closure_kind(&cl, "irq");
            }
        }
        let spawner = SPAWNERS.iter().any(|s| *s == last)
            || segs.iter().any(|s| s == "thread" && last == "spawn")
            || two("Arc", "new")
            || two("Rc", "new");
        if irq_region {
            self.emit(Op::IrqOff { span });
            self.run_closures(closures, false, span);
            self.emit(Op::IrqOn);
        } else {
            self.run_closures(closures, spawner, span);
        }
        for (_, g) in moved {
            self.emit(Op::Release {
                guard: g,
                span,
                explicit: true,
            });
        }
        Val {
            place: Some(Place {
                root: Root::Call(segs.clone()),
                proj: Vec::new(),
                text: format!("{}()", segs.join("::")),
            }),
            guards: result.into_iter().collect(),
            fresh: result.is_some(),
            ..Val::default()
        }
    }

    /// A statement-position invocation of a crate-local `macro_rules!`: its statements are
    /// lowered in place, in the enclosing block's scope (as rustc splices them). `false` when
    /// it was not expanded.
    fn stmt_macro(&mut self, m: &syn::Macro) -> bool {
        use crate::macros::{expand, leave, Expansion, Lookup, Position};
        let name = m
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        match expand(m, Position::Stmts) {
            Lookup::Expanded(Expansion::Stmts(stmts)) => {
                for s in &stmts {
                    if self.cur.is_none() {
                        break;
                    }
                    self.stmt(s);
                }
                leave();
                true
            }
            Lookup::Expanded(_) => {
                leave();
                false
            }
            Lookup::Failed => {
                self.opaque_macros.push(name);
                // the arguments are still lowered, without counting the macro twice
                self.temps.push(Vec::new());
                let args = parse_macro_args(m);
                for a in &args {
                    let v = self.expr(a, Ext::None);
                    self.settle(&v, false);
                }
                let t = self.temps.pop().unwrap_or_default();
                self.release_all(&t, self.span(m));
                true
            }
            Lookup::Unknown => false,
        }
    }

    fn mac(&mut self, m: &syn::Macro) -> Val {
        let name = m
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        let span = self.span(m);
        let diverges = matches!(
            name.as_str(),
            "panic" | "unreachable" | "todo" | "unimplemented"
        );
        match crate::macros::expand(m, crate::macros::Position::Expr) {
            crate::macros::Lookup::Expanded(crate::macros::Expansion::Expr(e)) => {
                let v = self.expr(&e, Ext::None);
                crate::macros::leave();
                return v;
            }
            crate::macros::Lookup::Expanded(_) => crate::macros::leave(),
            crate::macros::Lookup::Failed => self.opaque_macros.push(name.clone()),
            crate::macros::Lookup::Unknown if !is_std_macro(&name) => {
                self.opaque_macros.push(name.clone())
            }
            crate::macros::Lookup::Unknown => {}
        }
        let args = parse_macro_args(m);
        let mut last_place = None;
        for a in args.iter() {
            let v = self.expr(a, Ext::None);
            self.settle(&v, false);
            last_place = v.place;
        }
        if name == "vec" {
            self.emit(Op::Block {
                kind: BlockKind::Alloc("vec!".into()),
                span,
            });
        }
        if diverges {
            self.cur = None;
        }
        if matches!(name.as_str(), "addr_of" | "addr_of_mut") {
            return Val {
                place: last_place,
                ..Val::default()
            };
        }
        Val::default()
    }

    fn assign(&mut self, left: &syn::Expr, right: &syn::Expr, span: Span) {
        let v = self.expr(right, Ext::None);
        let target = self.operand_place_only(left);
        let text = target
            .as_ref()
            .map(|p| p.text.clone())
            .unwrap_or_else(|| tokens(left));
        // Assigning a guard to a local replaces (drops) the old one.
        if let syn::Expr::Path(p) = left {
            if let Some(name) = p.path.get_ident().map(|i| i.to_string()) {
                let old = self
                    .lookup(&name)
                    .map(|b| b.guards.clone())
                    .unwrap_or_default();
                let owned = self.take_ownership(&v, span);
                if self.lookup(&name).is_some() {
                    for g in old.iter().rev() {
                        self.emit(Op::Release {
                            guard: *g,
                            span,
                            explicit: false,
                        });
                    }
                    // The binding keeps fixed guard slots: a new guard moves into them, so code
                    // that runs again (a loop body) releases whatever the binding holds now.
                    let mut slots = old.clone();
                    while slots.len() < owned.len() {
                        slots.push(self.new_guard());
                    }
                    for (o, s) in owned.iter().zip(&slots) {
                        self.emit(Op::Transfer {
                            from: *o,
                            to: *s,
                            span,
                        });
                    }
                    if let Some(b) = self.lookup_mut(&name) {
                        if !owned.is_empty() {
                            b.guards = slots;
                        }
                        if b.guards.is_empty() {
                            b.alias = v.place.clone().filter(|p| !matches!(p.root, Root::Opaque));
                        }
                    }
                }
                self.emit(Op::Assign { root: name });
                return;
            }
        }
        let outlives = target.as_ref().is_some_and(|p| {
            matches!(p.root, Root::SelfValue | Root::Param { .. } | Root::Path(_))
        });
        if outlives {
            let mut params = Vec::new();
            self.moved_params(right, &mut params);
            self.emit(Op::Store {
                params,
                place: text.clone(),
                span,
            });
            // A closure stored for later (`self.on_rx = Some(Box::new(move || ..))`) runs
            // elsewhere.
            if let Some(c) = &v.closure {
                self.spawn_closure(c);
            }
        }
        // A guard stored into something that outlives the function leaks from its view.
        if !v.guards.is_empty() {
            if outlives {
                for &g in &v.guards {
                    self.emit(Op::Leak {
                        guard: g,
                        span,
                        how: format!("stored in `{text}`"),
                    });
                }
            } else if v.fresh {
                // Stored in a local aggregate: it lives with that local; approximate by its scope.
                self.settle(&v, true);
            }
        }
        self.emit(Op::Assign { root: text });
    }

    /// Parameters an expression moves as a whole into its value: `pkt`, `Some(pkt)`,
    /// `Box::new(pkt)`, `Slot { pkt, .. }`, `(pkt, n)`.
    fn moved_params(&self, e: &syn::Expr, out: &mut Vec<String>) {
        match e {
            syn::Expr::Path(p) => {
                if let Some(id) = p.path.get_ident().map(|i| i.to_string()) {
                    if self.lookup(&id).is_none() && self.params.iter().any(|(n, _)| *n == id) {
                        out.push(id);
                    }
                }
            }
            syn::Expr::Call(c) => {
                let ctor = match &*c.func {
                    syn::Expr::Path(p) => p.path.segments.last().is_some_and(|s| {
                        let n = s.ident.to_string();
                        n.starts_with(|ch: char| ch.is_uppercase()) || n == "new" || n == "from"
                    }),
                    _ => false,
                };
                if ctor {
                    for a in &c.args {
                        self.moved_params(a, out);
                    }
                }
            }
            syn::Expr::Struct(s) => {
                for f in &s.fields {
                    self.moved_params(&f.expr, out);
                }
            }
            syn::Expr::Tuple(t) => {
                for a in &t.elems {
                    self.moved_params(a, out);
                }
            }
            syn::Expr::Paren(p) => self.moved_params(&p.expr, out),
            _ => {}
        }
    }

    fn operand_place_only(&mut self, e: &syn::Expr) -> Option<Place> {
        let v = self.expr(e, Ext::None);
        self.settle(&v, false);
        v.place
    }

    fn binary(&mut self, b: &syn::ExprBinary) -> Val {
        match b.op {
            syn::BinOp::And(_) | syn::BinOp::Or(_) => {
                let _ = self.operand(&b.left);
                let before = self.cur;
                let _ = self.operand(&b.right);
                let after = self.cur;
                self.join(&[before, after]);
            }
            syn::BinOp::AddAssign(_)
            | syn::BinOp::SubAssign(_)
            | syn::BinOp::MulAssign(_)
            | syn::BinOp::DivAssign(_)
            | syn::BinOp::RemAssign(_)
            | syn::BinOp::BitXorAssign(_)
            | syn::BinOp::BitAndAssign(_)
            | syn::BinOp::BitOrAssign(_)
            | syn::BinOp::ShlAssign(_)
            | syn::BinOp::ShrAssign(_) => {
                let _ = self.operand(&b.right);
                let t = self.operand(&b.left);
                let by_one = tokens(&b.right) == "1";
                if by_one && matches!(b.op, syn::BinOp::AddAssign(_) | syn::BinOp::SubAssign(_)) {
                    if let Some(p) = &t.place {
                        let delta = if matches!(b.op, syn::BinOp::AddAssign(_)) {
                            1
                        } else {
                            -1
                        };
                        self.emit(Op::Count {
                            place: Box::new(p.clone()),
                            delta,
                            span: self.span(b),
                        });
                    }
                }
                let root = t.place.map(|p| p.text).unwrap_or_else(|| tokens(&b.left));
                self.emit(Op::Assign { root });
            }
            _ => {
                let _ = self.operand(&b.left);
                let _ = self.operand(&b.right);
            }
        }
        Val::default()
    }

    // ---- control flow ---------------------------------------------------------------------

    /// Lower a condition; returns (true-path end, false-path end) with `Assume`s emitted.
    /// `scrut_temps_live` tells whether `if let` scrutinee temporaries stay alive in the
    /// branches (they are collected into the current temp scope) or not.
    fn cond(&mut self, c: &syn::Expr) -> (Option<NodeId>, Option<NodeId>, Vec<Binding>) {
        match c {
            syn::Expr::Paren(p) => self.cond(&p.expr),
            syn::Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_)) => {
                let (t1, f1, mut binds) = self.cond(&b.left);
                self.cur = t1;
                // Bindings of the left part are visible on the right.
                self.scopes.push(Scope {
                    bindings: binds.clone(),
                });
                let (t2, f2, b2) = self.cond(&b.right);
                self.scopes.pop();
                binds.extend(b2);
                self.join(&[f1, f2]);
                (t2, self.cur, binds)
            }
            syn::Expr::Let(l) => self.cond_let(l),
            _ => self.cond_plain(c),
        }
    }

    /// `let PAT = scrutinee` in a condition: the success path (bindings, a try-lock's
    /// acquisition) and the failure path. When the scrutinee is a call and the pattern names its
    /// outcome (`Ok`/`Some` vs `Err`/`None`), each path is marked with a `CallOutcome`.
    fn cond_let(&mut self, l: &syn::ExprLet) -> (Option<NodeId>, Option<NodeId>, Vec<Binding>) {
        let v = self.expr(&l.expr, Ext::None);
        let call = self.last_call();
        let outcome = call.zip(pattern_outcome(&l.pat));
        let before = self.cur;
        if let Some((call, ok)) = outcome {
            self.emit(Op::CallOutcome { call, ok });
        }
        // Success path: a try-lock acquires; the pattern may take the guard.
        let refutable = !matches!(&*l.pat, syn::Pat::Ident(_) | syn::Pat::Wild(_));
        let takes_guard = pattern_takes_value(&l.pat);
        let v_ok = self.matched_value(&v, &l.pat);
        let mut binds = Vec::new();
        let names = pat_idents(&l.pat);
        let mut owned = Vec::new();
        if takes_guard && !v_ok.guards.is_empty() {
            owned = self.take_ownership(&v_ok, self.span(&*l.expr));
        } else {
            self.settle(&v_ok, false);
        }
        // `if let Some(peer) = self.peers.get(k)`: the one binding is the element the
        // scrutinee names.
        let single = names.len() == 1 && some_or_ok_binding(&l.pat);
        for (i, name) in names.into_iter().enumerate() {
            // A new value each time the condition matches (a `while let` iteration).
            self.emit(Op::Assign { root: name.clone() });
            let alias = if single {
                let some = some_binding(&l.pat);
                v.place
                    .clone()
                    .filter(|p| !matches!(p.root, Root::Opaque))
                    .and_then(|p| {
                        if names_element(&p) {
                            Some(p)
                        } else if some {
                            // `if let Some(h) = &self.hook`: the value in the `Option`.
                            Some(project(p, Proj::Elem))
                        } else {
                            None
                        }
                    })
                    .map(|mut p| {
                        p.text = name.clone();
                        p
                    })
            } else {
                None
            };
            binds.push(Binding {
                name,
                guards: if i == 0 { owned.clone() } else { Vec::new() },
                alias,
                ty: None,
                tag: self.span(&*l.pat).start,
                closure: None,
            });
        }
        let t = self.cur;
        if !refutable {
            return (t, None, binds);
        }
        self.cur = before;
        if let Some((call, ok)) = outcome {
            self.emit(Op::CallOutcome { call, ok: !ok });
        }
        // Failure path: no pending acquisition; a fresh guard of the scrutinee (e.g. the
        // `Err` of a poisoned lock) is still a temporary of the scrutinee.
        if v.pending.is_none() {
            self.settle(&v, false);
        }
        (t, self.cur, binds)
    }

    fn cond_plain(&mut self, c: &syn::Expr) -> (Option<NodeId>, Option<NodeId>, Vec<Binding>) {
        let (key, neg) = cond_key(c);
        // `if raw.try_lock() { .. }`: the true path acquires.
        let v = self.expr(strip_not(c), Ext::None);
        self.settle(
            &Val {
                pending: None,
                ..v.clone()
            },
            false,
        );
        let before = self.cur;
        let (tv, fv) = if neg { (false, true) } else { (true, false) };
        // `opt.is_none()` / `opt.is_some()` on a local that keeps a guard in an `Option`: on
        // the path where it is `None`, it holds no lock.
        let empty = self.option_test(strip_not(c));
        if let Some(k) = &key {
            self.emit(Op::Assume {
                key: k.clone(),
                value: tv,
            });
        }
        if let Some((slots, none_when)) = &empty {
            if *none_when == tv {
                self.emit(Op::AssumeEmpty {
                    guards: slots.clone(),
                });
            }
        }
        if let Some(p) = &v.pending {
            if !neg {
                self.emit_raw_try(p);
            }
        }
        let t = self.cur;
        self.cur = before;
        if let Some(k) = &key {
            self.emit(Op::Assume {
                key: k.clone(),
                value: fv,
            });
        }
        if let Some((slots, none_when)) = empty {
            if none_when == fv {
                self.emit(Op::AssumeEmpty { guards: slots });
            }
        }
        if let Some(p) = &v.pending {
            if neg {
                self.emit_raw_try(p);
            }
        }
        (t, self.cur, Vec::new())
    }

    /// `x.is_none()` / `x.is_some()` on a local with guard slots: the slots, and the value of
    /// the test when `x` is `None`.
    fn option_test(&self, e: &syn::Expr) -> Option<(Vec<GuardId>, bool)> {
        let syn::Expr::MethodCall(m) = strip_parens(e) else {
            return None;
        };
        let none_when = match m.method.to_string().as_str() {
            "is_none" => true,
            "is_some" => false,
            _ => return None,
        };
        if !m.args.is_empty() {
            return None;
        }
        let syn::Expr::Path(p) = strip_parens(&m.receiver) else {
            return None;
        };
        let name = p.path.get_ident()?.to_string();
        let slots = self.lookup(&name)?.guards.clone();
        (!slots.is_empty()).then_some((slots, none_when))
    }

    /// The scrutinee's value on the path where `pat` matched: a pending try-lock acquires
    /// there when the pattern is its success (`Ok(..)`/`Some(..)`), and is dropped otherwise.
    fn matched_value(&mut self, v: &Val, pat: &syn::Pat) -> Val {
        if v.pending.is_some() && pattern_is_success(pat) {
            self.take_pending(v.clone())
        } else {
            Val {
                pending: None,
                ..v.clone()
            }
        }
    }

    /// The call node just emitted (looking back over the releases of arguments it consumed).
    fn last_call(&self) -> Option<NodeId> {
        let mut c = self.cur?;
        for _ in 0..8 {
            match self.nodes[c as usize].op {
                Op::Call { .. } => return Some(c),
                Op::Release { .. } | Op::Transfer { .. } => {
                    let pred = (0..c)
                        .rev()
                        .find(|&p| self.nodes[p as usize].succs == [c])?;
                    c = pred;
                }
                _ => return None,
            }
        }
        None
    }

    fn emit_raw_try(&mut self, p: &Pending) {
        self.emit(Op::Acquire {
            place: Box::new(p.place.clone()),
            method: p.method.clone(),
            style: AcqStyle::Raw,
            mode: p.mode,
            is_try: true,
            guard: None,
            unwrapped: false,
            span: p.span,
        });
    }

    fn if_expr(&mut self, i: &syn::ExprIf, ext: Ext) -> Val {
        let has_let = contains_let(&i.cond);
        let span = self.span(&i.cond);
        // Condition temporaries: a plain `if` drops them before either branch; an `if let`
        // keeps them through the branches (2021: to the end of the enclosing statement;
        // 2024: dropped before `else` and at the end of the `then` block).
        let scoped = !has_let || self.edition.is_2024();
        if scoped {
            self.temps.push(Vec::new());
        }
        let (t, f, binds) = self.cond(&i.cond);
        let cond_temps = if scoped {
            self.temps.pop().unwrap_or_default()
        } else {
            Vec::new()
        };
        let result = self.new_guard();
        // Then branch.
        self.cur = t;
        if !has_let {
            self.release_all(&cond_temps, span);
        }
        // The `then` block of a scoped `if let` still holds the scrutinee temporaries: a
        // `break`, `continue`, `return` or `?` in it drops them on the way out.
        let held = has_let && scoped;
        if held {
            self.temps.push(cond_temps.clone());
        }
        self.scopes.push(Scope { bindings: binds });
        let tv = self.block_inner(&i.then_branch, ext);
        let then_owned = self.yield_value(&tv, result, span);
        let sc = self.scopes.pop().unwrap_or_default();
        self.drop_scope(&sc, self.map.span(i.then_branch.brace_token.span.close()));
        if held {
            self.temps.pop();
        }
        if has_let {
            self.release_all(&cond_temps, span);
        }
        let then_end = self.cur;
        // Else branch.
        self.cur = f;
        self.release_all(&cond_temps, span);
        let mut else_owned = false;
        if let Some((_, e)) = &i.else_branch {
            let ev = self.expr(e, ext);
            else_owned = self.yield_value(&ev, result, span);
        }
        let else_end = self.cur;
        self.join(&[then_end, else_end]);
        if then_owned || else_owned {
            return Val {
                guards: vec![result],
                fresh: true,
                ..Val::default()
            };
        }
        Val::default()
    }

    /// A branch yields a value carrying guards: move them into the join's result guard.
    fn yield_value(&mut self, v: &Val, result: GuardId, span: Span) -> bool {
        if v.guards.is_empty() {
            return false;
        }
        for &g in &v.guards {
            self.emit(Op::Transfer {
                from: g,
                to: result,
                span,
            });
        }
        true
    }

    fn match_expr(&mut self, m: &syn::ExprMatch, ext: Ext) -> Val {
        let scrut = self.expr(&m.expr, Ext::None);
        let span = self.span(&*m.expr);
        // Scrutinee temporaries live through every arm, to the end of the enclosing statement.
        let call = self.last_call();
        let before = self.cur;
        let result = self.new_guard();
        let mut ends = Vec::new();
        let mut any_owned = false;
        let mut settled = false;
        for arm in &m.arms {
            self.cur = before;
            if let Some((call, ok)) = call.zip(pattern_outcome(&arm.pat)) {
                self.emit(Op::CallOutcome { call, ok });
            }
            let v = self.matched_value(&scrut, &arm.pat);
            let mut scope = Scope::default();
            let names = pat_idents(&arm.pat);
            // `Some(h) =>` on a place: the value in the `Option` (or the element `get`,
            // `first`, `next` returned).
            let elem = scrut
                .place
                .clone()
                .filter(|p| {
                    names.len() == 1 && some_binding(&arm.pat) && !matches!(p.root, Root::Opaque)
                })
                .map(|p| {
                    if names_element(&p) {
                        p
                    } else {
                        project(p, Proj::Elem)
                    }
                });
            if pattern_takes_value(&arm.pat) && !v.guards.is_empty() && !names.is_empty() {
                let owned = self.take_ownership(&v, span);
                for (i, n) in names.into_iter().enumerate() {
                    let alias = elem.clone().map(|mut p| {
                        p.text = n.clone();
                        p
                    });
                    scope.bindings.push(Binding {
                        name: n,
                        guards: if i == 0 { owned.clone() } else { Vec::new() },
                        alias,
                        ty: None,
                        tag: 0,
                        closure: None,
                    });
                }
            } else {
                if !settled && v.fresh && !v.guards.is_empty() {
                    // A guard scrutinee not taken by the pattern is a temporary of the statement.
                    settled = true;
                    if let Some(t) = self.temps.last_mut() {
                        t.extend(v.guards.iter().copied());
                    }
                }
                for n in names {
                    let alias = elem.clone().map(|mut p| {
                        p.text = n.clone();
                        p
                    });
                    scope.bindings.push(Binding {
                        name: n,
                        guards: Vec::new(),
                        alias,
                        ty: None,
                        tag: 0,
                        closure: None,
                    });
                }
            }
            self.scopes.push(scope);
            if let Some((_, g)) = &arm.guard {
                // A match guard is a temporary scope: its temporaries (a guard from
                // `self.state().doorbell().is_some()`) are dropped before the arm's body.
                self.temps.push(Vec::new());
                let _ = self.operand(g);
                let t = self.temps.pop().unwrap_or_default();
                self.release_all(&t, self.span(&**g));
            }
            let av = self.expr(&arm.body, ext);
            any_owned |= self.yield_value(&av, result, span);
            let sc = self.scopes.pop().unwrap_or_default();
            self.drop_scope(&sc, self.span(&arm.body));
            ends.push(self.cur);
        }
        if m.arms.is_empty() {
            ends.push(None);
        }
        self.join(&ends);
        if any_owned {
            return Val {
                guards: vec![result],
                fresh: true,
                ..Val::default()
            };
        }
        Val::default()
    }

    fn loop_expr(
        &mut self,
        cond: Option<&syn::Expr>,
        body: &syn::Block,
        label: Option<&syn::Label>,
        span: Span,
    ) {
        // A `loop` may turn out to have no exit: its entry is marked once the body is known.
        let spin = if cond.is_none() {
            self.emit(Op::Nop).map(|pre| self.spin_start(pre))
        } else {
            None
        };
        let Some(head) = self.new_node() else {
            self.cur = None;
            return;
        };
        if let Some(c) = self.cur {
            self.link(c, head);
        }
        self.cur = Some(head);
        self.loops.push(LoopCx {
            label: label.map(|l| l.name.ident.to_string()),
            head,
            breaks: Vec::new(),
            scope_depth: self.scopes.len(),
            temp_depth: self.temps.len(),
            frame: self.frames.len(),
        });
        let mut exit_path = None;
        let mut iter_temps = Vec::new();
        let mut binds = Vec::new();
        if let Some(c) = cond {
            self.temps.push(Vec::new());
            let (t, f, b) = self.cond(c);
            iter_temps = self.temps.pop().unwrap_or_default();
            binds = b;
            // The false path leaves the loop, dropping the condition's temporaries.
            self.cur = f;
            self.release_all(&iter_temps, span);
            exit_path = self.cur;
            self.cur = t;
            if !contains_let(c) {
                self.release_all(&iter_temps, span);
                iter_temps.clear();
            }
        }
        // `while let` scrutinee temporaries live through the body; they are released at the end
        // of each iteration (and by `break`/`continue` through the loop's temp scope).
        self.temps.push(iter_temps.clone());
        self.scopes.push(Scope { bindings: binds });
        let v = self.block_inner(body, Ext::None);
        self.settle(&v, false);
        let sc = self.scopes.pop().unwrap_or_default();
        let close = self.map.span(body.brace_token.span.close());
        self.drop_scope(&sc, close);
        let t = self.temps.pop().unwrap_or_default();
        self.release_all(&t, close);
        if let Some(c) = self.cur {
            self.link(c, head);
        }
        let lp = self.loops.pop().expect("loop pushed above");
        if let Some(spin) = spin {
            if lp.breaks.is_empty() {
                self.spin_finish(spin, head, span);
            }
        }
        let mut preds: Vec<Option<NodeId>> = lp.breaks.into_iter().map(Some).collect();
        preds.push(exit_path);
        if cond.is_none() && preds.iter().all(|p| p.is_none()) {
            // `loop` without `break`: nothing continues after it.
            self.cur = None;
            return;
        }
        self.join(&preds);
    }

    fn for_loop(&mut self, f: &syn::ExprForLoop) {
        let span = self.span(&*f.expr);
        // The iterator expression's temporaries live for the whole loop.
        let it = self.expr(&f.expr, Ext::None);
        self.settle(&it, false);
        let Some(head) = self.new_node() else {
            self.cur = None;
            return;
        };
        if let Some(c) = self.cur {
            self.link(c, head);
        }
        self.cur = Some(head);
        self.loops.push(LoopCx {
            label: f.label.as_ref().map(|l| l.name.ident.to_string()),
            head,
            breaks: Vec::new(),
            scope_depth: self.scopes.len(),
            temp_depth: self.temps.len(),
            frame: self.frames.len(),
        });
        let exit_path = self.cur;
        let mut scope = Scope::default();
        let names = pat_idents(&f.pat);
        for (i, n) in names.iter().enumerate() {
            self.emit(Op::Assign { root: n.clone() });
            let alias = if i == 0 && names.len() == 1 {
                it.place
                    .clone()
                    .filter(|p| !matches!(p.root, Root::Opaque))
                    .map(|p| {
                        let mut p = project(p, Proj::Elem);
                        p.text = n.clone();
                        p
                    })
            } else {
                None
            };
            scope.bindings.push(Binding {
                name: n.clone(),
                guards: Vec::new(),
                alias,
                ty: None,
                tag: self.span(&*f.pat).start,
                closure: None,
            });
        }
        self.temps.push(Vec::new());
        self.scopes.push(scope);
        let v = self.block_inner(&f.body, Ext::None);
        self.settle(&v, false);
        let sc = self.scopes.pop().unwrap_or_default();
        let close = self.map.span(f.body.brace_token.span.close());
        self.drop_scope(&sc, close);
        let t = self.temps.pop().unwrap_or_default();
        self.release_all(&t, close);
        if let Some(c) = self.cur {
            self.link(c, head);
        }
        let lp = self.loops.pop().expect("loop pushed above");
        let mut preds: Vec<Option<NodeId>> = lp.breaks.into_iter().map(Some).collect();
        preds.push(exit_path);
        self.join(&preds);
        let _ = span;
    }

    fn labeled_block(&mut self, b: &syn::ExprBlock, ext: Ext) -> Val {
        let Some(head) = self.new_node() else {
            self.cur = None;
            return Val::default();
        };
        if let Some(c) = self.cur {
            self.link(c, head);
        }
        self.cur = Some(head);
        self.loops.push(LoopCx {
            label: b.label.as_ref().map(|l| l.name.ident.to_string()),
            head,
            breaks: Vec::new(),
            scope_depth: self.scopes.len(),
            temp_depth: self.temps.len(),
            frame: self.frames.len(),
        });
        let v = self.block(&b.block, ext);
        self.settle(&v, false);
        let lp = self.loops.pop().expect("pushed above");
        let mut preds: Vec<Option<NodeId>> = lp.breaks.into_iter().map(Some).collect();
        preds.push(self.cur);
        self.join(&preds);
        Val::default()
    }

    fn break_to(&mut self, label: Option<&syn::Lifetime>, span: Span, is_continue: bool) {
        let name = label.map(|l| l.ident.to_string());
        let frame = self.frames.len();
        let idx = self
            .loops
            .iter()
            .rposition(|l| l.frame == frame && (name.is_none() || l.label == name));
        let Some(idx) = idx else {
            self.cur = None;
            return;
        };
        let (sd, td, head) = (
            self.loops[idx].scope_depth,
            self.loops[idx].temp_depth,
            self.loops[idx].head,
        );
        self.unwind(sd, td, span);
        if !is_continue {
            self.emit(Op::Leave { span });
        }
        if let Some(c) = self.cur {
            if is_continue {
                self.link(c, head);
            } else {
                self.loops[idx].breaks.push(c);
            }
        }
        self.cur = None;
    }
}

/// A call that registers its closure argument as an interrupt handler.
fn is_irq_registrar(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    (l.contains("irq") || l.contains("interrupt"))
        && (l.starts_with("request")
            || l.starts_with("register")
            || l.starts_with("set")
            || l.contains("handler"))
}

/// Every identifier in a token stream (`self` included), into `out`.
fn idents_of(ts: proc_macro2::TokenStream, out: &mut BTreeSet<String>) {
    for tt in ts {
        match tt {
            proc_macro2::TokenTree::Ident(i) => {
                out.insert(i.to_string());
            }
            proc_macro2::TokenTree::Group(g) => idents_of(g.stream(), out),
            _ => {}
        }
    }
}

/// The segments of a path expression. A qualified path without a trait (`<Device>::new`,
/// `<T>::f`) names the type's item, like `Device::new`; with a trait (`<T as Ops>::f`) it names
/// the trait's item, like `Ops::f`.
fn expr_path_segs(p: &syn::ExprPath) -> Vec<String> {
    let segs = path_segs(&p.path);
    let Some(q) = p.qself.as_ref().filter(|q| q.position == 0) else {
        return segs;
    };
    let mut ty = &*q.ty;
    while let syn::Type::Paren(t) = ty {
        ty = &t.elem;
    }
    match ty {
        syn::Type::Path(tp) if tp.qself.is_none() => {
            let mut out = path_segs(&tp.path);
            out.extend(segs);
            out
        }
        // `<[T]>::len`, `<&str>::from`: no type the analysis names.
        _ => segs,
    }
}

fn strip_parens(e: &syn::Expr) -> &syn::Expr {
    match e {
        syn::Expr::Paren(p) => strip_parens(&p.expr),
        syn::Expr::Group(g) => strip_parens(&g.expr),
        _ => e,
    }
}

fn unreachable_stmt() -> ! {
    unreachable!("checked by the caller")
}

/// `Some(x)` / `Ok(x)` (with `ref`/`mut` allowed on `x`).
/// A place that is one element of a collection already, inside an `Option` the way `get`,
/// `first` or an iterator's `next` return it.
fn names_element(p: &Place) -> bool {
    match p.proj.last() {
        Some(Proj::Index(_)) => true,
        Some(Proj::Method(m)) => crate::index::ELEM_METHODS.contains(&m.as_str()),
        _ => false,
    }
}

/// `Some(x)`, one binding.
fn some_binding(pat: &syn::Pat) -> bool {
    some_or_ok_binding(pat)
        && matches!(pat, syn::Pat::TupleStruct(ts) if ts.path.segments.last().is_some_and(|s| s.ident == "Some"))
}

fn some_or_ok_binding(pat: &syn::Pat) -> bool {
    let syn::Pat::TupleStruct(ts) = pat else {
        return false;
    };
    let is_variant = ts
        .path
        .segments
        .last()
        .is_some_and(|s| s.ident == "Some" || s.ident == "Ok");
    is_variant && ts.elems.len() == 1 && matches!(ts.elems.first(), Some(syn::Pat::Ident(_)))
}

/// The `#[cfg(..)]` predicates on a statement, as token text.
fn stmt_cfgs(stmt: &syn::Stmt) -> Vec<String> {
    let attrs: &[syn::Attribute] = match stmt {
        syn::Stmt::Local(l) => &l.attrs,
        syn::Stmt::Macro(m) => &m.attrs,
        syn::Stmt::Item(i) => crate::lower::item_attrs(i),
        syn::Stmt::Expr(e, _) => match e {
            syn::Expr::Assign(x) => &x.attrs,
            syn::Expr::Block(x) => &x.attrs,
            syn::Expr::Call(x) => &x.attrs,
            syn::Expr::ForLoop(x) => &x.attrs,
            syn::Expr::If(x) => &x.attrs,
            syn::Expr::Let(x) => &x.attrs,
            syn::Expr::Loop(x) => &x.attrs,
            syn::Expr::Macro(x) => &x.attrs,
            syn::Expr::Match(x) => &x.attrs,
            syn::Expr::MethodCall(x) => &x.attrs,
            syn::Expr::Return(x) => &x.attrs,
            syn::Expr::Unsafe(x) => &x.attrs,
            syn::Expr::While(x) => &x.attrs,
            _ => &[],
        },
    };
    attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .filter_map(|a| a.meta.require_list().ok())
        .map(|l| l.tokens.to_string())
        .collect()
}

/// The text of `not(p)` for a cfg predicate's text (`not(q)` gives `q`).
fn negate_cfg(p: &str) -> String {
    match p.strip_prefix("not (").and_then(|q| q.strip_suffix(')')) {
        Some(q) => q.to_string(),
        None => format!("not ({p})"),
    }
}

fn project(mut p: Place, proj: Proj) -> Place {
    match &proj {
        Proj::Field(f) => p.text = format!("{}.{f}", p.text),
        Proj::Index(i) => p.text = format!("{}[{i}]", p.text),
        Proj::Method(m) => p.text = format!("{}.{m}()", p.text),
        Proj::Elem => p.text = format!("{}[_]", p.text),
        Proj::Guard => p.text = format!("{}.*", p.text),
        Proj::Via(_) => {}
    }
    p.proj.push(proj);
    p
}

fn member_name(m: &syn::Member) -> String {
    match m {
        syn::Member::Named(i) => i.to_string(),
        syn::Member::Unnamed(i) => i.index.to_string(),
    }
}

/// Token text with spacing normalized (`self . a` → `self.a`).
pub fn tokens<T: ToTokens>(t: &T) -> String {
    let s = t.to_token_stream().to_string();
    let mut out = String::with_capacity(s.len());
    for (i, part) in s.split(' ').enumerate() {
        if i > 0 {
            let prev = out.chars().last().unwrap_or(' ');
            let next = part.chars().next().unwrap_or(' ');
            let glue = matches!(prev, '.' | '(' | '[' | '&' | '!' | ':' | '*')
                || matches!(next, '.' | ')' | ']' | '(' | '[' | ',' | ':' | '?');
            if !glue {
                out.push(' ');
            }
        }
        out.push_str(part);
    }
    out
}

fn split_pat_type(p: &syn::Pat) -> (&syn::Pat, Option<TypeRef>) {
    match p {
        syn::Pat::Type(pt) => (&pt.pat, Some(type_ref(&pt.ty))),
        _ => (p, None),
    }
}

/// Identifiers a pattern binds, in order.
pub fn pat_idents(p: &syn::Pat) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(p: &syn::Pat, out: &mut Vec<String>) {
        match p {
            syn::Pat::Ident(i) => {
                let s = i.ident.to_string();
                // An uppercase single identifier is most likely a unit variant or constant.
                if !(s.chars().next().is_some_and(|c| c.is_uppercase())
                    && i.by_ref.is_none()
                    && i.mutability.is_none())
                {
                    out.push(s);
                }
                if let Some((_, sp)) = &i.subpat {
                    walk(sp, out);
                }
            }
            syn::Pat::Or(o) => {
                if let Some(first) = o.cases.first() {
                    walk(first, out);
                }
            }
            syn::Pat::Paren(x) => walk(&x.pat, out),
            syn::Pat::Reference(r) => walk(&r.pat, out),
            syn::Pat::Slice(s) => s.elems.iter().for_each(|e| walk(e, out)),
            syn::Pat::Struct(s) => s.fields.iter().for_each(|f| walk(&f.pat, out)),
            syn::Pat::Tuple(t) => t.elems.iter().for_each(|e| walk(e, out)),
            syn::Pat::TupleStruct(t) => t.elems.iter().for_each(|e| walk(e, out)),
            syn::Pat::Type(t) => walk(&t.pat, out),
            _ => {}
        }
    }
    walk(p, &mut out);
    out
}

/// A pattern that binds the matched value (or the payload of `Ok`/`Some`/`Err`) by value.
fn pattern_takes_value(p: &syn::Pat) -> bool {
    match p {
        syn::Pat::Ident(i) => i.by_ref.is_none() && i.subpat.is_none(),
        syn::Pat::TupleStruct(t) => {
            let last = t
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            matches!(last.as_str(), "Ok" | "Some" | "Err")
                && t.elems.len() == 1
                && pattern_takes_value(&t.elems[0])
        }
        syn::Pat::Type(t) => pattern_takes_value(&t.pat),
        syn::Pat::Paren(x) => pattern_takes_value(&x.pat),
        _ => false,
    }
}

/// `Ok(..)`, `Some(..)`, a binding or `_` match the success of a try-lock.
fn pattern_is_success(p: &syn::Pat) -> bool {
    match p {
        syn::Pat::TupleStruct(t) => {
            let last = t
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            matches!(last.as_str(), "Ok" | "Some")
        }
        syn::Pat::Paren(x) => pattern_is_success(&x.pat),
        syn::Pat::Lit(l) => tokens(l) == "true",
        _ => false,
    }
}

fn contains_let(e: &syn::Expr) -> bool {
    match e {
        syn::Expr::Let(_) => true,
        syn::Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_)) => {
            contains_let(&b.left) || contains_let(&b.right)
        }
        syn::Expr::Paren(p) => contains_let(&p.expr),
        _ => false,
    }
}

fn strip_not(e: &syn::Expr) -> &syn::Expr {
    match e {
        syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => strip_not(&u.expr),
        syn::Expr::Paren(p) => strip_not(&p.expr),
        _ => e,
    }
}

/// A simple condition later branches can be correlated with: a path, field chain or
/// argument-free method call, possibly negated.
fn cond_key(e: &syn::Expr) -> (Option<CondKey>, bool) {
    let mut neg = false;
    let mut cur = e;
    loop {
        match cur {
            syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => {
                neg = !neg;
                cur = &u.expr;
            }
            syn::Expr::Paren(p) => cur = &p.expr,
            _ => break,
        }
    }
    fn simple(e: &syn::Expr, roots: &mut Vec<String>) -> bool {
        match e {
            syn::Expr::Path(p) => {
                roots.push(path_segs(&p.path).join("::"));
                true
            }
            syn::Expr::Field(f) => {
                let ok = simple(&f.base, roots);
                if ok {
                    if let Some(r) = roots.last_mut() {
                        r.push('.');
                        r.push_str(&member_name(&f.member));
                    }
                }
                ok
            }
            syn::Expr::MethodCall(m) => m.args.is_empty() && simple(&m.receiver, roots),
            syn::Expr::Binary(b) if matches!(b.op, syn::BinOp::Eq(_) | syn::BinOp::Ne(_)) => {
                simple(&b.left, roots)
                    && matches!(&*b.right, syn::Expr::Lit(_) | syn::Expr::Path(_))
            }
            syn::Expr::Paren(p) => simple(&p.expr, roots),
            _ => false,
        }
    }
    let mut roots = Vec::new();
    if !simple(cur, &mut roots) {
        return (None, neg);
    }
    // A method call may read anything: correlate only when it takes no arguments.
    (
        Some(CondKey {
            text: tokens(cur),
            roots,
        }),
        neg,
    )
}

/// Macros whose meaning the lowering knows (their arguments are lowered as expressions).
fn is_std_macro(name: &str) -> bool {
    matches!(
        name,
        "println"
            | "print"
            | "eprintln"
            | "eprint"
            | "format"
            | "write"
            | "writeln"
            | "format_args"
            | "assert"
            | "assert_eq"
            | "assert_ne"
            | "debug_assert"
            | "debug_assert_eq"
            | "debug_assert_ne"
            | "vec"
            | "panic"
            | "unreachable"
            | "todo"
            | "unimplemented"
            | "dbg"
            | "info"
            | "debug"
            | "warn"
            | "error"
            | "trace"
            | "log"
            | "pr_info"
            | "pr_debug"
            | "pr_warn"
            | "pr_err"
            | "dev_info"
            | "dev_warn"
            | "dev_err"
            | "dev_dbg"
            | "matches"
            | "addr_of"
            | "addr_of_mut"
            | "ready"
            | "cfg"
            | "concat"
            | "stringify"
            | "include_str"
            | "env"
            | "line"
            | "file"
            | "column"
            | "module_path"
            | "compile_error"
            | "option_env"
            | "include_bytes"
    )
}

/// Arguments of a macro that look like comma-separated expressions (format macros included).
fn parse_macro_args(m: &syn::Macro) -> Vec<syn::Expr> {
    use syn::parse::Parser;
    let name = m
        .path
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default();
    if name == "matches" {
        let parser = |input: syn::parse::ParseStream<'_>| -> syn::Result<syn::Expr> {
            let e: syn::Expr = input.parse()?;
            let _: proc_macro2::TokenStream = input.parse()?;
            Ok(e)
        };
        return parser
            .parse2(m.tokens.clone())
            .map(|e| vec![e])
            .unwrap_or_default();
    }
    if name == "vec" {
        // `vec![x; n]`
        let parser = |input: syn::parse::ParseStream<'_>| -> syn::Result<Vec<syn::Expr>> {
            let e: syn::Expr = input.parse()?;
            if input.peek(syn::Token![;]) {
                let _: syn::Token![;] = input.parse()?;
                let n: syn::Expr = input.parse()?;
                return Ok(vec![e, n]);
            }
            let mut v = vec![e];
            while input.peek(syn::Token![,]) {
                let _: syn::Token![,] = input.parse()?;
                if input.is_empty() {
                    break;
                }
                v.push(input.parse()?);
            }
            Ok(v)
        };
        if let Ok(v) = parser.parse2(m.tokens.clone()) {
            return v;
        }
    }
    let parser = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
    match parser.parse2(m.tokens.clone()) {
        Ok(p) => p
            .into_iter()
            .filter(|e| {
                !matches!(
                    e,
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(_),
                        ..
                    })
                )
            })
            .map(|e| match e {
                // `name = expr` in format args.
                syn::Expr::Assign(a) => *a.right,
                e => e,
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// `Type::new`, `Type::default`, `Type::from(..)`, `Type::with_capacity(..)`: the type built.
fn constructor_type(segs: &[String]) -> Option<TypeRef> {
    if segs.len() < 2 {
        return None;
    }
    let last = segs[segs.len() - 1].as_str();
    let ty = &segs[segs.len() - 2];
    let ctor = matches!(last, "new" | "default" | "from" | "const_new")
        || last.starts_with("new_")
        || last.starts_with("with_");
    if !ctor || !ty.chars().next().is_some_and(|c| c.is_uppercase()) {
        return None;
    }
    Some(TypeRef::Path {
        segs: segs[..segs.len() - 1].to_vec(),
        args: Vec::new(),
    })
}

/// What matching a call's result with this pattern says about the call: `Some(true)` for
/// `Ok(..)`/`Some(..)`, `Some(false)` for `Err(..)`/`None`.
fn pattern_outcome(p: &syn::Pat) -> Option<bool> {
    let name = match p {
        syn::Pat::TupleStruct(t) => t.path.segments.last()?.ident.to_string(),
        syn::Pat::Path(pp) => pp.path.segments.last()?.ident.to_string(),
        syn::Pat::Ident(i) if i.ident == "None" => "None".to_string(),
        syn::Pat::Paren(x) => return pattern_outcome(&x.pat),
        _ => return None,
    };
    match name.as_str() {
        "Ok" | "Some" => Some(true),
        "Err" | "None" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::ir::{Capture, FnDef};
    use crate::source::{FileId, SourceFile};

    fn fns(text: &str) -> Vec<FnDef> {
        crate::lower_file(&SourceFile::new(FileId(0), "lib.rs", text))
            .items
            .fns
    }

    fn cap(name: &str, tag: bool, owner: &str) -> (String, bool, String) {
        (name.to_string(), tag, owner.to_string())
    }

    fn caps(f: &FnDef) -> Vec<(String, bool, String)> {
        f.captures
            .iter()
            .map(|Capture { name, tag, owner }| (name.clone(), tag.is_some(), owner.clone()))
            .collect()
    }

    #[test]
    fn spawned_closures_see_their_captures() {
        let fs = fns("struct D;\n\
             impl D {\n\
                 fn run(&self, dev: u32, hidden: u32, unused: u32) {\n\
                     let q: u32 = dev;\n\
                     spawn(move |hidden: u8| {\n\
                         let dev = 1;\n\
                         self.go(q, hidden, dev);\n\
                         spawn(move || q + dev);\n\
                     });\n\
                 }\n\
             }\n");
        let outer = fs
            .iter()
            .find(|f| f.name == "{closure#1}")
            .expect("closure");
        assert_eq!(outer.path, "crate::D::run::{closure#1}");
        assert_eq!(outer.module, "crate");
        assert!(outer.self_ty.is_some() && outer.has_self);
        // `hidden` is the closure's own parameter, `unused` is not mentioned; the parameter
        // `dev` is recorded (`q` aliases it) though the body's `dev` is its own `let`.
        assert_eq!(
            caps(outer),
            vec![
                cap("dev", false, "crate::D::run"),
                cap("q", true, "crate::D::run")
            ]
        );
        let inner = fs
            .iter()
            .find(|f| f.path == "crate::D::run::{closure#1}::{closure#1}")
            .expect("nested closure");
        // `q` still belongs to `run`; `dev` is the outer closure's own local.
        assert_eq!(
            caps(inner),
            vec![
                cap("dev", false, "crate::D::run"),
                cap("dev", true, "crate::D::run::{closure#1}"),
                cap("q", true, "crate::D::run"),
            ]
        );
        assert_eq!(inner.owner_of("q", inner.captures[2].tag), "crate::D::run");
        assert_eq!(inner.owner_of("other", None), inner.path);
    }

    #[test]
    fn qualified_paths_without_a_trait_name_the_type() {
        let fs = fns("fn f() { <Dev>::probe(); <Dev as Ops>::probe(); }\n");
        let calls: Vec<String> = fs[0]
            .body
            .iter()
            .flat_map(|b| b.nodes.iter())
            .filter_map(|n| match &n.op {
                crate::ir::Op::Call { callee, .. } => match &**callee {
                    crate::ir::Callee::Path(segs) => Some(segs.join("::")),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        assert_eq!(calls, vec!["Dev::probe", "Ops::probe"]);
    }
}
