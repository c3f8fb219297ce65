//! Every lint over every fixture crate, checked against the expectations written in the
//! fixture sources:
//!
//! * `//~ lint_name` — a finding of `lint_name` whose primary span starts on this line;
//! * `//~^ lint_name` — on the line above (`//~^^` two above, and so on), `//~v` the line below;
//! * several lints may be listed, separated by commas;
//! * `//~[2024] lint_name` — expected only when the file is analyzed under that edition;
//! * `//@ clean` — the crate must have no finding at all.
//!
//! A missing or an unexpected finding fails, and the failure shows every finding rendered.
//!
//! Each fixture crate is its own test (`cargo test -p cargo-lockstep --test fixtures kb_q297040`
//! runs the KB article's crates only), and its findings rendered as a developer sees them
//! (`--message-format human`, no colour) are compared with
//! `tests/snapshots/fixtures/<test name>.txt`, so a change to a message shows in review.
//! `LOCKSTEP_BLESS=1 cargo test -p cargo-lockstep --test fixtures` rewrites the snapshots.
//! A fixture crate missing from the list below fails `every_fixture_crate_is_listed`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cargo_lockstep::Report;

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// Fixture units: directories with a Cargo.toml that are not inside another unit.
fn units(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect(),
        Err(_) => return,
    };
    entries.sort();
    for e in entries {
        if e.file_name().is_some_and(|n| n == "target") {
            continue;
        }
        if e.join("Cargo.toml").exists() {
            out.push(e);
        } else {
            units(&e, out);
        }
    }
}

type Key = (String, u32, String);

fn expectations(report: &Report) -> (BTreeMap<Key, usize>, bool) {
    let mut exp = BTreeMap::new();
    let mut clean = false;
    for f in report.db.files() {
        for (i, line) in f.text.lines().enumerate() {
            let line_no = i as u32 + 1;
            if line.trim_start().starts_with("//@ clean") {
                clean = true;
            }
            let Some(pos) = line.find("//~") else {
                continue;
            };
            let mut rest = &line[pos + 3..];
            // `//~[2021] lint`: only when the file is analyzed under that edition.
            if let Some(r) = rest.strip_prefix('[') {
                let Some(end) = r.find(']') else { continue };
                if r[..end] != *f.edition.as_str() {
                    continue;
                }
                rest = r[end + 1..].trim_start();
            }
            let carets = rest.chars().take_while(|&c| c == '^').count() as u32;
            let below = rest.chars().take_while(|&c| c == 'v').count() as u32;
            let names = &rest[(carets + below) as usize..];
            let target = (line_no + below).saturating_sub(carets);
            for name in names
                .split([',', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                if !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                    break; // prose after the names
                }
                *exp.entry((f.path.clone(), target, name.to_string()))
                    .or_insert(0) += 1;
            }
        }
    }
    (exp, clean)
}

fn render_short(report: &Report) -> String {
    let mut s = String::new();
    for d in &report.diagnostics {
        let f = report.db.get(d.primary.span.file);
        let lc = f.line_col(d.primary.span.start);
        s.push_str(&format!(
            "{}:{}:{}: {}[lockstep::{}]: {}\n",
            f.path,
            lc.line,
            lc.col,
            d.level.rustc_word(),
            d.lint,
            d.message
        ));
        for l in &d.labels {
            let lf = report.db.get(l.span.file);
            let llc = lf.line_col(l.span.start);
            s.push_str(&format!(
                "    {}:{}:{}: {}\n",
                lf.path, llc.line, llc.col, l.message
            ));
        }
        for n in &d.notes {
            s.push_str(&format!("    note: {n}\n"));
        }
    }
    s
}

fn snapshot_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots/fixtures")
        .join(format!("{name}.txt"))
}

/// The findings as a developer sees them, at a fixed width (not `$COLUMNS`).
fn render_human(report: &Report) -> String {
    let mut out = Vec::new();
    cargo_lockstep::render::human::render(report, false, 100, &mut out).expect("render");
    String::from_utf8(out).expect("utf-8")
}

