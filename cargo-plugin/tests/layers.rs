//! The layers of the two library crates, and their size limits, checked from their sources.
//!
//! * Every top-level module of `analyzer/src` and `cargo-plugin/src` has a place in the order
//!   below, and may name (`crate::m::..`, in code or in a `use`) only modules listed before
//!   it: the graph of modules is one-way. A module's submodules count as the module; its
//!   `#[cfg(test)]` items do not.
//! * No file is over [`FILE_LINES`] lines and no function over [`FN_LINES`], except the
//!   functions in [`LONG_FNS`], which may only get shorter: the list has to shrink with them.
//!
//! The same order, with what each layer is, is in ARCHITECTURE.md.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::spanned::Spanned;
use syn::visit::Visit;

/// analyzer/src, lowest first.
const ANALYZER: &[&str] = &[
    "fast_hash",
    "sym",
    "source",
    "fast_span",
    "diag",
    "cfg_pred",
    "config",
    "parse",
    "fix",
    "syntax",
    "ir",
    "lock_api",
    "macros",
    "seq_facts",
    "lower",
    "suppress",
    "sema",
    "index",
    "resolve",
    "flow",
    "interproc",
    "lock_graph",
    "irq",
    "resource",
    "seq",
];

/// cargo-plugin/src, lowest first.
const PLUGIN: &[&str] = &[
    "suggest",
    "paths",
    "progress",
    "cache",
    "unit",
    "deps_memo",
    "features",
    "deps",
    "report",
    "baseline",
    "render",
    "fix",
    "graph",
    "stats",
    "config",
    "plan",
    "load",
    "cli",
    "prepare",
    "demo",
    "lsp",
    "driver",
];

const FILE_LINES: usize = 1200;
const FN_LINES: usize = 150;

