//! The diagnostic model every analysis and lint reports through. Rendering lives in the driver.

use crate::source::Span;

/// The ids of the diagnostics the engine and the driver emit themselves; the lints' ids are
/// their `LintMeta::name`. The lints crate declares these three with their docs.
pub mod ids {
    /// A file or `mod` declaration that could not be analyzed.
    pub const PARSE_ERROR: &str = "parse_error";
    /// A suppression that suppresses nothing, or names no lint.
    pub const UNUSED_ALLOW: &str = "unused_allow";
    /// An analysis that stopped at a budget.
    pub const ANALYSIS_BUDGET: &str = "analysis_budget";
}

/// How serious a finding is. `Allow` findings are dropped before rendering.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Level {
    Allow,
    Note,
    Warn,
    Deny,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s {
            "allow" => Level::Allow,
            "note" => Level::Note,
            "warn" | "warning" => Level::Warn,
            "deny" | "error" => Level::Deny,
            _ => return None,
        })
    }

    /// The word rustc uses for the level (`error`, `warning`, `note`).
    pub fn rustc_word(self) -> &'static str {
        match self {
            Level::Deny => "error",
            Level::Warn => "warning",
            Level::Note | Level::Allow => "note",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Allow => "allow",
            Level::Note => "note",
            Level::Warn => "warn",
            Level::Deny => "deny",
        }
    }
}

/// A labelled site. The message may be empty for the primary site.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

impl Label {
    pub fn new(span: Span, message: impl Into<String>) -> Label {
        Label {
            span,
            message: message.into(),
        }
    }
}

/// rustc's applicability levels for suggestions.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Applicability {
    MachineApplicable,
    MaybeIncorrect,
    HasPlaceholders,
    Unspecified,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::MachineApplicable => "MachineApplicable",
            Applicability::MaybeIncorrect => "MaybeIncorrect",
            Applicability::HasPlaceholders => "HasPlaceholders",
            Applicability::Unspecified => "Unspecified",
        }
    }
}

/// One text replacement.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Edit {
    pub span: Span,
    pub replacement: String,
}

/// A fix: one or more edits applied together.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Suggestion {
    pub message: String,
    pub edits: Vec<Edit>,
    pub applicability: Applicability,
}

/// A finding. `lint` is the bare lint name (`double_lock`); renderers prefix `lockstep::`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Diagnostic {
    pub lint: &'static str,
    pub level: Level,
    /// Lowercase, names the hazard, no trailing period.
    pub message: String,
    pub primary: Label,
    /// Secondary sites, possibly in other files, in the order they tell the story.
    pub labels: Vec<Label>,
    pub notes: Vec<String>,
    pub help: Option<String>,
    pub suggestions: Vec<Suggestion>,
    /// Stable identity for baselines and SARIF fingerprints: lint-specific parts such as lock
    /// classes and the enclosing function, never line numbers.
    pub key: String,
}

impl Diagnostic {
    pub fn new(
        lint: &'static str,
        level: Level,
        message: impl Into<String>,
        primary: Label,
    ) -> Self {
        Diagnostic {
            lint,
            level,
            message: message.into(),
            primary,
            labels: Vec::new(),
            notes: Vec::new(),
            help: None,
            suggestions: Vec::new(),
            key: String::new(),
        }
    }

    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label::new(span, message));
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_suggestion(mut self, s: Suggestion) -> Self {
        self.suggestions.push(s);
        self
    }

    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// Deterministic output order: file, start, end, lint, message.
    pub fn sort_key(&self) -> (u32, u32, u32, &'static str, &str) {
        let s = self.primary.span;
        (s.file.0, s.start, s.end, self.lint, &self.message)
    }
}

/// Sort and deduplicate findings into output order.
pub fn sort_diagnostics(diags: &mut Vec<Diagnostic>) {
    diags.sort_by(|a, b| {
        a.sort_key()
            .cmp(&b.sort_key())
            .then_with(|| a.key.cmp(&b.key))
    });
    diags.dedup_by(|a, b| a.sort_key() == b.sort_key() && a.key == b.key);
}

/// [`Diagnostic`] as read back (a cache): the lint name is owned, then interned.
#[derive(serde::Deserialize)]
#[serde(rename = "Diagnostic")]
struct DiagnosticData {
    lint: String,
    level: Level,
    message: String,
    primary: Label,
    labels: Vec<Label>,
    notes: Vec<String>,
    help: Option<String>,
    suggestions: Vec<Suggestion>,
    key: String,
}

impl From<DiagnosticData> for Diagnostic {
    fn from(d: DiagnosticData) -> Diagnostic {
        Diagnostic {
            lint: intern_lint_name(d.lint),
            level: d.level,
            message: d.message,
            primary: d.primary,
            labels: d.labels,
            notes: d.notes,
            help: d.help,
            suggestions: d.suggestions,
            key: d.key,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Diagnostic {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Diagnostic, D::Error> {
        DiagnosticData::deserialize(d).map(Diagnostic::from)
    }
}

/// Lint names read back are interned: each distinct name is leaked once.
fn intern_lint_name(name: String) -> &'static str {
    use std::collections::BTreeSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<BTreeSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(&n) = names.get(name.as_str()) {
        return n;
    }
    let n: &'static str = Box::leak(name.into_boxed_str());
    names.insert(n);
    n
}
