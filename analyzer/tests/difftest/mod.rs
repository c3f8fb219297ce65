//! Generator of small std-only programs whose guard lifetimes rustc decides.
//!
//! Every case is a function `case_N(m, n, r)` over two `Mutex<D>` and one `RwLock<D>`. A case
//! nests one to three *templates*; each template takes its own lock (level 0, 1, 2 get three
//! different locks, so nothing ever blocks) and places the next template's code at a point
//! where its lock may or may not be held. Markers `probe("cN_i", m, n, r)` print, at run time,
//! which of the three locks are held (`try_lock`/`try_write` fail); the analyzer's answer is
//! the set of held-sets it computes at the same call.
//!
//! Since each level owns a distinct lock, a disagreement about lock `x` is the doing of the
//! template that took `x`: that is how disagreements are attributed to constructs.

/// One construct. Placeholders: `$ACQ` an acquisition expression of the level's lock
/// (`m.lock().unwrap()`), `$TRY` its try form (`m.try_lock()`), `$MODE` the acquiring method
/// (`lock`/`read`/`write`), `$LOCK` the lock, `$HELP` a helper fn returning a guard of it,
/// `$GRD` a guard variable name, `$K` a unique suffix, `$I` the nested code (statements), `$P`
/// a marker.
pub struct Tpl {
    pub name: &'static str,
    /// No branch, loop or fallible step the analyzer would see as data-dependent: its answer
    /// at a marker must then be exactly the held-set observed.
    pub exact: bool,
    pub code: &'static str,
}

const fn t(name: &'static str, exact: bool, code: &'static str) -> Tpl {
    Tpl { name, exact, code }
}

