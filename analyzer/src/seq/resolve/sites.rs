//! Findings of the candidate sites: comparisons, arithmetic, casts, sorts and ordered keys, and
//! derived orderings of sequence types.

use super::*;

pub(super) fn derive_finding(ix: &Index<'_>, st: &StructDecl, out: &mut Vec<SeqFinding>) {
    let Some(d) = &st.derive_ord else {
        return;
    };
    let Some(nt) = ix.newtypes.get(st.name.as_str()) else {
        return;
    };
    if nt.modular {
        return;
    }
    out.push(SeqFinding {
        kind: SeqKind::DerivedOrd {
            ty: st.name.clone(),
            inner: st.fields[0].ty.display(),
            decl: st.span,
        },
        span: d.span,
        path: format!("{}::{}", st.path, st.name),
        by_name: false,
        counter: false,
        labels: Vec::new(),
        notes: Vec::new(),
        edits: d.fix.clone(),
        applicability: Applicability::MaybeIncorrect,
    });
}

pub(super) fn own_ordering_impl(ix: &Index<'_>, site: &Site) -> bool {
    let (Some(ty), Some(tr)) = (&site.ctx.self_ty, &site.ctx.trait_name) else {
        return false;
    };
    matches!(
        tr.as_str(),
        "PartialOrd" | "Ord" | "Sub" | "SubAssign" | "PartialEq"
    ) && ix.newtypes.get(ty.as_str()).is_some_and(|n| n.modular)
}

/// Operand text longer than this gets no fix (the finding is still reported).
pub(super) const MAX_FIX_INPUT: usize = 2000;

/// The fix of a site and its alternative: for comparisons, raw operands and `Wrapping<u32>`
/// operands (through `.0`); for `a + b`, the sequence number on the left and on the right.
pub(super) fn build_fixes(site: &Site) -> (Option<String>, Option<String>) {
    if site.operand_texts.iter().map(String::len).sum::<usize>() > MAX_FIX_INPUT {
        return (None, None);
    }
    let Some(ops) = site
        .operand_texts
        .iter()
        .map(|t| syn::parse_str::<syn::Expr>(t).ok())
        .collect::<Option<Vec<syn::Expr>>>()
    else {
        return (None, None);
    };
    match (&site.kind, ops.as_slice()) {
        (SiteKind::Compare(op), [l, r]) => (
            Some(fix::compare(op.as_str(), l, r, false)),
            Some(fix::compare(op.as_str(), l, r, true)),
        ),
        (SiteKind::MethodCmp(m) | SiteKind::FnCmp(m), [recv, args @ ..]) => (
            fix::method_compare(m, recv, args, false),
            fix::method_compare(m, recv, args, true),
        ),
        (SiteKind::SortKey(_), [k]) => (Some(fix::relative_key(k)), None),
        (SiteKind::Sort(_), [v]) => (Some(fix::sort_relative(v)), None),
        (SiteKind::Arith(op), [l, r]) => (
            Some(fix::arith(op.as_str(), l, r, true)),
            (*op == BinOp::Add).then(|| fix::arith("+", l, r, false)),
        ),
        (SiteKind::AssignArith(op), [l, r]) => {
            let s = if *op == BinOp::Add { "+=" } else { "-=" };
            (Some(fix::assign_arith(s, l, r)), None)
        }
        (SiteKind::Neg, [x]) => (Some(fix::neg(x)), None),
        (SiteKind::CastArith(ty), ops) => {
            let Ok(ty) = syn::parse_str::<syn::Type>(ty) else {
                return (None, None);
            };
            match ops {
                [x] => (Some(fix::cast_offset(x, &ty, !site.in_index)), None),
                [a, b] => (Some(fix::cast_difference(a, b, &ty, !site.in_index)), None),
                _ => (None, None),
            }
        }
        _ => (None, None),
    }
}

/// A site with its operands judged, and what a finding of it is made from.
struct Judged<'s> {
    site: &'s Site,
    kinds: Vec<Kind>,
    /// The operands' text with whitespace squashed, for the key.
    key_tail: Vec<String>,
    /// The fix and its alternative ([`build_fixes`]), built when a finding needs them.
    fixes: std::cell::OnceCell<(Option<String>, Option<String>)>,
}

/// The labels and notes a finding states its evidence with, each once.
#[derive(Default)]
struct Evidence {
    labels: Vec<(Span, String)>,
    notes: Vec<String>,
    /// Some operand is a sequence number by its name only.
    named: bool,
    /// Some operand is one by a type (declared, returned, inside a sequence type).
    typed: bool,
}

