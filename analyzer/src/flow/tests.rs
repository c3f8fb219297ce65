//! The locks held at marked points. Each test lowers one source file, runs the flow analysis
//! on every function and prints, for every call to `probe()`, each distinct set of locks held
//! there (one line per set: the analysis is path by path), as
//! `line 7: held [self.a, self.b (read)]`; a `probe()` no path reaches prints `never reached`.
//! `check_exits` also prints the exits of every method (the functions under test). The
//! expected text is compared line by line after trimming, so it can be indented with the test;
//! on a mismatch the actual text is printed, ready to paste.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Config;
use crate::index::{FnRef, Index};
use crate::ir::Callee;
use crate::source::{Edition, FileId, SourceDb, SourceFile};

use super::{analyze_fn, FnFlow, HeldLock};

/// Lower `text` (one file of crate `demo`) and explore every function with a body.
fn flows(text: &str, edition: Edition) -> (SourceDb, Vec<FnFlow>, Vec<(String, bool)>) {
    let mut db = SourceDb::new();
    let id = db.add(SourceFile::new(FileId(0), "lib.rs", text).with_crate("demo", vec![], edition));
    let files = vec![crate::lower::lower_file(db.get(id))];
    let mut ix = Index::build(&files);
    let returns = crate::resolve::returns::returned_guards(&ix, &files);
    for _ in 0..2 {
        ix.code_locks = crate::resolve::locktypes::compute(&ix, &files, &returns);
    }
    let by_pos: BTreeMap<FnRef, usize> = ix.fns.iter().enumerate().map(|(i, r)| (*r, i)).collect();
    let config = Config::default();
    let flows: Vec<FnFlow> = ix
        .fns
        .iter()
        .filter_map(|&r| analyze_fn(&ix, &files, r, &config, &returns, &by_pos))
        .collect();
    let names = flows
        .iter()
        .map(|f| {
            let d = ix.func(&files, f.func);
            (d.name.to_string(), d.self_ty.is_some())
        })
        .collect();
    (db, flows, names)
}

fn held_text(held: &[HeldLock]) -> String {
    let locks: Vec<String> = held
        .iter()
        .map(|h| {
            let mut notes = Vec::new();
            if h.mode == crate::ir::Mode::Read {
                notes.push("read".to_string());
            }
            if h.is_try {
                notes.push("try".to_string());
            }
            if h.style == crate::ir::AcqStyle::Raw {
                notes.push("raw".to_string());
            }
            if h.stale {
                notes.push("stale".to_string());
            }
            if let Some((_, how)) = &h.leaked {
                notes.push(format!("leaked by {how}"));
            }
            if notes.is_empty() {
                h.lock.instance.to_string()
            } else {
                format!("{} ({})", h.lock.instance, notes.join(", "))
            }
        })
        .collect();
    format!("[{}]", locks.join(", "))
}

fn render(text: &str, edition: Edition, exits: bool) -> String {
    let (db, flows, names) = flows(text, edition);
    let file = db.get(FileId(0));
    let line = |span: crate::source::Span| file.line_col(span.start).line;
    // line → the held sets seen there (sorted and deduplicated: events are per state)
    let mut at: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    for (i, l) in text.lines().enumerate() {
        if l.contains("probe()") && !l.contains("fn probe") {
            at.insert(i as u32 + 1, BTreeSet::new());
        }
    }
    for flow in &flows {
        for c in &flow.calls {
            if matches!(&*c.callee, Callee::Path(p) if p.len() == 1 && p[0] == "probe") {
                let held = format!("held {}", held_text(&c.held));
                at.entry(line(c.span)).or_default().insert(held);
            }
        }
    }
    let mut out = Vec::new();
    for (l, sets) in &at {
        if sets.is_empty() {
            out.push(format!("line {l}: never reached"));
        }
        for s in sets {
            out.push(format!("line {l}: {s}"));
        }
    }
    if exits {
        for (flow, (name, method)) in flows.iter().zip(&names) {
            if !method {
                continue;
            }
            let mut seen = BTreeSet::new();
            for e in &flow.exits {
                let mut s = format!(
                    "fn {name} exit line {}: held {}",
                    line(e.span),
                    held_text(&e.held)
                );
                if !e.returned.is_empty() {
                    s.push_str(&format!(", returned {}", held_text(&e.returned)));
                }
                seen.insert(s);
            }
            out.extend(seen);
        }
    }
    out.join("\n")
}