pub const TEMPLATES: &[Tpl] = &[
    // Bindings and scopes.
    t("let_block", true, "{ let $GRD = $ACQ; $P $I } $P"),
    t("let_wild", true, "let _ = $ACQ; $I $P"),
    t("let_wild_ref", true, "{ let _ = &$ACQ; $I } $P"),
    t("let_underscore_name", true, "{ let _$GRD = $ACQ; $I } $P"),
    t("drop_after", true, "let $GRD = $ACQ; $I drop($GRD); $P"),
    t("drop_before", true, "let $GRD = $ACQ; drop($GRD); $I"),
    t("mem_drop", true, "let $GRD = $ACQ; std::mem::drop($GRD); $I"),
    t("move_let", true, "let $GRD = $ACQ; { let h$K = $GRD; $I } $P"),
    t(
        "move_deferred_init",
        true,
        "let h$K; { let $GRD = $ACQ; h$K = $GRD; } $I drop(h$K); $P",
    ),
    t("move_fn", true, "let $GRD = $ACQ; $I consume($GRD); $P"),
    t("move_fn_temp", true, "consume($ACQ); $I"),
    t(
        "move_struct",
        true,
        "let $GRD = $ACQ; let w$K = Wrap { g: $GRD }; $I drop(w$K); $P",
    ),
    t("move_struct_scope", true, "{ let w$K = Wrap { g: $ACQ }; $I } $P"),
    t("move_tuple", true, "{ let t$K = ($ACQ, 1); $I } $P"),
    t("tuple_pat_wild", true, "let (_, b$K) = ($ACQ, 1); $I $P"),
    t("tuple_pat_bind", true, "{ let ($GRD, b$K) = ($ACQ, 1); $I } $P"),
    t("helper", true, "let $GRD = $HELP($LOCK); $I drop($GRD); $P"),
    t("helper_temp", true, "let x$K = $HELP($LOCK).f; $I $P"),
    t("boxed", true, "{ let b$K = Box::new($ACQ); $I } $P"),
    t("option_some", true, "{ let o$K = Some($ACQ); $I } $P"),
    t(
        "assign_option",
        true,
        "let mut o$K = None; $P o$K = Some($ACQ); $I o$K = None; $P",
    ),
    t("shadow", true, "{ let $GRD = $ACQ; let $GRD = 1; $I } $P"),
    t(
        "block_value",
        true,
        "let $GRD = { let a$K = 1; $ACQ }; $I drop($GRD); $P",
    ),
    // Temporaries.
    t("temp_let", true, "let x$K = $ACQ.f + { $I 0 }; $P"),
    t("temp_expr_stmt", true, "$ACQ.f + { $I 0 }; $P"),
    t("temp_call_arg", true, "consume_i32($ACQ.f, { $I 0 }); $P"),
    t("temp_method", true, "let x$K = $ACQ.v.len(); $I $P"),
    t("temp_after", true, "let x$K = $ACQ.f; $I $P"),
    t(
        "two_temps",
        true,
        "let x$K = $ACQ.f + { $P 0 } + $ACQ2.f + { $I 0 }; $P",
    ),
    // Lifetime extension.
    t("ext_field", true, "{ let s$K = &$ACQ.f; $I } $P"),
    t("ext_index", true, "{ let s$K = &$ACQ.v[0]; $I } $P"),
    t("ext_deref", true, "{ let s$K = &*$ACQ; $I } $P"),
    t(
        "ext_if",
        false,
        "{ let s$K = if true { &$ACQ.f } else { &0 }; $I } $P",
    ),
    t(
        "ext_match",
        false,
        "{ let s$K = match 1 { 1 => &$ACQ.f, _ => &0 }; $I } $P",
    ),
    t("ext_block", true, "{ let s$K = { let a$K = 1; &$ACQ.f }; $I } $P"),
    t("ext_tuple", true, "{ let s$K = (&$ACQ.f, 1); $I } $P"),
    t("ext_array", true, "{ let s$K = [&$ACQ.f]; $I } $P"),
    t("ext_some", true, "{ let s$K = Some(&$ACQ.f); $I } $P"),
    t("ext_cast", true, "{ let s$K = &$ACQ.f as &i32; $I } $P"),
    t("ext_nested_ref", true, "{ let s$K = &&$ACQ.f; $I } $P"),
    t("no_ext_method", true, "{ let s$K = &$ACQ.v.len(); $I } $P"),
    t("no_ext_call", true, "{ let s$K = id_ref(&$ACQ.f); $I } $P"),
    // Conditions and scrutinees.
    t("if_cond", false, "if $ACQ.f == 0 { $I } $P"),
    t("if_cond_else", false, "if $ACQ.f != 0 { $P } else { $I } $P"),
    t(
        "while_cond",
        false,
        "let mut i$K = 0; while $ACQ.f == 0 && i$K < 1 { i$K += 1; $I } $P",
    ),
    t("match_scrut", false, "match $ACQ.f { 0 => { $I } _ => {} } $P"),
    t("match_scrut_wild", true, "match $ACQ.f { _ => { $I } } $P"),
    t(
        "match_ok",
        false,
        "match $LOCK.$MODE() { Ok($GRD) => { $I drop($GRD); $P } Err(_) => {} } $P",
    ),
    t(
        "match_ok_keep",
        false,
        "match $LOCK.$MODE() { Ok($GRD) => { $I } Err(_) => {} } $P",
    ),
    t(
        "while_let",
        false,
        "let mut k$K = 0; while let Some(_x) = $ACQ.v.get(k$K).copied() { k$K += 1; $I } $P",
    ),
    t(
        "if_let_then",
        false,
        "if let Some(_x) = $ACQ.v.first().copied() { $I } else { $P } $P",
    ),
    t(
        "if_let_else",
        false,
        "if let Some(_x) = $ACQ.v.get(5).copied() { $P } else { $I } $P",
    ),
    t(
        "if_let_value_else",
        false,
        "let y$K = if let Some(x) = $ACQ.v.get(5).copied() { x } else { $I 0 }; $P",
    ),
    t(
        "let_else",
        false,
        "let Some(_x) = $ACQ.v.first().copied() else { return None; }; $I $P",
    ),
    t(
        "let_else_guard",
        false,
        "let Ok($GRD) = $LOCK.$MODE() else { return None; }; $I drop($GRD); $P",
    ),
    t(
        "tail_after_block",
        true,
        "let y$K = { let a$K = 1; $ACQ.f + a$K } + { $I 0 }; $P",
    ),
    t(
        "tail_inside",
        true,
        "let y$K = { let a$K = 1; $ACQ.f + a$K + { $I 0 } }; $P",
    ),
    t(
        "tail_in_scrut",
        true,
        "match { let a$K = 1; $ACQ.f + a$K } { _ => { $I } } $P",
    ),
    t(
        "tail_in_if_cond",
        false,
        "if ({ let a$K = 0; $ACQ.f + a$K }) == 0 { $I } $P",
    ),
    t(
        "tail_of_stmt_block",
        true,
        "{ let a$K = 1; consume_i32($ACQ.f, a$K) } $I",
    ),
    // Branch and operand temporary scopes: the body of an `if` and its `else` block, a match
    // arm's expression and each operand of `&&` / `||` drop their temporaries at their end, in
    // every edition.
    t(
        "if_tail_after",
        false,
        "let y$K = if true { $ACQ.f } else { 0 }; $I $P",
    ),
    t(
        "if_tail_inside",
        false,
        "let y$K = if true { $ACQ.f + { $I 0 } } else { 0 }; $P",
    ),
    t(
        "else_tail_after",
        false,
        "let y$K = if false { 0 } else { $ACQ.f }; $I $P",
    ),
    t(
        "else_if_tail_after",
        false,
        "let y$K = if false { 0 } else if true { $ACQ.f } else { 1 }; $I $P",
    ),
    t(
        "if_tail_stmt",
        false,
        "if true { consume_i32($ACQ.f, 0) } else { consume_i32(0, 0) } $I $P",
    ),
    t(
        "arm_tail_after",
        false,
        "let y$K = match 1 { 1 => $ACQ.f, _ => 0 }; $I $P",
    ),
    t(
        "lazy_and",
        false,
        "let y$K = $ACQ.f == 0 && { $I true }; $P",
    ),
    t(
        "lazy_or",
        false,
        "let y$K = $ACQ.f != 0 || { $I true }; $P",
    ),
    t(
        "lazy_and_cond",
        false,
        "if $ACQ.f == 0 && { $I true } { $P } $P",
    ),
    t(
        "lazy_and_second",
        false,
        "let y$K = true && $ACQ.f == 0 && { $I true }; $P",
    ),
    // Exits, loops and labels.
    t(
        "question",
        false,
        "let $GRD = $LOCK.$MODE().ok()?; $I drop($GRD); $P",
    ),
    t("question_after", false, "let $GRD = $ACQ; Some(1)?; $I $P"),
    t(
        "early_return",
        false,
        "let $GRD = $ACQ; if false { return None; } $I $P",
    ),
    t("loop_break", false, "loop { let $GRD = $ACQ; $I break; } $P"),
    t(
        "labeled_break",
        false,
        "'a$K: loop { let $GRD = $ACQ; loop { $I break 'a$K; } } $P",
    ),
    t(
        "labeled_continue",
        false,
        "let mut i$K = 0; 'c$K: while i$K < 1 { i$K += 1; let $GRD = $ACQ; loop { $I continue 'c$K; } } $P",
    ),
    t(
        "labeled_block",
        false,
        "'b$K: { let $GRD = $ACQ; if true { $I break 'b$K; } } $P",
    ),
    t("for_once", false, "for _ in 0..1 { let $GRD = $ACQ; $I } $P"),
    t(
        "break_value",
        false,
        "let y$K = loop { let $GRD = $ACQ; $I break $GRD.f; }; $P",
    ),
    t("for_iter_temp", false, "for _x in $ACQ.v.clone() { $I } $P"),
    // Closures.
    t(
        "closure_inline",
        true,
        "(|| -> Option<()> { let $GRD = $ACQ; $I Some(()) })(); $P",
    ),
    t(
        "closure_helper",
        true,
        "call_it(|| -> Option<()> { let $GRD = $ACQ; $I Some(()) }); $P",
    ),
    t(
        "closure_local",
        true,
        "let f$K = || -> Option<()> { let $GRD = $ACQ; $I Some(()) }; $P f$K(); $P",
    ),
    t(
        "option_map",
        true,
        "Some(1).map(|_| -> Option<()> { let $GRD = $ACQ; $I Some(()) }); $P",
    ),
    t(
        "closure_under_guard",
        true,
        "let $GRD = $ACQ; (|| -> Option<()> { $I Some(()) })(); drop($GRD); $P",
    ),
    t(
        "closure_under_temp",
        true,
        "let _ = ($ACQ.f, call_it(|| -> Option<()> { $I Some(()) })); $P",
    ),
    // Leaks.
    t("forget", true, "let $GRD = $ACQ; std::mem::forget($GRD); $I $P"),
    t("forget_temp", true, "std::mem::forget($ACQ); $I"),
    t(
        "manually_drop",
        true,
        "let $GRD = std::mem::ManuallyDrop::new($ACQ); $I $P",
    ),
    t(
        "manually_drop_drop",
        true,
        "let mut $GRD = std::mem::ManuallyDrop::new($ACQ); $I unsafe { std::mem::ManuallyDrop::drop(&mut $GRD) }; $P",
    ),
    // More bindings through patterns and places.
    t(
        "match_binding",
        true,
        "match $ACQ { g$K => { $I drop(g$K); $P } } $P",
    ),
    t(
        "match_ref_binding",
        true,
        "match $ACQ { ref g$K => { $I } } $P",
    ),
    t(
        "if_let_guard_else",
        false,
        "if let Ok($GRD) = $LOCK.$MODE() { $I } else { $P } $P",
    ),
    t(
        "while_let_guard",
        false,
        "let mut k$K = 0; while let Ok($GRD) = $LOCK.$MODE() { if k$K > 0 { break; } k$K += 1; $I } $P",
    ),
    t(
        "field_drop",
        true,
        "let w$K = Wrap { g: $ACQ }; $I drop(w$K.g); $P",
    ),
    t("ext_paren", true, "{ let s$K = &($ACQ).f; $I } $P"),
    t(
        "ext_if_let_value",
        false,
        "{ let s$K = if let Some(_x) = Some(1) { &$ACQ.f } else { &0 }; $I } $P",
    ),
    t(
        "closure_question",
        false,
        "(|| -> Option<()> { let $GRD = $ACQ; None::<i32>?; $P Some(()) })(); $I $P",
    ),
    t(
        "closure_return",
        false,
        "(|| -> Option<()> { let $GRD = $ACQ; if true { $I return None; } Some(()) })(); $P",
    ),
    t(
        "labeled_block_value",
        false,
        "let y$K = 'v$K: { let $GRD = $ACQ; if true { $I break 'v$K 1; } 2 }; $P",
    ),
    t(
        "nested_closure",
        true,
        "call_it(|| -> Option<()> { (|| -> Option<()> { let $GRD = $ACQ; $I Some(()) })() }); $P",
    ),
    t(
        "reassign_guard",
        true,
        "let mut o$K = Some($ACQ); $I o$K = None; $P",
    ),
    t(
        "option_take_temp",
        true,
        "let mut o$K = Some($ACQ); $P o$K.take(); $I $P drop(o$K);",
    ),
    t(
        "option_take_bind",
        true,
        "let mut o$K = Some($ACQ); let t$K = o$K.take(); drop(o$K); $P $I drop(t$K); $P",
    ),
    t(
        "option_fill_if_none",
        false,
        "let mut o$K = None; for i$K in 0..2 { if o$K.is_none() { $P o$K = Some($ACQ); } if i$K == 1 { $I } } drop(o$K); $P",
    ),
    t(
        "option_is_some",
        false,
        "let mut o$K = Some($ACQ); if o$K.is_some() { $I } else { $P } drop(o$K); $P",
    ),
    t(
        "option_is_none_after_take",
        false,
        "let mut o$K = Some($ACQ); drop(o$K.take()); if !o$K.is_none() { $P } else { $I } $P",
    ),
    t(
        "reassign_after_drop",
        true,
        "let mut $GRD = $ACQ; drop($GRD); $P $GRD = $ACQ; $I drop($GRD); $P",
    ),
    t(
        "if_else_if_let",
        false,
        "if let Some(_x) = $ACQ.v.get(5).copied() { $P } else if let Some(_y) = Some(1) { $I } $P",
    ),
    t(
        "match_in_let",
        false,
        "let y$K = match $ACQ.f { 0 => { $I 1 } _ => 2 }; $P",
    ),
    // Try-locks.
    t("try_if_let", false, "if let Ok($GRD) = $TRY { $I } $P"),
    t("try_let", false, "let t$K = $TRY; $I drop(t$K); $P"),
    t(
        "try_match",
        false,
        "match $TRY { Ok($GRD) => { $I } Err(_) => { $P } } $P",
    ),
    t("try_unwrap", true, "let $GRD = $TRY.unwrap(); $I drop($GRD); $P"),
    t("try_is_ok", false, "if $TRY.is_ok() { $I } $P"),
    t(
        "try_let_else",
        false,
        "let Ok($GRD) = $TRY else { return None; }; $I $P",
    ),
];

