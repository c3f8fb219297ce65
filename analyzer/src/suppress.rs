//! Suppressions: `// lockstep: allow(..)` comments and `#[cfg_attr(lockstep, allow(..))]`
//! attributes, matched against findings by their primary site. Pure: text and lowered files in,
//! findings out.
//!
//! * A comment `// lockstep: allow(lint_a, lint_b) optional reason` at the end of a line covers
//!   that line. On a line of its own it covers the next line that is not a comment, and when an
//!   item starts there (its attributes and doc comments included), the whole item.
//! * `#[cfg_attr(lockstep, allow(lockstep::lint_a))]` on an item covers the whole item.
//! * An allow covering an out-of-line `mod name;` also covers that module's files (matched by
//!   crate name and module path).
//!
//! A finding is suppressed when an allow naming its lint covers the start of its primary span.
//! Every lint name of an allow that suppresses nothing is reported as `unused_allow`, and so is
//! a name that is not a lint. `unused_allow` findings can themselves be allowed.

use crate::diag::{Diagnostic, Label, Level};
use crate::lower::LoweredFile;
use crate::source::{FileId, SourceDb, SourceFile, Span};

use crate::diag::ids::UNUSED_ALLOW;

/// Apply every allow of `files` to `diags`; `known` says which lint names exist (the
/// registry's, from the lints crate). Returns the kept findings (plus `unused_allow` findings)
/// and how many were suppressed.
pub fn apply(
    db: &SourceDb,
    files: &[LoweredFile],
    diags: Vec<Diagnostic>,
    is_lint: impl Fn(&str) -> bool,
) -> (Vec<Diagnostic>, usize) {
    let mut allows = collect(db, files);
    let (mut kept, mut suppressed) = suppress(db, &mut allows, diags, |n| n != UNUSED_ALLOW);
    let mut unused = Vec::new();
    for a in &allows {
        for (i, name) in a.names.iter().enumerate() {
            if a.used[i] || name.name == UNUSED_ALLOW {
                continue;
            }
            unused.push(unused_diagnostic(a, name, is_lint(&name.name)));
        }
    }
    let (unused, n) = suppress(db, &mut allows, unused, |n| n == UNUSED_ALLOW);
    suppressed += n;
    kept.extend(unused);
    for a in &allows {
        for (i, name) in a.names.iter().enumerate() {
            if !a.used[i] && name.name == UNUSED_ALLOW {
                kept.push(unused_diagnostic(a, name, true));
            }
        }
    }
    crate::diag::sort_diagnostics(&mut kept);
    (kept, suppressed)
}

/// One lint name inside an allow, with the span of the name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowName {
    pub name: String,
    pub span: Span,
}

/// Where an allow applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// A 1-based line of a file.
    Line(FileId, u32),
    /// A line and the item starting near it (`Span` covers the item).
    LineAndItem(FileId, u32, Span),
    /// An item.
    Item(Span),
}

/// A comment or attribute allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allow {
    pub names: Vec<AllowName>,
    pub reason: Option<String>,
    pub scope: Scope,
    /// The whole comment or attribute.
    pub site: Span,
    /// `comment` or `attribute`.
    pub kind: &'static str,
    /// The text of the comment or attribute (part of the stable key of `unused_allow`).
    pub text: String,
    /// Out-of-line modules (`mod name;`) inside the covered item, as crate name and module
    /// path: their files, and the files of their submodules, are covered too.
    pub modules: Vec<(String, Vec<String>)>,
    used: Vec<bool>,
}

impl Allow {
    fn covers(&self, db: &SourceDb, span: Span) -> bool {
        let line =
            |file: FileId| (span.file == file).then(|| db.get(file).line_col(span.start).line);
        let in_item = |item: Span| {
            item.file == span.file
                && item.start <= span.start
                && span.start < item.end.max(item.start + 1)
        };
        let here = match self.scope {
            Scope::Line(f, l) => line(f) == Some(l),
            Scope::LineAndItem(f, l, item) => line(f) == Some(l) || in_item(item),
            Scope::Item(item) => in_item(item),
        };
        here || {
            let f = db.get(span.file);
            self.modules
                .iter()
                .any(|(c, m)| *c == f.crate_name && f.module_path.starts_with(m))
        }
    }
}