fn trimmed(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[track_caller]
fn check_in(edition: Edition, text: &str, expect: &str) {
    let got = render(text, edition, false);
    assert_eq!(trimmed(&got), trimmed(expect), "\nactual:\n{got}\n");
}

#[track_caller]
fn check(text: &str, expect: &str) {
    check_in(Edition::E2021, text, expect);
}

#[track_caller]
fn check_exits(text: &str, expect: &str) {
    let got = render(text, Edition::E2021, true);
    assert_eq!(trimmed(&got), trimmed(expect), "\nactual:\n{got}\n");
}

const PRELUDE: &str = "use std::sync::{Mutex, MutexGuard, RwLock};
struct S { a: Mutex<Vec<u32>>, b: Mutex<u32>, r: RwLock<u32> }
struct W<'a> { g: MutexGuard<'a, u32> }
fn probe() {}
fn two<A, B>(_: A, _: B) {}
fn consume<T>(_: T) {}
fn spin_lock(_: &u32) {}
fn spin_unlock(_: &u32) {}
";

/// The prelude, then `body` inside `impl S`: line numbers count from the prelude's first line,
/// the body's first line (the empty one after the opening quote) is line 10.
fn s(body: &str) -> String {
    format!("{PRELUDE}impl S {{\n{body}}}\n")
}