/// Every lint over one fixture crate: its `//~` expectations, then its rendered snapshot.
fn check(name: &str, rel: &str) {
    let dir = fixtures_root().join(rel);
    let report = cargo_lockstep::analyze_fixture(&dir);
    let (exp, clean) = expectations(&report);
    let mut got: BTreeMap<Key, usize> = BTreeMap::new();
    for d in &report.diagnostics {
        let f = report.db.get(d.primary.span.file);
        let line = f.line_col(d.primary.span.start).line;
        *got.entry((f.path.clone(), line, d.lint.to_string()))
            .or_insert(0) += 1;
    }
    let mut problems = Vec::new();
    if clean && !exp.is_empty() {
        problems.push("marked `//@ clean` but has `//~` expectations".to_string());
    }
    for (k, n) in &exp {
        let g = got.get(k).copied().unwrap_or(0);
        if g < *n {
            problems.push(format!(
                "missing: {}:{}: {} (expected {n}, got {g})",
                k.0, k.1, k.2
            ));
        }
    }
    for (k, n) in &got {
        let e = exp.get(k).copied().unwrap_or(0);
        if *n > e {
            problems.push(format!(
                "unexpected: {}:{}: {} ({n} found, {e} expected)",
                k.0, k.1, k.2
            ));
        }
    }
    for e in &report.io_errors {
        problems.push(format!("io: {e}"));
    }
    assert!(
        problems.is_empty(),
        "== {}\n{}\n-- findings:\n{}",
        dir.display(),
        problems.join("\n"),
        render_short(&report)
    );
    let human = render_human(&report);
    let path = snapshot_path(name);
    if std::env::var_os("LOCKSTEP_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &human).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot {}: run `LOCKSTEP_BLESS=1 cargo test -p cargo-lockstep --test fixtures {name}`",
            path.display()
        )
    });
    if want != human {
        let mut diff = String::new();
        let (w, h): (Vec<&str>, Vec<&str>) = (want.lines().collect(), human.lines().collect());
        for i in 0..w.len().max(h.len()) {
            let (a, b) = (w.get(i), h.get(i));
            if a != b {
                diff.push_str(&format!(
                    "line {}:\n  - {}\n  + {}\n",
                    i + 1,
                    a.unwrap_or(&"<none>"),
                    b.unwrap_or(&"<none>")
                ));
            }
        }
        panic!(
            "{} differs from the rendered findings (bless with LOCKSTEP_BLESS=1 if intended):\n{diff}",
            path.display()
        );
    }
}

macro_rules! fixtures {
    ($($name:ident => $rel:literal,)*) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name), $rel);
            }
        )*
        const LISTED: &[(&str, &str)] = &[$((stringify!($name), $rel)),*];
    };
}

