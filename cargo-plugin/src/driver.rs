//! The run: command line → plan (which files) → configuration and levels → load, analyze,
//! lint → levels → render → exit status.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use lockstep_analyzer::{analyze, diag::sort_diagnostics, Level};
use lockstep_lints::LintContext;

use crate::cli::{self, Command, Invocation};
use crate::config::{self, Levels, Settings};
use crate::load;
use crate::plan::{self, Plan};
use crate::render::{self, RenderOptions};
use crate::Report;

/// Exit status: no finding at deny level.
pub const EXIT_OK: i32 = 0;
/// Exit status: some finding at deny level.
pub const EXIT_FINDINGS: i32 = 1;
/// Exit status: usage, configuration or IO error.
pub const EXIT_ERROR: i32 = 2;

/// Timings of one analysis, for `--stats`.
#[derive(Clone, Debug, Default)]
pub struct Timings {
    pub load: Duration,
    pub analysis: Duration,
    pub lints: Duration,
}

fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .stack_size(load::STACK_SIZE)
        .thread_name(|i| format!("lockstep-{i}"))
        .build()
        .map_err(|e| format!("cannot start analysis threads: {e}"))
}

/// Load, analyze and lint the units of a plan, then apply levels: findings at allow level
/// are dropped, the others carry their final level.
pub fn analyze_plan(plan: Plan, settings: &Settings, levels: &Levels) -> (Report, Timings) {
    let pool = match thread_pool(plan.threads) {
        Ok(p) => p,
        Err(e) => {
            let report = Report {
                root: plan.root,
                io_errors: vec![e],
                ..Default::default()
            };
            return (report, Timings::default());
        }
    };
    let mut config = settings.config.clone();
    config.levels = levels.resolved();
    let cache = plan
        .cache_dir
        .as_ref()
        .map(|d| crate::cache::Cache::new(d.clone(), &settings.config));
    let progress = plan.progress.then(crate::progress::Progress::new);
    pool.install(|| {
        let mut t = Timings::default();
        let start = Instant::now();
        let extras = load::LoadExtras {
            cache: cache.as_ref(),
            progress: progress.as_ref(),
        };
        let loaded = load::load_with(
            &plan.root,
            &plan.units,
            &settings.skip,
            &pool,
            &settings.config,
            &extras,
        );
        t.load = start.elapsed();
        if let Some(p) = &progress {
            p.phase("analyzing");
        }
        let start = Instant::now();
        let analysis = analyze(&loaded.db, loaded.lowered, &config);
        t.analysis = start.elapsed();
        let start = Instant::now();
        let cx = LintContext {
            db: &loaded.db,
            analysis: &analysis,
            config: &config,
        };
        let mut diagnostics = lockstep_lints::run_all(&cx);
        t.lints = start.elapsed();
        if let Some(p) = &progress {
            p.finish();
        }
        diagnostics.extend(loaded.diagnostics);
        // dependencies are read for what their code does; what is wrong in them is not ours
        diagnostics.retain(|d| !loaded.db.get(d.primary.span.file).dependency);
        for d in &mut diagnostics {
            let base = levels.level(d.lint);
            // A lint may report below its default (a witness through a trait impl is one
            // level weaker): keep that step relative to the configured level.
            let default = lockstep_lints::find_meta(d.lint).map(|m| m.default_level);
            d.level = match default {
                Some(def) if d.level < def && base > Level::Note => lower(base),
                _ => base,
            };
        }
        diagnostics.retain(|d| d.level != Level::Allow);
        sort_diagnostics(&mut diagnostics);
        // Output order: by path, not by load order.
        diagnostics.sort_by(|a, b| {
            let pa = &loaded.db.get(a.primary.span.file).path;
            let pb = &loaded.db.get(b.primary.span.file).path;
            (
                pa,
                a.primary.span.start,
                a.primary.span.end,
                a.lint,
                &a.message,
                &a.key,
            )
                .cmp(&(
                    pb,
                    b.primary.span.start,
                    b.primary.span.end,
                    b.lint,
                    &b.message,
                    &b.key,
                ))
        });
        let mut io_errors = plan.io_errors;
        io_errors.extend(loaded.io_errors);
        let report = Report {
            root: plan.root,
            db: loaded.db,
            units: plan.units.into_iter().map(|u| u.unit).collect(),
            file_units: loaded.file_units,
            diagnostics,
            io_errors,
            analysis: Some(analysis),
            config,
            deps: plan.deps,
        };
        (report, t)
    })
}

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
        Some(Command::Graph(g)) => crate::graph::run(&inv, g.format),
        None => check(&inv),
    }
}

