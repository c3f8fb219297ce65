//! A report built by hand for the renderer tests: two files (one with a BOM and non-ASCII
//! text), findings with secondary sites in both files, notes, help and suggestions.

#![allow(dead_code)]

use std::path::PathBuf;

use cargo_lockstep::render::{render, MessageFormat, RenderOptions};
use cargo_lockstep::{Report, Unit};
use lockstep_analyzer::diag::{Applicability, Edit, Suggestion};
use lockstep_analyzer::{Diagnostic, Edition, FileId, Label, Level, SourceDb, SourceFile, Span};

pub const LIB: &str = "\
//! Café driver.
mod tcp;

pub struct Dev {
    state: Mutex<u32>,
}

impl Dev {
    pub fn poll(&self) {
        let g = self.state.lock();
        let h = self.state.lock();
        tcp::send(&g, &h);
    }
}
";

pub const TCP: &str = "\u{feff}// séquence numbers
pub fn after(a: u32, b: u32) -> bool {
    let d = 1;
    a
        > b
}

pub fn send(_g: &u32, _h: &u32) {}
";

pub fn span_of(db: &SourceDb, file: FileId, needle: &str, nth: usize) -> Span {
    let text = &db.get(file).text;
    let mut from = 0;
    let mut at = 0;
    for _ in 0..=nth {
        at = from + text[from..].find(needle).expect("needle in text");
        from = at + needle.len();
    }
    Span::new(file, at as u32, (at + needle.len()) as u32)
}

pub fn db() -> (SourceDb, FileId, FileId) {
    let mut db = SourceDb::new();
    let lib = db.add(SourceFile::new(FileId(0), "src/lib.rs", LIB).with_crate(
        "cafe_driver",
        vec![],
        Edition::E2021,
    ));
    let tcp = db.add(SourceFile::new(FileId(0), "src/tcp.rs", TCP).with_crate(
        "cafe_driver",
        vec!["tcp".into()],
        Edition::E2021,
    ));
    (db, lib, tcp)
}

pub fn diagnostics(db: &SourceDb, lib: FileId, tcp: FileId) -> Vec<Diagnostic> {
    let second = span_of(db, lib, "self.state.lock()", 1);
    let first = span_of(db, lib, "self.state.lock()", 0);
    let send = span_of(db, tcp, "pub fn send", 0);
    let double = Diagnostic::new(
        "double_lock",
        Level::Deny,
        "`self.state` is locked while already held",
        Label::new(second, "second acquisition blocks forever"),
    )
    .with_label(first, "first acquisition here")
    .with_label(send, "both guards are passed on here")
    .with_note("a spin or sleeping mutex is not reentrant")
    .with_help("drop the first guard before locking again")
    .with_key("double_lock:cafe_driver::Dev::poll:self.state");

    let cmp = span_of(db, tcp, "a\n        > b", 0);
    let sub_a = span_of(db, tcp, "a\n", 0);
    let seq = Diagnostic::new(
        "seq_compare",
        Level::Deny,
        "sequence numbers compared with `>`, wrong across the wrap",
        Label::new(cmp, "raw comparison"),
    )
    .with_label(
        Span::new(tcp, sub_a.start, sub_a.start + 1),
        "a sequence number",
    )
    .with_suggestion(Suggestion {
        message: "compare in sequence space".into(),
        edits: vec![Edit {
            span: cmp,
            replacement: "(a.wrapping_sub(b) as i32) > 0".into(),
        }],
        applicability: Applicability::MachineApplicable,
    })
    .with_key("seq_compare:cafe_driver::tcp::after:a>b");

    let d = span_of(db, tcp, "let d = 1;", 0);
    let leak = Diagnostic::new(
        "resource_leak",
        Level::Warn,
        "credit taken and never given back",
        Label::new(Span::new(tcp, d.start + 4, d.start + 5), ""),
    )
    .with_suggestion(Suggestion {
        message: "remove the binding".into(),
        edits: vec![Edit {
            span: Span::new(tcp, d.start, d.end + 1),
            replacement: String::new(),
        }],
        applicability: Applicability::MaybeIncorrect,
    })
    .with_key("resource_leak:cafe_driver::tcp::after:d");
    let mut v = vec![double, seq, leak];
    lockstep_analyzer::diag::sort_diagnostics(&mut v);
    v
}

pub fn report() -> Report {
    let (db, lib, tcp) = db();
    let diagnostics = diagnostics(&db, lib, tcp);
    Report {
        root: PathBuf::from("/ws"),
        db,
        diagnostics,
        ..Default::default()
    }
}

/// The same report as if loaded by cargo for the `cafe-driver` library.
pub fn report_with_units() -> Report {
    let mut r = report();
    r.units = vec![Unit {
        package_name: "cafe-driver".into(),
        package_id: "path+file:///ws#cafe-driver@0.1.0".into(),
        manifest_path: "/ws/Cargo.toml".into(),
        target_name: "cafe_driver".into(),
        target_kind: vec!["lib".into()],
        crate_types: vec!["lib".into()],
        src_path: "/ws/src/lib.rs".into(),
        edition: Edition::E2021,
    }];
    r.file_units = vec![0, 0];
    r
}

pub fn rendered(report: &Report, format: MessageFormat) -> String {
    let mut out = Vec::new();
    let opts = RenderOptions {
        format,
        color: false,
        root: PathBuf::from("/ws"),
    };
    render(report, &opts, &mut out).expect("render");
    String::from_utf8(out).expect("utf-8 output")
}

/// The test report with `blank` empty lines inserted at the top of every file (BOM kept in
/// front), so every finding moves down while its identity stays.
pub fn report_shifted(blank: usize) -> Report {
    let lib_text = format!("{}{LIB}", "\n".repeat(blank));
    let tcp_text = format!("\u{feff}{}{}", "\n".repeat(blank), &TCP[3..]);
    let mut db = SourceDb::new();
    let lib = db.add(SourceFile::new(FileId(0), "src/lib.rs", lib_text));
    let tcp = db.add(SourceFile::new(FileId(0), "src/tcp.rs", tcp_text));
    let diagnostics = diagnostics(&db, lib, tcp);
    Report {
        root: PathBuf::from("/ws"),
        db,
        diagnostics,
        ..Default::default()
    }
}
