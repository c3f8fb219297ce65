use std::collections::BTreeMap;

use lockstep_analyzer::flow::FnFlow;
use lockstep_analyzer::ir::{LockClass, Mode};
use lockstep_analyzer::irq::IrqLevel;
use lockstep_analyzer::{Analysis, Diagnostic, Label, Span};

use crate::util::{chain_labels, short_class};
use crate::{Lint, LintContext, LintMeta};

declare_lint! {
    /// ## What it does
    /// lockdep's rule for interrupt context: a lock that is acquired in an interrupt handler
    /// (or anything a handler calls) must be acquired everywhere else with interrupts disabled
    /// — `lock_irqsave` / `lock_irq_disabled` rather than `lock`, inside `without_interrupts` /
    /// `critical_section::with`, or `KeAcquireInterruptSpinLock` rather than
    /// `KeAcquireSpinLock`. It also reports an interrupt-safe lock held while acquiring a lock
    /// that is elsewhere taken with interrupts enabled.
    ///
    /// Handlers are the functions named in `irq_handlers`, functions with an `#[interrupt]`
    /// style attribute, functions and closures passed to IRQ registrars (`request_irq`,
    /// `register_irq_handler`, …) and, in a `no_std` crate outside its tests, handler-shaped
    /// names (`handle_irq`, `irq_handler`, `*_isr`): in a std program a virtual device's
    /// `handle_interrupt` runs on an ordinary thread. A name counts in full when something
    /// beside it says so: the function can be entered from an assembly stub (`extern "C"`,
    /// `#[no_mangle]`), is a method of an interrupt-handler trait (`impl IrqHandler for ..`)
    /// or answers the interrupt core (`-> IrqReturn`);
    /// a finding that rests on a name alone (`fn do_init_irq_handler()` may just as well set
    /// handlers up) is a warning, and its note says so. Soft-interrupt handlers (bottom halves,
    /// DPCs) come from `softirq_handlers`; a lock they use must be taken elsewhere with bottom
    /// halves (or interrupts) disabled. A callback stored into a field, a table or a
    /// collection (`self.handlers.push(Box::new(..))`, `LINES[n] = Some(f)`) runs where it is
    /// called through that place: in interrupt context when a handler calls it, and the
    /// finding labels that call. A function that runs in both contexts (a handler calls it, and
    /// so does process code with interrupts enabled) is reported at its own acquisition, where
    /// the fix goes, with the enabled caller labelled. A path that reaches the lock through a
    /// call dispatched on a trait (a `dyn` or `impl` value, a bounded type parameter) runs
    /// every impl of that trait there, though one value has one type: such a finding is a
    /// warning, it labels the dispatched call and its note names the trait.
    ///
    /// ## Why is this bad?
    /// Process context holds the lock with interrupts enabled; the interrupt arrives on the
    /// same CPU and its handler spins on the lock forever.
    ///
    /// ## Known problems
    /// Bottom halves disabled by an outer `_bh` lock do not count for the locks taken inside
    /// it (interrupts masked by an outer lock do). A handler registered through an API whose
    /// name does not mention irq or interrupt, and that no analyzed handler calls through a
    /// stored value, must be listed in `irq_handlers`. Interrupts masked by a guard value that is not a lock
    /// (`let _g = irq::disable_local();`) are not seen: acquisitions under it count as
    /// interrupts enabled. A lock whose guard-policy type argument masks interrupts for writers
    /// only (`RwLock<T, WriteIrqDisabled>`) is taken as irq-safe for readers too.
    ///
    /// ## Example
    /// ```rust,ignore
    /// fn handle_irq(&self) { self.rx.lock().push(frame); }
    /// fn poll(&self) { let q = self.rx.lock(); … } // interrupts still enabled
    /// ```
    /// Use instead: `let q = self.rx.lock_irqsave();` in process context.
    pub IRQ_UNSAFE_LOCK, "irq_unsafe_lock", Deny, "a lock used in interrupt context is taken elsewhere with interrupts enabled"
}

