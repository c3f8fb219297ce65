//! The IR: items with their types, and function bodies as control-flow graphs over lock
//! events. Plain data only; produced by `lower`, read by `index`, `flow` and the lints.
//!
//! Lowering is per file and does not know types from other files, so a `.lock()` is recorded as
//! a *candidate* acquisition on a [`Place`]; `index` later decides whether the place is a lock
//! and which class it belongs to. A candidate that is not a lock becomes a no-op.

use crate::source::Span;
use crate::sym::Sym;

/// A type as written, simplified: paths with generic arguments, references, tuples, slices.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum TypeRef {
    /// `a::b::C<T, U>`: segments and the last segment's type arguments.
    Path {
        segs: Vec<String>,
        args: Vec<TypeRef>,
    },
    Ref {
        mutable: bool,
        inner: Box<TypeRef>,
    },
    Ptr(Box<TypeRef>),
    Slice(Box<TypeRef>),
    Array(Box<TypeRef>),
    Tuple(Vec<TypeRef>),
    /// `impl Trait` / `dyn Trait`: the trait paths.
    Trait(Vec<Vec<String>>),
    Unknown,
}

impl TypeRef {
    /// The same type with `f` applied to the types directly inside a reference, pointer,
    /// slice, array or tuple; `None` for a path, a trait object or an unknown type.
    pub fn map_inner(&self, f: impl Fn(&TypeRef) -> TypeRef) -> Option<TypeRef> {
        Some(match self {
            TypeRef::Ref { mutable, inner } => TypeRef::Ref {
                mutable: *mutable,
                inner: Box::new(f(inner)),
            },
            TypeRef::Ptr(t) => TypeRef::Ptr(Box::new(f(t))),
            TypeRef::Slice(t) => TypeRef::Slice(Box::new(f(t))),
            TypeRef::Array(t) => TypeRef::Array(Box::new(f(t))),
            TypeRef::Tuple(v) => TypeRef::Tuple(v.iter().map(f).collect()),
            TypeRef::Path { .. } | TypeRef::Trait(_) | TypeRef::Unknown => return None,
        })
    }

    /// A const generic argument as lowering keeps it (`false`, `16`, `{ N + 1 }`).
    pub fn is_const_arg(&self) -> bool {
        match self {
            TypeRef::Path { segs, args } if args.is_empty() && segs.len() == 1 => {
                let s = segs[0].as_str();
                s == "true"
                    || s == "false"
                    || s.starts_with(|c: char| {
                        c.is_ascii_digit() || matches!(c, '{' | '-' | '\'' | '"')
                    })
            }
            _ => false,
        }
    }

    /// A std map's key and value types (`BTreeMap<K, V>`, `HashMap<K, V, S>`), of a type
    /// with its pointers and aliases stripped.
    pub fn std_map_kv(&self) -> Option<(TypeRef, TypeRef)> {
        match self {
            TypeRef::Path { segs, args }
                if matches!(
                    segs.last().map(String::as_str),
                    Some("BTreeMap" | "HashMap")
                ) && args.len() >= 2 =>
            {
                Some((args[0].clone(), args[1].clone()))
            }
            _ => None,
        }
    }

    /// `UnsafeCell<T>::get()` (and `get_mut`, `raw_get`): a pointer to the `T` inside.
    pub fn unsafe_cell_get(&self, method: &str) -> Option<TypeRef> {
        match self {
            TypeRef::Path { segs, args }
                if matches!(method, "get" | "get_mut" | "raw_get")
                    && matches!(
                        segs.last().map(String::as_str),
                        Some("UnsafeCell" | "SyncUnsafeCell")
                    ) =>
            {
                Some(TypeRef::Ptr(Box::new(args.first()?.clone())))
            }
            _ => None,
        }
    }

    pub fn last(&self) -> Option<&str> {
        match self {
            TypeRef::Path { segs, .. } => segs.last().map(String::as_str),
            _ => None,
        }
    }
}

/// A const parameter's value a lock's masking depends on (`if !INT { cli() }`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConstCond {
    /// The parameter's position among the type's parameters.
    pub pos: usize,
    /// The value that masks, as written (`false`).
    pub value: String,
    /// The parameter's default, when written.
    pub default: Option<String>,
}

impl ConstCond {
    /// Whether a use's arguments (`Mutex<T, false>`; a missing one takes the default) give the
    /// parameter this value.
    pub fn holds(&self, args: &[TypeRef]) -> bool {
        let arg = match args.get(self.pos) {
            Some(TypeRef::Path { segs, args }) if args.is_empty() && segs.len() == 1 => {
                Some(segs[0].as_str())
            }
            Some(_) => None,
            None => self.default.as_deref(),
        };
        arg == Some(self.value.as_str())
    }
}

