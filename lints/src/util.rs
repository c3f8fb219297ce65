//! Small helpers shared by the lints.

use lockstep_analyzer::flow::FnFlow;
use lockstep_analyzer::ir::FnDef;
use lockstep_analyzer::{Analysis, SourceDb, Span};

/// `path:line` of a span, for notes.
pub fn line_of(db: &SourceDb, span: Span) -> String {
    let f = db.get(span.file);
    format!("{}:{}", f.path, f.line_col(span.start).line)
}

/// The function a flow is about.
pub fn func<'a>(a: &'a Analysis, flow: &FnFlow) -> &'a FnDef {
    a.func(flow.func)
}

/// Display name of a lock for messages: its class, shortened to `Type.field` when the class is
/// a field, or the instance when the lock is local to the function.
pub fn lock_name(class: &str, instance: &str) -> String {
    let short = class.rsplit("::").next().unwrap_or(class);
    if short.contains('.') || short.chars().next().is_some_and(|c| c.is_uppercase()) {
        if instance.is_empty() || short.ends_with(instance) {
            return format!("`{short}`");
        }
        return format!("`{instance}` ({short})");
    }
    format!("`{instance}`")
}

pub use lockstep_analyzer::ir::short_class;

/// A lock's class for a label, in backticks, with the instance the site names when the class
/// stands for a value stored in several places and this site reaches it through another one
/// (`` `Bus.table` (as `self.routes`) ``).
pub fn site_lock_name(a: &Analysis, class: &str, instance: &str) -> String {
    let short = short_class(class);
    let field = short.rsplit('.').next().unwrap_or(short);
    let aliased = a.index.aliases.others(class).next().is_some();
    if aliased
        && !instance.is_empty()
        && !instance.ends_with(&format!(".{field}"))
        && instance != field
    {
        return format!("`{short}` (as `{instance}`)");
    }
    format!("`{short}`")
}

/// For a class that stands for one value stored in several places: a note naming them.
pub fn alias_note(a: &Analysis, class: &str) -> Option<String> {
    let others: Vec<String> = a
        .index
        .aliases
        .others(class)
        .filter(|c| lockstep_analyzer::resolve::alias::rank(c) < 2)
        .map(|c| format!("`{}`", short_class(c)))
        .collect();
    if others.is_empty() {
        return None;
    }
    Some(format!(
        "`{}` is one lock value, also stored as {}",
        short_class(class),
        others.join(", ")
    ))
}

/// Labels for a call chain: `calls `f` here` at each call site.
pub fn chain_labels(
    chain: &[lockstep_analyzer::interproc::ChainStep],
) -> Vec<lockstep_analyzer::Label> {
    chain
        .iter()
        .map(|s| {
            let name = lockstep_analyzer::ir::last_two_segments(&s.callee);
            let msg = match &s.via_trait {
                Some(t) => format!("calls `{name}` (through trait `{t}`)"),
                None => format!("calls `{name}`"),
            };
            lockstep_analyzer::Label::new(s.call, msg)
        })
        .collect()
}
