use std::collections::{BTreeMap, BTreeSet, VecDeque};

use lockstep_analyzer::ir::LockClass;
use lockstep_analyzer::lock_graph::Witness;
use lockstep_analyzer::{Diagnostic, Label, Level};
use petgraph::graph::DiGraph;

use crate::util::{alias_note, chain_labels, short_class, site_lock_name};
use crate::{Lint, LintContext, LintMeta};

declare_lint! {
    /// ## What it does
    /// Finds locks acquired in opposite orders on different paths — `A` then `B` in one place,
    /// `B` then `A` in another — directly or through any chain of calls, across files and
    /// crates of the workspace. Cycles of any length count (A → B → C → A). One finding per
    /// strongly connected component of the lock graph, showing a shortest cycle with every
    /// edge's acquisition sites and call chain. It also reports an acquisition that goes against
    /// the order declared in the configuration (`lock_order = [...]`) even before a cycle
    /// exists.
    ///
    /// Try-locks do not close a cycle: a `try_lock` in the reverse order backs off instead of
    /// waiting. Nor do the two orders of a pair locked by comparing the two objects
    /// (`if a_addr < b_addr { a then b } else { b then a }`, by address, id or a `cmp` match):
    /// they are one order, the smaller object first.
    ///
    /// ## Why is this bad?
    /// Two threads (or a thread and an interrupt) each hold one lock and wait for the other:
    /// a deadlock that shows up only under load. KB Q219380: the WAN send path and its
    /// completion path deadlocked, and the RAS server hung up every connection.
    ///
    /// ## Known problems
    /// Locks are compared by class (declaration site), as lockdep does: two instances of one
    /// class taken in both orders (hand-over-hand) are not reported. A witness that needs a
    /// trait-dispatch edge is reported one level lower (deny → warn), naming the impl assumed.
    /// A closure handed to a function that keeps it for later is taken to run during the call,
    /// under the caller's locks, unless the function is a known spawner or registrar
    /// (`thread::spawn`, `request_irq`, …) or the closure is boxed or stored into a field.
    ///
    /// ## Example
    /// ```rust,ignore
    /// // link.rs                         // bundle.rs
    /// let l = self.link.lock();          let b = self.bundle.lock();
    /// let b = self.bundle.lock();        let l = self.link.lock();
    /// ```
    /// Use instead: one global order (declare it in `lock_order`), and take locks in that
    /// order everywhere.
    pub LOCK_ORDER_INVERSION, "lock_order_inversion", Deny, "two paths acquire the same locks in opposite orders"
}

pub struct LockOrderInversion;

