//! `isn_not_monotonic`: an initial sequence number that can move backwards.

use crate::seq_common::{report, Words};
use crate::{Lint, LintContext, LintMeta};
use lockstep_analyzer::seq::{IsnCause, IsnWhy, SeqCheck, SeqFinding, SeqKind};
use lockstep_analyzer::Diagnostic;
#[cfg(test)]
use lockstep_analyzer::Level;

declare_lint! {
    /// ## What it does
    /// Looks at every initial sequence number: a value assigned to a field or local named
    /// `isn`, `iss` or `initial_seq*`, and the value returned by a function named like
    /// `gen_isn`, `gen_iss` or `initial_seq*`. It reports one taken from a random source alone
    /// (`rand::random()`, `rng.gen()`, `next_u32()`, `getrandom`, `OsRng`), a keyed hash of the
    /// connection without a clock, a constant, or a counter that moves backwards somewhere
    /// (`-=`, `wrapping_sub`, a reset to 0). A value that includes a clock (`Instant::now()`,
    /// ticks, jiffies, a timestamp) is accepted. A random value written straight into any
    /// sequence number (`snd_nxt = rng.next_u32()`) is taken for an initial one too.
    ///
    /// ## Why is this bad?
    /// RFC 9293 (MUST-8) requires the ISN to be driven by a clock so that a new incarnation of
    /// a connection starts above the old one; RFC 6528 adds a keyed hash of the connection's
    /// addresses and ports so it cannot be guessed. A purely random ISN can land below the
    /// current one, and the peer then takes new segments for old duplicates: after a change to
    /// random ISNs, Windows NT 4.0 programs stopped connecting and traces showed segments out
    /// of order (KB Q228811). A constant ISN makes every incarnation collide.
    ///
    /// ## Known problems
    /// Sources are recognized by the names of the functions, methods and fields read, with
    /// locals followed to their initializers inside the function. A clock that is not named as
    /// one is not recognized; add the ISN function to the allow list with a reason. A clock
    /// without a keyed hash is accepted: it moves forward (RFC 793's generator), although it is
    /// predictable (RFC 6528). Test code (`#[cfg(test)]`, `#[test]`) is not checked: tests pick
    /// fixed ISNs on purpose.
    ///
    /// ## Example
    /// ```rust,ignore
    /// let iss: u32 = rand::random();
    /// ```
    /// Use instead:
    /// ```rust,ignore
    /// let iss = clock_ticks(now).wrapping_add(keyed_hash(&secret, local, remote));
    /// ```
    pub ISN_NOT_MONOTONIC, "isn_not_monotonic", Warn, "an initial sequence number that can move backwards"
}

pub struct IsnNotMonotonic;

impl Lint for IsnNotMonotonic {
    fn meta(&self) -> &'static LintMeta {
        &ISN_NOT_MONOTONIC
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
        report(cx, &ISN_NOT_MONOTONIC, SeqCheck::Isn, words, out);
    }
}

