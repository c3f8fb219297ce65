//! Every fixture crate rendered in every format: nothing panics, JSON and SARIF parse, and
//! the formats agree on the number of findings.

use std::path::{Path, PathBuf};

use cargo_lockstep::render::{render, MessageFormat, RenderOptions};

fn crates(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.ends_with("target"))
        .collect();
    entries.sort();
    for e in entries {
        if e.join("Cargo.toml").exists() {
            out.push(e);
        } else {
            crates(&e, out);
        }
    }
}

fn run(report: &cargo_lockstep::Report, format: MessageFormat, color: bool) -> String {
    let opts = RenderOptions {
        format,
        color,
        root: report.root.clone(),
    };
    let mut out = Vec::new();
    render(report, &opts, &mut out).expect("render");
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn every_fixture_in_every_format() {
    let mut dirs = Vec::new();
    crates(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures"),
        &mut dirs,
    );
    assert!(!dirs.is_empty());
    for dir in dirs {
        let report = cargo_lockstep::analyze_fixture(&dir);
        let n = report.diagnostics.len();
        let human = run(&report, MessageFormat::Human, false);
        assert!(human.lines().last().unwrap().starts_with("lockstep: "));
        run(&report, MessageFormat::Human, true);
        assert_eq!(run(&report, MessageFormat::Short, false).lines().count(), n);
        let json = run(&report, MessageFormat::Json, false);
        let lines: Vec<serde_json::Value> = json
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines.len(), n + 1, "{}", dir.display());
        let sarif: serde_json::Value =
            serde_json::from_str(&run(&report, MessageFormat::Sarif, false)).expect("sarif");
        assert_eq!(
            sarif["runs"][0]["results"].as_array().unwrap().len(),
            n,
            "{}",
            dir.display()
        );
    }
}

#[test]
fn odd_spans_render_in_every_format() {
    use lockstep_analyzer::{Diagnostic, FileId, Label, Level, SourceDb, SourceFile, Span};
    let text = "fn a() {\r\n    x();\r\n}\r\n// é";
    let mut db = SourceDb::new();
    let f = db.add(SourceFile::new(FileId(0), "src/crlf.rs", text));
    let e = db.add(SourceFile::new(FileId(0), "src/empty.rs", ""));
    let len = text.len() as u32;
    let spans = [
        Span::new(f, len, len),          // empty, at the end
        Span::new(f, len - 1, len + 40), // past the end, inside 'é'
        Span::new(f, 0, len),            // every line
        Span::new(f, 8, 10),             // just the CRLF
        Span::new(e, 0, 0),              // an empty file
    ];
    let diagnostics = spans
        .iter()
        .map(|&s| {
            Diagnostic::new("double_lock", Level::Warn, "odd", Label::new(s, "here"))
                .with_label(Span::new(f, 2, 3), "")
        })
        .collect();
    let report = cargo_lockstep::Report {
        db,
        diagnostics,
        ..Default::default()
    };
    for format in [
        MessageFormat::Human,
        MessageFormat::Short,
        MessageFormat::Json,
        MessageFormat::Sarif,
    ] {
        for color in [false, true] {
            run(&report, format, color);
        }
    }
    let json = run(&report, MessageFormat::Json, false);
    for line in json.lines().take(spans.len()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let s = &v["message"]["spans"][0];
        assert!(s["byte_start"].as_u64() <= s["byte_end"].as_u64());
        let (bs, be) = (
            s["byte_start"].as_u64().unwrap() as usize,
            s["byte_end"].as_u64().unwrap() as usize,
        );
        if s["file_name"] == "src/crlf.rs" {
            assert!(text.get(bs..be).is_some(), "{bs}..{be} splits a character");
        }
        for t in s["text"].as_array().unwrap() {
            assert!(!t["text"].as_str().unwrap().contains('\r'));
        }
    }
}
