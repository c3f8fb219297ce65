//! Loading sources from disk: the files of planned units ([`UnitPlan`]).
//!
//! Two ways to find files:
//! * a module tree: start at a crate root and follow `mod x;` declarations the way rustc does
//!   (`x.rs` / `x/mod.rs`, `#[path]`, inline modules, every `cfg`);
//! * a directory walk: every `.rs` file below a directory, its module path taken from its
//!   relative path.
//!
//! Files are read, parsed and lowered in parallel, breadth-first in waves (a file's children
//! are only known once it is lowered). File ids are assigned sequentially between waves, in
//! the order of the units and of the declarations, so they do not depend on thread timing.
//!
//! Problems with a place in the source (a missing or unreadable module file, a module cycle)
//! become `parse_error` diagnostics at the `mod` declaration. Problems without one (an
//! unreadable crate root, a path that does not exist, a symlink loop met while walking) go to
//! [`Loaded::io_errors`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lockstep_analyzer::cfg_pred::Tri;
use lockstep_analyzer::diag::ids;
use lockstep_analyzer::lower::cfg::CfgDropped;
use lockstep_analyzer::lower::ModDecl;
use lockstep_analyzer::macros::MacroTable;
use lockstep_analyzer::{
    lower_file_in, Config, Diagnostic, FileId, Label, Level, LoweredFile, SourceDb, SourceFile,
};
use rayon::prelude::*;

use crate::cache::Cache;
use crate::paths::{display_path, io_reason, normalize, SkipSet};
use crate::progress::Progress;
use crate::unit::{UnitPlan, UnitSource};

/// Largest source file read: spans are 32-bit byte offsets.
pub const MAX_FILE_SIZE: u64 = 512 << 20;

/// Stack size of the analysis threads: deep but accepted nesting must not overflow.
pub const STACK_SIZE: usize = 64 << 20;

/// Files read and lowered, plus problems met on the way.
#[derive(Default)]
pub struct Loaded {
    pub db: SourceDb,
    /// In file-id order.
    pub lowered: Vec<LoweredFile>,
    /// `file_units[id]` indexes the units passed to [`load`].
    pub file_units: Vec<usize>,
    /// Load problems with a place in the source (`parse_error` findings).
    pub diagnostics: Vec<Diagnostic>,
    /// Load problems without one.
    pub io_errors: Vec<String>,
    /// Items, statements and `mod` declarations left out because a `#[cfg(..)]` on the
    /// unit's features is false.
    pub cfg_dropped: CfgDropped,
}

/// Leave out what the unit does not compile: inline `#[cfg(test)]` code (unless the unit
/// follows it) and what is under a `#[cfg(..)]` that the unit's features make false.
fn drop_not_compiled(l: &mut LoweredFile, unit: &UnitPlan, dropped: &mut CfgDropped) {
    if !unit.follow_cfg_test {
        drop_cfg_test(l);
    }
    dropped.add(lockstep_analyzer::lower::cfg::apply(
        l,
        unit.features.as_ref(),
    ));
}

/// Leave out the functions of inline `#[cfg(test)]` code.
fn drop_cfg_test(l: &mut LoweredFile) {
    // closures are lowered as functions of their own, named below their function
    let tests: Vec<String> = (l.items.fns.iter())
        .filter(|f| f.test_only)
        .map(|f| format!("{}::{{", f.path))
        .collect();
    l.items
        .fns
        .retain(|f| !f.test_only && !tests.iter().any(|t| f.path.starts_with(t.as_str())));
    l.items.trait_impls.retain(|i| !i.test_only);
}

/// A file waiting to be read.
struct Pending {
    /// Path as joined (read through the OS, symlinks and `..` as the OS sees them).
    path: PathBuf,
    module: Vec<String>,
    unit: usize,
    test_only: bool,
    /// Directory child modules are resolved against, and the `name/` offset of a non-`mod.rs`
    /// file (rustc's "relative" directory ownership).
    dir: PathBuf,
    relative: Option<String>,
    follow_mods: bool,
    /// The `mod` declaration that led here: declaring file, declaration span, module name.
    from: Option<(FileId, lockstep_analyzer::Span, String)>,
    /// Index in the node arena of the declaring file (for cycle detection).
    parent: Option<usize>,
}

