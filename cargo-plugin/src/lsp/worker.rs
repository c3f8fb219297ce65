//! The analysis thread: one run at a time, requests that arrive during a run coalesced into
//! the next one. The plan, configuration and levels are kept between runs and read again
//! only when a manifest or configuration file changed (or a file appeared or went away);
//! the per-file cache under `target/lockstep/` makes a run after one saved file re-lower
//! that file only.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use lsp_server::{Message, Notification, Request, RequestId};
use lsp_types::request::Request as _;
use lsp_types::{
    LogMessageParams, MessageType, NumberOrString, ProgressParams, ProgressParamsValue,
    PublishDiagnosticsParams, ShowMessageParams, Uri, WorkDoneProgress, WorkDoneProgressBegin,
    WorkDoneProgressCreateParams, WorkDoneProgressEnd,
};

use super::convert::{self, Encoding, Snapshot};
use crate::cli::Invocation;
use crate::prepare::{analyze_plan, prepare, Prepared};

/// What the server asks of the analysis thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// Analyze again (a source file was saved or changed on disk).
    Analyze,
    /// Read the manifests and configuration again, then analyze.
    Reload,
}

/// What the server and the analysis thread share.
#[derive(Default)]
pub struct Shared {
    /// The findings of the last run.
    pub snapshot: Snapshot,
    /// What was last published for each file (to publish only what changed, and to clear a
    /// file whose findings went away).
    pub published: Snapshot,
    /// The open documents by canonical path, with the URI the client gave them.
    pub open: std::collections::HashMap<PathBuf, Uri>,
    /// Runs finished.
    pub runs: u64,
}

impl Shared {
    /// The URI the client knows a file by: the one it opened it with, else the file's own.
    pub fn uri_of(&self, path: &std::path::Path) -> Option<Uri> {
        match self.open.get(path) {
            Some(u) => Some(u.clone()),
            None => convert::uri(path),
        }
    }
}

/// How the analysis thread talks to the client.
pub struct Setup {
    pub inv: Invocation,
    pub encoding: Encoding,
    pub sender: Sender<Message>,
    pub shared: Arc<Mutex<Shared>>,
    /// Whether the client shows `$/progress` (it said `window.workDoneProgress`).
    pub progress: bool,
}

/// Start the analysis thread; it ends when the returned sender is dropped.
pub fn spawn(setup: Setup) -> Sender<Job> {
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::Builder::new()
        .name("lockstep-lsp-analysis".into())
        .spawn(move || run(setup, rx))
        .expect("start the analysis thread");
    tx
}

fn run(setup: Setup, rx: Receiver<Job>) {
    let mut prepared: Option<Prepared> = None;
    let mut n = 0u64;
    while let Ok(first) = rx.recv() {
        let mut reload = first == Job::Reload;
        while let Ok(j) = rx.try_recv() {
            reload |= j == Job::Reload;
        }
        if reload {
            prepared = None;
        }
        if prepared.is_none() {
            match prepare(&setup.inv) {
                Ok(p) => prepared = Some(p),
                Err(e) => {
                    show(&setup.sender, MessageType::ERROR, &message_of(&e));
                    log(&setup.sender, MessageType::ERROR, e.trim_end());
                    continue;
                }
            }
        }
        let Some(p) = &prepared else { continue };
        n += 1;
        let token = setup.progress.then(|| begin_progress(&setup.sender, n));
        let started = Instant::now();
        let mut plan = p.plan.clone();
        plan.threads = setup.inv.options.jobs;
        plan.progress = false;
        if !setup.inv.options.no_cache {
            plan.cache_dir = Some(crate::cache::Cache::default_dir(&plan.root));
        }
        // a bug in the analysis must not end the server: report it and wait for the next save
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let (report, _) = analyze_plan(plan, &p.settings, &p.levels);
            let root = convert::canonical(&report.root);
            let snap = convert::snapshot(&root, &report.db, &report.diagnostics, setup.encoding);
            (report, snap)
        }));
        let Ok((report, snap)) = ran else {
            show(
                &setup.sender,
                MessageType::ERROR,
                "lockstep: internal error in the analysis (a bug; stderr has the details)",
            );
            if let Some(t) = token {
                end_progress(&setup.sender, t, "failed");
            }
            continue;
        };
        for e in &report.io_errors {
            log(&setup.sender, MessageType::WARNING, e);
        }
        publish(&setup, snap);
        let found = report.diagnostics.len();
        log(
            &setup.sender,
            MessageType::INFO,
            &format!(
                "lockstep: run {n}: {} file(s), {found} finding(s) in {} ms",
                report.db.len(),
                started.elapsed().as_millis()
            ),
        );
        if let Some(t) = token {
            end_progress(&setup.sender, t, &format!("{found} finding(s)"));
        }
    }
}

