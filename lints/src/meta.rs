//! Diagnostics the driver emits that are not lints over the analysis.

use lockstep_analyzer::diag::ids;

declare_lint! {
    /// ## What it does
    /// Reports a file that could not be analyzed: it does not parse, is not UTF-8, or nests
    /// deeper than the analyzer accepts. A `mod` declaration whose file is missing, cannot be
    /// read, or loads one of its enclosing files again (a module cycle) is reported at the
    /// declaration.
    ///
    /// ## Why is this bad?
    /// Nothing in that file is checked, so its locks and sequence numbers are invisible to every
    /// other lint. The rest of the crate is still analyzed.
    ///
    /// ## Known problems
    /// Files that only parse with nightly syntax are reported here.
    pub PARSE_ERROR, ids::PARSE_ERROR, Warn, "a file could not be parsed and was not analyzed"
}

declare_lint! {
    /// ## What it does
    /// Reports a `// lockstep: allow(..)` comment or `#[cfg_attr(lockstep, allow(lockstep::..))]`
    /// attribute that suppresses no finding.
    ///
    /// ## Why is this bad?
    /// Stale suppressions pile up and hide the next real finding at the same place.
    ///
    /// ## Example
    /// ```rust,ignore
    /// // lockstep: allow(double_lock) fixed long ago
    /// let g = self.state.lock();
    /// ```
    /// Use instead: delete the comment.
    pub UNUSED_ALLOW, ids::UNUSED_ALLOW, Warn, "a lockstep allow suppresses nothing"
}

declare_lint! {
    /// ## What it does
    /// Says where the analysis stopped early: a function too large or too deeply nested to
    /// explore within the step budget, so its findings may be incomplete.
    ///
    /// ## Why is this bad?
    /// Silence about such a function does not mean it is correct.
    ///
    /// ## Known problems
    /// The budget counts analysis steps, not time, so the same input always stops at the same
    /// place.
    pub ANALYSIS_BUDGET, ids::ANALYSIS_BUDGET, Note, "the analysis of a function or of its call summaries stopped at a budget"
}
