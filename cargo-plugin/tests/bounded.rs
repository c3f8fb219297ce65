//! No input may make a run explode: generated shapes that once grew the call summaries without
//! bound (a recursive tree of trait objects whose nodes lock while they serialize, the shape of
//! a VMM's ACPI table builder) must finish with bounded work and memory, and a run that does
//! reach a budget must say so in an `analysis_budget` note.

mod cli_support;

use cli_support::{lockstep, scratch, write};

/// A crate of `nodes` node types, each holding `arity` children as `&dyn Node` and visiting
/// them all, and `devices` device types that lock one of `locks` mutexes and visit a child
/// while they hold it (so every node's summary carries every device lock, through every
/// projection path of the tree).
fn bomb(
    name: &str,
    nodes: usize,
    arity: usize,
    devices: usize,
    locks: usize,
) -> std::path::PathBuf {
    let dir = scratch(name);
    write(
        &dir.join("Cargo.toml"),
        format!("[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n"),
    );
    let mut src = String::from(
        "use std::sync::Mutex;\n\npub trait Node {\n    fn emit(&self, out: &mut Vec<u8>);\n}\n\n",
    );
    for n in 0..nodes {
        src.push_str(&format!("pub struct N{n}<'a> {{\n"));
        for k in 0..arity {
            src.push_str(&format!("    c{k}: &'a dyn Node,\n"));
        }
        src.push_str(&format!(
            "}}\n\nimpl<'a> Node for N{n}<'a> {{\n    fn emit(&self, out: &mut Vec<u8>) {{\n        out.push({});\n",
            n % 256
        ));
        for k in 0..arity {
            src.push_str(&format!("        self.c{k}.emit(out);\n"));
        }
        src.push_str("    }\n}\n\n");
    }
    for d in 0..devices {
        src.push_str(&format!(
            "pub struct D{d}<'a> {{\n    child: &'a dyn Node,\n"
        ));
        for l in 0..locks {
            src.push_str(&format!("    m{l}: Mutex<u32>,\n"));
        }
        src.push_str(&format!(
            "}}\n\nimpl<'a> Node for D{d}<'a> {{\n    fn emit(&self, out: &mut Vec<u8>) {{\n        let g = self.m{}.lock().unwrap();\n        out.push(*g as u8);\n        self.child.emit(out);\n    }}\n}}\n\n",
            d % locks
        ));
    }
    // Callers outside the component, summarized after it.
    for d in 0..devices {
        src.push_str(&format!(
            "pub fn describe{d}(dev: &D{d}<'_>, out: &mut Vec<u8>) {{\n    dev.emit(out);\n}}\n\n"
        ));
    }
    write(&dir.join("src/lib.rs"), src);
    dir
}

fn stat<'a>(stderr: &'a str, prefix: &str) -> &'a str {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{stderr}"))
}

fn peak_mib(stderr: &str) -> f64 {
    stat(stderr, "lockstep: peak memory ")
        .trim_end_matches(" MiB")
        .parse()
        .expect("peak memory figure")
}

fn entries(stderr: &str) -> u64 {
    stat(stderr, "lockstep: call summaries: ")
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("summary entry count")
}

/// The recursive tree settles at its fixed point within the default budgets: no note, and
/// the device locks are still seen through the tree (each device's own lock is re-taken
/// through a child that is the same device type: a double lock is not claimed, because which
/// instance the child is cannot be named past the k-limit).
#[test]
fn recursive_dispatch_settles_within_budget() {
    let dir = bomb("bomb_settles", 24, 3, 4, 4);
    let out = lockstep(
        &dir,
        &["--no-cache", "--stats", "--message-format", "short"],
    );
    assert!(out.code == 0 || out.code == 1, "{out:?}");
    assert!(!out.stdout.contains("analysis_budget"), "{out:?}");
    assert!(
        out.stderr.contains("lockstep: call summaries: ") && out.stderr.contains("within budget"),
        "{out:?}"
    );
    assert!(out.stderr.contains("4 lock classes"), "{out:?}");
    assert!(entries(&out.stderr) < 2_000_000, "{out:?}");
    assert!(peak_mib(&out.stderr) < 2048.0, "{out:?}");
}

/// A component too large for its budget stops there, and says which functions it left partial.
#[test]
fn component_budget_ends_in_a_note() {
    let dir = bomb("bomb_budget", 24, 3, 4, 4);
    write(
        &dir.join("lockstep.toml"),
        "[budget]\nsummary_per_component = 5000\n",
    );
    let out = lockstep(
        &dir,
        &["--no-cache", "--stats", "--message-format", "short"],
    );
    assert!(out.code == 0 || out.code == 1, "{out:?}");
    assert!(
        out.stdout
            .contains("call summaries of 28 mutually recursive functions stopped at their budget"),
        "{out:?}"
    );
    assert!(out.stdout.contains("analysis_budget"), "{out:?}");
    assert!(
        out.stderr
            .contains("28 functions summarized partially (budget)"),
        "{out:?}"
    );
    // Work ends near the budget: one member's summary past it at most.
    assert!(entries(&out.stderr) < 5000 + 20_000, "{out:?}");
}

/// Past the whole-run budget the remaining functions are summarized from their own bodies.
#[test]
fn run_budget_ends_in_a_note() {
    let dir = bomb("bomb_run_budget", 24, 3, 4, 4);
    write(
        &dir.join("lockstep.toml"),
        "[budget]\nsummary_per_run = 1\n",
    );
    let out = lockstep(
        &dir,
        &["--no-cache", "--stats", "--message-format", "short"],
    );
    assert!(out.code == 0 || out.code == 1, "{out:?}");
    assert!(
        out.stdout
            .contains("the run reached its call-summary budget"),
        "{out:?}"
    );
}

/// A wide tree with many locks: bounded work and memory with the default budgets, whatever
/// happens to the fixed point.
#[test]
fn wide_bomb_stays_bounded() {
    let dir = bomb("bomb_wide", 64, 4, 16, 8);
    let out = lockstep(
        &dir,
        &["--no-cache", "--stats", "--message-format", "short"],
    );
    assert!(out.code == 0 || out.code == 1, "{out:?}");
    assert!(entries(&out.stderr) <= 2_000_000 + 200_000, "{out:?}");
    assert!(peak_mib(&out.stderr) < 2048.0, "{out:?}");
}

/// Closures nested 16 deep, each passed to a function of the crate: each is inlined where it
/// is passed and lowered once more as a value copy the callee may keep, but never again inside
/// a copy, so the lowering grows with the depth, not with 2^depth (which took about 350 MiB
/// here before copies were kept out of copies).
#[test]
fn nested_closure_arguments_stay_linear() {
    let depth = 16;
    let dir = scratch("bomb_nested_closures");
    write(
        &dir.join("Cargo.toml"),
        "[package]\nname = \"bomb_nested_closures\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    let mut src = String::from("pub fn g<F: FnOnce()>(f: F) {\n    f()\n}\n\npub fn h() {\n");
    for i in 0..depth {
        src.push_str(&format!("{}g(|| {{\n", "    ".repeat(i + 1)));
    }
    src.push_str(&format!("{}let _x = 1;\n", "    ".repeat(depth + 1)));
    for i in (0..depth).rev() {
        src.push_str(&format!("{}}});\n", "    ".repeat(i + 1)));
    }
    src.push_str("}\n");
    write(&dir.join("src/lib.rs"), src);
    let out = lockstep(
        &dir,
        &["--no-cache", "--stats", "--message-format", "short"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(peak_mib(&out.stderr) < 120.0, "{out:?}");
}
