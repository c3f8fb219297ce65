use std::collections::BTreeSet;

use lockstep_analyzer::ir::Mode;
use lockstep_analyzer::lock_api;
use lockstep_analyzer::{Diagnostic, Label};

use crate::util::{func, lock_name};
use crate::{Lint, LintContext, LintMeta};

declare_lint! {
    /// ## What it does
    /// Finds a non-reentrant lock acquired while the *same* lock — the same place, such as
    /// `self.state` twice or one static — is already held on the same path: a second guard
    /// while the first is alive, a `match` or `if let` scrutinee's guard still alive in an arm
    /// (a match guard's own temporaries are dropped before the arm, as in Rust),
    /// two temporaries in one statement, `read` then `write` on one `RwLock`, an upgradable
    /// read with a write or another upgradable read, a guard still alive after
    /// `MutexGuard::unlocked` took the lock back or through a mapped guard, an `upgrade` while
    /// a read guard of the same lock is alive.
    ///
    /// Two different instances of one lock class (hand-over-hand over list nodes, two entries of
    /// a `Vec<Mutex<_>>`) are not the same lock and are not reported. Two objects returned by
    /// lookups of one function with different arguments (`get_by_pid(pgid).links` held,
    /// `get_by_pid(pid).links` taken) are one only when both lookups return it: a warning.
    ///
    /// ## Why is this bad?
    /// The thread waits for itself: a spinlock spins forever, a mutex blocks forever (std's
    /// `Mutex` may also panic). KB Q219380: the WAN send path re-entered its own lock and the
    /// RAS server hung up every connection.
    ///
    /// ## Known problems
    /// Guards whose lifetime depends on a `Drop` implementation of a user type wrapping them
    /// are approximated by that type's binding scope. An async lock's `lock()`/`read()`/
    /// `write()` is taken to acquire where it is called, not where its future is awaited: a
    /// lock future created under a guard and only polled (tests of contention do this) is
    /// reported. A guard moved into an `async move` block or a closure is still taken to be
    /// held by the enclosing function. A guard passed by value to a helper is held by the
    /// caller for what the helper does before it drops the guard, and not after; a helper
    /// that receives a guard does not know which lock it came from, so its own re-locking
    /// is reported at the callers that pass the guard, not in the helper; a guard passed
    /// inside a struct or a tuple is not followed this way. A closure that locks only under a
    /// flag it captured (`if pooled { config.lock() }`) and is called inline under the guard
    /// only on the branch where the flag is clear (`if let Some(pool) = &self.pool {
    /// pool.execute(f) } else { f() }`, with `pooled = self.pool.is_some()`) is reported: the
    /// flag is not correlated with the branch that calls the closure. An `Option` that
    /// keeps a guard is known to be empty only where `opt.is_none()` / `opt.is_some()` on the
    /// local itself says so (not through `if let None = opt`, `matches!` or a copy of the
    /// test in another variable). `unlocked`/`bump` and the method forms
    /// `g.upgrade()`/`g.downgrade()` are understood only for a guard whose acquisition is in
    /// the same function (not a guard parameter or one returned by a helper: such a guard
    /// stays held through `unlocked`'s closure). The `Err` of `try_upgrade` is taken to hold
    /// the lock for writing, like its `Ok`. A closure handed to a function that keeps it for
    /// later (not a known spawner or registrar, not boxed) is taken to run during the call,
    /// under the caller's locks. A second read of an `RwLock` that the function creates
    /// itself and has not shared yet (`let l = RwLock::new(()); drop((l.read(), l.read()));`
    /// in a smoke test) is not reported, since no writer can queue in between; an object
    /// built by a constructor function (`let t = Table::new();`) or passed in counts as
    /// shared.
    ///
    /// ## Example
    /// ```rust,ignore
    /// let link = self.link.lock();
    /// if let Some(b) = self.link.lock().bundle { … } // deadlock: `link` is still alive
    /// ```
    /// Use instead: reuse the first guard, or drop it before locking again.
    pub DOUBLE_LOCK, "double_lock", Deny, "the same lock is acquired twice on one path"
}

pub struct DoubleLock;

