//! Syntactically valid, driver-shaped Rust built from the fuzzer's bytes: structs with lock
//! fields, functions taking and releasing locks under branches, loops, closures and calls,
//! and sequence-number arithmetic.
#![no_main]

mod common;

use std::fmt::Write as _;

use arbitrary::Arbitrary;

const LOCK_TYPES: &[&str] = &[
    "std::sync::Mutex<u32>",
    "spin::Mutex<u32>",
    "SpinLock<u32>",
    "std::sync::RwLock<u32>",
    "parking_lot::Mutex<u32>",
    "Arc<Mutex<u32>>",
];

#[derive(Arbitrary, Debug)]
struct Krate {
    fields: Vec<u8>,
    fns: Vec<Func>,
    edition_2024: bool,
}

#[derive(Arbitrary, Debug)]
struct Func {
    is_method: bool,
    irq: bool,
    body: Vec<Stmt>,
}

#[derive(Arbitrary, Debug)]
enum Stmt {
    Lock {
        field: u8,
        guard: u8,
        how: u8,
    },
    Drop(u8),
    Forget(u8),
    Call(u8),
    Sleep,
    If {
        cond: u8,
        then: Vec<Stmt>,
        els: Vec<Stmt>,
    },
    IfLet {
        field: u8,
        body: Vec<Stmt>,
    },
    Loop(Vec<Stmt>),
    While {
        cond: u8,
        body: Vec<Stmt>,
    },
    Match {
        field: u8,
        arms: Vec<Vec<Stmt>>,
    },
    Closure(Vec<Stmt>),
    Block(Vec<Stmt>),
    Return,
    Break,
    Question,
    SeqArith {
        a: u8,
        b: u8,
        op: u8,
    },
    SeqCmp {
        a: u8,
        b: u8,
        op: u8,
    },
    Take,
    Give,
    Write {
        guard: u8,
    },
}

const SEQ: &[&str] = &["snd_nxt", "snd_una", "rcv_nxt", "iss", "seq", "ack"];

fn render(k: &Krate) -> String {
    let nfields = k.fields.len().clamp(1, 6);
    let nfns = k.fns.len().max(1);
    let mut s = String::from(
        "use std::sync::{Arc, Mutex};\nuse crate::sync::SpinLock;\n\npub struct Dev {\n",
    );
    for (i, t) in k.fields.iter().take(nfields).enumerate() {
        let _ = writeln!(
            s,
            "    l{i}: {},",
            LOCK_TYPES[*t as usize % LOCK_TYPES.len()]
        );
    }
    if k.fields.is_empty() {
        s.push_str("    l0: Mutex<u32>,\n");
    }
    s.push_str("    snd_nxt: u32,\n    snd_una: u32,\n    rcv_nxt: u32,\n}\n\n");
    s.push_str("pub struct Tcb { pub snd_nxt: u32, pub snd_una: u32, pub rcv_nxt: u32, pub iss: u32, pub seq: u32, pub ack: u32 }\n\n");
    s.push_str("impl Dev {\n");
    for (i, f) in k.fns.iter().enumerate() {
        if !f.is_method {
            continue;
        }
        if f.irq {
            s.push_str("    #[interrupt]\n");
        }
        let _ = writeln!(
            s,
            "    pub fn f{i}(&self, t: &mut Tcb, x: u32) -> Option<u32> {{"
        );
        let mut cx = Cx {
            nfields,
            nfns,
            depth: 2,
            s: &mut s,
        };
        for st in &f.body {
            cx.stmt(st);
        }
        s.push_str("        Some(x)\n    }\n");
    }
    s.push_str("}\n\n");
    for (i, f) in k.fns.iter().enumerate() {
        if f.is_method {
            continue;
        }
        let _ = writeln!(
            s,
            "pub fn f{i}(this: &Dev, t: &mut Tcb, x: u32) -> Option<u32> {{\n    let _ = this;"
        );
        let mut cx = Cx {
            nfields,
            nfns,
            depth: 1,
            s: &mut s,
        };
        for st in &f.body {
            cx.stmt(st);
        }
        s.push_str("    Some(x)\n}\n\n");
    }
    if k.edition_2024 {
        s.push_str("// edition 2024\n");
    }
    s
}

struct Cx<'a> {
    nfields: usize,
    nfns: usize,
    depth: usize,
    s: &'a mut String,
}