fixtures! {
    cli_broken_root => "cli/broken-root",
    cli_levels => "cli/levels",
    cli_metadata_config => "cli/metadata-config",
    cli_modules => "cli/modules",
    cli_workspace => "cli/workspace",
    deps_feature_cfg => "deps/feature-cfg",
    deps_guard_into_dep => "deps/guard-into-dep",
    deps_missing => "deps/missing",
    deps_path_sync => "deps/path-sync",
    deps_renamed => "deps/renamed",
    deps_vendored => "deps/vendored",
    harness_clean => "harness/clean",
    harness_parse_error => "harness/parse-error",
    kb_q189080_bug => "kb/q189080/bug",
    kb_q189080_fixed => "kb/q189080/fixed",
    kb_q219380_bug => "kb/q219380/bug",
    kb_q219380_fixed => "kb/q219380/fixed",
    kb_q228811_bug => "kb/q228811/bug",
    kb_q228811_fixed => "kb/q228811/fixed",
    kb_q228942_bug => "kb/q228942/bug",
    kb_q228942_fixed => "kb/q228942/fixed",
    kb_q297040_bug => "kb/q297040/bug",
    kb_q297040_fixed => "kb/q297040/fixed",
    locks_async => "locks/async",
    locks_blocking => "locks/blocking",
    locks_blocking_calls => "locks/blocking-calls",
    locks_calls => "locks/calls",
    locks_closure_capture => "locks/closure-capture",
    locks_closure_lock => "locks/closure-lock",
    locks_contracts => "locks/contracts",
    locks_double_lock => "locks/double-lock",
    locks_edition_2021 => "locks/edition-2021",
    locks_edition_2024 => "locks/edition-2024",
    locks_elements => "locks/elements",
    locks_generics => "locks/generics",
    locks_guard_ops => "locks/guard-ops",
    locks_inversion => "locks/inversion",
    locks_irq => "locks/irq",
    locks_macros => "locks/macros",
    locks_no_std_alloc => "locks/no-std-alloc",
    locks_no_std_alloc_off => "locks/no-std-alloc-off",
    locks_precision_guard_owners => "locks/precision/guard-owners",
    locks_precision_iterator_moved => "locks/precision/iterator-moved",
    locks_precision_supertrait_dispatch => "locks/precision/supertrait-dispatch",
    locks_precision_cfg_alternatives => "locks/precision/cfg-alternatives",
    locks_precision_cfg_features => "locks/precision/cfg-features",
    locks_precision_cfg_test_inline => "locks/precision/cfg-test-inline",
    locks_precision_counter_lent => "locks/precision/counter-lent",
    locks_precision_dead_code => "locks/precision/dead-code",
    locks_precision_element_bindings => "locks/precision/element-bindings",
    locks_precision_guard_moved_into_call => "locks/precision/guard-moved-into-call",
    locks_precision_guard_reassign => "locks/precision/guard-reassign",
    locks_precision_guard_struct => "locks/precision/guard-struct",
    locks_precision_if_let_exit_2021 => "locks/precision/if-let-exit-2021",
    locks_precision_if_let_exit_2024 => "locks/precision/if-let-exit-2024",
    locks_precision_inherent_guard => "locks/precision/inherent-guard",
    locks_precision_irq_dyn_dispatch => "locks/precision/irq-dyn-dispatch",
    locks_precision_irq_names_std => "locks/precision/irq-names-std",
    locks_precision_irq_registrar => "locks/precision/irq-registrar",
    locks_precision_lock_helper_param => "locks/precision/lock-helper-param",
    locks_precision_lock_view => "locks/precision/lock-view",
    locks_precision_lookup_args => "locks/precision/lookup-args",
    locks_precision_match_guard_temp => "locks/precision/match-guard-temp",
    locks_precision_own_recv => "locks/precision/own-recv",
    locks_precision_ordered_pair => "locks/precision/ordered-pair",
    locks_precision_ordered_pair_bug => "locks/precision/ordered-pair-bug",
    locks_precision_unshared_object => "locks/precision/unshared-object",
    locks_precision_unshared_object_bug => "locks/precision/unshared-object-bug",
    locks_precision_unshared_handed => "locks/precision/unshared-handed",
    locks_precision_unshared_handed_bug => "locks/precision/unshared-handed-bug",
    locks_precision_own_wrapper_method => "locks/precision/own-wrapper-method",
    locks_precision_raw_named => "locks/precision/raw-named",
    locks_precision_raw_pointer => "locks/precision/raw-pointer",
    locks_precision_returned_read => "locks/precision/returned-read",
    locks_precision_untyped_methods => "locks/precision/untyped-methods",
    locks_precision_unresolved_trait_impl => "locks/precision/unresolved-trait-impl",
    locks_precision_wait_relock => "locks/precision/wait-relock",
    locks_recursive_dispatch => "locks/recursive-dispatch",
    locks_resource => "locks/resource",
    locks_sema_lock_types => "locks/sema/lock-types",
    locks_sema_pattern_bindings => "locks/sema/pattern-bindings",
    locks_sema_resolution => "locks/sema/resolution",
    locks_sema_shared_arc => "locks/sema/shared-arc",
    locks_sema_shared_arc_separate => "locks/sema/shared-arc-separate",
    locks_sema_fn_values => "locks/sema/fn-values",
    locks_sema_asm_masking => "locks/sema/asm-masking",
    locks_sema_deref_locks => "locks/sema/deref-locks",
    locks_sema_value_namespace => "locks/sema/value-namespace",
    locks_sema_global_calls => "locks/sema/global-calls",
    locks_sema_own_sync_locks => "locks/sema/own-sync-locks",
    locks_sema_sleeping_locks => "locks/sema/sleeping-locks",
    locks_resource_pairs => "locks/resource-pairs",
    locks_sema_const_masking => "locks/sema/const-masking",
    locks_sema_untyped_locals => "locks/sema/untyped-locals",
    locks_sema_weak_upgrade => "locks/sema/weak-upgrade",
    locks_spin_loop => "locks/spin-loop",
    locks_traps => "locks/traps",
    locks_unreleased => "locks/unreleased",
    locks_workspace => "locks/workspace",
    reference_stack => "reference-stack",
    seq_arith_raw => "seq/arith-raw",
    seq_arith_raw_fixed => "seq/arith-raw-fixed",
    seq_by_name => "seq/by-name",
    seq_by_name_fixed => "seq/by-name-fixed",
    seq_compare_raw => "seq/compare-raw",
    seq_compare_raw_fixed => "seq/compare-raw-fixed",
    seq_counted_step => "seq/counted-step",
    seq_cross_file => "seq/cross-file",
    seq_cross_file_fixed => "seq/cross-file-fixed",
    seq_fix_roundtrip_input => "seq/fix-roundtrip/input",
    seq_isn => "seq/isn",
    seq_isn_fixed => "seq/isn-fixed",
    seq_isn_random_seq => "seq/isn-random-seq",
    seq_isn_random_seq_fixed => "seq/isn-random-seq-fixed",
    seq_newtype_derive => "seq/newtype-derive",
    seq_newtype_derive_fixed => "seq/newtype-derive-fixed",
    seq_newtype_dot0 => "seq/newtype-dot0",
    seq_newtype_dot0_fixed => "seq/newtype-dot0-fixed",
    seq_not_seq => "seq/not-seq",
    seq_resolved_types => "seq/resolved-types",
    seq_resolved_types_u32 => "seq/resolved-types-u32",
    seq_wrapping_alias => "seq/wrapping-alias",
    seq_wrapping_alias_fixed => "seq/wrapping-alias-fixed",
    suppress_silenced => "suppress/silenced",
    suppress_stale => "suppress/stale",
}

#[test]
fn every_fixture_crate_is_listed() {
    let mut dirs = Vec::new();
    units(&fixtures_root(), &mut dirs);
    let found: Vec<String> = dirs
        .iter()
        .map(|d| {
            d.strip_prefix(fixtures_root())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    let listed: Vec<String> = LISTED.iter().map(|(_, r)| r.to_string()).collect();
    let missing: Vec<&String> = found.iter().filter(|f| !listed.contains(f)).collect();
    let gone: Vec<&String> = listed.iter().filter(|l| !found.contains(l)).collect();
    assert!(
        missing.is_empty() && gone.is_empty(),
        "fixture crates not listed in tests/fixtures.rs: {missing:?}; listed but not found: {gone:?}"
    );
    // and no snapshot is left without its fixture
    let snaps = std::fs::read_dir(snapshot_path("x").parent().unwrap())
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .trim_end_matches(".txt")
                        .to_string()
                })
                .filter(|n| !LISTED.iter().any(|(l, _)| l == n))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    assert!(snaps.is_empty(), "snapshots without a fixture: {snaps:?}");
}
