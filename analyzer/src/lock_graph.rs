//! The lock graph: nodes are lock classes, an edge A → B when B is acquired while A is held,
//! directly or through calls, each edge with its witnesses.

use std::collections::BTreeMap;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::flow::{AcqEvent, CallEvent, FnFlow, HeldLock};
use crate::index::{Index, ResolvedLock};
use crate::interproc::{ChainStep, Interproc, SumAcq, SumBlock};
use crate::ir::{FnDef, LockClass, Mode};
use crate::lower::LoweredFile;
use crate::resolve::instance::map_instance;
use crate::source::Span;

/// Witnesses kept per edge.
const WITNESSES: usize = 4;

/// Why an edge exists: where the outer lock was taken, where the inner one is taken, and the
/// calls in between.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Witness {
    pub from: ResolvedLock,
    pub to: ResolvedLock,
    pub from_span: Span,
    pub to_span: Span,
    pub chain: Vec<ChainStep>,
    /// The function in which the outer lock is held.
    pub func: String,
    pub is_try: bool,
    /// The inner acquisition masks interrupts (or runs with them masked).
    pub to_irq_safe: bool,
    /// The outer lock was taken with interrupts masked.
    pub from_irq_safe: bool,
    /// The two locks are locks of two objects taken in the order of a key of those objects
    /// (`Body::ordered`): the outer one is the smaller (or the larger) object's.
    pub ordered_by: Option<OrderedBy>,
}

/// An order of objects by a key: how the key is derived from an object
/// (`ir::OrderedAcq::key`) and whether the smaller object's lock is taken first. Two locks
/// taken in one such order are never taken the other way round on the same two objects.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct OrderedBy {
    pub key: String,
    pub ascending: bool,
}

impl Witness {
    /// A trait whose impl the witness assumes, if any.
    pub fn via_trait(&self) -> Option<&str> {
        self.chain.iter().find_map(|c| c.via_trait.as_deref())
    }
}

/// A lock acquired in a callee while the caller already holds that same lock.
#[derive(Clone, Debug)]
pub struct CallDouble {
    pub flow: usize,
    pub call: Span,
    pub held: HeldLock,
    pub acq: SumAcq,
    /// The two are reached through lookups with different arguments ([`lookup_key`]): one
    /// object only when both lookups return it.
    pub maybe_same: bool,
}

/// The spelling of a place rooted at a call with arguments, the arguments left out
/// (`Process::get_by_pid(pgid).links` → `Process::get_by_pid().links`): two places with one
/// key are lookups of one function whose results may be one object. `None` when the place is
/// not rooted at such a call.
pub fn lookup_key(text: &str) -> Option<String> {
    let open = text.find('(')?;
    let head = &text[..open];
    if head.is_empty()
        || !head
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == ':')
    {
        return None;
    }
    let close = open + crate::resolve::instance::matching_paren(&text[open..])?;
    (close > open + 1).then(|| format!("{head}(){}", &text[close + 1..]))
}

/// A blocking point in a callee reached while the caller holds a spinlock.
#[derive(Clone, Debug)]
pub struct CallBlock {
    pub flow: usize,
    pub call: Span,
    pub held: HeldLock,
    pub block: SumBlock,
    pub callee: String,
    /// The spinlock's guard was moved into the callee, which holds it where it blocks.
    pub passed: bool,
}

/// A sleeping lock a callee acquires (directly or further down) while the caller holds a
/// spinlock at the call.
#[derive(Clone, Debug)]
pub struct CallSleep {
    pub flow: usize,
    pub call: Span,
    pub held: HeldLock,
    /// The callee's acquisition, with the chain from this call down to it.
    pub acq: SumAcq,
    /// The spinlock's guard was moved into the callee (a by-value guard parameter): the callee
    /// holds it where it sleeps.
    pub passed: bool,
}