impl Evidence {
    fn add(&mut self, k: &Kind) {
        if let Some(ev) = k.ev() {
            if ev.by_name {
                self.named = true;
            } else {
                self.typed = true;
            }
            let n = ev.note();
            if !self.notes.contains(&n) {
                self.notes.push(n);
            }
            for l in &ev.labels {
                if !self.labels.contains(l) {
                    self.labels.push(l.clone());
                }
            }
        }
    }

    fn of<'k>(kinds: impl IntoIterator<Item = &'k Kind>) -> Evidence {
        let mut e = Evidence::default();
        for k in kinds {
            e.add(k);
        }
        e
    }
}

impl Judged<'_> {
    /// The two operands' key texts.
    fn two(&self) -> [String; 2] {
        [self.key_tail[0].clone(), self.key_tail[1].clone()]
    }

    /// The fix (`.0`) and its alternative (`.1`).
    fn fx(&self) -> &(Option<String>, Option<String>) {
        self.fixes.get_or_init(|| build_fixes(self.site))
    }

    /// The finding at the site.
    fn finding(
        &self,
        kind: SeqKind,
        ev: Evidence,
        fix: Option<&String>,
        appl: Applicability,
    ) -> SeqFinding {
        let site = self.site;
        // The operands of an ordering share one type, so one typed operand types them all.
        let by_name = ev.named && !ev.typed;
        SeqFinding {
            kind,
            span: site.span,
            path: site.fn_path.clone(),
            by_name,
            counter: false,
            labels: ev.labels,
            notes: ev.notes,
            edits: fix
                .map(|f| {
                    vec![Edit {
                        span: site.span,
                        replacement: f.clone(),
                    }]
                })
                .unwrap_or_default(),
            applicability: match (appl, site.fix_caveat) {
                (Applicability::MachineApplicable, Some(c)) => c,
                (a, _) => a,
            },
        }
    }

    /// The fix for plain operands, or the one through `.0` when every operand is a
    /// `Wrapping<u32>`.
    fn cmp_fix(&self, wrap: bool) -> Option<&String> {
        if wrap {
            self.fx().1.as_ref()
        } else {
            self.fx().0.as_ref()
        }
    }
}

/// The finding of a candidate site, if it is one: its operands judged, then the rule of its kind.
pub(super) fn site_finding(ix: &Index<'_>, site: &Site) -> Option<SeqFinding> {
    let j = Judged {
        site,
        kinds: site.operands.iter().map(|v| ix.kind(v, 0)).collect(),
        key_tail: site.operand_texts.iter().map(|t| squash(t)).collect(),
        fixes: std::cell::OnceCell::new(),
    };
    match &site.kind {
        SiteKind::Compare(op) => compare_finding(ix, &j, *op),
        SiteKind::MethodCmp(m) | SiteKind::FnCmp(m) => method_cmp_finding(ix, &j, m),
        SiteKind::SortKey(m) | SiteKind::Sort(m) => sort_finding(ix, &j, m),
        SiteKind::OrderedKey { container, holder } => {
            ordered_key_finding(ix, &j, container, holder)
        }
        SiteKind::Arith(op) => arith_finding(&j, *op),
        SiteKind::AssignArith(op) => assign_arith_finding(&j, *op),
        SiteKind::Neg => neg_finding(&j),
        SiteKind::CastArith(ty) => cast_arith_finding(&j, ty),
    }
}

/// `a < b` and friends.
fn compare_finding(ix: &Index<'_>, j: &Judged<'_>, op: BinOp) -> Option<SeqFinding> {
    let (kl, kr) = (&j.kinds[0], &j.kinds[1]);
    if own_ordering_impl(ix, j.site) {
        return None;
    }
    if !cmp_candidate(kl, kr) {
        return None;
    }
    let ev = Evidence::of([kl, kr]);
    let wrap = matches!(kl, Kind::Wrap { .. }) && matches!(kr, Kind::Wrap { .. });
    let appl = if kl.certain_raw() && kr.certain_raw() {
        Applicability::MachineApplicable
    } else {
        Applicability::MaybeIncorrect
    };
    Some(j.finding(
        SeqKind::Compare {
            op,
            operands: j.two(),
        },
        ev,
        j.cmp_fix(wrap),
        appl,
    ))
}

