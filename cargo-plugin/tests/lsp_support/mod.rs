//! A JSON-RPC client for language servers over stdio, and what a server must publish for the
//! findings the tool itself reports (shared by the rust-analyzer and `cargo lockstep lsp`
//! tests).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Instant;

use serde_json::{json, Value};

/// The server process; killed on drop unless it already exited.
pub struct Server {
    name: String,
    pub child: Child,
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
    /// Start `cmd` with piped stdin and stdout, its stderr written to `stderr`.
    pub fn start(name: &str, mut cmd: Command, stderr: PathBuf) -> Server {
        let log = std::fs::File::create(&stderr).expect("create the server log");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
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
            name: name.to_string(),
            child,
            stdin,
            rx,
            next_id: 1,
            stderr,
        }
    }

    pub fn send(&mut self, msg: &Value) {
        let body = serde_json::to_vec(msg).expect("serialize");
        let head = format!("Content-Length: {}\r\n\r\n", body.len());
        self.stdin
            .write_all(head.as_bytes())
            .and_then(|_| self.stdin.write_all(&body))
            .and_then(|_| self.stdin.flush())
            .unwrap_or_else(|e| panic!("write to the server: {e}\n{}", self.log()));
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    pub fn request(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    /// The next message from the server, answering its own requests on the way; `None`
    /// when `deadline` passes first.
    pub fn next(&mut self, deadline: Instant) -> Option<Value> {
        loop {
            let msg = self.next_with_requests(deadline)?;
            if msg.get("method").is_none() || msg.get("id").is_none() {
                return Some(msg);
            }
        }
    }

    /// The next message from the server, its requests included (each answered with a `null`
    /// result: progress tokens, capability registration); `None` when `deadline` passes first.
    pub fn next_with_requests(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = match self.rx.recv_timeout(left) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => return None,
            Err(RecvTimeoutError::Disconnected) => {
                panic!("{} exited early\n{}", self.name, self.log())
            }
        };
        if msg.get("method").is_some() && msg.get("id").is_some() {
            let id = msg["id"].clone();
            self.send(&json!({"jsonrpc": "2.0", "id": id, "result": null}));
        }
        Some(msg)
    }

    /// Waits for the response to request `id`.
    pub fn response(&mut self, id: u64, deadline: Instant) -> Value {
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

    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("{} stderr (last lines):\n{}", self.name, tail.join("\n"))
    }
}

/// One `Content-Length` framed JSON-RPC message (framing as `lsp-server` reads it).
pub fn read_message(r: &mut impl BufRead) -> Option<Value> {
    let msg = lsp_server::Message::read(r).ok()??;
    serde_json::to_value(msg).ok()
}

pub fn copy_dir(from: &Path, to: &Path) {
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

pub fn file_uri(p: &Path) -> String {
    format!("file://{}", p.display())
}

/// Lines (1-based) of the `//~ lint` annotations of a source file.
pub fn annotated_lines(src: &str) -> Vec<(u64, String)> {
    src.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let (_, rest) = l.split_once("//~ ")?;
            Some((i as u64 + 1, rest.trim().to_string()))
        })
        .collect()
}

/// The findings as the tool itself writes them: rustc diagnostics of the JSON stream.
pub fn tool_findings(root: &Path) -> Vec<Value> {
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

pub fn lsp_position(line: &Value, column: &Value) -> Value {
    json!({"line": line.as_u64().unwrap() - 1, "character": column.as_u64().unwrap() - 1})
}

/// Where a server puts a finding's notes and help: rust-analyzer appends them to the message;
/// `cargo lockstep lsp` keeps the message as the tool prints it and shows them on hover.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Notes {
    InMessage,
    Elsewhere,
}

/// What a server must have published for one finding, or why it does not match.
pub fn check_one(
    finding: &Value,
    published: &[Value],
    file: &str,
    notes: Notes,
) -> Result<(), String> {
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
    if !shown.starts_with(message) || notes == Notes::Elsewhere && shown != message {
        return Err(format!("message {shown:?} is not {message:?}"));
    }
    for child in finding["children"].as_array().unwrap() {
        if notes == Notes::Elsewhere {
            break;
        }
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
