//! Analyze crate directories and print findings one per line with timing:
//! `cargo run --release -p cargo-lockstep --example scan -- DIR...`
fn main() {
    for dir in std::env::args().skip(1) {
        let t = std::time::Instant::now();
        let report = cargo_lockstep::analyze_fixture(std::path::Path::new(&dir));
        let lines: usize = report.db.files().iter().map(|f| f.line_count()).sum();
        println!(
            "== {dir}: {} files, {lines} lines, {} findings, {:?}",
            report.db.len(),
            report.diagnostics.len(),
            t.elapsed()
        );
        for d in &report.diagnostics {
            let f = report.db.get(d.primary.span.file);
            let lc = f.line_col(d.primary.span.start);
            println!(
                "{}:{}:{}: {}[{}]: {}",
                f.path,
                lc.line,
                lc.col,
                d.level.as_str(),
                d.lint,
                d.message
            );
            for l in &d.labels {
                let lf = report.db.get(l.span.file);
                println!(
                    "    {}:{}: {}",
                    lf.path,
                    lf.line_col(l.span.start).line,
                    l.message
                );
            }
        }
        for e in &report.io_errors {
            println!("io: {e}");
        }
    }
}