/// A lock of the generated functions and how a level takes it.
#[derive(Clone, Copy)]
struct LockUse {
    name: &'static str,
    method: &'static str,
    try_method: &'static str,
    helper: &'static str,
}

const M: LockUse = LockUse {
    name: "m",
    method: "lock",
    try_method: "try_lock",
    helper: "hold_mutex",
};
const N: LockUse = LockUse {
    name: "n",
    method: "lock",
    try_method: "try_lock",
    helper: "hold_mutex",
};
const R_READ: LockUse = LockUse {
    name: "r",
    method: "read",
    try_method: "try_read",
    helper: "hold_read",
};
const R_WRITE: LockUse = LockUse {
    name: "r",
    method: "write",
    try_method: "try_write",
    helper: "hold_write",
};

/// One generated function.
pub struct Case {
    pub index: usize,
    /// Templates, outermost first.
    pub templates: Vec<&'static str>,
    /// Lock name → the template (by name) that takes it.
    pub owner: Vec<(&'static str, &'static str)>,
    pub exact: bool,
    /// The function's source text.
    pub code: String,
}

impl Case {
    pub fn name(&self) -> String {
        format!("case_{} [{}]", self.index, self.templates.join(" > "))
    }

    pub fn owner_of(&self, lock: &str) -> &'static str {
        self.owner
            .iter()
            .find(|(l, _)| *l == lock)
            .map(|(_, t)| *t)
            .unwrap_or("?")
    }
}

