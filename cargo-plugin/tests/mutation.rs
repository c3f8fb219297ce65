//! Measured recall: bugs injected one at a time into the reference stack (and, opt-in, into
//! smoltcp's TCP code), each checked for the lint that should report it.
//!
//! `LOCKSTEP_WRITE_RECALL=1` rewrites `docs/recall.md` from the results.
//! `LOCKSTEP_SMOLTCP=<dir of smoltcp>` (or `=1` to look in `~/.cargo/registry`) runs the
//! sequence-number operators over smoltcp's `socket/tcp.rs` and `wire/tcp.rs`.

mod mutation_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mutation_support::ops::{self, Model};
use mutation_support::{markdown, run_all, tally, Outcome, Workspace};

/// Required recall per operator, in percent.
const BAR: f64 = 95.0;
/// Required mutants per operator where the code has the sites.
const MIN_MUTANTS: usize = 20;

/// Operators below the bar today: (operator, caught, total, reason). The test fails when a
/// listed operator reaches the bar, so the list only shrinks.
const EXPECTED_BELOW: &[(&str, usize, usize, &str)] = &[
    (
        "drop_release",
        3,
        8,
        "a raw lock (`RawMutex::lock`/`unlock`, `spin_lock_irqsave`/`spin_unlock_irqrestore`) \
         whose only release is removed is not reported: the function then holds the lock on \
         every exit and `unreleased_lock` stays silent (wan.rs: `with_queues`, `fragments`, \
         `send` twice, `rebalance`); removing one release of several is caught",
    ),
    (
        "nest_inverted",
        4,
        5,
        "tcp/mod.rs:284: the inserted `self.table` acquisition is also a self-deadlock, since \
         the function is called with `table` held (`double_lock` at tcp/mod.rs:497): the \
         mutant injects two bugs and the second one is reported too",
    ),
    (
        "leak_credit",
        4,
        6,
        "lbfilter.rs:207 and :209: a credit leaked on the error path of `self.lower.send(..)` \
         is not reported: a frame passed to a call counts as handed off whatever the call \
         returns, so the `Err` path (no completion will come) looks like a hand-off",
    ),
];

/// Operators with fewer than [`MIN_MUTANTS`] sites in the reference stack, and why.
const FEW_SITES: &[(&str, &str)] = &[
    (
        "drop_release",
        "the stack releases by hand only in `driver/src/wan.rs` (7 raw releases); of its 9 \
         `drop(guard)` calls only one is followed by another acquisition of the same lock",
    ),
    (
        "swap_acquisitions",
        "no function of the stack nests two `let` acquisitions in one block: its nested locks \
         are taken through helpers (`Connection::tcb`, `with_queues`, `dyn NicOps`); \
         `nest_inverted` generates the inversion sites instead",
    ),
    (
        "nest_inverted",
        "only `TcpStack`, `LbFilter` and `Nic` have two ordered locks of their own; `Nic.events` \
         is left out (taken by the interrupt handler: an inserted acquisition would also be an \
         interrupt hazard)",
    ),
    (
        "leak_credit",
        "one counted resource (`LbFilter.credits`) with two give-backs on error paths",
    ),
    (
        "raw_compare",
        "most sequence logic goes through `SeqNum` methods; every comparison of two values \
         typed as sequence numbers and every `in_window` call is mutated",
    ),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4)
}

fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn_scoped(s, f)
            .expect("spawn")
            .join()
            .expect("the harness panicked")
    })
}

struct Run {
    ops: Vec<&'static str>,
    outcomes: Vec<Outcome>,
    skipped: Vec<String>,
}

fn reference_run() -> Run {
    on_big_stack(|| {
        let ws = Workspace::load_fixture(&root().join("fixtures/reference-stack"));
        assert!(ws.io_errors.is_empty(), "{:?}", ws.io_errors);
        assert!(
            ws.baseline.is_empty(),
            "the reference stack has findings: {:?}",
            ws.baseline
        );
        let model = Model::build(&ws, &["SeqNum"], None);
        let (mut mutants, skipped) = model.lock_mutants();
        mutants.extend(model.seq_mutants());
        let outcomes = run_all(&ws, &mutants, threads());
        let mut ops_list: Vec<&'static str> = ops::LOCK_OPS.to_vec();
        ops_list.extend(ops::SEQ_OPS);
        Run {
            ops: ops_list,
            outcomes,
            skipped,
        }
    })
}

fn notes() -> BTreeMap<&'static str, String> {
    let mut n = BTreeMap::new();
    for (op, why) in FEW_SITES {
        n.entry(*op)
            .or_insert_with(String::new)
            .push_str(&format!("\n  * fewer than {MIN_MUTANTS} sites: {why}."));
    }
    for (op, _, _, why) in EXPECTED_BELOW {
        n.entry(*op)
            .or_insert_with(String::new)
            .push_str(&format!("\n  * below {BAR}%: {why}."));
    }
    n
}

