//! Which identifiers name TCP sequence numbers: whole-token matching on `_` / camelCase words.

/// Split an identifier into lowercase words on `_` and camelCase boundaries
/// (`sndUna` → `snd`, `una`; `TcpSeqNumber` → `tcp`, `seq`, `number`; `snd_wl1` → `snd`, `wl1`).
pub fn tokens(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in name.split('_').filter(|p| !p.is_empty()) {
        let chars: Vec<char> = part.chars().collect();
        let mut cur = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let boundary = c.is_uppercase()
                && i > 0
                && (chars[i - 1].is_lowercase()
                    || chars[i - 1].is_ascii_digit()
                    || chars.get(i + 1).is_some_and(|n| n.is_lowercase()));
            if boundary && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            cur.extend(c.to_lowercase());
        }
        if !cur.is_empty() {
            out.push(cur);
        }
    }
    out
}

/// Words that may follow a `seq` word in a sequence-number name (`seq_no`, `seq_nxt`, `end_seq`).
const SEQ_TAIL: &[&str] = &[
    "no", "num", "number", "nr", "nxt", "next", "sent", "end", "start", "max", "min", "una",
    "base", "first", "last", "lo", "hi", "left", "right", "recv", "rcvd", "acked", "id",
];

/// Words that may follow an `ack` word (`ack_no`, `ack_seq`, `last_ack`); anything else
/// (`ack_timer`, `ack_delay`, `ack_count`, `ack_pending`) is not a sequence number.
const ACK_TAIL: &[&str] = &[
    "no", "num", "number", "nr", "seq", "nxt", "next", "sent", "recv", "rcvd",
];

/// Words before `ack` that make it a counter or a flag (`dup_ack`, `delayed_ack`, `need_ack`).
const ACK_NOT_AFTER: &[&str] = &[
    "dup", "delayed", "delay", "need", "needs", "needed", "pending", "send", "should", "quick",
    "is", "has", "want", "wants", "num", "n", "count",
];

/// Exact multi-word names from RFC 9293 / RFC 6675 state variables.
const STATE_VARS: &[&[&str]] = &[
    &["snd", "una"],
    &["snd", "nxt"],
    &["snd", "wl1"],
    &["snd", "wl2"],
    &["snd", "max"],
    &["snd", "up"],
    &["rcv", "nxt"],
    &["rcv", "up"],
    &["high", "rxt"],
    &["high", "data"],
    &["high", "ack"],
    &["left", "edge"],
    &["right", "edge"],
    &["recover"],
];

/// Whether `name` (a field, local, parameter, method or type name) names a sequence number.
/// `extra` are configured names that always do, `ignore` names that never do.
pub fn is_seq_name(name: &str, extra: &[String], ignore: &[String]) -> bool {
    let bare = name.trim_start_matches("r#");
    if ignore.iter().any(|n| n == bare) {
        return false;
    }
    if extra.iter().any(|n| n == bare) {
        return true;
    }
    let t = tokens(bare);
    let t: Vec<&str> = t.iter().map(String::as_str).collect();
    if t.is_empty() {
        return false;
    }
    for sv in STATE_VARS {
        if t.len() >= sv.len() && &t[t.len() - sv.len()..] == *sv {
            // `recover` alone, or a prefix such as `old_snd_una`.
            if sv.len() > 1 || t.len() == 1 {
                return true;
            }
        }
    }
    for (i, w) in t.iter().enumerate() {
        let rest = &t[i + 1..];
        let hit = match *w {
            "isn" | "iss" | "irs" | "seqno" | "seqnum" | "ackno" | "acknum" => {
                rest.is_empty() || rest.iter().all(|r| SEQ_TAIL.contains(r))
            }
            "seq" => rest.iter().all(|r| SEQ_TAIL.contains(r)),
            "sequence" => {
                rest.first()
                    .is_some_and(|r| matches!(*r, "no" | "num" | "number" | "nr"))
                    && rest[1..].iter().all(|r| SEQ_TAIL.contains(r))
            }
            "ack" => {
                let before_ok = i == 0 || !ACK_NOT_AFTER.contains(&t[i - 1]);
                before_ok && rest.iter().all(|r| ACK_TAIL.contains(r))
            }
            "initial" => rest
                .first()
                .is_some_and(|r| *r == "seq" || *r == "sequence"),
            _ => false,
        };
        if hit {
            return true;
        }
    }
    false
}

