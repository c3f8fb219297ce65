//! The per-file cache: a lowered file ([`LoweredFile`]) stored under `target/lockstep/cache`,
//! keyed by everything lowering reads — the file's text, display path, crate, module path,
//! edition and test-only flag, the configuration, and the tool's version. Macros defined in
//! other files are not in the key: an entry records the definitions it expanded (by hash) and
//! the names it found undefined, and the loader uses it only when the crate's definitions
//! still resolve the same way (`FileMacros::valid_under`). A re-run after an
//! edit only lowers the files that changed; the cross-file analyses always run.
//!
//! An entry that cannot be read or decoded is a miss, never an error; writes go through a
//! temporary file and a rename, so a concurrent reader never sees half an entry.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use lockstep_analyzer::{Config, FileId, LoweredFile, SourceFile};

const MAGIC: &[u8; 8] = b"lockstp1";

/// Key of one cache entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key(pub [u8; 16]);

/// A cache directory and the part of the key shared by every file of a run.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
    salt: u64,
}

fn hasher(seed: u8) -> std::hash::DefaultHasher {
    let mut h = std::hash::DefaultHasher::new();
    seed.hash(&mut h);
    h
}

impl Cache {
    /// The cache under `dir` for runs with `config` (levels do not matter to lowering).
    pub fn new(dir: PathBuf, config: &Config) -> Cache {
        let mut c = config.clone();
        c.levels.clear();
        let mut h = hasher(0);
        env!("CARGO_PKG_VERSION").hash(&mut h);
        MAGIC.hash(&mut h);
        // The lowered IR's layout changes between builds of the same version; postcard is not
        // self-describing, so entries written by another build of the tool must never be read.
        // The running executable's size and modification time identify the build.
        if let Some(m) = std::env::current_exe()
            .ok()
            .and_then(|p| std::fs::metadata(p).ok())
        {
            m.len().hash(&mut h);
            if let Ok(t) = m.modified() {
                t.hash(&mut h);
            }
        }
        format!("{c:?}").hash(&mut h);
        Cache {
            dir,
            salt: h.finish(),
        }
    }

    /// The default place: `$CARGO_TARGET_DIR/lockstep/cache` or `<root>/target/lockstep/cache`.
    pub fn default_dir(root: &Path) -> PathBuf {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .map(|t| if t.is_absolute() { t } else { root.join(t) })
            .unwrap_or_else(|| root.join("target"));
        target.join("lockstep").join("cache")
    }

    pub fn key(&self, file: &SourceFile) -> Key {
        let half = |seed: u8| {
            let mut h = hasher(seed);
            self.salt.hash(&mut h);
            file.text.hash(&mut h);
            file.path.hash(&mut h);
            file.crate_name.hash(&mut h);
            file.module_path.hash(&mut h);
            file.edition.hash(&mut h);
            file.decode_error.hash(&mut h);
            file.test_only.hash(&mut h);
            h.finish().to_le_bytes()
        };
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&half(1));
        k[8..].copy_from_slice(&half(2));
        Key(k)
    }

    fn path(&self, key: Key) -> PathBuf {
        let hex: String = key.0.iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(&hex[..2]).join(&hex[2..])
    }

    /// The stored lowering for `key`, read back as file `id`; `None` on any problem.
    pub fn get(&self, key: Key, id: FileId) -> Option<LoweredFile> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        decode(&bytes, key, id)
    }

    /// Store a lowering; failures are ignored (the cache is only an optimisation).
    pub fn put(&self, key: Key, lowered: &LoweredFile) {
        let path = self.path(key);
        let Some(dir) = path.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let mut bytes = Vec::with_capacity(1024);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&key.0);
        let Ok(bytes) = postcard::to_extend(lowered, bytes) else {
            return;
        };
        let tmp = dir.join(format!(
            ".tmp-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        if std::fs::write(&tmp, &bytes).is_err() || std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// Decode an entry (checking its header) as file `id`.
pub fn decode(bytes: &[u8], key: Key, id: FileId) -> Option<LoweredFile> {
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let rest = rest.strip_prefix(key.0.as_slice())?;
    let mut lowered: LoweredFile = FileId::deserialize_as(id, || postcard::from_bytes(rest).ok())?;
    lowered.file = id;
    Some(lowered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> SourceFile {
        SourceFile::new(FileId(3), "src/lib.rs", text).with_crate("k", vec![], Default::default())
    }

    #[test]
    fn round_trip_under_a_new_id() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf(), &Config::default());
        let f = file(
            "use std::sync::Mutex;\nstruct S { m: Mutex<u32> }\n\
             fn f(s: &S) { let g = s.m.lock().unwrap(); std::mem::forget(g); }\n",
        );
        let lowered = lockstep_analyzer::lower_file(&f);
        let key = cache.key(&f);
        cache.put(key, &lowered);
        let back = cache.get(key, FileId(7)).expect("hit");
        assert_eq!(back.file, FileId(7));
        assert_eq!(back.item_spans.len(), lowered.item_spans.len());
        assert!(back.item_spans.iter().all(|s| s.file == FileId(7)));
        assert_eq!(
            format!("{:?}", back.items).replace("FileId(7)", "FileId(3)"),
            format!("{:?}", lowered.items)
        );
    }

    #[test]
    fn keys_depend_on_text_and_config() {
        let c = Cache::new(PathBuf::from("x"), &Config::default());
        assert_ne!(c.key(&file("fn a() {}")), c.key(&file("fn b() {}")));
        let mut cfg = Config::default();
        cfg.lock_pairs.push(Default::default());
        let c2 = Cache::new(PathBuf::from("x"), &cfg);
        assert_ne!(c.key(&file("fn a() {}")), c2.key(&file("fn a() {}")));
    }

    #[test]
    fn corrupt_entries_are_misses() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf(), &Config::default());
        let f = file("fn a() { let x = 1; }\n");
        let key = cache.key(&f);
        cache.put(key, &lockstep_analyzer::lower_file(&f));
        let path = cache.path(key);
        let good = std::fs::read(&path).unwrap();
        for cut in 0..good.len() {
            assert!(decode(&good[..cut], key, FileId(0)).is_none() || cut == good.len());
        }
        let mut bad = good.clone();
        for i in 24..bad.len() {
            bad[i] ^= 0xa5;
            let _ = decode(&bad, key, FileId(0));
        }
        std::fs::write(&path, b"garbage").unwrap();
        assert!(cache.get(key, FileId(0)).is_none());
    }
}
