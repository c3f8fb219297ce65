//! Lowering: syn trees into the analyzer's own plain data. Together with `seq` (and the fix
//! builder) this is the only place that touches syn.

pub mod body;
pub mod cfg;
pub mod items;

use crate::cfg_pred::CfgPred;
use crate::syntax::{cfg_pred, has_cfg_test, item_attrs};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use crate::diag::Diagnostic;
use crate::parse::{parse_file, SpanMap};
use crate::source::{SourceFile, Span};

/// An out-of-line `mod name;` declaration the loader must resolve to a file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ModDecl {
    pub name: String,
    /// `#[path = "..."]` on the declaration.
    pub path_attr: Option<String>,
    /// Enclosing inline modules, outermost first, each with its own `#[path]`, if any.
    pub inline_parents: Vec<(String, Option<String>)>,
    /// Declared under `#[cfg(test)]` (directly or through an inline parent).
    pub cfg_test: bool,
    /// Its `#[cfg(..)]` predicates and those of its inline parents, undecided.
    pub cfg: Option<CfgPred>,
    pub span: Span,
}

/// `#[cfg_attr(lockstep, allow(lockstep::lint, reason = "…"))]` on an item.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AttrAllow {
    pub lints: Vec<String>,
    pub reason: Option<String>,
    /// The attribute itself (reported when it suppresses nothing).
    pub attr_span: Span,
    /// The item it covers.
    pub item_span: Span,
}

/// Everything the analyses need from one file, as plain data (no syn types).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct LoweredFile {
    pub file: crate::source::FileId,
    pub mod_decls: Vec<ModDecl>,
    pub parse_error: Option<Diagnostic>,
    pub attr_allows: Vec<AttrAllow>,
    /// Span of every item (including impl and trait members), for comment suppressions.
    pub item_spans: Vec<Span>,
    /// Structs, statics, functions and their bodies.
    pub items: crate::ir::FileItems,
    /// Sequence-number facts of this file.
    pub seq: crate::seq_facts::SeqFileFacts,
    /// The file declares `#![no_std]`, directly or under any `#![cfg_attr(.., no_std)]`
    /// condition (the build that matters for the lock lints is the `no_std` one): its crate is
    /// `no_std`.
    pub no_std: bool,
    /// The crate the file belongs to.
    pub krate: String,
    /// `macro_rules!` written here, and what expansion did.
    pub macros: crate::macros::FileMacros,
}

/// Lower one file with the default configuration.
pub fn lower_file(file: &SourceFile) -> LoweredFile {
    lower_file_with(file, &crate::config::Config::default())
}

/// Lower one file. Never panics on user input; a parse failure is reported in `parse_error`.
/// Only the file's own `macro_rules!` are expanded (see [`lower_file_in`]).
pub fn lower_file_with(file: &SourceFile, config: &crate::config::Config) -> LoweredFile {
    lower_file_in(file, config, &crate::macros::MacroTable::new())
}

/// Lower one file with the crate's `macro_rules!` definitions in `crate_macros` (the file's
/// own are added to them).
pub fn lower_file_in(
    file: &SourceFile,
    config: &crate::config::Config,
    crate_macros: &crate::macros::MacroTable,
) -> LoweredFile {
    let mut out = LoweredFile {
        file: file.id,
        krate: file.crate_name.clone(),
        ..Default::default()
    };
    let parsed = match parse_file(file) {
        Ok(p) => p,
        Err(d) => {
            out.parse_error = Some(*d);
            return out;
        }
    };
    let map = SpanMap {
        file: file.id,
        base: parsed.base,
    };
    out.no_std = parsed.ast.attrs.iter().any(declares_no_std);
    collect_items(
        &parsed.ast.items,
        &map,
        &mut Vec::new(),
        (false, None),
        &mut out,
    );
    let mut defs = Vec::new();
    crate::macros::collect_defs(&parsed.ast.items, file.id, &mut defs);
    let mut table = crate_macros.clone();
    for d in &defs {
        table.add(std::sync::Arc::new(d.clone()));
    }
    let (items, mut stats) = crate::macros::with_table(table, file.id, || {
        let mut icx = crate::lower::items::ItemCx::new(&map, file, config);
        icx.items(&parsed.ast.items, &file.module_name(), false);
        icx.out
    });
    out.items = items;
    stats.defs = defs;
    out.macros = stats;
    out.seq = crate::seq_facts::collect_file(file, &parsed.ast, &map);
    // kept to the end of the run: without the vectors' growth slack
    out.item_spans.shrink_to_fit();
    out.mod_decls.shrink_to_fit();
    out.attr_allows.shrink_to_fit();
    out.items.shrink_to_fit();
    out
}

