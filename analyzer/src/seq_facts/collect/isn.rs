//! Initial sequence numbers: the names that mark them, the sources they are computed from and
//! the sites where one is set.

use super::*;

/// A name that marks an initial sequence number (`isn`, `iss`, `initial_seq`, `gen_iss`).
pub(super) fn is_isn_name(name: &str) -> bool {
    let t = names::tokens(name);
    t.iter().any(|w| w == "isn" || w == "iss")
        || t.windows(2)
            .any(|w| w[0] == "initial" && (w[1] == "seq" || w[1] == "sequence"))
}

/// A function that makes a fresh sequence number: `gen_isn`, `initial_seq`, `random_seq_no`,
/// `generate_iss`.
pub(super) fn is_isn_fn_name(name: &str) -> bool {
    if is_isn_name(name) {
        return true;
    }
    let t = names::tokens(name);
    let seq = t
        .iter()
        .any(|w| matches!(w.as_str(), "seq" | "seqno" | "seqnum" | "sequence"));
    let fresh = t.iter().any(|w| {
        matches!(
            w.as_str(),
            "random" | "rand" | "gen" | "generate" | "initial" | "fresh" | "pick" | "choose"
        )
    });
    seq && fresh
}

/// The state an ISN generator keeps (`isn_counter`, `iss_seed`), not an ISN itself.
fn is_isn_state_name(name: &str) -> bool {
    names::tokens(name).last().is_some_and(|w| {
        matches!(
            w.as_str(),
            "counter"
                | "cnt"
                | "count"
                | "seed"
                | "secret"
                | "key"
                | "clock"
                | "timer"
                | "rng"
                | "state"
                | "generator"
                | "gen"
                | "offset"
                | "hasher"
        )
    })
}

pub(super) fn classify_source_word(word: &str) -> Option<IsnSource> {
    let lw = word.to_ascii_lowercase();
    let toks = names::tokens(word);
    let has = |w: &str| toks.iter().any(|t| t == w);
    if matches!(
        lw.as_str(),
        "random"
            | "gen"
            | "gen_range"
            | "next_u32"
            | "next_u64"
            | "fill_bytes"
            | "getrandom"
            | "thread_rng"
            | "osrng"
            | "smallrng"
            | "stdrng"
            | "try_fill_bytes"
            | "random_range"
            | "fastrand"
            | "rand"
    ) || has("rng")
        || has("rand")
        || has("random")
    {
        return Some(IsnSource::Random(word.to_string()));
    }
    if matches!(
        lw.as_str(),
        "now"
            | "instant"
            | "systemtime"
            | "elapsed"
            | "clock"
            | "ticks"
            | "tick"
            | "jiffies"
            | "timestamp"
            | "as_micros"
            | "as_millis"
            | "as_nanos"
            | "uptime"
            | "monotonic"
            | "cycles"
            | "total_micros"
            | "total_millis"
            | "get_time"
            | "time"
    ) || has("clock")
        || has("ticks")
        || has("jiffies")
        || has("timestamp")
        || has("now")
    {
        return Some(IsnSource::Clock(word.to_string()));
    }
    if matches!(
        lw.as_str(),
        "hash"
            | "hasher"
            | "siphasher"
            | "siphash"
            | "siphasher13"
            | "siphasher24"
            | "hmac"
            | "secret"
            | "md5"
            | "sha256"
            | "sha1"
            | "digest"
            | "keyed_hash"
            | "finish"
    ) || has("hash")
        || has("secret")
        || has("hasher")
    {
        return Some(IsnSource::Hash(word.to_string()));
    }
    None
}

