//! What choosing the dependencies reads, and a remembered choice. Choosing reads the manifests
//! on the way and searches the sources of the analyzed packages and of every candidate
//! dependency for the names that connect them (`deps::dependency_units`): on a small kernel
//! crate that is most of a warm run. While it runs, every manifest it reads, every directory it
//! lists and every source it searches is recorded ([`record`]) with its length and modification
//! time, and for a source what the search learned from it ([`Facts`]). The choice is stored with
//! that record under `target/lockstep/`; a later run of the same tree uses it when every path is
//! as it was, or, for a source that was edited, when searching it again learns the same (an
//! edit in the analyzed code seldom adds or removes a dependency's name), and for a directory
//! whose time changed, when it still holds the same sources.
//!
//! Package sources extracted under `$CARGO_HOME/registry/src/<registry>/` never change once
//! there (cargo writes each version once), so only the listing of each registry directory is
//! recorded: a newly fetched version can change which one a requirement picks.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// `$CARGO_HOME`, else `~/.cargo`.
pub fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// Identifiers without which a crate's code holds nothing the lock analyses learn from: lock,
/// guard and condition types, atomics taken in a loop, spin hints, interrupt masking,
/// lock_api's raw traits. A dependency whose source names none of them is not read.
const LOCK_WORDS: &[&str] = &[
    "Mutex",
    "RwLock",
    "SpinLock",
    "Spinlock",
    "SpinMutex",
    "RawMutex",
    "RawRwLock",
    "RawSpinlock",
    "Condvar",
    "compare_exchange",
    "compare_exchange_weak",
    "spin_loop",
    "critical_section",
    "local_irq_save",
    "local_irq_disable",
    "push_off",
    "intr_off",
    "disable_interrupts",
    "without_interrupts",
    "irq_save",
    "save_and_disable_irq",
];

/// `text` names lock code ([`LOCK_WORDS`]).
pub fn names_lock_code(text: &str) -> bool {
    LOCK_WORDS.iter().any(|w| names_ident(text, w))
}

/// `text` contains `name` as a whole identifier.
pub fn names_ident(text: &str, name: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// How a source uses a dependency's extern name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameUse {
    /// Anywhere, as an identifier.
    pub anywhere: bool,
    /// On a line that can carry it to the package's users: a re-export or alias (`pub use
    /// spin::Mutex`, `pub type Lock<T> = lock_api::Mutex<Raw, T>`), or one that also names
    /// lock code (`inner: spinning_top::Spinlock<T>`).
    pub exposed: bool,
}

/// How `text` uses `name`.
pub fn name_use(text: &str, name: &str) -> NameUse {
    if !names_ident(text, name) {
        return NameUse::default();
    }
    let exposed = text.lines().any(|l| {
        names_ident(l, name) && {
            let l = l.trim_start();
            l.starts_with("pub use")
                || l.starts_with("pub type")
                || l.starts_with("pub extern crate")
                || names_lock_code(l)
        }
    });
    NameUse {
        anywhere: true,
        exposed,
    }
}

/// What a path looked like: its length and modification time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    len: u64,
    /// Seconds and nanoseconds since the epoch.
    modified: Option<(u64, u32)>,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    let modified = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| (d.as_secs(), d.subsec_nanos()));
    Some(Stamp {
        len: m.len(),
        modified,
    })
}

/// What a search of one source learned: its size, whether it names lock code, how it uses each
/// name asked about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Facts {
    bytes: Option<u64>,
    lock_words: Option<bool>,
    names: BTreeMap<String, NameUse>,
}

impl Facts {
    /// The same questions asked of `text`.
    fn again(&self, text: &str) -> Facts {
        Facts {
            bytes: self.bytes.map(|_| text.len() as u64),
            lock_words: self.lock_words.map(|_| names_lock_code(text)),
            names: self
                .names
                .keys()
                .map(|n| (n.clone(), name_use(text, n)))
                .collect(),
        }
    }
}

/// One path planning depended on.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Seen {
    /// Read or tested for existence (`None`: absent).
    Path(Option<Stamp>),
    /// Listed: the sources and directories in it.
    Dir {
        stamp: Option<Stamp>,
        entries: Vec<String>,
    },
    /// A source searched.
    Source { stamp: Option<Stamp>, facts: Facts },
}