/// A struct (or union) and its fields; tuple fields are named `0`, `1`, ….
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StructDef {
    /// Canonical path `crate::module::Name` (crate spelled by its name).
    pub path: String,
    pub name: String,
    pub fields: Vec<(String, TypeRef, Span)>,
    /// Type and const parameters in order (the positions of a use's arguments).
    pub generics: Vec<String>,
    /// The const parameters, with their defaults as written.
    pub consts: Vec<(String, Option<String>)>,
    pub span: Span,
    /// Module path (crate name first) for name resolution.
    pub module: String,
    /// A tuple or unit struct: its name is also a value (the constructor, or the one value).
    /// A braced struct's name is a type only, so a `static` or `fn` of the same name is what
    /// the name means as a value (`pub static TTY: TTY`).
    pub ctor: bool,
    /// Its `#[cfg(..)]` predicates with those of the modules around it, undecided
    /// (`crate::cfg_pred`); `None`: compiled in every configuration.
    pub cfg: crate::cfg_pred::ItemCfg,
}

/// An enum: its name (a path that names it names no struct) and its variants' fields, for
/// the bindings of patterns that destructure it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct EnumDef {
    pub path: String,
    pub name: String,
    pub module: String,
    pub generics: Vec<String>,
    /// Each variant's name and fields (tuple variants' fields named `0`, `1`, …).
    pub variants: Vec<(String, Vec<(String, TypeRef)>)>,
    /// Its `#[cfg(..)]` predicates with those of the modules around it, undecided
    /// (`crate::cfg_pred`); `None`: compiled in every configuration.
    pub cfg: crate::cfg_pred::ItemCfg,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StaticDef {
    pub path: String,
    pub name: String,
    pub ty: TypeRef,
    pub span: Span,
    pub module: String,
    /// Its `#[cfg(..)]` predicates with those of the modules around it, undecided
    /// (`crate::cfg_pred`); `None`: compiled in every configuration.
    pub cfg: crate::cfg_pred::ItemCfg,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct AliasDef {
    pub path: String,
    pub name: String,
    pub ty: TypeRef,
    pub module: String,
    /// Its type parameters (`type FastMap<K, V> = HashMap<K, V, Hasher>`).
    pub generics: Vec<String>,
    /// Its `#[cfg(..)]` predicates with those of the modules around it, undecided
    /// (`crate::cfg_pred`); `None`: compiled in every configuration.
    pub cfg: crate::cfg_pred::ItemCfg,
}

/// `use` entries of one module: the local name and the path it stands for.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct UseDef {
    pub module: String,
    pub alias: String,
    pub path: Vec<String>,
    /// `use a::b::*`.
    pub glob: bool,
    /// Its `#[cfg(..)]` predicates with those of the modules around it, undecided
    /// (`crate::cfg_pred`); `None`: compiled in every configuration.
    pub cfg: crate::cfg_pred::ItemCfg,
}

/// Where a place starts.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Root {
    SelfValue,
    /// A parameter, with its declared type.
    Param {
        name: Sym,
        ty: std::sync::Arc<TypeRef>,
    },
    /// A local binding: its declared type when written, and a unique tag (binding span start).
    Local {
        name: Sym,
        ty: Option<std::sync::Arc<TypeRef>>,
        tag: u32,
    },
    /// A path naming a static or const (`TABLE`, `crate::net::TABLE`), as written.
    Path(Box<[String]>),
    /// The result of calling a function by path (`Foo::new()`, `global_lock()`).
    Call(Box<[String]>),
    /// A temporary value whose type its construction spells (`Object::Field { .. }.wrap()`).
    Value(Box<TypeRef>),
    /// A value whose origin is not tracked (a call on an expression, a literal, …).
    Opaque,
}

/// One step from a place to a sub-place.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Proj {
    Field(Sym),
    /// `[i]`, with the index expression's text for identity (`[0]` vs `[i]`).
    Index(Sym),
    /// A method call with no arguments that may be an accessor (`self.sockets()`).
    Method(Sym),
    /// A wrapper method with no arguments (`as_ref`, `get_ref`, `deref`, `inner`, …): the same
    /// place when it is the wrapper's (`Pin::get_ref`, `Arc::as_ref`), but the type's own method
    /// when the receiver's type declares one of that name, as method resolution picks the
    /// receiver's method first. Not part of the place's `text`.
    Via(Sym),
    /// An element of the iterated collection (`for q in &self.queues`).
    Elem,
    /// The data behind a guard (`*m.lock()`): the lock type's protected type.
    Guard,
    /// The value inside an `Option`/`Result` (`x.unwrap()`, `x?`, `x.expect(..)`): the same
    /// place, one wrapper less in its type. Not part of the place's `text`.
    Unwrap,
    /// A field bound by a constructor pattern (`Variant(x)`, `Type { f, .. }`, `Self { f }`):
    /// the enum variant's field when the value's type is an enum with a variant `ctor`, the
    /// struct's field when it is the struct `ctor` names; unknown otherwise. Spelled `.field`.
    Ctor {
        ctor: Sym,
        field: Sym,
    },
}