/// `a.max(b)`, `cmp::min(a, b)` and friends.
fn method_cmp_finding(ix: &Index<'_>, j: &Judged<'_>, m: &str) -> Option<SeqFinding> {
    if own_ordering_impl(ix, j.site) {
        return None;
    }
    let kinds = &j.kinds;
    let first = &kinds[0];
    let rest_ok = kinds[1..].iter().all(|k| cmp_candidate(first, k));
    let any_seq = kinds.iter().any(Kind::is_seq);
    if !any_seq
        || !rest_ok
        || kinds
            .iter()
            .any(|k| matches!(k, Kind::Offset | Kind::Lit | Kind::NotSeq))
    {
        return None;
    }
    let ev = Evidence::of(kinds);
    let wrap = kinds.iter().all(|k| matches!(k, Kind::Wrap { .. }));
    let appl = if kinds.iter().all(Kind::certain_raw) {
        Applicability::MachineApplicable
    } else {
        Applicability::MaybeIncorrect
    };
    Some(j.finding(
        SeqKind::MethodCmp {
            method: m.to_string(),
            free_fn: matches!(j.site.kind, SiteKind::FnCmp(_)),
            operands: j.key_tail.clone(),
        },
        ev,
        j.cmp_fix(wrap),
        appl,
    ))
}

/// `v.sort()` and `v.sort_by_key(|x| key)`.
fn sort_finding(ix: &Index<'_>, j: &Judged<'_>, m: &str) -> Option<SeqFinding> {
    let site = j.site;
    // A key already taken relative to a base (`s.seq.wrapping_sub(base)`) is an offset.
    if matches!(&site.operands[0], Val::Method { name, .. } if name == "wrapping_sub") {
        return None;
    }
    let k = if matches!(site.kind, SiteKind::Sort(_)) {
        sort_elem_kind(ix, &site.operands[0], &site.operand_texts[0])
    } else {
        j.kinds[0].clone()
    };
    if !k.is_seq() {
        return None;
    }
    let ev = Evidence::of([&k]);
    Some(j.finding(
        SeqKind::Sort {
            method: m.to_string(),
            operand: j.key_tail[0].clone(),
        },
        ev,
        j.fx().0.as_ref(),
        Applicability::HasPlaceholders,
    ))
}

/// A `BTreeMap` / `BTreeSet` field keyed by sequence numbers.
fn ordered_key_finding(
    ix: &Index<'_>,
    j: &Judged<'_>,
    container: &str,
    holder: &str,
) -> Option<SeqFinding> {
    let Val::Local {
        ty: Some(key),
        decl_span,
        ..
    } = &j.site.operands[0]
    else {
        return None;
    };
    let field = holder.rsplit('.').next().unwrap_or(holder);
    let as_name = if mentions_seq(field) { "seq" } else { field };
    let k = ix.type_kind(key, as_name, || Ev {
        subject: holder.to_string(),
        why: format!(
            "its key type is `{}` and its name mentions sequence numbers",
            key.display()
        ),
        labels: vec![(*decl_span, format!("`{field}` declared here"))],
        by_name: false,
    });
    if !k.is_seq() {
        return None;
    }
    let (Kind::Wrap { ev: e } | Kind::Raw { ev: e, .. }) = &k else {
        return None;
    };
    let mut ev = Evidence::of([&k]);
    ev.notes.retain(|n| n != &e.note());
    Some(j.finding(
        SeqKind::OrderedKey {
            container: container.to_string(),
            holder: holder.to_string(),
            key_ty: key.display(),
            key_why: e.why.clone(),
        },
        ev,
        None,
        Applicability::Unspecified,
    ))
}

/// `a + b`, `a - b`.
fn arith_finding(j: &Judged<'_>, op: BinOp) -> Option<SeqFinding> {
    let (kl, kr) = (&j.kinds[0], &j.kinds[1]);
    let plain = |k: &Kind| matches!(k, Kind::Raw { cast: false, .. });
    let blocked = |k: &Kind| {
        matches!(k, Kind::Wrap { .. } | Kind::Newtype | Kind::Offset)
            || matches!(k, Kind::Raw { cast: true, .. })
    };
    if !(plain(kl) || plain(kr)) || blocked(kl) || blocked(kr) {
        return None;
    }
    let ev = Evidence::of([kl, kr]);
    let seq_left = plain(kl);
    let (fix, certain) = if seq_left {
        (j.fx().0.as_ref(), kl.certain_raw())
    } else if op == BinOp::Add {
        (j.fx().1.as_ref(), kr.certain_raw())
    } else {
        (j.fx().0.as_ref(), false)
    };
    let other_ok = if seq_left { kr } else { kl };
    let other_ok =
        other_ok.certain_raw() || matches!(other_ok, Kind::Lit | Kind::NotSeq | Kind::Unknown);
    let appl = if certain && other_ok {
        Applicability::MachineApplicable
    } else {
        Applicability::MaybeIncorrect
    };
    Some(j.finding(
        SeqKind::Arith {
            op,
            operands: j.two(),
        },
        ev,
        fix,
        appl,
    ))
}

