//! lockstep-lints: the lint trait, the registry and one file per lint.
//!
//! A lint reads the [`Analysis`] and pushes [`Diagnostic`]s; it never renders or does IO.

pub use lockstep_analyzer::{Analysis, Config, Diagnostic, Level, SourceDb};

/// Declare a lint's metadata from its doc comment:
/// `declare_lint! { /// docs… pub NAME, "name", Deny, "summary" }`.
#[macro_export]
macro_rules! declare_lint {
    ($(#[doc = $doc:literal])* $vis:vis $ident:ident, $name:expr, $level:ident, $summary:literal) => {
        $(#[doc = $doc])*
        $vis static $ident: $crate::LintMeta = $crate::LintMeta {
            name: $name,
            default_level: $crate::Level::$level,
            summary: $summary,
            docs: concat!($($doc, "\n"),*),
        };
    };
}

/// The registry: each lint's module and its `Lint` value, in the order the lints run. Adding a
/// lint is its file plus one line here.
macro_rules! lints {
    ($($module:ident :: $lint:ident,)*) => {
        $(mod $module;)*

        /// Every lint, in a fixed order.
        pub fn registry() -> Vec<&'static dyn Lint> {
            vec![$(&$module::$lint),*]
        }
    };
}

lints! {
    unreleased_lock::UnreleasedLock,
    double_lock::DoubleLock,
    blocking_under_spinlock::BlockingUnderSpinlock,
    lock_order_inversion::LockOrderInversion,
    irq_unsafe_lock::IrqUnsafeLock,
    resource_leak::ResourceLeak,
    isn_not_monotonic::IsnNotMonotonic,
    seq_compare::SeqCompare,
    seq_arith::SeqArith,
}

mod meta;
mod seq_common;
#[cfg(test)]
mod test_support;
mod util;

pub use meta::{ANALYSIS_BUDGET, PARSE_ERROR, UNUSED_ALLOW};

/// Static description of a lint, shown by `cargo lockstep list` and `explain`.
#[derive(Debug)]
pub struct LintMeta {
    /// Bare name (`double_lock`); rendered as `lockstep::double_lock`.
    pub name: &'static str,
    pub default_level: Level,
    /// One line, lowercase, no trailing period.
    pub summary: &'static str,
    /// The full documentation (What it does / Why is this bad? / Known problems / Example).
    pub docs: &'static str,
}

impl LintMeta {
    /// The documentation as text: the doc comments' leading space dropped, trimmed.
    pub fn docs_text(&self) -> String {
        docs_text(self.docs)
    }
}

/// Doc-comment text as plain text: each line's leading space (after `///`) dropped, trimmed.
pub fn docs_text(docs: &str) -> String {
    docs.lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// What a lint sees.
pub struct LintContext<'a> {
    pub db: &'a SourceDb,
    pub analysis: &'a Analysis,
    pub config: &'a Config,
}

pub trait Lint: Sync {
    fn meta(&self) -> &'static LintMeta;
    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Diagnostic>);
}

/// Metadata of every lint plus the diagnostics the driver itself emits (`parse_error`,
/// `unused_allow`), sorted by name.
pub fn all_metas() -> Vec<&'static LintMeta> {
    let mut v: Vec<&'static LintMeta> = registry().iter().map(|l| l.meta()).collect();
    v.push(&PARSE_ERROR);
    v.push(&UNUSED_ALLOW);
    v.push(&ANALYSIS_BUDGET);
    v.sort_by_key(|m| m.name);
    v
}

pub fn find_meta(name: &str) -> Option<&'static LintMeta> {
    let name = name.strip_prefix("lockstep::").unwrap_or(name);
    all_metas().into_iter().find(|m| m.name == name)
}

/// Run every registered lint and apply the suppressions of the analyzed files (stale ones
/// become `unused_allow` findings); the result is sorted and deduplicated.
pub fn run_all(cx: &LintContext<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for f in &cx.analysis.files {
        if let Some(d) = &f.parse_error {
            out.push(d.clone());
        }
    }
    for lint in registry() {
        lint.check(cx, &mut out);
    }
    weaken_by_name(cx, &mut out);
    weaken_dead(cx, &mut out);
    budget_notes(cx, &mut out);
    let (mut out, _suppressed) =
        lockstep_analyzer::suppress::apply(cx.db, &cx.analysis.files, out, |name| {
            find_meta(name).is_some()
        });
    lockstep_analyzer::diag::sort_diagnostics(&mut out);
    out
}

/// One level below `l` (deny → warn → note): where a remaining heuristic decides a finding.
pub(crate) fn weaker(l: Level) -> Level {
    match l {
        Level::Deny => Level::Warn,
        Level::Warn | Level::Note => Level::Note,
        Level::Allow => Level::Allow,
    }
}

/// A finding that shows an acquisition of a lock known by its name only (its type's crate was
/// not read, see `LockKind::by_name`) among its sites is one level weaker, and says why.
fn weaken_by_name(cx: &LintContext<'_>, out: &mut [Diagnostic]) {
    let mut by_name: std::collections::BTreeMap<lockstep_analyzer::Span, &str> = Default::default();
    for f in &cx.analysis.flows {
        for a in f.acquisitions.iter().filter(|a| a.lock.kind.by_name) {
            by_name.insert(a.span, a.lock.kind.type_name.as_str());
        }
    }
    if by_name.is_empty() {
        return;
    }
    for d in out.iter_mut() {
        let ty = std::iter::once(&d.primary)
            .chain(&d.labels)
            .find_map(|l| by_name.get(&l.span));
        if let Some(ty) = ty {
            d.level = weaker(d.level);
            d.notes.push(format!(
                "`{ty}` is taken for a lock by its name only: its crate's source was not read (a dependency not fetched, or left out; see `--stats`)"
            ));
        }
    }
}