/// A place expression: a root and projections. `text` is its normalized spelling, used for
/// identity inside one function (`self.state`, `self.queues[i]`, `q`).
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Place {
    pub root: Root,
    pub proj: Vec<Proj>,
    pub text: Sym,
}

impl Place {
    pub fn opaque(text: impl Into<String>) -> Place {
        Place {
            root: Root::Opaque,
            proj: Vec::new(),
            text: text.into().into(),
        }
    }
}

/// How an acquisition was spelled, which decides whether it needs an explicit release.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum AcqStyle {
    /// Returns a guard that releases on drop (`m.lock()`).
    Guard,
    /// Needs an explicit release (`raw.lock()`, `KeAcquireSpinLock(&l)`, config pairs).
    Raw,
}

/// Shared or exclusive.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Mode {
    Exclusive,
    Read,
    /// An upgradable read (parking_lot): excludes writers and other upgradable readers.
    Upgradable,
}

impl Mode {
    /// Whether a holder in mode `self` makes an acquirer in mode `other` wait: everything but
    /// read with read and read with upgradable. (A second read can still wait behind a queued
    /// writer: `double_lock` reports that hazard on its own.)
    pub fn conflicts_with(self, other: Mode) -> bool {
        !matches!(
            (self, other),
            (Mode::Read, Mode::Read)
                | (Mode::Read, Mode::Upgradable)
                | (Mode::Upgradable, Mode::Read)
        )
    }
}

/// Index of a guard (a binding or temporary holding a guard) in one body.
pub type GuardId = u32;
/// Index of a node in one body.
pub type NodeId = u32;

/// What a call names.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Callee {
    /// `a::b::f(..)`, `Type::f(..)`, `Self::f(..)`, `f(..)`: the path as written.
    Path(Vec<String>),
    /// `recv.m(..)`: the receiver place (when it is one) and the method name.
    Method { recv: Option<Place>, name: Sym },
    /// Calling a value that is not a function's path: a closure parameter `f(x)`, a local
    /// bound to a callback (`for h in &self.handlers { h() }`), a field (`(self.on_rx)(p)`).
    /// `text` is the callee as written, `place` the place the value is read from, when it is
    /// one: a function value stored there earlier is what runs (`resolve::fnvalues`).
    Value { text: Sym, place: Option<Place> },
}

/// What may block, for `blocking_under_spinlock`.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum BlockKind {
    Sleep(Sym),
    Await,
    /// Waiting on a condition variable; the guard's own lock is released while waiting.
    CondWait(Option<GuardId>),
    ChannelRecv(Sym),
    Join,
    Alloc(Sym),
    /// A loop with no exit (no `break` out of it, no `return`, no `?`), entered here. The
    /// guards created before the loop that its body releases (or moves), and its explicit
    /// releases (`Unlock` nodes): a lock released inside the loop does not spin with it.
    Spin {
        releases: Box<[GuardId]>,
        unlocks: Box<[NodeId]>,
    },
}

/// How an acquisition was written, classified once when it is lowered (`lock_api::acq_method`).
#[derive(
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct AcqMethod {
    /// The method or function as written: `lock`, `read_recursive`, `lock_irqsave`,
    /// `KeAcquireSpinLock`, a configured pair's acquire function.
    pub name: Sym,
    /// Holding the lock masks interrupts (`lock_irqsave`, `lock_irq_disabled`,
    /// `spin_lock_irqsave`).
    pub masks_irq: bool,
    /// Holding the lock masks bottom halves / softirqs (`lock_bh`, `spin_lock_bh`).
    pub masks_bh: bool,
    /// A recursive read (`read_recursive`): it does not queue behind a waiting writer.
    pub recursive: bool,
}

/// A branch condition that later branches can correlate with (`if flag {..} … if flag {..}`).
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct CondKey {
    /// Normalized text of the condition (negations stripped).
    pub text: String,
    /// Root local / `self` the condition reads; assignments to it invalidate the assumption.
    pub roots: Vec<String>,
}

/// Which arguments of a call are passed by value, one bit per argument; the last bit stands
/// for itself and every argument after it (set when any of them is).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ArgMask(pub u64);

impl ArgMask {
    pub fn set(&mut self, i: usize) {
        self.0 |= 1 << i.min(63);
    }

    pub fn get(self, i: usize) -> bool {
        self.0 & (1 << i.min(63)) != 0
    }
}

