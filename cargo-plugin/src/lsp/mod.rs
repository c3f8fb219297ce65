//! `cargo lockstep lsp`: a language server on stdio that an editor runs beside rust-analyzer.
//!
//! The workspace (the client's first workspace folder, else its root) is analyzed as
//! `cargo lockstep` with the same options would analyze it from there: once when the client is
//! initialized, then after every save and every change on disk the client reports. Findings
//! are published as diagnostics for every file they are in, the labelled sites as related
//! information; code actions offer the machine-applicable suggestions (and those that may be
//! incorrect, not preferred) and an allow comment; a hover over a finding shows its notes and
//! the lint's documentation. A saved or changed `Cargo.toml`, `Cargo.lock`, `lockstep.toml` or
//! `.cargo/config.toml` reloads the plan and the configuration.
//!
//! Sources are read from disk: an unsaved buffer is analyzed when it is saved, and while a
//! document has unsaved changes no code action is offered for it (its edits would be stale).

mod convert;
mod worker;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crossbeam_channel::Sender;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{
    CodeActionOrCommand, CodeActionParams, CodeActionProviderCapability,
    DidChangeTextDocumentParams, DidChangeWatchedFilesParams,
    DidChangeWatchedFilesRegistrationOptions, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DidSaveTextDocumentParams, FileChangeType, FileSystemWatcher,
    GlobPattern, Hover, HoverContents, HoverParams, HoverProviderCapability, InitializeParams,
    InitializeResult, MarkupContent, MarkupKind, Registration, RegistrationParams, SaveOptions,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Uri,
};

use crate::cli::Invocation;
use worker::{Job, Setup, Shared};

/// Run the server until the client says `exit`: `Ok(true)` when it asked to `shutdown` first
/// (the protocol's exit status 0), `Ok(false)` when it did not (status 1) or went away.
pub fn run(inv: Invocation) -> Result<bool, String> {
    let (connection, io_threads) = Connection::stdio();
    let status = serve(&connection, inv).map_err(|e| format!("language server: {e}"));
    drop(connection);
    // The analysis thread may still hold a sender (and finish a run); the process ends here
    // rather than waiting for it, after the reader and writer threads are done with the client.
    drop(io_threads);
    status
}

/// Files whose change reloads the plan and the configuration, not only the sources.
fn is_config(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    matches!(name, "Cargo.toml" | "Cargo.lock" | "lockstep.toml")
        || name == "config.toml"
            && path
                .parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                == Some(".cargo")
}

struct Server {
    sender: Sender<Message>,
    jobs: Sender<Job>,
    shared: Arc<Mutex<Shared>>,
    /// Open documents with unsaved changes.
    dirty: HashSet<PathBuf>,
}

