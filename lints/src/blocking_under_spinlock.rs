use std::collections::BTreeSet;

use lockstep_analyzer::flow::HeldLock;
use lockstep_analyzer::interproc::ChainStep;
use lockstep_analyzer::ir::{BlockKind, FnDef, LockClass};
use lockstep_analyzer::lock_graph::{CallBlock, CallSleep};
use lockstep_analyzer::{Diagnostic, Label, SourceDb, Span};

use crate::util::{func, lock_name};
use crate::{Lint, LintContext, LintMeta};

declare_lint! {
    /// ## What it does
    /// Finds a blocking operation while a spinlock is held: sleeping (`thread::sleep`,
    /// `msleep`, `schedule`, `KeDelayExecutionThread`), `.await`, a blocking channel receive or
    /// thread join, waiting on a condition variable, acquiring a sleeping mutex, allocation
    /// that may sleep, or a loop with no exit that does not release the spinlock.
    ///
    /// Spinlocks are `spin` crate locks, Rust-for-Linux `SpinLock`, the irq-saving variants,
    /// WDK/NDIS spin locks and types declared `spin = true` in the configuration. A guard
    /// made from a spinlock guard (`SpinlockGuard::map`, an upgrade or downgrade) still holds
    /// the spinlock; inside `MutexGuard::unlocked(&mut g, || ..)` it is not held.
    ///
    /// Allocation: a call with `GFP_KERNEL` always counts. Heap allocation (`Box::new`,
    /// `Arc::new`, `vec!`, `Vec::with_capacity`, and growing a heap collection: `push`,
    /// `insert`, `extend`, `reserve`, … on a `Vec`, `VecDeque`, `String`, `BTreeMap`, …, but not
    /// on `heapless`/`arrayvec` collections) counts in a crate whose root declares
    /// `#![no_std]` — also through `#![cfg_attr(<any condition>, no_std)]`, since the build
    /// that matters is the `no_std` one — and nowhere else. `alloc_blocks = true` in the
    /// configuration makes it count in every crate, `alloc_blocks = false` in none.
    ///
    /// A loop with no exit is a `loop` (or `while true`) that nothing leaves — no `break` out
    /// of it, no `return`, no `?`, no `continue` of an outer loop — that comes back to its
    /// head and does not block inside (a sleep or `.await` in it is reported itself). A
    /// spinlock held when it is entered and not released in its body (a guard dropped, a
    /// `spin_unlock`) is never released again. A call to a function with such a loop
    /// (`fn halt() -> ! { loop { wfi() } }`) counts at the call.
    ///
    /// Through calls: a callee that blocks or takes a sleeping lock, directly or further down,
    /// while the caller holds a spinlock is reported at the call. When the caller moved the
    /// spinlock's guard into the callee (a by-value `SpinLockGuard` parameter that the callee
    /// still holds where it blocks), the callee holds the lock there: the finding is in the
    /// callee, once, with the caller's acquisition and the call that moved the guard as
    /// labels.
    ///
    /// ## Why is this bad?
    /// Every other CPU that wants the lock spins for as long as the holder sleeps; in interrupt
    /// or DPC context sleeping is not allowed at all. On one CPU it never wakes up. A kernel
    /// allocator may sleep to reclaim memory (Linux `GFP_KERNEL`). A halt loop after a fatal
    /// error with the console lock held makes every other CPU that reports its own error spin
    /// forever on that lock.
    ///
    /// ## Known problems
    /// Blocking inside a callee is only seen through the call graph; calls into code outside the
    /// workspace are assumed not to block unless the configuration says so. Many embedded
    /// `no_std` heaps (`linked_list_allocator`, `embedded-alloc`) never sleep: they only take
    /// their own lock or mask interrupts; for such crates set `alloc_blocks = false`. Growing a
    /// collection is seen only where the receiver's type is written (a field, a typed local or
    /// parameter). A panic is not an exit of a loop (the lock stays held while it unwinds or
    /// halts), and neither is a call to a function that never returns: a loop whose only way
    /// out is such a call is reported. A loop whose body releases the lock only through a
    /// callee (a helper that unlocks) is reported. A deliberate halt loop with a lock held is
    /// reported: release the lock first, or allow the finding there with a reason.
    ///
    /// ## Example
    /// ```rust,ignore
    /// let table = self.table.lock(); // spin::Mutex
    /// std::thread::sleep(BACKOFF);
    ///
    /// let console = CONSOLE.lock();  // spin::Mutex
    /// console.write(msg);
    /// loop { core::hint::spin_loop() } // halts with the console locked
    /// ```
    /// Use instead: drop the guard before sleeping, looping forever or allocating, or use a
    /// sleeping lock.
    pub BLOCKING_UNDER_SPINLOCK, "blocking_under_spinlock", Warn, "a blocking operation runs while a spinlock is held"
}