/// A finding whose primary site is in a function its author marked `#[allow(dead_code)]` (or
/// `expect`) and that nothing in the analyzed code calls, stores or enters from outside Rust
/// is one level weaker: the site runs only if code outside the analyzed tree calls it.
fn weaken_dead(cx: &LintContext<'_>, out: &mut [Diagnostic]) {
    let a = cx.analysis;
    let marked: Vec<usize> = (0..a.flows.len())
        .filter(|&i| a.func(a.flows[i].func).allows_dead_code)
        .collect();
    if marked.is_empty() {
        return;
    }
    let mut used = vec![false; a.flows.len()];
    for (from, calls) in a.interproc.targets.iter().enumerate() {
        for t in calls.iter().flatten().filter(|t| t.flow != from) {
            used[t.flow] = true;
        }
    }
    let pos: std::collections::BTreeMap<_, usize> = a
        .index
        .fns
        .iter()
        .enumerate()
        .map(|(i, r)| (*r, i))
        .collect();
    let stored: std::collections::BTreeSet<usize> = a
        .index
        .fn_values
        .slots
        .values()
        .flatten()
        .copied()
        .collect();
    let dead_fns: Vec<(&str, &str)> = marked
        .into_iter()
        .filter(|&i| {
            let flow = &a.flows[i];
            let f = a.func(flow.func);
            let entry = a.irq[i].as_ref().is_some_and(|o| o.path.len() == 1);
            !(used[i]
                || f.foreign_entry
                || entry
                || pos.get(&flow.func).is_some_and(|p| stored.contains(p)))
        })
        .map(|i| {
            let f = a.func(a.flows[i].func);
            (f.path.as_str(), f.name.as_str())
        })
        .collect();
    if dead_fns.is_empty() {
        return;
    }
    // the dead functions' own sites and those of the closures inside them
    let mut dead: std::collections::BTreeMap<lockstep_analyzer::Span, &str> = Default::default();
    for flow in &a.flows {
        let path = a.func(flow.func).path.as_str();
        let Some(&(_, name)) = dead_fns.iter().find(|(p, _)| {
            path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with("::{"))
        }) else {
            continue;
        };
        for s in flow
            .acquisitions
            .iter()
            .map(|x| x.span)
            .chain(flow.calls.iter().map(|c| c.span))
        {
            dead.insert(s, name);
        }
    }
    for d in out.iter_mut().filter(|d| d.level == Level::Deny) {
        if let Some(name) = dead.get(&d.primary.span) {
            d.level = weaker(d.level);
            d.notes.push(format!(
                "`{name}` is marked `#[allow(dead_code)]` and nothing in the analyzed code calls it: this site runs only if code outside it does"
            ));
        }
    }
}

/// A note for every function whose analysis stopped early.
fn budget_notes(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for flow in &cx.analysis.flows {
        if !flow.budget_hit && !flow.truncated {
            continue;
        }
        let f = cx.analysis.func(flow.func);
        let why = if flow.truncated {
            "the function is too large or too deeply nested"
        } else {
            "too many paths"
        };
        out.push(
            Diagnostic::new(
                ANALYSIS_BUDGET.name,
                ANALYSIS_BUDGET.default_level,
                format!(
                    "analysis of `{}` stopped early: {why}; its findings may be incomplete",
                    f.name
                ),
                lockstep_analyzer::Label::new(f.name_span, "analyzed partially"),
            )
            .with_key(format!("analysis_budget:{}", f.path)),
        );
    }
    let ip = &cx.analysis.interproc;
    let named = |members: &[usize]| {
        let mut names: Vec<&str> = members
            .iter()
            .map(|&m| cx.analysis.func(cx.analysis.flows[m].func).path.as_str())
            .collect();
        names.sort_unstable();
        let mut s = names
            .iter()
            .take(5)
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if names.len() > 5 {
            s.push_str(&format!(" and {} more", names.len() - 5));
        }
        s
    };
    for members in &ip.budget_sccs {
        let Some(&first) = members.first() else {
            continue;
        };
        let f = cx.analysis.func(cx.analysis.flows[first].func);
        out.push(
            Diagnostic::new(
                ANALYSIS_BUDGET.name,
                ANALYSIS_BUDGET.default_level,
                format!(
                    "call summaries of {} mutually recursive functions stopped at their budget: {}; findings through them may be incomplete",
                    members.len(),
                    named(members)
                ),
                lockstep_analyzer::Label::new(f.name_span, "summarized partially"),
            )
            .with_key(format!("analysis_budget:summary:{}", f.path)),
        );
    }
    if let Some(&first) = ip.budget_run.first() {
        let f = cx.analysis.func(cx.analysis.flows[first].func);
        out.push(
            Diagnostic::new(
                ANALYSIS_BUDGET.name,
                ANALYSIS_BUDGET.default_level,
                format!(
                    "the run reached its call-summary budget: {} functions are summarized without their callees ({}); findings through them may be incomplete",
                    ip.budget_run.len(),
                    named(&ip.budget_run)
                ),
                lockstep_analyzer::Label::new(f.name_span, "summarized without its callees"),
            )
            .with_key("analysis_budget:summary-run".to_string()),
        );
    }
}
