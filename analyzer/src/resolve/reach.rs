//! The functions a run needs flows for: every function of the analyzed code, and of the
//! dependencies (read from source, never reported) only those the analyzed code can reach
//! through resolved calls, with the closures written inside them. A dependency function no
//! analyzed function reaches cannot change a finding about the analyzed code, and on a crate
//! with large dependencies most of the work would go there.

use std::collections::BTreeMap;

use crate::index::{FnRef, Index};
use crate::ir::Op;
use crate::lower::LoweredFile;
use crate::source::SourceDb;

/// Per position in `ix.fns`: whether the function is analyzed.
pub fn needed(ix: &Index, files: &[LoweredFile], db: &SourceDb) -> Vec<bool> {
    let dependency = |f: &LoweredFile| (f.file.0 as usize) < db.len() && db.get(f.file).dependency;
    let by_pos: BTreeMap<FnRef, usize> = ix.fns.iter().enumerate().map(|(i, r)| (*r, i)).collect();
    let mut need = vec![false; ix.fns.len()];
    if !files.iter().any(dependency) {
        need.fill(true);
        return need;
    }
    let mut work: Vec<usize> = Vec::new();
    for (i, r) in ix.fns.iter().enumerate() {
        if !dependency(&files[r.file]) {
            need[i] = true;
            work.push(i);
        }
    }
    // closures of a function are functions of their own in the same file, named below it
    let closures_of = |r: FnRef| -> Vec<FnRef> {
        let prefix = format!("{}::{{", files[r.file].items.fns[r.idx].path);
        (files[r.file].items.fns.iter().enumerate())
            .filter(|(_, f)| f.path.starts_with(&prefix))
            .map(|(idx, _)| FnRef { file: r.file, idx })
            .collect()
    };
    while let Some(i) = work.pop() {
        let r = ix.fns[i];
        let func = ix.func(files, r);
        let mut next: Vec<usize> = Vec::new();
        if dependency(&files[r.file]) {
            next.extend(closures_of(r).iter().filter_map(|c| by_pos.get(c)));
        }
        if let Some(body) = &func.body {
            for n in &body.nodes {
                let Op::Call { callee, .. } = &n.op else {
                    continue;
                };
                let res = crate::resolve::calls::resolve_call(ix, files, func, callee, &by_pos);
                next.extend(res.targets.iter().map(|t| t.flow));
            }
        }
        for j in next {
            if !need[j] {
                need[j] = true;
                work.push(j);
            }
        }
    }
    need
}