fn suppress(
    db: &SourceDb,
    allows: &mut [Allow],
    diags: Vec<Diagnostic>,
    applies: impl Fn(&str) -> bool,
) -> (Vec<Diagnostic>, usize) {
    let mut kept = Vec::new();
    let mut suppressed = 0;
    for d in diags {
        let mut hit = false;
        for a in allows.iter_mut() {
            if !a.covers(db, d.primary.span) {
                continue;
            }
            for (i, n) in a.names.iter().enumerate() {
                if n.name == d.lint && applies(&n.name) {
                    a.used[i] = true;
                    hit = true;
                }
            }
        }
        if hit {
            suppressed += 1;
        } else {
            kept.push(d);
        }
    }
    (kept, suppressed)
}

fn unused_diagnostic(a: &Allow, name: &AllowName, exists: bool) -> Diagnostic {
    let (message, label, help) = if exists {
        (
            format!("allow of `lockstep::{}` suppresses nothing", name.name),
            "no finding of this lint here",
            "remove this allow; it would hide the next real finding at this place".to_string(),
        )
    } else {
        (
            format!(
                "allow names `lockstep::{}`, a lint that does not exist",
                name.name
            ),
            "unknown lint",
            "`cargo lockstep list` shows every lint name".to_string(),
        )
    };
    let mut d = Diagnostic::new(
        UNUSED_ALLOW,
        Level::Warn,
        message,
        Label::new(name.span, label),
    )
    .with_help(help)
    .with_key(format!("{}:{}:{}", a.kind, name.name, a.text));
    if let Some(r) = &a.reason {
        d = d.with_note(format!("the allow gives the reason: {r}"));
    }
    d
}

/// Every allow in the lowered files: comments found in their text, attributes from lowering.
pub fn collect(db: &SourceDb, files: &[LoweredFile]) -> Vec<Allow> {
    let mut out = Vec::new();
    for lf in files {
        if lf.file.0 as usize >= db.len() {
            continue;
        }
        let f = db.get(lf.file);
        // what is found in a dependency is never reported, so nothing there is suppressed
        if f.dependency {
            continue;
        }
        for (start, end) in line_comments(&f.text) {
            if let Some(a) = comment_allow(f, lf, start, end) {
                out.push(a);
            }
        }
        for aa in &lf.attr_allows {
            let text = f.snippet(aa.attr_span);
            let names = aa
                .lints
                .iter()
                .map(|n| AllowName {
                    name: n.clone(),
                    span: name_span(f, aa.attr_span, text, n),
                })
                .collect::<Vec<_>>();
            out.push(Allow {
                used: vec![false; names.len()],
                modules: modules_in(f, lf, aa.item_span),
                names,
                reason: aa.reason.clone(),
                scope: Scope::Item(aa.item_span),
                site: aa.attr_span,
                kind: "attribute",
                text: text.split_whitespace().collect::<Vec<_>>().join(" "),
            });
        }
    }
    out
}

/// The out-of-line modules declared inside `item`, as (crate name, module path).
fn modules_in(f: &SourceFile, lf: &LoweredFile, item: Span) -> Vec<(String, Vec<String>)> {
    lf.mod_decls
        .iter()
        .filter(|d| item.start <= d.span.start && d.span.end <= item.end)
        .map(|d| {
            let mut path = f.module_path.clone();
            path.extend(d.inline_parents.iter().map(|(n, _)| n.clone()));
            path.push(d.name.clone());
            (f.crate_name.clone(), path)
        })
        .collect()
}

