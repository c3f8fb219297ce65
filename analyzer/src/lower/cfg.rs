//! Deciding a lowered file's `#[cfg(..)]` predicates for the package it is loaded for: items
//! whose predicate is false are left out, and so are gated statements (`ir::CfgGate`) that
//! are not compiled. Lowering records the predicates without deciding them, so one lowering
//! (and one cache entry) serves every set of features.

use std::collections::BTreeSet;

use crate::cfg_pred::{eval_item, Features, Tri};
use crate::ir::{Body, Node, Op, Succs};
use crate::lower::LoweredFile;

/// What [`apply`] left out because a predicate on features was false.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CfgDropped {
    /// Items: functions (closures not counted), impls, structs, enums, statics, type
    /// aliases, `use`s and traits.
    pub items: usize,
    pub statements: usize,
    /// `mod` declarations whose files were not read (counted by the loader).
    pub modules: usize,
}

impl CfgDropped {
    pub fn add(&mut self, o: CfgDropped) {
        self.items += o.items;
        self.statements += o.statements;
        self.modules += o.modules;
    }

    pub fn total(&self) -> usize {
        self.items + self.statements + self.modules
    }
}

fn is_closure(path: &str) -> bool {
    path.rsplit("::").next().is_some_and(|n| n.starts_with('{'))
}

/// Decide the predicates of `l` for a package with `features` (`None`: not known, so only
/// the alternatives kept when decided are left out, as lowering has always done).
pub fn apply(l: &mut LoweredFile, features: Option<&Features>) -> CfgDropped {
    let mut out = CfgDropped::default();
    let keep = |cfg: &crate::cfg_pred::ItemCfg| eval_item(cfg, features) != Tri::False;
    macro_rules! retain {
        ($v:expr) => {{
            let before = $v.len();
            $v.retain(|x| keep(&x.cfg));
            out.items += before - $v.len();
        }};
    }
    let items = &mut l.items;
    retain!(items.structs);
    retain!(items.enums);
    retain!(items.statics);
    retain!(items.aliases);
    retain!(items.uses);
    retain!(items.trait_impls);
    retain!(items.traits);
    out.items += (items.fns.iter())
        .filter(|f| !keep(&f.cfg) && !is_closure(&f.path))
        .count();
    items.fns.retain(|f| keep(&f.cfg));
    // closures lowered inside statements left out go with them
    let mut gone: BTreeSet<String> = BTreeSet::new();
    for f in &mut items.fns {
        if let Some(b) = &mut f.body {
            out.statements += apply_gates(b, features, &mut gone);
        }
    }
    if !gone.is_empty() {
        let prefixes: Vec<String> = gone.iter().map(|p| format!("{p}::{{")).collect();
        items.fns.retain(|f| {
            !gone.contains(f.path.as_str())
                && !prefixes.iter().any(|p| f.path.starts_with(p.as_str()))
        });
    }
    out
}

