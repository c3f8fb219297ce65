//! Lowering of function bodies into control-flow graphs of lock events, with guard lifetimes
//! as Rust drops them: bindings to the end of their scope, temporaries to the end of their
//! statement (or of a scrutinee / condition scope), lifetime extension of `&` operands in `let`,
//! and the edition-dependent `if let` and tail-expression rules.

use std::collections::{BTreeMap, BTreeSet};

use quote::ToTokens;
use syn::spanned::Spanned;

use crate::config::Config;
use crate::ir::{
    AcqStyle, BlockKind, Body, Callee, Capture, CondKey, FlowTo, FnDef, FnStore, FnStoreTo,
    GuardId, Mode, Node, NodeId, Op, Place, Proj, Root, TypeRef, ValueFlow,
};
use crate::lock_api;
use crate::lower::items::{path_segs, type_ref};
use crate::parse::SpanMap;
use crate::source::{Edition, Span};

mod calls;
mod cfg_gate;
mod closures;
mod control;
mod effects;
mod expr;
mod guard_ops;
mod mac;
mod order;
mod scopes;
mod spin_loop;
mod syntax;
mod unshared;

use syntax::*;

/// Most nodes one body may have; past it the body is truncated (and a note is reported).
pub const MAX_NODES: usize = 50_000;
/// Deepest expression recursion lowering follows.
pub const MAX_DEPTH: u32 = 300;
/// The kind of a closure's value copy (`BodyLowerer::value_copies`): `{value#N}`.
pub const VALUE_KIND: &str = "value";
/// Most value copies one body lowers.
pub const MAX_VALUE_COPIES: u32 = 64;
/// Value flows kept per body (`Body::value_flows`).
pub const MAX_VALUE_FLOWS: usize = 256;

#[derive(Clone, Debug, Default)]
struct Val {
    /// Guards the value owns (fresh) or refers to (owned by a binding).
    guards: Vec<GuardId>,
    /// The guards are fresh temporaries that the consumer must settle.
    fresh: bool,
    place: Option<Place>,
    /// A try-lock whose acquisition happens on the success path.
    pending: Option<Pending>,
    closure: Option<Box<syn::ExprClosure>>,
    /// A closure lowered as a function of its own that this value is (`Box::new(move || ..)`,
    /// `Some(Arc::new(|| ..))`): its `FnDef::path`.
    func: Option<String>,
    /// The value's type as its construction spells it (`Arc::new(Mutex::new(0))` is
    /// `Arc<Mutex<_>>`, `Data { .. }` is `Data`), resolved later by name.
    ty: Option<TypeRef>,
}

#[derive(Default)]
struct CallArgs {
    args: Vec<Option<Place>>,
    by_value: crate::ir::ArgMask,
    closures: Vec<syn::ExprClosure>,
    /// The argument index of each of `closures`.
    closure_args: Vec<u32>,
    /// Arguments that are closures lowered as functions of their own (`Box::new(|| ..)`):
    /// the argument's index and the closure's path.
    funcs: Vec<(u32, String)>,
    /// Guards moved into the call: the argument's index and the guard.
    moved: Vec<(u32, GuardId)>,
    /// The arguments' types as their construction spells them.
    tys: Vec<Option<TypeRef>>,
}

#[derive(Clone, Debug)]
struct Pending {
    place: Place,
    method: String,
    mode: Mode,
    guard: GuardId,
    span: Span,
}

#[derive(Clone, Debug)]
struct Binding {
    name: String,
    guards: Vec<GuardId>,
    alias: Option<Place>,
    ty: Option<TypeRef>,
    tag: u32,
    closure: Option<Box<syn::ExprClosure>>,
}

#[derive(Default)]
struct Scope {
    bindings: Vec<Binding>,
}

struct LoopCx {
    label: Option<String>,
    head: NodeId,
    breaks: Vec<NodeId>,
    scope_depth: usize,
    temp_depth: usize,
    frame: usize,
}

