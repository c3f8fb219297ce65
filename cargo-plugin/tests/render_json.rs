//! `json` output: the same shape as cargo's own `--message-format=json` lines, byte offsets and
//! source lines that match the files, and suggestions `rustfix` can apply.

mod render_support;

use std::collections::{BTreeSet, HashSet};
use std::process::Command;

use cargo_lockstep::render::MessageFormat;
use render_support::*;
use serde_json::Value;

fn lines(report: &cargo_lockstep::Report) -> Vec<Value> {
    rendered(report, MessageFormat::Json)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect()
}

/// Every key path of a JSON value: `message.spans[].text[].highlight_start`, …
fn key_paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(p.clone());
                key_paths(v, &p, out);
            }
        }
        Value::Array(a) => {
            for v in a {
                key_paths(v, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn same_keys_as_cargo_at_every_level() {
    let dir = tempfile::tempdir().unwrap();
    let krate = dir.path().join("shape");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"shape\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        krate.join("src/lib.rs"),
        "pub fn f() {\n    let unused = 1;\n}\n",
    )
    .unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["check", "--offline", "--quiet", "--message-format=json"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", dir.path().join("target"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .output()
        .expect("run cargo check");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut theirs = BTreeSet::new();
    let mut seen_reasons = BTreeSet::new();
    for line in stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        seen_reasons.insert(v["reason"].as_str().unwrap_or("").to_string());
        if v["reason"] == "compiler-message" {
            key_paths(&v, "", &mut theirs);
        }
    }
    assert!(
        theirs.contains("message.children[].spans[].suggested_replacement"),
        "cargo's unused-variable warning should carry a suggestion:\n{stdout}"
    );
    let mut ours = BTreeSet::new();
    let mut finished = None;
    for v in lines(&report_with_units()) {
        match v["reason"].as_str() {
            Some("compiler-message") => key_paths(&v, "", &mut ours),
            Some("build-finished") => finished = Some(v),
            other => panic!("unexpected reason {other:?}"),
        }
    }
    assert_eq!(ours, theirs, "key paths differ from cargo's");
    assert!(seen_reasons.contains("build-finished"));
    let finished = finished.expect("a build-finished line");
    let keys: Vec<&String> = finished.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["reason", "success"]);
}

#[test]
fn spans_index_the_files() {
    let report = report();
    let mut checked = 0;
    for v in lines(&report) {
        if v["reason"] != "compiler-message" {
            continue;
        }
        let msg = &v["message"];
        assert_eq!(msg["$message_type"], "diagnostic");
        assert!(msg["code"]["code"]
            .as_str()
            .unwrap()
            .starts_with("lockstep::"));
        let spans = msg["spans"].as_array().unwrap();
        assert_eq!(spans.iter().filter(|s| s["is_primary"] == true).count(), 1);
        let mut all: Vec<&Value> = spans.iter().collect();
        for c in msg["children"].as_array().unwrap() {
            all.extend(c["spans"].as_array().unwrap());
        }
        for s in all {
            let text = match s["file_name"].as_str().unwrap() {
                "src/lib.rs" => LIB,
                "src/tcp.rs" => TCP,
                f => panic!("unexpected file {f}"),
            };
            let (bs, be) = (
                s["byte_start"].as_u64().unwrap() as usize,
                s["byte_end"].as_u64().unwrap() as usize,
            );
            let file_lines: Vec<&str> = text.lines().collect();
            let (ls, le) = (
                s["line_start"].as_u64().unwrap() as usize,
                s["line_end"].as_u64().unwrap() as usize,
            );
            // Lines and columns agree with the byte offsets.
            let before = &text[..bs];
            assert_eq!(ls, before.matches('\n').count() + 1);
            assert_eq!(le, text[..be].matches('\n').count() + 1);
            let col = |off: usize| text[..off].rsplit('\n').next().unwrap().chars().count() + 1;
            assert_eq!(s["column_start"].as_u64().unwrap() as usize, col(bs));
            assert_eq!(s["column_end"].as_u64().unwrap() as usize, col(be));
            // text[] holds every covered line, verbatim, with the highlight in characters.
            let tl = s["text"].as_array().unwrap();
            assert_eq!(tl.len(), le - ls + 1);
            let mut highlighted = String::new();
            for (i, t) in tl.iter().enumerate() {
                let line = file_lines[ls - 1 + i];
                assert_eq!(t["text"], line);
                let hs = t["highlight_start"].as_u64().unwrap() as usize;
                let he = t["highlight_end"].as_u64().unwrap() as usize;
                let part: String = line.chars().skip(hs - 1).take(he - hs).collect();
                if i > 0 {
                    highlighted.push('\n');
                }
                highlighted.push_str(&part);
            }
            assert_eq!(highlighted, &text[bs..be]);
            checked += 1;
        }
    }
    assert!(checked >= 7, "checked {checked} spans");
}

#[test]
fn a_bom_counts_in_byte_offsets() {
    let v = lines(&report());
    // The resource_leak finding sits on line 3 of the BOM file; offsets include the BOM.
    let leak = v
        .iter()
        .find(|v| v["message"]["code"]["code"] == "lockstep::resource_leak")
        .unwrap();
    let s = &leak["message"]["spans"][0];
    let at = TCP.find("let d").unwrap() + 4;
    assert_eq!(s["byte_start"].as_u64().unwrap() as usize, at);
    assert_eq!(&TCP[at..at + 1], "d");
    assert_eq!(s["label"], Value::Null);
}

#[test]
fn rustfix_applies_the_suggestions() {
    let stream = rendered(&report(), MessageFormat::Json);
    let mut fixed = std::collections::BTreeMap::new();
    for (name, text) in [("src/lib.rs", LIB), ("src/tcp.rs", TCP)] {
        // rustfix reads rustc's diagnostics: the `message` of each cargo line.
        let rustc: String = stream
            .lines()
            .filter_map(|l| {
                let v: Value = serde_json::from_str(l).ok()?;
                (v["reason"] == "compiler-message").then(|| v["message"].to_string() + "\n")
            })
            .collect();
        let suggestions = rustfix::get_suggestions_from_json(
            &rustc,
            &HashSet::new(),
            rustfix::Filter::Everything,
        )
        .expect("rustfix parses the stream");
        let mine: Vec<_> = suggestions
            .into_iter()
            .filter(|s| {
                s.solutions
                    .iter()
                    .all(|so| so.replacements.iter().all(|r| r.snippet.file_name == name))
            })
            .collect();
        let out = rustfix::apply_suggestions(text, &mine).expect("suggestions apply");
        syn::parse_file(&out).unwrap_or_else(|e| panic!("{name} no longer parses: {e}\n{out}"));
        fixed.insert(name, (mine.len(), out));
    }
    let (n, tcp) = &fixed["src/tcp.rs"];
    assert_eq!(*n, 2);
    assert!(tcp.starts_with('\u{feff}'));
    assert!(tcp.contains("(a.wrapping_sub(b) as i32) > 0"));
    assert!(!tcp.contains("let d = 1;"));
    let (n, lib) = &fixed["src/lib.rs"];
    assert_eq!((*n, lib.as_str()), (0, LIB));
}

#[test]
fn units_name_the_package_and_paths_mode_synthesizes_one() {
    let with = lines(&report_with_units());
    assert_eq!(with[0]["package_id"], "path+file:///ws#cafe-driver@0.1.0");
    assert_eq!(with[0]["target"]["kind"][0], "lib");
    assert_eq!(with[0]["target"]["src_path"], "/ws/src/lib.rs");
    let without = lines(&report());
    assert_eq!(without[0]["manifest_path"], "/ws/Cargo.toml");
    assert_eq!(without[0]["target"]["name"], "cafe_driver");
    assert_eq!(without[0]["target"]["edition"], "2021");
    assert_eq!(without[1]["target"]["src_path"], "/ws/src/tcp.rs");
    assert_eq!(without[0]["message"]["spans"][0]["file_name"], "src/lib.rs");
}

#[test]
fn build_finished_reports_deny_findings() {
    let mut r = report();
    let last = lines(&r).pop().unwrap();
    assert_eq!(last["success"], false);
    r.diagnostics
        .retain(|d| d.level != lockstep_analyzer::Level::Deny);
    let last = lines(&r).pop().unwrap();
    assert_eq!(last["reason"], "build-finished");
    assert_eq!(last["success"], true);
}

#[test]
fn rendered_is_the_plain_human_text() {
    let v = lines(&report());
    let r = v[0]["message"]["rendered"].as_str().unwrap();
    assert!(r.contains("`self.state` is locked while already held"));
    assert!(!r.contains('\u{1b}'));
    let children = v[0]["message"]["children"].as_array().unwrap();
    let levels: Vec<&str> = children
        .iter()
        .map(|c| c["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["note", "help"]);
    assert!(children.iter().all(|c| c.get("$message_type").is_none()));
}

#[test]
fn output_is_deterministic() {
    assert_eq!(
        rendered(&report_with_units(), MessageFormat::Json),
        rendered(&report_with_units(), MessageFormat::Json)
    );
}

#[test]
fn a_bom_is_no_column_of_line_one() {
    use lockstep_analyzer::{Diagnostic, FileId, Label, Level, SourceDb, SourceFile, Span};
    let text = "\u{feff}fn é() {}\n";
    let mut db = SourceDb::new();
    let f = db.add(SourceFile::new(FileId(0), "src/lib.rs", text));
    let at = text.find('é').unwrap() as u32;
    let d = Diagnostic::new(
        "double_lock",
        Level::Deny,
        "x",
        Label::new(Span::new(f, at, at + 2), ""),
    );
    let r = cargo_lockstep::Report {
        db,
        diagnostics: vec![d],
        ..Default::default()
    };
    let v = lines(&r);
    let s = &v[0]["message"]["spans"][0];
    assert_eq!(s["byte_start"], 6);
    assert_eq!(s["byte_end"], 8);
    assert_eq!(s["column_start"], 4);
    assert_eq!(s["column_end"], 5);
    assert_eq!(s["text"][0]["text"], "fn é() {}");
    assert_eq!(s["text"][0]["highlight_start"], 4);
}
