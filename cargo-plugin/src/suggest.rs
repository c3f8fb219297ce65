//! "Did you mean …?": the closest of some names to a misspelled one.

/// Edit distance between two short strings.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate, if it is close enough to be a typo.
pub fn did_you_mean<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|c| (distance(name, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// The closest lint name (or `warnings`).
pub fn did_you_mean_lint(name: &str) -> Option<&'static str> {
    let mut names: Vec<&'static str> = lockstep_lints::all_metas().iter().map(|m| m.name).collect();
    names.push("warnings");
    did_you_mean(name, &names)
}

/// "unknown lint `written`" with a suggestion for `bare` (the name without `lockstep::`), or
/// a pointer to `cargo lockstep list`.
pub fn unknown_lint(written: &str, bare: &str) -> String {
    let mut msg = format!("unknown lint `{written}`");
    match did_you_mean_lint(bare) {
        Some(s) => msg.push_str(&format!("\n\nhelp: did you mean `{s}`?")),
        None => msg.push_str("\n\nhelp: `cargo lockstep list` prints every lint"),
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("dubble_lock", &["double_lock", "seq_arith"]),
            Some("double_lock")
        );
        assert_eq!(did_you_mean("zzz", &["double_lock"]), None);
        assert_eq!(did_you_mean_lint("warning"), Some("warnings"));
    }
}
