//! Interrupt context: which functions may run as (or under) an interrupt handler.
//!
//! Entry points: handlers named in the configuration, `#[interrupt]`-style attributes,
//! functions and closures handed to IRQ registrars (`request_irq`, `register_irq_handler`, …),
//! and handler-shaped names (`handle_irq`, `irq_handler`, `*_isr`). Everything they call runs in
//! interrupt context too.

use std::collections::VecDeque;

use crate::config::Config;
use crate::flow::FnFlow;
use crate::index::{FnRef, Index};
use crate::interproc::Interproc;
use crate::ir::{Callee, FnDef, Root};
use crate::lower::LoweredFile;

/// How far from process context a function runs: a hard interrupt preempts a soft one, which
/// preempts process context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IrqLevel {
    /// Bottom halves, tasklets, NAPI polls, Windows DPCs (`DISPATCH_LEVEL`).
    Soft,
    /// Interrupt handlers (ISRs, `DIRQL`).
    Hard,
}

/// Why a function runs in interrupt context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IrqOrigin {
    pub level: IrqLevel,
    /// The handler (entry point) path.
    pub handler: String,
    /// Flow indices from the handler down to this function.
    pub path: Vec<usize>,
    /// The handler is one by its name only ([`handler_name`]): no configuration, attribute,
    /// registrar, foreign entry (`extern "C"`, `#[no_mangle]`) or interrupt-handler trait
    /// says so. Findings that rest on it are one level weaker.
    pub by_name: bool,
    /// The first call on the path that is dispatched through a trait (a `dyn`/`impl` receiver,
    /// a bounded type parameter): which impl runs there is assumed, so findings that rest on
    /// it are one level weaker.
    pub via_trait: Option<String>,
}

/// A handler-shaped name.
pub fn handler_name(name: &str) -> bool {
    matches!(
        name,
        "handle_irq"
            | "irq_handler"
            | "isr"
            | "interrupt_handler"
            | "handle_interrupt"
            | "on_interrupt"
    ) || name.ends_with("_isr")
        || name.starts_with("isr_")
        || name.ends_with("_irq_handler")
        || name.ends_with("_interrupt_handler")
        || name.starts_with("handle_irq_")
}

fn is_registrar(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    (n.contains("irq") || n.contains("interrupt") || n.contains("isr"))
        && (n.starts_with("request")
            || n.starts_with("register")
            || n.starts_with("set")
            || n.starts_with("install")
            || n.starts_with("connect")
            || n.contains("handler"))
        || n == "iocconnectinterrupt"
}

/// A soft-interrupt-shaped name: only the unambiguous ones. A `poll` or `*_dpc` may just as
/// well run in process context (user-space and embedded drivers), so NAPI polls and DPC routines
/// are declared in `softirq_handlers`.
pub fn softirq_name(name: &str) -> bool {
    matches!(name, "tasklet" | "bottom_half" | "softirq_handler")
        || name.ends_with("_tasklet")
        || name.ends_with("_softirq")
        || name.ends_with("_bottom_half")
}

fn is_soft_entry(f: &FnDef, config: &Config) -> bool {
    config
        .softirq_handlers
        .iter()
        .any(|h| *h == f.path || *h == f.name || f.path.ends_with(&format!("::{h}")))
        || f.attrs.iter().any(|a| {
            matches!(
                a.rsplit("::").next().unwrap_or(a),
                "tasklet" | "softirq" | "dpc"
            )
        })
        || softirq_name(&f.name)
}

/// Whether a function is an interrupt handler by evidence: the configuration, a contract, a
/// handler attribute, a closure given to a registrar — or, in a `no_std` crate (kernel or
/// firmware code) outside its tests, a handler-shaped name. A std program has no
/// hard-interrupt context by its names (`handle_interrupt` of a VMM's virtual device runs on
/// an ordinary thread).
fn is_entry(f: &FnDef, config: &Config, no_std: bool) -> Option<Evidence> {
    if config
        .contracts
        .iter()
        .any(|c| c.irq_context && c.describes(&f.path, &f.name))
    {
        return Some(Evidence::Shown);
    }
    if config
        .irq_handlers
        .iter()
        .any(|h| crate::config::names_fn(h, &f.path, &f.name))
    {
        return Some(Evidence::Shown);
    }
    if f.attrs.iter().any(|a| {
        let last = a.rsplit("::").next().unwrap_or(a);
        matches!(last, "interrupt" | "isr" | "irq_handler" | "exception")
    }) {
        return Some(Evidence::Shown);
    }
    if f.name.starts_with("{irq#") {
        return Some(Evidence::Shown);
    }
    if !(no_std && !f.test_only && handler_name(&f.name)) {
        return None;
    }
    // A handler-shaped name, and something beside it: an entry an assembly stub can jump to,
    // the method of an interrupt-handler trait that the interrupt core dispatches through, or
    // the handler protocol's answer to the core (`-> IrqReturn`, Linux's `irqreturn_t`).
    let handler_trait = f.trait_name.as_deref().is_some_and(|t| {
        let l = t.rsplit("::").next().unwrap_or(t).to_ascii_lowercase();
        (l.contains("irq") || l.contains("interrupt")) && l.contains("handler")
    });
    let irq_return = f.ret.as_ref().is_some_and(returns_irq_return);
    Some(if f.foreign_entry || handler_trait || irq_return {
        Evidence::Shown
    } else {
        Evidence::NameOnly
    })
}

