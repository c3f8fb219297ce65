//! Calls and summaries: resolving every call to the functions it may run, and composing per
//! function what it may acquire and whether it may block, bottom-up over the strongly
//! connected components of the call graph (recursion reaches a fixed point).

use std::collections::BTreeMap;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::config::Config;
use crate::flow::FnFlow;
use crate::index::{FnRef, Index, ResolvedLock};
use crate::ir::{BlockKind, Callee, FnDef, LockClass, LockInstance, Mode, Root};
use crate::lower::LoweredFile;
use crate::resolve::instance::{instance_root, map_instance};
use crate::resolve::Target;
use crate::source::Span;

pub mod unshared;

/// Longest call chain kept in a witness.
pub const MAX_CHAIN: usize = 8;

/// Most projections an instance text keeps (`self.a.b` has two); a deeper instance, or one
/// that goes through the same projection more than [`MAX_SAME_PROJ`] times, is no nameable
/// place any more (`None`: the lock's class is still known, which instance is not).
pub const MAX_INSTANCE_PROJ: usize = 6;
/// See [`MAX_INSTANCE_PROJ`].
pub const MAX_SAME_PROJ: usize = 2;
/// Named instances kept per (lock class, try) in one summary: the smallest by (length, text);
/// the witnesses of the others merge into the class's unnamed (`None`) entry.
pub const MAX_INSTANCES: usize = 8;
/// Blocking sites kept per summary (the first by site).
pub const MAX_BLOCK_SITES: usize = 16;
/// Summary entries one strongly connected component may compose (every candidate entry taken
/// from a callee's summary counts one) before its iteration stops (`[budget]
/// summary_per_component` overrides it).
pub const SCC_ENTRY_BUDGET: u64 = 2_000_000;
/// Summary entries the whole run may compose; past it, the functions left are summarized from
/// their own bodies only, their callees' locks not added (`[budget] summary_per_run`).
pub const RUN_ENTRY_BUDGET: u64 = 20_000_000;

/// One step of a call chain: the call site and the function called there.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainStep {
    pub call: Span,
    pub callee: String,
    pub via_trait: Option<String>,
}

/// A lock a function may acquire, directly or through its callees.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SumAcq {
    pub lock: ResolvedLock,
    /// The instance in this function's own terms (`self.link`, a parameter's place, a
    /// static), when it can be named here.
    pub instance: Option<LockInstance>,
    pub mode: Mode,
    pub is_try: bool,
    pub irq_method: bool,
    /// A read through a recursive-read method (`read_recursive`): it does not queue behind a
    /// waiting writer, so a second read of a read-held lock this way cannot deadlock.
    pub read_recursive: bool,
    /// Where it is finally acquired.
    pub site: Span,
    /// Calls from this function down to the acquisition.
    pub chain: Vec<ChainStep>,
    /// Guards this function received by value that may still be held at the acquisition
    /// (indices into `FnDef::params`): a caller's lock moved in here is held at it only then.
    pub held_params: Vec<u8>,
}

/// A blocking point reachable from a function.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SumBlock {
    pub kind: BlockKind,
    pub site: Span,
    pub chain: Vec<ChainStep>,
    /// As for `SumAcq`.
    pub held_params: Vec<u8>,
}

/// A closure parameter called while locks are held (`fn with_table(&self, f: impl FnOnce(..))`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosureCall {
    pub param: String,
    pub span: Span,
    pub held: Vec<crate::flow::HeldLock>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub acquires: Vec<SumAcq>,
    pub blocks: Vec<SumBlock>,
    pub closure_calls: Vec<ClosureCall>,
}

