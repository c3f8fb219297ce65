//! Locks of objects a function builds and has not shared yet. In
//!
//! ```ignore
//! let t = Arc::new(Timer { inner: SpinLock::new(..) });
//! t.inner.lock().self_ref = Arc::downgrade(&t);
//! t
//! ```
//!
//! the lock is created by the `let` itself (its constructor is written there, wrapped at most in
//! `Arc`/`Rc`/`Box`/`Pin` and struct literals), and until `t` is moved, cloned, referenced,
//! captured, passed to a call or returned, no other thread or interrupt handler can reach it:
//! taking it cannot wait for anyone, and holding it cannot make anyone wait. The acquisitions
//! recorded here (`Body::unshared`) take part in no lock order, no read-read double lock and no
//! interrupt-context conflict; a second exclusive acquisition is still a self-deadlock.
//!
//! The check is on the syntax of one body, in the order Rust evaluates it: the right side of an
//! assignment runs before its place (a `Weak` of the object stored into the object itself does
//! not share it), a use inside a closure or async block counts where the closure is written, and
//! a use inside a loop that does not contain the `let` counts at every acquisition in that loop.
//! A name bound more than once in the body is not followed (shadowing is not resolved here).
//! Formatting macros read their plain arguments by reference; any other macro naming the
//! object shares it.

use std::collections::BTreeMap;

use syn::visit::{self, Visit};

use crate::ir::{Node, NodeId, Op, ParamHanded, Root, UnsharedIf};
use crate::lock_api;
use crate::parse::SpanMap;

/// Deepest expression nesting the walk follows; past it nothing is taken as unshared.
const MAX_WALK_DEPTH: u32 = 400;

/// Macros whose arguments are formatted through references (or asserted on): naming an
/// object there does not share it.
const FORMAT_MACROS: &[&str] = &[
    "print",
    "println",
    "eprint",
    "eprintln",
    "format",
    "format_args",
    "write",
    "writeln",
    "panic",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "unreachable",
    "todo",
    "unimplemented",
    "trace",
    "debug",
    "info",
    "warn",
    "error",
    "log",
];

/// Methods of the standard traits `Arc`/`Rc`/`Box` implement themselves: called on a smart
/// pointer, they are the pointer's, whatever the object's own methods of that name are.
const POINTER_METHODS: &[&str] = &[
    "clone",
    "clone_from",
    "to_owned",
    "to_string",
    "into",
    "try_into",
    "fmt",
    "eq",
    "ne",
    "cmp",
    "partial_cmp",
    "hash",
    "as_ref",
    "as_mut",
    "borrow",
    "borrow_mut",
    "deref",
    "deref_mut",
    "drop",
];

/// Wrappers whose one argument is the object itself, behind a pointer (places see through
/// them as through `Deref`).
const WRAPPERS: &[[&str; 2]] = &[
    ["Arc", "new"],
    ["Rc", "new"],
    ["Box", "new"],
    ["Arc", "pin"],
    ["Rc", "pin"],
    ["Box", "pin"],
    ["Pin", "new"],
];

/// A `let` binding whose initializer may build the object it names.
struct Candidate<'a> {
    /// The initializer; `None` for a parameter.
    init: Option<&'a syn::Expr>,
    /// Where the `let` statement starts and ends.
    let_start: u32,
    let_end: u32,
    /// The earliest point at which the object may be shared.
    horizon: u32,
    /// Loops (not containing the `let`) in which the object is shared.
    tainted: Vec<(u32, u32)>,
    /// Acquisitions on places rooted at the binding: method-name start, fields below it, and
    /// the latest point the guard may live to (the end of the outermost statement, or of the
    /// block of the `let` that binds the guard).
    uses: Vec<((u32, u32), Vec<String>, u32)>,
    /// Calls the object is handed to plainly (as the receiver, or as an argument `x`, `&x`,
    /// `&mut x`, `x.f`, `&x.f`), which share it only if the callee does: where the hand-over
    /// counts, the call's span and the slot (0: the receiver, k + 1: argument k).
    passes: Vec<(u32, Handed)>,
}

/// A call a candidate is handed to: the call's span, the slot, and whether the call is named
/// like an acquisition (a lock's method when the lowering made it an acquisition, no call).
type Handed = ((u32, u32), u8, bool);

