//! What every analyzing command (the default one and `graph`) does before its own output:
//! check the flags, plan the units, read the configuration and the levels ([`prepare`]);
//! then load, analyze and lint ([`analyze_plan`]).

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use lockstep_analyzer::{analyze, diag::sort_diagnostics, Edition, Level};
use lockstep_lints::LintContext;

use crate::cache::Cache;
use crate::cli::Invocation;
use crate::config::{self, Levels, Settings};
use crate::load;
use crate::plan::{self, Plan};
use crate::progress::Progress;
use crate::report::Report;
use crate::stats::Timings;

/// A command line made ready to analyze.
pub struct Prepared {
    pub plan: Plan,
    pub settings: Settings,
    pub levels: Levels,
    /// How long planning took: `cargo metadata`, finding and choosing the dependencies.
    pub planned_in: std::time::Duration,
}

/// Check the level flags and the paths, plan the units of `inv` (relative to the current
/// directory) and read their configuration and levels. On failure, the text to print to
/// stderr (the run then exits with a usage or configuration error).
pub fn prepare(inv: &Invocation) -> Result<Prepared, String> {
    let error = |msg: &str| format!("error: {msg}\n");
    let stderr_color = inv.options.color.enabled(std::io::stderr().is_terminal());
    // unknown lint names in flags are usage errors, before any work
    if let Err(e) = Levels::new(&[], &inv.level_flags) {
        return Err(error(&e));
    }
    if inv.selection.manifest_path.is_some() && !inv.paths.is_empty() {
        return Err(error("`--manifest-path` cannot be combined with PATHs"));
    }
    let started = Instant::now();
    let cwd = std::env::current_dir()
        .map_err(|e| error(&format!("cannot read the current directory: {e}")))?;
    let plan = plan::plan_invocation(&inv.paths, &inv.selection, !inv.options.no_cache, &cwd)
        .map_err(|e| error(&e))?;
    let settings = config::load_settings(&plan.config_dirs).map_err(|e| e.render(stderr_color))?;
    let levels = Levels::new(&settings.levels, &inv.level_flags).map_err(|e| error(&e))?;
    Ok(Prepared {
        plan,
        settings,
        levels,
        planned_in: started.elapsed(),
    })
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
        .map(|d| Cache::new(d.clone(), &settings.config));
    let progress = plan.progress.then(Progress::new);
    pool.install(|| {
        let mut t = Timings::default();
        let start = Instant::now();
        let extras = load::LoadExtras {
            cache: cache.as_ref(),
            progress: progress.as_ref(),
        };
        let loaded = load::load(
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
        let cfg = crate::report::CfgReport {
            dropped: loaded.cfg_dropped,
            units_unknown: plan.units.iter().filter(|u| u.features.is_none()).count(),
        };
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
            cfg,
        };
        (report, t)
    })
}

/// One level weaker (deny → warn → note).
fn lower(l: Level) -> Level {
    match l {
        Level::Deny => Level::Warn,
        Level::Warn | Level::Note => Level::Note,
        Level::Allow => Level::Allow,
    }
}

/// Plan a directory: a `Cargo.toml` there by its whole workspace, else every `.rs` file below it.
pub fn plan_dir(dir: &Path, edition: Edition, plan: &mut Plan) {
    let manifest = dir.join("Cargo.toml");
    if manifest.is_file() {
        let sel = plan::Selection {
            workspace: true,
            ..Default::default()
        };
        if let Err(e) = plan::plan_manifest(&manifest, &sel, plan) {
            plan.io_errors.push(e);
        }
    } else {
        let unit = plan::plan_walk(dir, edition, &mut plan.io_errors, dir);
        plan.units.push(unit);
        plan.config_dirs.push(dir.to_path_buf());
    }
}

/// Analyze a fixture crate or workspace as `cargo lockstep --workspace` would, with its own
/// configuration (`lockstep.toml` or manifest metadata). A configuration error is reported in
/// `io_errors`. No registry source is read (`Plan::hermetic`): the result does not depend on what
/// this machine fetched before.
pub fn analyze_hermetic(dir: &Path) -> Report {
    let mut plan = Plan {
        root: dir.to_path_buf(),
        hermetic: true,
        ..Default::default()
    };
    plan_dir(dir, Edition::E2021, &mut plan);
    let settings = match config::load_settings(&plan.config_dirs) {
        Ok(s) => s,
        Err(e) => {
            return Report {
                root: dir.to_path_buf(),
                io_errors: vec![e.render(false)],
                ..Default::default()
            }
        }
    };
    let levels = match Levels::new(&settings.levels, &[]) {
        Ok(l) => l,
        Err(e) => {
            return Report {
                root: dir.to_path_buf(),
                io_errors: vec![e],
                ..Default::default()
            }
        }
    };
    analyze_plan(plan, &settings, &levels).0
}