/// Call resolution and summaries of every function.
#[derive(Debug, Default)]
pub struct Interproc {
    /// `targets[flow][call]`: what the flow's `calls[call]` may run.
    pub targets: Vec<Vec<Vec<Target>>>,
    pub summaries: Vec<Summary>,
    pub resolved_calls: usize,
    pub unresolved_calls: usize,
    /// Names of unresolved calls, with counts.
    pub unresolved_names: BTreeMap<String, usize>,
    /// Unresolved calls by why they are.
    pub unresolved_by_reason: BTreeMap<crate::resolve::calls::Gap, usize>,
    /// Every unresolved call: where, and why.
    pub unresolved_sites: Vec<(Span, crate::resolve::calls::Gap)>,
    /// Summary entries composed over the whole run (the unit of the summary budgets).
    pub summary_work: u64,
    /// Components whose iteration stopped at [`SCC_ENTRY_BUDGET`] (flow indices, sorted);
    /// their summaries are partial.
    pub budget_sccs: Vec<Vec<usize>>,
    /// Functions summarized from their own bodies only because the run reached
    /// [`RUN_ENTRY_BUDGET`] (flow indices, sorted).
    pub budget_run: Vec<usize>,
    /// Acquisitions on objects their function built and handed only to calls that do not
    /// share them, taken as unshared (`interproc::unshared`).
    pub unshared_handed: usize,
}

pub fn build(
    ix: &Index,
    files: &[LoweredFile],
    flows: &mut [FnFlow],
    config: &Config,
) -> Interproc {
    let mut ip = Interproc::default();
    let by_ref: BTreeMap<FnRef, usize> =
        flows.iter().enumerate().map(|(i, f)| (f.func, i)).collect();
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..flows.len()).map(|i| graph.add_node(i)).collect();
    for (fi, flow) in flows.iter().enumerate() {
        let func = ix.func(files, flow.func);
        let mut per_call = Vec::with_capacity(flow.calls.len());
        for c in &flow.calls {
            let res = crate::resolve::calls::resolve_call(ix, files, func, &c.callee, &by_ref);
            let t = res.targets;
            if !t.is_empty() {
                ip.resolved_calls += 1;
            } else if let Some(gap) = res.gap {
                ip.unresolved_calls += 1;
                *ip.unresolved_by_reason.entry(gap).or_insert(0) += 1;
                ip.unresolved_sites.push((c.span, gap));
                let name = match &*c.callee {
                    Callee::Path(s) => s.join("::"),
                    Callee::Method { name, .. } => format!(".{name}()"),
                    Callee::Value { text, .. } => text.to_string(),
                };
                *ip.unresolved_names.entry(name).or_insert(0) += 1;
            }
            for tg in &t {
                graph.update_edge(nodes[fi], nodes[tg.flow], ());
            }
            per_call.push(t);
        }
        ip.targets.push(per_call);
    }
    // objects handed only to calls that keep them: unshared before the summaries copy locks
    ip.unshared_handed = unshared::settle(ix, files, flows, &ip.targets);
    let flows: &[FnFlow] = flows;
    ip.summaries = vec![Summary::default(); flows.len()];
    let scc_budget = config
        .budget
        .summary_per_component
        .unwrap_or(SCC_ENTRY_BUDGET);
    let run_budget = config.budget.summary_per_run.unwrap_or(RUN_ENTRY_BUDGET);
    // Callees before callers; iterate inside each component to a fixed point.
    //
    // Why this terminates (and is deterministic): a summary is a map from (lock class,
    // instance, try) to one witness, plus a set of blocking sites. Instances are texts of at
    // most `MAX_INSTANCE_PROJ` projections over the program's own names (`limit_instance`),
    // and at most `MAX_INSTANCES` of them are kept per (class, try) — the smallest by (length,
    // text), the others folded into the unnamed entry. Each round a member's new summary is
    // *joined* with its old one (`join`): the kept instances are the smallest of every
    // instance seen so far, a witness is replaced only by a strictly shorter (chain length,
    // site), and held-parameter sets only grow. Every one of these moves is monotone over a
    // finite domain, so each member changes finitely often and the component settles. The
    // order of members and of entries is fixed (sorted), so the fixed point reached is the
    // same on every run. The budgets bound the work in any case: they count entries composed,
    // not time.
    for scc in petgraph::algo::tarjan_scc(&graph) {
        let mut members: Vec<usize> = scc.iter().map(|n| graph[*n]).collect();
        members.sort_unstable();
        if ip.summary_work >= run_budget {
            for &m in &members {
                let (s, _) = summarize(ix, files, flows, &ip, m, config, false);
                ip.summaries[m] = s;
                ip.budget_run.push(m);
            }
            continue;
        }
        let recursive = members.len() > 1 || graph.contains_edge(scc[0], scc[0]);
        if !recursive {
            let (s, work) = summarize(ix, files, flows, &ip, members[0], config, true);
            ip.summaries[members[0]] = s;
            ip.summary_work += work;
            continue;
        }
        // Rounds over the members in order, each member seeing the summaries of this round so
        // far; a member is summarized again only when the summary of one of its callees
        // inside the component changed (a later member of the same round sees it anyway).
        // Rounds find short witnesses first, so few are replaced later.
        let callers: BTreeMap<usize, Vec<usize>> = {
            let mut c: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
            for &m in &members {
                for t in ip.targets[m].iter().flatten() {
                    if members.binary_search(&t.flow).is_ok() {
                        c.entry(t.flow).or_default().push(m);
                    }
                }
            }
            c
        };
        let mut pending: std::collections::BTreeSet<usize> = members.iter().copied().collect();
        let mut scc_work = 0u64;
        'rounds: while !pending.is_empty() {
            let round = std::mem::take(&mut pending);
            for &m in &round {
                if ip.summary_work + scc_work >= run_budget {
                    ip.budget_run.extend(&members);
                    break 'rounds;
                }
                if scc_work >= scc_budget {
                    ip.budget_sccs.push(members.clone());
                    break 'rounds;
                }
                let (s, work) = summarize(ix, files, flows, &ip, m, config, true);
                scc_work += work;
                let s = join(&ip.summaries[m], s);
                if s != ip.summaries[m] {
                    ip.summaries[m] = s;
                    for &c in callers.get(&m).into_iter().flatten() {
                        if c <= m || !round.contains(&c) {
                            pending.insert(c);
                        }
                    }
                }
            }
        }
        ip.summary_work += scc_work;
    }
    ip.budget_run.sort_unstable();
    ip
}

