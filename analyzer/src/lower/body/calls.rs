//! Calls: method calls and calls of paths, and their arguments.

use super::*;

/// The last path segment of a method call's receiver when it is a path (`interrupts` in
/// `interrupts.disable()`), for names that say what a call does.
trait ReceiverName {
    fn receiver_name(&self) -> String;
}

impl ReceiverName for syn::ExprMethodCall {
    fn receiver_name(&self) -> String {
        match strip_parens(&self.receiver) {
            syn::Expr::Path(p) => p
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default(),
            _ => String::new(),
        }
    }
}

/// What a method call is, read once.
struct MethodCx {
    name: String,
    span: Span,
    method_span: Span,
    nargs: usize,
}

/// A call of a path, read once.
pub(super) struct PathCall<'c> {
    pub(super) c: &'c syn::ExprCall,
    pub(super) segs: Vec<String>,
    pub(super) last: String,
    pub(super) span: Span,
}

impl<'c> PathCall<'c> {
    fn new(c: &'c syn::ExprCall, segs: Vec<String>, span: Span) -> Self {
        let last = segs.last().cloned().unwrap_or_default();
        PathCall {
            c,
            segs,
            last,
            span,
        }
    }

    /// The path ends in `a::b`.
    pub(super) fn two(&self, a: &str, b: &str) -> bool {
        self.segs.len() >= 2 && self.segs[self.segs.len() - 2] == a && self.last == b
    }

    fn is_drop(&self) -> bool {
        self.last == "drop" && (self.segs.len() == 1 || self.two("mem", "drop"))
    }

    /// How the call leaks its argument's guards, if it does.
    fn leak_how(&self) -> Option<String> {
        let leaks = (self.last == "forget" && (self.segs.len() == 1 || self.two("mem", "forget")))
            || self.two("ManuallyDrop", "new")
            || self.two("Box", "leak")
            || (self.last == "leak"
                && self.segs.len() >= 2
                && self.segs[self.segs.len() - 2].ends_with("Guard"));
        leaks.then(|| self.segs.join("::"))
    }

    /// Interrupt masking regions: `critical_section::with(|cs| ..)`, `without_interrupts(|| ..)`.
    fn masks_irq_around_closure(&self) -> bool {
        (self.two("critical_section", "with")
            || matches!(
                self.last.as_str(),
                "without_interrupts" | "interrupt_free" | "free"
            ))
            && self.c.args.len() == 1
    }

    /// Its closures run elsewhere: a spawner, or a closure stored in a new `Arc`/`Rc`.
    fn spawns(&self) -> bool {
        lock_api::SPAWNERS.contains(&self.last.as_str())
            || self.segs.iter().any(|s| s == "thread") && self.last == "spawn"
            || self.two("Arc", "new")
            || self.two("Rc", "new")
    }
}

/// What an expression is an argument of, where that changes its meaning.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum ArgRole {
    Plain,
    /// An argument of an interrupt registrar: a closure boxed there is an interrupt handler.
    IrqRegistrar,
}

impl ArgRole {
    fn of(irq_registrar: bool) -> ArgRole {
        if irq_registrar {
            ArgRole::IrqRegistrar
        } else {
            ArgRole::Plain
        }
    }
}

/// The closures of a call with their argument indices, when value copies are to be made
/// of them (`BodyLowerer::value_copies`).
fn with_args(
    copies: bool,
    at: &[u32],
    closures: &[syn::ExprClosure],
) -> Vec<(u32, syn::ExprClosure)> {
    if !copies {
        return Vec::new();
    }
    at.iter().copied().zip(closures.iter().cloned()).collect()
}

/// Where the closures passed to a call run.
pub(super) enum ClosureRun {
    /// During the call, under the locks held there; a combinator's one-parameter closure
    /// receives an element of this collection (`self.queues.iter().for_each(|q| ..)`).
    Inline(Option<Place>),
    /// Elsewhere (another thread, a task, later): lowered as functions of their own.
    Elsewhere,
}

/// A method of the lock API called on a receiver.
#[derive(Clone, Copy)]
enum LockMethod {
    Acquire,
    Try,
    Unlock,
}

/// `Option<T>` / `Result<T, E>` → `T`, as spelled.
pub(super) fn unwrapped_ty(t: TypeRef) -> Option<TypeRef> {
    match t {
        TypeRef::Path { segs, mut args }
            if matches!(segs.last().map(String::as_str), Some("Option" | "Result"))
                && !args.is_empty() =>
        {
            Some(args.swap_remove(0))
        }
        _ => None,
    }
}

/// `m.lock(|data| ..)`: a lock method whose one argument is a closure.
fn is_closure_lock(m: &syn::ExprMethodCall, cx: &MethodCx) -> bool {
    cx.nargs == 1
        && matches!(cx.name.as_str(), "lock" | "lock_mut" | "read" | "write")
        && matches!(&m.args[0], syn::Expr::Closure(_))
}

