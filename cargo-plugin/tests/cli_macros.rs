//! Local `macro_rules!` through the command line: the coverage counts, and the per-file cache
//! when a macro defined in one file changes and the file calling it does not.

mod cli_support;

use cli_support::{findings, fixture, lockstep, package, write};

#[test]
fn stats_count_expanded_and_opaque_macros() {
    let o = lockstep(
        &fixture("locks/macros"),
        &["--stats", "--no-cache", "--message-format", "short"],
    );
    assert_eq!(o.code, 1, "{o:?}");
    assert!(
        o.stderr.contains("lockstep: local macros: ") && o.stderr.contains("calls not expanded"),
        "{o:?}"
    );
    // the pathological macros hit the bounds and are counted opaque, nothing else is
    let line = (o.stderr.lines())
        .find(|l| l.starts_with("lockstep: opaque macros ("))
        .expect("opaque macros line");
    assert!(
        line.contains("twice ×") && line.contains("forever ×1"),
        "{line}"
    );
    assert!(
        !line.contains("locked") && !line.contains("lock_and_do"),
        "{line}"
    );
}

#[test]
fn an_edited_macro_in_another_file_is_seen_through_the_cache() {
    let lib = "#[macro_use]\nmod m;\nuse std::sync::Mutex;\n\
               pub struct S { a: Mutex<u32> }\n\
               impl S {\n\
                   pub fn f(&self) {\n\
                       let _g = self.a.lock().unwrap();\n\
                       poke!(self.a);\n\
                   }\n\
               }\n";
    let locking = "macro_rules! poke { ($m:expr) => { *$m.lock().unwrap() += 1 }; }\n";
    let quiet = "macro_rules! poke { ($m:expr) => { let _ = &$m; }; }\n";
    let dir = package(
        "macro-cache",
        "2021",
        &[("src/lib.rs", lib), ("src/m.rs", locking)],
    );
    let args = ["--message-format", "short"];
    let first = lockstep(&dir, &args);
    assert_eq!(findings(&first.stdout).len(), 1, "{first:?}");
    assert!(first.stdout.contains("src/lib.rs:8:"), "{first:?}");
    write(&dir.join("src/m.rs"), quiet);
    let second = lockstep(&dir, &args);
    assert_eq!(findings(&second.stdout).len(), 0, "{second:?}");
    write(&dir.join("src/m.rs"), locking);
    let third = lockstep(&dir, &args);
    assert_eq!(first.stdout, third.stdout);
}
