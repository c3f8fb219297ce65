//! The run: command line → plan (which files) → configuration and levels → load, analyze,
//! lint → levels → render → exit status.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use lockstep_analyzer::Level;

use crate::cli::{self, Command, Invocation, MessageFormatArg, RunOptions};
use crate::graph::{self, GraphModel};
use crate::prepare::{analyze_plan, prepare, Prepared};
use crate::render::{self, RenderOptions};
use crate::report::Report;
use crate::stats;

/// Exit status: no finding at deny level.
pub const EXIT_OK: i32 = 0;
/// Exit status: some finding at deny level.
pub const EXIT_FINDINGS: i32 = 1;
/// Exit status: usage, configuration or IO error.
pub const EXIT_ERROR: i32 = 2;

/// Entry point of the binary; returns the exit status.
pub fn run(args: Vec<std::ffi::OsString>) -> i32 {
    let inv = match cli::parse(args) {
        Ok(i) => i,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    match &inv.command {
        Some(Command::List) => list(),
        Some(Command::Explain { lint }) => explain(lint),
        Some(Command::Graph(g)) => graph(&inv, g),
        Some(Command::Demo) => demo(),
        Some(Command::Lsp(_)) => lsp(&inv),
        None => check(&inv),
    }
}

/// `cargo lockstep demo`: findings are what it shows, so they do not fail it.
fn demo() -> i32 {
    let mut out = std::io::BufWriter::new(std::io::stdout());
    let r = crate::demo::run(&mut out);
    let _ = out.flush();
    match r {
        Ok(_) => EXIT_OK,
        Err(e) => error(&e),
    }
}

/// `cargo lockstep lsp`: 0 after the client's `shutdown` and `exit`, 1 after an `exit`
/// without `shutdown`, as the protocol asks.
fn lsp(inv: &Invocation) -> i32 {
    match crate::lsp::run(inv.clone()) {
        Ok(true) => EXIT_OK,
        Ok(false) => 1,
        Err(e) => error(&e),
    }
}

fn error(msg: &str) -> i32 {
    eprintln!("error: {msg}");
    EXIT_ERROR
}

/// `--output FILE`, else stdout, buffered; and whether it is a terminal. Opened before the
/// work, so a bad path fails fast.
fn open_output(path: Option<&Path>) -> Result<(Box<dyn Write>, bool), String> {
    match path {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Ok((Box::new(std::io::BufWriter::new(f)), false)),
            Err(e) => Err(format!("cannot write `{}`: {e}", path.display())),
        },
        None => Ok((
            Box::new(std::io::BufWriter::new(std::io::stdout())),
            std::io::stdout().is_terminal(),
        )),
    }
}

/// `cargo lockstep`: analyze, then report the findings.
fn check(inv: &Invocation) -> i32 {
    let Prepared {
        mut plan,
        settings,
        levels,
        planned_in,
    } = match prepare(inv) {
        Ok(p) => p,
        Err(e) => {
            eprint!("{e}");
            return EXIT_ERROR;
        }
    };
    let opts = &inv.options;
    if opts.fix {
        plan.threads = opts.jobs;
        let fix_opts = crate::fix::FixOptions {
            allow_dirty: opts.allow_dirty,
            ..Default::default()
        };
        let mut log = std::io::stderr();
        let fix_plan = plan.clone();
        let result = crate::fix::apply_fixes(
            || analyze_plan(fix_plan.clone(), &settings, &levels).0,
            &fix_opts,
            &mut log,
        );
        if let Err(e) = result {
            return error(&e.to_string());
        }
    }
    let (mut out, to_terminal) = match open_output(opts.output.as_deref()) {
        Ok(o) => o,
        Err(e) => return error(&e),
    };
    let started = Instant::now();
    plan.threads = opts.jobs;
    if !opts.no_cache {
        plan.cache_dir = Some(crate::cache::Cache::default_dir(&plan.root));
    }
    plan.progress =
        std::io::stderr().is_terminal() && matches!(opts.message_format, MessageFormatArg::Human);
    let manifest = plan.root.join("Cargo.toml");
    let (mut report, mut timings) = analyze_plan(plan, &settings, &levels);
    timings.plan = planned_in;
    if let Err(e) = baseline(opts, &mut report) {
        return error(&e);
    }
    let mut cargo_ok = true;
    if opts.with_cargo_check {
        cargo_ok = forward_cargo_check(
            &manifest,
            &inv.selection.features,
            &mut out,
            matches!(opts.message_format, MessageFormatArg::Json),
        );
    }
    let ropts = RenderOptions {
        format: opts.message_format.into(),
        color: opts.color.enabled(to_terminal),
        root: report.root.clone(),
    };
    if let Err(e) = render::render(&report, &ropts, &mut out).and_then(|_| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return error(&format!("cannot write the report: {e}"));
        }
    }
    drop(out);
    for e in &report.io_errors {
        eprintln!("error: {e}");
    }
    if opts.stats {
        stats::print_stats(&report, &timings, started.elapsed() + planned_in);
    }
    let status = exit_status(&report);
    // the process ends after this: freeing a large analysis would only cost time
    std::mem::forget(report);
    if !cargo_ok && status == EXIT_OK {
        return EXIT_FINDINGS;
    }
    status
}