struct Node {
    canon: PathBuf,
    parent: Option<usize>,
}

/// What a load may use besides its inputs.
#[derive(Default)]
pub struct LoadExtras<'a> {
    /// Per-file results by content ([`Cache`]).
    pub cache: Option<&'a Cache>,
    pub progress: Option<&'a Progress>,
}

/// Load every unit. Non-test units are loaded first so a file shared with a test target
/// belongs to the non-test unit. `root` is the directory display paths are relative to;
/// `extras` may hold a cache and a progress bar.
pub fn load(
    root: &Path,
    units: &[UnitPlan],
    skip: &SkipSet,
    pool: &rayon::ThreadPool,
    config: &Config,
    extras: &LoadExtras,
) -> Loaded {
    let mut st = State {
        root: normalize(root),
        out: Loaded::default(),
        seen: BTreeMap::new(),
        nodes: Vec::new(),
        skip,
        config,
        cache: extras.cache,
        progress: extras.progress,
        macros: BTreeMap::new(),
    };
    for test_phase in [false, true] {
        let mut wave = Vec::new();
        for (i, u) in units.iter().enumerate() {
            if u.test_only != test_phase {
                continue;
            }
            match &u.source {
                UnitSource::Tree {
                    root_file,
                    relative,
                } => {
                    let dir = root_file
                        .parent()
                        .map(Path::to_path_buf)
                        .unwrap_or_default();
                    wave.push(Pending {
                        path: root_file.clone(),
                        module: Vec::new(),
                        unit: i,
                        test_only: u.test_only,
                        dir,
                        relative: relative.clone(),
                        follow_mods: true,
                        from: None,
                        parent: None,
                    });
                }
                UnitSource::Files(files) => {
                    for (f, module) in files {
                        wave.push(Pending {
                            path: f.clone(),
                            module: module.clone(),
                            unit: i,
                            test_only: u.test_only,
                            dir: PathBuf::new(),
                            relative: None,
                            follow_mods: false,
                            from: None,
                            parent: None,
                        });
                    }
                }
            }
        }
        while !wave.is_empty() {
            wave = st.run_wave(wave, units, pool);
        }
    }
    st.expand_crate_macros(units, pool);
    st.out
}

struct State<'a> {
    root: PathBuf,
    out: Loaded,
    /// Canonical path → file already loaded.
    seen: BTreeMap<PathBuf, FileId>,
    nodes: Vec<Node>,
    skip: &'a SkipSet,
    config: &'a Config,
    cache: Option<&'a Cache>,
    progress: Option<&'a Progress>,
    /// Per unit, the `macro_rules!` of the files lowered so far.
    macros: BTreeMap<usize, MacroTable>,
}

type ReadResult = Result<(PathBuf, Vec<u8>), std::io::Error>;

/// Step 1 of a wave, parallel: the bytes of every file of a wave, with its canonical path.
fn read_wave(wave: &[Pending], pool: &rayon::ThreadPool) -> Vec<ReadResult> {
    pool.install(|| {
        wave.par_iter()
            .map(|p| {
                let canon = std::fs::canonicalize(&p.path)?;
                let md = std::fs::metadata(&p.path)?;
                if md.is_dir() {
                    return Err(std::io::Error::other("it is a directory"));
                }
                if !md.is_file() {
                    // a FIFO or device would block or never end
                    return Err(std::io::Error::other("not a regular file"));
                }
                if md.len() > MAX_FILE_SIZE {
                    return Err(std::io::Error::other(format!(
                        "file is larger than {} MiB",
                        MAX_FILE_SIZE >> 20
                    )));
                }
                let bytes = std::fs::read(&p.path)?;
                Ok((canon, bytes))
            })
            .collect()
    })
}