impl Cx<'_> {
    fn line(&mut self, text: &str) {
        for _ in 0..self.depth {
            self.s.push_str("    ");
        }
        self.s.push_str(text);
        self.s.push('\n');
    }

    fn nested(&mut self, open: &str, body: &[Stmt], close: &str) {
        self.line(open);
        self.depth += 1;
        for st in body {
            self.stmt(st);
        }
        self.depth -= 1;
        self.line(close);
    }

    fn recv(&self) -> &'static str {
        if self.depth >= 2 {
            "self"
        } else {
            "this"
        }
    }

    fn stmt(&mut self, st: &Stmt) {
        if self.depth > 40 {
            return;
        }
        let me = self.recv();
        match st {
            Stmt::Lock { field, guard, how } => {
                let f = *field as usize % self.nfields;
                let call = match how % 5 {
                    0 => "lock().unwrap()",
                    1 => "lock()",
                    2 => "try_lock().unwrap()",
                    3 => "lock_irqsave()",
                    _ => "write().unwrap()",
                };
                self.line(&format!("let mut g{} = {me}.l{f}.{call};", guard % 4));
            }
            Stmt::Drop(g) => self.line(&format!("drop(g{});", g % 4)),
            Stmt::Forget(g) => self.line(&format!("core::mem::forget(g{});", g % 4)),
            Stmt::Call(n) => {
                let n = *n as usize % self.nfns;
                self.line(&format!("let _ = f{n}({me}, t, x);"));
                self.line(&format!("let _ = {me}.f{n}(t, x);"));
            }
            Stmt::Sleep => self.line("std::thread::sleep(std::time::Duration::from_millis(1));"),
            Stmt::If { cond, then, els } => {
                self.nested(&format!("if x > {cond} {{"), then, "} else {");
                self.depth += 1;
                for st in els {
                    self.stmt(st);
                }
                self.depth -= 1;
                self.line("}");
            }
            Stmt::IfLet { field, body } => {
                let f = *field as usize % self.nfields;
                self.nested(
                    &format!("if let Ok(mut h) = {me}.l{f}.try_lock() {{"),
                    body,
                    "}",
                );
            }
            Stmt::Loop(body) => {
                self.nested("loop {", body, "}");
            }
            Stmt::While { cond, body } => {
                self.nested(&format!("while t.seq < {cond} {{"), body, "}");
            }
            Stmt::Match { field, arms } => {
                self.line(&format!("match x % {} {{", arms.len().max(1)));
                self.depth += 1;
                for (i, a) in arms.iter().enumerate() {
                    self.nested(&format!("{i} => {{"), a, "}");
                }
                self.line(&format!("_ => {{ let _ = {field}; }}"));
                self.depth -= 1;
                self.line("}");
            }
            Stmt::Closure(body) => {
                self.nested("let c = || {", body, "    Some(x)\n};");
                self.line("let _ = c();");
            }
            Stmt::Block(body) => self.nested("{", body, "}"),
            Stmt::Return => self.line("return None;"),
            Stmt::Break => self.line("if x == 7 { return Some(1); }"),
            Stmt::Question => self.line("let _y: u32 = Some(x)?;"),
            Stmt::SeqArith { a, b, op } => {
                let a = SEQ[*a as usize % SEQ.len()];
                let b = SEQ[*b as usize % SEQ.len()];
                let e = match op % 6 {
                    0 => format!("t.{a} = t.{b} + x;"),
                    1 => format!("t.{a} = t.{b}.wrapping_add(x);"),
                    2 => format!("t.{a} -= t.{b};"),
                    3 => format!("t.{a} = t.{a}.wrapping_sub(t.{b});"),
                    4 => format!("t.{a} += 1;"),
                    _ => format!("t.{a} = x;"),
                };
                self.line(&e);
            }
            Stmt::SeqCmp { a, b, op } => {
                let a = SEQ[*a as usize % SEQ.len()];
                let b = SEQ[*b as usize % SEQ.len()];
                let e = match op % 4 {
                    0 => format!("if t.{a} < t.{b} {{ return None; }}"),
                    1 => format!("if (t.{a}.wrapping_sub(t.{b}) as i32) > 0 {{ return None; }}"),
                    2 => format!("let _m = t.{a}.max(t.{b});"),
                    _ => format!("if t.{a} >= t.{b} + x {{ t.{a} = t.{b}; }}"),
                };
                self.line(&e);
            }
            Stmt::Take => self.line("take_credit();"),
            Stmt::Give => self.line("return_credit();"),
            Stmt::Write { guard } => self.line(&format!("*g{} += 1;", guard % 4)),
        }
    }
}

libfuzzer_sys::fuzz_target!(|k: Krate| {
    let text = render(&k);
    // `LOCKSTEP_FUZZ_DUMP=FILE`: write the generated program, to run the tool on it.
    if let Some(path) = std::env::var_os("LOCKSTEP_FUZZ_DUMP") {
        let _ = std::fs::write(path, &text);
    }
    common::check(text.as_bytes());
});
