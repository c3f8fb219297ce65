//! Unit-test helpers for the lints: run one lint over one file of source text, and check
//! lists of snippets that must pass (no finding of the lint) or fail (at least one).
//!
//! ```ignore
//! Tester::new(&DoubleLock)
//!     .pass(&["fn f(m: &Mutex<u8>) { let _a = m.lock(); }"])
//!     .fail(&["fn f(m: &Mutex<u8>) { let _a = m.lock(); let _b = m.lock(); }"])
//!     .run();
//! ```

use lockstep_analyzer::{analyze, lower_file, Config, Diagnostic, SourceDb, SourceFile, Span};

use crate::{Lint, LintContext};

/// Run one lint over one file of source text (`lib.rs` of the default crate, default
/// configuration), with the database its spans point into.
pub(crate) fn check_in(lint: &dyn Lint, text: &str) -> (SourceDb, Vec<Diagnostic>) {
    let mut db = SourceDb::new();
    let id = db.add(SourceFile::new(Default::default(), "lib.rs", text));
    let lowered = vec![lower_file(db.get(id))];
    let config = Config::default();
    let analysis = analyze(&db, lowered, &config);
    let cx = LintContext {
        db: &db,
        analysis: &analysis,
        config: &config,
    };
    let mut out = Vec::new();
    lint.check(&cx, &mut out);
    out.retain(|d| d.lint == lint.meta().name);
    (db, out)
}

/// Run one lint over one file of source text.
pub(crate) fn check(lint: &dyn Lint, text: &str) -> Vec<Diagnostic> {
    check_in(lint, text).1
}

/// One diagnostic as text: the level and message, then every label as
/// `line:col `snippet`: message` (the primary first), notes, help, suggestions and the key.
pub(crate) fn render(db: &SourceDb, d: &Diagnostic) -> String {
    let at = |span: Span| {
        let lc = db.get(span.file).line_col(span.start);
        format!("{}:{} `{}`", lc.line, lc.col, db.snippet(span))
    };
    let mut s = format!("{}[{}]: {}\n", d.level.as_str(), d.lint, d.message);
    s.push_str(&format!(
        "  --> {}: {}\n",
        at(d.primary.span),
        d.primary.message
    ));
    for l in &d.labels {
        s.push_str(&format!("   - {}: {}\n", at(l.span), l.message));
    }
    for n in &d.notes {
        s.push_str(&format!("  note: {n}\n"));
    }
    if let Some(h) = &d.help {
        s.push_str(&format!("  help: {h}\n"));
    }
    for sg in &d.suggestions {
        s.push_str(&format!(
            "  fix ({}): {}\n",
            sg.applicability.as_str(),
            sg.message
        ));
        for e in &sg.edits {
            s.push_str(&format!("    {} => `{}`\n", at(e.span), e.replacement));
        }
    }
    s.push_str(&format!("  key: {}\n", d.key));
    s
}

/// Every finding of `lint` in `text`, rendered ([`render`]).
pub(crate) fn rendered(lint: &dyn Lint, text: &str) -> Vec<String> {
    let (db, ds) = check_in(lint, text);
    ds.iter().map(|d| render(&db, d)).collect()
}

/// Assert that `text` has exactly one finding of `lint`, rendered ([`render`]) as `lines`.
pub(crate) fn assert_message(lint: &dyn Lint, text: &str, lines: &[&str]) {
    let found = rendered(lint, text);
    assert_eq!(found.len(), 1, "{}", found.join("\n"));
    let got: Vec<&str> = found[0].lines().collect();
    assert_eq!(got, lines, "\n{}", found[0]);
}

/// Pass and fail vectors of one lint.
pub(crate) struct Tester {
    lint: &'static dyn Lint,
    pass: Vec<&'static str>,
    fail: Vec<&'static str>,
}

impl Tester {
    pub(crate) fn new(lint: &'static dyn Lint) -> Tester {
        Tester {
            lint,
            pass: Vec::new(),
            fail: Vec::new(),
        }
    }

    /// Snippets with no finding of the lint.
    pub(crate) fn pass(mut self, snippets: &[&'static str]) -> Tester {
        self.pass.extend_from_slice(snippets);
        self
    }

    /// Snippets with at least one finding of the lint.
    pub(crate) fn fail(mut self, snippets: &[&'static str]) -> Tester {
        self.fail.extend_from_slice(snippets);
        self
    }

    /// Check every vector; panics listing all that went the wrong way.
    pub(crate) fn run(self) {
        let name = self.lint.meta().name;
        let mut wrong = Vec::new();
        for (i, text) in self.pass.iter().enumerate() {
            let found = rendered(self.lint, text);
            if !found.is_empty() {
                wrong.push(format!(
                    "pass #{i} has {} finding(s) of `{name}`:\n{text}\n{}",
                    found.len(),
                    found.join("")
                ));
            }
        }
        for (i, text) in self.fail.iter().enumerate() {
            if check(self.lint, text).is_empty() {
                wrong.push(format!("fail #{i} has no finding of `{name}`:\n{text}\n"));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of {} vectors of `{name}` went the wrong way:\n\n{}",
            wrong.len(),
            self.pass.len() + self.fail.len(),
            wrong.join("\n")
        );
    }
}