/// One operation of a body.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Op {
    Nop,
    /// A candidate acquisition: `place.method()` or an acquire function applied to `place`.
    Acquire {
        place: Box<Place>,
        /// `lock`, `read`, `write`, `lock_irqsave`, `KeAcquireSpinLock`, … and what its name says.
        method: AcqMethod,
        style: AcqStyle,
        mode: Mode,
        /// A try-lock on its success path: never blocks, never closes a cycle.
        is_try: bool,
        /// The guard created, for guard-style acquisitions.
        guard: Option<GuardId>,
        /// Whether the call's result was unwrapped (`.lock().unwrap()`): evidence of std.
        unwrapped: bool,
        span: Span,
    },
    /// Drop of a guard (end of scope, end of statement, `drop(g)`, a move into a callee).
    Release {
        guard: GuardId,
        span: Span,
        explicit: bool,
    },
    /// An explicit raw release of a place (`raw.unlock()`, `KeReleaseSpinLock(&l)`,
    /// `force_unlock`).
    Unlock {
        place: Box<Place>,
        method: Sym,
        span: Span,
    },
    /// A guard leaked: `mem::forget(g)`, `ManuallyDrop::new(g)`, `Box::leak`, stored in a
    /// place that outlives the function.
    Leak {
        guard: GuardId,
        span: Span,
        how: Sym,
        /// Stored into a field of `self` or of a parameter (`self.guard = Some(m.lock())`):
        /// the value that owns it now drops it (or takes it out) later, as a returned guard
        /// is dropped by the caller. Still held for the rest of this function.
        owned: bool,
    },
    /// A guard moved to a new owner (`let h = g;`, a branch's value): if `from` is held it is
    /// now held as `to`, and dropping `from` later does nothing.
    Transfer {
        from: GuardId,
        to: GuardId,
        span: Span,
    },
    /// The lock a guard holds is now held in `mode` (an upgradable read upgraded to a write,
    /// a write downgraded to a read): the guard and the lock stay the same. `waits` when the
    /// change waits for other holders (an upgrade, not a `try_upgrade` or a downgrade).
    SetMode {
        guard: GuardId,
        mode: Mode,
        waits: bool,
        span: Span,
    },
    /// A guard moved out as the function's return value.
    ReturnGuard {
        guard: GuardId,
        span: Span,
    },
    Call {
        /// Shared with the flow's `CallEvent`s of this call (one per held-lock state).
        callee: std::sync::Arc<Callee>,
        span: Span,
        args: std::sync::Arc<[Option<Place>]>,
        /// Which arguments are passed by value (a plain path: the value moves into the call).
        by_value: ArgMask,
        /// The guard slot that owns the call's result, when the result is used: if the callee
        /// returns a guard, the caller holds that lock through this slot.
        result: Option<GuardId>,
    },
    Block {
        kind: BlockKind,
        span: Span,
    },
    /// Only paths on which `key` has `value` continue.
    Assume {
        key: CondKey,
        value: bool,
    },
    /// Only paths on which none of `guards` holds a lock continue: `opt.is_none()` on an
    /// `Option` that keeps a guard in these slots.
    AssumeEmpty {
        guards: Vec<GuardId>,
    },
    /// A value of the struct `ty` (as written) is built with references to `places`
    /// (`Guard { lock: self }`, `Guard { raw: &self.raw }`): when the struct has a `Drop`
    /// impl, a raw or leaked hold of those places (or of places inside them) passes to it.
    HandOff {
        ty: Box<[String]>,
        places: Box<[String]>,
        span: Span,
    },
    /// A local or place is assigned: assumptions that read `root` are forgotten.
    Assign {
        root: Sym,
    },
    /// An assignment to a place that outlives the function (`self.slot = Some(pkt)`): the
    /// parameters moved into it are owned by whoever reads that place later; assigning the
    /// place again (`self.slot = None`) drops what an earlier store put there.
    Store {
        params: Vec<String>,
        /// The assigned place as written.
        place: Sym,
        span: Span,
    },
    /// `critical_section::with`, `without_interrupts`, `local_irq_save`: interrupts masked
    /// from here until the matching exit.
    IrqOff {
        span: Span,
    },
    /// The body of a closure passed to the call at `call` runs from here (inside the callee).
    ClosureEnter {
        call: NodeId,
        /// The matching `ClosureExit`, when the closure's body ends (is not diverging): a
        /// closure the callee stores instead of running (`resolve::fnvalues`) is skipped
        /// from here to there.
        exit: Option<NodeId>,
    },
    ClosureExit,
    /// The result of the call at `call` was matched as a success (`Ok`/`Some`) or a failure
    /// (`Err`/`None`, the error path of `?`) on this path.
    CallOutcome {
        call: NodeId,
        ok: bool,
    },
    /// A `break` leaves a loop here: exits reached after it name it as their way out.
    Leave {
        span: Span,
    },
    /// A counter moved by one (`credits -= 1`, `inflight.fetch_add(1, ..)`, a configured
    /// take/give pair): a counted resource when the code moves it both ways somewhere.
    Count {
        place: Box<Place>,
        delta: i8,
        span: Span,
    },
    IrqOn,
    /// The call's result (in slot `guard`) keeps interrupts masked until it is dropped
    /// (`let _irq = CurrentIrqArch::save_and_disable_irq();`).
    IrqGuard {
        guard: GuardId,
    },
    /// Normal function exit (a `return`, `?`, or falling off the end).
    Exit {
        span: Span,
    },
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Node {
    pub op: Op,
    pub succs: Succs,
}