fn words(f: &SeqFinding) -> Words {
    let SeqKind::Isn { target, why, cause } = &f.kind else {
        unreachable!("not an initial sequence number finding: {:?}", f.kind)
    };
    let quoted = |ws: &[String]| {
        ws.iter()
            .map(|w| format!("`{w}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (message, note, key, labels) = match cause {
        IsnCause::Random(ws) => (
            format!(
                "initial sequence number `{target}` comes from a random source alone ({}) and can move backwards",
                quoted(ws)
            ),
            "RFC 9293 (MUST-8) and RFC 6528: the ISN must follow a clock that advances \
             monotonically, plus a keyed hash of the connection's 4-tuple; a random value \
             alone can be lower than the previous ISN of the same connection",
            format!("random:{}", ws[0]),
            Vec::new(),
        ),
        IsnCause::Hash(ws) => (
            format!(
                "initial sequence number `{target}` is a hash of the connection alone ({}), with no clock",
                quoted(ws)
            ),
            "a keyed hash of the 4-tuple is the same for every incarnation of the connection; \
             RFC 6528 adds it to a clock that advances, and the clock is what keeps the ISN moving \
             forward (RFC 9293 MUST-8)",
            format!("hash:{}", ws[0]),
            Vec::new(),
        ),
        IsnCause::Constant(c) => (
            format!("initial sequence number `{target}` is the constant `{c}`"),
            "every connection starts at the same sequence number, so segments of an old \
             incarnation of the connection are taken for new ones",
            "constant".to_string(),
            Vec::new(),
        ),
        IsnCause::Counter { name, writes } => (
            format!(
                "initial sequence number `{target}` comes from counter `{name}`, which can move backwards"
            ),
            "an ISN lower than the previous one for the same connection makes the peer take new \
             segments for old duplicates (RFC 9293 MUST-8)",
            format!("counter:{name}"),
            writes
                .iter()
                .map(|(span, how)| (*span, format!("`{name}` moves backwards here: {how}")))
                .collect(),
        ),
    };
    let why = match why {
        IsnWhy::FnName => "the name of the function says it makes a new one",
        IsnWhy::RandomWrite => "a sequence number set from a random value starts a sequence space",
        IsnWhy::Name => "its name",
    };
    let mut w = Words::new(
        message,
        "derive the ISN from a clock that advances monotonically (RFC 9293: every 4 µs) plus \
         a keyed hash of the local and remote addresses and ports (RFC 6528)",
        "clock plus keyed hash of the 4-tuple (fill in the clock and hash)",
        format!("{target}:{key}"),
    );
    w.labels = labels;
    w.notes = vec![
        format!("`{target}` is an initial sequence number: {why}"),
        note.to_string(),
    ];
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{assert_message, check, Tester};

    #[test]
    fn random_alone_is_reported_with_its_source() {
        let d = check(
            &IsnNotMonotonic,
            "fn connect() -> u32 { let iss: u32 = rand::random(); iss }",
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(d[0].message.contains("`random`"), "{}", d[0].message);
        assert_eq!(d[0].level, Level::Warn);
    }

    #[test]
    fn clock_plus_hash_is_fine() {
        let d = check(
            &IsnNotMonotonic,
            "fn gen_iss(now: Instant, secret: &Key, t: &Tuple) -> u32 {\n\
                 ticks(now).wrapping_add(siphash(secret, t)) }",
        );
        assert!(d.is_empty(), "{d:#?}");
    }

    const COUNTER: &str = "struct Stack { isn_counter: u32 }
impl Stack {
    fn gen_isn(&mut self) -> u32 { self.isn_counter = self.isn_counter.wrapping_add(64000); self.isn_counter }
    fn reset(&mut self) { self.isn_counter -= 1; }
}";

    #[test]
    fn vectors() {
        Tester::new(&IsnNotMonotonic)
            .pass(&[
                // a clock plus a keyed hash (RFC 6528)
                "fn gen_iss(now: Instant, secret: &Key, t: &Tuple) -> u32 { ticks(now).wrapping_add(siphash(secret, t)) }",
                // a clock alone moves forward
                "fn gen_iss(now: Instant) -> u32 { ticks(now) }",
                // tests pick fixed ISNs on purpose
                "#[cfg(test)] mod tests { fn t() -> u32 { let iss: u32 = 1000; iss } }",
                // a counter that only moves forward
                "struct Stack { isn_counter: u32 }
                impl Stack { fn gen_isn(&mut self) -> u32 { self.isn_counter = self.isn_counter.wrapping_add(64000); self.isn_counter } }",
            ])
            .fail(&[
                COUNTER,
                "fn connect() -> u32 { let iss: u32 = rand::random(); iss }",
                "struct Tcb { iss: u32 }
                fn open() -> Tcb { Tcb { iss: 1000 } }",
                "fn gen_iss(secret: &Key, t: &Tuple) -> u32 { siphash(secret, t) }",
                "struct Tcb { snd_nxt: u32 }
                impl Tcb { fn open(&mut self, rng: &mut Rng) { self.snd_nxt = rng.next_u32(); } }",
            ])
            .run();
    }

    #[test]
    fn message() {
        assert_message(
            &IsnNotMonotonic,
            COUNTER,
            &[
                "warn[isn_not_monotonic]: initial sequence number `gen_isn()` comes from counter `isn_counter`, which can move backwards",
                "  --> 3:93 `self.isn_counter`: ",
                "   - 4:27 `self.isn_counter -= 1`: `isn_counter` moves backwards here: `self.isn_counter -= 1`",
                "  note: `gen_isn()` is an initial sequence number: the name of the function says it makes a new one",
                "  note: an ISN lower than the previous one for the same connection makes the peer take new segments for old duplicates (RFC 9293 MUST-8)",
                "  help: derive the ISN from a clock that advances monotonically (RFC 9293: every 4 µs) plus a keyed hash of the local and remote addresses and ports (RFC 6528)",
                "  fix (HasPlaceholders): clock plus keyed hash of the 4-tuple (fill in the clock and hash)",
                "    3:93 `self.isn_counter` => `clock_ticks()",
                "    .wrapping_add(",
                "        keyed_hash(&secret, local_addr, local_port, remote_addr, remote_port),",
                "    )`",
                "  key: isn_not_monotonic:crate::Stack::gen_isn:gen_isn():counter:isn_counter",
            ],
        );
    }
}
