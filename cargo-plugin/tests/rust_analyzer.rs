//! Opt-in editor check (`LOCKSTEP_RUST_ANALYZER=/path/to/rust-analyzer`): a real
//! rust-analyzer, configured with `check.overrideCommand` set to `cargo lockstep
//! --message-format json` as README documents, shows every finding of a fixture crate as an
//! LSP diagnostic: at the finding's line and columns, with code `lockstep::<lint>`, the
//! level mapped to the LSP severity, the message as the tool prints it, and the labelled
//! secondary sites as related information.
//!
//! The server speaks JSON-RPC over stdio; every wait is bounded, and the server is killed
//! when the test ends or fails. Without the variable the test prints why it is skipped.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const FIXTURE: &str = "locks/closure-lock";
const TIMEOUT: Duration = Duration::from_secs(120);

/// The server process; killed on drop unless it already exited.
struct Server {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next_id: u64,
    stderr: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(bin: &Path, root: &Path, stderr: PathBuf) -> Server {
        let log = std::fs::File::create(&stderr).expect("create the server log");
        let mut child = Command::new(bin)
            .current_dir(root)
            .env("RA_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            while let Some(msg) = read_message(&mut r) {
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
        Server {
            child,
            stdin,
            rx,
            next_id: 1,
            stderr,
        }
    }

    fn send(&mut self, msg: &Value) {
        let body = serde_json::to_vec(msg).expect("serialize");
        let head = format!("Content-Length: {}\r\n\r\n", body.len());
        self.stdin
            .write_all(head.as_bytes())
            .and_then(|_| self.stdin.write_all(&body))
            .and_then(|_| self.stdin.flush())
            .unwrap_or_else(|e| panic!("write to the server: {e}\n{}", self.log()));
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn request(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    /// The next message from the server, answering its own requests on the way; `None`
    /// when `deadline` passes first.
    fn next(&mut self, deadline: Instant) -> Option<Value> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = match self.rx.recv_timeout(left) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("rust-analyzer exited early\n{}", self.log())
                }
            };
            if msg.get("method").is_some() && msg.get("id").is_some() {
                // A request from the server (progress tokens, capability registration):
                // accept it without a result.
                let id = msg["id"].clone();
                self.send(&json!({"jsonrpc": "2.0", "id": id, "result": null}));
                continue;
            }
            return Some(msg);
        }
    }

    /// Waits for the response to request `id`.
    fn response(&mut self, id: u64, deadline: Instant) -> Value {
        while let Some(msg) = self.next(deadline) {
            if msg.get("id").and_then(Value::as_u64) == Some(id) && msg.get("method").is_none() {
                if let Some(err) = msg.get("error") {
                    panic!("request {id} failed: {err}");
                }
                return msg["result"].clone();
            }
        }
        panic!("no response to request {id} in time\n{}", self.log());
    }

    fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("rust-analyzer stderr (last lines):\n{}", tail.join("\n"))
    }
}

/// One `Content-Length` framed JSON-RPC message.
fn read_message(r: &mut impl BufRead) -> Option<Value> {
    let mut len = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                len = value.trim().parse::<usize>().ok();
            }
        }
    }
    let mut body = vec![0; len?];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

fn file_uri(p: &Path) -> String {
    format!("file://{}", p.display())
}

/// Lines (1-based) of the `//~ lint` annotations of a source file.
fn annotated_lines(src: &str) -> Vec<(u64, String)> {
    src.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let (_, rest) = l.split_once("//~ ")?;
            Some((i as u64 + 1, rest.trim().to_string()))
        })
        .collect()
}

/// The findings as the tool itself writes them: rustc diagnostics of the JSON stream.
fn tool_findings(root: &Path) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-lockstep"))
        .args(["lockstep", "--message-format", "json"])
        .current_dir(root)
        .output()
        .expect("run cargo-lockstep");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|m| m["reason"] == "compiler-message")
        .map(|m| m["message"].clone())
        .collect()
}

fn lsp_position(line: &Value, column: &Value) -> Value {
    json!({"line": line.as_u64().unwrap() - 1, "character": column.as_u64().unwrap() - 1})
}

/// What rust-analyzer must have published for one finding, or why it does not match.
fn check_one(finding: &Value, published: &[Value], file: &str) -> Result<(), String> {
    let spans = finding["spans"].as_array().unwrap();
    let primary = spans.iter().find(|s| s["is_primary"] == true).unwrap();
    let start = lsp_position(&primary["line_start"], &primary["column_start"]);
    let end = lsp_position(&primary["line_end"], &primary["column_end"]);
    let code = finding["code"]["code"].as_str().unwrap();
    let lint = code.strip_prefix("lockstep::").unwrap();
    let message = finding["message"].as_str().unwrap();
    let d = published
        .iter()
        .find(|d| d["range"]["start"] == start && d["code"] == lint && d["severity"] != 4)
        .ok_or_else(|| format!("no `{code}` diagnostic at {start}"))?;
    if d["range"]["end"] != end {
        return Err(format!("range end {} instead of {end}", d["range"]["end"]));
    }
    if d["source"] != "lockstep" {
        return Err(format!("source {} instead of \"lockstep\"", d["source"]));
    }
    let severity = match finding["level"].as_str().unwrap() {
        "error" => 1,
        "warning" => 2,
        other => return Err(format!("unexpected level {other}")),
    };
    if d["severity"] != severity {
        return Err(format!("severity {} instead of {severity}", d["severity"]));
    }
    let shown = d["message"].as_str().unwrap_or_default();
    if !shown.starts_with(message) {
        return Err(format!("message {shown:?} does not start with {message:?}"));
    }
    for child in finding["children"].as_array().unwrap() {
        let text = child["message"].as_str().unwrap();
        if child["spans"].as_array().unwrap().is_empty() && !shown.contains(text) {
            return Err(format!(
                "message {shown:?} lacks the {} {text:?}",
                child["level"]
            ));
        }
    }
    let related = d["relatedInformation"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for s in spans.iter().filter(|s| s["is_primary"] == false) {
        let at = lsp_position(&s["line_start"], &s["column_start"]);
        let uri = file_uri(
            &Path::new(file).with_file_name(
                Path::new(s["file_name"].as_str().unwrap())
                    .file_name()
                    .unwrap(),
            ),
        );
        let found = related.iter().any(|r| {
            r["location"]["range"]["start"] == at
                && r["location"]["uri"] == uri.as_str()
                && r["message"] == s["label"]
        });
        if !found {
            return Err(format!(
                "no related information {:?} at {at} in {}",
                s["label"],
                Value::Array(related.clone())
            ));
        }
    }
    Ok(())
}

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

    let mut server = Server::start(Path::new(&ra), &root, tmp.path().join("ra.log"));
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
                        .filter_map(|f| check_one(f, &published, lib.to_str().unwrap()).err())
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