/// `a += b`, `a -= b`.
fn assign_arith_finding(j: &Judged<'_>, op: BinOp) -> Option<SeqFinding> {
    let k = &j.kinds[0];
    if !matches!(k, Kind::Raw { cast: false, .. }) {
        return None;
    }
    let ev = Evidence::of([k]);
    Some(j.finding(
        SeqKind::AssignArith {
            op,
            operands: j.two(),
        },
        ev,
        j.fx().0.as_ref(),
        certain_or_maybe(k),
    ))
}

/// `-a`.
fn neg_finding(j: &Judged<'_>) -> Option<SeqFinding> {
    let k = &j.kinds[0];
    if !matches!(k, Kind::Raw { cast: false, .. }) {
        return None;
    }
    let ev = Evidence::of([k]);
    Some(j.finding(
        SeqKind::Neg {
            operand: j.key_tail[0].clone(),
        },
        ev,
        j.fx().0.as_ref(),
        certain_or_maybe(k),
    ))
}

/// `seq as usize` feeding arithmetic, and `a as usize - b as usize`.
fn cast_arith_finding(j: &Judged<'_>, ty: &str) -> Option<SeqFinding> {
    let kinds = &j.kinds;
    // `seq.wrapping_sub(x) as usize` is the widening of an offset taken with wrapping
    // arithmetic, the form the finding recommends, even where `x` is not known to be a
    // sequence number.
    if let [Val::Method { name, .. }] = j.site.operands.as_slice() {
        if name == "wrapping_sub" {
            return None;
        }
    }
    if !kinds
        .iter()
        .any(|k| matches!(k, Kind::Raw { cast: false, .. } | Kind::Wrap { .. }))
    {
        return None;
    }
    let ev = Evidence::of(kinds);
    let both = kinds.len() == 2 && kinds.iter().all(Kind::is_seq);
    let (fix, appl) = if kinds.len() == 2 && !both {
        (None, Applicability::Unspecified)
    } else if both {
        (j.fx().0.as_ref(), Applicability::MaybeIncorrect)
    } else {
        (j.fx().0.as_ref(), Applicability::HasPlaceholders)
    };
    Some(j.finding(
        SeqKind::CastArith {
            ty: ty.to_string(),
            operands: j.key_tail.clone(),
        },
        ev,
        fix,
        appl,
    ))
}

/// Machine-applicable when the operand is certainly a raw sequence number.
fn certain_or_maybe(k: &Kind) -> Applicability {
    if k.certain_raw() {
        Applicability::MachineApplicable
    } else {
        Applicability::MaybeIncorrect
    }
}

/// Whether two operands of an ordering are a sequence-number comparison.
pub(super) fn cmp_candidate(a: &Kind, b: &Kind) -> bool {
    let blocks = |k: &Kind| matches!(k, Kind::Offset | Kind::Lit | Kind::NotSeq | Kind::Newtype);
    if blocks(a) || blocks(b) {
        return false;
    }
    a.is_seq() || b.is_seq()
}

pub(super) fn sort_elem_kind(ix: &Index<'_>, v: &Val, text: &str) -> Kind {
    let Some(t) = ix.type_of(v, 0) else {
        return Kind::Unknown;
    };
    if !matches!(t.name.as_str(), "Vec" | "VecDeque" | "[]") {
        return Kind::Unknown;
    }
    let Some(elem) = t.args.first() else {
        return Kind::Unknown;
    };
    let holder = text.rsplit('.').next().unwrap_or(text);
    let as_name = if mentions_seq(holder) { "seq" } else { holder };
    ix.type_kind(elem, as_name, || Ev {
        subject: text.to_string(),
        why: format!(
            "a `{}` of `{}` whose name mentions sequence numbers",
            t.name,
            elem.display()
        ),
        labels: Vec::new(),
        by_name: false,
    })
}
