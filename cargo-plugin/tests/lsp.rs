//! `cargo lockstep lsp` driven over stdio as an editor drives it: the findings of a fixture
//! crate published as diagnostics exactly as the JSON output reports them (range, code,
//! severity, message, labelled sites as related information); hover shows the lint's
//! documentation; code actions applied one after another turn a fixture into its `--fix`
//! result, and the allow action silences its finding; a saved edit that introduces a double
//! lock shows it, undoing the edit clears it; a changed `lockstep.toml` applies at once, a
//! broken one is reported; `shutdown` then `exit` ends the server with status 0.
//!
//! Every wait is bounded; the server is killed when a test fails.

mod lsp_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lsp_support::{check_one, copy_dir, file_uri, tool_findings, Notes, Server};
use serde_json::{json, Value};

const TIMEOUT: Duration = Duration::from_secs(120);

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// A copy of a fixture crate in a new temporary directory (kept while the first is alive),
/// and its root.
fn copy_fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("crate");
    copy_dir(&fixtures().join(name), &root);
    (tmp, root)
}

/// The server and what it has published so far.
struct Client {
    server: Server,
    deadline: Instant,
    /// The latest diagnostics per URI.
    diagnostics: BTreeMap<String, Vec<Value>>,
    /// `window/showMessage` texts, in order.
    shown: Vec<(u64, String)>,
    /// Server requests seen, by method.
    server_requests: Vec<String>,
    runs: u64,
}