/// Make `snap` the current findings and publish every file whose diagnostics changed,
/// including an empty list for a file whose findings went away.
fn publish(setup: &Setup, snap: Snapshot) {
    let mut shared = setup.shared.lock().unwrap_or_else(|e| e.into_inner());
    let mut paths: Vec<PathBuf> = snap.keys().cloned().collect();
    paths.extend(shared.published.keys().cloned());
    paths.sort();
    paths.dedup();
    for path in paths {
        let new = snap.get(&path).map(|v| v.as_slice()).unwrap_or(&[]);
        let old = shared
            .published
            .get(&path)
            .map(|v| v.as_slice())
            .unwrap_or(&[]);
        let same = new.len() == old.len()
            && new
                .iter()
                .zip(old)
                .all(|(a, b)| a.diagnostic == b.diagnostic);
        if same {
            continue;
        }
        if let Some(uri) = shared.uri_of(&path) {
            send_diagnostics(&setup.sender, uri, new);
        }
    }
    shared.published = snap.clone();
    shared.snapshot = snap;
    shared.runs += 1;
}

pub fn send_diagnostics(sender: &Sender<Message>, uri: Uri, findings: &[convert::Finding]) {
    let params = PublishDiagnosticsParams {
        uri,
        diagnostics: findings.iter().map(|f| f.diagnostic.clone()).collect(),
        version: None,
    };
    notify::<lsp_types::notification::PublishDiagnostics>(sender, params);
}

pub fn notify<N: lsp_types::notification::Notification>(
    sender: &Sender<Message>,
    params: N::Params,
) {
    let _ = sender.send(Message::Notification(Notification::new(
        N::METHOD.to_string(),
        params,
    )));
}

pub fn log(sender: &Sender<Message>, typ: MessageType, message: &str) {
    notify::<lsp_types::notification::LogMessage>(
        sender,
        LogMessageParams {
            typ,
            message: message.to_string(),
        },
    );
}

pub fn show(sender: &Sender<Message>, typ: MessageType, message: &str) {
    notify::<lsp_types::notification::ShowMessage>(
        sender,
        ShowMessageParams {
            typ,
            message: message.to_string(),
        },
    );
}

/// The first line of an error text, without its `error: ` prefix, for a one-line popup.
fn message_of(e: &str) -> String {
    let first = e.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let first = first.trim().strip_prefix("error: ").unwrap_or(first.trim());
    format!("lockstep: {first}")
}

fn begin_progress(sender: &Sender<Message>, n: u64) -> NumberOrString {
    let token = NumberOrString::String(format!("lockstep/analysis/{n}"));
    let _ = sender.send(Message::Request(Request::new(
        RequestId::from(format!("lockstep-progress-{n}")),
        lsp_types::request::WorkDoneProgressCreate::METHOD.to_string(),
        WorkDoneProgressCreateParams {
            token: token.clone(),
        },
    )));
    progress(
        sender,
        &token,
        WorkDoneProgress::Begin(WorkDoneProgressBegin {
            title: "lockstep".into(),
            message: Some("analyzing".into()),
            ..Default::default()
        }),
    );
    token
}

fn end_progress(sender: &Sender<Message>, token: NumberOrString, message: &str) {
    progress(
        sender,
        &token,
        WorkDoneProgress::End(WorkDoneProgressEnd {
            message: Some(message.to_string()),
        }),
    );
}

fn progress(sender: &Sender<Message>, token: &NumberOrString, value: WorkDoneProgress) {
    notify::<lsp_types::notification::Progress>(
        sender,
        ProgressParams {
            token: token.clone(),
            value: ProgressParamsValue::WorkDone(value),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_becomes_one_line() {
        assert_eq!(
            message_of("error: invalid `lockstep.toml`: expected a table\n  --> x\n"),
            "lockstep: invalid `lockstep.toml`: expected a table"
        );
        assert_eq!(message_of("\n  plain\n"), "lockstep: plain");
    }
}