/// A node's successors. Almost every node has one or two, kept inline (16 bytes, no heap
/// allocation, against a `Vec`'s 24 bytes and its allocation); more go to the heap. Serialized
/// as a sequence, as a `Vec` is.
#[derive(Clone, PartialEq, Eq)]
pub enum Succs {
    Few { len: u8, ids: [NodeId; 2] },
    Many(Box<Vec<NodeId>>),
}

impl Default for Succs {
    fn default() -> Self {
        Succs::Few {
            len: 0,
            ids: [0; 2],
        }
    }
}

impl Succs {
    pub fn push(&mut self, id: NodeId) {
        match self {
            Succs::Few { len, ids } if (*len as usize) < ids.len() => {
                ids[*len as usize] = id;
                *len += 1;
            }
            Succs::Few { ids, .. } => {
                let mut v = ids.to_vec();
                v.push(id);
                *self = Succs::Many(Box::new(v));
            }
            Succs::Many(v) => v.push(id),
        }
    }
}

impl std::ops::Deref for Succs {
    type Target = [NodeId];
    fn deref(&self) -> &[NodeId] {
        match self {
            Succs::Few { len, ids } => &ids[..*len as usize],
            Succs::Many(v) => v,
        }
    }
}

impl<'a> IntoIterator for &'a Succs {
    type Item = &'a NodeId;
    type IntoIter = std::slice::Iter<'a, NodeId>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl std::fmt::Debug for Succs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl serde::Serialize for Succs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Succs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<NodeId>::deserialize(d)?;
        let mut out = Succs::default();
        for id in v {
            out.push(id);
        }
        Ok(out)
    }
}

/// A function body as a control-flow graph. Node 0 is the entry.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Body {
    pub nodes: Vec<Node>,
    pub guard_count: u32,
    /// Set when lowering stopped early (too large or too deep); the body is then partial.
    pub truncated: bool,
    /// Macros whose meaning is unknown (their arguments are not analyzed).
    pub opaque_macros: Vec<String>,
    /// Guards received by value (`tail: MutexGuard<'_, T>`): the parameter's index in
    /// `FnDef::params` and the slot that holds the caller's guard on entry.
    pub param_guards: Vec<(u8, GuardId)>,
    /// Values stored into places that outlive the statement (struct literal fields,
    /// assignments to fields and statics), flow-insensitively: what `resolve::alias` unifies
    /// lock identities over.
    pub value_flows: Vec<ValueFlow>,
    /// Closures lowered as functions of their own whose value is stored for later (into a
    /// field, a static, a collection) or passed to a call: what `resolve::fnvalues` binds
    /// calls through those places to.
    pub fn_stores: Vec<FnStore>,
    /// Acquisitions in branches that order two objects by one key (`if a_addr < b_addr`,
    /// `match self.id.cmp(&other.id)`) on places rooted at either object.
    pub ordered: Vec<OrderedAcq>,
    /// Acquisitions (sorted) on a lock of an object this body built and has not shared yet:
    /// nobody else can hold it, so they order nothing against other locks.
    #[serde(default)]
    pub unshared: Vec<NodeId>,
    /// Acquisitions on a lock of an object this body built and handed only to calls before
    /// the guard is released: unshared when none of those callees shares it.
    #[serde(default)]
    pub unshared_if: Vec<UnsharedIf>,
    /// What the body does with each parameter it does not bind again: whether it may share
    /// it other than by handing it to calls, and the calls it is handed to.
    #[serde(default)]
    pub params_handed: Vec<ParamHanded>,
    /// Statements under a `#[cfg(..)]` that names a feature, decided by the loader
    /// (`lower::cfg`).
    #[serde(default)]
    pub cfg_gates: Vec<CfgGate>,
    /// Guards moved into calls (sorted by call node), with the argument they are passed as:
    /// the callee owns them from there and may drop them before it locks anything. Kept
    /// beside the nodes because few calls have any ([`Body::moved_into`]).
    #[serde(default)]
    pub call_moves: Vec<(NodeId, u32, GuardId)>,
    /// The nodes were dropped after the function's flow was built ([`Body::release_nodes`]).
    #[serde(skip)]
    pub released: bool,
}