struct Frame {
    exits: Vec<NodeId>,
    scope_depth: usize,
    temp_depth: usize,
    is_fn: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ext {
    None,
    /// A `let` initializer (or a sub-expression that extends like one).
    Value,
    /// The place operand of an extending `&`.
    Place,
}

/// What a closure lowered as a function of its own takes from the function it is written in:
/// the module and impl it resolves names in, and the captures it has so far.
#[derive(Clone)]
struct Enclosing {
    module: String,
    self_ty: Option<TypeRef>,
    trait_name: Option<String>,
    in_trait: bool,
    has_self: bool,
    test_only: bool,
    captures: Vec<Capture>,
    cfg: crate::cfg_pred::ItemCfg,
}

pub struct BodyLowerer<'a> {
    map: &'a SpanMap,
    edition: Edition,
    config: &'a Config,
    fn_path: String,
    /// The function is test code (`#[cfg(test)]` statements in it are kept).
    test_only: bool,
    params: Vec<(String, TypeRef)>,
    /// Guards received by value, by parameter index (see `Body::param_guards`).
    param_guards: Vec<(u8, GuardId)>,
    enclosing: Enclosing,
    nodes: Vec<Node>,
    cur: Option<NodeId>,
    guard_count: u32,
    scopes: Vec<Scope>,
    temps: Vec<Vec<GuardId>>,
    loops: Vec<LoopCx>,
    frames: Vec<Frame>,
    depth: u32,
    truncated: bool,
    opaque_macros: Vec<String>,
    /// See `Body::value_flows`.
    value_flows: Vec<ValueFlow>,
    /// See `Body::fn_stores`.
    fn_stores: Vec<FnStore>,
    extra: Vec<FnDef>,
    closure_count: u32,
    /// Value copies lowered so far (`value_copies`).
    value_count: u32,
    /// Lowering a value copy (or something inside one): no further copies, so nested closures
    /// are not lowered once per combination of copies.
    in_value_copy: bool,
    inline_depth: u32,
    /// Closures being inlined (by span start), innermost last.
    inlining: Vec<u32>,
    /// The span of the expression statement being lowered: a call there drops its result at
    /// once, so it gets no result slot.
    stmt_expr: Option<Span>,
    /// Scope that temporaries extended by the `let` being lowered live in.
    ext_scope: Option<usize>,
    /// Ordering comparisons (`order.rs`): the keys locals hold, the branches being lowered,
    /// the comparisons numbered so far and the acquisitions found in those branches.
    order: order::OrderState,
    /// Acquisitions on objects the body built and has not shared yet, and what it does with
    /// its parameters (`unshared.rs`).
    unshared_at: unshared::Found,
    /// See `Body::cfg_gates`.
    cfg_gates: Vec<crate::ir::CfgGate>,
    /// See `Body::call_moves`.
    call_moves: Vec<(NodeId, u32, GuardId)>,
}

impl<'a> BodyLowerer<'a> {
    pub fn new(map: &'a SpanMap, edition: Edition, config: &'a Config, def: &FnDef) -> Self {
        BodyLowerer {
            map,
            edition,
            config,
            fn_path: def.path.to_string(),
            test_only: def.test_only,
            params: def.params.clone(),
            param_guards: Vec::new(),
            enclosing: Enclosing {
                module: def.module.to_string(),
                self_ty: def.self_ty.clone(),
                trait_name: def.trait_name.clone(),
                in_trait: def.in_trait,
                has_self: def.has_self,
                test_only: def.test_only,
                captures: def.captures.clone(),
                cfg: def.cfg.clone(),
            },
            nodes: Vec::new(),
            cur: None,
            guard_count: 0,
            scopes: Vec::new(),
            temps: Vec::new(),
            loops: Vec::new(),
            frames: Vec::new(),
            depth: 0,
            truncated: false,
            opaque_macros: Vec::new(),
            value_flows: Vec::new(),
            fn_stores: Vec::new(),
            extra: Vec::new(),
            closure_count: 0,
            value_count: 0,
            in_value_copy: false,
            inline_depth: 0,
            inlining: Vec::new(),
            stmt_expr: None,
            ext_scope: None,
            order: order::OrderState::default(),
            unshared_at: unshared::Found::default(),
            cfg_gates: Vec::new(),
            call_moves: Vec::new(),
        }
    }

    /// Closures and async blocks that run elsewhere, lowered as functions of their own.
    pub fn take_extra_fns(&mut self) -> Vec<FnDef> {
        std::mem::take(&mut self.extra)
    }

