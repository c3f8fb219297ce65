//! Findings of initial sequence numbers that can move backwards.

use super::*;

pub(super) fn isn_finding(ix: &Index<'_>, isn: &IsnSite) -> Option<SeqFinding> {
    let has_clock = isn.sources.iter().any(|s| matches!(s, IsnSource::Clock(_)));
    let random: Vec<&String> = isn
        .sources
        .iter()
        .filter_map(|s| match s {
            IsnSource::Random(w) => Some(w),
            _ => None,
        })
        .collect();
    let constant = isn.sources.iter().find_map(|s| match s {
        IsnSource::Constant(c) => Some(c),
        _ => None,
    });
    let why = if isn.target.ends_with("()") {
        IsnWhy::FnName
    } else if isn.only_random {
        IsnWhy::RandomWrite
    } else {
        IsnWhy::Name
    };
    if has_clock || (isn.only_random && random.is_empty()) {
        return None;
    }
    if let Some(t) = &isn.target_val {
        if matches!(ix.kind(t, 0), Kind::NotSeq | Kind::Lit | Kind::Offset) {
            return None;
        }
    }
    if let Some(t) = isn.value_val.as_ref().and_then(|v| ix.type_of(v, 0)) {
        let capable = matches!(
            t.name.as_str(),
            "u32" | "i32" | "Wrapping" | "AtomicU32" | "AtomicI32"
        ) || ix.newtypes.contains_key(t.name.as_str());
        if !capable {
            return None;
        }
    }
    let hashes: Vec<String> = isn
        .sources
        .iter()
        .filter_map(|s| match s {
            IsnSource::Hash(w) => Some(w.clone()),
            _ => None,
        })
        .collect();
    let cause = if !random.is_empty() {
        IsnCause::Random(random.into_iter().cloned().collect())
    } else if !hashes.is_empty() {
        IsnCause::Hash(hashes)
    } else if let Some(c) = constant {
        IsnCause::Constant(squash(c))
    } else {
        let mut hit = None;
        for s in &isn.sources {
            if let IsnSource::Counter(name) = s {
                if let Some(ws) = ix.backward.get(name.as_str()) {
                    hit = Some((name.clone(), ws.clone()));
                    break;
                }
            }
        }
        let (name, writes) = hit?;
        IsnCause::Counter {
            name,
            writes: writes.iter().map(|w| (w.span, w.how.clone())).collect(),
        }
    };
    Some(SeqFinding {
        kind: SeqKind::Isn {
            target: isn.target.clone(),
            why,
            cause,
        },
        span: isn.span,
        path: isn.fn_path.clone(),
        by_name: false,
        counter: false,
        labels: Vec::new(),
        notes: Vec::new(),
        edits: vec![Edit {
            span: isn.span,
            replacement: isn.fix.clone(),
        }],
        applicability: Applicability::HasPlaceholders,
    })
}