/// See `Body::unshared_if`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnsharedIf {
    pub acq: NodeId,
    /// The calls the object is handed to: call node and slot (0: the receiver, k + 1:
    /// argument k as written).
    pub calls: Vec<(NodeId, u8)>,
}

/// See `Body::params_handed`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ParamHanded {
    /// The parameter: 0 is `self` when the function has one, then `FnDef::params` in order.
    pub param: u8,
    /// Some use other than a lock of its places or a hand-over to a call may share it.
    pub escapes: bool,
    /// As `UnsharedIf::calls`.
    pub calls: Vec<(NodeId, u8)>,
}

impl Body {
    /// The guards moved into the call at `node`: (argument index, guard).
    pub fn moved_into(&self, node: NodeId) -> impl Iterator<Item = (u32, GuardId)> + '_ {
        let from = self.call_moves.partition_point(|m| m.0 < node);
        self.call_moves[from..]
            .iter()
            .take_while(move |m| m.0 == node)
            .map(|m| (m.1, m.2))
    }

    /// Drop what only the function's own flow and the passes before it read (the nodes, the
    /// value flows, the stored closures), once that flow is built. A body the counted-resource
    /// pass walks after every flow is done is not released (`resource::Counters::walks`).
    pub fn release_nodes(&mut self) {
        self.nodes = Vec::new();
        self.call_moves = Vec::new();
        self.value_flows = Vec::new();
        self.fn_stores = Vec::new();
        self.released = true;
    }
}

/// A statement under a `#[cfg(..)]` predicate that names a feature. Lowering puts it between
/// two nodes of its own, `node` (whose successors enter the statement) and `join` (where the
/// path goes on after it), so that a loader that finds the statement not compiled can send
/// `node` straight to `join` and clear the statement's own nodes (`node + 1 .. join`), value
/// flows and closures.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CfgGate {
    pub node: NodeId,
    pub join: NodeId,
    pub pred: crate::cfg_pred::CfgPred,
    /// Whether the statement is kept when the predicate is undecided. A statement whose
    /// predicate is the negation of an earlier one's in its block (`#[cfg(not(feature =
    /// "libc"))]` after `#[cfg(feature = "libc")]`) is an alternative to it: kept only when
    /// its own predicate is true, as no build has both.
    pub kept_if_unknown: bool,
    /// The statement's entries in `Body::value_flows` and `Body::fn_stores` (start, end).
    pub value_flows: (u32, u32),
    pub fn_stores: (u32, u32),
    /// The closures lowered as functions of their own inside the statement (`FnDef::path`).
    pub closures: Vec<String>,
}

/// `OrderedAcq::outcomes`: the left operand compares less than the right one.
pub const ORD_LT: u8 = 1;
/// `OrderedAcq::outcomes`: the operands compare equal.
pub const ORD_EQ: u8 = 2;
/// `OrderedAcq::outcomes`: the left operand compares greater than the right one.
pub const ORD_GT: u8 = 4;

/// An acquisition in a branch chosen by comparing two objects by the same key, derived the
/// same way from each (`a as *const _ as usize` against `b as *const _ as usize`, `self.id`
/// against `other.id`), whose place is rooted at one of the two objects.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderedAcq {
    /// The `Acquire` node.
    pub node: NodeId,
    /// The comparison, numbered within the body.
    pub cmp: u32,
    /// How the key is derived from each object, without the object and without types
    /// (` as as`, `.id`, `Arc::as_ptr() as`).
    pub key: String,
    /// The outcomes of comparing left with right under which the branch runs (`ORD_*` bits).
    pub outcomes: u8,
    /// The place is rooted at the left operand's object (else at the right one's).
    pub left: bool,
}

impl OrderedAcq {
    /// When `self` (taken first) and `then` (taken while it is held) are the two objects of
    /// one comparison in one branch that tells which object is the smaller: whether the
    /// branch takes the smaller object's lock first (`Some(true)`) or the larger one's.
    pub fn pair(&self, then: &OrderedAcq) -> Option<bool> {
        let lt = self.outcomes & ORD_LT != 0;
        let gt = self.outcomes & ORD_GT != 0;
        (self.cmp == then.cmp
            && self.outcomes == then.outcomes
            && self.left != then.left
            && lt != gt)
            .then_some(self.left == lt)
    }
}

/// A closure's value stored or passed on: `self.handlers.push(Box::new(move || ..))`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FnStore {
    pub to: FnStoreTo,
    /// The closure's `FnDef::path` (`crate::m::init::{closure#1}`).
    pub func: String,
}