pub struct IrqUnsafeLock;

struct IrqUse {
    span: Span,
    handler: String,
    /// Flows from the handler down to the acquiring function (`IrqOrigin::path`).
    path: Vec<usize>,
    level: IrqLevel,
    /// Some use in interrupt context takes it for writing (or exclusively).
    write: bool,
    /// The handler is one by its name only (`IrqOrigin::by_name`).
    by_name: bool,
    /// The path from the handler assumes the impl behind a trait call (`IrqOrigin::via_trait`).
    via_trait: Option<String>,
}

impl IrqUse {
    /// How much of this use is assumed: a handler by name, then an impl behind a trait call.
    fn weakness(&self) -> (bool, bool) {
        (self.by_name, self.via_trait.is_some())
    }
}

/// The highest interrupt level each class is used at, with one site.
type IrqUses = BTreeMap<LockClass, IrqUse>;

/// An acquisition with interrupts enabled of a lock used in interrupt context: the primary
/// site (the acquisition, or the call that leads to it), the call chain's labels, and whether
/// it is for writing.
struct UnsafeUse {
    span: Span,
    labels: Vec<Label>,
    write: bool,
    /// The acquisition is the one the interrupt handler reaches too: one function runs in
    /// both contexts, and the lock is taken there with interrupts enabled.
    both: bool,
    /// The call chain to the acquisition goes through a call dispatched through this trait.
    via_trait: Option<String>,
}

/// class → its acquisitions with interrupts enabled.
type UnsafeUses = BTreeMap<LockClass, Vec<UnsafeUse>>;

/// The interrupt level an acquisition keeps out: masked interrupts, or bottom halves (a
/// `_bh` method disables soft interrupts only).
fn protection(irq: bool, bh: bool) -> Option<IrqLevel> {
    if irq {
        Some(IrqLevel::Hard)
    } else if bh {
        Some(IrqLevel::Soft)
    } else {
        None
    }
}

/// An acquisition at context `ctx` (None = process) protected up to `prot` is unsafe for a
/// lock used at a higher level than both.
fn exposed(irq_uses: &IrqUses, class: &str, ctx: Option<IrqLevel>, prot: Option<IrqLevel>) -> bool {
    irq_uses
        .get(class)
        .is_some_and(|u| Some(u.level) > ctx && Some(u.level) > prot)
}

impl Lint for IrqUnsafeLock {
    fn meta(&self) -> &'static LintMeta {
        &IRQ_UNSAFE_LOCK
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
        let irq_uses = irq_uses(cx.analysis);
        if irq_uses.is_empty() {
            return;
        }
        let unsafe_uses = unsafe_uses(cx.analysis, &irq_uses);
        for (class, uses) in &unsafe_uses {
            if let Some(d) = unsafe_use_finding(cx, class, uses, &irq_uses) {
                out.push(d);
            }
        }
        nesting_findings(cx.analysis, &irq_uses, &unsafe_uses, out);
    }
}

/// Every class acquired in interrupt context, at the highest level it is used at.
fn irq_uses(a: &Analysis) -> IrqUses {
    let mut irq_uses = IrqUses::new();
    for (i, flow) in a.flows.iter().enumerate() {
        let Some(origin) = &a.irq[i] else { continue };
        for acq in &flow.acquisitions {
            // a lock of an object no one else can reach yet conflicts with nothing
            if acq.is_try || acq.lock.unshared {
                continue;
            }
            let u = IrqUse {
                span: acq.span,
                handler: origin.handler.clone(),
                path: origin.path.clone(),
                level: origin.level,
                write: acq.mode != Mode::Read,
                by_name: origin.by_name,
                via_trait: origin.via_trait.clone(),
            };
            match irq_uses.get_mut(&acq.lock.class) {
                // the highest level, on the strongest evidence (a handler known by more than
                // its name, a path that assumes no impl behind a trait call)
                Some(old)
                    if old.level > u.level
                        || old.level == u.level && old.weakness() <= u.weakness() =>
                {
                    old.write |= u.write
                }
                Some(old) => {
                    let write = old.write || u.write;
                    *old = IrqUse { write, ..u };
                }
                None => {
                    irq_uses.insert(acq.lock.class, u);
                }
            }
        }
    }
    irq_uses
}