/// `addr_of!(x).read()`, `(&raw const x).write(v)`: raw-pointer reads and writes, never a lock
/// (a lock behind a raw pointer is locked through `(*p).lock()`).
fn on_raw_pointer(recv: &syn::Expr) -> bool {
    match strip_parens(recv) {
        syn::Expr::RawAddr(_) => true,
        syn::Expr::Macro(mm) => mm
            .mac
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "addr_of" || s.ident == "addr_of_mut"),
        _ => false,
    }
}

/// The place of a method call's result, for receivers of a following `.lock()`: `clone`
/// keeps the type; transparent methods and iterators keep the place unless the receiver's own
/// type declares the method (decided with the types, `Index::walk_place`); `get(k)` and
/// friends are an element.
fn method_result_place(p: Place, name: &str, m: &syn::ExprMethodCall) -> Option<Place> {
    let nargs = m.args.len();
    // `weak.upgrade()`: `Option<Arc<T>>` of the same `T` (a `Weak` is seen through as a
    // pointer; the `Some` binding is the pointee).
    if nargs == 0 && name == "upgrade" {
        return Some(project(p, Proj::Via(name.to_string().into())));
    }
    // `q.drain(..)`: an iterator over the collection's elements, like `iter()`.
    if nargs <= 1 && name == "drain" {
        return Some(project(p, Proj::Via(name.to_string().into())));
    }
    if nargs == 0 && name == "clone" {
        return Some(p);
    }
    if nargs == 0 && (lock_api::TRANSPARENT.contains(&name) || lock_api::ITERATORS.contains(&name))
    {
        return Some(project(p, Proj::Via(name.to_string().into())));
    }
    if nargs == 0 && !matches!(p.root, Root::Opaque) {
        return Some(project(p, Proj::Method(name.to_string().into())));
    }
    // `opt.ok_or(e)`, `res.map_err(f)`: the same value in another wrapper (`?` unwraps it).
    if nargs == 1 && lock_api::REWRAPPERS.contains(&name) {
        return Some(p);
    }
    if nargs == 1 && lock_api::ELEMENT_GETTERS.contains(&name) {
        return Some(project(p, Proj::Index(tokens(&m.args[0]).into())));
    }
    // Any other method on a known receiver: its result, typed by the method's return type once
    // the receiver's type is known (`if let Some(slot) = slots.remove_region(addr)`); the
    // arguments are part of the spelling, so `q.get(a)` and `q.get(b)` are not one instance.
    if nargs > 0 && !matches!(p.root, Root::Opaque) {
        let args: Vec<String> = m.args.iter().map(tokens).collect();
        let mut r = project(p, Proj::Method(name.to_string().into()));
        if let Some(stem) = r.text.strip_suffix("()") {
            r.text = format!("{stem}({})", args.join(", ")).into();
        }
        return Some(r);
    }
    None
}

impl<'a> BodyLowerer<'a> {
    /// A method call: the first recognizer that claims it, else a plain call.
    pub(super) fn method_call(&mut self, m: &syn::ExprMethodCall) -> Val {
        let span = self.span(m);
        let cx = MethodCx {
            name: m.method.to_string(),
            span,
            method_span: self.span(&m.method).to(span),
            nargs: m.args.len(),
        };
        if let Some(v) = self.try_option_take(m, &cx) {
            return v;
        }
        if let Some(v) = self.try_pass_through(m, &cx) {
            return v;
        }
        if is_closure_lock(m, &cx) {
            return self.closure_lock(m, &cx);
        }
        if let Some(kind) = self.lock_method_kind(m, &cx) {
            return self.lock_method(m, &cx, kind);
        }
        if let Some(v) = self.try_condvar_wait(m, &cx) {
            return v;
        }
        let recv = self.expr(&m.receiver, Ext::None);
        self.plain_method_call(m, &cx, recv)
    }

    /// `g.take()` on an `Option` holding a guard moves the guard out: the option's drop then
    /// releases nothing, and the result is a new owner (a temporary or a binding). Any other
    /// `take()` (a user method, a pool) stays a call.
    fn try_option_take(&mut self, m: &syn::ExprMethodCall, cx: &MethodCx) -> Option<Val> {
        if cx.name != "take" || cx.nargs != 0 {
            return None;
        }
        let syn::Expr::Path(p) = &*m.receiver else {
            return None;
        };
        let holds_guard = p
            .path
            .get_ident()
            .and_then(|i| self.lookup(&i.to_string()))
            .is_some_and(|b| !b.guards.is_empty() && b.closure.is_none());
        if !holds_guard {
            return None;
        }
        let recv = self.expr(&m.receiver, Ext::None);
        let out = self.take_ownership(&recv, cx.span);
        Some(Val {
            guards: out,
            fresh: true,
            ..Val::default()
        })
    }