impl State<'_> {
    fn run_wave(
        &mut self,
        wave: Vec<Pending>,
        units: &[UnitPlan],
        pool: &rayon::ThreadPool,
    ) -> Vec<Pending> {
        let wave: Vec<Pending> = wave
            .into_iter()
            .filter(|p| self.skip.is_empty() || !self.skip.matches(&p.path))
            .collect();
        let reads = read_wave(&wave, pool);
        let added = self.add_files(wave, reads, units);
        let lowered = self.lower_files(&added, units, pool);
        let next = self.children(&added, &lowered, units);
        self.out.lowered.extend(lowered);
        next
    }

    /// Step 2 of a wave, sequential and deterministic: assign ids to the files read, each with
    /// its node in the arena; files already loaded are left out (a module cycle reported).
    fn add_files(
        &mut self,
        wave: Vec<Pending>,
        reads: Vec<ReadResult>,
        units: &[UnitPlan],
    ) -> Vec<(FileId, Pending, usize)> {
        let mut added: Vec<(FileId, Pending, usize)> = Vec::new();
        for (p, r) in wave.into_iter().zip(reads) {
            let (canon, bytes) = match r {
                Ok(x) => x,
                Err(e) => {
                    self.read_failed(&p, &e);
                    continue;
                }
            };
            if self.seen.contains_key(&canon) {
                if self.is_ancestor(p.parent, &canon) {
                    self.cycle(&p);
                }
                continue;
            }
            let display = display_path(&self.root, &p.path);
            let u = &units[p.unit];
            let id = self.out.db.next_id();
            // valid UTF-8 is moved, not copied
            let file = match String::from_utf8(bytes) {
                Ok(text) => SourceFile::new(id, display, text),
                Err(e) => SourceFile::from_bytes(id, display, e.as_bytes()),
            };
            let mut file = file.with_crate(&u.crate_name, p.module.clone(), u.unit.edition);
            file.test_only = p.test_only;
            file.dependency = u.dependency;
            file.extern_names = u.extern_names.clone();
            let id = self.out.db.add(file);
            self.out.file_units.push(p.unit);
            self.seen.insert(canon.clone(), id);
            self.nodes.push(Node {
                canon,
                parent: p.parent,
            });
            added.push((id, p, self.nodes.len() - 1));
        }
        added
    }

    /// Step 3 of a wave: parse and lower (parallel; syn trees stay on their thread), or read
    /// back from the cache; in file order.
    fn lower_files(
        &mut self,
        added: &[(FileId, Pending, usize)],
        units: &[UnitPlan],
        pool: &rayon::ThreadPool,
    ) -> Vec<LoweredFile> {
        let db = &self.out.db;
        let config = self.config;
        let (cache, progress) = (self.cache, self.progress);
        if let Some(p) = progress {
            p.add_files(added.len());
        }
        // Files that define macros are lowered first, so that the rest of the wave sees them.
        let empty = MacroTable::new();
        let defines = |id: FileId| db.get(id).text.contains("macro_rules!");
        let mut slots: Vec<Option<LoweredFile>> = added.iter().map(|_| None).collect();
        for first in [true, false] {
            let part: Vec<usize> = (0..added.len())
                .filter(|&i| defines(added[i].0) == first)
                .collect();
            if part.is_empty() {
                continue;
            }
            let tables = &self.macros;
            let done: Vec<(usize, LoweredFile)> = pool.install(|| {
                part.par_iter()
                    .map(|&i| {
                        let (id, p, _) = &added[i];
                        let file = db.get(*id);
                        let table = tables.get(&p.unit).unwrap_or(&empty);
                        let key = cache.map(|c| c.key(file));
                        // a stored lowering is checked against the unit's macros at the end
                        let hit = cache.zip(key).and_then(|(c, k)| c.get(k, *id));
                        let l = hit.unwrap_or_else(|| {
                            let l = lower_file_in(file, config, table);
                            proc_macro2::extra::invalidate_current_thread_spans();
                            if let Some((c, k)) = cache.zip(key) {
                                c.put(k, &l);
                            }
                            l
                        });
                        if let Some(p) = progress {
                            p.file_done();
                        }
                        (i, l)
                    })
                    .collect()
            });
            for (i, l) in done {
                if !l.macros.defs.is_empty() {
                    (self.macros.entry(added[i].1.unit).or_default()).add_all(&l.macros.defs);
                }
                slots[i] = Some(l);
            }
        }
        let mut lowered: Vec<LoweredFile> = slots.into_iter().flatten().collect();
        // inline `#[cfg(test)]` code is left out like out-of-line test modules
        for ((_, p, _), l) in added.iter().zip(lowered.iter_mut()) {
            drop_not_compiled(l, &units[p.unit], &mut self.out.cfg_dropped);
        }
        lowered
    }

    /// Step 4 of a wave, sequential: the files the `mod` declarations of the lowered files name.
    fn children(
        &mut self,
        added: &[(FileId, Pending, usize)],
        lowered: &[LoweredFile],
        units: &[UnitPlan],
    ) -> Vec<Pending> {
        let mut next = Vec::new();
        for ((id, p, node), l) in added.iter().zip(lowered) {
            if !p.follow_mods {
                continue;
            }
            let follow_cfg_test = units[p.unit].follow_cfg_test;
            let features = units[p.unit].features.as_ref();
            // a file that does not parse still names its modules: find them in the text
            let fallback;
            let decls = if l.parse_error.is_some() && l.mod_decls.is_empty() {
                fallback = scan_mod_decls(self.out.db.get(*id));
                &fallback
            } else {
                &l.mod_decls
            };
            for decl in decls {
                if decl.cfg_test && !follow_cfg_test {
                    continue;
                }
                if decl
                    .cfg
                    .as_ref()
                    .is_some_and(|c| c.eval(features) == Tri::False)
                {
                    self.out.cfg_dropped.modules += 1;
                    continue;
                }
                if let Some(child) = self.resolve(*id, p, *node, decl) {
                    next.push(child);
                }
            }
        }
        next
    }

    /// Lower again, with the `macro_rules!` of their whole unit (crate target), the files whose
    /// lowering would differ under it: a file that invokes a macro defined in a file of the
    /// unit lowered after it (in a later wave: a crate root calling the macros of its
    /// `#[macro_use] mod macros;`), or a stored lowering whose macros changed since. Files
    /// that use only their own macros, or macros of files lowered before them, keep their
    /// first lowering.
    fn expand_crate_macros(&mut self, units: &[UnitPlan], pool: &rayon::ThreadPool) {
        let db = &self.out.db;
        let unit_of = |id: FileId| self.out.file_units[id.0 as usize];
        let tables = &self.macros;
        let redo: Vec<(usize, &MacroTable)> = (self.out.lowered.iter().enumerate())
            .filter_map(|(i, l)| {
                let table = tables.get(&unit_of(l.file))?;
                (!l.macros.valid_under(table, l.file)).then_some((i, table))
            })
            .collect();
        if redo.is_empty() {
            return;
        }
        let (config, cache, lowered) = (self.config, self.cache, &self.out.lowered);
        let again: Vec<(usize, LoweredFile)> = pool.install(|| {
            redo.par_iter()
                .map(|&(i, table)| {
                    let id = lowered[i].file;
                    let file = db.get(id);
                    let l = lower_file_in(file, config, table);
                    proc_macro2::extra::invalidate_current_thread_spans();
                    if let Some(c) = cache {
                        c.put(c.key(file), &l);
                    }
                    (i, l)
                })
                .collect()
        });
        for (i, mut l) in again {
            let unit = self.out.file_units[l.file.0 as usize];
            // the first lowering's count was taken already
            drop_not_compiled(&mut l, &units[unit], &mut CfgDropped::default());
            self.out.lowered[i] = l;
        }
    }

    fn is_ancestor(&self, mut at: Option<usize>, canon: &Path) -> bool {
        while let Some(i) = at {
            if self.nodes[i].canon == canon {
                return true;
            }
            at = self.nodes[i].parent;
        }
        false
    }

    fn display(&self, p: &Path) -> String {
        display_path(&self.root, p)
    }

    fn read_failed(&mut self, p: &Pending, e: &std::io::Error) {
        let what = io_reason(e);
        match &p.from {
            Some((_, span, name)) => {
                let path = self.display(&p.path);
                self.out.diagnostics.push(
                    Diagnostic::new(
                        ids::PARSE_ERROR,
                        Level::Warn,
                        format!("cannot read `{path}` for module `{name}`: {what}"),
                        Label::new(*span, "module declared here"),
                    )
                    .with_help("the module and its submodules were not analyzed")
                    .with_key(format!("parse_error:mod:{path}")),
                );
            }
            None => self
                .out
                .io_errors
                .push(format!("cannot read `{}`: {what}", self.display(&p.path))),
        }
    }

    fn cycle(&mut self, p: &Pending) {
        if let Some((_, span, name)) = &p.from {
            let path = self.display(&p.path);
            self.out.diagnostics.push(
                Diagnostic::new(
                    ids::PARSE_ERROR,
                    Level::Warn,
                    format!(
                        "module `{name}` loads `{path}`, which already encloses it: a module cycle"
                    ),
                    Label::new(*span, "cycle closed here"),
                )
                .with_help("the cycle was cut here; the file is analyzed once")
                .with_key(format!("parse_error:cycle:{path}")),
            );
        }
    }

    /// The file a `mod name;` declaration in `p` refers to, following rustc's rules.
    fn resolve(&mut self, id: FileId, p: &Pending, node: usize, decl: &ModDecl) -> Option<Pending> {
        let mut dir = p.dir.clone();
        let mut relative = p.relative.clone();
        let mut module = p.module.clone();
        for (name, path_attr) in &decl.inline_parents {
            match path_attr {
                // `#[path]` on an inline module names a directory, relative to the current one
                Some(d) => {
                    dir = dir.join(d);
                    relative = None;
                }
                None => {
                    if let Some(r) = relative.take() {
                        dir.push(r);
                    }
                    dir.push(name);
                }
            }
            module.push(name.clone());
        }
        module.push(decl.name.clone());
        let (file, child_dir, child_rel) = match &decl.path_attr {
            // a `#[path]` file owns its directory like a `mod.rs` file
            Some(fp) => {
                let f = dir.join(fp);
                let d = f.parent().map(Path::to_path_buf).unwrap_or_default();
                (f, d, None)
            }
            None => {
                let base = match &relative {
                    Some(r) => dir.join(r),
                    None => dir.clone(),
                };
                let a = base.join(format!("{}.rs", decl.name));
                let b = base.join(&decl.name).join("mod.rs");
                match (a.exists(), b.exists()) {
                    (true, false) => (a, base, Some(decl.name.clone())),
                    (false, true) => (b, base.join(&decl.name), None),
                    (true, true) => {
                        let (da, db) = (self.display(&a), self.display(&b));
                        self.out.diagnostics.push(
                            Diagnostic::new(
                                ids::PARSE_ERROR,
                                Level::Warn,
                                format!(
                                    "file for module `{}` found at both `{da}` and `{db}`",
                                    decl.name
                                ),
                                Label::new(decl.span, "module declared here"),
                            )
                            .with_help(format!("delete or rename one of them; `{da}` was analyzed"))
                            .with_key(format!("parse_error:ambiguous:{da}")),
                        );
                        (a, base, Some(decl.name.clone()))
                    }
                    (false, false) => {
                        let (da, db) = (self.display(&a), self.display(&b));
                        self.out.diagnostics.push(
                            Diagnostic::new(
                                ids::PARSE_ERROR,
                                Level::Warn,
                                format!(
                                    "file not found for module `{}`; its code was not analyzed",
                                    decl.name
                                ),
                                Label::new(decl.span, "module declared here"),
                            )
                            .with_help(format!("looked for `{da}` and `{db}`"))
                            .with_key(format!("parse_error:missing:{da}")),
                        );
                        return None;
                    }
                }
            }
        };
        Some(Pending {
            path: file,
            module,
            unit: p.unit,
            test_only: p.test_only || decl.cfg_test,
            dir: child_dir,
            relative: child_rel,
            follow_mods: true,
            from: Some((id, decl.span, decl.name.clone())),
            parent: Some(node),
        })
    }
}

