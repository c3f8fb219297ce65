//! Rendering a [`Report`]. Every format currently prints the one-line `short` form.

use std::io::Write;
use std::path::PathBuf;

use crate::Report;

/// `--message-format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MessageFormat {
    #[default]
    Human,
    Short,
    Json,
    Sarif,
}

/// How to render.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    pub format: MessageFormat,
    pub color: bool,
    /// The directory file paths are relative to.
    pub root: PathBuf,
}

/// Write the findings of `report` to `out`: `path:line:col: level[lockstep::lint]: message`.
pub fn render(report: &Report, _opts: &RenderOptions, out: &mut dyn Write) -> std::io::Result<()> {
    for d in &report.diagnostics {
        let f = report.db.get(d.primary.span.file);
        let lc = f.line_col(d.primary.span.start);
        writeln!(
            out,
            "{}:{}:{}: {}[lockstep::{}]: {}",
            f.path,
            lc.line,
            lc.col,
            d.level.rustc_word(),
            d.lint,
            d.message
        )?;
    }
    Ok(())
}
