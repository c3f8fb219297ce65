//! The lock-API vocabulary: every name the analysis gives a meaning to — methods that acquire,
//! try, release or wait on a lock, acquire/release functions of C-style APIs, functions that
//! sleep, spawners and interrupt registrars, and the std methods whose results keep a place.
//! Lowering reads these tables and records what it recognised.

use crate::ir::{BlockKind, Mode, TypeRef};

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
    "read_recursive",
    "read_irqsave",
    "write_irqsave",
    "read_irq",
    "write_irq",
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
    "try_read_irqsave",
    "try_write_irqsave",
    "try_read_recursive",
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
pub const TRANSPARENT: &[&str] = &[
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
pub const ITERATORS: &[&str] = &[
    "iter",
    "iter_mut",
    "values",
    "values_mut",
    "into_iter",
    "into_values",
];

/// Methods of iterators and `Option` whose closure receives one element of the receiver
/// (`self.queues.iter().for_each(|q| ..)`, `self.hook.as_ref().map(|h| ..)`).
pub const ELEM_COMBINATORS: &[&str] = &[
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

/// Closure-taking methods and functions of the standard library that run their closure during
/// the call and do not keep it: no value copy of the closure is lowered for them
/// (`BodyLowerer::value_copies`). The combinators of [`ELEM_COMBINATORS`] are not listed.
const RUNS_NOW: &[&str] = &[
    "map_err",
    "or_else",
    "unwrap_or_else",
    "ok_or_else",
    "then",
    "fold",
    "try_fold",
    "reduce",
    "scan",
    "partition",
    "max_by",
    "min_by",
    "sort_by",
    "sort_by_key",
    "sort_unstable_by",
    "sort_unstable_by_key",
    "sort_by_cached_key",
    "binary_search_by",
    "binary_search_by_key",
    "dedup_by",
    "dedup_by_key",
    "get_or_insert_with",
    "or_insert_with",
    "or_insert_with_key",
    "and_modify",
    "is_ok_and",
    "is_err_and",
    "rposition",
    "chunk_by",
    "call_once",
    "call_once_force",
    "get_or_init",
    "get_or_try_init",
    "with",
    "with_borrow",
    "with_borrow_mut",
    "fetch_update",
    "update",
    "scope",
    "resize_with",
    "from_fn",
    "successors",
    "repeat_with",
    "catch_unwind",
    "then_with",
    "cmp_by",
    "eq_by",
    "take",
    "replace_with",
    "split",
    "rsplit",
    "splitn",
    "matches",
    "trim_matches",
    "trim_start_matches",
    "trim_end_matches",
    "find",
    "rfind",
    "contains",
    "starts_with",
    "ends_with",
    "sum_by",
    "group_by",
    "extract_if",
    "drain_filter",
    "zip_with",
];

/// Whether a call of this name runs its closure arguments during the call only.
pub fn runs_closure_now(name: &str) -> bool {
    ELEM_COMBINATORS.contains(&name) || RUNS_NOW.contains(&name)
}

/// Methods that pass a guard through (`lock().unwrap()`, poison recovery).
pub const PASS_THROUGH: &[&str] = &[
    "unwrap",
    "expect",
    "unwrap_or_else",
    "unwrap_unchecked",
    "into_inner",
    "unwrap_or",
];

/// Free functions that only sleep or wait.
pub const SLEEP_FNS: &[&str] = &[
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
pub const SPAWNERS: &[&str] = &[
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

/// What an inline-assembly template does to the current CPU's interrupt flag, by its
/// instructions: x86 `cli` / `sti`; 32-bit Arm `cpsid i` / `cpsie i`; AArch64 `msr daifset, #n`
/// / `msr daifclr, #n` with the I bit (2) in `n`; RISC-V clearing / setting the supervisor or
/// machine interrupt-enable bit of `sstatus` / `mstatus` with an immediate (`csrci sstatus, 2`,
/// `csrsi mstatus, 8`). The last such instruction wins; anything else (a saved flags word put
/// back with `popf` or `msr daif, x0`) is not read.
pub fn asm_irq_effect(template: &str) -> Option<IrqEffect> {
    let mut effect = None;
    for insn in template.split(['\n', ';']) {
        let insn = insn.trim().to_ascii_lowercase();
        let mut words = insn
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty());
        let Some(op) = words.next() else { continue };
        let args: Vec<&str> = words.collect();
        let imm = |s: &str| {
            let s = s.trim_start_matches('#');
            match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => s.parse::<u64>().ok(),
            }
        };
        let e = match (op, args.as_slice()) {
            ("cli", []) => Some(IrqEffect::Off),
            ("sti", []) => Some(IrqEffect::On),
            ("cpsid", [f, ..]) if f.contains('i') => Some(IrqEffect::Off),
            ("cpsie", [f, ..]) if f.contains('i') => Some(IrqEffect::On),
            ("msr", ["daifset", n]) if imm(n).is_some_and(|n| n & 2 != 0) => Some(IrqEffect::Off),
            ("msr", ["daifclr", n]) if imm(n).is_some_and(|n| n & 2 != 0) => Some(IrqEffect::On),
            ("csrci" | "csrc", [csr, n]) | ("csrrci" | "csrrc", [_, csr, n])
                if riscv_ie_bit(csr, imm(n)) =>
            {
                Some(IrqEffect::Off)
            }
            ("csrsi" | "csrs", [csr, n]) | ("csrrsi" | "csrrs", [_, csr, n])
                if riscv_ie_bit(csr, imm(n)) =>
            {
                Some(IrqEffect::On)
            }
            _ => None,
        };
        effect = e.or(effect);
    }
    effect
}

/// `sstatus.SIE` (bit 1) or `mstatus.MIE` (bit 3) among the bits of an immediate.
fn riscv_ie_bit(csr: &str, bits: Option<u64>) -> bool {
    match (csr, bits) {
        ("sstatus", Some(b)) => b & 2 != 0,
        ("mstatus", Some(b)) => b & 8 != 0,
        _ => false,
    }
}

/// A call that registers its closure argument as an interrupt handler.
pub fn is_irq_registrar(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    (l.contains("irq") || l.contains("interrupt"))
        && (l.starts_with("request")
            || l.starts_with("register")
            || l.starts_with("set")
            || l.contains("handler"))
}

/// Functions that mask interrupts on the current CPU from the call on (`cli`, xv6's `push_off`,
/// Linux's `local_irq_save`).
pub const IRQ_DISABLE_FNS: &[&str] = &[
    "cli",
    "local_irq_disable",
    "local_irq_save",
    "raw_local_irq_save",
    "arch_local_irq_save",
    "push_off",
    "intr_off",
    "disable_interrupts",
    "irq_disable",
    "disable_irqs",
    "interrupt_disable",
];

/// Functions that unmask them again.
pub const IRQ_ENABLE_FNS: &[&str] = &[
    "sti",
    "local_irq_enable",
    "local_irq_restore",
    "raw_local_irq_restore",
    "arch_local_irq_restore",
    "pop_off",
    "intr_on",
    "enable_interrupts",
    "irq_enable",
    "enable_irqs",
    "interrupt_enable",
    "restore_interrupts",
];

/// Functions returning a guard that keeps interrupts masked until it is dropped.
pub const IRQ_GUARD_FNS: &[&str] = &[
    "save_and_disable_irq",
    "disable_local",
    "irq_save",
    "disable_irq_save",
    "IrqSave",
    "InterruptGuard",
];

/// How a call changes interrupt masking, by its name (`interrupts::disable()` counts as the
/// path's last two segments `interrupts` + `disable`).
pub fn irq_effect(segs: &[String]) -> Option<IrqEffect> {
    let last = segs.last()?.as_str();
    let prev = segs
        .len()
        .checked_sub(2)
        .map(|i| segs[i].to_ascii_lowercase());
    let on_irqs = prev
        .as_deref()
        .is_some_and(|p| p.contains("interrupt") || p.contains("irq"));
    if IRQ_GUARD_FNS.contains(&last)
        || (last == "new"
            && prev.is_some()
            && IRQ_GUARD_FNS
                .iter()
                .any(|g| Some(g.to_ascii_lowercase()) == prev))
    {
        return Some(IrqEffect::Guard);
    }
    if IRQ_DISABLE_FNS.contains(&last) || on_irqs && matches!(last, "disable" | "disable_all") {
        return Some(IrqEffect::Off);
    }
    if IRQ_ENABLE_FNS.contains(&last)
        || on_irqs && matches!(last, "enable" | "enable_all" | "restore")
    {
        return Some(IrqEffect::On);
    }
    None
}

/// See [`irq_effect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqEffect {
    Off,
    On,
    Guard,
}

/// Condition-variable waits: they release the guard passed first while waiting and give it back.
pub const CONDVAR_WAITS: &[&str] = &[
    "wait",
    "wait_while",
    "wait_timeout",
    "wait_timeout_while",
    "wait_for",
    "wait_until",
];

/// One-argument methods of `Option`/`Result` whose result holds the same value in another
/// wrapper (`opt.ok_or(e)?` is the value in `opt`).
pub const REWRAPPERS: &[&str] = &[
    "ok_or",
    "ok_or_else",
    "map_err",
    "context",
    "with_context",
    "wrap_err",
    "wrap_err_with",
];

/// One-argument methods whose result is an element of the receiver (`self.peers.get(k)`).
pub const ELEMENT_GETTERS: &[&str] = &[
    "get",
    "get_mut",
    "get_unchecked",
    "get_unchecked_mut",
    "remove",
    "swap_remove",
];

/// The mode a lock method acquires in.
pub fn method_mode(name: &str) -> Mode {
    let base = name
        .strip_prefix("try_")
        .or_else(|| name.strip_prefix("blocking_"))
        .unwrap_or(name);
    if base.starts_with("read") || base == "lock_shared" {
        Mode::Read
    } else if base.starts_with("upgradable_read")
        || base.starts_with("upgradeable_read")
        || base == "lock_upgradable"
    {
        Mode::Upgradable
    } else {
        Mode::Exclusive
    }
}

/// A method call that blocks by its name alone: `h.join()`, a channel's `recv`, `sleep`,
/// `wait()`. A receiver that is a guard or `self` has its own `recv` (analyzed through its
/// body), not a channel's.
pub fn blocking_method(name: &str, nargs: usize, recv_guard_or_self: bool) -> Option<BlockKind> {
    match name {
        "join" if nargs == 0 => Some(BlockKind::Join),
        "recv" | "recv_timeout" | "blocking_recv" if !recv_guard_or_self => {
            Some(BlockKind::ChannelRecv(name.to_string().into()))
        }
        "sleep" => Some(BlockKind::Sleep(name.to_string().into())),
        "wait" if nargs == 0 => Some(BlockKind::Sleep(name.to_string().into())),
        _ => None,
    }
}

/// Methods with no arguments that return one element of a collection or of an iterator over
/// it, when the receiver's type does not declare them.
pub const ELEM_METHODS: &[&str] = &[
    "first",
    "last",
    "first_mut",
    "last_mut",
    "next",
    "next_back",
    "peek",
    "front",
    "back",
    "front_mut",
    "back_mut",
    "pop",
    "pop_front",
    "pop_back",
    "pop_first",
    "pop_last",
];

/// What the name of an acquiring method or function says about it.
pub fn acq_method(name: &str) -> crate::ir::AcqMethod {
    crate::ir::AcqMethod {
        name: name.to_string().into(),
        masks_irq: irq_method(name),
        masks_bh: name.ends_with("_bh") || name.contains("_bh_"),
        recursive: name.ends_with("recursive"),
    }
}

/// Does acquiring through `method` mask interrupts?
pub fn irq_method(method: &str) -> bool {
    let m = method.to_ascii_lowercase();
    (m.contains("irq") && !m.contains("noirq") && !m.contains("enable"))
        || m.contains("interrupt")
        || m.ends_with("_save")
}

/// What kind of lock a type is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LockKind {
    /// The type's name as resolved (`std::sync::Mutex`, `spin::Mutex`, `SpinLock`).
    pub type_name: crate::sym::Sym,
    pub spin: bool,
    pub rw: bool,
    pub reentrant: bool,
    /// Acquired without a guard and released explicitly (lock_api `RawMutex`, FFI locks).
    pub raw: bool,
    /// Acquiring it through its plain method already masks interrupts.
    pub irq_safe: bool,
    /// Known by its name only: a type of a crate whose source was not read (a dependency not
    /// fetched, or left out), taken for a lock by the built-in name table. Findings that need
    /// it are one level weaker.
    pub by_name: bool,
    /// Its `lock` is an `async fn` in its source (an async mutex): the acquisition happens when
    /// the future is awaited. (Async by its crate is `async_by_name` of the type's path.)
    pub awaits: bool,
}

