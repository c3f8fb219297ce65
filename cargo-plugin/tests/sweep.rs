//! Opt-in robustness sweep (`LOCKSTEP_SWEEP=1`): every `.rs` file of every crate under
//! `~/.cargo/registry/src` (or `LOCKSTEP_SWEEP_DIR`) is lowered, analyzed and linted on its
//! own. No file may panic or stop at its step budget; the slowest files and the totals are
//! printed (run with `--nocapture`, best with `--release`).

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lockstep_analyzer::{analyze, lower_file_with, Config, SourceDb, SourceFile};
use lockstep_lints::LintContext;
use rayon::prelude::*;

struct Outcome {
    path: PathBuf,
    bytes: usize,
    lines: usize,
    time: Duration,
    panic: Option<String>,
    budget: usize,
    parse_error: bool,
}

fn one(path: &Path) -> Outcome {
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = Instant::now();
    let config = Config::default();
    let run = || {
        let mut db = SourceDb::default();
        let id = db.next_id();
        let id = db.add(SourceFile::from_bytes(id, path.to_string_lossy(), &bytes));
        let lowered = lower_file_with(db.get(id), &config);
        proc_macro2::extra::invalidate_current_thread_spans();
        let parse_error = lowered.parse_error.is_some();
        let analysis = analyze(&db, vec![lowered], &config);
        let cx = LintContext {
            db: &db,
            analysis: &analysis,
            config: &config,
        };
        let diags = lockstep_lints::run_all(&cx);
        let budget = diags.iter().filter(|d| d.lint == "analysis_budget").count();
        (budget, parse_error)
    };
    let r = std::panic::catch_unwind(AssertUnwindSafe(run));
    let time = start.elapsed();
    let (budget, parse_error, panic) = match r {
        Ok((b, p)) => (b, p, None),
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            (0, false, Some(msg))
        }
    };
    Outcome {
        path: path.to_path_buf(),
        lines: bytes.iter().filter(|&&b| b == b'\n').count(),
        bytes: bytes.len(),
        time,
        panic,
        budget,
        parse_error,
    }
}

#[test]
fn sweep_registry_sources() {
    if std::env::var_os("LOCKSTEP_SWEEP").is_none() {
        eprintln!("skipped: set LOCKSTEP_SWEEP=1 to sweep the registry sources");
        return;
    }
    let root = std::env::var_os("LOCKSTEP_SWEEP_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/registry/src")))
        .expect("no HOME");
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| e.into_path())
        .collect();
    files.sort();
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(cargo_lockstep::load::STACK_SIZE)
        .build()
        .unwrap();
    // panics are counted, not printed per file
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let start = Instant::now();
    let out: Vec<Outcome> = pool.install(|| files.par_iter().map(|f| one(f)).collect());
    let wall = start.elapsed();
    std::panic::set_hook(hook);

    let total_lines: usize = out.iter().map(|o| o.lines).sum();
    let total_bytes: usize = out.iter().map(|o| o.bytes).sum();
    let cpu: Duration = out.iter().map(|o| o.time).sum();
    let panics: Vec<&Outcome> = out.iter().filter(|o| o.panic.is_some()).collect();
    let budget: Vec<&Outcome> = out.iter().filter(|o| o.budget > 0).collect();
    let parse_errors = out.iter().filter(|o| o.parse_error).count();
    println!(
        "sweep: {} files, {total_lines} lines, {:.1} MiB, wall {:.1} s, summed file time {:.1} s",
        out.len(),
        total_bytes as f64 / (1 << 20) as f64,
        wall.as_secs_f64(),
        cpu.as_secs_f64()
    );
    println!(
        "sweep: {} panics, {} files over a step budget ({} notes), {parse_errors} parse errors",
        panics.len(),
        budget.len(),
        budget.iter().map(|o| o.budget).sum::<usize>()
    );
    for o in &panics {
        println!(
            "panic: {}: {}",
            o.path.display(),
            o.panic.as_deref().unwrap_or("")
        );
    }
    for o in &budget {
        println!("budget: {}: {} notes", o.path.display(), o.budget);
    }
    let panicked = panics.len();
    let over_budget = budget.len();
    let mut by_time: Vec<&Outcome> = out.iter().collect();
    by_time.sort_by_key(|o| std::cmp::Reverse(o.time));
    println!("slowest files:");
    for o in by_time.iter().take(10) {
        println!(
            "  {:>8.1} ms  {:>6} lines  {}",
            o.time.as_secs_f64() * 1000.0,
            o.lines,
            o.path.strip_prefix(&root).unwrap_or(&o.path).display()
        );
    }
    assert_eq!(panicked, 0, "files panicked");
    assert_eq!(over_budget, 0, "files hit a step budget");
}