thread_local! {
    static SEEN: RefCell<Option<BTreeMap<PathBuf, Seen>>> = const { RefCell::new(None) };
}

/// Inside an extracted registry package (`$CARGO_HOME/registry/src/<registry>/<package>/..`):
/// never changes.
fn immutable(path: &Path) -> bool {
    let Some(src) = cargo_home().map(|h| h.join("registry").join("src")) else {
        return false;
    };
    path.strip_prefix(&src)
        .is_ok_and(|rest| rest.components().count() > 1)
}

fn note(path: &Path, f: impl FnOnce(&mut Option<Seen>)) {
    SEEN.with(|s| {
        let mut s = s.borrow_mut();
        let Some(seen) = s.as_mut() else {
            return;
        };
        if immutable(path) {
            return;
        }
        let mut entry = seen.remove(path);
        f(&mut entry);
        if let Some(e) = entry {
            seen.insert(path.to_path_buf(), e);
        }
    });
}

/// Planning read `path` or tested whether it exists.
pub fn saw(path: &Path) {
    note(path, |e| {
        if e.is_none() {
            *e = Some(Seen::Path(stamp(path)));
        }
    });
}

/// The names in directory `dir` that can change what is planned: sources and directories
/// (not an editor's backup or swap file).
fn dir_entries(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .flatten()
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            !n.starts_with('.')
                && n != "target"
                && (n.ends_with(".rs") || e.file_type().is_ok_and(|t| t.is_dir()))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Planning listed directory `dir`.
pub fn saw_dir(dir: &Path) {
    note(dir, |e| {
        if !matches!(e, Some(Seen::Dir { .. })) {
            *e = Some(Seen::Dir {
                stamp: stamp(dir),
                entries: dir_entries(dir),
            });
        }
    });
}

fn learned(path: &Path, f: impl FnOnce(&mut Facts)) {
    note(path, |e| {
        if !matches!(e, Some(Seen::Source { .. })) {
            *e = Some(Seen::Source {
                stamp: stamp(path),
                facts: Facts::default(),
            });
        }
        if let Some(Seen::Source { facts, .. }) = e {
            f(facts);
        }
    });
}

/// The size of source `path` (read as `text`), noted when recording.
pub fn source_bytes(path: &Path, text: &str) -> u64 {
    let n = text.len() as u64;
    learned(path, |f| f.bytes = Some(n));
    n
}

/// Whether source `path` (read as `text`) names lock code, noted when recording.
pub fn source_names_lock_code(path: &Path, text: &str) -> bool {
    let v = names_lock_code(text);
    learned(path, |f| f.lock_words = Some(v));
    v
}

/// How source `path` (read as `text`) uses `name`, noted when recording.
pub fn source_name_use(path: &Path, text: &str, name: &str) -> NameUse {
    let u = name_use(text, name);
    learned(path, |f| {
        f.names.insert(name.to_string(), u);
    });
    u
}

/// Run `f`, recording what it read.
fn record<R>(f: impl FnOnce() -> R) -> (R, BTreeMap<PathBuf, Seen>) {
    SEEN.with(|s| *s.borrow_mut() = Some(BTreeMap::new()));
    let r = f();
    let seen = SEEN.with(|s| s.borrow_mut().take()).unwrap_or_default();
    (r, seen)
}

/// Whether what was seen at `path` still holds; `refreshed` is set when it holds with another
/// stamp (the record is then stored again, with the new stamps).
fn holds(path: &Path, seen: &mut Seen, refreshed: &mut bool) -> bool {
    match seen {
        Seen::Path(st) => stamp(path) == *st,
        Seen::Dir { stamp: st, entries } => {
            let now = stamp(path);
            if now == *st {
                return true;
            }
            if now.is_none() || dir_entries(path) != *entries {
                return false;
            }
            *st = now;
            *refreshed = true;
            true
        }
        Seen::Source { stamp: st, facts } => {
            let now = stamp(path);
            if now == *st {
                return true;
            }
            let Ok(text) = std::fs::read_to_string(path) else {
                return false;
            };
            if facts.again(&text) != *facts {
                return false;
            }
            *st = now;
            *refreshed = true;
            true
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Stored<T> {
    seen: BTreeMap<PathBuf, Seen>,
    value: T,
}

/// A remembered plan for one key, beside the tree's other memos.
pub struct PlanMemo {
    path: PathBuf,
}

impl PlanMemo {
    /// The memo in `dir` for `key` (what the plan was made for besides the files it read).
    pub fn new(dir: &Path, key: u64) -> PlanMemo {
        PlanMemo {
            path: dir.join(format!("deps-plan-{key:016x}.json")),
        }
    }

    /// The remembered plan, when what it was made from still holds.
    pub fn get<T: Serialize + DeserializeOwned>(&self) -> Option<T> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let mut s: Stored<T> = serde_json::from_str(&text).ok()?;
        let mut refreshed = false;
        if !s
            .seen
            .iter_mut()
            .all(|(p, seen)| holds(p, seen, &mut refreshed))
        {
            return None;
        }
        if refreshed {
            self.put(&s);
        }
        Some(s.value)
    }

    /// Plan with `f`, recording what it reads, and remember the result (best effort).
    pub fn plan<T: Serialize>(&self, f: impl FnOnce() -> T) -> T {
        let (value, seen) = record(f);
        let stored = Stored { seen, value };
        self.put(&stored);
        stored.value
    }

    fn put<T: Serialize>(&self, stored: &Stored<T>) {
        if let Ok(text) = serde_json::to_string(stored) {
            replace_memo(&self.path, "deps-plan-", &text);
        }
    }
}

/// Write `text` to `path`, first removing the memos of the same kind (`prefix`) beside it: one
/// per tree, not one per edit of a manifest. Best effort.
pub fn replace_memo(path: &Path, prefix: &str, text: &str) {
    let Some(dir) = path.parent() else {
        return;
    };
    let _ = std::fs::create_dir_all(dir);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let _ = std::fs::write(path, text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_whole_words() {
        assert!(names_ident("use spin::Mutex;", "spin"));
        assert!(names_ident("extern crate spin;", "spin"));
        assert!(!names_ident("let spinning = 1;", "spin"));
        assert!(!names_ident("fn myspin() {}", "spin"));
        assert!(names_ident(
            "x = hermit_sync::SpinlockIrqSave::new(0)",
            "hermit_sync"
        ));
    }

    /// A stand-in for choosing the dependencies: reads a manifest that may not exist, lists
    /// the source directory and searches its source for `spin`.
    fn choose(dir: &Path) -> bool {
        saw(&dir.join("Cargo.toml"));
        let src = dir.join("src");
        saw_dir(&src);
        let lib = src.join("lib.rs");
        let text = std::fs::read_to_string(&lib).unwrap();
        source_name_use(&lib, &text, "spin").anywhere
    }

    #[test]
    fn a_plan_holds_while_what_it_read_says_the_same() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let lib = dir.join("src").join("lib.rs");
        std::fs::create_dir_all(lib.parent().unwrap()).unwrap();
        std::fs::write(&lib, "use spin::Mutex;\n").unwrap();
        let memo = PlanMemo::new(&dir.join("memo"), 7);
        assert!(memo.get::<bool>().is_none());
        assert!(memo.plan(|| choose(dir)));
        assert_eq!(memo.get::<bool>(), Some(true));
        // not recording: nothing is noted
        saw(&dir.join("elsewhere"));
        // an edit that still names `spin`, a swap file beside it
        std::fs::write(&lib, "use spin::RwLock;\nfn f() {}\n").unwrap();
        std::fs::write(dir.join("src").join(".lib.rs.swp"), "x").unwrap();
        assert_eq!(memo.get::<bool>(), Some(true));
        std::fs::write(&lib, "fn f() {}\n").unwrap();
        assert_eq!(memo.get::<bool>(), None, "the name is gone");
        std::fs::write(&lib, "use spin::Mutex;\n").unwrap();
        assert_eq!(memo.get::<bool>(), Some(true));
        std::fs::write(dir.join("src").join("new.rs"), "").unwrap();
        assert_eq!(memo.get::<bool>(), None, "a source appeared");
        std::fs::remove_file(dir.join("src").join("new.rs")).unwrap();
        assert_eq!(memo.get::<bool>(), Some(true));
        std::fs::write(dir.join("Cargo.toml"), "[package]\n").unwrap();
        assert_eq!(
            memo.get::<bool>(),
            None,
            "a manifest it looked for appeared"
        );
    }
}