#[test]
fn guard_held_to_end_of_its_scope() {
    check(
        &s("
    fn f(&self) {
        let g = self.a.lock().unwrap();
        probe();
        {
            let h = self.b.lock().unwrap();
            probe();
        }
        probe();
    }
"),
        "
            line 13: held [self.a]
            line 16: held [self.a, self.b]
            line 18: held [self.a]
        ",
    );
}

#[test]
fn drop_and_underscore_bindings() {
    check(
        &s("
    fn f(&self) {
        let g = self.a.lock().unwrap();
        probe();
        drop(g);
        probe();
        let _ = self.b.lock().unwrap();
        probe();
        let _g = self.b.lock().unwrap();
        probe();
    }
    fn shadowed(&self) {
        let g = self.a.lock().unwrap();
        let g = self.b.lock().unwrap();
        probe();
    }
"),
        "
            line 13: held [self.a]
            line 15: held []
            line 17: held []
            line 19: held [self.b]
            line 24: held [self.a, self.b]
        ",
    );
}

#[test]
fn temporary_guard_lives_to_the_end_of_its_statement() {
    check(
        &s("
    fn f(&self) {
        self.a.lock().unwrap().push(1);
        probe();
        two(self.a.lock().unwrap().len(), probe());
        let n = self.a.lock().unwrap().len();
        probe();
        let n = { self.a.lock().unwrap().len() };
        probe();
        let v = self.a.lock().unwrap();
        let m = *self.b.lock().unwrap();
        probe();
    }
"),
        "
            line 13: held []
            line 14: held [self.a]
            line 16: held []
            line 18: held []
            line 21: held [self.a]
        ",
    );
}

const SCRUTINEES: &str = "
    fn f(&self) {
        if let Some(x) = self.a.lock().unwrap().first() {
            probe();
        } else {
            probe();
        }
        probe();
        match self.a.lock().unwrap().len() {
            0 => probe(),
            _ => {}
        }
        probe();
        while let Some(x) = self.a.lock().unwrap().pop() {
            probe();
        }
        probe();
    }
";

#[test]
fn scrutinee_temporaries_edition_2021() {
    // The `if let` scrutinee's temporary lives through the `else` branch too.
    check_in(
        Edition::E2021,
        &s(SCRUTINEES),
        "
            line 13: held [self.a]
            line 15: held [self.a]
            line 17: held []
            line 19: held [self.a]
            line 22: held []
            line 24: held [self.a]
            line 26: held []
        ",
    );
}

#[test]
fn scrutinee_temporaries_edition_2024() {
    // Dropped before the `else` branch; `match` and `while let` keep it as in 2021.
    check_in(
        Edition::E2024,
        &s(SCRUTINEES),
        "
            line 13: held [self.a]
            line 15: held []
            line 17: held []
            line 19: held [self.a]
            line 22: held []
            line 24: held [self.a]
            line 26: held []
        ",
    );
}

#[test]
fn if_condition_and_match_on_the_lock_result() {
    // An `if` condition's temporaries are dropped before the block; a `match` on `lock()`
    // holds the lock in both arms (the `Err` holds the guard in a `PoisonError`), and a guard
    // moved out of the scrutinee goes with its binding.
    check(
        &s("
    fn f(&self) {
        if self.a.lock().unwrap().is_empty() {
            probe();
        }
        probe();
        match self.b.lock() {
            Ok(g) => probe(),
            Err(_) => probe(),
        }
        probe();
        if let Ok(g) = self.b.lock() {
            drop(g);
            probe();
        }
    }
"),
        "
            line 13: held []
            line 15: held []
            line 17: held [self.b]
            line 18: held [self.b]
            line 20: held []
            line 23: held []
        ",
    );
}

#[test]
fn guard_returned_to_the_caller() {
    check_exits(
        &s("
    fn get(&self) -> MutexGuard<'_, u32> {
        let g = self.b.lock().unwrap();
        probe();
        g
    }
    fn wrap(&self) -> W<'_> {
        W { g: self.b.lock().unwrap() }
    }
    fn user(&self) {
        let g = self.get();
        probe();
        drop(g);
        probe();
        let w = self.wrap();
        probe();
    }
"),
        "
            line 13: held [self.b]
            line 21: held [self.b]
            line 23: held []
            line 25: held [self.b]
            fn get exit line 15: held [], returned [self.b]
            fn wrap exit line 18: held [], returned [self.b]
            fn user exit line 26: held []
        ",
    );
}

#[test]
fn loops() {
    check(
        &s("
    fn f(&self, n: u32) {
        for i in 0..n {
            let g = self.a.lock().unwrap();
            probe();
        }
        probe();
        let mut g = self.b.lock().unwrap();
        loop {
            probe();
            if *g > 3 { break; }
            drop(g);
            probe();
            g = self.b.lock().unwrap();
        }
        probe();
    }
"),
        "
            line 14: held [self.a]
            line 16: held []
            line 19: held [self.b]
            line 22: held []
            line 25: held [self.b]
        ",
    );
}

/// A loop that reassigns the local a held lock is rooted at reaches the same state on every
/// iteration: the lock is stale once, not once more per iteration (a count made every
/// iteration a new state, and the exploration ran to its step budget).
#[test]
fn reassigning_the_lock_root_in_a_loop_converges() {
    let text = s("
    fn f(&self, mut m: &Mutex<u32>, others: &[&Mutex<u32>]) {
        let g = m.lock().unwrap();
        probe();
        for o in others {
            m = o;
            probe();
        }
        probe();
    }
");
    check(
        &text,
        "
            line 13: held [m]
            line 16: held [m (stale)]
            line 18: held [m (stale)]
            line 18: held [m]
        ",
    );
    let (_, flows, _) = flows(&text, Edition::E2021);
    assert!(
        flows.iter().all(|f| !f.budget_hit),
        "a flow ran to its step budget"
    );
}

#[test]
fn early_returns_release_the_guards() {
    check_exits(
        &s("
    fn question(&self, x: Option<u32>) -> Option<u32> {
        let g = self.a.lock().unwrap();
        let v = x?;
        probe();
        Some(v)
    }
    fn in_loop(&self, n: u32) -> u32 {
        let g = self.b.lock().unwrap();
        for i in 0..n {
            if i == 3 { return 1; }
            probe();
        }
        0
    }
"),
        "
            line 14: held [self.a]
            line 21: held [self.b]
            fn question exit line 13: held []
            fn question exit line 16: held []
            fn in_loop exit line 20: held []
            fn in_loop exit line 24: held []
        ",
    );
}

#[test]
fn try_lock_and_read_guards() {
    // Whether a `try_lock` kept in a binding succeeded is not known: both states go on.
    check(
        &s("
    fn f(&self) {
        if let Ok(g) = self.b.try_lock() {
            probe();
        }
        probe();
        let t = self.b.try_lock();
        probe();
        let r = self.r.read().unwrap();
        probe();
    }
"),
        "
            line 13: held [self.b (try)]
            line 15: held []
            line 17: held []
            line 17: held [self.b (try)]
            line 19: held [self.b (try), self.r (read)]
            line 19: held [self.r (read)]
        ",
    );
}

#[test]
fn raw_lock_and_unlock_pairs() {
    // Correlated branches: the lock taken under `flag` is released under `flag`.
    check(
        &s("
    fn f(&self, l: &u32, flag: bool) {
        spin_lock(l);
        probe();
        spin_unlock(l);
        probe();
        if flag { spin_lock(l); }
        probe();
        if flag { spin_unlock(l); }
        probe();
    }
"),
        "
            line 13: held [l (raw)]
            line 15: held []
            line 17: held []
            line 17: held [l (raw)]
            line 19: held []
        ",
    );
}

#[test]
fn guard_kept_across_a_call_or_moved_into_it() {
    check(
        &s("
    fn f(&self) {
        let g = self.a.lock().unwrap();
        self.helper();
        probe();
        consume(g);
        probe();
    }
    fn helper(&self) {
        let h = self.b.lock().unwrap();
        probe();
    }
"),
        "
            line 14: held [self.a]
            line 16: held []
            line 20: held [self.b]
        ",
    );
}

#[test]
fn leaked_reassigned_and_optional_guards() {
    check_exits(
        &s("
    fn leak(&self) {
        let g = self.b.lock().unwrap();
        std::mem::forget(g);
        probe();
    }
    fn reassign(&self, o: &S) {
        let mut g = self.b.lock().unwrap();
        probe();
        g = o.b.lock().unwrap();
        probe();
    }
    fn slot(&self) {
        let mut o = Some(self.b.lock().unwrap());
        probe();
        let t = o.take();
        probe();
        drop(t);
        probe();
    }
"),
        "
            line 14: held [self.b (leaked by std::mem::forget)]
            line 18: held [self.b]
            line 20: held [o.b]
            line 24: held [self.b]
            line 26: held [self.b]
            line 28: held []
            fn leak exit line 15: held [self.b (leaked by std::mem::forget)]
            fn reassign exit line 21: held []
            fn slot exit line 29: held []
        ",
    );
}

/// The lowered nodes and the flows' events are the bulk of a run's memory (about 600 MiB at
/// 1M lines): a field that makes them grow is a budget decision, not an accident.
#[test]
fn ir_and_event_sizes_stay_small() {
    use std::mem::size_of;
    assert_eq!(size_of::<crate::sym::Sym>(), 8);
    assert!(
        size_of::<crate::ir::Op>() <= 56,
        "Op {}",
        size_of::<crate::ir::Op>()
    );
    assert!(size_of::<crate::ir::Node>() <= 72);
    assert!(size_of::<crate::ir::Place>() <= 56);
    assert!(size_of::<crate::index::ResolvedLock>() <= 40);
    assert!(size_of::<super::HeldLock>() <= 88);
    assert!(size_of::<super::CallEvent>() <= 136);
}