/// A read-held lock read again in a callee: a deadlock only once a writer queues in between.
fn read_again_through_call(
    cd: &lockstep_analyzer::lock_graph::CallDouble,
    name: &str,
    path: &str,
) -> Diagnostic {
    let mut d = Diagnostic::new(
        DOUBLE_LOCK.name,
        lockstep_analyzer::Level::Warn,
        format!("{name} is read again through a call while a read guard of it is alive (deadlock once a writer waits in between)"),
        Label::new(cd.call, "this call reads the lock again"),
    )
    .with_label(cd.held.acq_span, "first read here, and still held");
    for l in crate::util::chain_labels(&cd.acq.chain).into_iter().skip(1) {
        d.labels.push(l);
    }
    d.with_label(cd.acq.site, "read again here")
        .with_note("a read lock is not recursive: a writer that queues after the first read blocks the second, and the second blocks the writer")
        .with_help("drop the read guard before the call, or pass the data it guards to the callee")
        .with_key(format!("double_lock:{path}:{}:call-read", cd.held.lock.class))
}

impl Lint for DoubleLock {
    fn meta(&self) -> &'static LintMeta {
        &DOUBLE_LOCK
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
        for flow in &cx.analysis.flows {
            let f = func(cx.analysis, flow);
            let mut done: BTreeSet<(u32, u32)> = BTreeSet::new();
            for a in &flow.acquisitions {
                if a.is_try || a.lock.kind.reentrant {
                    continue;
                }
                for h in a.held.iter() {
                    if h.stale || h.lock.class != a.lock.class {
                        continue;
                    }
                    if h.lock.instance != a.lock.instance {
                        if let Some(d) = lookup_double(f, a, h, &mut done) {
                            out.push(d);
                        }
                        continue;
                    }
                    let read_read = h.mode == Mode::Read && a.mode == Mode::Read;
                    // no writer can queue on a lock nobody else can reach yet
                    if read_read
                        && (h.lock.unshared
                            || !lock_api::read_again_deadlocks(
                                a.method.recursive,
                                &a.lock.kind.type_name,
                            ))
                    {
                        continue;
                    }
                    if !read_read && !h.mode.conflicts_with(a.mode) {
                        continue;
                    }
                    if !done.insert((a.node, h.acq_node)) {
                        continue;
                    }
                    let name = lock_name(&a.lock.class, &a.lock.instance);
                    if read_read {
                        let mut d = Diagnostic::new(
                            DOUBLE_LOCK.name,
                            lockstep_analyzer::Level::Warn,
                            format!("{name} is read again while a read guard of it is alive (deadlock once a writer waits in between)"),
                            Label::new(a.span, "read again here"),
                        )
                        .with_label(h.acq_span, "first read here, and still held")
                        .with_help("reuse the read guard you hold, or drop it before reading again")
                        .with_key(format!("double_lock:{}:{}:read", f.path, a.lock.class));
                        d = d.with_note("a read lock is not recursive: a writer that queues after the first read blocks the second, and the second blocks the writer");
                        out.push(d);
                        continue;
                    }
                    let d = Diagnostic::new(
                        DOUBLE_LOCK.name,
                        DOUBLE_LOCK.default_level,
                        format!("{name} is acquired while it is already held (self-deadlock)"),
                        Label::new(a.span, "acquired again here"),
                    )
                    .with_label(h.acq_span, "first acquired here, and still held")
                    .with_help(
                        "reuse the guard you already hold, or drop it before acquiring again",
                    )
                    .with_key(format!("double_lock:{}:{}", f.path, a.lock.class));
                    out.push(d);
                }
            }
        }
        // Through calls: a callee acquires the lock the caller holds at the call.
        let mut done: BTreeSet<(lockstep_analyzer::Span, lockstep_analyzer::Span)> =
            BTreeSet::new();
        for cd in &cx.analysis.lock_graph.call_doubles {
            if !done.insert((cd.call, cd.acq.site)) {
                continue;
            }
            let f = cx.analysis.func(cx.analysis.flows[cd.flow].func);
            let name = lock_name(&cd.held.lock.class, &cd.held.lock.instance);
            if cd.held.mode == Mode::Read && cd.acq.mode == Mode::Read {
                if cd.held.lock.unshared {
                    continue;
                }
                out.push(read_again_through_call(cd, &name, &f.path));
                continue;
            }
            let mut d = Diagnostic::new(
                DOUBLE_LOCK.name,
                DOUBLE_LOCK.default_level,
                format!("{name} is acquired again through a call while it is already held (self-deadlock)"),
                Label::new(cd.call, "this call acquires the lock again"),
            )
            .with_label(cd.held.acq_span, "first acquired here, and still held");
            for l in crate::util::chain_labels(&cd.acq.chain).into_iter().skip(1) {
                d.labels.push(l);
            }
            d = d.with_label(cd.acq.site, "acquired again here");
            if cd.maybe_same {
                d.level = lockstep_analyzer::Level::Warn;
                d = d.with_note(format!(
                    "`{}` and the lock the callee takes come from lookups with different arguments: one object only when both return it",
                    cd.held.lock.instance
                ));
            }
            if let Some(t) = cd.acq.chain.iter().find_map(|c| c.via_trait.clone()) {
                d.level = lockstep_analyzer::Level::Warn;
                d = d.with_note(format!(
                    "this path assumes a call through trait `{t}` reaches the impl shown"
                ));
            }
            out.push(
                d.with_help("release the lock before the call, or pass the guard's data to the callee instead of letting it lock")
                    .with_key(format!("double_lock:{}:{}:call", f.path, cd.held.lock.class)),
            );
        }
    }
}

