//! `short` output: `path:line:col: level[lockstep::lint]: message`, one line per finding.

use crate::report::Report;

pub fn render(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for d in &report.diagnostics {
        let f = report.db.get(d.primary.span.file);
        let lc = f.line_col(d.primary.span.start);
        writeln!(
            out,
            "{}:{}:{}: {}[{}]: {}",
            f.path,
            lc.line,
            lc.col,
            d.level.rustc_word(),
            crate::render::code(d.lint),
            d.message
        )?;
    }
    Ok(())
}