/// Functions still over [`FN_LINES`] lines: (file under the workspace root, function name).
const LONG_FNS: &[(&str, &str)] = &[];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src` belongs to (`None` for the crate root).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (name != "lib" && name != "main").then_some(name)
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && {
            let t = match &a.meta {
                syn::Meta::List(l) => l.tokens.to_string(),
                _ => String::new(),
            };
            t.contains("test") && !t.contains("not")
        }
    })
}

/// Collects the modules named through `crate::` and the length of every function.
#[derive(Default)]
struct Scan {
    uses: BTreeSet<String>,
    fns: Vec<(String, usize)>,
}

impl Scan {
    fn fn_len(&mut self, name: &syn::Ident, span: proc_macro2::Span) {
        let lines = span.end().line + 1 - span.start().line;
        self.fns.push((name.to_string(), lines));
    }
}

fn use_tree(tree: &syn::UseTree, out: &mut BTreeSet<String>) {
    match tree {
        syn::UseTree::Path(p) if p.ident == "crate" => match &*p.tree {
            syn::UseTree::Path(q) => {
                out.insert(q.ident.to_string());
            }
            syn::UseTree::Name(n) => {
                out.insert(n.ident.to_string());
            }
            syn::UseTree::Rename(r) => {
                out.insert(r.ident.to_string());
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    use_tree(&syn::parse_quote!(crate::#t), out);
                }
            }
            syn::UseTree::Glob(_) => {}
        },
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_tree(t, out);
            }
        }
        _ => {}
    }
}

impl<'ast> Visit<'ast> for Scan {
    fn visit_item(&mut self, i: &'ast syn::Item) {
        let attrs: &[syn::Attribute] = match i {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(m) => &m.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Const(c) => &c.attrs,
            syn::Item::Static(s) => &s.attrs,
            syn::Item::Struct(s) => &s.attrs,
            syn::Item::Enum(e) => &e.attrs,
            syn::Item::Trait(t) => &t.attrs,
            syn::Item::Type(t) => &t.attrs,
            _ => &[],
        };
        if is_cfg_test(attrs) {
            return;
        }
        if let syn::Item::Use(u) = i {
            use_tree(&u.tree, &mut self.uses);
        }
        syn::visit::visit_item(self, i);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let mut segs = p.segments.iter();
        if let (Some(a), Some(b)) = (segs.next(), segs.next()) {
            if a.ident == "crate" {
                self.uses.insert(b.ident.to_string());
            }
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.fn_len(&f.sig.ident, f.span());
        syn::visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_cfg_test(&f.attrs) {
            self.fn_len(&f.sig.ident, f.span());
            syn::visit::visit_impl_item_fn(self, f);
        }
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        self.fn_len(&f.sig.ident, f.span());
        syn::visit::visit_trait_item_fn(self, f);
    }
}

struct Crate {
    /// module → modules it names
    graph: BTreeMap<String, BTreeSet<String>>,
    /// (file, function, lines) over the limit
    long: Vec<(String, String, usize)>,
    /// (file, lines) over the limit
    big: Vec<(String, usize)>,
}

fn scan(dir: &str) -> Crate {
    let src = root().join(dir);
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    let mut c = Crate {
        graph: BTreeMap::new(),
        long: Vec::new(),
        big: Vec::new(),
    };
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let rel = f.strip_prefix(root()).unwrap().display().to_string();
        let lines = text.lines().count();
        if lines > FILE_LINES {
            c.big.push((rel.clone(), lines));
        }
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let mut s = Scan::default();
        s.visit_file(&ast);
        for (name, n) in s.fns {
            if n > FN_LINES {
                c.long.push((rel.clone(), name, n));
            }
        }
        if let Some(m) = module_of(&src, &f) {
            let entry = c.graph.entry(m.clone()).or_default();
            entry.extend(s.uses.into_iter().filter(|u| *u != m));
        }
    }
    c
}

fn check_order(dir: &str, order: &[&str], c: &Crate, problems: &mut Vec<String>) {
    let pos = |m: &str| order.iter().position(|o| *o == m);
    for (m, uses) in &c.graph {
        let Some(i) = pos(m) else {
            problems.push(format!(
                "{dir}: module `{m}` has no place in the layer order"
            ));
            continue;
        };
        for u in uses {
            match pos(u) {
                Some(j) if j < i => {}
                Some(_) => problems.push(format!(
                    "{dir}: `{m}` names `crate::{u}`, which is not below it in the layer order"
                )),
                // `crate::SomeType` re-exported by the crate root, or a macro
                None if !c.graph.contains_key(u) => {}
                None => problems.push(format!("{dir}: `{u}` has no place in the layer order")),
            }
        }
    }
    for o in order {
        if !c.graph.contains_key(*o) {
            problems.push(format!("{dir}: layer `{o}` is listed but has no source"));
        }
    }
}

#[test]
fn modules_are_one_way_and_small() {
    let mut problems = Vec::new();
    let mut long = Vec::new();
    for (dir, order) in [("analyzer/src", ANALYZER), ("cargo-plugin/src", PLUGIN)] {
        let c = scan(dir);
        check_order(dir, order, &c, &mut problems);
        for (f, n) in &c.big {
            problems.push(format!("{f}: {n} lines, over {FILE_LINES}"));
        }
        long.extend(c.long);
    }
    // the lints crate: size limits only (its modules are one per lint)
    let lints = scan("lints/src");
    for (f, n) in &lints.big {
        problems.push(format!("{f}: {n} lines, over {FILE_LINES}"));
    }
    long.extend(lints.long);
    for (f, name, n) in &long {
        if !LONG_FNS.contains(&(f.as_str(), name.as_str())) {
            problems.push(format!("{f}: fn `{name}` is {n} lines, over {FN_LINES}"));
        }
    }
    for (f, name) in LONG_FNS {
        if !long.iter().any(|(lf, ln, _)| lf == f && ln == name) {
            problems.push(format!(
                "{f}: fn `{name}` is listed in LONG_FNS but no longer over {FN_LINES} lines: remove it"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
