//! Analysis configuration as plain data. The driver reads `lockstep.toml` (or
//! `[package.metadata.lockstep]`) into this; the analyzer never reads files itself.

use std::collections::BTreeMap;

use crate::diag::Level;

/// A user-declared lock type: `type_name` is the last path segment (`IrqLock`) or a full path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockType {
    pub type_name: String,
    /// A spinning lock: blocking while it is held is a finding.
    pub spin: bool,
    /// Methods that acquire and return a guard (default: `lock`).
    pub acquire: Vec<String>,
    /// Acquiring methods that also disable interrupts (`lock_irqsave`).
    pub irq_acquire: Vec<String>,
    /// Methods that try to acquire (`try_lock`).
    pub try_acquire: Vec<String>,
    /// Can be re-acquired by the holder (reentrant mutex).
    pub reentrant: bool,
}

/// A pair of free functions (or methods) that acquire and release a lock passed as first
/// argument, such as `KeAcquireSpinLock` / `KeReleaseSpinLock`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockPair {
    pub acquire: String,
    pub release: String,
    pub spin: bool,
    /// The acquire also masks interrupts (`spin_lock_irqsave`).
    pub irq_safe: bool,
}

/// A counted resource pair (`take_credit` / `return_credit`) for `resource_leak`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourcePair {
    pub take: String,
    pub give: String,
}

/// What a function does that the analysis cannot see (FFI, dependencies, `dyn` callbacks).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contract {
    /// Path or bare name of the function (`ndis::NdisMSendComplete`, `Driver::send_complete`).
    pub function: String,
    /// Lock classes acquired (and released) inside.
    pub acquires: Vec<String>,
    /// Lock classes the function releases (held on entry, not on return).
    pub releases: Vec<String>,
    /// Lock classes that must be held on entry, and stay held: the function returns them held.
    pub requires_held: Vec<String>,
    /// The function runs in interrupt context.
    pub irq_context: bool,
    /// The function may sleep.
    pub may_block: bool,
    /// Lock classes the function returns held (the caller must release them).
    pub returns_held: Vec<String>,
}

/// Whether a configured function name (`ndis::NdisMSendComplete`, `Driver::send_complete`, a
/// bare name) names the function with full path `path` and name `name`.
pub fn names_fn(pattern: &str, path: &str, name: &str) -> bool {
    pattern == path
        || pattern == name
        || path
            .strip_suffix(pattern)
            .is_some_and(|p| p.ends_with("::"))
}

impl Contract {
    /// Whether this contract describes the function with full path `path` and name `name`.
    pub fn describes(&self, path: &str, name: &str) -> bool {
        names_fn(&self.function, path, name)
    }
}

/// Everything the analysis can be told.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Lint name → level overrides (`warnings` is expanded by the driver).
    pub levels: BTreeMap<String, Level>,
    pub lock_types: Vec<LockType>,
    pub lock_pairs: Vec<LockPair>,
    pub resource_pairs: Vec<ResourcePair>,
    pub contracts: Vec<Contract>,
    /// Declared lock order, outermost first, as canonical class names.
    pub lock_order: Vec<String>,
    /// Interrupt handler entry points (function paths or bare names).
    pub irq_handlers: Vec<String>,
    /// Soft-interrupt entry points: bottom halves, tasklets, NAPI polls, DPCs.
    pub softirq_handlers: Vec<String>,
    /// Extra identifiers that name sequence numbers.
    pub seq_names: Vec<String>,
    /// Identifiers that must not be taken for sequence numbers.
    pub seq_ignore: Vec<String>,
    /// Treat heap allocation as blocking under a spinlock (kernel / `no_std` code).
    pub alloc_blocks: Option<bool>,
    /// Extra functions that block (sleep) by name.
    pub blocking_functions: Vec<String>,
    /// Work limits of the call summaries (`[budget]`); `None` keeps the built-in limit.
    pub budget: Budget,
}

/// Work limits, counted in work done (never in time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budget {
    /// Summary entries one recursive component may compose.
    pub summary_per_component: Option<u64>,
    /// Summary entries the whole run may compose.
    pub summary_per_run: Option<u64>,
}