pub struct BlockingUnderSpinlock;

fn spinning(held: &[HeldLock]) -> Vec<&HeldLock> {
    held.iter()
        .filter(|h| h.lock.kind.spin && h.leaked.is_none())
        .collect()
}

fn describe(kind: &BlockKind) -> String {
    match kind {
        BlockKind::Sleep(s) => format!("`{s}` sleeps"),
        BlockKind::Await => "`.await` may suspend".into(),
        BlockKind::CondWait(_) => "waiting on a condition variable blocks".into(),
        BlockKind::ChannelRecv(s) => format!("`{s}` blocks until a message arrives"),
        BlockKind::Join => "`join` blocks until the thread ends".into(),
        BlockKind::Alloc(s) if s.contains("GFP_KERNEL") => format!("`{s}` may sleep to allocate"),
        BlockKind::Alloc(s) => format!("`{s}` may block in the allocator"),
        BlockKind::Spin { .. } => "this loop never exits".into(),
    }
}

impl Lint for BlockingUnderSpinlock {
    fn meta(&self) -> &'static LintMeta {
        &BLOCKING_UNDER_SPINLOCK
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
        // Crates whose root says `#![no_std]` (also through `cfg_attr`): allocation there is
        // taken to block unless the configuration says otherwise.
        let no_std: BTreeSet<&str> = cx
            .analysis
            .files
            .iter()
            .filter(|f| f.no_std)
            .map(|f| cx.db.get(f.file).crate_name.as_str())
            .collect();
        let mut seen = Seen::default();
        for flow in &cx.analysis.flows {
            let f = func(cx.analysis, flow);
            let alloc_blocks = cx
                .config
                .alloc_blocks
                .unwrap_or_else(|| no_std.contains(cx.db.get(f.span.file).crate_name.as_str()));
            let mut done = BTreeSet::new();
            for b in &flow.blocks {
                if let BlockKind::Alloc(name) = &b.kind {
                    if !alloc_blocks && !name.contains("GFP_KERNEL") {
                        continue;
                    }
                }
                let spins = spinning(&b.held);
                let Some(first) = spins.first() else { continue };
                if !done.insert((b.span, first.acq_span)) {
                    continue;
                }
                let name = lock_name(&first.lock.class, &first.lock.instance);
                let spin = matches!(b.kind, BlockKind::Spin { .. });
                let (label, help) = if spin {
                    (
                        "spins here forever without releasing it",
                        "release the spinlock before the loop, or give the loop a way out",
                    )
                } else {
                    (
                        "blocks here",
                        "release the spinlock before blocking, or use a sleeping lock",
                    )
                };
                let mut d = Diagnostic::new(
                    BLOCKING_UNDER_SPINLOCK.name,
                    BLOCKING_UNDER_SPINLOCK.default_level,
                    format!("{} while spinlock {name} is held", describe(&b.kind)),
                    Label::new(b.span, label),
                );
                for s in &spins {
                    d = d.with_label(s.acq_span, "spinlock acquired here");
                }
                out.push(d.with_help(help).with_key(format!(
                    "blocking_under_spinlock:{}:{}",
                    f.path, first.lock.class
                )));
            }
            for cb in cx
                .analysis
                .lock_graph
                .call_blocks
                .iter()
                .filter(|c| std::ptr::eq(&cx.analysis.flows[c.flow], flow))
            {
                if let BlockKind::Alloc(name) = &cb.block.kind {
                    if !alloc_blocks && !name.contains("GFP_KERNEL") {
                        continue;
                    }
                }
                if let Some(d) = call_block(cx.db, f, cb, &mut seen) {
                    out.push(d);
                }
            }
            for cs in cx
                .analysis
                .lock_graph
                .call_sleeps
                .iter()
                .filter(|c| std::ptr::eq(&cx.analysis.flows[c.flow], flow))
            {
                if let Some(d) = call_sleep(cx.db, f, cs, &mut seen) {
                    out.push(d);
                }
            }
            for a in &flow.acquisitions {
                if !lockstep_analyzer::lock_graph::sleeps(&a.lock, a.is_try) {
                    continue;
                }
                let spins = spinning(&a.held);
                let Some(first) = spins.first() else { continue };
                if !done.insert((a.span, first.acq_span)) {
                    continue;
                }
                let inner = lock_name(&a.lock.class, &a.lock.instance);
                let outer = lock_name(&first.lock.class, &first.lock.instance);
                out.push(
                    Diagnostic::new(
                        BLOCKING_UNDER_SPINLOCK.name,
                        BLOCKING_UNDER_SPINLOCK.default_level,
                        format!("sleeping lock {inner} is acquired while spinlock {outer} is held"),
                        Label::new(a.span, "may sleep here"),
                    )
                    .with_label(first.acq_span, "spinlock acquired here")
                    .with_help("take the sleeping lock first, or make the inner lock a spinlock")
                    .with_key(format!(
                        "blocking_under_spinlock:{}:{}:{}",
                        f.path, first.lock.class, a.lock.class
                    )),
                );
            }
        }
    }
}