/// Keep an instance text only while it names a place a caller can still tell apart: at most
/// [`MAX_INSTANCE_PROJ`] projections, none repeated more than [`MAX_SAME_PROJ`] times
/// (`self.a.b.a.b.a` through a recursive structure is not a new place each time).
fn limit_instance(inst: String) -> Option<String> {
    let mut segs: Vec<&str> = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, ch) in inst.char_indices() {
        match ch {
            '(' | '[' | '{' | '<' if depth > 0 || ch != '[' => depth += 1,
            ')' | ']' | '}' | '>' if depth > 0 => depth -= 1,
            _ => {}
        }
        if depth == 0 && (ch == '.' || ch == '[') && i > 0 {
            segs.push(&inst[start..i]);
            start = i;
            if ch == '[' {
                depth += 1;
            }
        }
    }
    segs.push(&inst[start..]);
    let proj = &segs[1..];
    if proj.len() > MAX_INSTANCE_PROJ {
        return None;
    }
    for (i, p) in proj.iter().enumerate() {
        if proj[..i].iter().filter(|q| *q == p).count() >= MAX_SAME_PROJ {
            return None;
        }
    }
    Some(inst)
}

/// The witness kept of two for one summary entry: one on a shared object before one on an
/// object not shared yet (which orders nothing), then the shorter (chain, site); the held
/// parameters of both.
fn better(mut old: SumAcq, mut new: SumAcq) -> SumAcq {
    if (new.lock.unshared, new.chain.len(), new.site)
        < (old.lock.unshared, old.chain.len(), old.site)
    {
        union_into(&mut new.held_params, &old.held_params);
        new
    } else {
        union_into(&mut old.held_params, &new.held_params);
        old
    }
}

type AcqKey = (LockClass, Option<LockInstance>, bool);