fn serve(connection: &Connection, inv: Invocation) -> Result<bool, Box<dyn std::error::Error>> {
    let (id, params) = connection.initialize_start()?;
    let params: InitializeParams = serde_json::from_value(params)?;
    let encoding = convert::Encoding::negotiate(&params.capabilities);
    let root = root_dir(&params);
    let mut root_error = None;
    if let Some(r) = &root {
        if let Err(e) = std::env::set_current_dir(r) {
            root_error = Some(format!(
                "lockstep: cannot enter the workspace `{}`: {e}",
                r.display()
            ));
        }
    }
    let result = InitializeResult {
        capabilities: capabilities(encoding),
        server_info: Some(ServerInfo {
            name: "cargo-lockstep".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    };
    connection.initialize_finish(id, serde_json::to_value(result)?)?;
    if let Some(e) = root_error {
        worker::show(&connection.sender, lsp_types::MessageType::ERROR, &e);
    }
    let caps = &params.capabilities;
    let dynamic_watch = caps
        .workspace
        .as_ref()
        .and_then(|w| w.did_change_watched_files.as_ref())
        .and_then(|d| d.dynamic_registration)
        .unwrap_or(false);
    if dynamic_watch {
        register_watchers(&connection.sender);
    }
    let progress = caps
        .window
        .as_ref()
        .and_then(|w| w.work_done_progress)
        .unwrap_or(false);
    let shared = Arc::new(Mutex::new(Shared::default()));
    let jobs = worker::spawn(Setup {
        inv,
        encoding,
        sender: connection.sender.clone(),
        shared: shared.clone(),
        progress,
    });
    let _ = jobs.send(Job::Analyze);
    let mut server = Server {
        sender: connection.sender.clone(),
        jobs,
        shared,
        dirty: HashSet::new(),
    };
    for msg in &connection.receiver {
        match msg {
            Message::Request(req) => {
                if connection.handle_shutdown(&req)? {
                    return Ok(true);
                }
                server.request(req);
            }
            Message::Notification(n) => {
                if n.method == lsp_types::notification::Exit::METHOD {
                    return Ok(false);
                }
                server.notification(n);
            }
            // answers to our requests (progress tokens, registration): nothing to do
            Message::Response(_) => {}
        }
    }
    // the client went away without `exit`
    Ok(false)
}

/// The client's first workspace folder, else its root URI, else its root path.
#[allow(deprecated)] // `root_uri` and `root_path`: older clients send only these
fn root_dir(params: &InitializeParams) -> Option<PathBuf> {
    if let Some(f) = params.workspace_folders.as_ref().and_then(|f| f.first()) {
        return crate::paths::uri_to_path(f.uri.as_str());
    }
    if let Some(u) = &params.root_uri {
        return crate::paths::uri_to_path(u.as_str());
    }
    params.root_path.as_ref().map(PathBuf::from)
}

fn capabilities(encoding: convert::Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                // only to know which documents have unsaved changes
                change: Some(TextDocumentSyncKind::FULL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..Default::default()
            },
        )),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        ..Default::default()
    }
}

fn register_watchers(sender: &Sender<Message>) {
    let watchers = [
        "**/*.rs",
        "**/Cargo.toml",
        "**/Cargo.lock",
        "**/lockstep.toml",
        "**/.cargo/config.toml",
    ]
    .iter()
    .map(|g| FileSystemWatcher {
        glob_pattern: GlobPattern::String(g.to_string()),
        kind: None,
    })
    .collect();
    let options = DidChangeWatchedFilesRegistrationOptions { watchers };
    let params = RegistrationParams {
        registrations: vec![Registration {
            id: "lockstep-watched-files".into(),
            method: lsp_types::notification::DidChangeWatchedFiles::METHOD.into(),
            register_options: serde_json::to_value(options).ok(),
        }],
    };
    let _ = sender.send(Message::Request(Request::new(
        "lockstep-register-watchers".to_string().into(),
        lsp_types::request::RegisterCapability::METHOD.into(),
        params,
    )));
}

fn path_of(uri: &Uri) -> Option<PathBuf> {
    crate::paths::uri_to_path(uri.as_str()).map(|p| convert::canonical(&p))
}

