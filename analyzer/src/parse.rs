//! Turning text into a syn tree, with byte-exact spans and bounded nesting.

use crate::diag::{Diagnostic, Label, Level};
use crate::source::{SourceFile, Span};

/// Deepest delimiter nesting accepted before parsing. syn's parser and the lowering recurse on
/// nesting, so deeper input is refused with a diagnostic instead of overflowing the stack.
pub const MAX_NESTING: usize = 256;

/// A parsed file plus the byte offset its syn spans are relative to (a BOM or shebang is cut
/// before parsing, as rustc does).
pub struct Parsed {
    pub ast: syn::File,
    pub base: u32,
}

/// Converts proc-macro2 spans of one parse into [`Span`]s of the file.
#[derive(Clone, Copy, Debug)]
pub struct SpanMap {
    pub file: crate::source::FileId,
    pub base: u32,
}

impl SpanMap {
    pub fn span(&self, s: proc_macro2::Span) -> Span {
        let r = s.byte_range();
        Span::new(
            self.file,
            r.start as u32 + self.base,
            r.end as u32 + self.base,
        )
    }

    /// The span of a syn node (see [`crate::fast_span`]: the common node kinds are not printed).
    pub fn of<T: syn::spanned::Spanned + 'static>(&self, node: &T) -> Span {
        let (first, last) = crate::fast_span::of(node);
        Span::new(
            self.file,
            first.byte_range().start as u32 + self.base,
            last.byte_range().end as u32 + self.base,
        )
    }
}

/// Parse a file; a failure becomes a `parse_error` diagnostic at the failing location.
pub fn parse_file(file: &SourceFile) -> Result<Parsed, Box<Diagnostic>> {
    if let Some(bad) = file.decode_error {
        let span = Span::new(file.id, bad as u32, bad as u32 + 1);
        return Err(Box::new(
            Diagnostic::new(
                crate::diag::ids::PARSE_ERROR,
                Level::Warn,
                "file is not valid utf-8 and was not analyzed",
                Label::new(span, "invalid utf-8 here"),
            )
            .with_key(format!("parse_error:{}", file.path)),
        ));
    }
    let text = file.text.as_str();
    let mut base = 0usize;
    if text.starts_with('\u{feff}') {
        base = '\u{feff}'.len_utf8();
    }
    let rest = &text[base..];
    if rest.starts_with("#!") && !rest[2..].trim_start().starts_with('[') {
        base += rest.find('\n').unwrap_or(rest.len());
    }
    let content = &text[base..];
    if let Some(off) = nesting_exceeds(content, MAX_NESTING) {
        let at = (base + off) as u32;
        return Err(Box::new(
            Diagnostic::new(
                crate::diag::ids::PARSE_ERROR,
                Level::Warn,
                format!("nesting deeper than {MAX_NESTING} levels; file was not analyzed"),
                Label::new(Span::new(file.id, at, at + 1), "nesting limit reached here"),
            )
            .with_key(format!("parse_error:{}", file.path)),
        ));
    }
    match syn::parse_str::<syn::File>(content) {
        Ok(ast) => Ok(Parsed {
            ast,
            base: base as u32,
        }),
        Err(e) => {
            let r = e.span().byte_range();
            let (s, mut t) = ((r.start + base) as u32, (r.end + base) as u32);
            if t <= s {
                t = (s + 1).min(text.len() as u32).max(s);
            }
            Err(Box::new(
                Diagnostic::new(
                    crate::diag::ids::PARSE_ERROR,
                    Level::Warn,
                    format!("file does not parse: {}", lower_first(&e.to_string())),
                    Label::new(Span::new(file.id, s, t), "syntax error here"),
                )
                .with_help("the rest of the crate is still analyzed; this file is skipped")
                .with_key(format!("parse_error:{}", file.path)),
            ))
        }
    }
}

fn lower_first(s: &str) -> String {
    let s = s.trim_end_matches('.');
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Byte offset where delimiter nesting first exceeds `limit`, skipping strings, chars and
/// comments well enough for that purpose.
pub fn nesting_exceeds(text: &str, limit: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0usize;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut lvl = 1;
                i += 2;
                while i < b.len() && lvl > 0 {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        lvl += 1;
                        i += 1;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        lvl -= 1;
                        i += 1;
                    }
                    i += 1;
                }
                continue;
            }
            b'\'' => {
                // char literal ('x', '\n', '\u{..}'); a lifetime is left alone
                if b.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while i < b.len() && b[i] != b'\'' && b[i] != b'\n' {
                        i += 1;
                    }
                } else if b.get(i + 2) == Some(&b'\'') {
                    i += 2;
                } else if let Some(c) = text.get(i + 1..).and_then(|t| t.chars().next()) {
                    if text.as_bytes().get(i + 1 + c.len_utf8()) == Some(&b'\'') {
                        i += 1 + c.len_utf8();
                    }
                }
            }
            b'r' if (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
                && matches!(b.get(i + 1), Some(b'"') | Some(b'#')) =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) == Some(&b'"') {
                    j += 1;
                    'raw: while j < b.len() {
                        if b[j] == b'"'
                            && b[j + 1..]
                                .iter()
                                .take(hashes)
                                .filter(|&&h| h == b'#')
                                .count()
                                == hashes
                        {
                            j += 1 + hashes;
                            break 'raw;
                        }
                        j += 1;
                    }
                    i = j;
                    continue;
                }
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Some(i);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    #[test]
    fn bom_and_shebang_keep_offsets() {
        let text = "\u{feff}#!/usr/bin/env run\nfn a() {}\n";
        let f = SourceFile::new(FileId(0), "a.rs", text);
        let p = parse_file(&f).expect("parses");
        let map = SpanMap {
            file: f.id,
            base: p.base,
        };
        let syn::Item::Fn(func) = &p.ast.items[0] else {
            panic!("fn expected")
        };
        assert_eq!(f.snippet(map.of(&func.sig.ident)), "a");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("fn a() {{ {}{} }}", "(".repeat(5000), ")".repeat(5000));
        let f = SourceFile::new(FileId(0), "a.rs", text);
        let err = parse_file(&f).err().expect("refused");
        assert!(err.message.contains("nesting"));
    }

    #[test]
    fn syntax_error_points_at_it() {
        let f = SourceFile::new(FileId(0), "a.rs", "fn a() { let = ; }");
        let err = parse_file(&f).err().expect("fails");
        assert_eq!(err.lint, "parse_error");
        assert!(err.message.starts_with("file does not parse"));
    }
}
