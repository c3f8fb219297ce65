// Lowering and the analyses allocate many small strings and vectors from several threads;
// mimalloc's per-thread heaps make that markedly cheaper than the system allocator
// (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cargo_lockstep::run(std::env::args_os().collect()));
}