/// Two exclusive acquisitions of one class through lookups of one function with different
/// arguments (`get_by_pid(a).links` held, `get_by_pid(b).links` taken): one object only when
/// both lookups return it, a warning.
fn lookup_double(
    f: &lockstep_analyzer::ir::FnDef,
    a: &lockstep_analyzer::flow::AcqEvent,
    h: &lockstep_analyzer::flow::HeldLock,
    done: &mut BTreeSet<(u32, u32)>,
) -> Option<Diagnostic> {
    use lockstep_analyzer::lock_graph::lookup_key;
    let key = lookup_key(&a.lock.instance)?;
    if lookup_key(&h.lock.instance).as_deref() != Some(key.as_str())
        || !h.mode.conflicts_with(a.mode)
        || h.lock.unshared
        || !done.insert((a.node, h.acq_node))
    {
        return None;
    }
    Some(
        Diagnostic::new(
            DOUBLE_LOCK.name,
            lockstep_analyzer::Level::Warn,
            format!(
                "`{}` may be acquired while it is already held as `{}` (self-deadlock when both lookups return one object)",
                a.lock.instance, h.lock.instance
            ),
            Label::new(a.span, "acquired here"),
        )
        .with_label(h.acq_span, "held since here")
        .with_note("two lookups of one function with different arguments: the analysis cannot tell whether they return the same object")
        .with_help("compare the two objects first and take the lock once when they are the same")
        .with_key(format!("double_lock:{}:{}:lookup", f.path, a.lock.class)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{assert_message, Tester};

    macro_rules! link {
        () => {
            "use std::sync::{Mutex, RwLock};\n\
             pub struct Link { state: Mutex<u32>, table: RwLock<Vec<u32>>, queues: Vec<Mutex<u32>> }\n"
        };
    }

    const BINDING_THEN_LOCK: &str = concat!(
        link!(),
        "impl Link {
    pub fn binding_then_lock(&self) {
        let g = self.state.lock().unwrap();
        let h = self.state.lock().unwrap();
        drop((g, h));
    }
}"
    );

    const READ_AGAIN_THROUGH_CALL: &str = concat!(
        link!(),
        "impl Link {
    pub fn f(&self) -> usize {
        let a = self.table.read().unwrap();
        a.len() + self.count()
    }
    fn count(&self) -> usize { self.table.read().unwrap().len() }
}"
    );

    #[test]
    fn vectors() {
        Tester::new(&DoubleLock)
            .pass(&[
                // `drop(g)` ends the first guard
                concat!(
                    link!(),
                    "impl Link { pub fn f(&self) {
                        let g = self.state.lock().unwrap();
                        drop(g);
                        let _h = self.state.lock().unwrap();
                    } }"
                ),
                // temporaries die at the end of their statement
                concat!(
                    link!(),
                    "impl Link { pub fn f(&self) -> u32 {
                        let a = *self.state.lock().unwrap();
                        let b = *self.state.lock().unwrap();
                        a + b
                    } }"
                ),
                // an `if` condition's temporaries are dropped before the body
                concat!(
                    link!(),
                    "impl Link { pub fn f(&self) {
                        if *self.state.lock().unwrap() == 0 { *self.state.lock().unwrap() = 1; }
                    } }"
                ),
                // `&guard.len()` extends the `usize`, not the guard
                concat!(
                    link!(),
                    "impl Link { pub fn f(&self) {
                        let len = &self.table.read().unwrap().len();
                        let _w = self.table.write().unwrap();
                        let _ = len;
                    } }"
                ),
                // two entries of a `Vec<Mutex<_>>` are two locks
                concat!(
                    link!(),
                    "impl Link { pub fn f(&self) {
                        let _a = self.queues[0].lock().unwrap();
                        let _b = self.queues[1].lock().unwrap();
                    } }"
                ),
                // a try-lock under the guard backs off
                concat!(
                    link!(),
                    "impl Link { pub fn f(&self) {
                        let _g = self.state.lock().unwrap();
                        if let Ok(h) = self.state.try_lock() { drop(h); }
                    } }"
                ),
                // the guard is dropped before the call that locks again
                concat!(
                    link!(),
                    "impl Link {
                        pub fn send(&self) {
                            let n = { let l = self.state.lock().unwrap(); *l };
                            self.complete(n);
                        }
                        fn complete(&self, n: u32) { *self.state.lock().unwrap() += n; }
                    }"
                ),
            ])
            .fail(&[
                BINDING_THEN_LOCK,
                // two temporaries in one statement
                concat!(
                    link!(),
                    "impl Link { pub fn f(&self) -> u32 {
                        *self.state.lock().unwrap() + *self.state.lock().unwrap()
                    } }"
                ),
                // a match scrutinee lives through its arms
                concat!(
                    link!(),
                    "impl Link { pub fn f(&self) {
                        match *self.state.lock().unwrap() {
                            0 => { *self.state.lock().unwrap() = 1; }
                            _ => {}
                        }
                    } }"
                ),
                // `read` then `write` on one `RwLock`
                concat!(
                    link!(),
                    "impl Link { pub fn f(&self) {
                        let r = self.table.read().unwrap();
                        let mut w = self.table.write().unwrap();
                        w.push(r.len() as u32);
                    } }"
                ),
                // a reader that reads again in a callee (the same hazard)
                READ_AGAIN_THROUGH_CALL,
                // two readers (a writer queued in between deadlocks them)
                concat!(
                    link!(),
                    "impl Link { pub fn f(&self) -> usize {
                        let a = self.table.read().unwrap();
                        let b = self.table.read().unwrap();
                        a.len() + b.len()
                    } }"
                ),
                // `let x = &guard[i]` keeps the guard to the end of the block
                concat!(
                    link!(),
                    "impl Link { pub fn f(&self) {
                        let first = &self.table.read().unwrap()[0];
                        let _w = self.table.write().unwrap();
                        let _ = first;
                    } }"
                ),
                // KB Q219380: the send path calls its completion with the lock held
                concat!(
                    link!(),
                    "impl Link {
                        pub fn send(&self) {
                            let l = self.state.lock().unwrap();
                            let n = *l;
                            self.complete(n);
                        }
                        fn complete(&self, n: u32) { *self.state.lock().unwrap() += n; }
                    }"
                ),
                // the doc's example: an `if let` scrutinee under a live guard
                "use std::sync::Mutex;
                pub struct State { bundle: Option<u32> }
                pub struct Wan { link: Mutex<State> }
                impl Wan { pub fn f(&self) -> u32 {
                    let link = self.link.lock().unwrap();
                    if let Some(b) = self.link.lock().unwrap().bundle { return b + link.bundle.unwrap_or(0); }
                    0
                } }",
                // one static locked twice
                "use std::sync::Mutex;
                static TABLE: Mutex<u32> = Mutex::new(0);
                pub fn f() {
                    let _a = TABLE.lock().unwrap();
                    let _b = TABLE.lock().unwrap();
                }",
            ])
            .pass(&[
                // a callee that reads after the caller's read guard is gone
                concat!(
                    link!(),
                    "impl Link {
                        pub fn f(&self) -> usize {
                            let n = self.table.read().unwrap().len();
                            n + self.count()
                        }
                        fn count(&self) -> usize { self.table.read().unwrap().len() }
                    }"
                ),
            ])
            .run();
    }

    #[test]
    fn read_again_through_a_call_message() {
        assert_message(
            &DoubleLock,
            READ_AGAIN_THROUGH_CALL,
            &[
                "warn[double_lock]: `self.table` (Link.table) is read again through a call while a read guard of it is alive (deadlock once a writer waits in between)",
                "  --> 6:19 `self.count()`: this call reads the lock again",
                "   - 5:17 `self.table.read()`: first read here, and still held",
                "   - 8:32 `self.table.read()`: read again here",
                "  note: a read lock is not recursive: a writer that queues after the first read blocks the second, and the second blocks the writer",
                "  help: drop the read guard before the call, or pass the data it guards to the callee",
                "  key: double_lock:crate::Link::f:crate::Link.table:call-read",
            ],
        );
    }

    #[test]
    fn message() {
        assert_message(
            &DoubleLock,
            BINDING_THEN_LOCK,
            &[
                "deny[double_lock]: `self.state` (Link.state) is acquired while it is already held (self-deadlock)",
                "  --> 6:17 `self.state.lock()`: acquired again here",
                "   - 5:17 `self.state.lock()`: first acquired here, and still held",
                "  help: reuse the guard you already hold, or drop it before acquiring again",
                "  key: double_lock:crate::Link::binding_then_lock:crate::Link.state",
            ],
        );
    }
}