/// Every acquisition, direct or through a call, of a lock used in interrupt context at a
/// level its context does not keep out.
fn unsafe_uses(a: &Analysis, irq_uses: &IrqUses) -> UnsafeUses {
    let mut unsafe_uses = UnsafeUses::new();
    for (i, flow) in a.flows.iter().enumerate() {
        let ctx = a.irq[i].as_ref().map(|o| o.level);
        if ctx == Some(IrqLevel::Hard) {
            continue;
        }
        direct_unsafe_uses(flow, ctx, irq_uses, &mut unsafe_uses);
        call_unsafe_uses(a, i, ctx, irq_uses, &mut unsafe_uses);
    }
    unsafe_uses
}

/// The acquisitions of one function at context `ctx`.
fn direct_unsafe_uses(
    flow: &FnFlow,
    ctx: Option<IrqLevel>,
    irq_uses: &IrqUses,
    unsafe_uses: &mut UnsafeUses,
) {
    for acq in &flow.acquisitions {
        let held_irq = acq.held.iter().any(|h| h.irq_method);
        let prot = protection(
            acq.irq_method || acq.irq_region || held_irq,
            acq.method.masks_bh,
        );
        if acq.is_try || acq.lock.unshared || !exposed(irq_uses, &acq.lock.class, ctx, prot) {
            continue;
        }
        unsafe_uses
            .entry(acq.lock.class)
            .or_default()
            .push(UnsafeUse {
                span: acq.span,
                labels: Vec::new(),
                write: acq.mode != Mode::Read,
                both: false,
                via_trait: None,
            });
    }
}

/// The acquisitions of the callees of flow `i` (at context `ctx`) that run at a higher
/// level too, reported at the call (at the acquisition itself when the interrupt handler reaches
/// that same acquisition: one function runs in both contexts).
fn call_unsafe_uses(
    a: &Analysis,
    i: usize,
    ctx: Option<IrqLevel>,
    irq_uses: &IrqUses,
    unsafe_uses: &mut UnsafeUses,
) {
    for (ci, c) in a.flows[i].calls.iter().enumerate() {
        if c.irq_region || c.held.iter().any(|h| h.irq_method) {
            continue;
        }
        for t in a
            .interproc
            .targets
            .get(i)
            .and_then(|t| t.get(ci))
            .into_iter()
            .flatten()
        {
            // Callees that run only in this context are reported at their own acquisitions.
            if a.irq[t.flow].as_ref().map(|o| o.level) <= ctx {
                continue;
            }
            for s in &a.interproc.summaries[t.flow].acquires {
                let prot = protection(s.irq_method, false);
                if s.is_try || s.lock.unshared || !exposed(irq_uses, &s.lock.class, ctx, prot) {
                    continue;
                }
                let callee = a.func(a.flows[t.flow].func);
                let calls = Label::new(
                    c.span,
                    format!("calls `{}` with interrupts enabled", callee.name),
                );
                // The handler reaches this very acquisition: the fix is there, where the
                // function that runs in both contexts takes the lock.
                let both = irq_uses.get(&s.lock.class).is_some_and(|u| u.span == s.site);
                let mut labels = vec![if both {
                    Label::new(s.site, "")
                } else {
                    calls.clone()
                }];
                if both {
                    labels.push(calls);
                }
                labels.extend(chain_labels(&s.chain));
                if !both {
                    labels.push(Label::new(s.site, "acquired here"));
                }
                unsafe_uses
                    .entry(s.lock.class)
                    .or_default()
                    .push(UnsafeUse {
                        span: if both { s.site } else { c.span },
                        labels,
                        write: s.mode != Mode::Read,
                        both,
                        via_trait: t
                            .via_trait
                            .clone()
                            .or_else(|| s.chain.iter().find_map(|c| c.via_trait.clone())),
                    });
            }
        }
    }
}

