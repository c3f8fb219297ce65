//! `cargo lockstep demo`: the five knowledge-base bug crates and the reference network stack,
//! built into the binary, analyzed as `cargo lockstep` analyzes a crate, and shown compactly:
//! every finding with every site that proves it, grouped by the article it reproduces.
//!
//! The sources are written to a fresh directory under the system's temporary directory,
//! analyzed there without reading any registry source (the result is the same on every
//! machine) and removed afterwards.

use std::io::Write;
use std::path::{Path, PathBuf};

use lockstep_analyzer::{Diagnostic, Level};

use crate::prepare::analyze_hermetic;
use crate::report::Report;

/// One embedded file: its path under `fixtures/` and its text.
type Embedded = (&'static str, &'static str);

macro_rules! embed {
    ($($path:literal,)*) => {
        &[$(($path, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/", $path))),)*]
    };
}

/// Every file a default run reads in the demo crates: manifests, configuration and library
/// sources (a test keeps this list equal to the files under those directories).
pub const FILES: &[Embedded] = embed![
    "kb/q189080/bug/Cargo.toml",
    "kb/q189080/bug/src/lib.rs",
    "kb/q189080/bug/src/send.rs",
    "kb/q219380/bug/Cargo.toml",
    "kb/q219380/bug/src/bundle.rs",
    "kb/q219380/bug/src/kernel.rs",
    "kb/q219380/bug/src/lib.rs",
    "kb/q219380/bug/src/link.rs",
    "kb/q219380/bug/src/send.rs",
    "kb/q228811/bug/Cargo.toml",
    "kb/q228811/bug/src/isn.rs",
    "kb/q228811/bug/src/lib.rs",
    "kb/q228811/bug/src/reasm.rs",
    "kb/q228811/bug/src/rng.rs",
    "kb/q228942/bug/Cargo.toml",
    "kb/q228942/bug/src/filter.rs",
    "kb/q228942/bug/src/heartbeat.rs",
    "kb/q228942/bug/src/kernel.rs",
    "kb/q228942/bug/src/lib.rs",
    "kb/q228942/bug/src/miniport.rs",
    "kb/q228942/bug/src/policy.rs",
    "kb/q297040/bug/Cargo.toml",
    "kb/q297040/bug/src/ffi_table.rs",
    "kb/q297040/bug/src/guard_table.rs",
    "kb/q297040/bug/src/kernel.rs",
    "kb/q297040/bug/src/lib.rs",
    "kb/q297040/bug/src/raw_table.rs",
    "kb/q297040/bug/src/syn_backoff.rs",
    "kb/q297040/bug/src/tcb.rs",
    "kb/q297040/bug/src/wdk.rs",
    "reference-stack/Cargo.toml",
    "reference-stack/driver/Cargo.toml",
    "reference-stack/driver/src/lbfilter.rs",
    "reference-stack/driver/src/lib.rs",
    "reference-stack/driver/src/netdev.rs",
    "reference-stack/driver/src/nic.rs",
    "reference-stack/driver/src/ops.rs",
    "reference-stack/driver/src/regs.rs",
    "reference-stack/driver/src/ring.rs",
    "reference-stack/driver/src/rxpool.rs",
    "reference-stack/driver/src/sim.rs",
    "reference-stack/driver/src/txq.rs",
    "reference-stack/driver/src/wan.rs",
    "reference-stack/lockstep.toml",
    "reference-stack/stack/Cargo.toml",
    "reference-stack/stack/src/arp.rs",
    "reference-stack/stack/src/checksum.rs",
    "reference-stack/stack/src/ipv4.rs",
    "reference-stack/stack/src/lib.rs",
    "reference-stack/stack/src/path.rs",
    "reference-stack/stack/src/seq.rs",
    "reference-stack/stack/src/socket.rs",
    "reference-stack/stack/src/sync.rs",
    "reference-stack/stack/src/tcp/conn.rs",
    "reference-stack/stack/src/tcp/isn.rs",
    "reference-stack/stack/src/tcp/mod.rs",
    "reference-stack/stack/src/tcp/sack.rs",
    "reference-stack/stack/src/tcp/syn.rs",
    "reference-stack/stack/src/tcp/table.rs",
    "reference-stack/stack/src/tcp/tests.rs",
    "reference-stack/stack/src/tcp/timer.rs",
    "reference-stack/stack/src/udp.rs",
    "reference-stack/stack/src/wire.rs",
];

/// The demo crates: directory under `fixtures/`, and what it reproduces.
pub const CRATES: &[(&str, &str)] = &[
    (
        "kb/q297040/bug",
        "Q297040  a connection-table spinlock acquired and never released on one path: the machine hangs",
    ),
    ("kb/q219380/bug", "Q219380  the WAN send path deadlocks"),
    (
        "kb/q228811/bug",
        "Q228811  a random initial sequence number can be lower than the current one",
    ),
    (
        "kb/q189080/bug",
        "Q189080  long transfers lose sequencing at the 32-bit wrap",
    ),
    (
        "kb/q228942/bug",
        "Q228942  under load NDIS believes the driver is out of resources",
    ),
    (
        "reference-stack",
        "reference  a driver and TCP/IP stack written to the rules: nothing to report",
    ),
];

/// Write the embedded files under `root`.
fn materialize(root: &Path) -> std::io::Result<()> {
    for (path, text) in FILES {
        let p = root.join(path);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(p, text)?;
    }
    Ok(())
}

/// A fresh directory for the demo's sources.
fn scratch_dir() -> std::io::Result<PathBuf> {
    let base = std::env::temp_dir();
    for i in 0..100u32 {
        let d = base.join(format!("cargo-lockstep-demo-{}-{i}", std::process::id()));
        match std::fs::create_dir(&d) {
            Ok(()) => return Ok(d),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free demo directory"))
}

/// `path:line:col` of a span's start, under the crate's directory.
fn site(report: &Report, dir: &str, span: lockstep_analyzer::Span) -> String {
    let f = report.db.get(span.file);
    let lc = f.line_col(span.start);
    format!("{dir}/{}:{}:{}", f.path, lc.line, lc.col)
}

fn level_word(l: Level) -> &'static str {
    match l {
        Level::Deny => "error",
        Level::Warn => "warning",
        Level::Note | Level::Allow => "note",
    }
}

/// One finding: its level, lint and message, then every site with its label.
fn write_finding(
    out: &mut dyn Write,
    report: &Report,
    dir: &str,
    d: &Diagnostic,
) -> std::io::Result<()> {
    writeln!(out, "  {}[{}]: {}", level_word(d.level), d.lint, d.message)?;
    for l in std::iter::once(&d.primary).chain(&d.labels) {
        if l.message.is_empty() {
            // the code itself, on one line
            let code: Vec<&str> = report.db.snippet(l.span).split_whitespace().collect();
            let mut code = code.join(" ");
            if code.chars().count() > 60 {
                code = code.chars().take(57).collect::<String>() + "...";
            }
            writeln!(out, "      {}  `{code}`", site(report, dir, l.span))?;
        } else {
            writeln!(out, "      {}  {}", site(report, dir, l.span), l.message)?;
        }
    }
    Ok(())
}

/// Analyze the demo crates under `root` and write the report; returns the number of findings.
pub fn report(root: &Path, out: &mut dyn Write) -> std::io::Result<usize> {
    let mut total = 0;
    for (dir, title) in CRATES {
        let report = analyze_hermetic(&root.join(dir));
        writeln!(out, "{title}")?;
        for e in &report.io_errors {
            writeln!(out, "  error: {e}")?;
        }
        if report.diagnostics.is_empty() {
            let lines: usize = report
                .db
                .files()
                .iter()
                .map(|f| f.text.lines().count())
                .sum();
            writeln!(
                out,
                "  no findings in {} files, {lines} lines",
                report.db.files().len()
            )?;
        }
        for d in &report.diagnostics {
            write_finding(out, &report, dir, d)?;
        }
        writeln!(out)?;
        total += report.diagnostics.len();
    }
    Ok(total)
}

/// `cargo lockstep demo`.
pub fn run(out: &mut dyn Write) -> Result<usize, String> {
    let root = scratch_dir().map_err(|e| format!("cannot create the demo directory: {e}"))?;
    let result = materialize(&root)
        .map_err(|e| format!("cannot write the demo sources: {e}"))
        .and_then(|()| report(&root, out).map_err(|e| format!("cannot write the report: {e}")));
    let _ = std::fs::remove_dir_all(&root);
    let n = result?;
    writeln!(
        out,
        "lockstep demo: {n} findings in the five knowledge-base bug crates, none in the reference stack\n\
         next: `cargo lockstep` in a crate, `cargo lockstep explain <lint>`, `cargo lockstep list`"
    )
    .map_err(|e| format!("cannot write the report: {e}"))?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The files under the demo crates' directories that a default run reads.
    fn on_disk() -> Vec<String> {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let mut out = Vec::new();
        for (dir, _) in CRATES {
            for e in walkdir::WalkDir::new(fixtures.join(dir)) {
                let e = e.expect("walk");
                if !e.file_type().is_file() {
                    continue;
                }
                let rel = e
                    .path()
                    .strip_prefix(&fixtures)
                    .expect("under fixtures")
                    .to_string_lossy()
                    .replace('\\', "/");
                let name = e.file_name().to_string_lossy();
                let read = name == "Cargo.toml"
                    || name == "lockstep.toml"
                    || rel.contains("/src/") && name.ends_with(".rs");
                if read {
                    out.push(rel);
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn the_embedded_files_are_the_files_on_disk() {
        let mut embedded: Vec<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk());
    }
}
