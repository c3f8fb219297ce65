//! Opt-in editor check (`LOCKSTEP_RUST_ANALYZER=/path/to/rust-analyzer`): a real
//! rust-analyzer, configured with `check.overrideCommand` set to `cargo lockstep
//! --message-format json` as README documents, shows every finding of a fixture crate as an
//! LSP diagnostic: at the finding's line and columns, with code `lockstep::<lint>`, the
//! level mapped to the LSP severity, the message as the tool prints it, and the labelled
//! secondary sites as related information.
//!
//! The server speaks JSON-RPC over stdio; every wait is bounded, and the server is killed
//! when the test ends or fails. Without the variable the test prints why it is skipped.

mod lsp_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use lsp_support::{annotated_lines, check_one, copy_dir, file_uri, tool_findings, Notes, Server};
use serde_json::{json, Value};

const FIXTURE: &str = "locks/closure-lock";
const TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn rust_analyzer_shows_findings() {
    let Some(ra) = std::env::var_os("LOCKSTEP_RUST_ANALYZER") else {
        eprintln!(
            "skipped: set LOCKSTEP_RUST_ANALYZER=/path/to/rust-analyzer to check the findings \
             in a real rust-analyzer"
        );
        return;
    };
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("crate");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(FIXTURE);
    copy_dir(&fixture, &root);
    let lib = root.join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();

    let findings = tool_findings(&root);
    let mut lines: Vec<(u64, String)> = findings
        .iter()
        .map(|f| {
            let p = f["spans"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["is_primary"] == true)
                .unwrap();
            let code = f["code"]["code"].as_str().unwrap();
            (
                p["line_start"].as_u64().unwrap(),
                code.trim_start_matches("lockstep::").to_string(),
            )
        })
        .collect();
    lines.sort();
    assert_eq!(lines, annotated_lines(&text), "the tool's own findings");
    assert!(findings.iter().any(|f| f["level"] == "error"));
    assert!(findings.iter().any(|f| f["level"] == "warning"));
    assert!(findings.iter().any(|f| f["spans"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["is_primary"] == false && s["label"].is_string())));

    let mut cmd = Command::new(&ra);
    cmd.current_dir(&root).env("RA_LOG", "warn");
    let mut server = Server::start("rust-analyzer", cmd, tmp.path().join("ra.log"));
    let deadline = started + TIMEOUT;
    let root_uri = file_uri(&root);
    let lib_uri = file_uri(&lib);
    let id = server.request(
        "initialize",
        json!({
            "processId": std::process::id(),
            "rootUri": root_uri,
            "workspaceFolders": [{"uri": root_uri, "name": "crate"}],
            "capabilities": {
                "textDocument": {"publishDiagnostics": {"relatedInformation": true}},
                "experimental": {"serverStatusNotification": true},
            },
            "initializationOptions": {
                "check": {
                    "overrideCommand": [
                        env!("CARGO_BIN_EXE_cargo-lockstep"),
                        "lockstep",
                        "--message-format",
                        "json",
                    ],
                },
                "checkOnSave": true,
                // A crate without dependencies: nothing to build or fetch, and no standard
                // library sources needed to run the check.
                "cargo": {"buildScripts": {"enable": false}, "sysroot": null},
                "procMacro": {"enable": false},
            },
        }),
    );
    server.response(id, deadline);
    server.notify("initialized", json!({}));

    // Wait until the workspace is loaded, so that a save starts the check.
    while let Some(msg) = server.next(deadline) {
        if msg["method"] == "experimental/serverStatus" && msg["params"]["quiescent"] == true {
            break;
        }
    }
    server.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": lib_uri, "languageId": "rust", "version": 1, "text": text}}),
    );
    server.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": lib_uri}}),
    );

    let mut published: Vec<Value> = Vec::new();
    let mut missing = String::from("no diagnostics published");
    let mut resave = Instant::now() + Duration::from_secs(15);
    let done = loop {
        let wait = deadline.min(resave);
        match server.next(wait) {
            Some(msg) => {
                if msg["method"] == "textDocument/publishDiagnostics"
                    && msg["params"]["uri"] == lib_uri.as_str()
                {
                    published = msg["params"]["diagnostics"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    let errors: Vec<String> = findings
                        .iter()
                        .filter_map(|f| {
                            check_one(f, &published, lib.to_str().unwrap(), Notes::InMessage).err()
                        })
                        .collect();
                    if errors.is_empty() {
                        break true;
                    }
                    missing = errors.join("\n");
                }
            }
            None if Instant::now() >= deadline => break false,
            None => {
                // Nothing yet: save again in case the first save came before the check
                // was ready.
                server.notify(
                    "textDocument/didSave",
                    json!({"textDocument": {"uri": lib_uri}}),
                );
                resave = Instant::now() + Duration::from_secs(15);
            }
        }
    };
    assert!(
        done,
        "rust-analyzer did not show the findings within {TIMEOUT:?}:\n{missing}\n\
         last published: {}\n{}",
        serde_json::to_string_pretty(&published).unwrap(),
        server.log()
    );
    let shown: Vec<&Value> = published
        .iter()
        .filter(|d| d["source"] == "lockstep" && d["severity"] != 4)
        .collect();
    eprintln!(
        "rust-analyzer showed {} findings in {:.1?}; the first:\n{}",
        shown.len(),
        started.elapsed(),
        serde_json::to_string_pretty(&shown[0]).unwrap()
    );

    let shutdown_by = Instant::now() + Duration::from_secs(10);
    let id = server.request("shutdown", Value::Null);
    server.response(id, shutdown_by);
    server.notify("exit", Value::Null);
    while Instant::now() < shutdown_by {
        if let Ok(Some(_)) = server.child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
