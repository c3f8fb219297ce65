//! Run the sequence-number lints over a crate directory and print every finding with its
//! evidence and suggestion: `cargo run --example seq_scan -- <crate dir> [path filter…]`.
//! Only findings whose file path contains one of the filters are printed (all when none).
//! `--seq-names a,b` adds sequence-number names (`seq_names` of the configuration).

use std::path::PathBuf;

use lockstep_analyzer::{Config, Edition};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: seq_scan <crate dir> [path filter...]");
        std::process::exit(2);
    };
    let mut filters: Vec<String> = Vec::new();
    let mut config = Config::default();
    while let Some(a) = args.next() {
        if a == "--seq-names" {
            let names = args.next().unwrap_or_default();
            config.seq_names = names.split(',').map(str::to_string).collect();
        } else {
            filters.push(a);
        }
    }
    let report = cargo_lockstep::analyze_dir(&dir, Edition::E2021, &config);
    let Some(analysis) = report.analysis.as_ref() else {
        eprintln!("nothing analyzed");
        std::process::exit(2);
    };
    for lf in &analysis.files {
        let f = report.db.get(lf.file);
        if !filters.is_empty() && !filters.iter().any(|p| f.path.contains(p.as_str())) {
            continue;
        }
        let st = analysis
            .seq
            .stats
            .get(&lf.file)
            .copied()
            .unwrap_or_default();
        println!(
            "-- facts {}: {} structs, {} ordering impls ({} modular), {} candidate sites \
             ({} on a sequence newtype, {} on raw sequence values, {} on offsets), {} isn sites",
            f.path,
            st.structs,
            st.ord_impls,
            st.modular_ord_impls,
            st.sites,
            st.newtype_sites,
            st.raw_sites,
            st.offset_sites,
            st.isn_sites
        );
    }
    let mut counts: std::collections::BTreeMap<(String, &str), usize> = Default::default();
    for d in &report.diagnostics {
        if !matches!(d.lint, "seq_compare" | "seq_arith" | "isn_not_monotonic") {
            continue;
        }
        let f = report.db.get(d.primary.span.file);
        if !filters.is_empty() && !filters.iter().any(|p| f.path.contains(p.as_str())) {
            continue;
        }
        *counts.entry((f.path.clone(), d.lint)).or_default() += 1;
        let lc = f.line_col(d.primary.span.start);
        println!(
            "{}:{}:{}: {}[lockstep::{}]: {}",
            f.path,
            lc.line,
            lc.col,
            d.level.rustc_word(),
            d.lint,
            d.message
        );
        println!("    | {}", f.line_text(lc.line).trim());
        for l in &d.labels {
            let lf = report.db.get(l.span.file);
            println!(
                "    label {}:{}: {}",
                lf.path,
                lf.line_col(l.span.start).line,
                l.message
            );
        }
        for n in &d.notes {
            println!("    note: {n}");
        }
        for s in &d.suggestions {
            for e in &s.edits {
                println!(
                    "    fix ({}): {}",
                    s.applicability.as_str(),
                    e.replacement.replace('\n', "\n         ")
                );
            }
        }
        println!("    key: {}", d.key);
    }
    println!("-- {} files analyzed", report.db.len());
    for ((p, l), n) in &counts {
        println!("-- {p}: {l}: {n}");
    }
    for e in &report.io_errors {
        println!("-- io: {e}");
    }
}