    pub fn lower_fn_body(&mut self, block: &syn::Block) -> Body {
        self.start();
        self.frames.push(Frame {
            exits: Vec::new(),
            scope_depth: 0,
            temp_depth: 0,
            is_fn: true,
        });
        self.scopes.push(Scope::default());
        self.temps.push(Vec::new());
        self.bind_guard_params();
        let params: Vec<String> = (self.enclosing.has_self.then(|| "self".to_string()))
            .into_iter()
            .chain(self.params.iter().map(|(n, _)| n.clone()))
            .collect();
        self.unshared_at =
            unshared::unshared_acquisitions(unshared::BodyRoot::Block(block), self.map, &params);
        let v = self.block_inner(block, Ext::None);
        self.finish_fn(v, self.map.span(block.brace_token.span.close()))
    }

    /// A guard received by value (`mut tail: MutexGuard<'_, T>`) is a binding with a guard
    /// slot that holds nothing on entry (the caller's lock is the caller's business): a guard
    /// assigned to the parameter later moves into that slot, so a `drop(tail)` that runs again
    /// (a loop body) releases it, and the function's end drops it.
    fn bind_guard_params(&mut self) {
        let params = self.params.clone();
        for (i, (name, ty)) in params.into_iter().enumerate() {
            if !ty.last().is_some_and(|l| l.ends_with("Guard")) {
                continue;
            }
            let slot = self.new_guard();
            if let Ok(i) = u8::try_from(i) {
                self.param_guards.push((i, slot));
            }
            let alias = Place {
                root: Root::Param {
                    name: name.clone().into(),
                    ty: ty.clone().into(),
                },
                proj: Vec::new(),
                text: name.clone().into(),
            };
            self.bind(Binding {
                name,
                guards: vec![slot],
                alias: Some(alias),
                ty: Some(ty),
                tag: 0,
                closure: None,
            });
        }
    }

    fn start(&mut self) {
        self.nodes.push(Node {
            op: Op::Nop,
            succs: crate::ir::Succs::default(),
        });
        self.cur = Some(0);
    }

    fn finish_fn(&mut self, tail: Val, end: Span) -> Body {
        // The tail value: a guard returned to the caller.
        if tail.fresh || !tail.guards.is_empty() {
            for g in tail.guards.clone() {
                self.emit(Op::ReturnGuard {
                    guard: g,
                    span: end,
                });
            }
        }
        let temps = self.temps.pop().unwrap_or_default();
        self.release_all(&temps, end);
        let scope = self.scopes.pop().unwrap_or_default();
        self.drop_scope(&scope, end);
        self.emit(Op::Exit { span: end });
        let frame = self.frames.pop();
        debug_assert!(frame.is_some());
        let mut nodes = std::mem::take(&mut self.nodes);
        // Bodies live until their flow is built: no growth slack.
        nodes.shrink_to_fit();
        let found = std::mem::take(&mut self.unshared_at);
        let (unshared, unshared_if, params_handed) = unshared::to_nodes(&nodes, found);
        Body {
            nodes,
            guard_count: self.guard_count,
            truncated: self.truncated,
            opaque_macros: std::mem::take(&mut self.opaque_macros),
            param_guards: std::mem::take(&mut self.param_guards),
            value_flows: std::mem::take(&mut self.value_flows),
            fn_stores: std::mem::take(&mut self.fn_stores),
            ordered: std::mem::take(&mut self.order.acqs),
            unshared,
            unshared_if,
            params_handed,
            cfg_gates: std::mem::take(&mut self.cfg_gates),
            call_moves: std::mem::take(&mut self.call_moves),
            released: false,
        }
    }

    // ---- graph building -------------------------------------------------------------------

    /// Record the guards moved into the call at `node` (`Body::call_moves`; nodes are
    /// numbered in order, so the list stays sorted).
    fn note_moves(&mut self, node: Option<NodeId>, moved: &[(u32, GuardId)]) {
        if let Some(n) = node {
            self.call_moves
                .extend(moved.iter().map(|&(a, g)| (n, a, g)));
        }
    }

    fn emit(&mut self, op: Op) -> Option<NodeId> {
        let cur = self.cur?;
        if self.nodes.len() >= MAX_NODES {
            self.truncated = true;
            self.cur = None;
            return None;
        }
        let id = self.nodes.len() as NodeId;
        if let Op::Acquire { place, .. } = &op {
            self.note_ordered(id, place);
        }
        self.nodes.push(Node {
            op,
            succs: crate::ir::Succs::default(),
        });
        self.nodes[cur as usize].succs.push(id);
        self.cur = Some(id);
        Some(id)
    }

