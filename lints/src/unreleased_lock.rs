use std::collections::BTreeMap;

use lockstep_analyzer::ir::AcqStyle;
use lockstep_analyzer::{Diagnostic, Label, Span};

use crate::util::{func, line_of, lock_name};
use crate::{Lint, LintContext, LintMeta};

declare_lint! {
    /// ## What it does
    /// Finds a lock that is acquired and still held on some path out of the function: an
    /// explicit acquisition (`raw.lock()`, `KeAcquireSpinLock`, `spin_lock_irqsave`, a pair
    /// from the configuration) that an early `return`, a `?` or a `break` skips the release of,
    /// or a guard that is leaked with `mem::forget`, `ManuallyDrop::new`, `Box::leak` or by
    /// storing it somewhere that outlives the function.
    ///
    /// A function that returns with the lock held on *every* path is taken to be an acquire
    /// wrapper (its callers release); only inconsistent paths are reported, as Smatch does.
    /// Branches on the same unchanged condition are correlated, so
    /// `if flag { lock } … if flag { unlock }` is balanced.
    ///
    /// ## Why is this bad?
    /// The next acquisition spins or sleeps forever. With a spinlock the machine hangs hard: this
    /// is KB Q297040, where the TCP connection-table spinlock stayed held on the SYN-attack
    /// protection path of a connect to a nonexistent address.
    ///
    /// ## Known problems
    /// Paths that end in a panic are not exits. Release through a helper function in another
    /// crate is not seen unless a contract in the configuration says so. Methods of an
    /// implementation of lock_api's raw traits (`RawMutex`, `RawRwLock`…) are not checked:
    /// their acquire methods return with the lock held by contract, and neither are the
    /// inherent methods of a type implementing them (its slow paths). A raw hold passes to a
    /// value built with a struct literal that refers to the lock or its owner (`Guard { lock:
    /// self }`, `RwLockReadGuard { lock: &self.raw, .. }`) when that struct has a `Drop` impl
    /// in the analyzed code; the drop is assumed to release it. A guard built by a constructor
    /// function instead (`RwLockReadGuardArc::from_arc(self.clone())`) is not followed and the
    /// acquisition is reported. A
    /// function that releases a lock it did not take and takes it again (a condition-variable
    /// wait over a raw lock, parking_lot's `Condvar::wait_until_internal`) is taken to hand
    /// the caller's hold back: its acquisitions of that lock are not reported, even on a path
    /// that did not release it first. A guard leaked on purpose and released by an
    /// unchecked unlock in another function of the analyzed code (a context switch that
    /// leaks the next task's guard for the switch's finish hook to `force_unlock`,
    /// async-lock's upgradable read) is not reported: any release of that lock elsewhere
    /// counts, whether or not it pairs with this leak.
    ///
    /// ## Example
    /// ```rust,ignore
    /// unsafe { KeAcquireSpinLock(&mut self.table_lock, &mut irql) };
    /// if self.syn_attack_protect && self.half_open() > LIMIT {
    ///     return Err(Error::Busy); // table_lock still held
    /// }
    /// unsafe { KeReleaseSpinLock(&mut self.table_lock, irql) };
    /// ```
    /// Use instead: release before every return, or use a guard that releases on drop.
    pub UNRELEASED_LOCK, "unreleased_lock", Deny, "a lock is still held on some path out of the function"
}

pub struct UnreleasedLock;

/// A method of an implementation of lock_api's raw lock traits (`RawMutex`, `RawRwLock`,
/// `RawRwLockUpgrade`…).
fn implements_raw_lock(trait_name: Option<&str>) -> bool {
    trait_name.is_some_and(|t| {
        let last = t.rsplit("::").next().unwrap_or(t);
        last.starts_with("RawMutex") || last.starts_with("RawRwLock")
    })
}