impl Collector<'_> {
    /// Every source word an expression reads, following locals to their initializers.
    pub(super) fn isn_sources(&self, e: &syn::Expr) -> Vec<IsnSource> {
        let mut out = Vec::new();
        let mut only_const = true;
        self.sources_rec(e, &mut out, &mut only_const, 0);
        if only_const {
            out.push(IsnSource::Constant(self.text(e)));
        }
        out.sort();
        out.dedup();
        out
    }

    pub(super) fn sources_rec(
        &self,
        e: &syn::Expr,
        out: &mut Vec<IsnSource>,
        only_const: &mut bool,
        d: usize,
    ) {
        if d > 32 {
            *only_const = false;
            return;
        }
        let d = d + 1;
        let word = |w: &str, out: &mut Vec<IsnSource>| {
            if let Some(s) = classify_source_word(w) {
                out.push(s);
            }
        };
        match e {
            syn::Expr::Lit(_) => {}
            syn::Expr::Path(p) => {
                let segs: Vec<String> = p
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect();
                for s in &segs {
                    word(s, out);
                }
                if segs.len() == 1 {
                    if let Some(l) = self.lookup(&segs[0]) {
                        if l.sources
                            .iter()
                            .any(|s| !matches!(s, IsnSource::Constant(_)))
                        {
                            *only_const = false;
                        }
                        out.extend(
                            l.sources
                                .iter()
                                .filter(|s| !matches!(s, IsnSource::Constant(_)))
                                .cloned(),
                        );
                        if l.init.is_none() && l.sources.is_empty() {
                            *only_const = false;
                        }
                        return;
                    }
                    let n = &segs[0];
                    if n.chars()
                        .all(|c| c.is_uppercase() || c == '_' || c.is_ascii_digit())
                    {
                        // A constant, or a static counter: both are recorded.
                        out.push(IsnSource::Counter(n.clone()));
                        return;
                    }
                }
                let last = segs.last().map(String::as_str).unwrap_or("");
                if !last
                    .chars()
                    .all(|c| c.is_uppercase() || c == '_' || c.is_ascii_digit())
                {
                    *only_const = false;
                }
            }
            syn::Expr::Field(f) => {
                *only_const = false;
                if let syn::Member::Named(n) = &f.member {
                    let n = n.to_string();
                    word(&n, out);
                    out.push(IsnSource::Counter(n));
                }
                self.sources_rec(&f.base, out, &mut true, d);
            }
            syn::Expr::MethodCall(m) => {
                *only_const = false;
                word(&m.method.to_string(), out);
                self.sources_rec(&m.receiver, out, &mut true, d);
                for a in &m.args {
                    self.sources_rec(a, out, &mut true, d);
                }
            }
            syn::Expr::Call(c) => {
                *only_const = false;
                self.sources_rec(&c.func, out, &mut true, d);
                for a in &c.args {
                    self.sources_rec(a, out, &mut true, d);
                }
            }
            syn::Expr::Macro(m) => {
                *only_const = false;
                if let Some(s) = m.mac.path.segments.last() {
                    word(&s.ident.to_string(), out);
                }
            }
            syn::Expr::Binary(b) => {
                self.sources_rec(&b.left, out, only_const, d);
                self.sources_rec(&b.right, out, only_const, d);
            }
            syn::Expr::Unary(u) => self.sources_rec(&u.expr, out, only_const, d),
            syn::Expr::Paren(p) => self.sources_rec(&p.expr, out, only_const, d),
            syn::Expr::Group(p) => self.sources_rec(&p.expr, out, only_const, d),
            syn::Expr::Cast(p) => self.sources_rec(&p.expr, out, only_const, d),
            syn::Expr::Reference(p) => self.sources_rec(&p.expr, out, only_const, d),
            syn::Expr::Try(p) => self.sources_rec(&p.expr, out, only_const, d),
            syn::Expr::Block(b) => {
                if let Some(t) = tail_expr(&b.block) {
                    self.sources_rec(t, out, only_const, d);
                } else {
                    *only_const = false;
                }
            }
            _ => *only_const = false,
        }
    }

    /// `target_val` is the place written, when it can be told.
    pub(super) fn isn_site_at(&mut self, target: &str, e: &syn::Expr, target_val: Option<Val>) {
        if is_isn_state_name(target) || self.in_test {
            return;
        }
        if !is_isn_name(target) {
            // A random value written straight into a sequence number is an initial one.
            let direct = direct_random(e);
            if direct.is_empty() || mentions_narrow_int(e) {
                return;
            }
            // `(rng.next_u32() & 0xff) as u8`: a narrower sequence space (802.15.4, DNS ids).
            if let syn::Expr::Cast(c) = strip(e) {
                let t = type_ref(&c.ty);
                if !matches!(t.name.as_str(), "u32" | "i32") {
                    return;
                }
            }
            let mut sources = self.isn_sources(e);
            sources.retain(|s| !matches!(s, IsnSource::Constant(_)));
            self.facts.isn_sites.push(IsnSite {
                target: target.to_string(),
                span: self.span(e),
                fn_path: self.fn_path.clone(),
                sources,
                text: self.text(e),
                fix: fix::isn_value(),
                only_random: true,
                target_val,
                value_val: Some(self.val(e, 0)),
            });
            return;
        }
        self.isn_site_with(target, e, Vec::new());
    }

    pub(super) fn isn_site_with(&mut self, target: &str, e: &syn::Expr, extra: Vec<IsnSource>) {
        // `next_iss = next_iss.wrapping_add(n)` updates the generator's state; the ISN is
        // where that state is read.
        if self
            .isn_sources(e)
            .iter()
            .any(|s| matches!(s, IsnSource::Counter(c) if c == target))
        {
            return;
        }
        // `self.iss = iss;` after `let iss = …;`: the value was judged where it was computed.
        if let syn::Expr::Path(p) = strip(e) {
            if let Some(id) = p.path.get_ident() {
                let n = id.to_string();
                if is_isn_name(&n) && self.lookup(&n).is_some() {
                    return;
                }
            }
        }
        let mut sources = self.isn_sources(e);
        if !extra.is_empty() {
            sources.retain(|s| !matches!(s, IsnSource::Constant(_)));
            sources.extend(extra);
            sources.sort();
            sources.dedup();
        }
        self.facts.isn_sites.push(IsnSite {
            target: target.to_string(),
            span: self.span(e),
            fn_path: self.fn_path.clone(),
            sources,
            text: self.text(e),
            fix: fix::isn_value(),
            only_random: false,
            target_val: None,
            value_val: None,
        });
    }
}