#[derive(Debug, Default)]
pub struct LockGraph {
    pub graph: DiGraph<LockClass, Vec<Witness>>,
    pub nodes: BTreeMap<LockClass, NodeIndex>,
    pub call_doubles: Vec<CallDouble>,
    pub call_blocks: Vec<CallBlock>,
    pub call_sleeps: Vec<CallSleep>,
    /// For each edge with a blocking witness: the one order of objects that every blocking
    /// witness of it follows (`Witness::ordered_by`), or `None` when some witness follows none
    /// or two follow different ones. Kept apart from the witness list, which is truncated.
    pub orders: BTreeMap<(NodeIndex, NodeIndex), Option<OrderedBy>>,
    /// Witnesses not added because one of their two locks belongs to an object its function
    /// built and had not shared yet (`ResolvedLock::unshared`).
    pub unshared_witnesses: usize,
}

impl LockGraph {
    fn node(&mut self, class: &LockClass) -> NodeIndex {
        if let Some(&n) = self.nodes.get(class) {
            return n;
        }
        let n = self.graph.add_node(*class);
        self.nodes.insert(*class, n);
        n
    }

    fn add(&mut self, w: Witness) {
        // a lock of an object its function built and has not shared yet: nobody else holds
        // it or waits for it, so holding or taking it orders nothing
        if w.from.unshared || w.to.unshared {
            self.unshared_witnesses += 1;
            return;
        }
        let a = self.node(&w.from.class);
        let b = self.node(&w.to.class);
        let e = match self.graph.find_edge(a, b) {
            Some(e) => e,
            None => self.graph.add_edge(a, b, Vec::new()),
        };
        if !w.is_try {
            self.orders
                .entry((a, b))
                .and_modify(|o| {
                    if *o != w.ordered_by {
                        *o = None;
                    }
                })
                .or_insert_with(|| w.ordered_by.clone());
        }
        let ws = &mut self.graph[e];
        if ws.contains(&w) {
            return;
        }
        ws.push(w);
        // Witnesses that are not an ordered pair first: they are what a cycle shows.
        ws.sort_by(|x, y| {
            let key = |w: &Witness| (w.is_try, w.ordered_by.is_some(), w.chain.len());
            (key(x), x.to_span, x.from_span).cmp(&(key(y), y.to_span, y.from_span))
        });
        ws.truncate(WITNESSES);
    }

    /// Witnesses of the edge a → b, best first.
    pub fn witnesses(&self, a: &str, b: &str) -> &[Witness] {
        let (Some(&x), Some(&y)) = (self.nodes.get(a), self.nodes.get(b)) else {
            return &[];
        };
        match self.graph.find_edge(x, y) {
            Some(e) => &self.graph[e],
            None => &[],
        }
    }

    /// Edges whose best witness is not a try-lock, as (from, to) class pairs.
    pub fn blocking_edges(&self) -> Vec<(LockClass, LockClass)> {
        let mut v: Vec<(LockClass, LockClass)> = self
            .graph
            .edge_indices()
            .filter_map(|e| {
                let (a, b) = self.graph.edge_endpoints(e)?;
                let ws = &self.graph[e];
                if a == b || ws.iter().all(|w| w.is_try) {
                    return None;
                }
                Some((self.graph[a], self.graph[b]))
            })
            .collect();
        v.sort();
        v
    }

    /// Whether `a` and `b` are only ever taken as an ordered pair: every blocking witness of
    /// both edges between them follows one and the same order of objects, so the two orders
    /// are one order of the objects (the smaller one's lock first), not an inversion.
    pub fn ordered_pair(&self, a: &str, b: &str) -> bool {
        let (Some(&x), Some(&y)) = (self.nodes.get(a), self.nodes.get(b)) else {
            return false;
        };
        match (self.orders.get(&(x, y)), self.orders.get(&(y, x))) {
            (Some(Some(o)), Some(Some(p))) => o == p,
            _ => false,
        }
    }

