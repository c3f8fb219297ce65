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
    let mut labels = Vec::new();
    let mut notes = vec![format!(
        "`{}` is an initial sequence number: {}",
        isn.target,
        if isn.target.ends_with("()") {
            "the name of the function says it makes a new one"
        } else if isn.only_random {
            "a sequence number set from a random value starts a sequence space"
        } else {
            "its name"
        }
    )];
    let message;
    let key_what;
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
    if !random.is_empty() {
        message = format!(
            "initial sequence number `{}` comes from a random source alone ({}) and can move backwards",
            isn.target,
            random
                .iter()
                .map(|w| format!("`{w}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        notes.push(
            "RFC 9293 (MUST-8) and RFC 6528: the ISN must follow a clock that advances \
                    monotonically, plus a keyed hash of the connection's 4-tuple; a random value \
                    alone can be lower than the previous ISN of the same connection"
                .into(),
        );
        key_what = format!("random:{}", random[0]);
    } else if let Some(h) = isn.sources.iter().find_map(|s| match s {
        IsnSource::Hash(w) => Some(w),
        _ => None,
    }) {
        let words: Vec<String> = isn
            .sources
            .iter()
            .filter_map(|s| match s {
                IsnSource::Hash(w) => Some(format!("`{w}`")),
                _ => None,
            })
            .collect();
        message = format!(
            "initial sequence number `{}` is a hash of the connection alone ({}), with no clock",
            isn.target,
            words.join(", ")
        );
        notes.push(
            "a keyed hash of the 4-tuple is the same for every incarnation of the connection; \
             RFC 6528 adds it to a clock that advances, and the clock is what keeps the ISN moving \
             forward (RFC 9293 MUST-8)"
                .into(),
        );
        key_what = format!("hash:{h}");
    } else if let Some(c) = constant {
        message = format!(
            "initial sequence number `{}` is the constant `{}`",
            isn.target,
            squash(c)
        );
        notes.push(
            "every connection starts at the same sequence number, so segments of an old \
             incarnation of the connection are taken for new ones"
                .into(),
        );
        key_what = "constant".into();
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
        for w in &writes {
            labels.push((w.span, format!("`{name}` moves backwards here: {}", w.how)));
        }
        message = format!(
            "initial sequence number `{}` comes from counter `{name}`, which can move backwards",
            isn.target
        );
        notes.push(
            "an ISN lower than the previous one for the same connection makes the peer take new \
             segments for old duplicates (RFC 9293 MUST-8)"
                .into(),
        );
        key_what = format!("counter:{name}");
    }
    Some(SeqFinding {
        lint: "isn_not_monotonic",
        span: isn.span,
        message,
        labels,
        notes,
        help:
            "derive the ISN from a clock that advances monotonically (RFC 9293: every 4 µs) plus \
               a keyed hash of the local and remote addresses and ports (RFC 6528)"
                .into(),
        fix_message: "clock plus keyed hash of the 4-tuple (fill in the clock and hash)".into(),
        edits: vec![Edit {
            span: isn.span,
            replacement: isn.fix.clone(),
        }],
        applicability: Applicability::HasPlaceholders,
        key: format!(
            "isn_not_monotonic:{}:{}:{key_what}",
            isn.fn_path, isn.target
        ),
    })
}
