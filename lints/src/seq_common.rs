//! Turning resolved sequence-number findings into diagnostics (shared by the three
//! sequence lints).

use lockstep_analyzer::diag::Suggestion;
use lockstep_analyzer::Diagnostic;

use crate::{LintContext, LintMeta};

pub(crate) fn report(cx: &LintContext<'_>, meta: &LintMeta, out: &mut Vec<Diagnostic>) {
    let level = cx.level(meta);
    for f in cx.analysis.seq.of_lint(meta.name) {
        let mut d = Diagnostic::new(
            meta.name,
            level,
            f.message.clone(),
            lockstep_analyzer::Label::new(f.span, ""),
        )
        .with_help(f.help.clone())
        .with_key(f.key.clone());
        for (span, msg) in &f.labels {
            d = d.with_label(*span, msg.clone());
        }
        for n in &f.notes {
            d = d.with_note(n.clone());
        }
        if !f.edits.is_empty() {
            d = d.with_suggestion(Suggestion {
                message: f.fix_message.clone(),
                edits: f.edits.clone(),
                applicability: f.applicability,
            });
        }
        out.push(d);
    }
}