fn error(msg: &str) -> i32 {
    eprintln!("error: {msg}");
    EXIT_ERROR
}

fn check(inv: &Invocation) -> i32 {
    let stderr_color = inv.options.color.enabled(std::io::stderr().is_terminal());
    // unknown lint names in flags are usage errors, before any work
    if let Err(e) = Levels::new(&[], &inv.level_flags) {
        return error(&e);
    }
    if inv.selection.manifest_path.is_some() && !inv.paths.is_empty() {
        return error("`--manifest-path` cannot be combined with PATHs");
    }
    let cwd = match std::env::current_dir() {
        Ok(c) => c,
        Err(e) => return error(&format!("cannot read the current directory: {e}")),
    };
    let mut plan = match plan::plan_invocation(inv, &cwd) {
        Ok(p) => p,
        Err(e) => return error(&e),
    };
    let settings = match config::load_settings(&plan.config_dirs) {
        Ok(s) => s,
        Err(e) => {
            eprint!("{}", e.render(stderr_color));
            return EXIT_ERROR;
        }
    };
    let levels = match Levels::new(&settings.levels, &inv.level_flags) {
        Ok(l) => l,
        Err(e) => return error(&e),
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
    // open the output before the work, so a bad path fails fast
    let (mut out, to_terminal): (Box<dyn Write>, bool) = match &opts.output {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => (Box::new(std::io::BufWriter::new(f)), false),
            Err(e) => {
                return error(&format!("cannot write `{}`: {e}", path.display()));
            }
        },
        None => (
            Box::new(std::io::BufWriter::new(std::io::stdout())),
            std::io::stdout().is_terminal(),
        ),
    };
    let started = Instant::now();
    plan.threads = opts.jobs;
    if !opts.no_cache {
        plan.cache_dir = Some(crate::cache::Cache::default_dir(&plan.root));
    }
    plan.progress = std::io::stderr().is_terminal()
        && matches!(opts.message_format, crate::cli::MessageFormatArg::Human);
    let manifest = plan.root.join("Cargo.toml");
    let (mut report, timings) = analyze_plan(plan, &settings, &levels);
    if let Some(path) = &opts.write_baseline {
        if let Err(e) = crate::baseline::write(path, &report) {
            return error(&format!("cannot write baseline `{}`: {e}", path.display()));
        }
        eprintln!(
            "lockstep: wrote {} finding(s) to baseline `{}`",
            report.diagnostics.len(),
            path.display()
        );
    }
    if let Some(path) = &opts.baseline {
        let b = match crate::baseline::read(path) {
            Ok(b) => b,
            Err(e) => return error(&e),
        };
        let (new, stale) = crate::baseline::filter(&report, &b);
        let known = report.diagnostics.len() - new.len();
        report.diagnostics = new;
        eprintln!(
            "lockstep: {known} finding(s) matched the baseline, {stale} baseline entr{} no longer match",
            if stale == 1 { "y" } else { "ies" }
        );
    }
    let mut cargo_ok = true;
    if opts.with_cargo_check {
        cargo_ok = forward_cargo_check(
            &manifest,
            &mut out,
            matches!(opts.message_format, crate::cli::MessageFormatArg::Json),
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
        print_stats(&report, &timings, started.elapsed());
    }
    let status = exit_status(&report);
    // the process ends after this: freeing a large analysis would only cost time
    std::mem::forget(report);
    if !cargo_ok && status == EXIT_OK {
        return EXIT_FINDINGS;
    }
    status
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

/// File counts, timings, findings per lint and analysis coverage, to stderr.
pub(crate) fn print_stats(report: &Report, t: &Timings, total: Duration) {
    let own = |f: &&lockstep_analyzer::SourceFile| !f.dependency;
    let files = report.db.files().iter().filter(own).count();
    let lines: usize = report
        .db
        .files()
        .iter()
        .filter(own)
        .map(|f| f.line_count())
        .sum();
    let bytes: usize = report
        .db
        .files()
        .iter()
        .filter(own)
        .map(|f| f.text.len())
        .sum();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "lockstep: {files} files, {lines} lines, {bytes} bytes in {} units",
        report.units.len()
    );
    eprint!("{}", crate::stats::dependencies(report));
    eprintln!(
        "lockstep: load+parse {:.1} ms, analysis {:.1} ms, lints {:.1} ms, total {:.1} ms",
        ms(t.load),
        ms(t.analysis),
        ms(t.lints),
        ms(total)
    );
    if let Some(kib) = peak_rss_kib() {
        eprintln!("lockstep: peak memory {:.1} MiB", kib as f64 / 1024.0);
    }
    if let Some(a) = &report.analysis {
        let ip = &a.interproc;
        let budget = a
            .flows
            .iter()
            .filter(|f| f.budget_hit || f.truncated)
            .count();
        eprintln!(
            "lockstep: {} functions, calls resolved {}, unresolved {}, {budget} partial",
            a.flows.len(),
            ip.resolved_calls,
            ip.unresolved_calls
        );
    }
    let mut by_lint: std::collections::BTreeMap<&str, usize> = Default::default();
    for d in &report.diagnostics {
        *by_lint.entry(d.lint).or_default() += 1;
    }
    for (lint, n) in by_lint {
        eprintln!("lockstep: {n:>6} {lint}");
    }
    eprint!("{}", crate::stats::coverage(report));
}

/// The process's peak resident set size (`VmHWM`), where the platform reports it.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
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
        let mut msg = format!("unknown lint `{lint}`");
        match did_you_mean_lint(bare) {
            Some(s) => msg.push_str(&format!("\n\nhelp: did you mean `{s}`?")),
            None => msg.push_str("\n\nhelp: `cargo lockstep list` prints every lint"),
        }
        return error(&msg);
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "lockstep::{} (default: {})\n{}\n",
        m.name,
        m.default_level.as_str(),
        m.summary
    );
    let _ = write!(out, "{}", unindent_docs(m.docs));
    EXIT_OK
}