    /// The blocking edges that can close a cycle: without an edge of an ordered pair
    /// (`ordered_pair`) that lies on no cycle but the one the pair's two edges make.
    pub fn cycle_edges(&self) -> Vec<(LockClass, LockClass)> {
        let edges = self.blocking_edges();
        let mut succ: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (a, b) in &edges {
            succ.entry(a.as_str()).or_default().push(b.as_str());
        }
        // A path from `from` to `to` that does not start with the edge `from` → `to`.
        let reaches = |from: &str, to: &str| {
            let mut seen = std::collections::BTreeSet::new();
            let mut stack: Vec<&str> = succ
                .get(from)
                .into_iter()
                .flatten()
                .copied()
                .filter(|&n| n != to)
                .collect();
            while let Some(n) = stack.pop() {
                if n == to {
                    return true;
                }
                if seen.insert(n) {
                    stack.extend(succ.get(n).into_iter().flatten().copied());
                }
            }
            false
        };
        edges
            .iter()
            .filter(|(a, b)| !self.ordered_pair(a, b) || reaches(b, a))
            .cloned()
            .collect()
    }
}

pub fn build(
    ix: &Index,
    files: &[LoweredFile],
    flows: &[FnFlow],
    ip: &Interproc,
    config: &crate::config::Config,
) -> LockGraph {
    let mut b = Builder {
        ix,
        files,
        flows,
        ip,
        config,
        g: LockGraph::default(),
    };
    for (fi, flow) in flows.iter().enumerate() {
        let func = ix.func(files, flow.func);
        b.add_direct_edges(fi, func);
        b.add_closure_edges(fi, func);
        b.add_contract_edges(fi, func);
        b.add_callee_edges(fi, func);
    }
    b.g
}

/// The analysis results a lock graph is built from, and the graph built so far.
struct Builder<'a> {
    ix: &'a Index,
    files: &'a [LoweredFile],
    flows: &'a [FnFlow],
    ip: &'a Interproc,
    config: &'a crate::config::Config,
    g: LockGraph,
}