fn lock_plan(index: usize, levels: usize) -> Vec<LockUse> {
    // Rotate which lock each level takes so that both a `Mutex` and an `RwLock` (read or
    // write) appear at every nesting level; the locks of one case are always distinct.
    let rw = if index % 2 == 0 { R_READ } else { R_WRITE };
    let order = [M, N, rw];
    (0..levels).map(|l| order[(l + index) % 3]).collect()
}

fn instantiate(tpl: &Tpl, lock: LockUse, other: LockUse, k: &str, inner: &str) -> String {
    let acq = format!("{}.{}().unwrap()", lock.name, lock.method);
    let acq2 = format!("{}.{}().unwrap()", other.name, other.method);
    let try_e = format!("{}.{}()", lock.name, lock.try_method);
    tpl.code
        .replace("$ACQ2", &acq2)
        .replace("$ACQ", &acq)
        .replace("$TRY", &try_e)
        .replace("$MODE", lock.method)
        .replace("$LOCK", lock.name)
        .replace("$HELP", lock.helper)
        .replace("$GRD", &format!("g{k}"))
        .replace("$K", k)
        .replace("$I", inner)
}

/// Build one case from templates (outermost first).
fn build(index: usize, tpls: &[&Tpl]) -> Case {
    let plan = lock_plan(index, tpls.len().max(2));
    let mut code = "$P".to_string();
    for (level, tpl) in tpls.iter().enumerate().rev() {
        let lock = plan[level];
        // `two_temps` takes a second lock: one no other level of the case uses.
        let other = [M, N, R_READ]
            .into_iter()
            .find(|l| plan.iter().all(|p| p.name != l.name))
            .unwrap_or(lock);
        code = instantiate(tpl, lock, other, &format!("{index}_{level}"), &code);
    }
    let mut out = String::new();
    let mut marker = 0;
    let mut rest = code.as_str();
    while let Some(p) = rest.find("$P") {
        out.push_str(&rest[..p]);
        out.push_str(&format!("probe(\"c{index}_{marker}\", m, n, r);"));
        marker += 1;
        rest = &rest[p + 2..];
    }
    out.push_str(rest);
    let mut owner: Vec<(&'static str, &'static str)> = Vec::new();
    for (level, tpl) in tpls.iter().enumerate() {
        owner.push((plan[level].name, tpl.name));
    }
    if tpls.iter().any(|t| t.code.contains("$ACQ2")) {
        let t = tpls
            .iter()
            .find(|t| t.code.contains("$ACQ2"))
            .map(|t| t.name)
            .unwrap_or("?");
        for l in ["m", "n", "r"] {
            if owner.iter().all(|(o, _)| *o != l) {
                owner.push((l, t));
            }
        }
    }
    Case {
        index,
        templates: tpls.iter().map(|t| t.name).collect(),
        owner,
        exact: tpls.iter().all(|t| t.exact),
        code: format!(
            "fn case_{index}(m: &Mutex<D>, n: &Mutex<D>, r: &RwLock<D>) -> Option<()> {{\n    {out}\n    Some(())\n}}\n"
        ),
    }
}

