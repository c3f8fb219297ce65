//! `--stats`: file counts, phase timings, findings per lint, what reading the dependencies
//! did, and coverage: how much of the code the analysis could follow, so that a quiet run can
//! be read for what it is.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::report::Report;

/// Timings of one analysis, for `--stats`.
#[derive(Clone, Debug, Default)]
pub struct Timings {
    /// `cargo metadata`, the dependency graph and the dependencies' sources scanned.
    pub plan: Duration,
    pub load: Duration,
    pub analysis: Duration,
    pub lints: Duration,
}

/// Names listed per category.
const TOP: usize = 10;

/// `(name, count)` pairs, most frequent first, then by name.
fn top<'a>(counts: impl IntoIterator<Item = (&'a str, usize)>) -> Vec<(&'a str, usize)> {
    let mut v: Vec<(&str, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v
}

fn list(items: &[(&str, usize)]) -> String {
    // `LOCKSTEP_STATS_ALL=1` lists every name (for triage), not only the most frequent.
    let top = if std::env::var_os("LOCKSTEP_STATS_ALL").is_some() {
        usize::MAX
    } else {
        TOP
    };
    let mut s = items
        .iter()
        .take(top)
        .map(|(n, c)| format!("{n} ×{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > top {
        let _ = write!(s, ", … ({} more)", items.len() - top);
    }
    s
}

fn pct(part: usize, total: usize) -> String {
    if total == 0 {
        "-".to_string()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / total as f64)
    }
}

/// Coverage lines, each prefixed `lockstep: `; empty when there is no analysis.
pub fn coverage(report: &Report) -> String {
    let Some(a) = &report.analysis else {
        return String::new();
    };
    let mut s = String::new();
    // A closure's value copy that no place keeps is not a function the code has.
    let copy = |r: &lockstep_analyzer::index::FnRef| a.func(*r).path.contains("::{value#");
    let dropped = a.index.fns.iter().filter(|r| copy(r)).count()
        - a.flows.iter().filter(|f| copy(&f.func)).count();
    let fns = a.index.fns.len() - dropped;
    let _ = writeln!(
        s,
        "lockstep: coverage: {} of {fns} functions analyzed (with a body)",
        a.flows.len()
    );
    let ip = &a.interproc;
    let calls = ip.resolved_calls + ip.unresolved_calls;
    let _ = writeln!(
        s,
        "lockstep: calls: {} resolved ({}), {} unresolved ({})",
        ip.resolved_calls,
        pct(ip.resolved_calls, calls),
        ip.unresolved_calls,
        pct(ip.unresolved_calls, calls)
    );
    if !ip.unresolved_by_reason.is_empty() {
        let mut by: Vec<(&str, usize)> = ip
            .unresolved_by_reason
            .iter()
            .map(|(g, n)| (g.describe(), *n))
            .collect();
        by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let _ = writeln!(
            s,
            "lockstep: unresolved by reason: {}",
            by.iter()
                .map(|(g, n)| format!("{g} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if std::env::var_os("LOCKSTEP_STATS_ALL").is_some() {
        let mut sites: Vec<(String, u32, u32, &str)> = ip
            .unresolved_sites
            .iter()
            .map(|(sp, g)| {
                let f = report.db.get(sp.file);
                let lc = f.line_col(sp.start);
                (f.path.clone(), lc.line, lc.col, g.describe())
            })
            .collect();
        sites.sort();
        for (p, l, c, g) in sites {
            let _ = writeln!(s, "lockstep: unresolved at {p}:{l}:{c}: {g}");
        }
    }
    if !ip.unresolved_names.is_empty() {
        let names = top(ip.unresolved_names.iter().map(|(k, v)| (k.as_str(), *v)));
        let _ = writeln!(s, "lockstep: unresolved calls: {}", list(&names));
    }
    let budget_fns: usize =
        ip.budget_sccs.iter().map(Vec::len).sum::<usize>() + ip.budget_run.len();
    let _ = writeln!(
        s,
        "lockstep: call summaries: {} entries composed, {}",
        ip.summary_work,
        if budget_fns == 0 {
            "within budget".to_string()
        } else {
            format!("{budget_fns} functions summarized partially (budget)")
        }
    );
    let mut macros: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &a.files {
        for func in &f.items.fns {
            for m in func.body.iter().flat_map(|b| &b.opaque_macros) {
                *macros.entry(m.as_str()).or_default() += 1;
            }
        }
    }
    let n_macros: usize = macros.values().sum();
    if n_macros == 0 {
        let _ = writeln!(s, "lockstep: opaque macros: none");
    } else {
        let _ = writeln!(
            s,
            "lockstep: opaque macros ({n_macros}, arguments not analyzed): {}",
            list(&top(macros))
        );
    }
    let expanded: u64 = a.files.iter().map(|f| u64::from(f.macros.expanded)).sum();
    let failed: u64 = a.files.iter().map(|f| u64::from(f.macros.failed)).sum();
    let _ = writeln!(
        s,
        "lockstep: local macros: {expanded} expansions, {failed} calls not expanded (no arm matched or a bound was hit; counted opaque)"
    );
    let mut budget: Vec<&str> = Vec::new();
    let mut truncated: Vec<&str> = Vec::new();
    for flow in &a.flows {
        let name = a.func(flow.func).path.as_str();
        if flow.budget_hit {
            budget.push(name);
        }
        if flow.truncated {
            truncated.push(name);
        }
    }
    for (what, v) in [
        ("hit the step budget", &mut budget),
        ("truncated (too large or deep)", &mut truncated),
    ] {
        v.sort_unstable();
        v.dedup();
        if v.is_empty() {
            let _ = writeln!(s, "lockstep: functions {what}: none");
        } else {
            let mut names = v.iter().take(TOP).copied().collect::<Vec<_>>().join(", ");
            if v.len() > TOP {
                let _ = write!(names, ", … ({} more)", v.len() - TOP);
            }
            let _ = writeln!(s, "lockstep: functions {what} ({}): {names}", v.len());
        }
    }
    let g = crate::graph::model(&report.db, a, &report.config);
    let try_only = g.edges.iter().filter(|e| e.try_only).count();
    let cycle = g.edges.iter().filter(|e| e.in_cycle).count();
    let against = g.edges.iter().filter(|e| e.against_order).count();
    let _ = writeln!(
        s,
        "lockstep: lock graph: {} lock classes, {} edges ({try_only} try-only, {cycle} on cycles, {against} against lock_order), {} orders left out (objects not yet shared; {} acquisitions on objects handed only to callees that keep them)",
        g.nodes.len(),
        g.edges.len(),
        a.lock_graph.unshared_witnesses,
        a.interproc.unshared_handed
    );
    s.push_str(&values(a));
    s
}

/// The lines of `--stats` on values followed across places: locks stored in several places
/// (`resolve::alias`) and function values stored for later calls (`resolve::fnvalues`).
fn values(a: &lockstep_analyzer::Analysis) -> String {
    let mut s = String::new();
    let al = &a.index.aliases;
    let _ = writeln!(
        s,
        "lockstep: lock values: {} classes stored in more than one place, united into {}; {} place(s) stored from several locks left apart",
        al.merged() + al.sets.len(),
        al.sets.len(),
        al.views
    );
    let fv = &a.index.fn_values;
    let _ = writeln!(
        s,
        "lockstep: function values: {} stored into {} place(s) that calls read{}",
        fv.stored(),
        fv.slots.len(),
        if fv.capped > 0 {
            format!(", {} place(s) holding the most kept", fv.capped)
        } else {
            String::new()
        }
    );
    s
}

/// The dependency lines of `--stats`: packages read (their files and lines), and why others
/// were not.
pub fn dependencies(report: &Report) -> String {
    let d = &report.deps;
    let mut s = String::new();
    if d.disabled {
        let _ = writeln!(s, "lockstep: dependencies: not read (--no-deps)");
        return s;
    }
    let dep_files: Vec<&lockstep_analyzer::SourceFile> =
        report.db.files().iter().filter(|f| f.dependency).collect();
    let lines: usize = dep_files.iter().map(|f| f.line_count()).sum();
    let _ = write!(
        s,
        "lockstep: dependencies: {} packages read ({} files, {lines} lines)",
        d.read.len(),
        dep_files.len()
    );
    if let Some(a) = &report.analysis {
        let dep_crates: std::collections::BTreeSet<&str> =
            dep_files.iter().map(|f| f.crate_name.as_str()).collect();
        let learned = a
            .index
            .code_locks
            .keys()
            .filter(|p| dep_crates.contains(p.split("::").next().unwrap_or("")))
            .count();
        let _ = write!(s, ", {learned} lock types learned from their code");
    }
    if d.no_lock_code > 0 {
        let _ = write!(s, ", {} without lock code skipped", d.no_lock_code);
    }
    if d.proc_macros > 0 {
        let _ = write!(s, ", {} procedural macros skipped", d.proc_macros);
    }
    if d.shadowed > 0 {
        let _ = write!(
            s,
            ", {} shadowed by a nearer crate of the same name",
            d.shadowed
        );
    }
    s.push('\n');
    if d.remembered {
        let _ = writeln!(
            s,
            "lockstep: dependency graph: cargo's, remembered from an earlier run of this tree (`--no-cache` asks cargo again)"
        );
    }
    if d.plan_remembered {
        let _ = writeln!(
            s,
            "lockstep: dependencies: as an earlier run of this tree chose them (its manifests and the sources searched say the same; `--no-cache` chooses again)"
        );
    }
    if let Some(why) = &d.unresolved {
        let _ = writeln!(
            s,
            "lockstep: dependencies found from the manifests and the sources on this machine, not by cargo ({why})"
        );
    }
    if let Some(why) = &d.unavailable {
        let _ = writeln!(s, "lockstep: dependencies not read: {why}");
    }
    if !d.large_transitive.is_empty() {
        let _ = writeln!(
            s,
            "lockstep: dependencies of dependencies over {} MiB not read: {}",
            crate::deps::TRANSITIVE_PACKAGE_LIMIT >> 20,
            d.large_transitive.join(", ")
        );
    }
    if let Some(p) = &d.budget_hit {
        let _ = writeln!(
            s,
            "lockstep: dependency budget of {} MiB of source reached: `{p}` and further dependencies not read",
            crate::deps::DEPENDENCY_SOURCE_BUDGET >> 20
        );
    }
    if !d.read.is_empty() {
        let _ = writeln!(s, "lockstep: dependencies read: {}", d.read.join(", "));
    }
    if let Some(a) = &report.analysis {
        let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
        for f in &a.flows {
            for acq in f.acquisitions.iter().filter(|x| x.lock.kind.by_name) {
                *by_type.entry(acq.lock.kind.type_name.as_str()).or_default() += 1;
            }
        }
        if !by_type.is_empty() {
            let n: usize = by_type.values().sum();
            let _ = writeln!(
                s,
                "lockstep: locks known by name only (source not read; their findings one level weaker): {n} acquisitions of {} types: {}",
                by_type.len(),
                list(&top(by_type.iter().map(|(k, v)| (*k, *v))))
            );
        }
    }
    s
}

/// The `--stats` line on `#[cfg(feature = "..")]`: what the units' features left out.
pub fn features(report: &Report) -> String {
    let c = &report.cfg;
    let d = &c.dropped;
    let mut s = format!(
        "lockstep: {} items under disabled features left out",
        d.total()
    );
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    if d.statements + d.modules > 0 {
        let _ = write!(
            s,
            " (among them {} and {})",
            plural(d.statements, "statement"),
            plural(d.modules, "module")
        );
    }
    if c.units_unknown > 0 {
        let _ = write!(
            s,
            "; features not known for {} of {} units (their feature cfgs kept)",
            c.units_unknown,
            report.units.len()
        );
    }
    s.push('\n');
    s
}

/// File counts, timings, findings per lint and analysis coverage, to stderr.
pub fn print_stats(report: &Report, t: &Timings, total: Duration) {
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
    eprint!("{}", dependencies(report));
    eprint!("{}", features(report));
    eprintln!(
        "lockstep: plan {:.1} ms, load+parse {:.1} ms, analysis {:.1} ms, lints {:.1} ms, total {:.1} ms",
        ms(t.plan),
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
    eprint!("{}", coverage(report));
}

/// The process's peak resident set size (`VmHWM`), where the platform reports it.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
