use std::collections::BTreeSet;

use lockstep_analyzer::flow::HeldLock;
use lockstep_analyzer::ir::BlockKind;
use lockstep_analyzer::{Diagnostic, Label};

use crate::util::{func, lock_name};
use crate::{Lint, LintContext, LintMeta};

declare_lint! {
    /// ## What it does
    /// Finds a blocking operation while a spinlock is held: sleeping (`thread::sleep`,
    /// `msleep`, `schedule`, `KeDelayExecutionThread`), `.await`, a blocking channel receive or
    /// thread join, waiting on a condition variable, acquiring a sleeping mutex, or allocation
    /// that may sleep (`GFP_KERNEL`, or any heap allocation when `alloc_blocks = true`).
    ///
    /// Spinlocks are `spin` crate locks, Rust-for-Linux `SpinLock`, the irq-saving variants,
    /// WDK/NDIS spin locks and types declared `spin = true` in the configuration.
    ///
    /// ## Why is this bad?
    /// Every other CPU that wants the lock spins for as long as the holder sleeps; in interrupt
    /// or DPC context sleeping is not allowed at all. On one CPU it never wakes up.
    ///
    /// ## Known problems
    /// Blocking inside a callee is only seen through the call graph; calls into code outside the
    /// workspace are assumed not to block unless the configuration says so.
    ///
    /// ## Example
    /// ```rust,ignore
    /// let table = self.table.lock(); // spin::Mutex
    /// std::thread::sleep(BACKOFF);
    /// ```
    /// Use instead: drop the guard before sleeping, or use a sleeping lock.
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
        BlockKind::Alloc(s) => format!("`{s}` may sleep to allocate"),
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
                if !done.insert((cb.call, cb.held.acq_span)) {
                    continue;
                }
                let name = lock_name(&cb.held.lock.class, &cb.held.lock.instance);
                let mut d = Diagnostic::new(
                    BLOCKING_UNDER_SPINLOCK.name,
                    BLOCKING_UNDER_SPINLOCK.default_level,
                    format!(
                        "this call may block ({}) while spinlock {name} is held",
                        describe(&cb.block.kind)
                    ),
                    Label::new(cb.call, "calls a function that blocks"),
                )
                .with_label(cb.held.acq_span, "spinlock acquired here");
                for l in crate::util::chain_labels(&cb.block.chain)
                    .into_iter()
                    .skip(1)
                {
                    d.labels.push(l);
                }
                out.push(
                    d.with_label(cb.block.site, "blocks here")
                        .with_help("release the spinlock before the call")
                        .with_key(format!(
                            "blocking_under_spinlock:{}:{}:call",
                            f.path, cb.held.lock.class
                        )),
                );
            }
            for a in &flow.acquisitions {
                if a.is_try || a.lock.kind.spin || a.lock.kind.raw && a.lock.kind.type_name == "raw"
                {
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
