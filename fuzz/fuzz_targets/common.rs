use lockstep_analyzer::{analyze, lower_file_with, Config, SourceDb, SourceFile};
use lockstep_lints::LintContext;

/// Stack of the tool's analysis threads.
const STACK_SIZE: usize = 64 << 20;

/// Lower, analyze and lint one file on a thread like the tool's: nothing may panic.
pub fn check(bytes: &[u8]) {
    let bytes = bytes.to_vec();
    let t = std::thread::Builder::new()
        .stack_size(STACK_SIZE)
        .spawn(move || check_here(&bytes))
        .expect("spawn");
    if let Err(p) = t.join() {
        std::panic::resume_unwind(p);
    }
}

fn check_here(bytes: &[u8]) {
    let config = Config::default();
    let mut db = SourceDb::default();
    let id = db.next_id();
    let file = SourceFile::from_bytes(id, "src/lib.rs", bytes).with_crate(
        "fuzzed",
        Vec::new(),
        Default::default(),
    );
    let id = db.add(file);
    let lowered = lower_file_with(db.get(id), &config);
    let analysis = analyze(&db, vec![lowered], &config);
    let cx = LintContext {
        db: &db,
        analysis: &analysis,
        config: &config,
    };
    let _ = lockstep_lints::run_all(&cx);
}