/// `--write-baseline` and `--baseline`: write every finding, then keep only those not in the
/// baseline.
fn baseline(opts: &RunOptions, report: &mut Report) -> Result<(), String> {
    if let Some(path) = &opts.write_baseline {
        if let Err(e) = crate::baseline::write(path, report) {
            return Err(format!("cannot write baseline `{}`: {e}", path.display()));
        }
        eprintln!(
            "lockstep: wrote {} finding(s) to baseline `{}`",
            report.diagnostics.len(),
            path.display()
        );
    }
    if let Some(path) = &opts.baseline {
        let b = crate::baseline::read(path)?;
        let (new, stale) = crate::baseline::filter(report, &b);
        let known = report.diagnostics.len() - new.len();
        report.diagnostics = new;
        eprintln!(
            "lockstep: {known} finding(s) matched the baseline, {stale} baseline entr{} no longer match",
            if stale == 1 { "y" } else { "ies" }
        );
    }
    Ok(())
}

/// `cargo lockstep graph`: analyze as the default command does, then write the graph.
fn graph(inv: &Invocation, args: &cli::GraphArgs) -> i32 {
    let Prepared {
        mut plan,
        settings,
        levels,
        planned_in,
    } = match prepare(inv) {
        Ok(p) => p,
        Err(e) => {
            eprint!("{e}");
            return EXIT_ERROR;
        }
    };
    let (mut out, _) = match open_output(inv.options.output.as_deref()) {
        Ok(o) => o,
        Err(e) => return error(&e),
    };
    let started = Instant::now();
    plan.threads = inv.options.jobs;
    let (report, mut timings) = analyze_plan(plan, &settings, &levels);
    timings.plan = planned_in;
    let mut m = match &report.analysis {
        Some(a) => graph::model(&report.db, a, &report.config),
        None => GraphModel::default(),
    };
    let large = m.nodes.len() > graph::CYCLES_ONLY_ABOVE && m.has_hot();
    if args.cycles_only || large && !args.all_classes {
        let all = m.nodes.len();
        m = m.cycles_only();
        if !args.cycles_only {
            eprintln!(
                "note: the graph has {all} lock classes; showing the {} on cycles or against \
                 `lock_order` (`--all-classes` shows every class)",
                m.nodes.len()
            );
        }
    }
    if let Err(e) = graph::render(&m, args.format, &mut out).and_then(|_| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return error(&format!("cannot write the graph: {e}"));
        }
    }
    drop(out);
    for e in &report.io_errors {
        eprintln!("error: {e}");
    }
    let unparsed = report
        .diagnostics
        .iter()
        .filter(|d| d.lint == lockstep_analyzer::diag::ids::PARSE_ERROR)
        .count();
    if unparsed > 0 {
        eprintln!(
            "warning: {unparsed} file(s) or module(s) could not be analyzed (`cargo lockstep` shows \
             the parse errors); the graph leaves them out"
        );
    }
    if inv.options.stats {
        stats::print_stats(&report, &timings, started.elapsed() + planned_in);
    }
    if report.io_errors.is_empty() {
        EXIT_OK
    } else {
        EXIT_ERROR
    }
}

/// 2 when something could not be read, else 1 when a finding is at deny level, else 0.
pub fn exit_status(report: &Report) -> i32 {
    if !report.io_errors.is_empty() {
        EXIT_ERROR
    } else if report.diagnostics.iter().any(|d| d.level == Level::Deny) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

fn list() -> i32 {
    let metas = lockstep_lints::all_metas();
    let w = metas.iter().map(|m| m.name.len()).max().unwrap_or(4).max(4);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{:<w$}  {:<7}  summary", "lint", "default");
    for m in metas {
        let _ = writeln!(
            out,
            "{:<w$}  {:<7}  {}",
            m.name,
            m.default_level.as_str(),
            m.summary
        );
    }
    EXIT_OK
}

fn explain(lint: &str) -> i32 {
    let Some(m) = lockstep_lints::find_meta(lint) else {
        let bare = lint.strip_prefix("lockstep::").unwrap_or(lint);
        return error(&crate::suggest::unknown_lint(lint, bare));
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "lockstep::{} (default: {})\n{}\n",
        m.name,
        m.default_level.as_str(),
        m.summary
    );
    let _ = writeln!(out, "{}", m.docs_text());
    EXIT_OK
}

/// Run `cargo check --message-format=json` and forward its messages (all but its
/// `build-finished`, since ours ends the stream) so one editor command shows both, with the
/// same feature flags. With a non-JSON format its rendered messages go to stderr. Returns
/// whether the check succeeded.
fn forward_cargo_check(
    manifest: &Path,
    features: &crate::features::FeatureFlags,
    out: &mut dyn Write,
    json: bool,
) -> bool {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.arg("check").arg("--message-format=json");
    cmd.args(features.cargo_args());
    if manifest.exists() {
        cmd.arg("--manifest-path").arg(manifest);
    }
    let output = match cmd.stderr(std::process::Stdio::inherit()).output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("warning: cannot run `cargo check`: {e}");
            return false;
        }
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v.get("reason").and_then(|r| r.as_str()) == Some("build-finished") {
            continue;
        }
        if json {
            let _ = writeln!(out, "{line}");
        } else if let Some(r) = v.pointer("/message/rendered").and_then(|r| r.as_str()) {
            eprint!("{r}");
        }
    }
    output.status.success()
}