/// The acquisitions of a summary, bounded: per (class, try) the [`MAX_INSTANCES`] smallest
/// named instances by (length, text); the witnesses of the others fold into the unnamed entry.
fn bound_acquires(acq: BTreeMap<AcqKey, SumAcq>) -> Vec<SumAcq> {
    let mut groups: BTreeMap<(LockClass, bool), Vec<SumAcq>> = BTreeMap::new();
    for ((class, _, is_try), a) in acq {
        groups.entry((class, is_try)).or_default().push(a);
    }
    let mut out = Vec::new();
    for (_, mut v) in groups {
        let mut unnamed: Option<SumAcq> = None;
        let mut named = Vec::new();
        for a in v.drain(..) {
            if a.instance.is_none() {
                unnamed = Some(match unnamed {
                    Some(u) => better(u, a),
                    None => a,
                });
            } else {
                named.push(a);
            }
        }
        named.sort_by(|x, y| {
            let (a, b) = (x.instance.as_deref(), y.instance.as_deref());
            (a.map(str::len), a).cmp(&(b.map(str::len), b))
        });
        for mut a in named.drain(MAX_INSTANCES.min(named.len())..) {
            a.instance = None;
            unnamed = Some(match unnamed {
                Some(u) => better(u, a),
                None => a,
            });
        }
        out.extend(unnamed);
        out.extend(named);
    }
    out.sort_by(|x, y| {
        (&x.lock.class, &x.instance, x.is_try).cmp(&(&y.lock.class, &y.instance, y.is_try))
    });
    // summaries are kept to the end of the run: no growth slack
    out.shrink_to_fit();
    out
}

/// The blocking sites of a summary, bounded to the first [`MAX_BLOCK_SITES`] by site; one
/// witness per site (the shortest chain), which may hold what any of the site's witnesses holds.
fn bound_blocks(blocks: impl IntoIterator<Item = SumBlock>) -> Vec<SumBlock> {
    let mut per_site: BTreeMap<Span, SumBlock> = BTreeMap::new();
    for b in blocks {
        match per_site.get_mut(&b.site) {
            Some(kept) if kept.chain.len() <= b.chain.len() => {
                union_into(&mut kept.held_params, &b.held_params)
            }
            Some(kept) => {
                let mut b = b;
                union_into(&mut b.held_params, &kept.held_params);
                *kept = b;
            }
            None => {
                per_site.insert(b.site, b);
            }
        }
    }
    per_site.into_values().take(MAX_BLOCK_SITES).collect()
}

/// The join of a component member's summary of the last round with this round's: what
/// either has, bounded as every summary is. Monotone, so a component's iteration settles.
fn join(old: &Summary, new: Summary) -> Summary {
    if old.acquires.is_empty() && old.blocks.is_empty() {
        return new;
    }
    let mut acq: BTreeMap<AcqKey, SumAcq> = BTreeMap::new();
    for a in old.acquires.iter().cloned().chain(new.acquires) {
        let k = (a.lock.class, a.instance, a.is_try);
        let a = match acq.remove(&k) {
            Some(o) => better(o, a),
            None => a,
        };
        acq.insert(k, a);
    }
    Summary {
        acquires: bound_acquires(acq),
        blocks: bound_blocks(old.blocks.iter().cloned().chain(new.blocks)),
        closure_calls: new.closure_calls,
    }
}

fn summarize(
    ix: &Index,
    files: &[LoweredFile],
    flows: &[FnFlow],
    ip: &Interproc,
    fi: usize,
    config: &Config,
    compose: bool,
) -> (Summary, u64) {
    let flow = &flows[fi];
    let mut s = Summarizer {
        ix,
        files,
        flows,
        ip,
        config,
        fi,
        flow,
        func: ix.func(files, flow.func),
        acq: BTreeMap::new(),
        blocks: BTreeMap::new(),
        work: 0,
    };
    s.add_own_acquires();
    s.add_own_blocks();
    s.add_contracts();
    if compose {
        s.compose_callees();
    }
    s.finish()
}

/// One function's summary under construction: what it reads, and the entries so far.
struct Summarizer<'a> {
    ix: &'a Index,
    files: &'a [LoweredFile],
    flows: &'a [FnFlow],
    ip: &'a Interproc,
    config: &'a Config,
    fi: usize,
    flow: &'a FnFlow,
    func: &'a FnDef,
    acq: BTreeMap<AcqKey, SumAcq>,
    blocks: BTreeMap<(Span, usize), SumBlock>,
    /// Summary entries of callees taken as candidates.
    work: u64,
}