/// Crates whose lock types are async (their `lock()` is a future), by the type's path; a lock
/// type whose source is read is also async when its `lock` is an `async fn`.
const ASYNC_LOCK_CRATES: &[&str] = &[
    "tokio::",
    "async_lock::",
    "futures::",
    "futures_util::",
    "async_std::",
    "smol::",
    "async_mutex::",
    "embassy_sync::mutex::",
];

/// Whether a second read of a read-held lock can deadlock: a read that queues behind a waiting
/// writer. Not through a recursive-read method (`read_recursive`), and not for spin's
/// reader-preferring `RwLock` (a waiting writer does not hold readers back).
pub fn read_again_deadlocks(recursive: bool, type_name: &str) -> bool {
    !recursive && !type_name.starts_with("spin::")
}

/// Whether a lock type is async by its crate (the type's path).
pub fn async_by_name(type_name: &str) -> bool {
    ASYNC_LOCK_CRATES.iter().any(|p| type_name.starts_with(p))
}

/// Types that hold one value and are looked through to it (`Arc<Mutex<T>>`).
pub const WRAPPERS: &[&str] = &[
    "Arc",
    "Rc",
    "Box",
    "Pin",
    "CachePadded",
    "Weak",
    "UniqueArc",
    "ARef",
    "KBox",
    "LazyLock",
    "Lazy",
    "OnceLock",
    "OnceCell",
    "Once",
    "StaticCell",
    "Global",
    "Ref",
    "NonNull",
    "Cow",
];