/// The expression names an integer type narrower than 32 bits (`rand::random::<u16>()`,
/// `AtomicU16::new(..)`): a different sequence space (RTP, 802.15.4).
pub(super) fn mentions_narrow_int(e: &syn::Expr) -> bool {
    fn walk(ts: proc_macro2::TokenStream) -> bool {
        ts.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => matches!(
                i.to_string().as_str(),
                "u8" | "u16" | "i8" | "i16" | "AtomicU8" | "AtomicU16" | "AtomicI8" | "AtomicI16"
            ),
            proc_macro2::TokenTree::Group(g) => walk(g.stream()),
            _ => false,
        })
    }
    walk(e.to_token_stream())
}

/// Random-source words written in the expression itself (not through locals).
pub(super) fn direct_random(e: &syn::Expr) -> Vec<String> {
    fn walk(ts: proc_macro2::TokenStream, out: &mut Vec<String>) {
        let mut skip_args = false;
        for t in ts {
            match t {
                proc_macro2::TokenTree::Ident(i) => {
                    let w = i.to_string();
                    // Calls of an ISN generator are judged at the generator, arguments
                    // (the RNG handed to it) included.
                    skip_args = is_isn_fn_name(&w);
                    if !skip_args && matches!(classify_source_word(&w), Some(IsnSource::Random(_)))
                    {
                        out.push(w);
                    }
                }
                proc_macro2::TokenTree::Group(g) => {
                    if !std::mem::take(&mut skip_args) {
                        walk(g.stream(), out);
                    }
                }
                _ => skip_args = false,
            }
        }
    }
    let mut out = Vec::new();
    walk(e.to_token_stream(), &mut out);
    out
}