impl Client {
    /// Start the server (in a directory other than the workspace, which it must take from
    /// `initialize`) and initialize it; returns the client and the `initialize` result.
    fn start(root: &Path, log: PathBuf) -> (Client, Value) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-lockstep"));
        cmd.args(["lockstep", "lsp"])
            .current_dir(root.parent().unwrap())
            .env("NO_COLOR", "1");
        let server = Server::start("cargo lockstep lsp", cmd, log);
        let mut c = Client {
            server,
            deadline: Instant::now() + TIMEOUT,
            diagnostics: BTreeMap::new(),
            shown: Vec::new(),
            server_requests: Vec::new(),
            runs: 0,
        };
        let root_uri = file_uri(root);
        let id = c.server.request(
            "initialize",
            json!({
                "processId": std::process::id(),
                "rootUri": root_uri,
                "workspaceFolders": [{"uri": root_uri, "name": "crate"}],
                "capabilities": {
                    "general": {"positionEncodings": ["utf-16"]},
                    "window": {"workDoneProgress": true},
                    "workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}},
                    "textDocument": {"publishDiagnostics": {"relatedInformation": true}},
                },
            }),
        );
        let result = c.response(id);
        c.server.notify("initialized", json!({}));
        (c, result)
    }

    fn take(&mut self, msg: &Value) {
        match msg["method"].as_str() {
            Some("textDocument/publishDiagnostics") => {
                let uri = msg["params"]["uri"].as_str().unwrap().to_string();
                let d = msg["params"]["diagnostics"].as_array().unwrap().clone();
                self.diagnostics.insert(uri, d);
            }
            Some("window/showMessage") => {
                let p = &msg["params"];
                let text = p["message"].as_str().unwrap().to_string();
                self.shown.push((p["type"].as_u64().unwrap(), text));
            }
            Some("window/logMessage") => {
                let text = msg["params"]["message"].as_str().unwrap_or("");
                if let Some(rest) = text.strip_prefix("lockstep: run ") {
                    let n: u64 = rest.split(':').next().unwrap().parse().unwrap();
                    self.runs = self.runs.max(n);
                }
            }
            _ => {}
        }
    }

    /// Handle messages until `done` holds; panics at the deadline.
    fn until(&mut self, what: &str, mut done: impl FnMut(&Client) -> bool) {
        while !done(self) {
            let Some(msg) = self.server.next_with_requests(self.deadline) else {
                panic!(
                    "timed out waiting for {what}\npublished: {:#?}\n{}",
                    self.diagnostics,
                    self.server.log()
                );
            };
            if let (Some(m), Some(_)) = (msg["method"].as_str(), msg.get("id")) {
                self.server_requests.push(m.to_string());
            }
            self.take(&msg);
        }
    }

    fn wait_run(&mut self, n: u64) {
        self.until(&format!("analysis run {n}"), |c| c.runs >= n);
    }

    fn response(&mut self, id: u64) -> Value {
        loop {
            let Some(msg) = self.server.next_with_requests(self.deadline) else {
                panic!("no response to request {id}\n{}", self.server.log());
            };
            if msg.get("id").and_then(Value::as_u64) == Some(id) && msg.get("method").is_none() {
                assert!(msg.get("error").is_none(), "request {id} failed: {msg}");
                return msg["result"].clone();
            }
            self.take(&msg);
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.server.request(method, params);
        self.response(id)
    }

    fn published(&self, uri: &str) -> Vec<Value> {
        self.diagnostics.get(uri).cloned().unwrap_or_default()
    }

    fn save(&mut self, uri: &str) {
        self.server.notify(
            "textDocument/didSave",
            json!({"textDocument": {"uri": uri}}),
        );
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.server.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}}),
        );
    }

    /// `shutdown`, `exit`, and the exit status.
    fn finish(mut self) -> Option<i32> {
        self.request("shutdown", Value::Null);
        self.exit()
    }

    /// `exit`, and the exit status (`None` when the server is still running 10 s later).
    fn exit(mut self) -> Option<i32> {
        self.server.notify("exit", Value::Null);
        let by = Instant::now() + Duration::from_secs(10);
        while Instant::now() < by {
            if let Ok(Some(s)) = self.server.child.try_wait() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// The byte offset of an LSP position (UTF-16 columns) in `text`.
fn offset(text: &str, pos: &Value) -> usize {
    let line = pos["line"].as_u64().unwrap() as usize;
    let character = pos["character"].as_u64().unwrap() as usize;
    let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
    let mut units = 0;
    for (i, ch) in text[start..].char_indices() {
        if units >= character || ch == '\n' {
            return start + i;
        }
        units += ch.len_utf16();
    }
    text.len()
}

/// Apply a workspace edit's changes to `uri`'s text.
fn apply(text: &str, edit: &Value, uri: &str) -> String {
    let mut edits: Vec<(usize, usize, String)> = edit["changes"][uri]
        .as_array()
        .expect("edits for the document")
        .iter()
        .map(|e| {
            (
                offset(text, &e["range"]["start"]),
                offset(text, &e["range"]["end"]),
                e["newText"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_string();
    for (s, e, t) in edits {
        out.replace_range(s..e, &t);
    }
    out
}

fn code_actions(c: &mut Client, uri: &str, range: &Value) -> Vec<Value> {
    let r = c.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": uri},
            "range": range,
            "context": {"diagnostics": []},
        }),
    );
    r.as_array().cloned().unwrap_or_default()
}

#[test]
fn findings_hover_allow_edit_and_configuration() {
    let (tmp, root) = copy_fixture("locks/closure-lock");
    let lib = root.join("src/lib.rs");
    let lib_uri = file_uri(&lib);
    let original = std::fs::read_to_string(&lib).unwrap();
    let findings = tool_findings(&root);
    assert!(findings.len() >= 2, "{findings:#?}");

    let (mut c, init) = Client::start(&root, tmp.path().join("server.log"));
    let caps = &init["capabilities"];
    assert_eq!(caps["positionEncoding"], "utf-16");
    assert_eq!(caps["hoverProvider"], true);
    assert_eq!(caps["codeActionProvider"], true);
    assert_eq!(init["serverInfo"]["name"], "cargo-lockstep");

    // the first run publishes every finding, as the JSON output reports it
    c.wait_run(1);
    let published = c.published(&lib_uri);
    for f in &findings {
        if let Err(e) = check_one(f, &published, lib.to_str().unwrap(), Notes::Elsewhere) {
            panic!("{e}\npublished: {published:#?}");
        }
    }
    assert_eq!(published.len(), findings.len(), "{published:#?}");
    assert!(c
        .server_requests
        .iter()
        .any(|m| m == "client/registerCapability"));
    assert!(c
        .server_requests
        .iter()
        .any(|m| m == "window/workDoneProgress/create"));

    // opening the file publishes its findings again, for the URI the editor uses
    c.diagnostics.clear();
    c.open(&lib_uri, &original);
    c.until("diagnostics on open", |c| {
        c.diagnostics.contains_key(&lib_uri)
    });

    // hover over a finding: its lint, message and documentation
    let first = published[0].clone();
    let hover = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": lib_uri}, "position": first["range"]["start"]}),
    );
    let text = hover["contents"]["value"].as_str().unwrap();
    let lint = first["code"].as_str().unwrap();
    assert!(text.contains(&format!("lockstep::{lint}")), "{text}");
    assert!(text.contains(first["message"].as_str().unwrap()), "{text}");
    assert!(text.contains("## What it does"), "{text}");
    let nowhere = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": lib_uri}, "position": {"line": 0, "character": 0}}),
    );
    assert_eq!(nowhere, Value::Null);

    // the allow action silences that finding and nothing else
    let actions = code_actions(&mut c, &lib_uri, &first["range"]);
    let allow = actions
        .iter()
        .find(|a| a["title"].as_str().unwrap().starts_with("allow"))
        .unwrap_or_else(|| panic!("no allow action: {actions:#?}"));
    assert_eq!(allow["kind"], "quickfix");
    let allowed = apply(&original, &allow["edit"], &lib_uri);
    std::fs::write(&lib, &allowed).unwrap();
    c.save(&lib_uri);
    c.wait_run(2);
    let after = c.published(&lib_uri);
    assert_eq!(after.len(), published.len() - 1, "{after:#?}");
    assert!(!after
        .iter()
        .any(|d| d["code"] == first["code"] && d["message"] == first["message"]));

    // an edit that introduces a double lock: no stale code action while it is unsaved; on
    // save the finding appears, and undoing the edit clears it
    let bug = "\nimpl Iface {\n    pub fn twice(&self) -> u32 {\n        self.routes.lock(|_| self.routes.lock(|r| *r.borrow()))\n    }\n}\n";
    let edited = format!("{allowed}{bug}");
    c.server.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": lib_uri, "version": 2}, "contentChanges": [{"text": edited}]}),
    );
    assert!(code_actions(&mut c, &lib_uri, &first["range"]).is_empty());
    std::fs::write(&lib, &edited).unwrap();
    c.save(&lib_uri);
    c.wait_run(3);
    let line = edited
        .lines()
        .position(|l| l.contains("self.routes.lock(|_| self"))
        .unwrap();
    let with_bug = c.published(&lib_uri);
    assert!(
        with_bug
            .iter()
            .any(|d| d["code"] == "double_lock" && d["range"]["start"]["line"] == line as u64),
        "{with_bug:#?}"
    );
    std::fs::write(&lib, &allowed).unwrap();
    c.save(&lib_uri);
    c.wait_run(4);
    assert_eq!(c.published(&lib_uri), after);

    // a configuration written outside the editor applies at once
    let config = root.join("lockstep.toml");
    std::fs::write(
        &config,
        "[lints]\nlock_order_inversion = \"allow\"\ndouble_lock = \"allow\"\n",
    )
    .unwrap();
    c.server.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": file_uri(&config), "type": 1}]}),
    );
    c.wait_run(5);
    let quiet = c.published(&lib_uri);
    assert!(
        !quiet
            .iter()
            .any(|d| d["code"] == "double_lock" || d["code"] == "lock_order_inversion"),
        "{quiet:#?}"
    );

    // a broken one is shown to the user; the findings stay as they were
    std::fs::write(&config, "[lints]\ndouble_lock = \"sometimes\"\n").unwrap();
    c.server.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": file_uri(&config), "type": 2}]}),
    );
    c.until("the configuration error", |c| {
        c.shown
            .iter()
            .any(|(t, m)| *t == 1 && m.contains("sometimes"))
    });
    assert_eq!(c.published(&lib_uri), quiet);

    assert_eq!(c.finish(), Some(0));
}