/// Findings already made in this crate: in a function, one per primary site and spinlock
/// acquisition; in a callee that holds a guard it received, one per site, held class and
/// callee site, whichever caller moved the guard in.
#[derive(Default)]
struct Seen {
    done: BTreeSet<(Span, Span)>,
    in_callees: BTreeSet<(Span, LockClass, Span)>,
}

impl Seen {
    fn first(&mut self, primary: Span, held: &HeldLock, in_callee: bool, site: Span) -> bool {
        self.done.insert((primary, held.acq_span))
            && (!in_callee
                || self
                    .in_callees
                    .insert((primary, held.lock.class, site)))
    }
}

/// Where in the callee a finding through a call goes, if there. At the call, unless the spinlock's guard was moved
/// into the callee (`passed`): the callee holds the lock where it blocks, so the finding is in
/// the callee, at its own call down the chain (`chain[1]`; `chain[0]` is the call itself) or
/// at the site. A callee in a dependency keeps it at the call: nothing is reported there.
fn callee_site(db: &SourceDb, passed: bool, chain: &[ChainStep], site: Span) -> Option<Span> {
    let in_callee = chain.get(1).map_or(site, |step| step.call);
    (passed && !db.get(in_callee.file).dependency).then_some(in_callee)
}

/// The labels of a finding through a call after its primary one: the spinlock's acquisition,
/// the call that moved the guard (for a finding in the callee), the chain's calls below the
/// primary, and the site (in the callee, unless it is the primary).
fn through_call_labels(
    mut d: Diagnostic,
    held: &HeldLock,
    call: Span,
    in_callee: bool,
    chain: &[ChainStep],
    site: (Span, &str),
    primary: Span,
) -> Diagnostic {
    d = d.with_label(held.acq_span, "spinlock acquired here");
    if in_callee {
        d = d.with_label(call, "guard moved into this call");
    }
    let skip = if in_callee { 2 } else { 1 };
    d.labels
        .extend(crate::util::chain_labels(chain).into_iter().skip(skip));
    if !in_callee || site.0 != primary {
        d = d.with_label(site.0, site.1);
    }
    d
}

/// A blocking point in a callee reached while the caller holds a spinlock at the call.
fn call_block(
    db: &SourceDb,
    f: &FnDef,
    cb: &CallBlock,
    seen: &mut Seen,
) -> Option<Diagnostic> {
    let callee_site = callee_site(db, cb.passed, &cb.block.chain, cb.block.site);
    let primary = callee_site.unwrap_or(cb.call);
    if !seen.first(primary, &cb.held, callee_site.is_some(), cb.block.site) {
        return None;
    }
    let spin = matches!(cb.block.kind, BlockKind::Spin { .. });
    let at_site = if spin { "never exits" } else { "blocks here" };
    let name = lock_name(&cb.held.lock.class, &cb.held.lock.instance);
    let held = match callee_site {
        Some(_) => format!("spinlock {name}, whose guard this function received by value,"),
        None => format!("spinlock {name}"),
    };
    let (message, label) = if callee_site == Some(cb.block.site) {
        (format!("{} while {held} is held", describe(&cb.block.kind)), at_site)
    } else if spin {
        (
            format!("this call may never return (a loop in it never exits) while {held} is held"),
            "calls a function that may never return",
        )
    } else {
        (
            format!("this call may block ({}) while {held} is held", describe(&cb.block.kind)),
            "calls a function that blocks",
        )
    };
    let d = Diagnostic::new(
        BLOCKING_UNDER_SPINLOCK.name,
        BLOCKING_UNDER_SPINLOCK.default_level,
        message,
        Label::new(primary, label),
    );
    let d = through_call_labels(
        d,
        &cb.held,
        cb.call,
        callee_site.is_some(),
        &cb.block.chain,
        (cb.block.site, at_site),
        primary,
    );
    let help = match callee_site {
        Some(_) => "drop the guard this function received before it blocks",
        None => "release the spinlock before the call",
    };
    Some(d.with_help(help).with_key(format!(
        "blocking_under_spinlock:{}:{}:call",
        f.path, cb.held.lock.class
    )))
}