/// What the walk of a body found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Found {
    /// Acquisitions (spans, sorted) on locks no one else can reach yet.
    pub(super) acqs: Vec<(u32, u32)>,
    /// Acquisitions on locks the body built and handed only to calls before their guards
    /// are released: unshared when none of those calls (span, slot) shares its argument.
    pub(super) after_calls: Vec<((u32, u32), Vec<Handed>)>,
    /// Per parameter (its index in the parameter list, `self` first when the function has
    /// one): whether the body may share it other than by handing it to calls, and the calls
    /// it is handed to.
    pub(super) params: Vec<(u8, bool, Vec<Handed>)>,
}

/// What a body's walk starts at: a function's block, or the body of a closure or async block
/// lowered as a function of its own.
#[derive(Clone, Copy)]
pub(super) enum BodyRoot<'a> {
    Block(&'a syn::Block),
    Expr(&'a syn::Expr),
}

impl<'a> BodyRoot<'a> {
    fn visit<V: Visit<'a>>(self, v: &mut V) {
        match self {
            BodyRoot::Block(b) => v.visit_block(b),
            BodyRoot::Expr(e) => v.visit_expr(e),
        }
    }
}

/// The acquisitions (method-call expressions) in a body on locks no one else can reach yet,
/// and what the body does with its parameters (`params`: the parameter names in order, `self`
/// first when there is one; empty for a closure's body).
pub(super) fn unshared_acquisitions(body: BodyRoot<'_>, map: &SpanMap, params: &[String]) -> Found {
    let mut names = Bindings::default();
    body.visit(&mut names);
    if names.overflow {
        return Found::default();
    }
    let mut lets = Lets {
        map,
        once: &names.count,
        found: BTreeMap::new(),
    };
    body.visit(&mut lets);
    // a parameter bound again in the body is not followed
    let mut param_of = BTreeMap::new();
    for (i, p) in params.iter().enumerate() {
        let ident = p == "self" || syn::parse_str::<syn::Ident>(p).is_ok();
        if let (true, Ok(i)) = (ident && !names.count.contains_key(p), u8::try_from(i)) {
            if !lets.found.contains_key(p) {
                param_of.insert(p.clone(), i);
                lets.found.insert(
                    p.clone(),
                    Candidate {
                        init: None,
                        let_start: 0,
                        let_end: 0,
                        horizon: u32::MAX,
                        tainted: Vec::new(),
                        uses: Vec::new(),
                        passes: Vec::new(),
                    },
                );
            }
        }
    }
    if lets.found.is_empty() {
        return Found::default();
    }
    let mut w = Walk {
        map,
        cands: lets.found,
        before: Vec::new(),
        loops: Vec::new(),
        blocks: Vec::new(),
        stmts: Vec::new(),
        let_bound: BTreeMap::new(),
        closure_depth: 0,
        depth: 0,
        overflow: false,
    };
    body.visit(&mut w);
    if w.overflow {
        return Found::default();
    }
    let mut out = Found::default();
    for (name, c) in &w.cands {
        let Some(init) = c.init else {
            let calls = c.passes.iter().map(|&(_, h)| h);
            let escapes = c.horizon != u32::MAX;
            out.params.push((param_of[name], escapes, calls.collect()));
            continue;
        };
        for (span, fields, held_to) in &c.uses {
            let at = &span.0;
            let in_tainted = c.tainted.iter().any(|&(s, e)| s <= *at && *at < e);
            let before_shared = *at > c.let_end && *at < c.horizon && *held_to <= c.horizon;
            if !before_shared || in_tainted || !builds_lock(init, fields) {
                continue;
            }
            // the calls it was handed to before the guard is released
            let calls: Vec<Handed> = (c.passes.iter())
                .filter(|(pos, _)| *pos > c.let_end && *pos < *held_to)
                .map(|&(_, h)| h)
                .collect();
            if calls.is_empty() {
                out.acqs.push(*span);
            } else {
                out.after_calls.push((*span, calls));
            }
        }
    }
    out.acqs.sort_unstable();
    out.after_calls.sort_unstable();
    out.params.sort_unstable();
    out
}