/// `IrqReturn`, `irqreturn_t`, also inside `Result`/`Option`.
fn returns_irq_return(t: &crate::ir::TypeRef) -> bool {
    let crate::ir::TypeRef::Path { segs, args } = t else {
        return false;
    };
    let last = segs
        .last()
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_default();
    last == "irqreturn" || last == "irqreturn_t" || args.first().is_some_and(returns_irq_return)
}

/// How a function is known to be an interrupt handler.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Evidence {
    Shown,
    NameOnly,
}

/// Interrupt context of every flow.
pub fn compute(
    ix: &Index,
    files: &[LoweredFile],
    flows: &[FnFlow],
    ip: &Interproc,
    config: &Config,
) -> Vec<Option<IrqOrigin>> {
    let mut ctx: Vec<Option<IrqOrigin>> = vec![None; flows.len()];
    let by_ref: std::collections::BTreeMap<FnRef, usize> =
        flows.iter().enumerate().map(|(i, f)| (f.func, i)).collect();
    let origin = |level, handler: &str, i, by_name| {
        Some(IrqOrigin {
            level,
            handler: handler.to_string(),
            path: vec![i],
            by_name,
            via_trait: None,
        })
    };
    let no_std: std::collections::BTreeSet<&str> = files
        .iter()
        .filter(|f| f.no_std)
        .map(|f| f.krate.as_str())
        .collect();
    for (i, flow) in flows.iter().enumerate() {
        let f = ix.func(files, flow.func);
        let krate = files[flow.func.file].krate.as_str();
        if let Some(e) = is_entry(f, config, no_std.contains(krate)) {
            ctx[i] = origin(IrqLevel::Hard, &f.path, i, e == Evidence::NameOnly);
        } else if is_soft_entry(f, config) {
            ctx[i] = origin(IrqLevel::Soft, &f.path, i, false);
        }
    }
    // Functions handed to a registrar by name.
    for flow in flows {
        let f = ix.func(files, flow.func);
        for c in &flow.calls {
            let name = match &*c.callee {
                Callee::Path(s) => s.last().cloned().unwrap_or_default(),
                Callee::Method { name, .. } => name.to_string(),
                Callee::Value { .. } => continue,
            };
            if !is_registrar(&name) {
                continue;
            }
            // The first function argument is the handler; a second one beside it (the
            // threaded half of `request_threaded_irq`, a deferred-work callback) runs in
            // process context.
            let handler = c.args.iter().flatten().find_map(|a| match &a.root {
                Root::Path(segs) if a.proj.is_empty() => ix.find_fn(files, &f.module, f, segs),
                _ => None,
            });
            if let Some(h) = handler {
                let Some(r) = ix.fns.iter().find(|r| std::ptr::eq(ix.func(files, **r), h)) else {
                    continue;
                };
                if let Some(&i) = by_ref.get(r) {
                    if ctx[i]
                        .as_ref()
                        .is_none_or(|o| o.level < IrqLevel::Hard || o.by_name)
                    {
                        ctx[i] = origin(IrqLevel::Hard, &h.path, i, false);
                    }
                }
            }
        }
    }
    // Propagate through calls, hard contexts first, so a function reached from both kinds of
    // handler is known at the higher level.
    let mut order: Vec<usize> = (0..flows.len()).filter(|&i| ctx[i].is_some()).collect();
    order.sort_by_key(|&i| {
        let o = ctx[i].as_ref();
        (
            std::cmp::Reverse(o.map(|o| o.level)),
            o.is_some_and(|o| o.by_name),
            i,
        )
    });
    let mut q: VecDeque<usize> = order.into();
    while let Some(i) = q.pop_front() {
        let Some(from) = ctx[i].clone() else { continue };
        for targets in ip.targets.get(i).into_iter().flatten() {
            for t in targets {
                let via_trait = from.via_trait.clone().or_else(|| t.via_trait.clone());
                // a higher level, or the same one on better evidence: a handler known by more
                // than its name, then a path that assumes no impl behind a trait call
                let better = |o: &IrqOrigin| {
                    o.level < from.level
                        || o.level == from.level
                            && (o.by_name, o.via_trait.is_some())
                                > (from.by_name, via_trait.is_some())
                };
                if ctx[t.flow].as_ref().is_none_or(better) {
                    let mut path = from.path.clone();
                    path.push(t.flow);
                    ctx[t.flow] = Some(IrqOrigin {
                        level: from.level,
                        handler: from.handler.clone(),
                        path,
                        by_name: from.by_name,
                        via_trait,
                    });
                    q.push_back(t.flow);
                }
            }
        }
    }
    ctx
}