/// The finding of one class used in interrupt context and acquired with interrupts enabled,
/// at its first writing use (by file path and position).
fn unsafe_use_finding(
    cx: &LintContext<'_>,
    class: &str,
    uses: &[UnsafeUse],
    irq_uses: &IrqUses,
) -> Option<Diagnostic> {
    let iu = irq_uses.get(class)?;
    // Readers on both sides deadlock only where a waiting writer holds new readers
    // back; a writing side is reported first.
    let read_only = !iu.write && uses.iter().all(|u| !u.write);
    // An acquisition the handler reaches too (a function running in both contexts) first:
    // masking there fixes every path to it at once. Then one whose call chain assumes no impl
    // behind a trait call, then by file and position.
    let rank = |u: &UnsafeUse| (!u.both, u.via_trait.is_some());
    let first = uses.iter().min_by(|x, y| {
        let px = &cx.db.get(x.span.file).path;
        let py = &cx.db.get(y.span.file).path;
        (!x.write, rank(x), px, x.span.start).cmp(&(!y.write, rank(y), py, y.span.start))
    })?;
    let name = short_class(class);
    let handler = lockstep_analyzer::ir::last_two_segments(&iu.handler);
    let mut d = Diagnostic::new(
        IRQ_UNSAFE_LOCK.name,
        IRQ_UNSAFE_LOCK.default_level,
        match iu.level {
            IrqLevel::Hard => format!(
                "`{name}` is used in interrupt context but acquired here with interrupts enabled"
            ),
            IrqLevel::Soft => format!(
                "`{name}` is used in soft-interrupt context (bottom half, DPC) but acquired here with bottom halves enabled"
            ),
        },
        Label::new(
            first.span,
            if first.both {
                match iu.level {
                    IrqLevel::Hard => format!("acquired with interrupts enabled, and in interrupt context (handler `{handler}`)"),
                    IrqLevel::Soft => format!("acquired with bottom halves enabled, and in soft-interrupt context (`{handler}`)"),
                }
            } else {
                "acquired with interrupts enabled".to_string()
            },
        ),
    );
    for l in first.labels.iter().skip(1) {
        d.labels.push(l.clone());
    }
    if !first.both {
        d = d.with_label(
            iu.span,
            match iu.level {
                IrqLevel::Hard => {
                    format!("also acquired in interrupt context (handler `{handler}`)")
                }
                IrqLevel::Soft => format!("also acquired in soft-interrupt context (`{handler}`)"),
            },
        );
    }
    d.labels.extend(value_hops(cx.analysis, &iu.path));
    let places: std::collections::BTreeSet<(u32, u32)> =
        uses.iter().map(|u| (u.span.file.0, u.span.start)).collect();
    if places.len() > 1 {
        d = d.with_note(format!(
            "{} places acquire it with interrupts enabled",
            places.len()
        ));
    }
    if let Some(n) = crate::util::alias_note(cx.analysis, class) {
        d = d.with_note(n);
    }
    if iu.by_name {
        d.level = lockstep_analyzer::Level::Warn;
        d = d.with_note(format!(
            "`{handler}` is taken for an interrupt handler by its name only (not `extern`, `#[no_mangle]`, registered, a method of an interrupt-handler trait, or returning `IrqReturn`); name it in `irq_handlers` if it is one"
        ));
    }
    if let Some(t) = iu.via_trait.as_ref().or(first.via_trait.as_ref()) {
        d.level = lockstep_analyzer::Level::Warn;
        d = d.with_note(format!(
            "this path assumes a call through trait `{t}` reaches the impl shown"
        ));
    }
    if read_only {
        d.level = lockstep_analyzer::Level::Warn;
        d = d.with_note(
            "both sides only read: this deadlocks only when a writer waiting on another CPU holds new readers back (a fair or writer-preferring rwlock)",
        );
    }
    Some(
        d.with_help("acquire it with interrupts disabled (`lock_irqsave`, `lock_irq_disabled`, `critical_section::with`)")
            .with_key(format!("irq_unsafe_lock:{class}")),
    )
}