/// All cases, deterministically: every template alone, a fixed fifth of all ordered pairs
/// (every template is an outer construct of a fifth of the others and an inner one of as
/// many), and one triple per template with it in the middle.
pub fn generate() -> Vec<Case> {
    let n = TEMPLATES.len();
    let mut combos: Vec<Vec<&Tpl>> = Vec::new();
    for t in TEMPLATES {
        combos.push(vec![t]);
    }
    for (i, outer) in TEMPLATES.iter().enumerate() {
        for (j, inner) in TEMPLATES.iter().enumerate() {
            if (i + 3 * j) % 5 == 0 {
                combos.push(vec![outer, inner]);
            }
        }
    }
    for (i, middle) in TEMPLATES.iter().enumerate() {
        let outer = &TEMPLATES[(i * 7 + 3) % n];
        let inner = &TEMPLATES[(i * 13 + 5) % n];
        combos.push(vec![outer, middle, inner]);
    }
    // `two_temps` needs a lock no other level takes: once, and only with one other level.
    combos.retain(|c| {
        let twos = c.iter().filter(|t| t.code.contains("$ACQ2")).count();
        twos == 0 || (twos == 1 && c.len() < 3)
    });
    combos
        .iter()
        .enumerate()
        .map(|(i, c)| build(i, c))
        .collect()
}

