//! Differential test of guard lifetimes against rustc.
//!
//! The generated programs (see `difftest/mod.rs`) are compiled with `rustc` under editions
//! 2021 and 2024 and run; each marker prints which locks are held at that point. The analyzer
//! computes, at the same marker calls, the set of held-sets reaching them. Then:
//! - soundness: every held-set observed at run time is one of the analyzer's held-sets there;
//! - precision: in cases without data-dependent control flow, the analyzer's set is exactly the
//!   observed held-set.
//!
//! A disagreement is attributed to the template that took the lock in question. Known
//! disagreements are listed in `EXPECTED_DISAGREEMENTS`, each with its reason; the test fails
//! on any other disagreement and on a listed one that no longer happens.
//!
//! `rustc` is taken from `$RUSTC` or `PATH`; when it cannot be run, the test says so and passes.

mod difftest;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use lockstep_analyzer::ir::Callee;
use lockstep_analyzer::{Config, Edition, SourceDb, SourceFile};

type HeldSet = BTreeSet<String>;
type Answers = BTreeMap<String, BTreeSet<HeldSet>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// A held-set seen at run time that the analyzer does not have.
    Unsound,
    /// The analyzer has held-sets that never happen in a straight-line case.
    Imprecise,
}

/// (template, editions, kind, reason).
const EXPECTED_DISAGREEMENTS: &[(&str, &[u32], Kind, &str)] = &[
    // None today. Add `(template, editions, kind, reason)` for a construct the analyzer
    // cannot follow yet; the test fails when a listed one starts agreeing.
];

fn rustc() -> String {
    std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string())
}

fn out_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("rustc_differential")
}

