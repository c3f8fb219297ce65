//! What a path means in a module, as the name resolution (`sema::DefMap`) sees it:
//! `cargo run -p cargo-lockstep --example resolve_probe -- DIR MODULE PATH [value]`, e.g.
//! `resolve_probe kernel dragonos_kernel::ipc::kill Signal`. DIR is analyzed as the fixture
//! tests analyze a crate (its whole workspace, no registry sources).

use lockstep_analyzer::sema::Ns;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, module, path, rest @ ..] = args.as_slice() else {
        eprintln!("usage: resolve_probe DIR MODULE PATH [value]");
        std::process::exit(2);
    };
    let ns = if rest.first().is_some_and(|a| a == "value") {
        Ns::Value
    } else {
        Ns::Type
    };
    let report = cargo_lockstep::analyze_fixture(std::path::Path::new(dir));
    for e in &report.io_errors {
        eprintln!("error: {e}");
    }
    let Some(an) = report.analysis.as_ref() else {
        eprintln!("nothing analyzed");
        std::process::exit(2);
    };
    let dm = &an.index.defmap;
    if dm.module_id(module).is_none() {
        eprintln!("no module `{module}`");
        std::process::exit(1);
    }
    let segs: Vec<String> = path.split("::").map(str::to_string).collect();
    println!("{:?}", dm.resolve(module, &segs, ns));
}