impl Lint for LockOrderInversion {
    fn meta(&self) -> &'static LintMeta {
        &LOCK_ORDER_INVERSION
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
        let lg = &cx.analysis.lock_graph;
        // Cycles over the edges that can close one: the two orders of an ordered pair (two
        // objects locked by comparing their addresses or ids) are one order.
        let edges = lg.cycle_edges();
        let mut g: DiGraph<LockClass, ()> = DiGraph::new();
        let mut idx = BTreeMap::new();
        for (a, b) in &edges {
            for c in [a, b] {
                if !idx.contains_key(c) {
                    idx.insert(*c, g.add_node(*c));
                }
            }
            g.add_edge(idx[a], idx[b], ());
        }
        let succ: BTreeMap<&str, Vec<&str>> =
            edges.iter().fold(BTreeMap::new(), |mut m, (a, b)| {
                m.entry(a.as_str()).or_default().push(b.as_str());
                m
            });
        let mut in_cycle: BTreeSet<(LockClass, LockClass)> = BTreeSet::new();
        for scc in petgraph::algo::tarjan_scc(&g) {
            if scc.len() < 2 {
                continue;
            }
            let members: BTreeSet<&str> = scc.iter().map(|n| g[*n].as_str()).collect();
            for a in &members {
                for b in &members {
                    in_cycle.insert(((*a).into(), (*b).into()));
                }
            }
            let start = *members.iter().next().expect("non-empty component");
            let ordered = |a: &str, b: &str| lg.ordered_pair(a, b);
            let Some(cycle) = shortest_cycle(start, &succ, &members, &ordered)
                .or_else(|| shortest_cycle(start, &succ, &members, &|_, _| false))
            else {
                continue;
            };
            let mut ws: Vec<&Witness> = cycle
                .iter()
                .zip(cycle.iter().cycle().skip(1))
                .filter_map(|(a, b)| lg.witnesses(a, b).iter().find(|w| !w.is_try))
                .collect();
            if ws.len() != cycle.len() {
                continue;
            }
            other_order(lg, &cycle, &mut ws);
            let primary = ws
                .iter()
                .min_by(|x, y| {
                    let px = &cx.db.get(x.to_span.file).path;
                    let py = &cx.db.get(y.to_span.file).path;
                    (px, x.to_span.start).cmp(&(py, y.to_span.start))
                })
                .expect("cycle has edges");
            let names: Vec<&str> = cycle.iter().map(|c| short_class(c)).collect();
            let mut ring = names.clone();
            ring.push(names[0]);
            let mut d = Diagnostic::new(
                LOCK_ORDER_INVERSION.name,
                LOCK_ORDER_INVERSION.default_level,
                format!(
                    "lock order inversion: {} are acquired in opposite orders (possible deadlock)",
                    list(&names)
                ),
                Label::new(
                    primary.to_span,
                    format!(
                        "{} acquired here while `{}` is held",
                        site_lock_name(cx.analysis, &primary.to.class, &primary.to.instance),
                        short_class(&primary.from.class)
                    ),
                ),
            );
            d = cycle_sites(cx, d, &ws, primary, &cycle, &ring);
            if let Some(tr) = ws.iter().find_map(|w| w.via_trait()) {
                d.level = Level::Warn;
                d = d.with_note(format!(
                    "this cycle assumes a call through trait `{tr}` reaches the impl shown"
                ));
            }
            let others = members.len().saturating_sub(cycle.len());
            if others > 0 {
                d = d.with_note(format!(
                    "{others} more lock(s) take part in the same cycle group"
                ));
            }
            let mut key: Vec<&str> = members.iter().copied().collect();
            key.sort_unstable();
            out.push(
                d.with_help(
                    "pick one order for these locks and acquire them in that order everywhere",
                )
                .with_key(format!("lock_order_inversion:{}", key.join(","))),
            );
        }
        // Declared order: every blocking edge, ordered pairs too.
        let order = &cx.config.lock_order;
        if order.is_empty() {
            return;
        }
        let edges = lg.blocking_edges();
        let pos = |c: &str| order.iter().position(|o| o == c);
        for (a, b) in &edges {
            // Already reported as part of a cycle.
            if in_cycle.contains(&(*a, *b)) {
                continue;
            }
            let (Some(pa), Some(pb)) = (pos(a), pos(b)) else {
                continue;
            };
            if pa <= pb {
                continue;
            }
            let Some(w) = lg.witnesses(a, b).iter().find(|w| !w.is_try) else {
                continue;
            };
            let mut d = Diagnostic::new(
                LOCK_ORDER_INVERSION.name,
                LOCK_ORDER_INVERSION.default_level,
                format!(
                    "`{}` is acquired while `{}` is held, against the declared lock order",
                    short_class(b),
                    short_class(a)
                ),
                Label::new(w.to_span, format!("`{}` acquired here", short_class(b))),
            )
            .with_label(w.from_span, format!("`{}` held since here", short_class(a)));
            for l in chain_labels(&w.chain) {
                d.labels.push(l);
            }
            out.push(
                d.with_note(format!("declared order: `{}` before `{}`", short_class(b), short_class(a)))
                    .with_help("acquire the locks in the declared order, or change `lock_order` if the order is intended")
                    .with_key(format!("lock_order_inversion:declared:{a}:{b}")),
            );
        }
    }
}

/// When every witness shown follows one order of objects (`Witness::ordered_by`), the cycle
/// closes through a witness of another order: show that one for the last edge.
fn other_order<'a>(
    lg: &'a lockstep_analyzer::lock_graph::LockGraph,
    cycle: &[String],
    ws: &mut [&'a Witness],
) {
    let Some(order) = ws[0].ordered_by.as_ref() else {
        return;
    };
    if ws.iter().any(|w| w.ordered_by.as_ref() != Some(order)) {
        return;
    }
    let (a, b) = (&cycle[cycle.len() - 1], &cycle[0]);
    if let Some(w) = lg
        .witnesses(a, b)
        .iter()
        .find(|w| !w.is_try && w.ordered_by.as_ref() != Some(order))
    {
        let last = ws.len() - 1;
        ws[last] = w;
    }
}

fn list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.len() {
        2 => format!("{} and {}", quoted[0], quoted[1]),
        _ => quoted.join(", "),
    }
}