/// The facts `found` on a body's nodes: its unshared acquisitions (sorted), those unshared
/// when the calls they were handed to do not share them, and the parameters handed to calls.
/// A hand-over to a call that is no call node (a tuple struct's or variant's constructor, a
/// call the lowering does not emit) shares the object.
pub(super) fn to_nodes(
    nodes: &[Node],
    found: Found,
) -> (Vec<NodeId>, Vec<UnsharedIf>, Vec<ParamHanded>) {
    let mut acq_at: BTreeMap<(u32, u32), Vec<NodeId>> = BTreeMap::new();
    let mut call_at: BTreeMap<(u32, u32), Vec<NodeId>> = BTreeMap::new();
    for (i, n) in nodes.iter().enumerate() {
        match &n.op {
            Op::Acquire { span, place, .. } if matches!(place.root, Root::Local { .. }) => acq_at
                .entry((span.start, span.end))
                .or_default()
                .push(i as NodeId),
            Op::Call { span, .. } => call_at
                .entry((span.start, span.end))
                .or_default()
                .push(i as NodeId),
            _ => {}
        }
    }
    let calls_of = |calls: &[Handed]| -> Option<Vec<(NodeId, u8)>> {
        let mut out = Vec::new();
        for (span, slot, acquire_named) in calls {
            match call_at.get(span) {
                Some(ns) => out.extend(ns.iter().map(|&n| (n, *slot))),
                // an acquisition, not a call
                None if *acquire_named => {}
                None => return None,
            }
        }
        out.sort_unstable();
        out.dedup();
        Some(out)
    };
    let at = |span| acq_at.get(span).into_iter().flatten().copied();
    let mut unshared: Vec<NodeId> = found.acqs.iter().flat_map(at).collect();
    let mut unshared_if = Vec::new();
    for (span, calls) in &found.after_calls {
        match calls_of(calls) {
            Some(calls) if calls.is_empty() => unshared.extend(at(span)),
            Some(calls) => {
                for acq in at(span) {
                    unshared_if.push(UnsharedIf {
                        acq,
                        calls: calls.clone(),
                    });
                }
            }
            None => {}
        }
    }
    unshared.sort_unstable();
    unshared.dedup();
    unshared_if.sort_by_key(|u| u.acq);
    let params = (found.params.iter())
        .map(|(param, escapes, calls)| {
            let calls = calls_of(calls);
            ParamHanded {
                param: *param,
                escapes: *escapes || calls.is_none(),
                calls: calls.unwrap_or_default(),
            }
        })
        .collect();
    (unshared, unshared_if, params)
}

/// Whether the object at `fields` below the value `init` evaluates to is created by `init`.
fn builds_lock(init: &syn::Expr, fields: &[String]) -> bool {
    let init = strip(init);
    if let syn::Expr::Call(c) = init {
        if let (syn::Expr::Path(p), 1) = (strip(&c.func), c.args.len()) {
            let segs: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            if let [.., ty, f] = segs.as_slice() {
                if WRAPPERS.iter().any(|[w, m]| ty == w && f == m) {
                    return builds_lock(&c.args[0], fields);
                }
            }
        }
    }
    match fields.split_first() {
        None => match init {
            syn::Expr::Struct(_) => true,
            syn::Expr::Call(c) => match strip(&c.func) {
                syn::Expr::Path(p) if p.qself.is_none() && p.path.segments.len() >= 2 => {
                    let last = p.path.segments.last().map(|s| s.ident.to_string());
                    matches!(
                        last.as_deref(),
                        Some("new" | "const_new" | "default" | "new_irqsave")
                    )
                }
                _ => false,
            },
            _ => false,
        },
        Some((first, rest)) => {
            let syn::Expr::Struct(s) = init else {
                return false;
            };
            s.fields
                .iter()
                .find(|f| member_name(&f.member) == *first)
                // `S { inner }` moves a local or parameter in: not built here
                .filter(|f| f.colon_token.is_some())
                .is_some_and(|f| builds_lock(&f.expr, rest))
        }
    }
}

fn strip(e: &syn::Expr) -> &syn::Expr {
    match e {
        syn::Expr::Paren(p) => strip(&p.expr),
        syn::Expr::Group(g) => strip(&g.expr),
        _ => e,
    }
}