const HEADER: &str = "# Measured recall\n\n\
Generated by `LOCKSTEP_WRITE_RECALL=1 cargo test -p cargo-lockstep --test mutation`; do not edit by hand.\n\n\
Each mutant injects one bug into an otherwise clean tree: sites are found by parsing the sources\n\
with syn (every matching site, none picked by hand) and each mutant is analyzed on its own, in\n\
memory. A mutant is **caught** when a finding of the expected lint that the unmutated tree does\n\
not have points (primary span or a label) into the mutated function or within 3 lines of the\n\
mutated site, and no finding of another lint appears that the unmutated tree does not have.\n\n";

const OPERATORS_DOC: &str = r#"## Operators

* `drop_release` — remove one release: a raw `unlock()` / `spin_unlock_irqrestore` (expects
  `unreleased_lock`), or a `drop(guard)` when the same lock is taken again later in the function,
  directly or through a method of the same type (expects `double_lock`). A `drop(guard)` with no
  later acquisition injects no bug (the guard ends with its scope) and is listed, not counted.
* `early_return` — `if black_box(true) { return Default::default(); }` after a raw acquisition and
  after every later statement of its block while the lock is held (expects `unreleased_lock`).
* `swap_acquisitions` — two nested `let` acquisitions of one block swapped (expects
  `lock_order_inversion`, against the configured `lock_order`).
* `nest_inverted` — `drop(self.outer.lock())` inserted while an inner lock of the same type is held,
  `outer` coming first in `lock_order` (generated sites for the inversion class; a sleeping lock is
  only inserted under a sleeping one). Expects `lock_order_inversion`.
* `call_back` — right after `let g = self.l.lock()`, a call to the first method of the same type
  that locks `self.l` and no other lock, directly or through methods of its type (arguments
  `Default::default()`). Expects `double_lock`.
* `sleep_under_spin` — `std::thread::sleep(..)` after every spin-lock acquisition (expects
  `blocking_under_spinlock`).
* `leak_credit` — in a function that takes a counted resource (`x -= 1` / `fetch_sub(1)` on a
  counter the file also gives back): remove a give-back (`return_credit()`, `x += 1`,
  `fetch_add(1)`), or return right after the take, after every later statement of its block up to
  the first one that gives back, and at the start of every later block that gives back (expects
  `resource_leak`).
* `irq_plain_lock` — `lock_irqsave()` → `lock()` on a lock the interrupt handler takes, and
  `drop(self.l.lock())` of that lock at the start of every other method of the handler's type that
  the handler does not call and that does not use the lock (expects `irq_unsafe_lock`).
* `raw_compare` — a comparison of two sequence values (`<`, `<=`, `>`, `>=`, `cmp`, `partial_cmp`,
  `max`, `min`) made on the raw integers (`a.0 < b.0`), `(a.wrapping_sub(b) as i32) < 0` made
  `a < b`, and `a.in_window(s, n)` written out as raw compares (expects `seq_compare`). Sequence
  values are recognized by declared type (fields, parameters, typed locals), locals initialized
  from one (`let end = seq + len`), and `Some(x)` / closure parameters over an `Option` of one.
* `raw_add` — `s + n` / `s - n` / `s += n` on a sequence value made on the raw integer
  (`SeqNum(s.0 + n)`), the distance `a - b` of two sequence values made `(a.0 - b.0)`, and
  `x.0.wrapping_add(n)` / `x.0.wrapping_sub(n)` made `x.0 + n` / `x.0 - n` (expects `seq_arith`).
  An addition inside a mutated compare is not mutated on its own.

Every edit keeps the file's line count, so findings of a mutant and of the unmutated tree compare
by file, line, lint and message.

"#;

fn write_recall(section: &str, body: &str) {
    if std::env::var_os("LOCKSTEP_WRITE_RECALL").is_none() {
        return;
    }
    // the two tests may finish at once
    static WRITE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _held = WRITE.lock().unwrap_or_else(|e| e.into_inner());
    let path = root().join("docs/recall.md");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let mut sections: BTreeMap<String, String> = BTreeMap::new();
    let mut cur: Option<String> = None;
    for line in old.lines() {
        if let Some(name) = line
            .strip_prefix("<!-- section: ")
            .and_then(|l| l.strip_suffix(" -->"))
        {
            cur = Some(name.to_string());
            sections.insert(name.to_string(), String::new());
            continue;
        }
        if line == "<!-- end -->" {
            cur = None;
            continue;
        }
        if let Some(c) = &cur {
            let s = sections.get_mut(c).unwrap();
            s.push_str(line);
            s.push('\n');
        }
    }
    sections.insert(section.to_string(), body.to_string());
    let mut out = String::from(HEADER);
    out.push_str(OPERATORS_DOC);
    for name in ["reference-stack", "smoltcp"] {
        if let Some(b) = sections.get(name) {
            out.push_str(&format!("<!-- section: {name} -->\n{b}<!-- end -->\n\n"));
        }
    }
    std::fs::write(&path, out.trim_end().to_string() + "\n").expect("write docs/recall.md");
}

