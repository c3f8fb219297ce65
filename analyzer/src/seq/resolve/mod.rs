//! Cross-file resolution: which operands are sequence numbers, and which sites are findings.

use crate::seq_facts::SeqFileFacts;
use std::collections::BTreeMap;

use super::{IsnCause, IsnWhy, SeqAnalysis, SeqFinding, SeqKind, SeqStats};
use crate::config::Config;
use crate::diag::{Applicability, Edit};
use crate::fix;
use crate::lower::LoweredFile;
use crate::seq_facts::names::{is_seq_name, is_seq_type_name, mentions_seq};
use crate::seq_facts::{
    AliasDecl, BackwardWrite, BinOp, FnSig, IsnSite, IsnSource, OpImpl, Site, SiteKind, StructDecl,
    TypeRef, Val, ELEM_NAME, MAPPING_METHODS,
};
use crate::source::{SourceDb, Span};

mod index;
mod isn;
mod kind;
mod sites;

use index::{Index, NOT_SEQ_TYPES, OTHER_INTS, PASS_THROUGH_TYPES};
use isn::isn_finding;
use kind::{Ev, Kind};
use sites::{derive_finding, site_finding};

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Module paths declared under `#[cfg(test)]` (`krate::a::tests`), from the `mod` declarations
/// of every file.
fn test_modules(db: &SourceDb, files: &[LoweredFile]) -> Vec<String> {
    let mut out = Vec::new();
    for f in files {
        if (f.file.0 as usize) >= db.len() {
            continue;
        }
        let src = db.get(f.file);
        for d in f.mod_decls.iter().filter(|d| d.cfg_test) {
            let mut p = src.module_name();
            for (n, _) in &d.inline_parents {
                p.push_str("::");
                p.push_str(n);
            }
            p.push_str("::");
            p.push_str(&d.name);
            out.push(p);
        }
    }
    out
}

/// Resolve every file's sequence facts together.
pub fn resolve(
    db: &SourceDb,
    files: &[LoweredFile],
    mut facts: Vec<SeqFileFacts>,
    config: &Config,
) -> SeqAnalysis {
    // Each file's sites are read once, in the loop below, and dropped there: the types and
    // signatures the index borrows stay to the end.
    let mut sites_of: Vec<SeqFileFacts> = facts
        .iter_mut()
        .map(|s| SeqFileFacts {
            sites: std::mem::take(&mut s.sites),
            isn_sites: std::mem::take(&mut s.isn_sites),
            packed: s.packed.take(),
            ..Default::default()
        })
        .collect();
    let ix = Index::new(&facts, config);
    let tests = test_modules(db, files);
    let in_test_code = |f: &LoweredFile, path: &str| {
        ((f.file.0 as usize) < db.len() && db.get(f.file).test_only)
            || tests
                .iter()
                .any(|t| path.starts_with(t.as_str()) && path[t.len()..].starts_with("::"))
    };
    let mut findings = Vec::new();
    let mut stats = BTreeMap::new();
    for ((f, fs), own) in files.iter().zip(&facts).zip(&mut sites_of) {
        let own = std::mem::take(own);
        // a dependency's types count (a sequence newtype of a dependency), its sites do not
        if (f.file.0 as usize) < db.len() && db.get(f.file).dependency {
            continue;
        }
        let (sites, isn_sites) = own.all_sites();
        let mut st = SeqStats {
            sites: sites.len(),
            isn_sites: isn_sites.len(),
            structs: fs.structs.len(),
            ord_impls: fs.ord_impls.len(),
            modular_ord_impls: fs.ord_impls.iter().filter(|o| o.modular).count(),
            ..Default::default()
        };
        for site in sites.iter() {
            let kinds: Vec<Kind> = site.operands.iter().map(|v| ix.kind(v, 0)).collect();
            let newtype = kinds.iter().any(|k| matches!(k, Kind::Newtype));
            if newtype {
                st.newtype_sites += 1;
            }
            if kinds.iter().any(Kind::is_seq) && !newtype {
                st.raw_sites += 1;
            }
            if kinds.iter().any(|k| matches!(k, Kind::Offset)) {
                st.offset_sites += 1;
            }
        }
        stats.insert(f.file, st);
        for st in &fs.structs {
            derive_finding(&ix, st, &mut findings);
        }
        for site in sites.iter() {
            if let Some(mut fd) = site_finding(&ix, site) {
                if let Some(name) = counted_step(&ix, site) {
                    fd.counter = true;
                    fd.notes.push(format!(
                        "every assignment to `{name}` in the analyzed code sets a constant or steps it by one: a count from a constant wraps only after 2^32 steps (a write through a `&mut` reference is not seen)"
                    ));
                }
                findings.push(fd);
            }
        }
        for isn in isn_sites.iter() {
            // Tests pick deterministic initial sequence numbers on purpose.
            if in_test_code(f, &isn.fn_path) {
                continue;
            }
            if let Some(fd) = isn_finding(&ix, isn) {
                findings.push(fd);
            }
        }
    }
    findings.sort_by_key(|f| (f.span.file, f.span.start, f.span.end, f.kind.check()));
    findings.dedup_by(|a, b| a.span == b.span && a.kind.check() == b.kind.check());
    SeqAnalysis { findings, stats }
}

/// `x += 1` where every write of a place named `x` sets a constant or steps by one: the name
/// of that count.
fn counted_step<'s>(ix: &Index<'_>, site: &'s Site) -> Option<&'s str> {
    if site.kind != SiteKind::AssignArith(BinOp::Add) || site.operand_texts.get(1)? != "1" {
        return None;
    }
    let text = site.operand_texts.first()?;
    let name = text.rsplit('.').next()?.trim_start_matches('*');
    ix.counted
        .get(name)
        .copied()
        .unwrap_or(false)
        .then_some(name)
}