/// The steps from an interrupt handler down to an acquisition that call a function value (a
/// callback stored into a field, a table or a local): the call site, and where it reads the
/// value from; and those dispatched through a trait, with the impl assumed there.
fn value_hops(a: &Analysis, path: &[usize]) -> Vec<Label> {
    let mut out = Vec::new();
    for w in path.windows(2) {
        let (from, to) = (w[0], w[1]);
        let calls = &a.flows[from].calls;
        let targets = a.interproc.targets.get(from);
        let hop = calls.iter().enumerate().find(|(ci, _)| {
            targets
                .and_then(|t| t.get(*ci))
                .is_some_and(|t| t.iter().any(|t| t.flow == to))
        });
        let Some((ci, c)) = hop else { continue };
        let via = targets
            .and_then(|t| t.get(ci))
            .and_then(|t| t.iter().find(|t| t.flow == to))
            .and_then(|t| t.via_trait.as_deref());
        if let Some(tr) = via {
            let callee = lockstep_analyzer::ir::last_two_segments(&a.func(a.flows[to].func).path);
            out.push(Label::new(
                c.span,
                format!("dispatched through trait `{tr}`: assumed to run `{callee}`"),
            ));
            continue;
        }
        let lockstep_analyzer::ir::Callee::Value { text, place } = &*c.callee else {
            continue;
        };
        let func = a.func(a.flows[from].func);
        let slot = place.as_ref().and_then(|p| {
            lockstep_analyzer::resolve::fnvalues::slot(&a.index, &a.files, func, p)
        });
        let callee = a.func(a.flows[to].func);
        let what = if callee.name.starts_with('{') {
            "the closure".to_string()
        } else {
            format!("`{}`", callee.name)
        };
        out.push(Label::new(
            c.span,
            match slot {
                Some(s) => format!("`{text}` calls {what} stored into `{}`", short_class(&s)),
                None => format!("`{text}` calls {what}"),
            },
        ));
    }
    out
}