/// A collection name that mentions sequence numbers anywhere (`by_seq`, `seq_map`, `acked_seqs`).
pub fn mentions_seq(name: &str) -> bool {
    tokens(name).iter().any(|w| {
        matches!(
            w.as_str(),
            "seq" | "seqs" | "seqno" | "seqnos" | "seqnum" | "acks"
        )
    })
}

/// A type name that reads as a sequence-number type (`SeqNumber`, `TcpSeqNumber`, `Seq`,
/// `SeqNo`, `SequenceNumber`, `WrappingSeq`).
pub fn is_seq_type_name(name: &str, extra: &[String], ignore: &[String]) -> bool {
    if ignore.iter().any(|n| n == name) {
        return false;
    }
    if extra.iter().any(|n| n == name) {
        return true;
    }
    // `Seq32`, `SeqNum32`: a width suffix does not change the meaning.
    let t: Vec<String> = tokens(name)
        .into_iter()
        .map(|w| {
            let trimmed = w.trim_end_matches(|c: char| c.is_ascii_digit());
            if trimmed.is_empty() || trimmed == "u" || trimmed == "i" {
                w
            } else {
                trimmed.to_string()
            }
        })
        .filter(|w| !matches!(w.as_str(), "u32" | "i32" | "32"))
        .collect();
    let t: Vec<&str> = t.iter().map(String::as_str).collect();
    for (i, w) in t.iter().enumerate() {
        let rest = &t[i + 1..];
        let hit = match *w {
            "seq" | "seqno" | "seqnum" | "isn" => rest.iter().all(|r| SEQ_TAIL.contains(r)),
            "sequence" => {
                rest.iter()
                    .all(|r| matches!(*r, "no" | "num" | "number" | "nr"))
                    && !rest.is_empty()
            }
            _ => false,
        };
        if hit {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: &str) -> bool {
        is_seq_name(n, &[], &[])
    }

    #[test]
    fn tokenizes_camel_and_snake() {
        assert_eq!(tokens("sndUna"), ["snd", "una"]);
        assert_eq!(tokens("TcpSeqNumber"), ["tcp", "seq", "number"]);
        assert_eq!(tokens("snd_wl1"), ["snd", "wl1"]);
        assert_eq!(tokens("ISN"), ["isn"]);
    }

    #[test]
    fn sequence_names() {
        for n in [
            "seq",
            "seq_no",
            "seq_number",
            "seqno",
            "ack",
            "ack_number",
            "ack_no",
            "isn",
            "iss",
            "irs",
            "snd_una",
            "snd_nxt",
            "snd_wl1",
            "snd_wl2",
            "snd_max",
            "rcv_nxt",
            "recover",
            "high_rxt",
            "left_edge",
            "right_edge",
            "start_seq",
            "end_seq",
            "remote_seq_no",
            "local_seq_no",
            "last_ack",
            "seqNum",
            "initial_seq",
            "sequence_number",
            "max_seq_sent",
        ] {
            assert!(s(n), "{n} should be a sequence number");
        }
    }

    #[test]
    fn not_sequence_names() {
        for n in [
            "sequence_len",
            "ack_timer",
            "ack_delay",
            "acked_bytes",
            "seq_len",
            "max_seq_len",
            "ack_count",
            "ack_pending",
            "ack_needed",
            "dup_ack",
            "sequence",
            "recovery",
            "seq_map",
            "unacked",
            "window",
            "len",
            "delayed_ack",
            "recover_timer",
        ] {
            assert!(!s(n), "{n} should not be a sequence number");
        }
    }

    #[test]
    fn config_extends_and_ignores() {
        assert!(is_seq_name("cursor", &["cursor".into()], &[]));
        assert!(!is_seq_name("seq", &[], &["seq".into()]));
    }

    #[test]
    fn type_names() {
        for n in [
            "SeqNumber",
            "TcpSeqNumber",
            "Seq",
            "SeqNo",
            "SequenceNumber",
            "WrappingSeq",
            "Seq32",
            "SeqU32",
        ] {
            assert!(is_seq_type_name(n, &[], &[]), "{n}");
        }
        for n in ["SequenceLen", "SeqLen", "Segment", "Sequence"] {
            assert!(!is_seq_type_name(n, &[], &[]), "{n}");
        }
    }
}
