//! Sequence-number facts (filled in by the sequence-number analysis).

use crate::parse::SpanMap;
use crate::source::SourceFile;

/// Per-file facts the sequence lints read.
#[derive(Clone, Debug, Default)]
pub struct SeqFileFacts {}

/// Collect the sequence-number facts of one parsed file.
pub fn collect_file(_file: &SourceFile, _ast: &syn::File, _map: &SpanMap) -> SeqFileFacts {
    SeqFileFacts::default()
}