/// The types implementing a raw lock trait, by name: computed once, as a type may implement
/// thousands of traits and every method of it asks.
fn raw_lock_types<'a>(cx: &'a LintContext<'_>) -> std::collections::BTreeSet<&'a str> {
    cx.analysis
        .index
        .impls_of
        .iter()
        .filter(|(_, ts)| ts.iter().any(|t| implements_raw_lock(Some(t))))
        .map(|(ty, _)| ty.as_str())
        .collect()
}

impl Lint for UnreleasedLock {
    fn meta(&self) -> &'static LintMeta {
        &UNRELEASED_LOCK
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
        let raw_types = raw_lock_types(cx);
        for flow in &cx.analysis.flows {
            let f = func(cx.analysis, flow);
            let raw_type = f
                .self_ty
                .as_ref()
                .and_then(|t| t.last())
                .is_some_and(|t| raw_types.contains(t));
            if implements_raw_lock(f.trait_name.as_deref()) || raw_type {
                // `RawMutex::lock`, `RawRwLock::lock_shared`…: returning with the lock held
                // (a forgotten guard) is the trait's contract; the lock type's own helpers
                // (parking_lot's `bump_slow`: unlock, then lock again) serve those methods.
                continue;
            }
            // acquisition node → (acq span, lock, exits held, exits released, leak)
            let mut by_acq: BTreeMap<u32, Acq> = BTreeMap::new();
            for exit in &flow.exits {
                for h in exit.held.iter() {
                    if h.style != AcqStyle::Raw && h.leaked.is_none() {
                        continue;
                    }
                    let e = by_acq
                        .entry(h.acq_node)
                        .or_insert_with(|| Acq::new(h.acq_span, &h.lock.class, &h.lock.instance));
                    let site = exit.via.unwrap_or(exit.span);
                    if !e.held_at.contains(&site) {
                        e.held_at.push(site);
                    }
                    if let Some(l) = &h.leaked {
                        e.leak = Some((l.0, l.1.to_string()));
                    }
                }
            }
            for exit in &flow.exits {
                for &n in &exit.raw_seen {
                    if exit.held.iter().any(|h| h.acq_node == n) {
                        continue;
                    }
                    if let Some(e) = by_acq.get_mut(&n) {
                        if !e.released_at.contains(&exit.span) {
                            e.released_at.push(exit.span);
                        }
                    }
                }
            }
            for (_, a) in by_acq {
                if a.held_at.is_empty() {
                    continue;
                }
                let contract_holds =
                    cx.config.contracts.iter().any(|c| {
                        c.describes(&f.path, &f.name) && c.returns_held.contains(&a.class)
                    });
                if contract_holds {
                    continue;
                }
                // The function also releases this very lock where it did not take it (a
                // condition-variable wait: unlock the caller's lock, sleep, lock it again): the
                // acquisition gives back the hold the caller had on entry.
                if a.leak.is_none()
                    && flow
                        .foreign_releases
                        .iter()
                        .any(|r| r.lock.instance == a.instance && r.lock.class == a.class)
                {
                    continue;
                }
                // A guard leaked on purpose and released by another function of the
                // analyzed code (`SpinLockGuard::leak` before a context switch, `force_unlock`
                // in the switch's finish hook): the lock is released, elsewhere.
                if a.leak.is_some() && released_elsewhere(cx, &a.class, flow.func) {
                    continue;
                }
                let name = lock_name(&a.class, &a.instance);
                let d = if let Some((leak_span, how)) = &a.leak {
                    Diagnostic::new(
                        UNRELEASED_LOCK.name,
                        UNRELEASED_LOCK.default_level,
                        format!("guard of {name} is leaked and the lock is never released"),
                        Label::new(a.span, "lock acquired here"),
                    )
                    .with_label(*leak_span, format!("guard leaked here by `{how}`"))
                    .with_help(
                        "let the guard drop, or release the lock explicitly before returning",
                    )
                } else {
                    if a.released_at.is_empty() {
                        // Held on every exit: an acquire wrapper when something else releases
                        // this lock (a caller, or a matching release wrapper); otherwise
                        // nothing ever releases it.
                        if released_elsewhere(cx, &a.class, flow.func) {
                            continue;
                        }
                        let mut held = a.held_at.clone();
                        held.sort();
                        let mut d = Diagnostic::new(
                            UNRELEASED_LOCK.name,
                            UNRELEASED_LOCK.default_level,
                            format!("{name} is acquired in `{}` and never released", f.name),
                            Label::new(a.span, "lock acquired here"),
                        );
                        for s in &held {
                            d = d.with_label(*s, "leaves with the lock still held");
                        }
                        out.push(
                            d.with_note("no function in the analyzed code releases this lock either")
                                .with_help(
                                    "release the lock before returning; if callers release it, say so with a \
                                     `returns_held` contract",
                                )
                                .with_key(format!("unreleased_lock:{}:{}", f.path, a.class)),
                        );
                        continue;
                    }
                    let mut d = Diagnostic::new(
                        UNRELEASED_LOCK.name,
                        UNRELEASED_LOCK.default_level,
                        format!(
                            "{name} is still held on {} of {} paths out of `{}`",
                            a.held_at.len(),
                            a.held_at.len() + a.released_at.len(),
                            f.name
                        ),
                        Label::new(a.span, "lock acquired here"),
                    );
                    let mut held = a.held_at.clone();
                    held.sort();
                    for s in &held {
                        d = d.with_label(*s, "leaves with the lock still held");
                    }
                    let mut rel = a.released_at.clone();
                    rel.sort();
                    let locked: Vec<String> = held.iter().map(|s| line_of(cx.db, *s)).collect();
                    let unlocked: Vec<String> = rel.iter().map(|s| line_of(cx.db, *s)).collect();
                    d.with_note(format!("locked on: {}; unlocked on: {}", locked.join(", "), unlocked.join(", ")))
                        .with_help("release the lock on every path, or hold it in a guard that releases on drop")
                };
                out.push(d.with_key(format!("unreleased_lock:{}:{}", f.path, a.class)));
            }
        }
    }
}

