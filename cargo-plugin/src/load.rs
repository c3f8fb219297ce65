//! Loading sources from disk: the module tree of each crate root, or every `.rs` below a path.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use lockstep_analyzer::{lower_file, Edition, LoweredFile, SourceDb, SourceFile};

/// One crate root to load: its entry file, crate name and edition.
#[derive(Clone, Debug)]
pub struct CrateRoot {
    pub name: String,
    pub root_file: PathBuf,
    pub edition: Edition,
    pub test_only: bool,
}

/// Files read and lowered, plus IO problems met on the way (reported as diagnostics later).
#[derive(Default)]
pub struct Loaded {
    pub db: SourceDb,
    pub lowered: Vec<LoweredFile>,
    pub io_errors: Vec<String>,
}

/// Display path of `p` relative to `root` with `/` separators.
pub fn display_path(root: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(root).unwrap_or(p);
    rel.to_string_lossy().replace('\\', "/")
}

/// Load the module tree of every crate root, following `mod x;` declarations.
pub fn load_crates(root: &Path, crates: &[CrateRoot]) -> Loaded {
    let mut out = Loaded::default();
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    for c in crates {
        // (file, module path, directory owning child modules)
        let mut queue: Vec<(PathBuf, Vec<String>, PathBuf)> = Vec::new();
        let dir = c
            .root_file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        queue.push((c.root_file.clone(), Vec::new(), dir));
        while let Some((path, module, child_dir)) = queue.pop() {
            let canon = path.canonicalize().unwrap_or_else(|_| path.clone());
            if !seen.insert(canon) {
                continue;
            }
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) => {
                    out.io_errors
                        .push(format!("cannot read {}: {e}", display_path(root, &path)));
                    continue;
                }
            };
            let mut file =
                SourceFile::from_bytes(out.db.next_id(), display_path(root, &path), &bytes)
                    .with_crate(&c.name, module.clone(), c.edition);
            file.test_only = c.test_only;
            let id = out.db.add(file);
            let lowered = lower_file(out.db.get(id));
            let mut children = Vec::new();
            for decl in &lowered.mod_decls {
                let mut dir = child_dir.clone();
                let mut mpath = module.clone();
                for (name, p) in &decl.inline_parents {
                    dir = match p {
                        Some(p) => dir.join(p),
                        None => dir.join(name),
                    };
                    mpath.push(name.clone());
                }
                mpath.push(decl.name.clone());
                let (file_path, sub_dir) = match &decl.path_attr {
                    Some(p) => {
                        let fp = dir.join(p);
                        let sd = fp.parent().map(Path::to_path_buf).unwrap_or_default();
                        (fp, sd)
                    }
                    None => {
                        let a = dir.join(format!("{}.rs", decl.name));
                        let b = dir.join(&decl.name).join("mod.rs");
                        if a.exists() {
                            (a, dir.join(&decl.name))
                        } else {
                            (b, dir.join(&decl.name))
                        }
                    }
                };
                if !file_path.exists() {
                    out.io_errors.push(format!(
                        "module file for `mod {}` not found (looked for {})",
                        decl.name,
                        display_path(root, &file_path)
                    ));
                    continue;
                }
                children.push((file_path, mpath, sub_dir));
            }
            out.lowered.push(lowered);
            children.reverse();
            queue.extend(children);
        }
    }
    out
}

/// Crate roots for a directory given on the command line: its Cargo.toml's targets when it
/// has one (`src/lib.rs`, `src/main.rs`), otherwise every `.rs` file below it as a module.
pub fn roots_for_dir(dir: &Path, edition: Edition) -> Vec<CrateRoot> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().replace('-', "_"))
        .unwrap_or_else(|| "krate".into());
    let mut roots = Vec::new();
    for f in ["src/lib.rs", "src/main.rs"] {
        let p = dir.join(f);
        if p.exists() {
            roots.push(CrateRoot {
                name: name.clone(),
                root_file: p,
                edition,
                test_only: false,
            });
        }
    }
    roots
}