    /// Pass-through of guards (`.unwrap()`, poison recovery, `.ok()`).
    fn try_pass_through(&mut self, m: &syn::ExprMethodCall, cx: &MethodCx) -> Option<Val> {
        let name = cx.name.as_str();
        if !lock_api::PASS_THROUGH.contains(&name) && name != "ok" {
            return None;
        }
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
            return Some(Val {
                closure: None,
                ..recv
            });
        }
        if !recv.guards.is_empty() || recv.pending.is_some() {
            for a in &m.args {
                let _ = self.operand(a);
            }
            // The result of a call that may return a guard (`x.as_mut().unwrap()`): its
            // place is still the value out of the `Option`. A lock's guard names its data
            // (`m.lock()` is `m.*`), already unwrapped.
            let try_lock = recv.pending.is_some();
            let v = self.take_pending(recv);
            let place = match v.place {
                Some(p) if !try_lock && !matches!(p.proj.last(), Some(Proj::Guard)) => {
                    Some(project(p, Proj::Unwrap))
                }
                p => p,
            };
            return Some(Val {
                closure: None,
                place,
                ..v
            });
        }
        self.settle(&recv, false);
        for a in &m.args {
            let _ = self.operand(a);
        }
        // `x.as_ref().unwrap()` still names the place of `x`, its value out of the `Option`.
        if name == "ok" {
            return Some(Val {
                place: recv.place,
                ..Val::default()
            });
        }
        Some(Val {
            place: recv.place.map(|p| project(p, Proj::Unwrap)),
            ty: recv.ty.and_then(unwrapped_ty),
            ..Val::default()
        })
    }

    /// `m.lock(|data| ..)` (embassy-sync's blocking mutex, `with`-style locks): the lock is
    /// held while the closure runs. A receiver with no place is a plain call.
    fn closure_lock(&mut self, m: &syn::ExprMethodCall, cx: &MethodCx) -> Val {
        let recv = self.expr(&m.receiver, Ext::None);
        let (Some(place), syn::Expr::Closure(c)) = (recv.place.clone(), &m.args[0]) else {
            return self.plain_method_call(m, cx, recv);
        };
        self.settle(&recv, false);
        let g = self.new_guard();
        self.emit(Op::Acquire {
            place: Box::new(place),
            method: crate::lock_api::acq_method(&cx.name),
            style: AcqStyle::Guard,
            mode: if cx.name == "read" {
                Mode::Read
            } else {
                Mode::Exclusive
            },
            is_try: false,
            guard: Some(g),
            unwrapped: false,
            span: cx.method_span,
        });
        self.inline_closure(c, cx.span);
        self.emit(Op::Release {
            guard: g,
            span: cx.span,
            explicit: false,
        });
        Val::default()
    }

    /// Whether a method call acquires (`lock`, `read`, configured acquires), tries to
    /// (`try_lock`) or releases (`unlock`) the receiver's lock, by the lock-API vocabulary.
    fn lock_method_kind(&self, m: &syn::ExprMethodCall, cx: &MethodCx) -> Option<LockMethod> {
        if cx.nargs != 0 {
            return None;
        }
        let name = cx.name.as_str();
        let on_raw_pointer = on_raw_pointer(&m.receiver);
        let configured = |f: fn(&crate::config::LockType) -> &Vec<String>| {
            self.config
                .lock_types
                .iter()
                .any(|t| f(t).iter().any(|n| n == name))
        };
        if !on_raw_pointer
            && (lock_api::GUARD_METHODS.contains(&name)
                || lock_api::RAW_ACQUIRE_METHODS.contains(&name)
                || configured(|t| &t.acquire)
                || configured(|t| &t.irq_acquire))
        {
            return Some(LockMethod::Acquire);
        }
        if !on_raw_pointer
            && (lock_api::TRY_METHODS.contains(&name) || configured(|t| &t.try_acquire))
        {
            return Some(LockMethod::Try);
        }
        lock_api::UNLOCK_METHODS
            .contains(&name)
            .then_some(LockMethod::Unlock)
    }

    /// An acquisition, try-acquisition or unlock of the receiver's lock.
    fn lock_method(&mut self, m: &syn::ExprMethodCall, cx: &MethodCx, kind: LockMethod) -> Val {
        let recv = self.expr(&m.receiver, Ext::None);
        self.settle(&recv, false);
        let place = recv
            .place
            .clone()
            .unwrap_or_else(|| Place::opaque(tokens(&m.receiver)));
        let mode = lock_api::method_mode(&cx.name);
        match kind {
            LockMethod::Unlock => {
                self.emit(Op::Unlock {
                    place: Box::new(place),
                    method: cx.name.clone().into(),
                    span: cx.method_span,
                });
                Val::default()
            }
            LockMethod::Try => Val {
                pending: Some(Pending {
                    place,
                    method: cx.name.clone(),
                    mode,
                    guard: self.new_guard(),
                    span: cx.method_span,
                }),
                ..Val::default()
            },
            LockMethod::Acquire => {
                let g = self.new_guard();
                let data = project(place.clone(), Proj::Guard);
                self.emit(Op::Acquire {
                    place: Box::new(place),
                    method: crate::lock_api::acq_method(&cx.name),
                    style: if lock_api::RAW_ACQUIRE_METHODS.contains(&cx.name.as_str()) {
                        AcqStyle::Raw
                    } else {
                        AcqStyle::Guard
                    },
                    mode,
                    is_try: false,
                    guard: Some(g),
                    unwrapped: false,
                    span: cx.method_span,
                });
                Val {
                    guards: vec![g],
                    fresh: true,
                    place: Some(data),
                    ..Val::default()
                }
            }
        }
    }

    /// Condition variables release the guard while waiting and give it back.
    fn try_condvar_wait(&mut self, m: &syn::ExprMethodCall, cx: &MethodCx) -> Option<Val> {
        if cx.nargs == 0 || !lock_api::CONDVAR_WAITS.contains(&cx.name.as_str()) {
            return None;
        }
        // A condition variable's wait takes the guard first; a closure there is another
        // type's method (`queue.wait_until(|| ..)`), a call whose closure runs in it.
        if matches!(strip_parens(&m.args[0]), syn::Expr::Closure(_)) {
            return None;
        }
        let _ = self.operand(&m.receiver);
        let arg = self.expr(&m.args[0], Ext::None);
        for a in m.args.iter().skip(1) {
            let _ = self.operand(a);
        }
        let gw = arg.guards.first().copied();
        self.emit(Op::Block {
            kind: BlockKind::CondWait(gw),
            span: cx.span,
        });
        // The guard comes back: a fresh guard returned by `wait`, re-acquired.
        if arg.guards.is_empty() {
            self.settle(&arg, false);
            return Some(Val::default());
        }
        if arg.fresh {
            return Some(arg);
        }
        let owned = self.take_ownership(&arg, cx.span);
        Some(Val {
            guards: owned,
            fresh: true,
            ..Val::default()
        })
    }

    /// Any other method call (its receiver lowered): guard operations, blocking methods,
    /// counters, then the call itself with its closures, and the place of its result.
    fn plain_method_call(&mut self, m: &syn::ExprMethodCall, cx: &MethodCx, recv: Val) -> Val {
        let name = cx.name.as_str();
        let span = cx.span;
        if let Some(v) = self.guard_method(name, &recv, m, span) {
            return v;
        }
        // A temporary of a known type (`S { .. }.m()`, `Type::new(..).m()`) is still a receiver
        // whose methods resolve.
        let temp = |p: &Place| match &p.root {
            Root::Opaque => true,
            Root::Call(segs) => constructor_type(segs).is_some(),
            _ => false,
        };
        let recv_place = recv
            .place
            .clone()
            .filter(|p| !temp(p) || recv.ty.is_none())
            .or_else(|| {
                recv.ty.clone().map(|t| Place {
                    root: Root::Value(Box::new(t)),
                    proj: Vec::new(),
                    text: tokens(&m.receiver).into(),
                })
            });
        let recv_has_guard = !recv.guards.is_empty();
        // `self.recv()` is the type's own method, analyzed through its body, not a channel's.
        let on_self = matches!(&*m.receiver, syn::Expr::Path(p) if p.path.is_ident("self"));
        self.settle(&recv, false);
        let registrar = lock_api::is_irq_registrar(name);
        let CallArgs {
            args,
            by_value,
            mut closures,
            moved,
            funcs,
            closure_args,
            ..
        } = self.call_args(m.args.iter(), ArgRole::of(registrar));
        self.collection_insert(name, recv_place.as_ref(), &args, &funcs);
        if let Some(kind) = lock_api::blocking_method(name, cx.nargs, recv_has_guard || on_self) {
            self.emit(Op::Block { kind, span });
        }
        self.count_unit_step(m, name, recv_place.as_ref(), span);
        self.resource_pair_effect(name, span);
        if registrar && !closures.is_empty() {
            // The first callback is the handler; others passed beside it (a threaded
            // handler, deferred work) run elsewhere, in process context.
            let handler = closures.remove(0);
            self.spawn_closure_kind(&handler, "irq");
            for cl in closures.drain(..) {
                self.spawn_closure(&cl);
            }
        }
        let mut result = None;
        let mut node = None;
        let data = recv_place
            .as_ref()
            .filter(|p| matches!(p.proj.last(), Some(Proj::Guard)));
        if let Some(p) = data.filter(|_| recv_has_guard && matches!(name, "clone" | "to_owned")) {
            // `guard.clone()` copies the data the guard derefs to: a call on the data, whose
            // type decides what it costs (a `Vec`'s allocates).
            self.emit(Op::Call {
                callee: std::sync::Arc::new(Callee::Method {
                    recv: Some(p.clone()),
                    name: name.into(),
                }),
                span,
                args: std::sync::Arc::new([]),
                by_value: Default::default(),
                result: None,
            });
        }
        if !recv_has_guard || !lock_api::TRANSPARENT.contains(&name) {
            if self.stmt_expr != Some(span) {
                result = Some(self.new_guard());
            }
            node = self.emit(Op::Call {
                callee: std::sync::Arc::new(Callee::Method {
                    recv: recv_place.clone(),
                    name: name.into(),
                }),
                span,
                args: args.into(),
                by_value,
                result,
            });
            self.note_moves(node, &moved);
            self.arg_fn_stores(node, funcs);
            self.irq_effect(&[m.receiver_name(), name.to_string()], result, span);
        }
        let run = if lock_api::SPAWNERS.contains(&name) {
            ClosureRun::Elsewhere
        } else if lock_api::ELEM_COMBINATORS.contains(&name) {
            ClosureRun::Inline(
                recv_place
                    .clone()
                    .filter(|p| !matches!(p.root, Root::Opaque)),
            )
        } else {
            ClosureRun::Inline(None)
        };
        let copies = matches!(run, ClosureRun::Inline(None)) && !lock_api::runs_closure_now(name);
        let with_args = with_args(copies, &closure_args, &closures);
        let spawned = self.run_closures(closures, run, span);
        self.arg_fn_stores(node, closure_args.iter().copied().zip(spawned).collect());
        self.value_copies(&with_args, node);
        for (_, g) in moved {
            self.emit(Op::Release {
                guard: g,
                span,
                explicit: true,
            });
        }
        Val {
            place: recv_place.and_then(|p| method_result_place(p, name, m)),
            guards: result.into_iter().collect(),
            fresh: result.is_some(),
            ..Val::default()
        }
    }

    /// `x.fetch_add(1)` / `x.fetch_sub(1)`: a counted resource taken or given back.
    fn count_unit_step(
        &mut self,
        m: &syn::ExprMethodCall,
        name: &str,
        recv: Option<&Place>,
        span: Span,
    ) {
        let delta = match name {
            "fetch_add" => 1,
            "fetch_sub" => -1,
            _ => return,
        };
        if let (Some(p), true) = (recv, m.args.first().is_some_and(|a| tokens(a) == "1")) {
            self.emit(Op::Count {
                place: Box::new(p.clone()),
                delta,
                span,
            });
        }
    }

    /// Lower a call's arguments: their places, which move by value, the closures among them,
    /// and the guards the callee takes (a binding's guard passed by name, or a fresh guard:
    /// the callee drops it).
    pub(super) fn call_args<'e>(
        &mut self,
        exprs: impl Iterator<Item = &'e syn::Expr>,
        role: ArgRole,
    ) -> CallArgs {
        let mut out = CallArgs::default();
        for a in exprs {
            let v = self.arg_expr(a, role);
            out.tys.push(v.ty.clone());
            if let Some(c) = v.closure.clone() {
                out.closure_args.push(out.args.len() as u32);
                out.closures.push(*c);
            }
            if let Some(f) = v.func.clone() {
                out.funcs.push((out.args.len() as u32, f));
            }
            let by_name = matches!(a, syn::Expr::Path(_));
            if !v.guards.is_empty() && (v.fresh || by_name) {
                let at = out.args.len() as u32;
                out.moved.extend(v.guards.iter().map(|&g| (at, g)));
            } else {
                self.settle(&v, false);
            }
            if by_name {
                out.by_value.set(out.args.len());
            }
            out.args.push(v.place);
        }
        out
    }

    /// Closures lowered as functions of their own passed as arguments of the call at `node`,
    /// with their argument indices (see `Body::fn_stores`).
    fn arg_fn_stores(&mut self, node: Option<NodeId>, funcs: Vec<(u32, String)>) {
        let Some(call) = node else { return };
        for (index, func) in funcs {
            self.fn_store(FnStoreTo::Arg { call, index }, func);
        }
    }

    /// `self.handlers.push(x)`, `map.insert(k, x)`: the value becomes an element of a
    /// collection that outlives the statement, a flow into the receiver's element.
    fn collection_insert(
        &mut self,
        name: &str,
        recv: Option<&Place>,
        args: &[Option<Place>],
        funcs: &[(u32, String)],
    ) {
        if !matches!(name, "push" | "push_back" | "push_front" | "insert") {
            return;
        }
        let Some(recv) = recv.filter(|r| {
            matches!(r.root, Root::SelfValue | Root::Param { .. } | Root::Path(_))
                || !r.proj.is_empty() && !matches!(r.root, Root::Opaque | Root::Call(_))
        }) else {
            return;
        };
        let Some(last) = args.len().checked_sub(1) else {
            return;
        };
        let to = project(recv.clone(), Proj::Elem);
        if let Some(Some(from)) = args.get(last) {
            self.value_flow(FlowTo::Place(to.clone()), from.clone());
        }
        for (i, f) in funcs {
            if *i as usize == last {
                self.fn_store(FnStoreTo::Flow(FlowTo::Place(to.clone())), f.clone());
            }
        }
    }

    /// An argument: a call directly in it (through parentheses and casts) knows its role.
    fn arg_expr(&mut self, a: &syn::Expr, role: ArgRole) -> Val {
        let mut e = a;
        loop {
            match e {
                syn::Expr::Paren(p) => e = &p.expr,
                syn::Expr::Cast(c) => e = &c.expr,
                _ => break,
            }
        }
        match e {
            syn::Expr::Call(c) if role == ArgRole::IrqRegistrar && self.cur.is_some() => {
                self.depth += 1;
                let v = if self.depth > MAX_DEPTH {
                    self.truncated = true;
                    Val::default()
                } else {
                    self.call(c, Ext::None, role)
                };
                self.depth -= 1;
                v
            }
            _ => self.expr(a, Ext::None),
        }
    }

    /// A call of a path or a value: the first recognizer that claims it, else a plain call.
    /// `ext` is the extension context of the call (arguments of `Some(..)` extend like it);
    /// `role` says whether it is an argument of an interrupt registrar.
    pub(super) fn call(&mut self, c: &syn::ExprCall, ext: Ext, role: ArgRole) -> Val {
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
            return self.value_call(c, span);
        };
        let pc = PathCall::new(c, expr_path_segs(fp), span);
        if let Some(v) = self.guard_fn_call(&pc.segs, c, span) {
            return v;
        }
        if let Some(v) = self.try_local_callable(&pc) {
            return v;
        }
        if let Some(v) = self.try_manually_drop_drop(&pc) {
            return v;
        }
        if let Some(v) = self.try_drop_or_leak(&pc) {
            return v;
        }
        if let Some(v) = self.try_wrapping_ctor(&pc, ext, role) {
            return v;
        }
        if let Some(v) = self.try_same_place_wrapper(&pc) {
            return v;
        }
        if let Some(v) = self.try_lock_pair_fn(&pc) {
            return v;
        }
        self.plain_path_call(&pc)
    }

    /// Calling a value that is no path: a closure in a field, an expression.
    fn value_call(&mut self, c: &syn::ExprCall, span: Span) -> Val {
        let f = self.operand(&c.func);
        for a in &c.args {
            let _ = self.operand(a);
        }
        let place = f.place.filter(|p| !matches!(p.root, Root::Opaque));
        self.emit_value_call(tokens(&c.func), place, span);
        Val::default()
    }

    fn emit_value_call(&mut self, text: String, place: Option<Place>, span: Span) {
        self.emit(Op::Call {
            callee: std::sync::Arc::new(Callee::Value {
                text: text.into(),
                place,
            }),
            span,
            args: std::sync::Arc::new([]),
            by_value: Default::default(),
            result: None,
        });
    }

    /// `f(..)` where `f` is a closure bound to a local (it runs here) or a parameter of a
    /// callable type (a closure parameter: `Callee::Value`).
    fn try_local_callable(&mut self, pc: &PathCall<'_>) -> Option<Val> {
        if pc.segs.len() != 1 {
            return None;
        }
        let last = &pc.last;
        if let Some(cl) = self.lookup(last).and_then(|b| b.closure.clone()) {
            for a in &pc.c.args {
                let _ = self.operand(a);
            }
            self.inline_closure(&cl, pc.span);
            return Some(Val::default());
        }
        if !last.chars().next().is_some_and(|ch| ch.is_lowercase()) {
            return None;
        }
        // A local shadows every item of its name: `for h in &self.handlers { h(irq) }` calls
        // the value the local holds, never a function called `h`.
        let local = self.lookup(last).is_some();
        let callable_param = self.params.iter().any(|(n, t)| {
            n == last
                && matches!(
                    t,
                    TypeRef::Trait(_) | TypeRef::Path { .. } | TypeRef::Ref { .. }
                )
        });
        if !local && !callable_param {
            return None;
        }
        let f = self.operand(&pc.c.func);
        for a in &pc.c.args {
            let _ = self.operand(a);
        }
        let place = f.place.filter(|p| !matches!(p.root, Root::Opaque));
        self.emit_value_call(last.clone(), place, pc.span);
        Some(Val::default())
    }

    /// `ManuallyDrop::drop(&mut md)` releases the guard `ManuallyDrop::new` leaked.
    fn try_manually_drop_drop(&mut self, pc: &PathCall<'_>) -> Option<Val> {
        if !pc.two("ManuallyDrop", "drop") || pc.c.args.len() != 1 {
            return None;
        }
        let mut arg = strip_parens(&pc.c.args[0]);
        while let syn::Expr::Reference(r) = arg {
            arg = strip_parens(&r.expr);
        }
        let v = self.expr(arg, Ext::None);
        for &g in &v.guards {
            if let Some(place) = self.guard_place(g) {
                self.emit(Op::Unlock {
                    place: Box::new(place),
                    method: "ManuallyDrop::drop".into(),
                    span: pc.span,
                });
            }
        }
        Some(Val::default())
    }

    /// `drop(g)` releases the guards of its argument; `mem::forget`, `ManuallyDrop::new`,
    /// `Box::leak` and `Guard::leak` leak them.
    fn try_drop_or_leak(&mut self, pc: &PathCall<'_>) -> Option<Val> {
        let leak_how = pc.leak_how();
        if !(pc.is_drop() || leak_how.is_some()) || pc.c.args.len() != 1 {
            return None;
        }
        let span = pc.span;
        let mut v = self.expr(&pc.c.args[0], Ext::None);
        // `drop(w.g)`: moving the only guard out of a local aggregate.
        if v.guards.is_empty() {
            if let Some(g) = self.only_guard_of_field_base(&pc.c.args[0]) {
                v.guards = vec![g];
            }
        }
        let Some(how) = leak_how else {
            for &g in &v.guards {
                self.emit(Op::Release {
                    guard: g,
                    span,
                    explicit: true,
                });
            }
            return Some(Val::default());
        };
        for &g in &v.guards {
            self.emit(Op::Leak {
                guard: g,
                span,
                how: how.clone().into(),
                owned: false,
            });
        }
        // A leaked value keeps its guards: nothing releases them any more. A `ManuallyDrop`
        // still names them, for a later `ManuallyDrop::drop`.
        if pc.two("ManuallyDrop", "new") {
            return Some(Val {
                guards: v.guards,
                fresh: v.fresh,
                ..Val::default()
            });
        }
        Some(Val::default())
    }

    /// `w.g` where the local `w` owns exactly one guard: that guard.
    fn only_guard_of_field_base(&self, e: &syn::Expr) -> Option<GuardId> {
        let syn::Expr::Field(f) = strip_parens(e) else {
            return None;
        };
        let syn::Expr::Path(p) = strip_parens(&f.base) else {
            return None;
        };
        let b = self.lookup(&p.path.get_ident()?.to_string())?;
        match b.guards.as_slice() {
            [g] => Some(*g),
            _ => None,
        }
    }

    /// Constructors that keep their argument's guards (`Some(g)`, `Ok(g)`, `Box::new(g)`,
    /// `ManuallyDrop::into_inner`). A boxed closure is a callback kept for later: it runs
    /// elsewhere (as an interrupt handler when boxed for an IRQ registrar).
    fn try_wrapping_ctor(&mut self, pc: &PathCall<'_>, ext: Ext, role: ArgRole) -> Option<Val> {
        let boxed = pc.two("Box", "new");
        if !(matches!(pc.last.as_str(), "Some" | "Ok" | "Err")
            || boxed
            || pc.two("ManuallyDrop", "into_inner"))
        {
            return None;
        }
        let span = pc.span;
        let mut guards = Vec::new();
        let mut place = None;
        let mut closure = None;
        let mut func = None;
        let mut arg_ty = None;
        for a in &pc.c.args {
            let v = self.expr(a, ext);
            guards.extend(self.take_ownership(&v, span));
            place = v.place;
            arg_ty = v.ty;
            // `Some(Box::new(move || ..))` is still that closure's value.
            func = v.func.or(func);
            if boxed {
                if let Some(c) = &v.closure {
                    let kind = match role {
                        ArgRole::IrqRegistrar => "irq",
                        ArgRole::Plain => "closure",
                    };
                    func = Some(self.spawn_closure_kind(c, kind));
                }
            } else {
                // `Some(move || ..)` is still that closure.
                closure = v.closure.or(closure);
            }
        }
        if boxed {
            self.emit(Op::Block {
                kind: BlockKind::Alloc(pc.segs.join("::").into()),
                span,
            });
        }
        let ty = arg_ty.map(|t| TypeRef::Path {
            segs: match pc.last.as_str() {
                "Some" => vec!["Option".into()],
                "Ok" | "Err" => vec!["Result".into()],
                _ => pc.segs[..pc.segs.len() - 1].to_vec(),
            },
            args: vec![t],
        });
        Some(Val {
            fresh: !guards.is_empty(),
            guards,
            place,
            closure,
            func,
            ty,
            ..Val::default()
        })
    }

    /// `Arc::clone(&x)`, `Pin::new(x)`, …: the same place as the argument.
    fn try_same_place_wrapper(&mut self, pc: &PathCall<'_>) -> Option<Val> {
        let wrapper = pc.two("Arc", "clone")
            || pc.two("Rc", "clone")
            || pc.two("Clone", "clone")
            || pc.two("Pin", "new")
            || pc.two("NonNull", "from");
        if !wrapper || pc.c.args.len() != 1 {
            return None;
        }
        let v = self.operand(&pc.c.args[0]);
        Some(Val {
            place: v.place,
            ..Val::default()
        })
    }

    /// Explicit acquire / release function pairs (`KeAcquireSpinLock(&l, ..)`, configured
    /// `[[lock_pair]]`s) on the place passed first.
    fn try_lock_pair_fn(&mut self, pc: &PathCall<'_>) -> Option<Val> {
        let last = pc.last.as_str();
        let acquire = lock_api::ACQUIRE_FNS.iter().any(|(n, _, _)| *n == last)
            || self.config.lock_pairs.iter().any(|p| p.acquire == last);
        let release = lock_api::RELEASE_FNS.contains(&last)
            || self.config.lock_pairs.iter().any(|p| p.release == last);
        if !(acquire || release) || pc.c.args.is_empty() {
            return None;
        }
        let first = self.operand(&pc.c.args[0]);
        for a in pc.c.args.iter().skip(1) {
            let _ = self.operand(a);
        }
        let place = Box::new(
            first
                .place
                .unwrap_or_else(|| Place::opaque(tokens(&pc.c.args[0]))),
        );
        if acquire {
            self.emit(Op::Acquire {
                place,
                method: crate::lock_api::acq_method(&pc.last),
                style: AcqStyle::Raw,
                mode: Mode::Exclusive,
                is_try: false,
                guard: None,
                unwrapped: false,
                span: pc.span,
            });
        } else {
            self.emit(Op::Unlock {
                place,
                method: pc.last.clone().into(),
                span: pc.span,
            });
        }
        Some(Val::default())
    }

    /// Any other call of a path: what its name says it does (sleeps, counts a resource,
    /// allocates), the call itself with its closures (run here, elsewhere, or with
    /// interrupts masked), and its result.
    fn plain_path_call(&mut self, pc: &PathCall<'_>) -> Val {
        let span = pc.span;
        let last = pc.last.as_str();
        let registrar = lock_api::is_irq_registrar(last);
        let CallArgs {
            args,
            by_value,
            mut closures,
            moved,
            tys,
            funcs,
            closure_args,
        } = self.call_args(pc.c.args.iter(), ArgRole::of(registrar));
        self.path_call_effects(pc);
        let ty = constructor_type(&pc.segs).map(|t| match (t, tys.as_slice()) {
            // `Arc::new(x)`, `Mutex::new(x)`: the wrapper of the argument's type (a type's
            // own parameters take it only when it has as many, see `Index::walk_place`).
            (TypeRef::Path { segs, .. }, [Some(a)]) => TypeRef::Path {
                segs,
                args: vec![a.clone()],
            },
            (t, _) => t,
        });
        let result = if self.stmt_expr == Some(span) {
            None
        } else {
            Some(self.new_guard())
        };
        let node = self.emit(Op::Call {
            callee: std::sync::Arc::new(Callee::Path(pc.segs.clone())),
            span,
            args: args.into(),
            by_value,
            result,
        });
        self.note_moves(node, &moved);
        // `Arc::new(Box::new(move || ..))` is still that closure's value.
        let shared = pc.two("Arc", "new") || pc.two("Rc", "new");
        let shares = shared || pc.two("Box", "pin");
        let mut func = funcs
            .first()
            .filter(|(i, _)| shares && *i == 0)
            .map(|(_, f)| f.clone());
        self.arg_fn_stores(node, funcs);
        self.irq_effect(&pc.segs, result, span);
        if registrar && !closures.is_empty() {
            // The first callback is the handler; others passed beside it (a threaded
            // handler, deferred work) run elsewhere, in process context.
            let handler = closures.remove(0);
            self.spawn_closure_kind(&handler, "irq");
            for cl in closures.drain(..) {
                self.spawn_closure(&cl);
            }
        }
        if pc.masks_irq_around_closure() {
            self.emit(Op::IrqOff { span });
            self.run_closures(closures, ClosureRun::Inline(None), span);
            self.emit(Op::IrqOn);
        } else if pc.spawns() {
            let spawned = self.run_closures(closures, ClosureRun::Elsewhere, span);
            // `Arc::new(move || ..)` is that closure's value.
            if let [f] = spawned.as_slice() {
                if shared {
                    func = Some(f.clone());
                }
            }
            self.arg_fn_stores(node, closure_args.iter().copied().zip(spawned).collect());
        } else {
            let std = matches!(
                pc.segs.first().map(String::as_str),
                Some("std" | "core" | "alloc")
            );
            let copies = !std && !lock_api::runs_closure_now(last);
            let with_args = with_args(copies, &closure_args, &closures);
            self.run_closures(closures, ClosureRun::Inline(None), span);
            self.value_copies(&with_args, node);
        }
        for (_, g) in moved {
            self.emit(Op::Release {
                guard: g,
                span,
                explicit: true,
            });
        }
        // The arguments are part of the spelling: `get_by_pid(pgid)` and `get_by_pid(pid)` are
        // two lookups, one object only when their arguments are.
        let args: Vec<String> = pc.c.args.iter().map(super::syntax::tokens).collect();
        Val {
            place: Some(Place {
                root: Root::Call(pc.segs.clone().into()),
                proj: Vec::new(),
                text: format!("{}({})", pc.segs.join("::"), args.join(", ")).into(),
            }),
            guards: result.into_iter().collect(),
            fresh: result.is_some(),
            ty,
            func,
            ..Val::default()
        }
    }
}