const PRELUDE: &str = r#"#![allow(warnings)]
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

struct D {
    f: i32,
    v: Vec<i32>,
}

struct Wrap<T> {
    g: T,
}

fn probe(id: &str, m: &Mutex<D>, n: &Mutex<D>, r: &RwLock<D>) {
    let mut line = String::from(id);
    if m.try_lock().is_err() {
        line.push_str(" m");
    }
    if n.try_lock().is_err() {
        line.push_str(" n");
    }
    if r.try_write().is_err() {
        line.push_str(" r");
    }
    println!("{line}");
}

fn consume<T>(_v: T) {}

fn consume_i32(_a: i32, _b: i32) {}

fn id_ref(x: &i32) -> &i32 {
    x
}

fn call_it<F: FnOnce() -> Option<()>>(f: F) -> Option<()> {
    f()
}

fn hold_mutex<'a>(m: &'a Mutex<D>) -> MutexGuard<'a, D> {
    m.lock().unwrap()
}

fn hold_read<'a>(r: &'a RwLock<D>) -> RwLockReadGuard<'a, D> {
    r.read().unwrap()
}

fn hold_write<'a>(r: &'a RwLock<D>) -> RwLockWriteGuard<'a, D> {
    r.write().unwrap()
}

fn d() -> D {
    D { f: 0, v: vec![7] }
}

"#;

/// The whole program: prelude, every case, and a `main` calling each with fresh locks.
pub fn render(cases: &[Case]) -> String {
    let mut s = String::from(PRELUDE);
    for c in cases {
        s.push_str(&format!("// {}\n", c.name()));
        s.push_str(&c.code);
        s.push('\n');
    }
    s.push_str("fn main() {\n");
    for c in cases {
        s.push_str(&format!(
            "    {{ let (m, n, r) = (Mutex::new(d()), Mutex::new(d()), RwLock::new(d())); let _ = case_{}(&m, &n, &r); }}\n",
            c.index
        ));
    }
    s.push_str("}\n");
    s
}