#[test]
fn recall_on_the_reference_stack() {
    let start = std::time::Instant::now();
    let run = reference_run();
    let elapsed = start.elapsed();
    let mut body = String::from("## Reference stack\n\n");
    body.push_str(&markdown(&run.ops, &run.outcomes, &notes()));
    if !run.skipped.is_empty() {
        body.push_str("\nSites not turned into mutants:\n\n");
        for s in &run.skipped {
            body.push_str(&format!("* {s}\n"));
        }
    }
    write_recall("reference-stack", &body);
    if std::env::var_os("LOCKSTEP_LIST_MUTANTS").is_some() {
        for o in &run.outcomes {
            let m = &o.mutant;
            eprintln!("{} {}:{} {} [{}]", m.op, m.path, m.line, m.desc, o.caught);
        }
    }
    eprintln!("{body}\n{} mutants in {elapsed:?}", run.outcomes.len());

    let (by_op, _) = tally(&run.ops, &run.outcomes);
    let mut failures = Vec::new();
    for (op, t) in &by_op {
        let few = FEW_SITES.iter().any(|(o, _)| o == op);
        if t.total < MIN_MUTANTS && !few {
            failures.push(format!("`{op}`: only {} mutants", t.total));
        }
        if t.total >= MIN_MUTANTS && few {
            failures.push(format!(
                "`{op}`: {} mutants, remove it from FEW_SITES",
                t.total
            ));
        }
        if t.total == 0 {
            continue;
        }
        let below = EXPECTED_BELOW.iter().find(|(o, ..)| o == op);
        match below {
            None if t.recall() < BAR => failures.push(format!(
                "`{op}`: recall {:.1}% ({}/{}) below {BAR}%",
                t.recall(),
                t.caught,
                t.total
            )),
            Some(_) if t.recall() >= BAR => failures.push(format!(
                "`{op}`: recall {:.1}% reaches the bar; remove it from EXPECTED_BELOW",
                t.recall()
            )),
            Some((_, c, n, _)) if (t.caught, t.total) != (*c, *n) => failures.push(format!(
                "`{op}`: {}/{} caught, EXPECTED_BELOW says {c}/{n}",
                t.caught, t.total
            )),
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn smoltcp_dir() -> Option<PathBuf> {
    let v = std::env::var("LOCKSTEP_SMOLTCP").ok()?;
    if v != "1" {
        return Some(PathBuf::from(v));
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let reg = home.join("registry/src");
    let mut found: Vec<PathBuf> = std::fs::read_dir(reg)
        .ok()?
        .flatten()
        .map(|e| e.path().join("smoltcp-0.12.0"))
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    found.into_iter().next()
}

/// Opt-in: the sequence operators on smoltcp's TCP code, code nobody here wrote.
#[test]
fn seq_recall_on_smoltcp() {
    let Some(dir) = smoltcp_dir() else {
        eprintln!("LOCKSTEP_SMOLTCP not set (or smoltcp-0.12.0 not found); skipped");
        return;
    };
    let run = on_big_stack(|| {
        let ws = Workspace::load_dir(&dir.join("src"), &lockstep_analyzer::Config::default());
        let model = Model::build(
            &ws,
            &["TcpSeqNumber", "SeqNumber"],
            Some(&["socket/tcp.rs", "wire/tcp.rs"]),
        );
        let mutants = model.seq_mutants();
        let outcomes = run_all(&ws, &mutants, threads());
        (ws.baseline.len(), outcomes)
    });
    let (baseline, outcomes) = run;
    let mut body = format!(
        "## smoltcp 0.12.0 (`src/socket/tcp.rs`, `src/wire/tcp.rs`)\n\n\
         Opt-in: `LOCKSTEP_SMOLTCP=1 LOCKSTEP_WRITE_RECALL=1 cargo test -p cargo-lockstep --test mutation seq_recall_on_smoltcp`.\n\
         The crate's `src/` is analyzed with the default configuration ({baseline} findings before any mutation);\n\
         sites are taken from the two TCP files only, with `TcpSeqNumber` (`SeqNumber` in `wire/tcp.rs`) as the sequence type.\n\n"
    );
    body.push_str(&markdown(ops::SEQ_OPS, &outcomes, &BTreeMap::new()));
    write_recall("smoltcp", &body);
    if std::env::var_os("LOCKSTEP_LIST_MUTANTS").is_some() {
        for o in &outcomes {
            let m = &o.mutant;
            eprintln!("{} {}:{} {} [{}]", m.op, m.path, m.line, m.desc, o.caught);
        }
    }
    eprintln!("{body}");
    assert!(!outcomes.is_empty(), "no sequence sites found in smoltcp");
}