/// An interrupt-safe lock nesting one that is taken with interrupts enabled.
fn nesting_findings(
    a: &Analysis,
    irq_uses: &IrqUses,
    unsafe_uses: &UnsafeUses,
    out: &mut Vec<Diagnostic>,
) {
    for (from, to) in a.lock_graph.blocking_edges() {
        if !irq_uses.contains_key(&from)
            || irq_uses.contains_key(&to)
            || !unsafe_uses.contains_key(&to)
        {
            continue;
        }
        let Some(w) = a
            .lock_graph
            .witnesses(&from, &to)
            .iter()
            .find(|w| !w.is_try)
        else {
            continue;
        };
        let mut d = Diagnostic::new(
            IRQ_UNSAFE_LOCK.name,
            IRQ_UNSAFE_LOCK.default_level,
            format!(
                "interrupt-safe lock `{}` is held while acquiring `{}`, which is taken elsewhere with interrupts enabled",
                short_class(&from),
                short_class(&to)
            ),
            Label::new(w.to_span, format!("`{}` acquired here", short_class(&to))),
        )
        .with_label(w.from_span, format!("`{}` held since here", short_class(&from)));
        for l in chain_labels(&w.chain) {
            d.labels.push(l);
        }
        if let Some(u) = unsafe_uses.get(&to).and_then(|v| v.first()) {
            d = d.with_label(
                u.span,
                format!("`{}` acquired with interrupts enabled", short_class(&to)),
            );
        }
        if let Some(t) = w.via_trait() {
            d.level = lockstep_analyzer::Level::Warn;
            d = d.with_note(format!(
                "this path assumes a call through trait `{t}` reaches the impl shown"
            ));
        }
        out.push(
            d.with_help(
                "take the inner lock with interrupts disabled everywhere, or do not nest it",
            )
            .with_key(format!("irq_unsafe_lock:nest:{from}:{to}")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{assert_message, Tester};

    /// A kernel spin lock with its interrupt-saving and bottom-half variants.
    macro_rules! kernel {
        () => {
            "#![no_std]\n\
             pub mod kernel {\n\
                 pub struct SpinLock<T>(core::cell::UnsafeCell<T>);\n\
                 pub struct Guard<'a, T>(&'a SpinLock<T>);\n\
                 impl<T> SpinLock<T> {\n\
                     pub fn lock(&self) -> Guard<'_, T> { Guard(self) }\n\
                     pub fn try_lock(&self) -> Option<Guard<'_, T>> { Some(Guard(self)) }\n\
                     pub fn lock_irqsave(&self) -> Guard<'_, T> { Guard(self) }\n\
                     pub fn lock_bh(&self) -> Guard<'_, T> { Guard(self) }\n\
                 }\n\
             }\n\
             use kernel::SpinLock;\n\
             pub struct Nic { rx: SpinLock<u32>, tx: SpinLock<u32>, stats: SpinLock<u64>, status: SpinLock<u32> }\n"
        };
    }

    const POLL: &str = concat!(
        kernel!(),
        "impl Nic {
    pub fn handle_irq(&self) {
        let _rx = self.rx.lock();
    }
    pub fn poll(&self) {
        let _rx = self.rx.lock();
    }
}"
    );

    #[test]
    fn vectors() {
        Tester::new(&IrqUnsafeLock)
            .pass(&[
                // process context masks interrupts
                concat!(
                    kernel!(),
                    "impl Nic {
                        pub fn handle_irq(&self) { let _rx = self.rx.lock(); }
                        pub fn poll(&self) { let _rx = self.rx.lock_irqsave(); }
                    }"
                ),
                // no handler takes the lock
                concat!(
                    kernel!(),
                    "impl Nic {
                        pub fn handle_irq(&self) { let _tx = self.tx.lock(); }
                        pub fn poll(&self) { let _rx = self.rx.lock(); }
                    }"
                ),
                // only the handler takes it
                concat!(
                    kernel!(),
                    "impl Nic { pub fn handle_irq(&self) { let _rx = self.rx.lock(); } }"
                ),
                // a try-lock in process context does not wait for the handler
                concat!(
                    kernel!(),
                    "impl Nic {
                        pub fn handle_irq(&self) { let _rx = self.rx.lock(); }
                        pub fn poll(&self) { if let Some(g) = self.rx.try_lock() { drop(g); } }
                    }"
                ),
                // a helper whose name mentions interrupts is not a handler
                concat!(
                    kernel!(),
                    "impl Nic {
                        pub fn clear_interrupt(&self) { let _tx = self.tx.lock(); }
                        pub fn poll(&self) { let _tx = self.tx.lock(); }
                    }"
                ),
                // bottom halves disabled against a tasklet
                concat!(
                    kernel!(),
                    "impl Nic {
                        pub fn rx_tasklet(&self) { let _q = self.rx.lock(); }
                        pub fn enqueue(&self) { let _q = self.rx.lock_bh(); }
                    }"
                ),
                // inside a critical section interrupts are masked
                concat!(
                    kernel!(),
                    "pub mod critical_section { pub fn with<R>(f: impl FnOnce(()) -> R) -> R { f(()) } }
                    impl Nic {
                        pub fn handle_irq(&self) { let _rx = self.rx.lock(); }
                        pub fn poll(&self) { critical_section::with(|_| { let _rx = self.rx.lock(); }); }
                    }"
                ),
                // in a std program a handler-shaped name alone makes no handler
                "use std::sync::Mutex;
                pub struct Routes { table: Mutex<u32> }
                impl Routes {
                    pub fn handle_irq(&self) { let _t = self.table.lock().unwrap(); }
                    pub fn lookup(&self) { let _t = self.table.lock().unwrap(); }
                }",
                // the helper the handler calls is called with interrupts masked
                concat!(
                    kernel!(),
                    "impl Nic {
                        pub fn handle_irq(&self) { self.ack(); }
                        fn ack(&self) { let _tx = self.tx.lock(); }
                        pub fn reclaim(&self) { let _rx = self.rx.lock_irqsave(); let _tx = self.tx.lock_irqsave(); }
                    }"
                ),
            ])
            .fail(&[
                POLL,
                // `ack` runs in the handler too, and is called with interrupts enabled
                concat!(
                    kernel!(),
                    "impl Nic {
                        pub fn handle_irq(&self) { self.ack(); }
                        fn ack(&self) { let _tx = self.tx.lock(); }
                        pub fn reclaim(&self) { self.ack(); }
                    }"
                ),
                // an interrupt-safe lock nests one taken elsewhere with interrupts enabled
                concat!(
                    kernel!(),
                    "impl Nic {
                        pub fn handle_irq(&self) { let _st = self.status.lock(); let _s = self.stats.lock(); }
                        pub fn read_stats(&self) { let _s = self.stats.lock(); }
                        pub fn status(&self) { let _g = self.status.lock_irqsave(); }
                    }"
                ),
                // a tasklet shares the queue with process context
                concat!(
                    kernel!(),
                    "impl Nic {
                        pub fn rx_tasklet(&self) { let _q = self.rx.lock(); }
                        pub fn enqueue(&self) { let _q = self.rx.lock(); }
                    }"
                ),
                // an ISR by its name's suffix
                concat!(
                    kernel!(),
                    "impl Nic {
                        pub fn uart_isr(&self) { let _tx = self.tx.lock(); }
                        pub fn write(&self) { let _tx = self.tx.lock(); }
                    }"
                ),
                // a handler passed to an IRQ registrar
                concat!(
                    kernel!(),
                    "fn request_irq(_irq: u32, _h: fn(&Nic)) {}
                    fn on_rx(nic: &Nic) { let _rx = nic.rx.lock(); }
                    impl Nic {
                        pub fn open(&self) { request_irq(5, on_rx); }
                        pub fn poll(&self) { let _rx = self.rx.lock(); }
                    }"
                ),
                // readers on both sides (reported at warn)
                "#![no_std]
                pub mod kernel {
                    pub struct RwLock<T>(core::cell::UnsafeCell<T>);
                    pub struct ReadGuard<'a, T>(&'a RwLock<T>);
                    impl<T> RwLock<T> { pub fn read(&self) -> ReadGuard<'_, T> { ReadGuard(self) } }
                }
                pub struct Routes { table: kernel::RwLock<u32> }
                impl Routes {
                    pub fn handle_irq(&self) { let _t = self.table.read(); }
                    pub fn lookup(&self) { let _t = self.table.read(); }
                }",
            ])
            .run();
    }

    #[test]
    fn message() {
        assert_message(
            &IrqUnsafeLock,
            POLL,
            &[
                "warn[irq_unsafe_lock]: `Nic.rx` is used in interrupt context but acquired here with interrupts enabled",
                "  --> 19:19 `self.rx.lock()`: acquired with interrupts enabled",
                "   - 16:19 `self.rx.lock()`: also acquired in interrupt context (handler `Nic::handle_irq`)",
                "  note: `Nic::handle_irq` is taken for an interrupt handler by its name only (not `extern`, `#[no_mangle]`, registered, a method of an interrupt-handler trait, or returning `IrqReturn`); name it in `irq_handlers` if it is one",
                "  help: acquire it with interrupts disabled (`lock_irqsave`, `lock_irq_disabled`, `critical_section::with`)",
                "  key: irq_unsafe_lock:crate::Nic.rx",
            ],
        );
    }
}
