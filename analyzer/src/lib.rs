//! lockstep-analyzer: the source model, lowering (the only syn user), the IR and the lock and
//! sequence-number analyses of cargo-lockstep. It does no IO and prints nothing: callers hand
//! it text and get plain data and [`diag::Diagnostic`]s back.

pub mod cfg_pred;
pub mod config;
pub mod diag;
pub mod fast_hash;
pub mod fast_span;
pub mod fix;
pub mod flow;
pub mod index;
pub mod interproc;
pub mod ir;
pub mod irq;
pub mod lock_api;
pub mod lock_graph;
pub mod lower;
pub mod macros;
pub mod parse;
pub mod resolve;
pub mod resource;
pub mod sema;
pub mod seq;
pub mod seq_facts;
pub mod source;
pub mod suppress;
pub mod sym;
pub mod syntax;

pub use config::Config;
pub use diag::{Diagnostic, Label, Level};
pub use lower::{lower_file, lower_file_in, lower_file_with, LoweredFile};
pub use source::{Edition, FileId, SourceDb, SourceFile, Span};

/// The result of analysing a set of lowered files: what the lints read.
#[derive(Default)]
pub struct Analysis {
    /// The files analyzed, as far as the lints read them: items and signatures in full, but
    /// each body's nodes released once its flow was built and the sequence facts once
    /// resolved. To analyze again, lower again (or keep a copy of the lowered files).
    pub files: Vec<LoweredFile>,
    pub index: index::Index,
    /// Flow results of every function with a body, in index order.
    pub flows: Vec<flow::FnFlow>,
    /// Call targets and per-function summaries.
    pub interproc: interproc::Interproc,
    pub lock_graph: lock_graph::LockGraph,
    /// For every flow: whether (and why) it runs in interrupt context.
    pub irq: Vec<Option<irq::IrqOrigin>>,
    /// Counted resources not given back on some path.
    pub resource_leaks: Vec<resource::Leak>,
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
    // The sequence analysis shares nothing with the lock analyses: it runs beside the index
    // and the resolution passes (which only read the files), and its facts are dropped before
    // the flows are built, so they do not count in the run's peak memory. Each file's sites
    // are dropped as soon as they are read.
    let seq_facts: Vec<seq_facts::SeqFileFacts> = files
        .iter_mut()
        .map(|f| std::mem::take(&mut f.seq))
        .collect();
    let (prepared, seq) = rayon::join(
        || prepare_index(db, &files, config),
        || seq::resolve(db, &files, seq_facts, config),
    );
    let (index, returns, needed) = prepared;
    let by_pos: std::collections::BTreeMap<index::FnRef, usize> =
        index.fns.iter().enumerate().map(|(i, r)| (*r, i)).collect();
    let counters = resource::Counters::collect(&index, &files, &needed);
    let mut flows = build_flows(
        &index, &mut files, config, &returns, &by_pos, &needed, &counters,
    );
    let interproc = interproc::build(&index, &files, &mut flows, config);
    let lock_graph = lock_graph::build(&index, &files, &flows, &interproc, config);
    let irq = irq::compute(&index, &files, &flows, &interproc, config);
    let resource_leaks = resource::analyze(&index, &files, &flows, &interproc, &counters, &by_pos);
    Analysis {
        files,
        index,
        flows,
        interproc,
        lock_graph,
        irq,
        resource_leaks,
        seq,
    }
}

/// The index with everything the flows ask it: lock types from code, function values, lock
/// value sets; the guards functions return; which functions the analysis needs.
fn prepare_index(
    db: &SourceDb,
    files: &[LoweredFile],
    config: &Config,
) -> (index::Index, resolve::returns::Returns, Vec<bool>) {
    let mut index = index::Index::build_with(files, sema::defmap::extern_names(db));
    let returns = resolve::returns::returned_guards(&index, files);
    // Twice: a wrapper of a wrapper is a lock once the inner one is known.
    for _ in 0..2 {
        index.code_locks = resolve::locktypes::compute(&index, files, &returns);
    }
    let by_pos: std::collections::BTreeMap<index::FnRef, usize> =
        index.fns.iter().enumerate().map(|(i, r)| (*r, i)).collect();
    // dependencies' functions only as far as the analyzed code reaches them
    let mut needed = resolve::reach::needed(&index, files, db);
    // callbacks stored into places, so calls through those places resolve
    let mut fn_values = resolve::fnvalues::compute(&index, files, &by_pos, &needed);
    resolve::fnvalues::drop_unstored(&index, files, &mut fn_values, &mut needed);
    index.fn_values = fn_values;
    // one lock stored in several places is one class, before any flow names a class
    index.aliases = resolve::alias::compute(&index, files, config, &by_pos, &needed);
    (index, returns, needed)
}

/// Functions whose flows are built between two releases of the bodies already done: enough
/// to keep every thread busy, few enough that the bodies do not all live beside the flows.
const FLOW_CHUNK: usize = 4096;

/// Every needed function's flow, in `index.fns` order. Functions are analyzed independently on
/// the caller's rayon pool (the driver sizes it with `-j`); `collect` keeps the order, so the
/// output does not depend on scheduling. A body is read by nothing after its own flow but the
/// counted-resource pass, so once a chunk's flows are built its bodies drop their nodes unless
/// that pass walks them (`Body::release_nodes`, `resource::Counters::walks`).
fn build_flows(
    index: &index::Index,
    files: &mut [LoweredFile],
    config: &Config,
    returns: &resolve::returns::Returns,
    by_pos: &std::collections::BTreeMap<index::FnRef, usize>,
    needed: &[bool],
    counters: &resource::Counters,
) -> Vec<flow::FnFlow> {
    use rayon::prelude::*;
    let mut flows = Vec::new();
    let positions: Vec<usize> = (0..index.fns.len()).collect();
    for chunk in positions.chunks(FLOW_CHUNK) {
        let part: Vec<flow::FnFlow> = chunk
            .par_iter()
            .filter(|&&pos| needed.get(pos).copied().unwrap_or(false))
            .filter_map(|&pos| {
                flow::analyze_fn(index, files, index.fns[pos], config, returns, by_pos)
            })
            .collect();
        flows.extend(part);
        for &pos in chunk.iter().filter(|&&pos| !counters.walks(pos)) {
            let r = index.fns[pos];
            if let Some(body) = files[r.file].items.fns[r.idx].body.as_mut() {
                body.release_nodes();
            }
        }
    }
    flows.shrink_to_fit();
    flows
}

impl Analysis {
    /// The function a flow belongs to.
    pub fn func(&self, r: index::FnRef) -> &ir::FnDef {
        self.index.func(&self.files, r)
    }
}