/// Take out the gated statements of a body that are not compiled; their closures' paths go
/// to `gone`. Returns how many were left out because their predicate is false.
fn apply_gates(b: &mut Body, features: Option<&Features>, gone: &mut BTreeSet<String>) -> usize {
    let gates = std::mem::take(&mut b.cfg_gates);
    let mut false_count = 0;
    let mut cut: Vec<(u32, u32)> = Vec::new();
    let (mut flows_out, mut stores_out) = (Vec::new(), Vec::new());
    for g in gates {
        let v = g.pred.eval(features);
        let kept = match v {
            Tri::True => true,
            Tri::False => false,
            Tri::Unknown => g.kept_if_unknown,
        };
        if kept {
            continue;
        }
        false_count += usize::from(v == Tri::False);
        let (node, join) = (g.node as usize, g.join as usize);
        if join > b.nodes.len() || node >= join {
            continue;
        }
        let mut to_join = Succs::default();
        to_join.push(g.join);
        b.nodes[node].succs = to_join;
        for n in &mut b.nodes[node + 1..join] {
            *n = Node {
                op: Op::Nop,
                succs: Succs::default(),
            };
        }
        cut.push((g.node + 1, g.join));
        flows_out.push(g.value_flows);
        stores_out.push(g.fn_stores);
        gone.extend(g.closures);
    }
    if cut.is_empty() {
        return false_count;
    }
    let inside = |id: u32| cut.iter().any(|&(a, e)| a <= id && id < e);
    b.unshared.retain(|&n| !inside(n));
    b.call_moves.retain(|m| !inside(m.0));
    b.unshared_if.retain(|u| !inside(u.acq));
    b.ordered.retain(|o| !inside(o.node));
    let in_ranges = |i: usize, ranges: &[(u32, u32)]| {
        ranges
            .iter()
            .any(|&(a, e)| (a as usize) <= i && i < e as usize)
    };
    let mut i = 0;
    b.value_flows.retain(|_| {
        i += 1;
        !in_ranges(i - 1, &flows_out)
    });
    let mut i = 0;
    b.fn_stores.retain(|_| {
        i += 1;
        !in_ranges(i - 1, &stores_out)
    });
    false_count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{FileId, SourceFile};

    fn lowered(text: &str) -> LoweredFile {
        crate::lower::lower_file(&SourceFile::new(FileId(0), "lib.rs", text))
    }

    fn features(enabled: &[&str], declared: &[&str]) -> Features {
        Features {
            enabled: enabled.iter().map(|s| s.to_string()).collect(),
            declared: declared.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn fn_names(l: &LoweredFile) -> Vec<String> {
        l.items.fns.iter().map(|f| f.name.to_string()).collect()
    }

    /// The `Acquire` nodes reachable from a body's entry.
    fn reachable_acquires(b: &Body) -> usize {
        let mut seen = vec![false; b.nodes.len()];
        let mut stack = vec![0usize];
        let mut n = 0;
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            n += usize::from(matches!(b.nodes[i].op, Op::Acquire { .. }));
            stack.extend(b.nodes[i].succs.iter().map(|&s| s as usize));
        }
        n
    }

    const ITEMS: &str = r#"
        #[cfg(feature = "a")] fn on() {}
        #[cfg(feature = "b")] fn off() {}
        #[cfg(not(feature = "b"))] fn not_off() {}
        #[cfg(all(unix, feature = "b"))] fn all_off() {}
        #[cfg(any(unix, feature = "b"))] fn any_unknown() {}
        #[cfg(feature = "undeclared")] fn undeclared() {}
        #[cfg(feature = "b")] mod m { pub fn inner() {} pub struct S; }
        #[cfg(feature = "b")] impl Drop for T { fn drop(&mut self) { let f = || 1; } }
        struct T;
    "#;

    #[test]
    fn false_items_are_left_out() {
        let mut l = lowered(ITEMS);
        let got = apply(&mut l, Some(&features(&["a"], &["a", "b"])));
        assert_eq!(
            fn_names(&l),
            ["on", "not_off", "any_unknown", "undeclared"],
            "{:?}",
            l.items.fns
        );
        // off, all_off, inner, drop (its closure not counted), S, the impl
        assert_eq!(got.items, 6);
        assert_eq!(l.items.structs.len(), 1);
        assert!(l.items.trait_impls.is_empty());
    }

    #[test]
    fn unknown_features_keep_everything() {
        let mut l = lowered(ITEMS);
        let n = l.items.fns.len();
        assert_eq!(apply(&mut l, None), CfgDropped::default());
        assert_eq!(l.items.fns.len(), n);
    }

    const BODY: &str = r#"
        fn f(m: &Mutex<()>, n: &Mutex<()>) {
            #[cfg(feature = "libc")]
            {
                let _g = m.lock();
                spawn(move || n.lock());
            }
            #[cfg(not(feature = "libc"))]
            {
                let _g = n.lock();
            }
        }
    "#;

    fn body(l: &LoweredFile) -> &Body {
        l.items.fns[0].body.as_ref().expect("a body")
    }

    #[test]
    fn alternatives_follow_the_features() {
        // undecided: the first alternative, as without gates
        let mut l = lowered(BODY);
        assert_eq!(body(&l).cfg_gates.len(), 2);
        assert_eq!(apply(&mut l, None).statements, 0);
        assert_eq!(reachable_acquires(body(&l)), 1);
        assert_eq!(l.items.fns.len(), 2, "the closure stays");
        // `libc` off: the second one, and the first's closure is gone
        let mut l = lowered(BODY);
        let got = apply(&mut l, Some(&features(&[], &["libc"])));
        assert_eq!(got.statements, 1);
        assert_eq!(reachable_acquires(body(&l)), 1);
        assert_eq!(fn_names(&l), ["f"]);
        let acq = (body(&l).nodes.iter())
            .filter(|n| matches!(n.op, Op::Acquire { .. }))
            .count();
        assert_eq!(acq, 1, "the first alternative's nodes are cleared");
        // `libc` on: the first one only
        let mut l = lowered(BODY);
        apply(&mut l, Some(&features(&["libc"], &["libc"])));
        assert_eq!(reachable_acquires(body(&l)), 1);
        assert_eq!(l.items.fns.len(), 2);
    }

    #[test]
    fn a_gated_statement_that_diverges_still_joins() {
        let text = r#"
            fn f(m: &Mutex<()>) -> u32 {
                #[cfg(feature = "early")]
                return 0;
                let _g = m.lock();
                1
            }
        "#;
        let mut l = lowered(text);
        apply(&mut l, Some(&features(&["early"], &["early"])));
        assert_eq!(reachable_acquires(body(&l)), 0);
        let mut l = lowered(text);
        apply(&mut l, Some(&features(&[], &["early"])));
        assert_eq!(reachable_acquires(body(&l)), 1);
    }

    #[test]
    fn let_alternatives_keep_the_first() {
        let text = r#"
            fn f(m: &Mutex<()>) {
                #[cfg(feature = "std")]
                let g = m.lock().unwrap();
                #[cfg(not(feature = "std"))]
                let g = m.lock();
                drop(g);
            }
        "#;
        let l = lowered(text);
        assert!(body(&l).cfg_gates.is_empty());
    }
}