/// Top-level `mod name;` declarations of a file syn could not parse, found in the text:
/// lines at brace depth 0 outside comments and strings, with the `#[path]` and `#[cfg(test)]`
/// attributes on the lines right above.
pub fn scan_mod_decls(file: &SourceFile) -> Vec<ModDecl> {
    let text = file.text.as_str();
    let b = text.as_bytes();
    // (line start offset, brace depth at line start, inside a comment or string at line start)
    let mut lines: Vec<(usize, i64, bool)> = vec![(0, 0, false)];
    let (mut depth, mut i) = (0i64, 0usize);
    let mut block = 0usize; // nested block comment level
    let mut in_str = false;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            lines.push((i + 1, depth, block > 0 || in_str));
            i += 1;
            continue;
        }
        if block > 0 {
            if c == b'*' && b.get(i + 1) == Some(&b'/') {
                block -= 1;
                i += 1;
            } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
                block += 1;
                i += 1;
            }
        } else if in_str {
            if c == b'\\' {
                i += 1;
            } else if c == b'"' {
                in_str = false;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i + 1 < b.len() && b[i + 1] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            block = 1;
            i += 1;
        } else if c == b'"' {
            in_str = true;
        } else if c == b'\'' && b.get(i + 2) == Some(&b'\'') {
            i += 2; // a one-byte char literal such as '{'
        } else if c == b'{' {
            depth += 1;
        } else if c == b'}' {
            depth -= 1;
        }
        i += 1;
    }
    let mut out = Vec::new();
    let mut attrs: Vec<&str> = Vec::new();
    for (n, &(start, d, inside)) in lines.iter().enumerate() {
        let end = lines.get(n + 1).map(|l| l.0).unwrap_or(text.len());
        let line = &text[start..end];
        let t = line.trim();
        if d != 0 || inside {
            attrs.clear();
            continue;
        }
        if t.starts_with("#[") {
            attrs.push(t);
            continue;
        }
        if t.is_empty() || t.starts_with("//") {
            continue;
        }
        if let Some((name, off)) = mod_line(t) {
            let at = start + (line.len() - line.trim_start().len()) + off;
            let path_attr = attrs.iter().find_map(|a| {
                let rest = a.strip_prefix("#[")?.trim_start().strip_prefix("path")?;
                let rest = rest.trim_start().strip_prefix('=')?.trim_start();
                let rest = rest.strip_prefix('"')?;
                Some(rest[..rest.find('"')?].to_string())
            });
            let cfg_test = attrs
                .iter()
                .any(|a| a.contains("cfg(") && a.contains("test") && !a.contains("not("));
            out.push(ModDecl {
                name: name.to_string(),
                path_attr,
                inline_parents: Vec::new(),
                cfg_test,
                cfg: None,
                span: lockstep_analyzer::Span::new(file.id, at as u32, (at + name.len()) as u32),
            });
        }
        attrs.clear();
    }
    out
}