/// Where a [`FnStore`] puts its function value.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FnStoreTo {
    /// A field of a struct literal or an assigned place (as for lock values).
    Flow(FlowTo),
    /// Argument `index` (an index into the call's `args`) of the call at node `call`.
    Arg { call: NodeId, index: u32 },
}

/// A place's value stored into another place: `Bus { alloc: a.clone() }`, `self.x = y`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ValueFlow {
    pub to: FlowTo,
    pub from: Place,
}

/// Where a [`ValueFlow`] stores its value.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FlowTo {
    /// A field of a struct literal: the struct's path as written (`Self`, `Bus`,
    /// `dev::Mmio`) and the field (a name or a tuple position).
    Field { ty: Vec<String>, field: String },
    /// An assignment's target place.
    Place(Place),
}

/// A function, method, or closure.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FnDef {
    /// Canonical path: `crate::module::name`, `crate::module::Type::name`, or for a trait
    /// impl `crate::module::Type::name` too (with `trait_name` set).
    pub path: Sym,
    pub name: Sym,
    pub module: Sym,
    /// The impl's self type as written (`TcpStack`, `Nic<D>`), if a method.
    pub self_ty: Option<TypeRef>,
    pub trait_name: Option<String>,
    /// Declared in a trait (a default method).
    pub in_trait: bool,
    pub has_self: bool,
    pub params: Vec<(String, TypeRef)>,
    pub ret: Option<TypeRef>,
    pub is_async: bool,
    pub attrs: Vec<String>,
    pub span: Span,
    pub name_span: Span,
    pub body: Option<Body>,
    pub test_only: bool,
    /// For a method whose body only returns (a reference to / clone of) a field of `self`: the
    /// field path, so `self.sockets()` resolves like `self.sockets`.
    pub accessor_of: Option<Vec<Proj>>,
    /// The type parameters in scope (the function's own, then its impl's; `Self` in a trait)
    /// with the traits they are bounded by, inline and in `where` clauses.
    pub generics: Vec<GenericParam>,
    /// For a closure or async block lowered as a function of its own: the parameters and
    /// locals it captures, with the function that owns them, so a lock named through a capture
    /// gets the class it has in that function.
    pub captures: Vec<Capture>,
    /// Callable from outside Rust: a foreign ABI (`extern "C"`, `extern "x86-interrupt"`) or
    /// an unmangled symbol (`#[no_mangle]`, `#[unsafe(no_mangle)]`, `#[export_name]`), as an
    /// entry an assembly stub jumps to must be.
    pub foreign_entry: bool,
    /// Marked `#[allow(dead_code)]` / `#[expect(dead_code)]`: its author says the crate does
    /// not use it.
    pub allows_dead_code: bool,
    /// Its `#[cfg(..)]` predicates with those of the modules around it, undecided
    /// (`crate::cfg_pred`); `None`: compiled in every configuration.
    pub cfg: crate::cfg_pred::ItemCfg,
}

/// A variable a closure captures: a parameter (`tag` is `None`) or a local binding (the
/// binding's tag), and the path of the function it belongs to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Capture {
    pub name: String,
    pub tag: Option<u32>,
    pub owner: String,
}

impl FnDef {
    /// The function a parameter or local named in this body belongs to: the enclosing
    /// function for a capture, else this one.
    pub fn owner_of(&self, name: &str, tag: Option<u32>) -> &str {
        self.captures
            .iter()
            .find(|c| c.name == name && c.tag == tag)
            .map_or(self.path.as_str(), |c| c.owner.as_str())
    }
}

/// A type parameter and its trait bounds as written (`D: NicOps + Send` → `[["NicOps"],
/// ["Send"]]`); lifetimes and `?Sized` are left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GenericParam {
    pub name: String,
    pub bounds: Vec<Vec<String>>,
}

/// A trait declared in the analyzed code and the traits it requires of its implementors
/// (`trait Sub: NicOps`, `where Self: NicOps`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TraitDef {
    pub path: String,
    pub name: String,
    pub supertraits: Vec<Vec<String>>,
    pub module: String,
    /// Its `#[cfg(..)]` predicates with those of the modules around it, undecided
    /// (`crate::cfg_pred`); `None`: compiled in every configuration.
    pub cfg: crate::cfg_pred::ItemCfg,
}

/// An `impl Trait for Type` block: the trait and the self type as written, where it is, its
/// own type parameters (a self type that is one of them is a blanket impl), and whether it is
/// test code.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ImplDef {
    pub trait_path: Vec<String>,
    pub self_ty: TypeRef,
    pub module: String,
    pub generics: Vec<String>,
    pub test_only: bool,
    /// Its `#[cfg(..)]` predicates with those of the modules around it, undecided
    /// (`crate::cfg_pred`); `None`: compiled in every configuration.
    pub cfg: crate::cfg_pred::ItemCfg,
}