/// Doc comments keep the space after `///`; drop one leading space per line.
fn unindent_docs(docs: &str) -> String {
    let mut s = String::new();
    for line in docs.lines() {
        s.push_str(line.strip_prefix(' ').unwrap_or(line));
        s.push('\n');
    }
    s
}

/// Edit distance between two short strings.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate, if it is close enough to be a typo.
pub fn did_you_mean<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|c| (distance(name, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// The closest lint name (or `warnings`).
pub fn did_you_mean_lint(name: &str) -> Option<&'static str> {
    let mut names: Vec<&'static str> = lockstep_lints::all_metas().iter().map(|m| m.name).collect();
    names.push("warnings");
    did_you_mean(name, &names)
}

/// One level weaker (deny → warn → note).
fn lower(l: Level) -> Level {
    match l {
        Level::Deny => Level::Warn,
        Level::Warn | Level::Note => Level::Note,
        Level::Allow => Level::Allow,
    }
}

/// Run `cargo check --message-format=json` and forward its messages (all but its
/// `build-finished`, since ours ends the stream) so one editor command shows both. With a
/// non-JSON format its rendered messages go to stderr. Returns whether the check succeeded.
fn forward_cargo_check(manifest: &std::path::Path, out: &mut dyn Write, json: bool) -> bool {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.arg("check").arg("--message-format=json");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("dubble_lock", &["double_lock", "seq_arith"]),
            Some("double_lock")
        );
        assert_eq!(did_you_mean("zzz", &["double_lock"]), None);
        assert_eq!(did_you_mean_lint("warning"), Some("warnings"));
    }
}