impl Builder<'_> {
    /// Edges from the locks flow `fi` holds to the locks it acquires in its own body.
    fn add_direct_edges(&mut self, fi: usize, func: &FnDef) {
        let ordered = ordered_pairs(func, &self.flows[fi]);
        for (ai, a) in self.flows[fi].acquisitions.iter().enumerate() {
            for (hi, h) in a.held.iter().enumerate() {
                if h.lock.class == a.lock.class {
                    continue;
                }
                let ordered_by = ordered.get(&(ai, hi)).cloned();
                self.g.add(Witness {
                    from: h.lock.clone(),
                    to: a.lock.clone(),
                    from_span: h.acq_span,
                    to_span: a.span,
                    chain: Vec::new(),
                    func: func.path.to_string(),
                    is_try: a.is_try,
                    to_irq_safe: a.irq_method || a.irq_region,
                    from_irq_safe: h.irq_method,
                    ordered_by,
                });
            }
        }
    }

    /// Edges and doubles from what a helper holds while it runs a closure of flow `fi`
    /// (`with_table(|t| ..)`) to the closure's acquisitions.
    fn add_closure_edges(&mut self, fi: usize, func: &FnDef) {
        let flows = self.flows;
        for a in &flows[fi].acquisitions {
            let holders = closure_holders(self.ix, self.files, flows, self.ip, fi, &a.regions);
            for (helper, call, cc) in holders {
                for h in &cc.held {
                    let chain = vec![
                        ChainStep {
                            call: call.span,
                            callee: helper.path.to_string(),
                            via_trait: None,
                        },
                        ChainStep {
                            call: cc.span,
                            callee: format!("{}::{{closure}}", func.path),
                            via_trait: None,
                        },
                    ];
                    if h.lock.class == a.lock.class {
                        if closure_double(helper, call, h, a) {
                            self.g.call_doubles.push(CallDouble {
                                maybe_same: false,
                                flow: fi,
                                call: a.span,
                                held: h.clone(),
                                acq: SumAcq {
                                    lock: a.lock.clone(),
                                    instance: Some(a.lock.instance),
                                    mode: a.mode,
                                    is_try: a.is_try,
                                    irq_method: a.irq_method,
                                    read_recursive: a.method.recursive,
                                    site: a.span,
                                    chain,
                                    held_params: Vec::new(),
                                },
                            });
                        }
                        continue;
                    }
                    self.g.add(Witness {
                        from: h.lock.clone(),
                        to: a.lock.clone(),
                        from_span: h.acq_span,
                        to_span: a.span,
                        chain,
                        func: helper.path.to_string(),
                        is_try: a.is_try,
                        to_irq_safe: a.irq_method || a.irq_region,
                        from_irq_safe: h.irq_method,
                        ordered_by: None,
                    });
                }
            }
        }
    }

    /// Edges, doubles and blocking points of flow `fi`'s calls that a configuration contract
    /// describes (FFI, code outside the workspace).
    fn add_contract_edges(&mut self, fi: usize, func: &FnDef) {
        let (flows, config) = (self.flows, self.config);
        for c in &flows[fi].calls {
            if c.held.is_empty() {
                continue;
            }
            let Some(k) = crate::interproc::contract_for(config, &c.callee) else {
                continue;
            };
            let step = ChainStep {
                call: c.span,
                callee: k.function.clone(),
                via_trait: None,
            };
            self.add_contract_acquires(fi, func, c, k, &step);
            if k.may_block {
                if let Some(spin) = c
                    .held
                    .iter()
                    .find(|h| h.lock.kind.spin && h.leaked.is_none())
                {
                    self.g.call_blocks.push(CallBlock {
                        flow: fi,
                        call: c.span,
                        held: spin.clone(),
                        block: SumBlock {
                            kind: crate::ir::BlockKind::Sleep(k.function.clone().into()),
                            site: c.span,
                            chain: vec![step],
                            held_params: Vec::new(),
                        },
                        callee: k.function.clone(),
                        passed: false,
                    });
                }
            }
        }
    }

    /// Edges and doubles from the locks held at call `c` to the classes its contract `k`
    /// acquires.
    fn add_contract_acquires(
        &mut self,
        fi: usize,
        func: &FnDef,
        c: &CallEvent,
        k: &crate::config::Contract,
        step: &ChainStep,
    ) {
        for class in &k.acquires {
            for h in c.held.iter() {
                if h.lock.class == class.as_str() {
                    self.g.call_doubles.push(CallDouble {
                        maybe_same: false,
                        flow: fi,
                        call: c.span,
                        held: h.clone(),
                        acq: SumAcq {
                            lock: crate::interproc::contract_lock(class),
                            instance: Some(h.lock.instance),
                            mode: Mode::Exclusive,
                            is_try: false,
                            irq_method: false,
                            read_recursive: false,
                            site: c.span,
                            chain: vec![step.clone()],
                            held_params: Vec::new(),
                        },
                    });
                    continue;
                }
                self.g.add(Witness {
                    from: h.lock.clone(),
                    to: crate::interproc::contract_lock(class),
                    from_span: h.acq_span,
                    to_span: c.span,
                    chain: vec![step.clone()],
                    func: func.path.to_string(),
                    is_try: false,
                    to_irq_safe: c.irq_region,
                    from_irq_safe: h.irq_method,
                    ordered_by: None,
                });
            }
        }
    }

    /// Edges, doubles and blocking points from the locks held at flow `fi`'s calls to what
    /// the summaries of the functions called acquire and block on.
    fn add_callee_edges(&mut self, fi: usize, func: &FnDef) {
        let (ix, files, flows, ip) = (self.ix, self.files, self.flows, self.ip);
        for (ci, c) in flows[fi].calls.iter().enumerate() {
            if c.held.is_empty() {
                continue;
            }
            let Some(targets) = ip.targets.get(fi).and_then(|t| t.get(ci)) else {
                continue;
            };
            for t in targets {
                let callee = ix.func(files, flows[t.flow].func);
                let step = ChainStep {
                    call: c.span,
                    callee: callee.path.to_string(),
                    via_trait: t.via_trait.clone(),
                };
                let sum = &ip.summaries[t.flow];
                self.add_callee_acquires(fi, func, c, callee, &step, &sum.acquires);
                self.add_callee_blocks(fi, c, callee, &step, &sum.blocks);
            }
        }
    }

    /// Edges and doubles from the locks held at call `c` to the acquisitions `acquires` of
    /// the summary of `callee`, reached through `step`.
    fn add_callee_acquires(
        &mut self,
        fi: usize,
        func: &FnDef,
        c: &CallEvent,
        callee: &FnDef,
        step: &ChainStep,
        acquires: &[SumAcq],
    ) {
        for s in acquires {
            let mut chain = vec![step.clone()];
            chain.extend(s.chain.iter().cloned());
            let mapped_lock =
                crate::interproc::param_lock(self.ix, self.files, func, callee, s, c, self.config);
            let s = &SumAcq {
                lock: mapped_lock.unwrap_or_else(|| s.lock.clone()),
                ..s.clone()
            };
            // the acquisition with the chain from this call down to it
            let reached = SumAcq {
                chain: chain.clone(),
                ..s.clone()
            };
            for (h, passed) in held_at_callee(c, callee, &s.held_params) {
                if h.lock.kind.spin && h.leaked.is_none() && sleeps(&s.lock, s.is_try) {
                    self.g.call_sleeps.push(CallSleep {
                        flow: fi,
                        call: c.span,
                        held: h.clone(),
                        acq: reached.clone(),
                        passed,
                    });
                }
                if h.lock.class == s.lock.class {
                    if let Some(maybe_same) = callee_double(c, callee, h, s, |t| {
                        self.ix.canon_instance(self.files, func, t)
                    }) {
                        self.g.call_doubles.push(CallDouble {
                            maybe_same,
                            flow: fi,
                            call: c.span,
                            held: h.clone(),
                            acq: reached.clone(),
                        });
                    }
                    continue;
                }
                self.g.add(Witness {
                    from: h.lock.clone(),
                    to: s.lock.clone(),
                    from_span: h.acq_span,
                    to_span: s.site,
                    chain: chain.clone(),
                    func: func.path.to_string(),
                    is_try: s.is_try,
                    to_irq_safe: s.irq_method || c.irq_region,
                    from_irq_safe: h.irq_method,
                    ordered_by: None,
                });
            }
        }
    }

    /// Blocking points of the summary of `callee` (`blocks`) reached through call `c` while
    /// it holds a spinlock.
    fn add_callee_blocks(
        &mut self,
        fi: usize,
        c: &CallEvent,
        callee: &FnDef,
        step: &ChainStep,
        blocks: &[SumBlock],
    ) {
        for b in blocks {
            if let Some((spin, passed)) = held_at_callee(c, callee, &b.held_params)
                .find(|(h, _)| h.lock.kind.spin && h.leaked.is_none())
            {
                let mut chain = vec![step.clone()];
                chain.extend(b.chain.iter().cloned());
                self.g.call_blocks.push(CallBlock {
                    flow: fi,
                    call: c.span,
                    held: spin.clone(),
                    block: SumBlock { chain, ..b.clone() },
                    callee: callee.path.to_string(),
                    passed,
                });
            }
        }
    }
}