struct Acq {
    span: Span,
    class: String,
    instance: String,
    held_at: Vec<Span>,
    released_at: Vec<Span>,
    leak: Option<(Span, String)>,
}

impl Acq {
    fn new(span: Span, class: &str, instance: &str) -> Acq {
        Acq {
            span,
            class: class.into(),
            instance: instance.into(),
            held_at: Vec::new(),
            released_at: Vec::new(),
            leak: None,
        }
    }
}

/// Whether some other function releases `class` explicitly (a caller after an acquire wrapper,
/// or a release wrapper).
fn released_elsewhere(
    cx: &LintContext<'_>,
    class: &str,
    here: lockstep_analyzer::index::FnRef,
) -> bool {
    cx.analysis
        .flows
        .iter()
        .filter(|f| f.func != here)
        .any(|f| f.foreign_releases.iter().any(|r| r.lock.class == class))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{assert_message, Tester};

    /// The WDK spin-lock calls and a table they protect.
    macro_rules! wdk {
        () => {
            "#![allow(non_snake_case, non_camel_case_types)]\n\
             use std::sync::Mutex;\n\
             pub struct KSPIN_LOCK(pub usize);\n\
             pub type KIRQL = u8;\n\
             pub unsafe fn KeAcquireSpinLock(_l: *mut KSPIN_LOCK, _old: *mut KIRQL) {}\n\
             pub unsafe fn KeReleaseSpinLock(_l: *mut KSPIN_LOCK, _new: KIRQL) {}\n\
             pub unsafe trait RawMutex { fn lock(&self); unsafe fn unlock(&self); }\n\
             pub struct RawLock;\n\
             pub struct Table { lock: KSPIN_LOCK, syn_attack_protect: bool, half_open: u32, state: Mutex<u32> }\n\
             pub enum Error { Busy }\n"
        };
    }

    const KB_Q297040: &str = concat!(
        wdk!(),
        "impl Table {
    pub fn connect(&mut self) -> Result<(), Error> {
        let mut irql = 0;
        unsafe { KeAcquireSpinLock(&mut self.lock, &mut irql) };
        if self.syn_attack_protect && self.half_open > 100 {
            return Err(Error::Busy);
        }
        self.half_open += 1;
        unsafe { KeReleaseSpinLock(&mut self.lock, irql) };
        Ok(())
    }
}"
    );

    #[test]
    fn vectors() {
        Tester::new(&UnreleasedLock)
            .pass(&[
                // released before every return
                concat!(
                    wdk!(),
                    "impl Table { pub fn connect(&mut self) -> Result<(), Error> {
                        let mut irql = 0;
                        unsafe { KeAcquireSpinLock(&mut self.lock, &mut irql) };
                        if self.syn_attack_protect && self.half_open > 100 {
                            unsafe { KeReleaseSpinLock(&mut self.lock, irql) };
                            return Err(Error::Busy);
                        }
                        self.half_open += 1;
                        unsafe { KeReleaseSpinLock(&mut self.lock, irql) };
                        Ok(())
                    } }"
                ),
                // branches on the same unchanged condition are correlated
                concat!(
                    wdk!(),
                    "impl Table { pub fn correlated(&mut self, flag: bool) {
                        let mut irql = 0;
                        if flag { unsafe { KeAcquireSpinLock(&mut self.lock, &mut irql) }; }
                        self.half_open += 1;
                        if flag { unsafe { KeReleaseSpinLock(&mut self.lock, irql) }; }
                    } }"
                ),
                // an acquire wrapper and its release wrapper
                concat!(
                    wdk!(),
                    "impl Table {
                        pub fn lock_table(&mut self) -> KIRQL {
                            let mut irql = 0;
                            unsafe { KeAcquireSpinLock(&mut self.lock, &mut irql) };
                            irql
                        }
                        pub fn unlock_table(&mut self, irql: KIRQL) {
                            unsafe { KeReleaseSpinLock(&mut self.lock, irql) };
                        }
                    }"
                ),
                // a guard released by its drop on every path
                concat!(
                    wdk!(),
                    "impl Table { pub fn read(&self, early: bool) -> u32 {
                        let g = self.state.lock().unwrap();
                        if early { return 0; }
                        *g
                    } }"
                ),
                // a raw lock released before the `?`
                concat!(
                    wdk!(),
                    "unsafe impl RawMutex for RawLock { fn lock(&self) {} unsafe fn unlock(&self) {} }
                    impl Table { pub fn take(&self, raw: &RawLock, r: Result<u32, Error>) -> Result<u32, Error> {
                        raw.lock();
                        unsafe { raw.unlock() };
                        let v = r?;
                        Ok(v)
                    } }"
                ),
                // the raw trait's own acquire returns with the lock held by contract
                concat!(
                    wdk!(),
                    "pub struct Spin { locked: std::sync::atomic::AtomicBool }
                    unsafe impl RawMutex for Spin {
                        fn lock(&self) { while self.locked.swap(true, std::sync::atomic::Ordering::Acquire) {} }
                        unsafe fn unlock(&self) { self.locked.store(false, std::sync::atomic::Ordering::Release) }
                    }"
                ),
            ])
            .pass(&[
                // leaked before a context switch, released by the switch's finish hook
                "use std::sync::atomic::{AtomicBool, Ordering};
                pub struct SpinLock<T> { locked: AtomicBool, v: T }
                pub struct SpinGuard<'a, T>(&'a SpinLock<T>);
                impl<T> SpinLock<T> {
                    pub fn lock(&self) -> SpinGuard<'_, T> {
                        while self.locked.swap(true, Ordering::Acquire) { std::hint::spin_loop(); }
                        SpinGuard(self)
                    }
                    pub unsafe fn force_unlock(&self) { self.locked.store(false, Ordering::Release) }
                }
                impl<T> Drop for SpinGuard<'_, T> {
                    fn drop(&mut self) { self.0.locked.store(false, Ordering::Release) }
                }
                pub struct Task { arch: SpinLock<u32> }
                pub fn switch_to(next: &Task) { std::mem::forget(next.arch.lock()); }
                pub fn finish_switch(prev: &Task) { unsafe { prev.arch.force_unlock() }; }",
                // a guard kept by the value it is stored into (a transaction dropped later)
                "use std::sync::{Mutex, MutexGuard};
                pub struct Tx<'a> { m: &'a Mutex<u32>, g: Option<MutexGuard<'a, u32>> }
                impl<'a> Tx<'a> {
                    pub fn release_for_wait(&mut self) { drop(self.g.take()); }
                    pub fn reacquire(&mut self) { self.g = Some(self.m.lock().unwrap()); }
                }
                pub fn hold<'a>(m: &'a Mutex<u32>, slot: &mut Option<MutexGuard<'a, u32>>) {
                    *slot = Some(m.lock().unwrap());
                }",
            ])
            .fail(&[
                KB_Q297040,
                // a guard forgotten on one path
                concat!(
                    wdk!(),
                    "impl Table { pub fn forget_guard(&self, protect: bool) -> u32 {
                        let g = self.state.lock().unwrap();
                        let v = *g;
                        if protect { std::mem::forget(g); return v; }
                        v
                    } }"
                ),
                // `?` leaves with the raw lock held
                concat!(
                    wdk!(),
                    "unsafe impl RawMutex for RawLock { fn lock(&self) {} unsafe fn unlock(&self) {} }
                    impl Table { pub fn take(&self, raw: &RawLock, r: Result<u32, Error>) -> Result<u32, Error> {
                        raw.lock();
                        let v = r?;
                        unsafe { raw.unlock() };
                        Ok(v)
                    } }"
                ),
                // `break` skips the release
                concat!(
                    wdk!(),
                    "impl Table { pub fn loop_break(&mut self, items: &[u32]) {
                        let mut irql = 0;
                        for &i in items {
                            unsafe { KeAcquireSpinLock(&mut self.lock, &mut irql) };
                            if i == 0 { break; }
                            unsafe { KeReleaseSpinLock(&mut self.lock, irql) };
                        }
                    } }"
                ),
                // a guard leaked into a `Box::leak`
                concat!(
                    wdk!(),
                    "impl Table { pub fn pin(&self) {
                        let g = self.state.lock().unwrap();
                        Box::leak(Box::new(g));
                    } }"
                ),
                // a guard stored into a static: nothing drops it
                concat!(
                    wdk!(),
                    "static mut HELD: Option<std::sync::MutexGuard<'static, u32>> = None;
                    pub fn pin_forever(t: &'static Table) {
                        unsafe { crate::HELD = Some(t.state.lock().unwrap()) };
                    }"
                ),
                // a guard kept in `ManuallyDrop`
                concat!(
                    wdk!(),
                    "impl Table { pub fn keep(&self) -> u32 {
                        let g = std::mem::ManuallyDrop::new(self.state.lock().unwrap());
                        **g
                    } }"
                ),
                // held on every exit, and nothing in the crate releases it
                concat!(
                    wdk!(),
                    "impl Table { pub fn init(&mut self) {
                        let mut irql = 0;
                        unsafe { KeAcquireSpinLock(&mut self.lock, &mut irql) };
                        self.half_open = 0;
                    } }"
                ),
            ])
            .run();
    }

    #[test]
    fn message() {
        assert_message(
            &UnreleasedLock,
            KB_Q297040,
            &[
                "deny[unreleased_lock]: `self.lock` (Table.lock) is still held on 1 of 2 paths out of `connect`",
                "  --> 14:18 `KeAcquireSpinLock(&mut self.lock, &mut irql)`: lock acquired here",
                "   - 16:13 `return Err(Error::Busy)`: leaves with the lock still held",
                "  note: locked on: lib.rs:16; unlocked on: lib.rs:21",
                "  help: release the lock on every path, or hold it in a guard that releases on drop",
                "  key: unreleased_lock:crate::Table::connect:crate::Table.lock",
            ],
        );
    }
}