/// The span of `name` inside `text` (the snippet at `site`), or the whole site.
fn name_span(f: &SourceFile, site: Span, text: &str, name: &str) -> Span {
    let mut from = 0;
    while let Some(i) = text[from..].find(name) {
        let at = from + i;
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if !ident(before) && !ident(after) {
            let s = site.start + at as u32;
            return Span::new(f.id, s, s + name.len() as u32);
        }
        from = at + name.len();
    }
    site
}

/// Parse one `//` comment at `start..end` as an allow.
fn comment_allow(f: &SourceFile, lf: &LoweredFile, start: usize, end: usize) -> Option<Allow> {
    let text = &f.text[start..end];
    let body = text.strip_prefix("//")?;
    let rest = body.trim_start().strip_prefix("lockstep:")?;
    let rest = rest.trim_start().strip_prefix("allow")?.trim_start();
    let inner_at = end - rest.len();
    let rest = rest.strip_prefix('(')?;
    let close = rest.find(')')?;
    let list = &rest[..close];
    let list_start = inner_at + 1;
    let mut names = Vec::new();
    let mut off = 0;
    for part in list.split(',') {
        let trimmed = part.trim();
        let lead = part.len() - part.trim_start().len();
        let name = trimmed.strip_prefix("lockstep::").unwrap_or(trimmed);
        if !name.is_empty() {
            let s = (list_start + off + lead + (trimmed.len() - name.len())) as u32;
            names.push(AllowName {
                name: name.to_string(),
                span: Span::new(f.id, s, s + name.len() as u32),
            });
        }
        off += part.len() + 1;
    }
    if names.is_empty() {
        return None;
    }
    let reason = rest[close + 1..].trim();
    let reason = (!reason.is_empty()).then(|| reason.to_string());
    let line = f.line_col(start as u32).line;
    let line_start = f.line_start(line) as usize;
    let own_line = f.text[line_start..start].trim().is_empty();
    let scope = if own_line {
        let mut target = line + 1;
        while (target as usize) <= f.line_count()
            && f.line_text(target).trim_start().starts_with("//")
        {
            target += 1;
        }
        let item = lf
            .item_spans
            .iter()
            .filter(|s| {
                let l = f.line_col(s.start).line;
                l > line && l <= target
            })
            .max_by_key(|s| (s.len(), std::cmp::Reverse(s.start)))
            .copied();
        match item {
            Some(item) => Scope::LineAndItem(f.id, target, item),
            None => Scope::Line(f.id, target),
        }
    } else {
        Scope::Line(f.id, line)
    };
    let modules = match scope {
        Scope::LineAndItem(_, _, item) => modules_in(f, lf, item),
        _ => Vec::new(),
    };
    Some(Allow {
        used: vec![false; names.len()],
        modules,
        names,
        reason,
        scope,
        site: Span::new(f.id, start as u32, end as u32),
        kind: "comment",
        text: text.trim().to_string(),
    })
}