fn member_name(m: &syn::Member) -> String {
    match m {
        syn::Member::Named(i) => i.to_string(),
        syn::Member::Unnamed(i) => i.index.to_string(),
    }
}

/// The single-segment path an expression is (`x`), if it is one.
fn plain_name(e: &syn::Expr) -> Option<String> {
    match strip(e) {
        syn::Expr::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
            let s = &p.path.segments[0];
            s.arguments.is_none().then(|| s.ident.to_string())
        }
        _ => None,
    }
}

/// `x.a.b` (also `(*x).a`): the root name and the fields below it.
fn field_chain(e: &syn::Expr) -> Option<(String, Vec<String>)> {
    match strip(e) {
        syn::Expr::Field(f) => {
            let (root, mut fields) = field_chain(&f.base)?;
            fields.push(member_name(&f.member));
            Some((root, fields))
        }
        syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => field_chain(&u.expr),
        other => plain_name(other).map(|n| (n, Vec::new())),
    }
}

/// The name a place expression is rooted at through fields, derefs, indexing and method-call
/// receivers (`*x.inner.lock()` → `x`).
fn place_root(e: &syn::Expr) -> Option<String> {
    match strip(e) {
        syn::Expr::Field(f) => place_root(&f.base),
        syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => place_root(&u.expr),
        syn::Expr::Index(i) => place_root(&i.expr),
        syn::Expr::MethodCall(m) => place_root(&m.receiver),
        syn::Expr::Try(t) => place_root(&t.expr),
        other => plain_name(other),
    }
}

/// `Arc::downgrade(&x)` / `Rc::downgrade(&x)`: the object it is a weak pointer to.
fn downgrade_of(e: &syn::Expr) -> Option<String> {
    let syn::Expr::Call(c) = strip(e) else {
        return None;
    };
    let syn::Expr::Path(p) = strip(&c.func) else {
        return None;
    };
    let segs: Vec<String> = p
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let [.., ty, f] = segs.as_slice() else {
        return None;
    };
    if !(matches!(ty.as_str(), "Arc" | "Rc") && f == "downgrade") || c.args.len() != 1 {
        return None;
    }
    match strip(&c.args[0]) {
        syn::Expr::Reference(r) => plain_name(&r.expr),
        _ => None,
    }
}

fn is_acquire(name: &str) -> bool {
    lock_api::GUARD_METHODS.contains(&name)
        || lock_api::TRY_METHODS.contains(&name)
        || lock_api::RAW_ACQUIRE_METHODS.contains(&name)
}

/// How many times each name is bound in the body (patterns of `let`, `match`, `for`, closure
/// parameters, …), nested items excluded.
#[derive(Default)]
struct Bindings {
    count: BTreeMap<String, u32>,
    depth: u32,
    overflow: bool,
}

impl<'ast> Visit<'ast> for Bindings {
    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        *self.count.entry(p.ident.to_string()).or_default() += 1;
        visit::visit_pat_ident(self, p);
    }
    fn visit_item(&mut self, _: &'ast syn::Item) {}
    fn visit_expr(&mut self, e: &'ast syn::Expr) {
        self.depth += 1;
        if self.depth > MAX_WALK_DEPTH {
            self.overflow = true;
        } else if !self.overflow {
            visit::visit_expr(self, e);
        }
        self.depth -= 1;
    }
}

/// The `let x = <init>;` statements of names bound once.
struct Lets<'m, 'a> {
    map: &'m SpanMap,
    once: &'m BTreeMap<String, u32>,
    found: BTreeMap<String, Candidate<'a>>,
}