/// The items of one file.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct FileItems {
    pub structs: Vec<StructDef>,
    pub enums: Vec<EnumDef>,
    pub statics: Vec<StaticDef>,
    pub aliases: Vec<AliasDef>,
    pub uses: Vec<UseDef>,
    pub fns: Vec<FnDef>,
    /// Every `impl Trait for T`.
    pub trait_impls: Vec<ImplDef>,
    pub traits: Vec<TraitDef>,
}

impl FileItems {
    /// Drop the vectors' growth slack (the items are kept to the end of the run).
    pub fn shrink_to_fit(&mut self) {
        self.structs.shrink_to_fit();
        self.enums.shrink_to_fit();
        self.statics.shrink_to_fit();
        self.aliases.shrink_to_fit();
        self.uses.shrink_to_fit();
        self.fns.shrink_to_fit();
        self.trait_impls.shrink_to_fit();
        self.traits.shrink_to_fit();
    }
}

/// The last segment of a self type (`Nic<D>` → `Nic`).
pub fn type_name(t: &TypeRef) -> String {
    match t {
        TypeRef::Path { segs, .. } => segs.last().cloned().unwrap_or_default(),
        TypeRef::Ref { inner, .. } => type_name(inner),
        _ => "_".to_string(),
    }
}

/// Where a function lives in the lowered files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FnRef {
    pub file: usize,
    pub idx: usize,
}

/// Text identities the analysis compares and prints: interned (`Sym`: one pointer, copied
/// for free, one stored text per distinct identity), compared and ordered as their text.
macro_rules! text_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(crate::sym::Sym);

        impl $name {
            pub fn as_str(&self) -> &'static str {
                self.0.as_str()
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                self.0.as_str()
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                self.0.as_str()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0.as_str())
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(self.0.as_str(), f)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(crate::sym::Sym::new(&s))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(crate::sym::Sym::new(s))
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, o: &str) -> bool {
                self.0.as_str() == o
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, o: &String) -> bool {
                self.0.as_str() == o.as_str()
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, o: &&str) -> bool {
                self.0.as_str() == *o
            }
        }
    };
}

text_id! {
    /// A lock class: `crate::module::Type.field`, `crate::module::STATIC`, or for a lock local
    /// to one function `crate::module::func::name` (a closure's locals add `::{closure}`).
    LockClass
}

text_id! {
    /// A lock instance as a function names it: `self.state`, `q`, `dev.regs[..]`, or a
    /// callee's text rewritten into its caller's terms.
    LockInstance
}

impl LockClass {
    /// The class without its module path: `crate::net::Link.state` → `Link.state`,
    /// `crate::net::TABLE` → `TABLE`.
    pub fn short(&self) -> &str {
        short_class(self)
    }
}

/// The last two segments of a path: `crate::net::Link::send` → `Link::send`, `f` → `f`.
pub fn last_two_segments(path: &str) -> &str {
    match path.rfind("::") {
        Some(i) => match path[..i].rfind("::") {
            Some(j) => &path[j + 2..],
            None => path,
        },
        None => path,
    }
}

/// [`LockClass::short`] of a class text.
pub fn short_class(class: &str) -> &str {
    let base = class.split("::{").next().unwrap_or(class);
    match base.rfind("::") {
        Some(i) if !base[i + 2..].is_empty() => &base[i + 2..],
        _ => base,
    }
}

impl LockInstance {
    /// The root the instance is reached from: `self.a.b` → `self`, `dev.regs[..]` → `dev`.
    pub fn root(&self) -> &str {
        instance_root(self)
    }
}

/// [`LockInstance::root`] of an instance text.
pub fn instance_root(s: &str) -> &str {
    let end = s.find(['.', '[', '(']).unwrap_or(s.len());
    &s[..end]
}

#[cfg(test)]
mod id_tests {
    use super::*;

    #[test]
    fn short_class_drops_the_module_path() {
        assert_eq!(
            LockClass::from("crate::net::Link.state").short(),
            "Link.state"
        );
        assert_eq!(LockClass::from("crate::net::TABLE").short(), "TABLE");
        assert_eq!(LockClass::from("crate::f::{closure}::g").short(), "f");
        assert_eq!(LockClass::from("TABLE").short(), "TABLE");
    }

    #[test]
    fn instance_root_is_the_first_segment() {
        assert_eq!(LockInstance::from("self.a.b").root(), "self");
        assert_eq!(LockInstance::from("dev.regs[..]").root(), "dev");
        assert_eq!(LockInstance::from("q").root(), "q");
    }
}
