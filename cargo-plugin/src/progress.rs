//! A progress bar on stderr for long runs: hidden for the first second, and only used when
//! stderr is a terminal and the output is for people.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Runs shorter than this show no bar.
const DELAY: Duration = Duration::from_secs(1);

pub struct Progress {
    bar: ProgressBar,
    done: Arc<AtomicBool>,
}

impl Progress {
    pub fn new() -> Progress {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {msg:>10} [{bar:30}] {pos}/{len} files ({elapsed})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("lowering");
        let done = Arc::new(AtomicBool::new(false));
        let (b, d) = (bar.clone(), done.clone());
        // the bar appears only once the run has taken a second
        let _ = std::thread::Builder::new()
            .name("lockstep-progress".into())
            .spawn(move || {
                std::thread::sleep(DELAY);
                if !d.load(Ordering::Acquire) {
                    b.set_draw_target(ProgressDrawTarget::stderr());
                    b.enable_steady_tick(Duration::from_millis(120));
                }
            });
        Progress { bar, done }
    }

    /// More files became known.
    pub fn add_files(&self, n: usize) {
        self.bar.inc_length(n as u64);
    }

    /// One file is done.
    pub fn file_done(&self) {
        self.bar.inc(1);
    }

    /// A phase after loading (no per-file count).
    pub fn phase(&self, name: &'static str) {
        self.bar.set_message(name);
    }

    pub fn finish(&self) {
        self.done.store(true, Ordering::Release);
        self.bar.finish_and_clear();
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}