impl Summarizer<'_> {
    /// The function's own acquisitions, as summary entries.
    fn add_own_acquires(&mut self) {
        for a in &self.flow.acquisitions {
            put(
                &mut self.acq,
                SumAcq {
                    lock: a.lock.clone(),
                    instance: own_instance(self.func, &a.lock.instance).map(LockInstance::from),
                    mode: a.mode,
                    is_try: a.is_try,
                    irq_method: a.irq_method || a.irq_region,
                    read_recursive: a.method.recursive,
                    site: a.span,
                    chain: Vec::new(),
                    held_params: a.held_params.clone().to_vec(),
                },
            );
        }
    }

    /// The function's own blocking points other than condition-variable waits.
    fn add_own_blocks(&mut self) {
        for b in &self.flow.blocks {
            if !matches!(b.kind, BlockKind::CondWait(_)) {
                self.blocks.insert(
                    (b.site_key(), 0),
                    SumBlock {
                        kind: b.kind.clone(),
                        site: b.span,
                        chain: Vec::new(),
                        held_params: b.held_params.clone().to_vec(),
                    },
                );
            }
        }
    }

    /// What the function's calls that a configuration contract describes acquire and block on.
    fn add_contracts(&mut self) {
        for c in &self.flow.calls {
            let Some(k) = contract_for(self.config, &c.callee) else {
                continue;
            };
            let step = ChainStep {
                call: c.span,
                callee: k.function.clone(),
                via_trait: None,
            };
            for class in &k.acquires {
                put(
                    &mut self.acq,
                    SumAcq {
                        lock: contract_lock(class),
                        instance: None,
                        mode: Mode::Exclusive,
                        is_try: false,
                        irq_method: false,
                        read_recursive: false,
                        site: c.span,
                        chain: vec![step.clone()],
                        held_params: c.held_params.clone().to_vec(),
                    },
                );
            }
            if k.may_block {
                self.blocks.entry((c.span, 1)).or_insert(SumBlock {
                    kind: BlockKind::Sleep(k.function.clone().into()),
                    site: c.span,
                    chain: vec![step],
                    held_params: c.held_params.clone().to_vec(),
                });
            }
        }
    }

    /// What the summaries of the functions called acquire and block on, one call further up.
    fn compose_callees(&mut self) {
        let (ix, files, flows, ip) = (self.ix, self.files, self.flows, self.ip);
        for (ci, c) in self.flow.calls.iter().enumerate() {
            let Some(targets) = ip.targets.get(self.fi).and_then(|t| t.get(ci)) else {
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
                self.work += (sum.acquires.len() + sum.blocks.len()) as u64;
                self.compose_acquires(c, callee, &step, &sum.acquires);
                self.compose_blocks(c, callee, &step, &sum.blocks);
            }
        }
    }

    /// The acquisitions `acquires` of `callee`'s summary, reached through call `c` (`step`),
    /// in this function's terms.
    fn compose_acquires(
        &mut self,
        c: &crate::flow::CallEvent,
        callee: &FnDef,
        step: &ChainStep,
        acquires: &[SumAcq],
    ) {
        for s in acquires {
            if s.chain.len() >= MAX_CHAIN {
                continue;
            }
            let inst = s
                .instance
                .as_ref()
                .and_then(|i| map_instance(callee, i, &c.callee, &c.args))
                .map(|i| self.ix.canon_instance(self.files, self.func, &i))
                .and_then(|i| own_instance(self.func, &i))
                .and_then(limit_instance)
                .map(LockInstance::from);
            // A lock the callee only knows as its parameter (`fn wait_lock(l: &Mutex<T>)`)
            // is the caller's argument: named as the caller names it.
            let lock = param_lock(self.ix, self.files, self.func, callee, s, c, self.config);
            let class = lock.as_ref().map_or(&s.lock.class, |l| &l.class);
            let held_params = params_through(c, callee, &s.held_params);
            let k = (*class, inst, s.is_try);
            // Most candidates lose to a kept witness: decide before building one.
            if let Some(old) = self.acq.get_mut(&k) {
                if (old.lock.unshared, old.chain.len(), old.site)
                    <= (s.lock.unshared, s.chain.len() + 1, s.site)
                {
                    union_into(&mut old.held_params, &held_params);
                    continue;
                }
            }
            let mut chain = Vec::with_capacity(s.chain.len() + 1);
            chain.push(step.clone());
            chain.extend(s.chain.iter().cloned());
            let a = SumAcq {
                lock: lock.unwrap_or_else(|| s.lock.clone()),
                instance: k.1,
                mode: s.mode,
                is_try: s.is_try,
                irq_method: s.irq_method,
                read_recursive: s.read_recursive,
                site: s.site,
                chain,
                held_params,
            };
            put_at(&mut self.acq, k, a);
        }
    }

    /// The blocking points `blocks` of `callee`'s summary, reached through call `c` (`step`),
    /// in this function's terms.
    fn compose_blocks(
        &mut self,
        c: &crate::flow::CallEvent,
        callee: &FnDef,
        step: &ChainStep,
        blocks: &[SumBlock],
    ) {
        for b in blocks {
            if b.chain.len() >= MAX_CHAIN {
                continue;
            }
            let k = (b.site, b.chain.len() + 1);
            let hp = params_through(c, callee, &b.held_params);
            union_into(
                &mut self
                    .blocks
                    .entry(k)
                    .or_insert_with(|| {
                        let mut chain = Vec::with_capacity(b.chain.len() + 1);
                        chain.push(step.clone());
                        chain.extend(b.chain.iter().cloned());
                        SumBlock {
                            kind: b.kind.clone(),
                            site: b.site,
                            chain,
                            held_params: Vec::new(),
                        }
                    })
                    .held_params,
                &hp,
            );
        }
    }

    /// The bounded summary of the entries collected, and the work it took.
    fn finish(self) -> (Summary, u64) {
        // Keep summaries small: one blocking witness per site (the shortest chain), which may
        // hold what any of the site's witnesses holds.
        let blocks = bound_blocks(self.blocks.into_values());
        (
            Summary {
                acquires: bound_acquires(self.acq),
                blocks,
                closure_calls: closure_calls(self.flow, self.func),
            },
            self.work,
        )
    }
}