#[test]
fn code_actions_reach_the_fix_result() {
    let (tmp, root) = copy_fixture("seq/fix-roundtrip/input");
    let lib = root.join("src/lib.rs");
    let lib_uri = file_uri(&lib);
    let expected =
        std::fs::read_to_string(fixtures().join("seq/fix-roundtrip/expected/lib.rs.fixed"))
            .unwrap();
    let (mut c, _) = Client::start(&root, tmp.path().join("server.log"));
    c.wait_run(1);
    let mut text = std::fs::read_to_string(&lib).unwrap();
    c.open(&lib_uri, &text);
    // as a user would: take the preferred quick fix of the first finding that has one, save,
    // and look again, until none is left
    let mut applied = 0;
    loop {
        let published = c.published(&lib_uri);
        let mut chosen = None;
        for d in &published {
            let actions = code_actions(&mut c, &lib_uri, &d["range"]);
            if let Some(a) = actions.into_iter().find(|a| a["isPreferred"] == true) {
                chosen = Some(a);
                break;
            }
        }
        let Some(action) = chosen else { break };
        assert!(applied < 20, "the quick fixes do not converge");
        text = apply(&text, &action["edit"], &lib_uri);
        std::fs::write(&lib, &text).unwrap();
        applied += 1;
        c.save(&lib_uri);
        c.wait_run(1 + applied);
    }
    assert_eq!(applied, 9);
    assert_eq!(text, expected);
    let left: Vec<Value> = c
        .published(&lib_uri)
        .into_iter()
        .filter(|d| d["code"].as_str().unwrap().starts_with("seq_"))
        .collect();
    assert!(left.is_empty(), "{left:#?}");
    assert_eq!(c.finish(), Some(0));
}

#[test]
fn exit_without_shutdown_is_status_one() {
    let (tmp, root) = copy_fixture("locks/closure-lock");
    let (mut c, _) = Client::start(&root, tmp.path().join("server.log"));
    c.wait_run(1);
    assert_eq!(c.exit(), Some(1));
}
