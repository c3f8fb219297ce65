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
