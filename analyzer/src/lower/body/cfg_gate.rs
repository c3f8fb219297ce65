//! Statements under a `#[cfg(..)]` that names a feature: lowered between two nodes of their
//! own and recorded as a [`CfgGate`], so the loader can take them out for a package whose
//! features make the predicate false (`lower::cfg`) without lowering the body again.
//!
//! Complementary predicates in one block are alternatives: `#[cfg(feature = "libc")] { .. }
//! #[cfg(not(feature = "libc"))] { .. }` is one statement or the other in every build. The
//! first is lowered as any other statement; a later one is lowered too, but kept only when
//! its own predicate is true, so that with undecided features the body is the first
//! alternative's, as it always was. `let` alternatives bind names the rest of the block reads,
//! which one lowering cannot have both ways: the first `let` is lowered ungated and the later
//! ones are left out, whatever the features.

use super::*;
use crate::cfg_pred::CfgPred;
use crate::ir::CfgGate;

/// What a statement's `#[cfg(..)]` predicates make of it in its block.
pub(super) enum StmtCfg {
    /// No predicate that features could decide: lowered as it is.
    Plain,
    /// Left out (a `let` alternative, an alternative no feature decides, `#[cfg(test)]` in
    /// library code).
    Skip,
    /// Lowered inside a gate.
    Gate {
        pred: CfgPred,
        kept_if_unknown: bool,
    },
}

/// Where an open gate started: its entry node and the lengths of the lists the statement adds to.
pub(super) struct GateStart {
    node: NodeId,
    value_flows: usize,
    fn_stores: usize,
    extra: usize,
}

/// The `#[cfg(..)]` predicates of the statements of one block lowered so far, as token text,
/// each with whether it was on a `let`.
#[derive(Default)]
pub(super) struct BlockCfgs {
    seen: Vec<(String, bool)>,
}

fn is_let(stmt: &syn::Stmt) -> bool {
    matches!(stmt, syn::Stmt::Local(_))
}

impl BlockCfgs {
    /// Classify statement `i` of `stmts` (in order: the predicates of the statements lowered
    /// are remembered).
    pub(super) fn classify(&mut self, stmts: &[syn::Stmt], i: usize, test_only: bool) -> StmtCfg {
        let stmt = &stmts[i];
        let preds = stmt_cfgs(stmt);
        if preds.is_empty() {
            return StmtCfg::Plain;
        }
        let negated: Vec<bool> = (self.seen.iter())
            .filter(|(p, _)| preds.iter().any(|q| *p == negate_cfg(q)))
            .map(|(_, l)| *l)
            .collect();
        // A `#[cfg(test)]` statement in a function that is not test code: the body is
        // analyzed as the library's build has it.
        let test = preds
            .iter()
            .any(|p| p == "test" || p.starts_with("all (test ,"));
        if !test_only && test && negated.is_empty() {
            return StmtCfg::Skip;
        }
        let pred = crate::syntax::cfg_pred(stmt_attrs(stmt));
        let pred = pred.filter(|p| p.mentions_feature() && !matches!(stmt, syn::Stmt::Item(_)));
        if !negated.is_empty() {
            return match pred {
                Some(pred) if !is_let(stmt) && !negated.contains(&true) => StmtCfg::Gate {
                    pred,
                    kept_if_unknown: false,
                },
                _ => StmtCfg::Skip,
            };
        }
        let l = is_let(stmt);
        self.seen.extend(preds.iter().map(|p| (p.clone(), l)));
        let Some(pred) = pred else {
            return StmtCfg::Plain;
        };
        // the first of `let` alternatives stays: the block reads its names
        let later_alternative = stmts[i + 1..].iter().any(|s| {
            stmt_cfgs(s)
                .iter()
                .any(|q| preds.iter().any(|p| *p == negate_cfg(q)))
        });
        if l && later_alternative {
            return StmtCfg::Plain;
        }
        StmtCfg::Gate {
            pred,
            kept_if_unknown: true,
        }
    }
}

impl<'a> BodyLowerer<'a> {
    /// Open a gate before a statement: a node of its own whose successors enter it.
    pub(super) fn open_gate(&mut self) -> Option<GateStart> {
        let node = self.emit(Op::Nop)?;
        Some(GateStart {
            node,
            value_flows: self.value_flows.len(),
            fn_stores: self.fn_stores.len(),
            extra: self.extra.len(),
        })
    }

    /// Close a gate after its statement: the path goes on from a join node of its own.
    pub(super) fn close_gate(&mut self, g: GateStart, pred: CfgPred, kept_if_unknown: bool) {
        let Some(join) = self.new_node() else {
            return;
        };
        if let Some(c) = self.cur {
            self.link(c, join);
        }
        self.cur = Some(join);
        let len = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        self.cfg_gates.push(CfgGate {
            node: g.node,
            join,
            pred,
            kept_if_unknown,
            value_flows: (len(g.value_flows), len(self.value_flows.len())),
            fn_stores: (len(g.fn_stores), len(self.fn_stores.len())),
            closures: self.extra[g.extra..]
                .iter()
                .map(|f| f.path.to_string())
                .collect(),
        });
    }
}