/// Add acquisition `a` to `acq` under its own key, keeping the better of it and an entry
/// already there.
fn put(acq: &mut BTreeMap<AcqKey, SumAcq>, a: SumAcq) {
    let k = (a.lock.class, a.instance, a.is_try);
    put_at(acq, k, a);
}

/// Add acquisition `a` to `acq` under key `k`, keeping the better of it and an entry already
/// there.
fn put_at(acq: &mut BTreeMap<AcqKey, SumAcq>, k: AcqKey, a: SumAcq) {
    let a = match acq.remove(&k) {
        Some(old) => better(old, a),
        None => a,
    };
    acq.insert(k, a);
}

/// The calls of a closure parameter of `func` made while locks are held, one per (parameter,
/// locks held).
fn closure_calls(flow: &FnFlow, func: &FnDef) -> Vec<ClosureCall> {
    let mut closure_calls = Vec::new();
    for c in &flow.calls {
        let Callee::Value { text: name, .. } = &*c.callee else {
            continue;
        };
        if c.held.is_empty() || !func.params.iter().any(|(n, _)| n == name) {
            continue;
        }
        if !closure_calls
            .iter()
            .any(|cc: &ClosureCall| cc.param == *name && *cc.held == *c.held)
        {
            closure_calls.push(ClosureCall {
                param: name.to_string(),
                span: c.span,
                held: c.held.to_vec(),
            });
        }
    }
    closure_calls
}

/// Add `more` to the sorted set `set`.
fn union_into(set: &mut Vec<u8>, more: &[u8]) {
    if more.iter().all(|p| set.contains(p)) {
        return;
    }
    set.extend_from_slice(more);
    set.sort_unstable();
    set.dedup();
}

/// The argument index of a callee's parameter at a call: `Type::method(x, ..)` passes
/// `self` as the first argument.
pub fn arg_of_param(call: &Callee, callee: &FnDef, param: u8) -> u32 {
    u32::from(param) + u32::from(matches!(call, Callee::Path(_)) && callee.has_self)
}

