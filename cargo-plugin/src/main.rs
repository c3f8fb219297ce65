// Lowering and the analyses allocate many small strings and vectors from several threads;
// mimalloc's per-thread heaps make that markedly cheaper than the system allocator
// (BENCHMARKS.md). Without the default feature `mimalloc` the system allocator is used, for
// heap profilers that cannot see into mimalloc's arenas.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    small_pages();
    std::process::exit(cargo_lockstep::run(std::env::args_os().collect()));
}

/// mimalloc asks for transparent huge pages on its arenas (`madvise(MADV_HUGEPAGE)`). With the
/// common kernel setting `defrag = madvise`, a page fault there may wait for memory compaction:
/// the same run took 1 s or 5 s, the difference all system time. This process uses small
/// pages instead (the setting is checked at every fault, so the arena reserved before `main`
/// is covered too).
#[cfg(target_os = "linux")]
fn small_pages() {
    // SAFETY: `prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)` takes integers only and changes nothing
    // but this process's page-size policy; its result is not needed (an old kernel refuses).
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn small_pages() {}