/// `[pub[(..)]] mod name;` → the name and its offset in the line.
fn mod_line(t: &str) -> Option<(&str, usize)> {
    let mut rest = t;
    if let Some(r) = rest.strip_prefix("pub") {
        if let Some(inner) = r.strip_prefix('(') {
            rest = inner.split_once(')')?.1;
        } else if r.starts_with(char::is_whitespace) {
            rest = r;
        } else {
            return None;
        }
    }
    let r = rest.trim_start().strip_prefix("mod")?;
    if !r.starts_with(char::is_whitespace) {
        return None;
    }
    let r = r.trim_start();
    let r = r.strip_prefix("r#").unwrap_or(r);
    let len = r
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(r.len());
    if len == 0 || !r[len..].trim_start().starts_with(';') {
        return None;
    }
    let name = &r[..len];
    Some((name, t.len() - r.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod_decls_of_a_broken_file() {
        let text = "//! docs\n#[path = \"x/y.rs\"]\npub(crate) mod a;\nmod b ;\nfn f() {\n    mod inner;\n}\n/* mod c; */\n#[cfg(test)]\nmod tests;\nlet s = \"{\";\nmod d;\nfn broken( {\nmod e;\n";
        let f = SourceFile::new(FileId(0), "lib.rs", text);
        let d = scan_mod_decls(&f);
        let got: Vec<(&str, Option<&str>, bool)> = d
            .iter()
            .map(|m| (m.name.as_str(), m.path_attr.as_deref(), m.cfg_test))
            .collect();
        assert_eq!(
            got,
            [
                ("a", Some("x/y.rs"), false),
                ("b", None, false),
                ("tests", None, true),
                ("d", None, false)
            ]
        );
        assert_eq!(f.snippet(d[0].span), "a");
        assert_eq!(f.snippet(d[3].span), "d");
    }
}