/// A sleeping lock a callee takes (directly or further down) while the caller holds a
/// spinlock at the call.
fn call_sleep(
    db: &SourceDb,
    f: &FnDef,
    cs: &CallSleep,
    seen: &mut Seen,
) -> Option<Diagnostic> {
    let a = &cs.acq;
    let callee_site = callee_site(db, cs.passed, &a.chain, a.site);
    let primary = callee_site.unwrap_or(cs.call);
    if !seen.first(primary, &cs.held, callee_site.is_some(), a.site) {
        return None;
    }
    let inner = lock_name(&a.lock.class, &a.lock.instance);
    let outer = lock_name(&cs.held.lock.class, &cs.held.lock.instance);
    let message = match callee_site {
        Some(_) => format!(
            "sleeping lock {inner} is acquired while spinlock {outer}, whose guard this \
             function received by value, is held"
        ),
        None => format!("this call takes sleeping lock {inner} while spinlock {outer} is held"),
    };
    let label = if callee_site == Some(a.site) {
        "may sleep here"
    } else {
        "calls a function that takes a sleeping lock"
    };
    let d = Diagnostic::new(
        BLOCKING_UNDER_SPINLOCK.name,
        BLOCKING_UNDER_SPINLOCK.default_level,
        message,
        Label::new(primary, label),
    );
    let d = through_call_labels(
        d,
        &cs.held,
        cs.call,
        callee_site.is_some(),
        &a.chain,
        (a.site, "may sleep here"),
        primary,
    );
    let help = match callee_site {
        Some(_) => "drop the guard this function received before it takes the sleeping lock",
        None => "release the spinlock before the call, or take the sleeping lock first",
    };
    Some(d.with_help(help).with_key(format!(
        "blocking_under_spinlock:{}:{}:{}:call",
        f.path, cs.held.lock.class, a.lock.class
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{assert_message, Tester};

    /// A spin-lock type, a sleeping mutex and a condition variable in one driver.
    macro_rules! nic {
        () => {
            "use std::sync::{Condvar, Mutex};\n\
             use std::time::Duration;\n\
             pub mod spin {\n\
                 pub struct Mutex<T>(core::cell::UnsafeCell<T>);\n\
                 pub struct MutexGuard<'a, T>(&'a Mutex<T>);\n\
                 impl<T> Mutex<T> { pub fn lock(&self) -> MutexGuard<'_, T> { MutexGuard(self) } }\n\
             }\n\
             pub struct Nic { ring: spin::Mutex<u32>, config: Mutex<u32>, ready: Condvar }\n"
        };
    }

    const RESET: &str = concat!(
        nic!(),
        "impl Nic {
    pub fn reset(&self) {
        let _ring = self.ring.lock();
        std::thread::sleep(Duration::from_millis(10));
    }
}"
    );

    #[test]
    fn vectors() {
        Tester::new(&BlockingUnderSpinlock)
            .pass(&[
                // the guard is dropped at the end of its block, before the sleep
                concat!(
                    nic!(),
                    "impl Nic { pub fn reset(&self) {
                        { let _ring = self.ring.lock(); }
                        std::thread::sleep(Duration::from_millis(10));
                    } }"
                ),
                // dropped explicitly
                concat!(
                    nic!(),
                    "impl Nic { pub fn reset(&self) {
                        let ring = self.ring.lock();
                        drop(ring);
                        std::thread::sleep(Duration::from_millis(10));
                    } }"
                ),
                // waiting on a condition variable with the sleeping lock only
                concat!(
                    nic!(),
                    "impl Nic { pub fn wait_ready(&self) {
                        let mut g = self.config.lock().unwrap();
                        while *g == 0 { g = self.ready.wait(g).unwrap(); }
                    } }"
                ),
                // the sleeping lock first, then the spinlock
                concat!(
                    nic!(),
                    "impl Nic { pub fn reconfigure(&self) {
                        let _cfg = self.config.lock().unwrap();
                        let _ring = self.ring.lock();
                    } }"
                ),
                // sleeping under a sleeping lock is allowed
                concat!(
                    nic!(),
                    "impl Nic { pub fn settle(&self) {
                        let _cfg = self.config.lock().unwrap();
                        std::thread::sleep(Duration::from_millis(1));
                    } }"
                ),
                // heap allocation outside `no_std` does not count
                concat!(
                    nic!(),
                    "impl Nic { pub fn snapshot(&self) -> Vec<u32> {
                        let ring = self.ring.lock();
                        let _ = ring;
                        Vec::with_capacity(16)
                    } }"
                ),
                // the callee drops the guard it received before the sleeping mutex
                concat!(
                    nic!(),
                    "impl Nic { fn apply(&self, ring: spin::MutexGuard<'_, u32>) {
                        drop(ring);
                        let _cfg = self.config.lock().unwrap();
                    }
                    pub fn reconfigure(&self) { self.apply(self.ring.lock()) } }"
                ),
                // the caller releases the spinlock before the call
                concat!(
                    nic!(),
                    "impl Nic { fn config(&self) -> u32 { *self.config.lock().unwrap() }
                    pub fn reconfigure(&self) -> u32 {
                        { let _ring = self.ring.lock(); }
                        self.config()
                    } }"
                ),
                // a loop that leaves by `break`
                concat!(
                    nic!(),
                    "impl Nic { pub fn drain(&self, n: u32) {
                        let _ring = self.ring.lock();
                        let mut i = 0;
                        loop { i += 1; if i == n { break; } }
                    } }"
                ),
            ])
            .fail(&[
                RESET,
                // a sleeping mutex acquired under the spinlock
                concat!(
                    nic!(),
                    "impl Nic { pub fn reconfigure(&self) {
                        let _ring = self.ring.lock();
                        let _cfg = self.config.lock().unwrap();
                    } }"
                ),
                // `.await` with the spinlock held
                concat!(
                    nic!(),
                    "impl Nic { pub async fn flush(&self, f: impl std::future::Future<Output = ()>) {
                        let _ring = self.ring.lock();
                        f.await;
                    } }"
                ),
                // a halt loop with the console locked
                concat!(
                    nic!(),
                    "static CONSOLE: spin::Mutex<u32> = spin::Mutex(core::cell::UnsafeCell::new(0));
                    pub fn panic_halt() -> ! {
                        let _console = CONSOLE.lock();
                        loop { core::hint::spin_loop() }
                    }"
                ),
                // the sleep is in a callee
                concat!(
                    nic!(),
                    "fn backoff() { std::thread::sleep(Duration::from_millis(10)); }
                    impl Nic { pub fn retry(&self) {
                        let _ring = self.ring.lock();
                        backoff();
                    } }"
                ),
                // a blocking channel receive
                concat!(
                    nic!(),
                    "impl Nic { pub fn wait_cmd(&self, rx: &std::sync::mpsc::Receiver<u32>) -> u32 {
                        let _ring = self.ring.lock();
                        rx.recv().unwrap()
                    } }"
                ),
                // joining a thread
                concat!(
                    nic!(),
                    "impl Nic { pub fn stop(&self, worker: std::thread::JoinHandle<()>) {
                        let _ring = self.ring.lock();
                        worker.join().unwrap();
                    } }"
                ),
                // `GFP_KERNEL` allocation sleeps in any crate
                concat!(
                    nic!(),
                    "const GFP_KERNEL: u32 = 0;
                    fn kmalloc(_n: usize, _f: u32) -> *mut u8 { core::ptr::null_mut() }
                    impl Nic { pub fn grow(&self) -> *mut u8 {
                        let _ring = self.ring.lock();
                        kmalloc(64, GFP_KERNEL)
                    } }"
                ),
                // a callee takes the sleeping mutex while the caller holds the spinlock
                concat!(
                    nic!(),
                    "impl Nic { fn config(&self) -> u32 { *self.config.lock().unwrap() }
                    pub fn reconfigure(&self) -> u32 {
                        let _ring = self.ring.lock();
                        self.config()
                    } }"
                ),
                // the spinlock's guard moved into a callee that takes the sleeping mutex
                concat!(
                    nic!(),
                    "impl Nic { fn apply(&self, _ring: spin::MutexGuard<'_, u32>) {
                        let _cfg = self.config.lock().unwrap();
                    }
                    pub fn reconfigure(&self) { self.apply(self.ring.lock()) } }"
                ),
            ])
            .run();
    }

    #[test]
    fn message() {
        assert_message(
            &BlockingUnderSpinlock,
            RESET,
            &[
                "warn[blocking_under_spinlock]: `std::thread::sleep` sleeps while spinlock `self.ring` (Nic.ring) is held",
                "  --> 12:9 `std::thread::sleep(Duration::from_millis(10))`: blocks here",
                "   - 11:21 `self.ring.lock()`: spinlock acquired here",
                "  help: release the spinlock before blocking, or use a sleeping lock",
                "  key: blocking_under_spinlock:crate::Nic::reset:crate::Nic.ring",
            ],
        );
    }
}