impl<'a> Visit<'a> for Lets<'_, 'a> {
    fn visit_local(&mut self, l: &'a syn::Local) {
        let pat = match &l.pat {
            syn::Pat::Type(t) => &*t.pat,
            p => p,
        };
        if let (syn::Pat::Ident(id), Some(init)) = (pat, &l.init) {
            let name = id.ident.to_string();
            let once = self.once.get(&name) == Some(&1);
            if once && init.diverge.is_none() && id.by_ref.is_none() && id.subpat.is_none() {
                let span = self.map.of(l);
                self.found.insert(
                    name,
                    Candidate {
                        init: Some(&init.expr),
                        let_start: span.start,
                        let_end: span.end,
                        horizon: u32::MAX,
                        tainted: Vec::new(),
                        uses: Vec::new(),
                        passes: Vec::new(),
                    },
                );
            }
        }
        visit::visit_local(self, l);
    }
    fn visit_item(&mut self, _: &'a syn::Item) {}
}

/// One walk over the body classifying every use of a candidate's name.
struct Walk<'m, 'a> {
    map: &'m SpanMap,
    cands: BTreeMap<String, Candidate<'a>>,
    /// Starts of the constructs a use counts at instead of its own position: the assignments
    /// whose right side is being walked, the closures and async blocks being walked.
    before: Vec<u32>,
    /// Loops being walked.
    loops: Vec<(u32, u32)>,
    /// Ends of the blocks being walked.
    blocks: Vec<u32>,
    /// The statements being walked: end, and whether it ends its temporaries (a `let` or an
    /// expression with `;`; a block's tail expression hands them to the statement around it).
    stmts: Vec<(u32, bool)>,
    /// Acquisitions whose guard a `let` binds (method-name start): the end of that `let`'s
    /// block.
    let_bound: BTreeMap<u32, u32>,
    closure_depth: u32,
    depth: u32,
    overflow: bool,
}

impl Walk<'_, '_> {
    /// The object named `name` may be shared at `at`.
    fn share(&mut self, name: &str, at: u32) {
        let eff = self.before.iter().copied().fold(at, u32::min);
        let Some(c) = self.cands.get_mut(name) else {
            return;
        };
        if at < c.let_end {
            // its own initializer, or an earlier binding's scope
            return;
        }
        c.horizon = c.horizon.min(eff);
        let let_start = c.let_start;
        c.tainted
            .extend(self.loops.iter().filter(|(s, _)| *s > let_start).copied());
    }

    /// The latest point a temporary guard made here lives to: the end of the innermost
    /// statement that ends its temporaries (the outermost one when none does).
    fn hold_end(&self) -> u32 {
        (self.stmts.iter().rev().find(|(_, ends)| *ends))
            .or(self.stmts.first())
            .map_or(u32::MAX, |(end, _)| *end)
    }

    fn in_loop<F: FnOnce(&mut Self)>(&mut self, span: crate::source::Span, f: F) {
        self.loops.push((span.start, span.end));
        f(self);
        self.loops.pop();
    }

    /// The candidate an argument or receiver hands to its call as it is (`x`, `&x`, `&mut x`,
    /// `x.f`, `&x.f`): not inside a closure, and for a local not on an assignment's right side
    /// nor in a loop it was not built in (where the use counts elsewhere).
    fn handed(&self, e: &syn::Expr) -> Option<String> {
        if self.closure_depth > 0 {
            return None;
        }
        let place = match strip(e) {
            syn::Expr::Reference(r) => &*r.expr,
            e => e,
        };
        let (root, _) = field_chain(place)?;
        let c = self.cands.get(&root)?;
        let counted_elsewhere =
            !self.before.is_empty() || self.loops.iter().any(|(s, _)| *s > c.let_start);
        (c.init.is_none() || !counted_elsewhere).then_some(root)
    }

    /// Candidate `name` handed to the call `call` as `slot`, at `at`.
    fn pass(&mut self, name: &str, at: u32, call: (u32, u32), slot: u8) {
        self.pass_as(name, at, (call, slot, false));
    }

    fn pass_as(&mut self, name: &str, at: u32, h: Handed) {
        if let Some(c) = self.cands.get_mut(name) {
            if at >= c.let_end {
                c.passes.push((at, h));
            }
        }
    }

    /// The arguments of the call `call`: those handed over as they are, the others walked.
    fn call_args<'e>(&mut self, args: impl Iterator<Item = &'e syn::Expr>, call: (u32, u32)) {
        for (k, a) in args.enumerate() {
            let slot = u8::try_from(k + 1).ok();
            match (self.handed(a), slot) {
                (Some(root), Some(slot)) => {
                    let at = self.map.of(a).start;
                    self.pass(&root, at, call, slot);
                }
                _ => self.visit_expr(a),
            }
        }
    }

    fn counted_before<F: FnOnce(&mut Self)>(&mut self, at: u32, f: F) {
        self.before.push(at);
        f(self);
        self.before.pop();
    }

