//! Branches that order two objects by one key: `if a_addr < b_addr { .. } else { .. }` with
//! `let a_addr = a as *const _ as usize`, `if self.id > other.id`, `match
//! Arc::as_ptr(&x).cmp(&Arc::as_ptr(&y)) { Less => .., Greater => .., Equal => .. }`. The two
//! operands must be derived the same way (casts, references, field reads, calls without
//! arguments, one-argument path calls such as `Arc::as_ptr`, `addr_of!`, through `let`s) from
//! two different objects. Every acquisition lowered inside such a branch whose place is rooted
//! at one of the two objects is recorded with the comparison and the branch's outcomes
//! (`Body::ordered`); the lock graph pairs them.

use super::*;
use crate::ir::{OrderedAcq, ORD_EQ, ORD_GT, ORD_LT};

/// All three outcomes of a comparison.
const ORD_ALL: u8 = ORD_LT | ORD_EQ | ORD_GT;

/// A value derived from one object: the object (`root_id`) and how the value was derived from
/// it, spelled without the object and without types (`a as *const Mutex<A> as usize` is ` as
/// as`).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct OrderKey {
    root: String,
    shape: String,
}

/// A branch being lowered that runs under some outcomes of an ordering comparison.
struct OrderCx {
    cmp: u32,
    key: String,
    outcomes: u8,
    left: String,
    right: String,
}

/// An ordering comparison of two objects: its number and the two objects.
pub(super) struct Comparison {
    cmp: u32,
    key: String,
    left: String,
    right: String,
    /// `partial_cmp`: the arms match `Some(Less)`, …
    partial: bool,
    /// The comparison is an earlier one's with its operands swapped (`if a < b { .. } else if
    /// b < a { .. }`): its outcomes are the earlier one's mirrored.
    flip: bool,
}

#[derive(Default)]
pub(super) struct OrderState {
    /// Locals holding a key (by name and binding tag).
    keys: Vec<(String, u32, OrderKey)>,
    /// The ordering branches being lowered, innermost last.
    branches: Vec<OrderCx>,
    /// The comparisons so far: the keys compared, left and right.
    seen: Vec<(OrderKey, OrderKey)>,
    pub(super) acqs: Vec<OrderedAcq>,
}

/// The object a place is rooted at, if it names one: `self`, a parameter, a local, a static.
pub(super) fn root_id(p: &Place) -> Option<String> {
    match &p.root {
        Root::SelfValue => Some("self".into()),
        Root::Param { name, .. } => Some(name.clone().to_string()),
        Root::Local { name, tag, .. } => Some(format!("{name}#{tag}")),
        Root::Path(segs) => Some(format!("::{}", segs.join("::"))),
        _ => None,
    }
}

/// The outcomes of comparing left with right under which the `then` and the `else` branch of
/// `if left OP right` run.
fn if_outcomes(op: &syn::BinOp) -> Option<(u8, u8)> {
    let then = match op {
        syn::BinOp::Lt(_) => ORD_LT,
        syn::BinOp::Le(_) => ORD_LT | ORD_EQ,
        syn::BinOp::Gt(_) => ORD_GT,
        syn::BinOp::Ge(_) => ORD_GT | ORD_EQ,
        _ => return None,
    };
    Some((then, ORD_ALL & !then))
}

/// The outcomes a `match` arm's pattern names (`Less`, `Ordering::Greater | Ordering::Equal`,
/// `Some(Less)` for `partial_cmp`); a catch-all takes what `covered` leaves; 0 when unknown.
fn pat_outcomes(p: &syn::Pat, partial: bool, covered: u8) -> u8 {
    let named = |name: &str| match name {
        "Less" => ORD_LT,
        "Equal" => ORD_EQ,
        "Greater" => ORD_GT,
        _ => 0,
    };
    match p {
        syn::Pat::Paren(p) => pat_outcomes(&p.pat, partial, covered),
        syn::Pat::Or(o) => o
            .cases
            .iter()
            .fold(0, |acc, c| acc | pat_outcomes(c, partial, covered)),
        syn::Pat::Wild(_) => ORD_ALL & !covered,
        syn::Pat::Ident(i) if i.subpat.is_none() => match named(&i.ident.to_string()) {
            0 => ORD_ALL & !covered,
            o if !partial => o,
            _ => 0,
        },
        syn::Pat::Path(p) if !partial => named(&last_ident(&p.path)),
        syn::Pat::TupleStruct(t)
            if partial && last_ident(&t.path) == "Some" && t.elems.len() == 1 =>
        {
            pat_outcomes(&t.elems[0], false, covered)
        }
        _ => 0,
    }
}