/// The (acquisition, held lock) pairs of `flow`, by index, that take the locks of the two
/// objects of one ordering comparison of `func`'s body in one branch (`ir::OrderedAcq`): with
/// the order they follow.
fn ordered_pairs(func: &FnDef, flow: &FnFlow) -> BTreeMap<(usize, usize), OrderedBy> {
    let mut out = BTreeMap::new();
    let Some(body) = func.body.as_ref().filter(|b| !b.ordered.is_empty()) else {
        return out;
    };
    let tags = |node| body.ordered.iter().filter(move |o| o.node == node);
    for (ai, a) in flow.acquisitions.iter().enumerate() {
        for (hi, h) in a.held.iter().enumerate() {
            let order = tags(h.acq_node).find_map(|first| {
                let ascending = tags(a.node).find_map(|then| first.pair(then))?;
                Some(OrderedBy {
                    key: first.key.clone(),
                    ascending,
                })
            });
            if let Some(o) = order {
                out.insert((ai, hi), o);
            }
        }
    }
    out
}

/// Whether acquisition `a` in a closure is a double of the same lock `h` that `helper`
/// holds while it runs the closure passed at `call`.
fn closure_double(helper: &FnDef, call: &CallEvent, h: &HeldLock, a: &AcqEvent) -> bool {
    let mapped = map_instance(helper, &h.lock.instance, &call.callee, &call.args);
    !a.is_try
        && !a.lock.kind.reentrant
        && h.mode.conflicts_with(a.mode)
        && mapped.as_deref() == Some(a.lock.instance.as_str())
}

