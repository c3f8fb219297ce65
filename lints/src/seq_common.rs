//! Turning resolved sequence-number findings into diagnostics (shared by the three
//! sequence lints; each says what its findings read like).

use lockstep_analyzer::diag::Suggestion;
use lockstep_analyzer::seq::{SeqCheck, SeqFinding};
use lockstep_analyzer::{Diagnostic, Span};

use crate::{weaker, LintContext, LintMeta};

/// The wording of one finding, added to the evidence the analysis found.
pub(crate) struct Words {
    pub message: String,
    pub help: &'static str,
    pub fix_message: String,
    /// Ends the key, after the lint and the function.
    pub key: String,
    /// Labels and notes after the evidence's own.
    pub labels: Vec<(Span, String)>,
    pub notes: Vec<String>,
}

impl Words {
    pub fn new(message: String, help: &'static str, fix_message: &str, key: String) -> Words {
        Words {
            message,
            help,
            fix_message: fix_message.to_string(),
            key,
            labels: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// The note of a finding whose operands are sequence numbers by their names only.
pub(crate) const BY_NAME_NOTE: &str = "only names say these are sequence numbers (no operand's type is known): reported one level weaker than the lint";

/// A diagnostic of `meta` for every finding of `check`, worded by `words`.
pub(crate) fn report(
    cx: &LintContext<'_>,
    meta: &LintMeta,
    check: SeqCheck,
    words: impl Fn(&SeqFinding) -> Words,
    out: &mut Vec<Diagnostic>,
) {
    for f in cx.analysis.seq.of_check(check) {
        let w = words(f);
        // A remaining heuristic makes the finding one level weaker, and the note says so.
        let level = if f.by_name || f.counter {
            weaker(meta.default_level)
        } else {
            meta.default_level
        };
        let mut d = Diagnostic::new(
            meta.name,
            level,
            w.message,
            lockstep_analyzer::Label::new(f.span, ""),
        )
        .with_help(w.help)
        .with_key(format!("{}:{}:{}", meta.name, f.path, w.key));
        for (span, msg) in f.labels.iter().chain(&w.labels) {
            d = d.with_label(*span, msg.clone());
        }
        for n in f.notes.iter().chain(&w.notes) {
            d = d.with_note(n.clone());
        }
        if f.by_name {
            d = d.with_note(BY_NAME_NOTE);
        }
        if !f.edits.is_empty() {
            d = d.with_suggestion(Suggestion {
                message: w.fix_message,
                edits: f.edits.clone(),
                applicability: f.applicability,
            });
        }
        out.push(d);
    }
}