    /// A formatting macro's arguments: plain places are read by reference.
    fn format_args(&mut self, mac: &syn::Macro) -> bool {
        use syn::punctuated::Punctuated;
        let Ok(args) =
            mac.parse_body_with(Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
        else {
            return false;
        };
        for a in &args {
            let place = match strip(a) {
                syn::Expr::Reference(r) => &*r.expr,
                e => e,
            };
            if field_chain(place).is_none() {
                self.visit_expr(a);
            }
        }
        true
    }
}

impl<'ast> Visit<'ast> for Walk<'_, '_> {
    fn visit_expr(&mut self, e: &'ast syn::Expr) {
        self.depth += 1;
        if self.depth > MAX_WALK_DEPTH {
            self.overflow = true;
        } else if !self.overflow {
            visit::visit_expr(self, e);
        }
        self.depth -= 1;
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if p.qself.is_none() && p.path.segments.len() == 1 {
            let name = p.path.segments[0].ident.to_string();
            if self.cands.contains_key(&name) {
                let at = self.map.of(p).start;
                self.share(&name, at);
            }
        }
        visit::visit_expr_path(self, p);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let name = m.method.to_string();
        let span = self.map.of(m);
        let call = (span.start, span.end);
        if self.closure_depth == 0 && is_acquire(&name) {
            if let Some((root, fields)) = field_chain(&m.receiver) {
                let held_to =
                    (self.let_bound.get(&span.start).copied()).unwrap_or_else(|| self.hold_end());
                if let Some(c) = self.cands.get_mut(&root) {
                    c.uses.push((call, fields, held_to));
                    // a method of the object's own type named like a lock's is a call
                    if self.handed(&m.receiver).is_some() {
                        let at = self.map.of(&*m.receiver).start;
                        self.pass_as(&root, at, (call, 0, true));
                    }
                    self.call_args(m.args.iter(), call);
                    return;
                }
            }
        }
        // a method smart pointers have too is the pointer's (`t.clone()` of an `Arc`)
        match self.handed(&m.receiver) {
            Some(root) if !POINTER_METHODS.contains(&name.as_str()) => {
                let at = self.map.of(&*m.receiver).start;
                self.pass(&root, at, call, 0);
            }
            _ => self.visit_expr(&m.receiver),
        }
        self.call_args(m.args.iter(), call);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        let span = self.map.of(c);
        self.visit_expr(&c.func);
        self.call_args(c.args.iter(), (span.start, span.end));
    }

    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        let start = self.map.of(a).start;
        // a weak pointer to the object stored into the object itself does not share it
        let own_weak = downgrade_of(&a.right)
            .is_some_and(|w| place_root(&a.left).as_deref() == Some(w.as_str()));
        if !own_weak {
            self.counted_before(start, |w| w.visit_expr(&a.right));
        }
        self.visit_expr(&a.left);
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        let start = self.map.of(c).start;
        self.closure_depth += 1;
        self.counted_before(start, |w| visit::visit_expr_closure(w, c));
        self.closure_depth -= 1;
    }