/// A callee's by-value guard parameters held at one of its acquisitions or blocking points,
/// in the caller's terms: the caller's own received guards held through the call, and those
/// it passed on that the callee still holds there.
fn params_through(c: &crate::flow::CallEvent, callee: &FnDef, callee_held: &[u8]) -> Vec<u8> {
    let mut out = c.held_params.to_vec();
    for &(a, p) in &c.passed_params {
        if callee_held
            .iter()
            .any(|&q| arg_of_param(&c.callee, callee, q) == a)
        {
            out.push(p);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The caller's lock for a callee acquisition whose class is one of the callee's parameters
/// itself (not a field reached through it): the argument passed for it, resolved in the caller.
pub fn param_lock(
    ix: &Index,
    files: &[LoweredFile],
    func: &FnDef,
    callee: &FnDef,
    s: &SumAcq,
    c: &crate::flow::CallEvent,
    config: &Config,
) -> Option<ResolvedLock> {
    let param = s
        .lock
        .class
        .strip_prefix(callee.path.as_str())?
        .strip_prefix("::")?;
    if s.lock.instance != param {
        return None;
    }
    let arg = if param == "self" {
        // A method of the lock type itself: the lock is the receiver.
        match &*c.callee {
            Callee::Method { recv, .. } => recv.as_ref()?,
            Callee::Path(_) if callee.has_self => c.args.first()?.as_ref()?,
            _ => return None,
        }
    } else {
        let pos = callee.params.iter().position(|(n, _)| n == param)?;
        let offset = usize::from(matches!(*c.callee, Callee::Path(_)) && callee.has_self);
        c.args.get(pos + offset)?.as_ref()?
    };
    if matches!(arg.root, Root::Opaque) {
        return None;
    }
    let l = ix.resolve_lock(
        files,
        func,
        arg,
        "lock",
        crate::index::AcqCall::default(),
        config,
    )?;
    if l.assumed {
        return None;
    }
    Some(ResolvedLock {
        kind: s.lock.kind.clone(),
        assumed: s.lock.assumed,
        ..l
    })
}

trait SiteKey {
    fn site_key(&self) -> Span;
}

impl SiteKey for crate::flow::BlockEvent {
    fn site_key(&self) -> Span {
        self.span
    }
}

/// An instance text a caller can name: rooted at `self`, a parameter, or a path (static).
fn own_instance(func: &FnDef, inst: &str) -> Option<String> {
    let root = instance_root(inst);
    if root == "self"
        || func.params.iter().any(|(n, _)| n == root)
        || root.chars().next().is_some_and(|c| c.is_uppercase())
        || inst.contains("::")
    {
        Some(inst.to_string())
    } else {
        None
    }
}

/// The configuration contract describing what a call does, if one names its callee
/// (`function = "ndis::NdisMSendComplete"`, `"Driver::send_complete"` or a bare name).
pub fn contract_for<'c>(
    config: &'c crate::config::Config,
    callee: &Callee,
) -> Option<&'c crate::config::Contract> {
    let (path, name) = match callee {
        Callee::Path(s) => (s.join("::"), s.last().cloned().unwrap_or_default()),
        Callee::Method { name, .. } => (name.to_string(), name.to_string()),
        Callee::Value { text, .. } => (text.to_string(), text.to_string()),
    };
    // a method call names its type only through the receiver: `Driver::send_complete`
    // matches `x.send_complete()`
    config.contracts.iter().find(|c| {
        c.describes(&path, &name)
            || c.function.ends_with(&format!("::{name}")) && matches!(callee, Callee::Method { .. })
    })
}

/// A lock named by class in a contract.
pub fn contract_lock(class: &str) -> ResolvedLock {
    ResolvedLock {
        class: class.into(),
        instance: LockInstance::default(),
        kind: crate::index::LockKind {
            type_name: "contract".into(),
            spin: false,
            rw: false,
            reentrant: false,
            raw: false,
            irq_safe: false,
            by_name: false,
            awaits: false,
        },
        assumed: true,
        unshared: false,
    }
}