/// Collections: an element of one is `[]` in a lock class.
pub const COLLECTIONS: &[&str] = &[
    "Vec",
    "DashMap",
    "FxHashMap",
    "AHashMap",
    "VecDeque",
    "SmallVec",
    "ArrayVec",
    "HashMap",
    "BTreeMap",
    "IndexMap",
    "KVec",
    "LinkedList",
    "Slab",
];

/// Collections whose elements are the values of key-value pairs.
pub const MAPS: &[&str] = &[
    "HashMap",
    "BTreeMap",
    "IndexMap",
    "DashMap",
    "FxHashMap",
    "AHashMap",
];

/// Types with a `lock()` that are no locks.
pub const NOT_LOCKS: &[&str] = &[
    "File",
    "Stdout",
    "Stdin",
    "Stderr",
    "StdoutLock",
    "StdinLock",
    "Path",
    "PathBuf",
];

/// A type argument naming a critical section (`Mutex<CriticalSectionRawMutex, T>`).
pub fn args_mention_critical_section(args: &[TypeRef]) -> bool {
    args.iter().any(|a| match a {
        TypeRef::Path { segs, .. } => segs.iter().any(|s| s.contains("CriticalSection")),
        _ => false,
    })
}

/// The built-in name table: how a lock type of a well-known name behaves, set on `k`; false
/// when the name is no lock. `first` is the crate the path starts with, `args` the type
/// arguments (`Mutex<T, Spin>`), `inherent_guard` as in [`Index::lock_kind`].
pub fn name_table_kind(
    real: &str,
    first: &str,
    args: &[TypeRef],
    inherent_guard: bool,
    k: &mut LockKind,
) -> bool {
    let lower = real.to_ascii_lowercase();
    let spin_crate = matches!(first, "spin" | "spinning_top" | "spinlock" | "kernel_sync");
    match real {
        "Mutex" | "FairMutex" | "TicketMutex" | "SpinMutex" => {
            k.spin =
                spin_crate || real != "Mutex" && real != "FairMutex" || args_mention_spin(args);
        }
        "RwLock" | "SpinRwLock" | "RwSpinlock" | "RwSpinLock" => {
            k.rw = true;
            k.spin = spin_crate || real != "RwLock" || args_mention_spin(args);
        }
        "ReentrantMutex" | "RecursiveMutex" => k.reentrant = true,
        "SpinLock" | "Spinlock" | "SpinLockIrq" | "IrqSpinLock" | "SpinNoIrq" | "SpinLockNoIrq"
        | "RawSpinLock" | "RawSpinlock" | "IrqLock" | "SpinIrq" | "KSpinLock" => {
            k.spin = true;
            // The name (`SpinLockIrq`; `SpinNoIrq`: no interrupts while held), or a
            // guard-policy type argument (`SpinLock<T, LocalIrqDisabled>`).
            k.irq_safe = lower.contains("irq");
            k.raw = real.starts_with("Raw") && args.is_empty();
        }
        "RawMutex" | "RawRwLock" | "RawFairMutex" | "RawReentrantMutex" | "RawSpin"
        | "RawTicketLock" => {
            // A type of that name with an inherent `lock`/`read`/`write` returning a value
            // (async-lock's own `RawRwLock`, whose `read()` is a future) is not lock_api's.
            k.raw = !inherent_guard;
            k.rw = real.contains("Rw");
            k.spin = real.contains("Spin") || real.contains("Ticket") || spin_crate;
        }
        "KSPIN_LOCK" | "NDIS_SPIN_LOCK" | "spinlock_t" | "raw_spinlock_t" | "KSpinLockRaw" => {
            k.raw = true;
            k.spin = true;
        }
        "SRWLOCK" | "CRITICAL_SECTION" | "pthread_mutex_t" | "mutex" => {
            k.raw = true;
        }
        _ => return false,
    }
    true
}