/// The `mod` declarations and suppressions of `items`, which lie under `cfg_test` and the
/// predicate `cfg` of their inline parents.
fn collect_items(
    items: &[syn::Item],
    map: &SpanMap,
    parents: &mut Vec<(String, Option<String>)>,
    (cfg_test, cfg): (bool, Option<&CfgPred>),
    out: &mut LoweredFile,
) {
    for item in items {
        let span = map.of(item);
        out.item_spans.push(span);
        record_allows(item_attrs(item), span, map, out);
        match item {
            syn::Item::Mod(m) => {
                let test = cfg_test || has_cfg_test(&m.attrs);
                let cfg = CfgPred::both(cfg, cfg_pred(&m.attrs).as_ref());
                let path_attr = path_attr(&m.attrs);
                match &m.content {
                    Some((_, inner)) => {
                        parents.push((m.ident.unraw().to_string(), path_attr));
                        collect_items(inner, map, parents, (test, cfg.as_ref()), out);
                        parents.pop();
                    }
                    None => out.mod_decls.push(ModDecl {
                        // `mod r#async;` is the module `async` (file `async.rs`).
                        name: m.ident.unraw().to_string(),
                        path_attr,
                        inline_parents: parents.clone(),
                        cfg_test: test,
                        cfg,
                        span: map.of(&m.ident),
                    }),
                }
            }
            syn::Item::Impl(i) => {
                for ii in &i.items {
                    let s = map.of(ii);
                    out.item_spans.push(s);
                    let attrs = match ii {
                        syn::ImplItem::Fn(f) => &f.attrs[..],
                        syn::ImplItem::Const(c) => &c.attrs[..],
                        syn::ImplItem::Type(t) => &t.attrs[..],
                        _ => &[],
                    };
                    record_allows(attrs, s, map, out);
                }
            }
            syn::Item::Trait(t) => {
                for ti in &t.items {
                    let s = map.of(ti);
                    out.item_spans.push(s);
                    if let syn::TraitItem::Fn(f) = ti {
                        record_allows(&f.attrs, s, map, out);
                    }
                }
            }
            syn::Item::Macro(m) if m.ident.is_none() => {
                // `cfg_net! { mod tcp; pub mod udp; }`: modules declared in an item macro
                // whose input reads as items are followed like any other
                let test = cfg_test || has_cfg_test(&m.attrs);
                let cfg = CfgPred::both(cfg, cfg_pred(&m.attrs).as_ref());
                if let Some(inner) = macro_items(&m.mac) {
                    collect_items(&inner, map, parents, (test, cfg.as_ref()), out);
                }
            }
            _ => {}
        }
    }
}

/// The input of a brace-delimited item macro, when it reads as items.
fn macro_items(m: &syn::Macro) -> Option<Vec<syn::Item>> {
    use syn::parse::Parser;
    if !matches!(m.delimiter, syn::MacroDelimiter::Brace(_)) {
        return None;
    }
    let p = |i: syn::parse::ParseStream<'_>| {
        let mut v = Vec::new();
        while !i.is_empty() {
            v.push(i.parse::<syn::Item>()?);
        }
        Ok(v)
    };
    p.parse2(m.tokens.clone()).ok()
}

fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| {
        if !a.path().is_ident("path") {
            return None;
        }
        let syn::Meta::NameValue(nv) = &a.meta else {
            return None;
        };
        match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        }
    })
}

fn record_allows(attrs: &[syn::Attribute], item_span: Span, map: &SpanMap, out: &mut LoweredFile) {
    for a in attrs {
        if !a.path().is_ident("cfg_attr") {
            continue;
        }
        let Ok(list) = a.meta.require_list() else {
            continue;
        };
        let Ok(args) = list.parse_args_with(
            syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
        ) else {
            continue;
        };
        let mut args = args.into_iter();
        let Some(pred) = args.next() else { continue };
        if !pred.path().is_ident("lockstep") {
            continue;
        }
        for m in args {
            let syn::Meta::List(inner) = &m else { continue };
            if !inner.path.is_ident("allow") {
                continue;
            }
            let Ok(metas) = inner.parse_args_with(
                syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
            ) else {
                continue;
            };
            let mut lints = Vec::new();
            let mut reason = None;
            for meta in metas {
                match &meta {
                    syn::Meta::Path(p) => {
                        let segs: Vec<String> =
                            p.segments.iter().map(|s| s.ident.to_string()).collect();
                        if segs.len() == 2 && segs[0] == "lockstep" {
                            lints.push(segs[1].clone());
                        }
                    }
                    syn::Meta::NameValue(nv) if nv.path.is_ident("reason") => {
                        if let syn::Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Str(s),
                            ..
                        }) = &nv.value
                        {
                            reason = Some(s.value());
                        }
                    }
                    _ => {}
                }
            }
            if !lints.is_empty() {
                out.attr_allows.push(AttrAllow {
                    lints,
                    reason,
                    attr_span: map.span(a.span()),
                    item_span,
                });
            }
        }
    }
}

/// `#![no_std]`, or `#![cfg_attr(cond, .., no_std, ..)]` whatever the condition.
fn declares_no_std(a: &syn::Attribute) -> bool {
    if !matches!(a.style, syn::AttrStyle::Inner(_)) {
        return false;
    }
    if a.path().is_ident("no_std") {
        return true;
    }
    if !a.path().is_ident("cfg_attr") {
        return false;
    }
    let mut found = false;
    let _ = a.parse_nested_meta(|m| {
        if m.path.is_ident("no_std") {
            found = true;
        }
        if m.input.peek(syn::token::Paren) {
            // The condition (`not(test)`, `all(..)`): skip its contents.
            let content;
            syn::parenthesized!(content in m.input);
            let _: proc_macro2::TokenStream = content.parse()?;
        } else if m.input.peek(syn::Token![=]) {
            let _ = m.value()?.parse::<syn::Expr>()?;
        }
        Ok(())
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_std(text: &str) -> bool {
        lower_file(&SourceFile::new(crate::source::FileId(0), "lib.rs", text)).no_std
    }

    #[test]
    fn no_std_attributes() {
        assert!(no_std("#![no_std]\nfn f() {}\n"));
        assert!(no_std("#![cfg_attr(not(test), no_std)]\n"));
        assert!(no_std(
            "#![cfg_attr(all(not(feature = \"std\"), target_os = \"none\"), no_std)]\n"
        ));
        assert!(no_std(
            "#![cfg_attr(feature = \"kernel\", allow(unused), no_std)]\n"
        ));
        assert!(!no_std("#![cfg_attr(feature = \"std\", allow(unused))]\n"));
        assert!(!no_std("#![allow(unused)]\nfn no_std() {}\n"));
        assert!(!no_std("#[no_std]\nfn f() {}\n"));
    }
}