/// Compile and run the program; `Err` when rustc is missing, panics when it fails otherwise.
fn observe(src: &str, edition: u32) -> Result<Answers, String> {
    let dir = out_dir().join(format!("e{edition}"));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let file = dir.join("difft.rs");
    std::fs::write(&file, src).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    let exe = dir.join("difft");
    let out = match Command::new(rustc())
        .arg("--edition")
        .arg(edition.to_string())
        .args([
            "-C",
            "opt-level=0",
            "-C",
            "debuginfo=0",
            "--cap-lints",
            "allow",
        ])
        .arg("-o")
        .arg(&exe)
        .arg(&file)
        .output()
    {
        Ok(o) => o,
        Err(e) => return Err(format!("cannot run rustc: {e}")),
    };
    assert!(
        out.status.success(),
        "rustc --edition {edition} failed on {}:\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let run = run_with_deadline(&exe);
    assert!(
        run.status.success(),
        "{} failed:\n{}",
        exe.display(),
        String::from_utf8_lossy(&run.stderr)
    );
    let mut answers = Answers::new();
    for line in String::from_utf8_lossy(&run.stdout).lines() {
        let mut parts = line.split_whitespace();
        let Some(id) = parts.next() else { continue };
        let held: HeldSet = parts.map(str::to_string).collect();
        answers.entry(id.to_string()).or_default().insert(held);
    }
    Ok(answers)
}

/// Run the program, killing it if it hangs (a generated case that deadlocks is a generator bug).
fn run_with_deadline(exe: &Path) -> std::process::Output {
    let out_file = exe.with_extension("out");
    let stdout = std::fs::File::create(&out_file).expect("create the output file");
    let mut child = Command::new(exe)
        .stdout(stdout)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the compiled program");
    let start = std::time::Instant::now();
    loop {
        if let Some(_status) = child.try_wait().expect("wait for the program") {
            break;
        }
        if start.elapsed() > std::time::Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            let out = std::fs::read_to_string(&out_file).unwrap_or_default();
            panic!(
                "{} hangs; last output: {:?}",
                exe.display(),
                out.lines().last()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut out = child.wait_with_output().expect("program output");
    out.stdout = std::fs::read(&out_file).expect("read the output file");
    out
}

/// The analyzer's held-sets at every `probe(..)` call.
fn analyze(src: &str, edition: Edition) -> Answers {
    let mut db = SourceDb::new();
    let id =
        db.add(SourceFile::new(db.next_id(), "difft.rs", src).with_crate("difft", vec![], edition));
    let config = Config::default();
    let lowered = lockstep_analyzer::lower_file_with(db.get(id), &config);
    assert!(
        lowered.parse_error.is_none(),
        "generated source does not parse"
    );
    let analysis = lockstep_analyzer::analyze(&db, vec![lowered], &config);
    let mut answers = Answers::new();
    for flow in &analysis.flows {
        assert!(!flow.budget_hit && !flow.truncated, "partial flow");
        for call in &flow.calls {
            let Callee::Path(segs) = &*call.callee else {
                continue;
            };
            if segs.len() != 1 || segs[0] != "probe" {
                continue;
            }
            let text = db.snippet(call.span);
            let Some(id) = text.split('"').nth(1) else {
                continue;
            };
            let held: HeldSet = call
                .held
                .iter()
                .map(|h| h.lock.instance.to_string())
                .collect();
            answers.entry(id.to_string()).or_default().insert(held);
        }
    }
    answers
}

fn show(sets: &BTreeSet<HeldSet>) -> String {
    let v: Vec<String> = sets
        .iter()
        .map(|s| format!("{{{}}}", s.iter().cloned().collect::<Vec<_>>().join(",")))
        .collect();
    v.join(" ")
}

struct Found {
    count: usize,
    example: String,
}

#[test]
fn guard_lifetimes_agree_with_rustc() {
    let cases = difftest::generate();
    let src = difftest::render(&cases);
    let case_of = |marker: &str| -> &difftest::Case {
        let idx: usize = marker
            .trim_start_matches('c')
            .split('_')
            .next()
            .and_then(|s| s.parse().ok())
            .expect("marker id");
        &cases[idx]
    };
    let editions = [(2021u32, Edition::E2021), (2024u32, Edition::E2024)];
    let observed: Vec<Result<Answers, String>> = std::thread::scope(|s| {
        let hs: Vec<_> = editions
            .iter()
            .map(|(ed, _)| {
                let src = &src;
                s.spawn(move || observe(src, *ed))
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("observer thread"))
            .collect()
    });
    let mut found: BTreeMap<(&'static str, u32, Kind), Found> = BTreeMap::new();
    let mut summary = Vec::new();
    for ((ed, edition), obs) in editions.iter().zip(observed) {
        let obs = match obs {
            Ok(o) => o,
            Err(e) => {
                eprintln!("rustc differential test skipped: {e}");
                return;
            }
        };
        let ana = analyze(&src, *edition);
        let markers: usize = obs.len();
        summary.push(format!(
            "edition {ed}: {} programs, {markers} markers hit",
            cases.len()
        ));
        let mut note = |tpl: &'static str, kind: Kind, msg: String| {
            let e = found.entry((tpl, *ed, kind)).or_insert(Found {
                count: 0,
                example: String::new(),
            });
            if e.count == 0 {
                e.example = msg;
            }
            e.count += 1;
        };
        for (marker, seen) in &obs {
            let case = case_of(marker);
            let empty = BTreeSet::new();
            let got = ana.get(marker).unwrap_or(&empty);
            let describe = || {
                format!(
                    "{} at {marker}: rustc {} / analyzer {}\n{}",
                    case.name(),
                    show(seen),
                    show(got),
                    case.code
                )
            };
            for s in seen {
                if got.contains(s) {
                    continue;
                }
                // Blame the locks on which the closest analyzer held-set differs.
                let blame: BTreeSet<String> = got
                    .iter()
                    .map(|a| a.symmetric_difference(s).cloned().collect::<BTreeSet<_>>())
                    .min_by_key(|d| d.len())
                    .unwrap_or_else(|| s.clone());
                let blame: BTreeSet<&'static str> = if blame.is_empty() {
                    case.templates.iter().copied().collect()
                } else {
                    blame.iter().map(|l| case.owner_of(l)).collect()
                };
                for t in blame {
                    note(t, Kind::Unsound, describe());
                }
            }
            if case.exact {
                for a in got {
                    if seen.contains(a) {
                        continue;
                    }
                    let blame: BTreeSet<&'static str> = seen
                        .iter()
                        .map(|s| a.symmetric_difference(s).cloned().collect::<BTreeSet<_>>())
                        .min_by_key(|d| d.len())
                        .unwrap_or_default()
                        .iter()
                        .map(|l| case.owner_of(l))
                        .collect();
                    for t in blame {
                        note(t, Kind::Imprecise, describe());
                    }
                }
            }
        }
    }
    eprintln!("{}", summary.join("\n"));
    let mut failures = Vec::new();
    for ((tpl, ed, kind), f) in &found {
        let listed = EXPECTED_DISAGREEMENTS
            .iter()
            .any(|(t, eds, k, _)| t == tpl && eds.contains(ed) && k == kind);
        eprintln!(
            "{} disagreement: template `{tpl}`, edition {ed}, {kind:?}: {} marker(s)",
            if listed { "expected" } else { "UNEXPECTED" },
            f.count
        );
        if !listed {
            failures.push(format!(
                "template `{tpl}`, edition {ed}, {kind:?} ({} markers); first:\n{}",
                f.count, f.example
            ));
        }
    }
    for (tpl, eds, kind, reason) in EXPECTED_DISAGREEMENTS {
        for ed in *eds {
            if !found.contains_key(&(*tpl, *ed, *kind)) {
                failures.push(format!(
                    "listed disagreement no longer happens (remove it): template `{tpl}`, edition {ed}, {kind:?} ({reason})"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreement group(s) with rustc:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