pub fn args_mention_spin(args: &[TypeRef]) -> bool {
    args.iter().any(|a| match a {
        TypeRef::Path { segs, .. } => segs.iter().any(|s| s.to_ascii_lowercase().contains("spin")),
        _ => false,
    })
}

/// A guard-policy type argument naming an interrupt-masking policy (`LocalIrqDisabled`,
/// `WriteIrqDisabled`, `NoPreemptIrqSave`, `IrqSave`). A data type whose name merely mentions
/// interrupts (`SpinLock<IrqEvents>`) says nothing.
pub fn args_mention_irq_policy(args: &[TypeRef]) -> bool {
    args.iter().any(|a| match a {
        TypeRef::Path { segs, args } if args.is_empty() => segs.last().is_some_and(|s| {
            let l = s.to_ascii_lowercase();
            l.contains("irq") && (l.ends_with("disabled") || l.ends_with("save"))
        }),
        _ => false,
    })
}

/// lock_api's `RawMutex`, `RawRwLock` and their extensions (`RawMutexFair`, …), by last segment.
pub fn is_raw_lock_trait(t: &str) -> bool {
    let last = t.rsplit("::").next().unwrap_or(t);
    last.starts_with("RawMutex") || last.starts_with("RawRwLock")
}

/// lock_api's `RawRwLock` and its extensions, by last segment.
pub fn is_raw_rwlock_trait(t: &str) -> bool {
    t.rsplit("::").next().unwrap_or(t).starts_with("RawRwLock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_assembly_masks_interrupts_by_its_instructions() {
        let off = Some(IrqEffect::Off);
        let on = Some(IrqEffect::On);
        assert_eq!(asm_irq_effect("cli"), off);
        assert_eq!(asm_irq_effect("  sti\n"), on);
        assert_eq!(asm_irq_effect("pushfq; pop {0}; cli"), off);
        assert_eq!(asm_irq_effect("cpsid i"), off);
        assert_eq!(asm_irq_effect("cpsie if"), on);
        assert_eq!(asm_irq_effect("mrs {0}, daif\nmsr daifset, #2"), off);
        assert_eq!(asm_irq_effect("msr daifset, #0xf"), off);
        assert_eq!(asm_irq_effect("msr daifclr, #2"), on);
        assert_eq!(asm_irq_effect("csrci sstatus, 2"), off);
        assert_eq!(asm_irq_effect("csrrci {0}, mstatus, 8"), off);
        assert_eq!(asm_irq_effect("csrsi sstatus, 0x2"), on);
        // the last one wins: masked around a sequence, enabled again at its end
        assert_eq!(asm_irq_effect("cli\nhlt\nsti"), on);
        for none in [
            "nop",
            "msr daifset, #1",
            "csrci sstatus, 8",
            "csrci sie, 2",
            "msr daif, {0}",
            "popfq",
            "mov {0}, cli_count",
            "cpsid f",
        ] {
            assert_eq!(asm_irq_effect(none), None, "{none}");
        }
    }
}