/// Whether `callee`'s summary acquisition `s`, reached through call `c`, is a double of the
/// same lock `h` held at the call: `Some(false)` for one instance, `Some(true)` for two
/// lookups of one function with arguments ([`lookup_key`]) that may return one object.
fn callee_double(
    c: &CallEvent,
    callee: &FnDef,
    h: &HeldLock,
    s: &SumAcq,
    canon: impl Fn(&str) -> String,
) -> Option<bool> {
    let mapped = s
        .instance
        .as_ref()
        .and_then(|i| map_instance(callee, i, &c.callee, &c.args))
        .map(|i| canon(&i))?;
    if s.is_try
        || s.lock.kind.reentrant
        || h.stale
        || !(h.mode.conflicts_with(s.mode) || read_again_hazard(h, s))
    {
        return None;
    }
    let Some(key) = lookup_key(&mapped) else {
        return (mapped == h.lock.instance.as_str()).then_some(false);
    };
    // A lookup's arguments are spelled in the callee's scope: one object for certain only when
    // each maps to the caller's spelling (a parameter, a literal, a path) and they agree.
    let exact = s
        .instance
        .as_ref()
        .and_then(|i| crate::resolve::instance::map_lookup_args(callee, i, &c.callee, &c.args));
    if exact.is_some_and(|e| canon(&e) == h.lock.instance.as_str()) {
        return Some(false);
    }
    (lookup_key(&h.lock.instance).as_deref() == Some(key.as_str())).then_some(true)
}

/// A read of a read-held lock that queues behind a waiting writer: a deadlock once a writer
/// waits in between.
fn read_again_hazard(h: &HeldLock, s: &SumAcq) -> bool {
    h.mode == Mode::Read
        && s.mode == Mode::Read
        && crate::lock_api::read_again_deadlocks(s.read_recursive, &s.lock.kind.type_name)
}

/// Whether acquiring `lock` may sleep: a blocking acquisition of a lock that does not spin
/// (an untyped raw lock says nothing either way).
pub fn sleeps(lock: &ResolvedLock, is_try: bool) -> bool {
    !(is_try || lock.kind.spin || lock.kind.raw && lock.kind.type_name == "raw")
}

/// The locks held at a call that are still held where the callee acquires or blocks: a guard
/// moved into the call counts only while the callee still holds the parameter it received it
/// as (`held_params`), not after the callee dropped it; such a lock comes with `true` (its
/// guard was moved into the callee).
fn held_at_callee<'c>(
    c: &'c crate::flow::CallEvent,
    callee: &'c crate::ir::FnDef,
    held_params: &'c [u8],
) -> impl Iterator<Item = (&'c crate::flow::HeldLock, bool)> + 'c {
    c.held.iter().enumerate().filter_map(move |(i, h)| {
        let Some(&(arg, _)) = c.passed.iter().find(|(_, k)| *k == i) else {
            return Some((h, false));
        };
        held_params
            .iter()
            .any(|&p| crate::interproc::arg_of_param(&c.callee, callee, p) == arg)
            .then_some((h, true))
    })
}

/// The helpers whose closure argument the code at `regions` runs in, with the call and what
/// the helper holds when it calls the closure.
fn closure_holders<'a>(
    ix: &'a Index,
    files: &'a [LoweredFile],
    flows: &'a [FnFlow],
    ip: &'a Interproc,
    fi: usize,
    regions: &[crate::ir::NodeId],
) -> Vec<(
    &'a crate::ir::FnDef,
    &'a crate::flow::CallEvent,
    &'a crate::interproc::ClosureCall,
)> {
    let mut out = Vec::new();
    for &r in regions {
        let Some((ci, c)) = flows[fi]
            .calls
            .iter()
            .enumerate()
            .find(|(_, c)| c.node == r)
        else {
            continue;
        };
        for t in ip
            .targets
            .get(fi)
            .and_then(|t| t.get(ci))
            .into_iter()
            .flatten()
        {
            let helper = ix.func(files, flows[t.flow].func);
            for cc in &ip.summaries[t.flow].closure_calls {
                out.push((helper, c, cc));
            }
        }
    }
    out
}