    fn visit_expr_async(&mut self, b: &'ast syn::ExprAsync) {
        let start = self.map.of(b).start;
        self.closure_depth += 1;
        self.counted_before(start, |w| visit::visit_expr_async(w, b));
        self.closure_depth -= 1;
    }

    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        let span = self.map.of(l);
        self.in_loop(span, |w| visit::visit_expr_loop(w, l));
    }

    fn visit_expr_while(&mut self, l: &'ast syn::ExprWhile) {
        let span = self.map.of(l);
        self.in_loop(span, |w| visit::visit_expr_while(w, l));
    }

    fn visit_expr_for_loop(&mut self, l: &'ast syn::ExprForLoop) {
        let span = self.map.of(l);
        // the iterated expression runs once, before the loop
        self.visit_expr(&l.expr);
        self.in_loop(span, |w| {
            w.visit_pat(&l.pat);
            w.visit_block(&l.body);
        });
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let name = mac.path.segments.last().map(|s| s.ident.to_string());
        if name.as_deref().is_some_and(|n| FORMAT_MACROS.contains(&n)) && self.format_args(mac) {
            return;
        }
        // any other macro naming the object may do anything with it
        let at = self.map.of(mac).start;
        let mut named = Vec::new();
        collect_idents(mac.tokens.clone(), &mut named);
        for n in named {
            if self.cands.contains_key(&n) {
                self.share(&n, at);
            }
        }
    }

    fn visit_block(&mut self, b: &'ast syn::Block) {
        self.blocks.push(self.map.of(b).end);
        visit::visit_block(self, b);
        self.blocks.pop();
    }

    fn visit_stmt(&mut self, s: &'ast syn::Stmt) {
        let ends = match s {
            syn::Stmt::Local(_) => true,
            syn::Stmt::Expr(_, semi) => semi.is_some(),
            syn::Stmt::Macro(m) => m.semi_token.is_some(),
            syn::Stmt::Item(_) => false,
        };
        self.stmts.push((self.map.of(s).end, ends));
        if let syn::Stmt::Local(l) = s {
            if let Some(m) = l.init.as_ref().and_then(|i| guard_call(&i.expr)) {
                let end = self.blocks.last().copied().unwrap_or(u32::MAX);
                self.let_bound.insert(self.map.of(m).start, end);
            }
        }
        visit::visit_stmt(self, s);
        self.stmts.pop();
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// The acquisition whose guard an initializer is (`x.lock()`, `x.lock().unwrap()`, `x.lock()?`).
fn guard_call(e: &syn::Expr) -> Option<&syn::ExprMethodCall> {
    match strip(e) {
        syn::Expr::MethodCall(m) if is_acquire(&m.method.to_string()) => Some(m),
        syn::Expr::MethodCall(m)
            if matches!(m.method.to_string().as_str(), "unwrap" | "expect") =>
        {
            guard_call(&m.receiver)
        }
        syn::Expr::Try(t) => guard_call(&t.expr),
        _ => None,
    }
}

fn collect_idents(ts: proc_macro2::TokenStream, out: &mut Vec<String>) {
    for t in ts {
        match t {
            proc_macro2::TokenTree::Ident(i) => out.push(i.to_string()),
            proc_macro2::TokenTree::Group(g) => collect_idents(g.stream(), out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::source::{FileId, SourceFile};

    /// How many acquisitions of `f` are on an unshared object.
    fn unshared(src: &str) -> usize {
        let text = format!(
            "struct T {{ inner: Mutex<u32>, n: u32 }}\nstatic L: Mutex<u32> = Mutex::new(0);\n{src}\n"
        );
        let lowered = crate::lower_file(&SourceFile::new(FileId(0), "lib.rs", &text));
        let f = lowered.items.fns.iter().find(|f| f.name == "f").expect("f");
        f.body.as_ref().map_or(0, |b| b.unshared.len())
    }

    const NEW: &str = "Arc::new(T { inner: Mutex::new(0), n: 0 })";

    #[test]
    fn built_and_not_yet_shared() {
        assert_eq!(
            unshared(&format!(
                "fn f() -> Arc<T> {{ let t = {NEW}; *t.inner.lock() = 1; t }}"
            )),
            1
        );
        assert_eq!(
            unshared("fn f() { let l = RwLock::new(0); let a = l.read(); let b = l.read(); }"),
            2
        );
        assert_eq!(
            unshared(&format!(
                "fn f() {{ let t = {NEW}; println!(\"{{}}\", t.n); *t.inner.lock() = 1; }}"
            )),
            1
        );
        // the weak pointer goes into the object itself, after the right side ran
        assert_eq!(
            unshared(&format!(
                "fn f() {{ let t = {NEW}; t.inner.lock().w = Arc::downgrade(&t); }}"
            )),
            1
        );
        // a new object each iteration
        assert_eq!(
            unshared(&format!(
                "fn f() {{ loop {{ let t = {NEW}; *t.inner.lock() = 1; V.push(t); }} }}"
            )),
            1
        );
    }

    /// How many acquisitions of `f` are on an unshared object (unconditionally, or when the
    /// calls it was handed to keep it), and its parameters (index, shared other than by
    /// calls, calls handed to).
    fn handed(src: &str) -> (usize, usize, Vec<(u8, bool, usize)>) {
        let text = format!(
            "struct T {{ inner: Mutex<u32>, n: u32 }}\nstatic L: Mutex<u32> = Mutex::new(0);\n{src}\n"
        );
        let lowered = crate::lower_file(&SourceFile::new(FileId(0), "lib.rs", &text));
        let f = lowered.items.fns.iter().find(|f| f.name == "f").expect("f");
        let b = f.body.as_ref().expect("body");
        let params = (b.params_handed.iter())
            .map(|p| (p.param, p.escapes, p.calls.len()))
            .collect();
        (b.unshared.len(), b.unshared_if.len(), params)
    }

    #[test]
    fn handed_to_calls() {
        // handed to a call before the lock: unshared if the callee keeps it
        assert_eq!(
            handed(&format!(
                "fn f() {{ let t = {NEW}; g(&t); *t.inner.lock() = 1; }}"
            )),
            (0, 1, vec![])
        );
        assert_eq!(
            handed(&format!(
                "fn f() {{ let t = {NEW}; g(&t); t.m(); *t.inner.lock() = 1; }}"
            ))
            .1,
            1
        );
        // cloned, moved into a variant, handed inside a closure or a loop: shared
        for src in [
            format!("fn f() {{ let t = {NEW}; g(t.clone()); *t.inner.lock() = 1; }}"),
            format!("fn f() {{ let t = {NEW}; g(Some(&t)); *t.inner.lock() = 1; }}"),
            format!("fn f() {{ let t = {NEW}; h(|| g(&t)); *t.inner.lock() = 1; }}"),
            format!("fn f() {{ let t = {NEW}; loop {{ *t.inner.lock() = 1; g(&t); }} }}"),
        ] {
            assert_eq!(handed(&src).0 + handed(&src).1, 0, "{src}");
        }
        // parameters: kept apart from calls, or not
        assert_eq!(
            handed("fn f(a: &T, b: &T) { *a.inner.lock() = 1; g(a); h(b.n, &b); }").2,
            vec![(0, false, 1), (1, false, 2)]
        );
        assert_eq!(
            handed("fn f(a: &T, b: Arc<T>) -> &T { V.push(b); a }").2,
            vec![(0, true, 0), (1, false, 1)]
        );
        // a method named like a lock's that is the type's own (a call, not an acquisition)
        assert_eq!(
            handed("fn f(a: &T) { a.write(&[1]); *a.inner.lock() = 1; }").2,
            vec![(0, false, 1)]
        );
        // bound again: not followed
        assert_eq!(handed("fn f(a: &T) { let a = 1; }").2, vec![]);
    }

    #[test]
    fn shared_before_or_while_held() {
        for src in [
            format!("fn f() {{ let t = {NEW}; let u = t.clone(); *t.inner.lock() = 1; }}"),
            format!("fn f() {{ let t = {NEW}; g(Some(&t)); *t.inner.lock() = 1; }}"),
            format!("fn f() {{ let t = {NEW}; spawn(move || t.n); *t.inner.lock() = 1; }}"),
            format!("fn f() {{ let t = {NEW}; let g = t.inner.lock(); V.push(t.clone()); }}"),
            format!(
                "fn f() {{ let t = {NEW}; loop {{ *t.inner.lock() = 1; V.push(t.clone()); }} }}"
            ),
            format!("fn f() {{ let t = {NEW}; u.w = Arc::downgrade(&t); *t.inner.lock() = 1; }}"),
            format!("fn f() {{ let t = {NEW}; m!(t); *t.inner.lock() = 1; }}"),
            // shadowing is not resolved: a name bound twice is not followed
            format!("fn f() {{ let t = {NEW}; *t.inner.lock() = 1; let t = 0; }}"),
            // built elsewhere
            "fn f() { let t = T::new(); *t.inner.lock() = 1; }".to_string(),
            "fn f() { let t = Arc::new(T { inner, n: 0 }); *t.inner.lock() = 1; }".to_string(),
            "fn f() { let t = Arc::new(T { inner: m.clone(), n: 0 }); *t.inner.lock() = 1; }"
                .to_string(),
            "fn f() { let t = Arc::new(T { ..base }); *t.inner.lock() = 1; }".to_string(),
        ] {
            assert_eq!(unshared(&src), 0, "{src}");
        }
    }
}