/// Byte ranges of the plain `//` line comments of Rust source (doc comments `///` and `//!`
/// excluded), skipping strings, raw strings, character literals and block comments.
pub fn line_comments(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let n = b.len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        match b[i] {
            b'/' if i + 1 < n && b[i + 1] == b'/' => {
                let end = text[i..].find('\n').map_or(n, |e| i + e);
                let end = if end > i && b[end - 1] == b'\r' {
                    end - 1
                } else {
                    end
                };
                let doc = (i + 2 < n && b[i + 2] == b'!')
                    || (i + 2 < n && b[i + 2] == b'/' && !(i + 3 < n && b[i + 3] == b'/'));
                if !doc {
                    out.push((i, end));
                }
                i = end;
            }
            b'/' if i + 1 < n && b[i + 1] == b'*' => {
                let mut depth = 1;
                i += 2;
                while i < n && depth > 0 {
                    if b[i] == b'/' && i + 1 < n && b[i + 1] == b'*' {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && i + 1 < n && b[i + 1] == b'/' {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
            }
            b'"' => {
                i += 1;
                while i < n && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'r' if starts_raw_string(b, i) => {
                let mut j = i + 1;
                let mut hashes = 0;
                while j < n && b[j] == b'#' {
                    hashes += 1;
                    j += 1;
                }
                if j >= n || b[j] != b'"' {
                    i = j; // `r#ident`, a raw identifier
                    continue;
                }
                j += 1;
                i = loop {
                    if j >= n {
                        break n;
                    }
                    if b[j] == b'"'
                        && b[j + 1..]
                            .iter()
                            .take(hashes)
                            .filter(|&&c| c == b'#')
                            .count()
                            == hashes
                    {
                        break j + 1 + hashes;
                    }
                    j += 1;
                };
            }
            b'\'' => {
                // A character literal, or a lifetime / label.
                if i + 1 < n && b[i + 1] == b'\\' {
                    let mut j = i + 2;
                    while j < n && b[j] != b'\'' && b[j] != b'\n' {
                        j += 1;
                    }
                    i = j + 1;
                } else {
                    let c_len = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                    if i + 1 + c_len < n && b[i + 1 + c_len] == b'\'' {
                        i += 2 + c_len;
                    } else {
                        i += 1;
                    }
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// Whether the `r` at `i` starts a raw string (`r"`, `r#"`, `br"`, `cr"`), not an identifier.
fn starts_raw_string(b: &[u8], i: usize) -> bool {
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    let prefix_ok = match i.checked_sub(1).map(|p| b[p]) {
        None => true,
        Some(b'b' | b'c') => i < 2 || !ident(b[i - 2]),
        Some(c) => !ident(c),
    };
    prefix_ok && matches!(b.get(i + 1), Some(b'"' | b'#'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::lower_file;

    /// The names these tests' allows may name (the real list is the lints crate's registry).
    const NAMES: &[&str] = &["double_lock", "seq_arith", "seq_compare", UNUSED_ALLOW];

    fn apply(
        db: &SourceDb,
        files: &[LoweredFile],
        diags: Vec<Diagnostic>,
    ) -> (Vec<Diagnostic>, usize) {
        super::apply(db, files, diags, |n| NAMES.contains(&n))
    }

    fn setup(text: &str) -> (SourceDb, Vec<LoweredFile>) {
        let mut db = SourceDb::new();
        let id = db.add(SourceFile::new(FileId(0), "src/lib.rs", text));
        let lf = lower_file(db.get(id));
        assert!(lf.parse_error.is_none(), "{:?}", lf.parse_error);
        (db, vec![lf])
    }

    /// A synthetic finding of `lint` at the first occurrence of `needle`.
    fn at(db: &SourceDb, lint: &'static str, needle: &str) -> Diagnostic {
        let f = db.get(FileId(0));
        let s = f.text.find(needle).expect("needle") as u32;
        let span = Span::new(f.id, s, s + needle.len() as u32);
        Diagnostic::new(lint, Level::Deny, "test finding", Label::new(span, ""))
            .with_key(format!("{lint}:{needle}"))
    }

    fn lines(db: &SourceDb, d: &[Diagnostic]) -> Vec<(u32, String)> {
        d.iter()
            .map(|d| {
                let lc = db.get(d.primary.span.file).line_col(d.primary.span.start);
                (lc.line, d.lint.to_string())
            })
            .collect()
    }

    #[test]
    fn trailing_comment_covers_its_own_line_only() {
        let src = "fn f() {\n    let a = x.lock(); // lockstep: allow(double_lock) known\n    let b = y.lock();\n}\n";
        let (db, files) = setup(src);
        let diags = vec![
            at(&db, "double_lock", "x.lock()"),
            at(&db, "double_lock", "y.lock()"),
        ];
        let (kept, n) = apply(&db, &files, diags);
        assert_eq!(n, 1);
        assert_eq!(lines(&db, &kept), vec![(3, "double_lock".to_string())]);
    }

    #[test]
    fn own_line_comment_covers_the_next_code_line() {
        let src = "fn f() {\n    // lockstep: allow(lockstep::seq_compare, seq_arith) wrap checked by caller\n    // more words about it\n    if a < b {}\n    if c < d {}\n}\n";
        let (db, files) = setup(src);
        let diags = vec![
            at(&db, "seq_compare", "a < b"),
            at(&db, "seq_compare", "c < d"),
        ];
        let (kept, n) = apply(&db, &files, diags);
        assert_eq!(n, 1);
        // seq_compare on line 5 stays; seq_arith in the allow suppressed nothing.
        assert_eq!(
            lines(&db, &kept),
            vec![
                (2, "unused_allow".to_string()),
                (5, "seq_compare".to_string())
            ]
        );
        let unused = &kept[0];
        assert_eq!(db.snippet(unused.primary.span), "seq_arith");
        assert_eq!(
            unused.message,
            "allow of `lockstep::seq_arith` suppresses nothing"
        );
        assert_eq!(
            unused.notes,
            vec!["the allow gives the reason: wrap checked by caller".to_string()]
        );
    }

    #[test]
    fn comment_above_an_item_covers_the_whole_item() {
        let src = "// lockstep: allow(double_lock)\n/// Docs.\n#[inline]\nfn f() {\n    a.lock();\n\n    b.lock();\n}\nfn g() { c.lock(); }\n";
        let (db, files) = setup(src);
        let diags = vec![
            at(&db, "double_lock", "a.lock()"),
            at(&db, "double_lock", "b.lock()"),
            at(&db, "double_lock", "c.lock()"),
        ];
        let (kept, n) = apply(&db, &files, diags);
        assert_eq!(n, 2);
        assert_eq!(lines(&db, &kept), vec![(9, "double_lock".to_string())]);
    }

    #[test]
    fn comment_above_an_impl_method_covers_that_method() {
        let src = "impl S {\n    // lockstep: allow(double_lock)\n    fn f(&self) {\n        a.lock();\n    }\n    fn g(&self) { b.lock(); }\n}\n";
        let (db, files) = setup(src);
        let diags = vec![
            at(&db, "double_lock", "a.lock()"),
            at(&db, "double_lock", "b.lock()"),
        ];
        let (kept, n) = apply(&db, &files, diags);
        assert_eq!(n, 1);
        assert_eq!(lines(&db, &kept), vec![(6, "double_lock".to_string())]);
    }

    #[test]
    fn attribute_covers_its_item_and_reports_unused_names() {
        let src = "#[cfg_attr(lockstep, allow(lockstep::double_lock, lockstep::seq_arith, reason = \"audited\"))]\nfn f() {\n    a.lock();\n}\nfn g() { b.lock(); }\n";
        let (db, files) = setup(src);
        let diags = vec![
            at(&db, "double_lock", "a.lock()"),
            at(&db, "double_lock", "b.lock()"),
        ];
        let (kept, n) = apply(&db, &files, diags);
        assert_eq!(n, 1);
        assert_eq!(
            lines(&db, &kept),
            vec![
                (1, "unused_allow".to_string()),
                (5, "double_lock".to_string())
            ]
        );
        assert_eq!(db.snippet(kept[0].primary.span), "seq_arith");
        assert_eq!(kept[0].level, Level::Warn);
        assert!(kept[0].notes[0].contains("audited"));
    }

    #[test]
    fn unknown_lint_names_are_reported() {
        let src = "fn f() {\n    // lockstep: allow(no_such_lint)\n    a.lock();\n}\n";
        let (db, files) = setup(src);
        let (kept, n) = apply(&db, &files, Vec::new());
        assert_eq!(n, 0);
        assert_eq!(kept.len(), 1);
        assert_eq!(
            kept[0].message,
            "allow names `lockstep::no_such_lint`, a lint that does not exist"
        );
        let (kept, _) = super::apply(&db, &files, Vec::new(), |n| n == "no_such_lint");
        assert_eq!(
            kept[0].message,
            "allow of `lockstep::no_such_lint` suppresses nothing"
        );
    }

    #[test]
    fn unused_allow_can_be_allowed() {
        let src = "#[cfg_attr(lockstep, allow(lockstep::unused_allow))]\nmod m {\n    // lockstep: allow(double_lock) stale\n    fn f() {}\n}\n";
        let (db, files) = setup(src);
        let (kept, n) = apply(&db, &files, Vec::new());
        assert_eq!(n, 1);
        assert!(kept.is_empty(), "{kept:?}");
    }

    #[test]
    fn an_unused_allow_of_unused_allow_is_reported() {
        let src = "// lockstep: allow(unused_allow)\nfn f() {}\n";
        let (db, files) = setup(src);
        let (kept, _) = apply(&db, &files, Vec::new());
        assert_eq!(lines(&db, &kept), vec![(1, "unused_allow".to_string())]);
    }

    #[test]
    fn comments_in_strings_and_doc_comments_are_not_allows() {
        let src = "//! lockstep: allow(double_lock)\n/// lockstep: allow(double_lock)\nfn f() {\n    let s = \"// lockstep: allow(double_lock)\"; a.lock();\n    let r = r#\"\" // lockstep: allow(double_lock)\"#; b.lock();\n    let c = '\"'; c.lock(); // lockstep: allow(double_lock)\n}\n";
        let (db, files) = setup(src);
        let diags = vec![
            at(&db, "double_lock", "a.lock()"),
            at(&db, "double_lock", "b.lock()"),
            at(&db, "double_lock", "c.lock()"),
        ];
        let (kept, n) = apply(&db, &files, diags);
        assert_eq!(n, 1);
        assert_eq!(
            lines(&db, &kept),
            vec![
                (4, "double_lock".to_string()),
                (5, "double_lock".to_string())
            ]
        );
    }

    #[test]
    fn an_allow_on_a_module_declaration_covers_its_files() {
        let mut db = SourceDb::new();
        let lib = db.add(SourceFile::new(
            FileId(0),
            "src/lib.rs",
            "// lockstep: allow(double_lock) generated\nmod gen;\n#[cfg_attr(lockstep, allow(lockstep::seq_arith))]\nmod outer {\n    mod inner;\n}\nmod other;\n",
        ));
        let mut add = |path: &str, module: &[&str], text: &str| {
            let f = SourceFile::new(FileId(0), path, text).with_crate(
                "crate",
                module.iter().map(|s| s.to_string()).collect(),
                crate::source::Edition::E2021,
            );
            db.add(f)
        };
        let gen = add("src/gen.rs", &["gen"], "fn a() { x.lock(); }\n");
        let gen_sub = add("src/gen/sub.rs", &["gen", "sub"], "fn b() { y.lock(); }\n");
        let inner = add(
            "src/outer/inner.rs",
            &["outer", "inner"],
            "fn c() { s + 1; }\n",
        );
        let other = add("src/other.rs", &["other"], "fn d() { z.lock(); }\n");
        let files: Vec<LoweredFile> = [lib, gen, gen_sub, inner, other]
            .iter()
            .map(|&id| lower_file(db.get(id)))
            .collect();
        let find = |id: FileId, lint: &'static str, needle: &str| {
            let s = db.get(id).text.find(needle).unwrap() as u32;
            Diagnostic::new(
                lint,
                Level::Deny,
                "t",
                Label::new(Span::new(id, s, s + 1), ""),
            )
        };
        let diags = vec![
            find(gen, "double_lock", "x.lock"),
            find(gen_sub, "double_lock", "y.lock"),
            find(inner, "seq_arith", "s + 1"),
            find(other, "double_lock", "z.lock"),
        ];
        let (kept, n) = apply(&db, &files, diags);
        assert_eq!(n, 3);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].primary.span.file, other);
    }

    #[test]
    fn line_comments_skip_literals() {
        let src = "let a = '/'; // one\nlet b = \"//\"; /* // */ let l: &'a str; // two\n/// doc\n//// four slashes\n";
        let got: Vec<&str> = line_comments(src)
            .into_iter()
            .map(|(s, e)| &src[s..e])
            .collect();
        assert_eq!(got, vec!["// one", "// two", "//// four slashes"]);
    }
}
