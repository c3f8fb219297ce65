//! Print the lowered CFG and flow events of the functions of one file whose name contains a
//! filter: `cargo run -p lockstep-analyzer --example dump_cfg -- FILE [FILTER] [2024]`.
use lockstep_analyzer::{analyze, lower_file_with, Config, Edition, FileId, SourceDb, SourceFile};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: dump_cfg FILE [FILTER] [2024]");
        std::process::exit(2);
    };
    let filter = args.get(2).cloned().unwrap_or_default();
    let edition = if args.iter().any(|a| a == "2024") {
        Edition::E2024
    } else {
        Edition::E2021
    };
    let text = std::fs::read_to_string(path).expect("readable file");
    let mut db = SourceDb::new();
    let id =
        db.add(SourceFile::new(FileId(0), path.clone(), text).with_crate("dump", vec![], edition));
    let config = Config::default();
    let lowered = lower_file_with(db.get(id), &config);
    // the analysis drops each body's nodes once its flow is built: print them from a copy
    let bodies = lowered.clone();
    let a = analyze(&db, vec![lowered], &config);
    for flow in &a.flows {
        let f = a.func(flow.func);
        if !f.path.contains(&filter) {
            continue;
        }
        println!("== {}", f.path);
        let own = bodies
            .items
            .fns
            .iter()
            .find(|g| g.path == f.path && g.span == f.span);
        if let Some(b) = own.and_then(|g| g.body.as_ref()) {
            for (i, n) in b.nodes.iter().enumerate() {
                println!("  {i:3} {:?} -> {:?}", n.op, n.succs);
            }
        }
        for e in &flow.acquisitions {
            println!(
                "  acq {:?} {} held={:?}",
                e.lock.class,
                db.snippet(e.span),
                e.held.iter().map(|h| &h.lock.instance).collect::<Vec<_>>()
            );
        }
        for e in &flow.exits {
            println!(
                "  exit {} held={:?}",
                db.snippet(e.span),
                e.held
                    .iter()
                    .map(|h| (&h.lock.instance, &h.leaked))
                    .collect::<Vec<_>>()
            );
        }
    }
}
