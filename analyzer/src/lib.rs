//! lockstep-analyzer: the source model, lowering (the only syn user), the IR and the lock and
//! sequence-number analyses of cargo-lockstep. It does no IO and prints nothing: callers hand
//! it text and get plain data and [`diag::Diagnostic`]s back.

pub mod config;
pub mod diag;
pub mod fix;
pub mod lower;
pub mod parse;
pub mod seq;
pub mod source;

pub use config::Config;
pub use diag::{Diagnostic, Label, Level};
pub use lower::{lower_file, LoweredFile};
pub use source::{Edition, FileId, SourceDb, SourceFile, Span};

/// The result of analysing a set of lowered files: what the lints read.
#[derive(Debug, Default)]
pub struct Analysis {
    pub files: Vec<LoweredFile>,
    /// Sequence-number findings resolved across files.
    pub seq: seq::SeqAnalysis,
}

impl Analysis {
    pub fn file(&self, id: FileId) -> Option<&LoweredFile> {
        self.files.iter().find(|f| f.file == id)
    }
}

/// Run every cross-file analysis over lowered files.
pub fn analyze(db: &SourceDb, mut files: Vec<LoweredFile>, config: &Config) -> Analysis {
    files.sort_by_key(|f| f.file);
    let seq = seq::resolve(db, &files, config);
    Analysis { files, seq }
}