impl BodyLowerer<'_> {
    /// The key `e` derives from one object, if it is one.
    fn order_key(&self, e: &syn::Expr) -> Option<OrderKey> {
        let with = |k: OrderKey, s: &str| OrderKey {
            shape: format!("{}{s}", k.shape),
            ..k
        };
        match e {
            syn::Expr::Paren(p) => self.order_key(&p.expr),
            syn::Expr::Group(g) => self.order_key(&g.expr),
            syn::Expr::Reference(r) => self.order_key(&r.expr),
            syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => self.order_key(&u.expr),
            syn::Expr::Cast(c) => self.order_key(&c.expr).map(|k| with(k, " as")),
            syn::Expr::Field(f) => self
                .order_key(&f.base)
                .map(|k| with(k, &format!(".{}", member_name(&f.member)))),
            syn::Expr::MethodCall(m) if m.args.is_empty() => self
                .order_key(&m.receiver)
                .map(|k| with(k, &format!(".{}()", m.method))),
            syn::Expr::Call(c) if c.args.len() == 1 => {
                let syn::Expr::Path(f) = &*c.func else {
                    return None;
                };
                let k = self.order_key(&c.args[0])?;
                let f = expr_path_segs(f).join("::");
                Some(OrderKey {
                    shape: format!("{f}({})", k.shape),
                    ..k
                })
            }
            syn::Expr::Macro(m)
                if matches!(&*last_ident(&m.mac.path), "addr_of" | "addr_of_mut") =>
            {
                let inner: syn::Expr = m.mac.parse_body().ok()?;
                self.order_key(&inner).map(|k| with(k, " addr_of"))
            }
            syn::Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => {
                self.name_key(&p.path.segments[0].ident.to_string())
            }
            _ => None,
        }
    }

    /// The key a name stands for: a local holding a key, or the object it names itself.
    fn name_key(&self, name: &str) -> Option<OrderKey> {
        let object = |root: String| OrderKey {
            root,
            shape: String::new(),
        };
        if name == "self" {
            return Some(object("self".into()));
        }
        if let Some(b) = self.lookup(name) {
            if let Some((_, _, k)) = self
                .order
                .keys
                .iter()
                .rev()
                .find(|(n, t, _)| n == name && *t == b.tag)
            {
                return Some(k.clone());
            }
            return match &b.alias {
                Some(p) => Some(OrderKey {
                    root: root_id(p)?,
                    shape: format!("{:?}", p.proj),
                }),
                None => Some(object(format!("{name}#{}", b.tag))),
            };
        }
        self.params
            .iter()
            .any(|(n, _)| n == name)
            .then(|| object(name.to_string()))
    }

    /// `left` and `right` are one key of two different objects: the two keys.
    fn ordered_objects(&self, left: &syn::Expr, right: &syn::Expr) -> Option<(OrderKey, OrderKey)> {
        let (l, r) = (self.order_key(left)?, self.order_key(right)?);
        (l.root != r.root && l.shape == r.shape).then_some((l, r))
    }

    /// `let NAME = KEY;`: remember the key the new binding holds. Called with the initializer
    /// before the binding exists (it may shadow a name the initializer uses) and the binding's
    /// tag after.
    pub(super) fn key_of_init(
        &self,
        pat: &syn::Pat,
        init: &syn::Expr,
    ) -> Option<(String, OrderKey)> {
        let syn::Pat::Ident(pi) = pat else {
            return None;
        };
        if pi.subpat.is_some() {
            return None;
        }
        let k = self.order_key(init)?;
        // A name alone is that object itself, which every use of the binding finds anyway.
        (!k.shape.is_empty()).then(|| (pi.ident.to_string(), k))
    }

    pub(super) fn note_key(&mut self, key: Option<(String, OrderKey)>) {
        let Some((name, k)) = key else { return };
        if let Some(tag) = self.lookup(&name).map(|b| b.tag) {
            self.order.keys.push((name, tag, k));
        }
    }

    /// The comparison of keys `left` and `right`: an earlier one of the same keys (either way
    /// round) or a new one.
    fn comparison(&mut self, (left, right): (OrderKey, OrderKey), partial: bool) -> Comparison {
        let seen = &mut self.order.seen;
        let (cmp, flip) = match seen.iter().position(|(l, r)| *l == left && *r == right) {
            Some(i) => (i, false),
            None => match seen.iter().position(|(l, r)| *l == right && *r == left) {
                Some(i) => (i, true),
                None => {
                    seen.push((left.clone(), right.clone()));
                    (seen.len() - 1, false)
                }
            },
        };
        let (left, right) = if flip { (right, left) } else { (left, right) };
        Comparison {
            cmp: cmp as u32,
            key: left.shape,
            left: left.root,
            right: right.root,
            partial,
            flip,
        }
    }

    /// `if left OP right` comparing two objects by one key: the comparison and the outcomes of
    /// the `then` and the `else` branch.
    pub(super) fn if_order(&mut self, cond: &syn::Expr) -> Option<(Comparison, u8, u8)> {
        let syn::Expr::Binary(b) = strip_parens(cond) else {
            return None;
        };
        let (then, els) = if_outcomes(&b.op)?;
        let objects = self.ordered_objects(&b.left, &b.right)?;
        Some((self.comparison(objects, false), then, els))
    }

    /// `match left.cmp(&right)` (`partial_cmp`, `Ord::cmp(&left, &right)`) comparing two
    /// objects by one key.
    pub(super) fn match_order(&mut self, scrutinee: &syn::Expr) -> Option<Comparison> {
        let is_cmp = |name: &str| matches!(name, "cmp" | "partial_cmp");
        let (name, objects) = match strip_parens(scrutinee) {
            syn::Expr::MethodCall(m) if m.args.len() == 1 && is_cmp(&m.method.to_string()) => (
                m.method.to_string(),
                self.ordered_objects(&m.receiver, &m.args[0])?,
            ),
            syn::Expr::Call(c) if c.args.len() == 2 => {
                let syn::Expr::Path(f) = &*c.func else {
                    return None;
                };
                let name = last_ident(&f.path);
                if !is_cmp(&name) {
                    return None;
                }
                (name, self.ordered_objects(&c.args[0], &c.args[1])?)
            }
            _ => return None,
        };
        Some(self.comparison(objects, name == "partial_cmp"))
    }

    /// The outcomes under which arm `i` of a `match` on comparison `c` runs.
    pub(super) fn arm_outcomes(c: &Comparison, arms: &[syn::Arm], i: usize) -> u8 {
        let covered = arms[..i]
            .iter()
            .filter(|a| a.guard.is_none())
            .fold(0, |acc, a| acc | pat_outcomes(&a.pat, c.partial, acc));
        pat_outcomes(&arms[i].pat, c.partial, covered)
    }

    /// Enter a branch of comparison `c` that runs under `outcomes`; says whether it was
    /// entered (to be left with `leave_order`).
    pub(super) fn enter_order(&mut self, c: Option<&Comparison>, outcomes: u8) -> bool {
        let Some(c) = c.filter(|_| outcomes != 0 && outcomes != ORD_ALL) else {
            return false;
        };
        // Outcomes of the comparison as first written.
        let outcomes = if c.flip {
            (outcomes & ORD_EQ)
                | if outcomes & ORD_LT != 0 { ORD_GT } else { 0 }
                | if outcomes & ORD_GT != 0 { ORD_LT } else { 0 }
        } else {
            outcomes
        };
        self.order.branches.push(OrderCx {
            cmp: c.cmp,
            key: c.key.clone(),
            outcomes,
            left: c.left.clone(),
            right: c.right.clone(),
        });
        true
    }

    pub(super) fn leave_order(&mut self, entered: bool) {
        if entered {
            self.order.branches.pop();
        }
    }

    /// An acquisition at node `id` on `place`: recorded for every ordering branch it is in
    /// whose objects it is rooted at.
    pub(super) fn note_ordered(&mut self, id: NodeId, place: &Place) {
        if self.order.branches.is_empty() {
            return;
        }
        let Some(root) = root_id(place) else { return };
        for b in &self.order.branches {
            if root != b.left && root != b.right {
                continue;
            }
            self.order.acqs.push(OrderedAcq {
                node: id,
                cmp: b.cmp,
                key: b.key.clone(),
                outcomes: b.outcomes,
                left: root == b.left,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::ir::{ORD_EQ, ORD_GT, ORD_LT};
    use crate::source::{FileId, SourceFile};

    /// `(key, outcomes, left)` of every ordered acquisition of the first function.
    fn ordered(text: &str) -> Vec<(String, u8, bool)> {
        let f = crate::lower_file(&SourceFile::new(FileId(0), "lib.rs", text));
        let body = f.items.fns[0].body.clone().expect("body");
        body.ordered
            .iter()
            .map(|o| (o.key.clone(), o.outcomes, o.left))
            .collect()
    }

    fn tag(key: &str, outcomes: u8, left: bool) -> (String, u8, bool) {
        (key.to_string(), outcomes, left)
    }

    #[test]
    fn address_order_through_lets() {
        let got = ordered(
            "fn two(a: &M, b: &M) {
                let a_val = a as *const M as usize;
                let b_val = b as *const M as usize;
                if a_val > b_val { let _b = b.lock(); let _a = a.lock(); }
                else { let _a = a.lock(); let _b = b.lock(); }
            }",
        );
        let (gt, le) = (ORD_GT, ORD_LT | ORD_EQ);
        assert_eq!(
            got,
            vec![
                tag(" as as", gt, false),
                tag(" as as", gt, true),
                tag(" as as", le, true),
                tag(" as as", le, false),
            ]
        );
    }

    #[test]
    fn cmp_arms_and_mirrored_else_if() {
        let got = ordered(
            "fn two(&self, o: &S) {
                match self.id.cmp(&o.id) {
                    Ordering::Less => { self.a.lock(); }
                    Ordering::Equal | Ordering::Greater => { o.b.lock(); }
                }
                if self.id < o.id { self.a.lock(); } else if o.id < self.id { o.b.lock(); }
            }",
        );
        assert_eq!(
            got,
            vec![
                tag(".id", ORD_LT, true),
                tag(".id", ORD_EQ | ORD_GT, false),
                tag(".id", ORD_LT, true),
                tag(".id", ORD_EQ | ORD_GT, false),
                tag(".id", ORD_GT, false),
            ]
        );
    }

    #[test]
    fn no_order_without_one_key_of_two_objects() {
        for text in [
            "fn f(&self, o: &S, flag: bool) { if flag { self.a.lock(); } else { o.b.lock(); } }",
            "fn f(&self, o: &S) { if self.id < o.rank { self.a.lock(); } else { o.b.lock(); } }",
            "fn f(&self, o: &S) { if self.id < self.rank { self.a.lock(); } else { o.b.lock(); } }",
            "fn f(&self, o: &S, t: &S) { if self.id < o.id { t.a.lock(); } else { t.b.lock(); } }",
            "fn f(&self, o: &S) { if self.id != o.id { self.a.lock(); } else { o.b.lock(); } }",
        ] {
            assert_eq!(ordered(text), Vec::new(), "{text}");
        }
    }
}