/// A shortest cycle through `start` inside one component (BFS), as the list of its nodes;
/// not the two edges between `start` and a lock `skip` pairs it with.
fn shortest_cycle<'a>(
    start: &'a str,
    succ: &BTreeMap<&'a str, Vec<&'a str>>,
    members: &BTreeSet<&'a str>,
    skip: &dyn Fn(&str, &str) -> bool,
) -> Option<Vec<String>> {
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut q = VecDeque::new();
    q.push_back(start);
    while let Some(n) = q.pop_front() {
        for &m in succ.get(n).map(Vec::as_slice).unwrap_or(&[]) {
            if !members.contains(m) {
                continue;
            }
            if m == start && !(prev.get(n) == Some(&start) && skip(start, n)) {
                let mut path = vec![n.to_string()];
                let mut cur = n;
                while cur != start {
                    cur = prev[cur];
                    path.push(cur.to_string());
                }
                path.reverse();
                return Some(path);
            }
            if m != start && !prev.contains_key(m) {
                prev.insert(m, n);
                q.push_back(m);
            }
        }
    }
    None
}


/// The sites of a cycle's witnesses (each outer acquisition, the call chain, each inner one but
/// the primary's), the cycle itself, and where each of its locks is stored when it is one
/// value stored in several places.
fn cycle_sites(
    cx: &LintContext<'_>,
    mut d: Diagnostic,
    ws: &[&Witness],
    primary: &Witness,
    cycle: &[String],
    ring: &[&str],
) -> Diagnostic {
    for w in ws {
        d = d.with_label(
            w.from_span,
            format!(
                "{} acquired here",
                site_lock_name(cx.analysis, &w.from.class, &w.from.instance)
            ),
        );
        for l in chain_labels(&w.chain) {
            d.labels.push(l);
        }
        if !std::ptr::eq(*w, primary) {
            d = d.with_label(
                w.to_span,
                format!(
                    "then {} acquired here while `{}` is held",
                    site_lock_name(cx.analysis, &w.to.class, &w.to.instance),
                    short_class(&w.from.class)
                ),
            );
        }
    }
    d = d.with_note(format!("cycle: {}", ring.join(" → ")));
    for c in cycle {
        if let Some(n) = alias_note(cx.analysis, c) {
            d = d.with_note(n);
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{assert_message, Tester};

    macro_rules! wan {
        () => {
            "use std::sync::Mutex;\n\
             pub struct Wan { link: Mutex<u32>, bundle: Mutex<u32>, stats: Mutex<u64> }\n"
        };
    }

    /// KB Q219380: the send path and the completion path take link and bundle in opposite orders.
    const LINK_BUNDLE: &str = concat!(
        wan!(),
        "impl Wan {
    pub fn send(&self) {
        let _l = self.link.lock().unwrap();
        let _b = self.bundle.lock().unwrap();
    }
    pub fn complete(&self) {
        let _b = self.bundle.lock().unwrap();
        let _l = self.link.lock().unwrap();
    }
}"
    );

    #[test]
    fn vectors() {
        Tester::new(&LockOrderInversion)
            .pass(&[
                // one order everywhere, directly and through a call
                concat!(
                    wan!(),
                    "impl Wan {
                        pub fn count(&self) { let _l = self.link.lock().unwrap(); *self.stats.lock().unwrap() += 1; }
                        pub fn count_again(&self) { let _l = self.link.lock().unwrap(); self.bump_stats(); }
                        fn bump_stats(&self) { *self.stats.lock().unwrap() += 1; }
                    }"
                ),
                // the reverse order only with `try_lock`, which backs off
                concat!(
                    wan!(),
                    "impl Wan {
                        pub fn count(&self) { let _l = self.link.lock().unwrap(); *self.stats.lock().unwrap() += 1; }
                        pub fn stats_then_link(&self) {
                            let _s = self.stats.lock().unwrap();
                            if let Ok(l) = self.link.try_lock() { drop(l); }
                        }
                    }"
                ),
                // the first guard is dropped before the second lock
                concat!(
                    wan!(),
                    "impl Wan {
                        pub fn send(&self) { let _l = self.link.lock().unwrap(); let _b = self.bundle.lock().unwrap(); }
                        pub fn complete(&self) {
                            let b = self.bundle.lock().unwrap();
                            drop(b);
                            let _l = self.link.lock().unwrap();
                        }
                    }"
                ),
                // hand-over-hand over two instances of one class
                "use std::sync::Mutex;
                pub struct Node { next: Mutex<u32> }
                pub fn walk(a: &Node, b: &Node) {
                    let _x = a.next.lock().unwrap();
                    let _y = b.next.lock().unwrap();
                }",
                // two locks, never nested
                concat!(
                    wan!(),
                    "impl Wan {
                        pub fn a(&self) { *self.link.lock().unwrap() += 1; *self.bundle.lock().unwrap() += 1; }
                        pub fn b(&self) { *self.bundle.lock().unwrap() += 1; *self.link.lock().unwrap() += 1; }
                    }"
                ),
                // two objects locked in the order of their addresses
                concat!(
                    wan!(),
                    "pub fn both(x: &Wan, y: &Wan) {
                        let (xa, ya) = (x as *const Wan as usize, y as *const Wan as usize);
                        if xa < ya {
                            let _l = x.link.lock().unwrap(); let _b = y.bundle.lock().unwrap();
                        } else {
                            let _b = y.bundle.lock().unwrap(); let _l = x.link.lock().unwrap();
                        }
                    }"
                ),
            ])
            .fail(&[
                LINK_BUNDLE,
                // both orders, chosen by a flag
                concat!(
                    wan!(),
                    "pub fn both(x: &Wan, y: &Wan, flag: bool) {
                        if flag {
                            let _l = x.link.lock().unwrap(); let _b = y.bundle.lock().unwrap();
                        } else {
                            let _b = y.bundle.lock().unwrap(); let _l = x.link.lock().unwrap();
                        }
                    }"
                ),
                // the second lock of one side is taken by a callee
                concat!(
                    wan!(),
                    "impl Wan {
                        pub fn send(&self) { let _l = self.link.lock().unwrap(); self.touch_bundle(); }
                        fn touch_bundle(&self) { *self.bundle.lock().unwrap() += 1; }
                        pub fn complete(&self) { let _b = self.bundle.lock().unwrap(); let _l = self.link.lock().unwrap(); }
                    }"
                ),
                // a cycle of three
                concat!(
                    wan!(),
                    "impl Wan {
                        pub fn a(&self) { let _l = self.link.lock().unwrap(); let _b = self.bundle.lock().unwrap(); }
                        pub fn b(&self) { let _b = self.bundle.lock().unwrap(); let _s = self.stats.lock().unwrap(); }
                        pub fn c(&self) { let _s = self.stats.lock().unwrap(); let _l = self.link.lock().unwrap(); }
                    }"
                ),
                // two statics in opposite orders in free functions
                "use std::sync::Mutex;
                static DEVICES: Mutex<u32> = Mutex::new(0);
                static DRIVERS: Mutex<u32> = Mutex::new(0);
                pub fn probe() { let _d = DEVICES.lock().unwrap(); let _r = DRIVERS.lock().unwrap(); }
                pub fn unbind() { let _r = DRIVERS.lock().unwrap(); let _d = DEVICES.lock().unwrap(); }",
                // a match scrutinee's guard is held through the arm
                concat!(
                    wan!(),
                    "impl Wan {
                        pub fn send(&self) { let _l = self.link.lock().unwrap(); let _b = self.bundle.lock().unwrap(); }
                        pub fn complete(&self) {
                            match *self.bundle.lock().unwrap() {
                                0 => { *self.link.lock().unwrap() += 1; }
                                _ => {}
                            }
                        }
                    }"
                ),
            ])
            .run();
    }

    #[test]
    fn message() {
        assert_message(
            &LockOrderInversion,
            LINK_BUNDLE,
            &[
                "deny[lock_order_inversion]: lock order inversion: `Wan.bundle` and `Wan.link` are acquired in opposite orders (possible deadlock)",
                "  --> 6:18 `self.bundle.lock()`: `Wan.bundle` acquired here while `Wan.link` is held",
                "   - 9:18 `self.bundle.lock()`: `Wan.bundle` acquired here",
                "   - 10:18 `self.link.lock()`: then `Wan.link` acquired here while `Wan.bundle` is held",
                "   - 5:18 `self.link.lock()`: `Wan.link` acquired here",
                "  note: cycle: Wan.bundle → Wan.link → Wan.bundle",
                "  help: pick one order for these locks and acquire them in that order everywhere",
                "  key: lock_order_inversion:crate::Wan.bundle,crate::Wan.link",
            ],
        );
    }
}