    fn new_node(&mut self) -> Option<NodeId> {
        if self.nodes.len() >= MAX_NODES {
            self.truncated = true;
            return None;
        }
        let id = self.nodes.len() as NodeId;
        self.nodes.push(Node {
            op: Op::Nop,
            succs: crate::ir::Succs::default(),
        });
        Some(id)
    }

    fn link(&mut self, from: NodeId, to: NodeId) {
        if !self.nodes[from as usize].succs.contains(&to) {
            self.nodes[from as usize].succs.push(to);
        }
    }

    /// Continue from every live predecessor.
    fn join(&mut self, preds: &[Option<NodeId>]) {
        let live: Vec<NodeId> = preds.iter().flatten().copied().collect();
        match live.len() {
            0 => self.cur = None,
            1 => self.cur = Some(live[0]),
            _ => {
                let Some(j) = self.new_node() else {
                    self.cur = None;
                    return;
                };
                for p in live {
                    self.link(p, j);
                }
                self.cur = Some(j);
            }
        }
    }

    fn new_guard(&mut self) -> GuardId {
        self.guard_count += 1;
        self.guard_count - 1
    }

    fn span<T: Spanned + 'static>(&self, t: &T) -> Span {
        self.map.of(t)
    }

    // ---- scopes ---------------------------------------------------------------------------

    // ---- blocks and statements ------------------------------------------------------------

    // ---- expressions ----------------------------------------------------------------------

    // ---- control flow ---------------------------------------------------------------------
}

#[cfg(test)]
mod tests {
    use crate::ir::{Capture, FnDef};
    use crate::source::{FileId, SourceFile};

    fn fns(text: &str) -> Vec<FnDef> {
        crate::lower_file(&SourceFile::new(FileId(0), "lib.rs", text))
            .items
            .fns
    }

    fn cap(name: &str, tag: bool, owner: &str) -> (String, bool, String) {
        (name.to_string(), tag, owner.to_string())
    }

    fn caps(f: &FnDef) -> Vec<(String, bool, String)> {
        f.captures
            .iter()
            .map(|Capture { name, tag, owner }| (name.clone(), tag.is_some(), owner.clone()))
            .collect()
    }

    #[test]
    fn spawned_closures_see_their_captures() {
        let fs = fns("struct D;\n\
             impl D {\n\
                 fn run(&self, dev: u32, hidden: u32, unused: u32) {\n\
                     let q: u32 = dev;\n\
                     spawn(move |hidden: u8| {\n\
                         let dev = 1;\n\
                         self.go(q, hidden, dev);\n\
                         spawn(move || q + dev);\n\
                     });\n\
                 }\n\
             }\n");
        let outer = fs
            .iter()
            .find(|f| f.name == "{closure#1}")
            .expect("closure");
        assert_eq!(outer.path, "crate::D::run::{closure#1}");
        assert_eq!(outer.module, "crate");
        assert!(outer.self_ty.is_some() && outer.has_self);
        // `hidden` is the closure's own parameter, `unused` is not mentioned; the parameter
        // `dev` is recorded (`q` aliases it) though the body's `dev` is its own `let`.
        assert_eq!(
            caps(outer),
            vec![
                cap("dev", false, "crate::D::run"),
                cap("q", true, "crate::D::run")
            ]
        );
        let inner = fs
            .iter()
            .find(|f| f.path == "crate::D::run::{closure#1}::{closure#1}")
            .expect("nested closure");
        // `q` still belongs to `run`; `dev` is the outer closure's own local.
        assert_eq!(
            caps(inner),
            vec![
                cap("dev", false, "crate::D::run"),
                cap("dev", true, "crate::D::run::{closure#1}"),
                cap("q", true, "crate::D::run"),
            ]
        );
        assert_eq!(inner.owner_of("q", inner.captures[2].tag), "crate::D::run");
        assert_eq!(inner.owner_of("other", None), inner.path);
    }

    #[test]
    fn qualified_paths_without_a_trait_name_the_type() {
        let fs = fns("fn f() { <Dev>::probe(); <Dev as Ops>::probe(); }\n");
        let calls: Vec<String> = fs[0]
            .body
            .iter()
            .flat_map(|b| b.nodes.iter())
            .filter_map(|n| match &n.op {
                crate::ir::Op::Call { callee, .. } => match &**callee {
                    crate::ir::Callee::Path(segs) => Some(segs.join("::")),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        assert_eq!(calls, vec!["Dev::probe", "Ops::probe"]);
    }
}