impl Server {
    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn notification(&mut self, n: Notification) {
        use lsp_types::notification as N;
        match n.method.as_str() {
            N::DidOpenTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<DidOpenTextDocumentParams>(n.params) else {
                    return;
                };
                let uri = p.text_document.uri;
                let Some(path) = path_of(&uri) else { return };
                let mut shared = self.shared();
                shared.open.insert(path.clone(), uri.clone());
                // the client may know the file by another URI than the one published
                if let Some(found) = shared.published.get(&path) {
                    worker::send_diagnostics(&self.sender, uri, found);
                }
            }
            N::DidChangeTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<DidChangeTextDocumentParams>(n.params) else {
                    return;
                };
                if let Some(path) = path_of(&p.text_document.uri) {
                    self.dirty.insert(path);
                }
            }
            N::DidSaveTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<DidSaveTextDocumentParams>(n.params) else {
                    return;
                };
                let Some(path) = path_of(&p.text_document.uri) else {
                    return;
                };
                self.dirty.remove(&path);
                let job = if is_config(&path) {
                    Job::Reload
                } else {
                    Job::Analyze
                };
                let _ = self.jobs.send(job);
            }
            N::DidCloseTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<DidCloseTextDocumentParams>(n.params) else {
                    return;
                };
                if let Some(path) = path_of(&p.text_document.uri) {
                    self.dirty.remove(&path);
                    self.shared().open.remove(&path);
                }
            }
            N::DidChangeWatchedFiles::METHOD => {
                let Ok(p) = serde_json::from_value::<DidChangeWatchedFilesParams>(n.params) else {
                    return;
                };
                let mut job = None;
                for c in &p.changes {
                    let path = crate::paths::uri_to_path(c.uri.as_str());
                    let config = path.as_deref().is_some_and(is_config);
                    // a file that appears or goes away may be a target or module of its own
                    if config || c.typ != FileChangeType::CHANGED {
                        job = Some(Job::Reload);
                    } else if job.is_none() {
                        job = Some(Job::Analyze);
                    }
                }
                if let Some(j) = job {
                    let _ = self.jobs.send(j);
                }
            }
            N::DidChangeConfiguration::METHOD => {
                let _ = self.jobs.send(Job::Reload);
            }
            _ => {}
        }
    }

    fn request(&mut self, req: Request) {
        use lsp_types::request as R;
        let response = match req.method.as_str() {
            R::HoverRequest::METHOD => match serde_json::from_value::<HoverParams>(req.params) {
                Ok(p) => Response::new_ok(req.id, self.hover(&p)),
                Err(e) => invalid(req.id, e),
            },
            R::CodeActionRequest::METHOD => {
                match serde_json::from_value::<CodeActionParams>(req.params) {
                    Ok(p) => Response::new_ok(req.id, self.code_actions(&p)),
                    Err(e) => invalid(req.id, e),
                }
            }
            _ => Response::new_err(
                req.id,
                ErrorCode::MethodNotFound as i32,
                format!("lockstep does not handle `{}`", req.method),
            ),
        };
        let _ = self.sender.send(Message::Response(response));
    }

    fn hover(&self, p: &HoverParams) -> Option<Hover> {
        let at = &p.text_document_position_params;
        let path = path_of(&at.text_document.uri)?;
        let shared = self.shared();
        let found: Vec<&convert::Finding> = shared
            .snapshot
            .get(&path)?
            .iter()
            .filter(|f| convert::contains(&f.diagnostic.range, at.position))
            .collect();
        if found.is_empty() {
            return None;
        }
        let text: Vec<String> = found.iter().map(|f| convert::hover_text(f)).collect();
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: text.join("\n---\n\n"),
            }),
            range: Some(found[0].diagnostic.range),
        })
    }

    fn code_actions(&self, p: &CodeActionParams) -> Vec<CodeActionOrCommand> {
        let wants_fixes = p.context.only.as_ref().is_none_or(|only| {
            only.iter()
                .any(|k| k.as_str() == "quickfix" || k.as_str().is_empty())
        });
        let Some(path) = path_of(&p.text_document.uri) else {
            return Vec::new();
        };
        if !wants_fixes || self.dirty.contains(&path) {
            return Vec::new();
        }
        let shared = self.shared();
        let Some(found) = shared.snapshot.get(&path) else {
            return Vec::new();
        };
        let uri_of = |p: &Path| shared.uri_of(p);
        let mut out = Vec::new();
        for f in found {
            if !convert::overlaps(&f.diagnostic.range, &p.range) {
                continue;
            }
            for fix in &f.fixes {
                if let Some(a) = convert::code_action(f, fix, &uri_of) {
                    out.push(CodeActionOrCommand::CodeAction(a));
                }
            }
        }
        out
    }
}

fn invalid(id: lsp_server::RequestId, e: serde_json::Error) -> Response {
    Response::new_err(id, ErrorCode::InvalidParams as i32, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_and_configuration_reload() {
        for p in [
            "/w/Cargo.toml",
            "/w/a/Cargo.lock",
            "/w/lockstep.toml",
            "/w/.cargo/config.toml",
        ] {
            assert!(is_config(Path::new(p)), "{p}");
        }
        for p in ["/w/src/lib.rs", "/w/config.toml", "/w/x/lockstep.toml.bak"] {
            assert!(!is_config(Path::new(p)), "{p}");
        }
    }
}
