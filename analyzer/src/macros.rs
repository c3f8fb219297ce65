//! `macro_rules!` expansion for the lowering.
//!
//! Definitions are kept as plain data ([`MacroDef`]) so they can cross files and the cache.
//! An invocation is matched arm by arm: literal tokens, fragments parsed with syn from a
//! `ParseStream` (`expr`, `ident`, `ty`, `tt`, `block`, `stmt`, `pat`, `pat_param`, `path`,
//! `literal`, `lifetime`, `vis`, `item`, `meta`) and repetitions `$( … ) sep? op`, matched
//! greedily (a repetition stops at the first iteration that does not match; there is no
//! backtracking into it). The first arm that matches is transcribed and the result re-parsed
//! for the call position (expression, statements, items, impl items).
//!
//! Spans: tokens that come from the call's input keep their spans; tokens written in the
//! definition (possibly in another file) get the span of the invocation's path, so whatever
//! the expansion does is reported at the call site.
//!
//! Scope is approximated: every `macro_rules!` of the crate is visible everywhere in it, by
//! name. When several definitions share a name, the first one in the calling file wins, else
//! the first one when they are all in one file (variants under different `cfg`s); definitions
//! in several other files and none in the calling file make the invocation opaque. No hygiene: names bound
//! by the expansion are seen as if written at the call site.
//!
//! Expansion is bounded: nesting depth [`MAX_DEPTH`], expansions under one invocation written
//! in the source [`MAX_EXPANSIONS`], tokens per expansion [`MAX_TOKENS`]. A call past a bound, or one that no
//! arm matches, is treated as an opaque macro (and counted).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

use proc_macro2::{Delimiter, Group, Ident, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::discouraged::Speculative;
use syn::parse::{ParseStream, Parser};

use crate::source::FileId;

/// Deepest nesting of expansions (a macro expanding to a call of a macro …).
pub const MAX_DEPTH: u32 = 64;
/// Expansions under one invocation written in the source, so that a macro calling itself
/// twice cannot blow up exponentially.
pub const MAX_EXPANSIONS: u32 = 1024;
/// Tokens one expansion may produce.
pub const MAX_TOKENS: usize = 50_000;

/// A delimiter as plain data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Delim {
    Paren,
    Brace,
    Bracket,
    None,
}

/// One token tree of a definition, without spans.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Tok {
    Ident(String),
    /// A punctuation character; `true` when joined to the next one (`=>`).
    Punct(char, bool),
    Lit(String),
    Group(Delim, Vec<Tok>),
}

/// How often a repetition may occur.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RepOp {
    /// `*`
    Many,
    /// `+`
    Some,
    /// `?`
    Opt,
}

/// A fragment kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Frag {
    Expr,
    Ident,
    Ty,
    Tt,
    Block,
    Stmt,
    Pat,
    PatParam,
    Path,
    Literal,
    Lifetime,
    Vis,
    Item,
    Meta,
}

impl Frag {
    fn parse(s: &str) -> Option<Frag> {
        Some(match s {
            "expr" | "expr_2021" => Frag::Expr,
            "ident" => Frag::Ident,
            "ty" => Frag::Ty,
            "tt" => Frag::Tt,
            "block" => Frag::Block,
            "stmt" => Frag::Stmt,
            "pat" => Frag::Pat,
            "pat_param" => Frag::PatParam,
            "path" => Frag::Path,
            "literal" => Frag::Literal,
            "lifetime" => Frag::Lifetime,
            "vis" => Frag::Vis,
            "item" => Frag::Item,
            "meta" => Frag::Meta,
            _ => return None,
        })
    }
}

/// One element of an arm's matcher.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Pat {
    /// A literal token (never a group).
    Tok(Tok),
    Group(Delim, Vec<Pat>),
    Frag(String, Frag),
    Rep(Vec<Pat>, Vec<Tok>, RepOp),
}

/// One element of an arm's transcriber.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Tr {
    Tok(Tok),
    Group(Delim, Vec<Tr>),
    Var(String),
    /// `$crate`
    Crate,
    Rep(Vec<Tr>, Vec<Tok>, RepOp),
}

/// `(matcher) => { transcriber }`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Rule {
    pub matcher: Vec<Pat>,
    pub body: Vec<Tr>,
}

/// A `macro_rules!` definition.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct MacroDef {
    pub name: String,
    pub file: FileId,
    pub rules: Vec<Rule>,
}

/// What one file contributes to and needs from macro expansion.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileMacros {
    /// The `macro_rules!` definitions written in the file.
    pub defs: Vec<MacroDef>,
    /// Names of invoked macros with no definition in the crate when the file was lowered
    /// (sorted, unique): the file must be lowered again when the crate defines one of them.
    pub foreign: Vec<String>,
    /// Macros of other files this lowering depended on: name and the hash of the definition
    /// used (0: ambiguous, several definitions). With `foreign`, what decides whether a
    /// stored lowering is still valid under another table ([`FileMacros::valid_under`]).
    pub used: Vec<(String, u64)>,
    /// Invocations expanded.
    pub expanded: u32,
    /// Invocations of a known definition that could not be expanded (no arm matched, a bound
    /// was hit, the expansion did not parse).
    pub failed: u32,
}

impl FileMacros {
    /// Whether a lowering that recorded these dependencies would come out the same with
    /// `table` (plus the file's own definitions).
    pub fn valid_under(&self, table: &MacroTable, file: FileId) -> bool {
        let own = |n: &str| self.defs.iter().any(|d| d.name == n);
        self.used
            .iter()
            .all(|(n, h)| own(n) || table.resolve_hash(n, file) == Some(*h))
            && self
                .foreign
                .iter()
                .all(|n| own(n) || table.resolve_hash(n, file).is_none())
    }
}

fn def_hash(d: &MacroDef) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    d.name.hash(&mut h);
    d.rules.hash(&mut h);
    h.finish().max(1)
}

/// The definitions visible to one file, by name.
#[derive(Clone, Debug, Default)]
pub struct MacroTable {
    by_name: BTreeMap<String, Vec<Arc<MacroDef>>>,
}

impl MacroTable {
    pub fn new() -> MacroTable {
        MacroTable::default()
    }

    pub fn add(&mut self, def: Arc<MacroDef>) {
        let v = self.by_name.entry(def.name.clone()).or_default();
        if !v.iter().any(|d| **d == *def) {
            v.push(def);
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The definition an invocation in `file` uses: the calling file's own, else the only one.
    fn pick(&self, name: &str, file: FileId) -> Option<Arc<MacroDef>> {
        let v = self.by_name.get(name)?;
        let local: Vec<&Arc<MacroDef>> = v.iter().filter(|d| d.file == file).collect();
        match (local.as_slice(), v.as_slice()) {
            ([d, ..], _) => Some(Arc::clone(d)),
            (_, [d]) => Some(Arc::clone(d)),
            // variants of one macro under different `cfg`s, in one file: the first
            (_, [d, rest @ ..]) if rest.iter().all(|r| r.file == d.file) => Some(Arc::clone(d)),
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// What an invocation of `name` in `file` resolves to: the hash of the definition picked,
    /// 0 when ambiguous, `None` when there is no definition.
    pub fn resolve_hash(&self, name: &str, file: FileId) -> Option<u64> {
        if !self.by_name.contains_key(name) {
            return None;
        }
        Some(self.pick(name, file).map(|d| def_hash(&d)).unwrap_or(0))
    }

    /// Definitions of other files, for the next files of the same unit.
    pub fn add_all(&mut self, defs: &[MacroDef]) {
        for d in defs {
            self.add(Arc::new(d.clone()));
        }
    }
}

// ---- definitions --------------------------------------------------------------------------

fn delim(d: Delimiter) -> Delim {
    match d {
        Delimiter::Parenthesis => Delim::Paren,
        Delimiter::Brace => Delim::Brace,
        Delimiter::Bracket => Delim::Bracket,
        Delimiter::None => Delim::None,
    }
}

fn delimiter(d: Delim) -> Delimiter {
    match d {
        Delim::Paren => Delimiter::Parenthesis,
        Delim::Brace => Delimiter::Brace,
        Delim::Bracket => Delimiter::Bracket,
        Delim::None => Delimiter::None,
    }
}

/// Token trees as plain data.
pub fn toks(ts: TokenStream) -> Vec<Tok> {
    let mut v: Vec<Tok> = ts
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Ident(i) => Tok::Ident(i.to_string()),
            TokenTree::Punct(p) => Tok::Punct(p.as_char(), p.spacing() == Spacing::Joint),
            TokenTree::Literal(l) => Tok::Lit(l.to_string()),
            TokenTree::Group(g) => Tok::Group(delim(g.delimiter()), toks(g.stream())),
        })
        .collect();
    // a punctuation joined to a `$` is joined to nothing once the variable is substituted
    for i in 1..v.len() {
        if matches!(v[i], Tok::Punct('$', _)) {
            if let Tok::Punct(_, j) = &mut v[i - 1] {
                *j = false;
            }
        }
    }
    v
}

/// A `macro_rules! name { … }` item as a definition; `None` when it is not one or its arms
/// cannot be read.
pub fn definition(m: &syn::ItemMacro, file: FileId) -> Option<MacroDef> {
    if !m.mac.path.is_ident("macro_rules") {
        return None;
    }
    let name = m.ident.as_ref()?.to_string();
    let rules = parse_rules(&toks(m.mac.tokens.clone()))?;
    Some(MacroDef { name, file, rules })
}

fn parse_rules(t: &[Tok]) -> Option<Vec<Rule>> {
    let mut rules = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let Tok::Group(_, m) = &t[i] else {
            return None;
        };
        if t.get(i + 1) != Some(&Tok::Punct('=', true))
            || t.get(i + 2) != Some(&Tok::Punct('>', false))
        {
            return None;
        }
        let Some(Tok::Group(_, b)) = t.get(i + 3) else {
            return None;
        };
        rules.push(Rule {
            matcher: parse_matcher(m)?,
            body: parse_transcriber(b)?,
        });
        i += 4;
        if t.get(i) == Some(&Tok::Punct(';', false)) {
            i += 1;
        }
    }
    if rules.is_empty() {
        None
    } else {
        Some(rules)
    }
}

/// After a `$( … )`: the separator (possibly empty) and the operator; the index after them.
fn rep_tail(t: &[Tok], mut i: usize) -> Option<(Vec<Tok>, RepOp, usize)> {
    let op = |t: &Tok| match t {
        Tok::Punct('*', _) => Some(RepOp::Many),
        Tok::Punct('+', _) => Some(RepOp::Some),
        Tok::Punct('?', _) => Some(RepOp::Opt),
        _ => None,
    };
    if let Some(o) = t.get(i).and_then(op) {
        return Some((Vec::new(), o, i + 1));
    }
    // a separator: one token (a joined punctuation sequence counts as one)
    let mut sep = Vec::new();
    loop {
        let tok = t.get(i)?.clone();
        i += 1;
        let joint = matches!(tok, Tok::Punct(_, true));
        if matches!(tok, Tok::Group(..)) {
            return None;
        }
        sep.push(tok);
        let op_next = matches!(t.get(i), Some(Tok::Punct('*' | '+' | '?', _)));
        if !joint || op_next {
            break;
        }
    }
    if let Some(Tok::Punct(_, j)) = sep.last_mut() {
        *j = false;
    }
    let o = t.get(i).and_then(op)?;
    if o == RepOp::Opt {
        return None;
    }
    Some((sep, o, i + 1))
}

fn parse_matcher(t: &[Tok]) -> Option<Vec<Pat>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        match &t[i] {
            Tok::Punct('$', _) => match t.get(i + 1) {
                Some(Tok::Ident(name)) => {
                    if t.get(i + 2) != Some(&Tok::Punct(':', false)) {
                        return None;
                    }
                    let Some(Tok::Ident(kind)) = t.get(i + 3) else {
                        return None;
                    };
                    out.push(Pat::Frag(name.clone(), Frag::parse(kind)?));
                    i += 4;
                }
                Some(Tok::Group(Delim::Paren, inner)) => {
                    let (sep, op, next) = rep_tail(t, i + 2)?;
                    out.push(Pat::Rep(parse_matcher(inner)?, sep, op));
                    i = next;
                }
                _ => return None,
            },
            Tok::Group(d, inner) => {
                out.push(Pat::Group(*d, parse_matcher(inner)?));
                i += 1;
            }
            tok => {
                out.push(Pat::Tok(tok.clone()));
                i += 1;
            }
        }
    }
    Some(out)
}

fn parse_transcriber(t: &[Tok]) -> Option<Vec<Tr>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        match &t[i] {
            Tok::Punct('$', _) => match t.get(i + 1) {
                Some(Tok::Ident(name)) if name == "crate" => {
                    out.push(Tr::Crate);
                    i += 2;
                }
                Some(Tok::Ident(name)) => {
                    out.push(Tr::Var(name.clone()));
                    i += 2;
                }
                Some(Tok::Group(Delim::Paren, inner)) => {
                    let (sep, op, next) = rep_tail(t, i + 2)?;
                    out.push(Tr::Rep(parse_transcriber(inner)?, sep, op));
                    i = next;
                }
                _ => {
                    out.push(Tr::Tok(t[i].clone()));
                    i += 1;
                }
            },
            Tok::Group(d, inner) => {
                out.push(Tr::Group(*d, parse_transcriber(inner)?));
                i += 1;
            }
            tok => {
                out.push(Tr::Tok(tok.clone()));
                i += 1;
            }
        }
    }
    Some(out)
}

/// Every `macro_rules!` in a file (inline modules and function bodies included).
pub fn collect_defs(items: &[syn::Item], file: FileId, out: &mut Vec<MacroDef>) {
    struct V<'a> {
        file: FileId,
        out: &'a mut Vec<MacroDef>,
    }
    impl<'ast> syn::visit::Visit<'ast> for V<'_> {
        fn visit_item_macro(&mut self, m: &'ast syn::ItemMacro) {
            if let Some(d) = definition(m, self.file) {
                self.out.push(d);
            }
        }
    }
    let mut v = V { file, out };
    for i in items {
        syn::visit::Visit::visit_item(&mut v, i);
    }
}

// ---- matching -----------------------------------------------------------------------------

/// What a matcher variable captured.
#[derive(Clone, Debug)]
enum Binding {
    Leaf(TokenStream),
    Seq(Vec<Binding>),
}

type Bindings = BTreeMap<String, Binding>;

fn tok_matches(tt: &TokenTree, t: &Tok) -> bool {
    match (tt, t) {
        (TokenTree::Ident(i), Tok::Ident(s)) => i == s,
        (TokenTree::Punct(p), Tok::Punct(c, _)) => p.as_char() == *c,
        (TokenTree::Literal(l), Tok::Lit(s)) => l.to_string() == *s,
        _ => false,
    }
}

fn pat_vars(pats: &[Pat], out: &mut Vec<String>) {
    for p in pats {
        match p {
            Pat::Frag(n, _) => out.push(n.clone()),
            Pat::Group(_, inner) | Pat::Rep(inner, _, _) => pat_vars(inner, out),
            Pat::Tok(_) => {}
        }
    }
}

fn match_seq(input: ParseStream<'_>, pats: &[Pat], b: &mut Bindings) -> syn::Result<()> {
    for p in pats {
        match p {
            Pat::Tok(t) => {
                input.step(|c| match c.token_tree() {
                    Some((tt, rest)) if tok_matches(&tt, t) => Ok(((), rest)),
                    _ => Err(c.error("no match")),
                })?;
            }
            Pat::Group(d, inner) => {
                let g = input.step(|c| match c.token_tree() {
                    Some((TokenTree::Group(g), rest)) if delim(g.delimiter()) == *d => {
                        Ok((g, rest))
                    }
                    _ => Err(c.error("no match")),
                })?;
                let parser = |inp: ParseStream<'_>| match_seq(inp, inner, b);
                parser.parse2(g.stream())?;
            }
            Pat::Frag(name, kind) => {
                let ts = fragment(input, *kind)?;
                b.insert(name.clone(), Binding::Leaf(ts));
            }
            Pat::Rep(inner, sep, op) => {
                let mut iters: Vec<Bindings> = Vec::new();
                loop {
                    if *op == RepOp::Opt && !iters.is_empty() {
                        break;
                    }
                    let fork = input.fork();
                    if !iters.is_empty() && !sep.is_empty() {
                        let ok = sep.iter().all(|s| {
                            fork.step(|c| match c.token_tree() {
                                Some((tt, rest)) if tok_matches(&tt, s) => Ok(((), rest)),
                                _ => Err(c.error("no match")),
                            })
                            .is_ok()
                        });
                        if !ok {
                            break;
                        }
                    }
                    let before = fork.cursor();
                    let mut bb = Bindings::new();
                    if match_seq(&fork, inner, &mut bb).is_err() {
                        break;
                    }
                    if fork.cursor() == before && sep.is_empty() {
                        // an iteration that consumes nothing would repeat forever
                        break;
                    }
                    input.advance_to(&fork);
                    iters.push(bb);
                    if iters.len() > MAX_TOKENS {
                        return Err(input.error("repetition too long"));
                    }
                }
                if *op == RepOp::Some && iters.is_empty() {
                    return Err(input.error("expected one repetition"));
                }
                let mut names = Vec::new();
                pat_vars(inner, &mut names);
                for n in names {
                    let seq = iters
                        .iter_mut()
                        .map(|bb| bb.remove(&n).unwrap_or(Binding::Seq(Vec::new())))
                        .collect();
                    b.insert(n, Binding::Seq(seq));
                }
            }
        }
    }
    Ok(())
}

/// Whether an expression can be pasted without parentheses and keep its meaning.
fn is_atomic(e: &syn::Expr) -> bool {
    matches!(
        e,
        syn::Expr::Path(_)
            | syn::Expr::Field(_)
            | syn::Expr::MethodCall(_)
            | syn::Expr::Call(_)
            | syn::Expr::Index(_)
            | syn::Expr::Lit(_)
            | syn::Expr::Paren(_)
            | syn::Expr::Group(_)
            | syn::Expr::Macro(_)
            | syn::Expr::Tuple(_)
            | syn::Expr::Array(_)
            | syn::Expr::Block(_)
            | syn::Expr::Struct(_)
            | syn::Expr::Try(_)
            | syn::Expr::Await(_)
    )
}

fn fragment(input: ParseStream<'_>, kind: Frag) -> syn::Result<TokenStream> {
    Ok(match kind {
        Frag::Expr => {
            let e: syn::Expr = input.parse()?;
            let ts = e.to_token_stream();
            if is_atomic(&e) {
                ts
            } else {
                // keep the captured expression one operand wherever it is pasted
                let mut g = Group::new(Delimiter::Parenthesis, ts);
                g.set_span(e_span(&e));
                TokenStream::from(TokenTree::Group(g))
            }
        }
        Frag::Ident => {
            let i = Ident::parse_any(input)?;
            TokenTree::Ident(i).into()
        }
        Frag::Ty => input.parse::<syn::Type>()?.to_token_stream(),
        Frag::Tt => input.parse::<TokenTree>()?.into(),
        Frag::Block => input.parse::<syn::Block>()?.to_token_stream(),
        Frag::Stmt => stmt_fragment(input)?,
        Frag::Pat => syn::Pat::parse_multi_with_leading_vert(input)?.to_token_stream(),
        Frag::PatParam => syn::Pat::parse_single(input)?.to_token_stream(),
        Frag::Path => input.parse::<syn::Path>()?.to_token_stream(),
        Frag::Literal => {
            let mut ts = TokenStream::new();
            if input.peek(syn::Token![-]) {
                ts.extend(input.parse::<syn::Token![-]>()?.to_token_stream());
            }
            ts.extend(input.parse::<syn::Lit>()?.to_token_stream());
            ts
        }
        Frag::Lifetime => input.parse::<syn::Lifetime>()?.to_token_stream(),
        Frag::Vis => input.parse::<syn::Visibility>()?.to_token_stream(),
        Frag::Item => input.parse::<syn::Item>()?.to_token_stream(),
        Frag::Meta => input.parse::<syn::Meta>()?.to_token_stream(),
    })
}

fn e_span(e: &syn::Expr) -> Span {
    syn::spanned::Spanned::span(e)
}

/// A statement without its trailing semicolon: a `let`, an item, or an expression.
fn stmt_fragment(input: ParseStream<'_>) -> syn::Result<TokenStream> {
    if input.peek(syn::Token![let]) {
        let mut ts = TokenStream::new();
        while !input.is_empty() && !input.peek(syn::Token![;]) {
            ts.extend(std::iter::once(input.parse::<TokenTree>()?));
        }
        return Ok(ts);
    }
    let fork = input.fork();
    if let Ok(item) = fork.parse::<syn::Item>() {
        if !matches!(item, syn::Item::Verbatim(_)) {
            input.advance_to(&fork);
            return Ok(item.to_token_stream());
        }
    }
    Ok(input.parse::<syn::Expr>()?.to_token_stream())
}

// ---- transcription ------------------------------------------------------------------------

fn lookup<'b>(b: &'b Bindings, name: &str, idx: &[usize]) -> Option<&'b Binding> {
    let mut cur = b.get(name)?;
    for &i in idx {
        match cur {
            Binding::Seq(v) => cur = v.get(i)?,
            Binding::Leaf(_) => break,
        }
    }
    Some(cur)
}

fn tr_vars(trs: &[Tr], out: &mut Vec<String>) {
    for t in trs {
        match t {
            Tr::Var(n) => out.push(n.clone()),
            Tr::Group(_, inner) | Tr::Rep(inner, _, _) => tr_vars(inner, out),
            Tr::Tok(_) | Tr::Crate => {}
        }
    }
}

fn make_tok(t: &Tok, span: Span) -> Option<TokenTree> {
    Some(match t {
        Tok::Ident(s) => {
            let tt = if let Some(raw) = s.strip_prefix("r#") {
                Ident::new_raw(raw, span)
            } else {
                Ident::new(s, span)
            };
            TokenTree::Ident(tt)
        }
        Tok::Punct(c, joint) => {
            let mut p = Punct::new(
                *c,
                if *joint {
                    Spacing::Joint
                } else {
                    Spacing::Alone
                },
            );
            p.set_span(span);
            TokenTree::Punct(p)
        }
        Tok::Lit(s) => {
            let mut l: proc_macro2::Literal = s.parse().ok()?;
            l.set_span(span);
            TokenTree::Literal(l)
        }
        Tok::Group(d, inner) => {
            let mut ts = TokenStream::new();
            for t in inner {
                ts.extend(std::iter::once(make_tok(t, span)?));
            }
            let mut g = Group::new(delimiter(*d), ts);
            g.set_span(span);
            TokenTree::Group(g)
        }
    })
}

struct Transcriber<'b> {
    b: &'b Bindings,
    span: Span,
    tokens: usize,
}

impl Transcriber<'_> {
    fn push(&mut self, out: &mut TokenStream, tt: TokenTree) -> Option<()> {
        self.tokens += 1;
        if self.tokens > MAX_TOKENS {
            return None;
        }
        out.extend(std::iter::once(tt));
        Some(())
    }

    fn run(&mut self, trs: &[Tr], idx: &mut Vec<usize>, out: &mut TokenStream) -> Option<()> {
        for t in trs {
            match t {
                Tr::Tok(t) => {
                    let tt = make_tok(t, self.span)?;
                    self.push(out, tt)?;
                }
                Tr::Crate => {
                    self.push(out, TokenTree::Ident(Ident::new("crate", self.span)))?;
                }
                Tr::Group(d, inner) => {
                    let mut ts = TokenStream::new();
                    self.run(inner, idx, &mut ts)?;
                    let mut g = Group::new(delimiter(*d), ts);
                    g.set_span(self.span);
                    self.push(out, TokenTree::Group(g))?;
                }
                Tr::Var(name) => match lookup(self.b, name, idx) {
                    Some(Binding::Leaf(ts)) => {
                        self.tokens += ts.clone().into_iter().count();
                        if self.tokens > MAX_TOKENS {
                            return None;
                        }
                        out.extend(ts.clone());
                    }
                    Some(Binding::Seq(_)) => return None,
                    None => {
                        // not a matcher variable: `$name` is kept as written
                        let mut p = Punct::new('$', Spacing::Alone);
                        p.set_span(self.span);
                        self.push(out, TokenTree::Punct(p))?;
                        self.push(out, TokenTree::Ident(Ident::new(name, self.span)))?;
                    }
                },
                Tr::Rep(inner, sep, _) => {
                    let mut names = Vec::new();
                    tr_vars(inner, &mut names);
                    let mut n: Option<usize> = None;
                    for name in &names {
                        if let Some(Binding::Seq(v)) = lookup(self.b, name, idx) {
                            match n {
                                Some(k) if k != v.len() => return None,
                                _ => n = Some(v.len()),
                            }
                        }
                    }
                    let n = n?;
                    for i in 0..n {
                        if i > 0 {
                            for s in sep {
                                let tt = make_tok(s, self.span)?;
                                self.push(out, tt)?;
                            }
                        }
                        idx.push(i);
                        let r = self.run(inner, idx, out);
                        idx.pop();
                        r?;
                    }
                }
            }
        }
        Some(())
    }
}

/// Match `input` against the arms of `def` and transcribe the first arm that matches.
/// Tokens of the definition get `call_span`.
pub fn expand_tokens(def: &MacroDef, input: TokenStream, call_span: Span) -> Option<TokenStream> {
    for rule in &def.rules {
        let mut b = Bindings::new();
        let parser = |inp: ParseStream<'_>| match_seq(inp, &rule.matcher, &mut b);
        if parser.parse2(input.clone()).is_err() {
            continue;
        }
        let mut t = Transcriber {
            b: &b,
            span: call_span,
            tokens: 0,
        };
        let mut out = TokenStream::new();
        t.run(&rule.body, &mut Vec::new(), &mut out)?;
        return Some(out);
    }
    None
}

// ---- the per-file environment -------------------------------------------------------------

struct Env {
    table: MacroTable,
    file: FileId,
    depth: u32,
    /// Expansions under the current outermost invocation.
    tree: u32,
    stats: FileMacros,
}

thread_local! {
    static ENV: RefCell<Option<Env>> = const { RefCell::new(None) };
}

/// Run `f` (the lowering of one file) with `table` visible to macro invocations; returns what
/// `f` returned and the file's expansion counts and foreign macro names.
pub fn with_table<R>(table: MacroTable, file: FileId, f: impl FnOnce() -> R) -> (R, FileMacros) {
    let old = ENV.with(|e| {
        e.borrow_mut().replace(Env {
            table,
            file,
            depth: 0,
            tree: 0,
            stats: FileMacros::default(),
        })
    });
    let r = f();
    let env = ENV.with(|e| std::mem::replace(&mut *e.borrow_mut(), old));
    let mut stats = env.map(|e| e.stats).unwrap_or_default();
    stats.foreign.sort();
    stats.foreign.dedup();
    stats.used.sort();
    stats.used.dedup();
    (r, stats)
}

/// The name a macro path calls by: `name!`, `crate::name!`, `self::name!`, `$crate::name!`.
fn local_name(path: &syn::Path) -> Option<String> {
    let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match segs.as_slice() {
        [n] => Some(n.clone()),
        [c, n] if c == "crate" || c == "self" || c == "super" => Some(n.clone()),
        _ => None,
    }
}

/// Where an expansion is parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    Expr,
    Stmts,
    Items,
    ImplItems,
}

/// A parsed expansion.
pub enum Expansion {
    Expr(Box<syn::Expr>),
    Stmts(Vec<syn::Stmt>),
    Items(Vec<syn::Item>),
    ImplItems(Vec<syn::ImplItem>),
}

/// The outcome of looking up an invocation.
pub enum Lookup {
    /// No crate-local definition: the caller falls back to its own handling.
    Unknown,
    /// A definition exists but the call could not be expanded (count it as opaque).
    Failed,
    /// Expanded: lower this, then call [`leave`].
    Expanded(Expansion),
}

/// Expand a macro invocation at `pos` with the current file's table. After lowering an
/// `Expanded` result, the caller must call [`leave`].
pub fn expand(m: &syn::Macro, pos: Position) -> Lookup {
    ENV.with(|e| {
        let mut guard = e.borrow_mut();
        let Some(env) = guard.as_mut() else {
            return Lookup::Unknown;
        };
        let Some(name) = local_name(&m.path) else {
            return Lookup::Unknown;
        };
        if name == "macro_rules" {
            return Lookup::Unknown;
        }
        let picked = env.table.pick(&name, env.file);
        match &picked {
            Some(d) if d.file == env.file => {}
            Some(d) => {
                let h = def_hash(d);
                env.stats.used.push((name.clone(), h));
            }
            None if env.table.contains(&name) => env.stats.used.push((name.clone(), 0)),
            None => {}
        }
        let Some(def) = picked else {
            if env.table.contains(&name) {
                // several definitions elsewhere, none here: ambiguous
                env.stats.failed += 1;
                return Lookup::Failed;
            }
            env.stats.foreign.push(name);
            return Lookup::Unknown;
        };
        if env.depth == 0 {
            env.tree = 0;
        }
        if env.depth >= MAX_DEPTH || env.tree >= MAX_EXPANSIONS {
            env.stats.failed += 1;
            return Lookup::Failed;
        }
        let span = syn::spanned::Spanned::span(&m.path);
        let Some(ts) = expand_tokens(&def, m.tokens.clone(), span) else {
            env.stats.failed += 1;
            return Lookup::Failed;
        };
        let Some(x) = parse_expansion(ts, pos, span) else {
            env.stats.failed += 1;
            return Lookup::Failed;
        };
        env.depth += 1;
        env.tree += 1;
        env.stats.expanded += 1;
        Lookup::Expanded(x)
    })
}

/// The end of lowering an expansion.
pub fn leave() {
    ENV.with(|e| {
        if let Some(env) = e.borrow_mut().as_mut() {
            env.depth = env.depth.saturating_sub(1);
        }
    });
}

/// Parse transcribed tokens for a call position.
pub fn parse_expansion(ts: TokenStream, pos: Position, call_span: Span) -> Option<Expansion> {
    let stmts = |ts: TokenStream| {
        let p = |i: ParseStream<'_>| syn::Block::parse_within(i);
        p.parse2(ts).ok()
    };
    match pos {
        Position::Expr => {
            let p = |i: ParseStream<'_>| {
                let e: syn::Expr = i.parse()?;
                let _: Option<syn::Token![;]> = i.parse()?;
                Ok(e)
            };
            if let Ok(e) = p.parse2(ts.clone()) {
                return Some(Expansion::Expr(Box::new(e)));
            }
            // statements in expression position: read as a block
            let s = stmts(ts)?;
            Some(Expansion::Expr(Box::new(syn::Expr::Block(
                syn::ExprBlock {
                    attrs: Vec::new(),
                    label: None,
                    block: syn::Block {
                        brace_token: syn::token::Brace(call_span),
                        stmts: s,
                    },
                },
            ))))
        }
        Position::Stmts => stmts(ts).map(Expansion::Stmts),
        Position::Items => {
            let p = |i: ParseStream<'_>| {
                let mut v = Vec::new();
                while !i.is_empty() {
                    v.push(i.parse::<syn::Item>()?);
                }
                Ok(v)
            };
            p.parse2(ts).ok().map(Expansion::Items)
        }
        Position::ImplItems => {
            let p = |i: ParseStream<'_>| {
                let mut v = Vec::new();
                while !i.is_empty() {
                    v.push(i.parse::<syn::ImplItem>()?);
                }
                Ok(v)
            };
            p.parse2(ts).ok().map(Expansion::ImplItems)
        }
    }
}

/// Expand an item-position invocation, returning its items (already past [`leave`]): items
/// are lowered by walking them, and the walk itself expands nested invocations.
pub fn with_items<R>(m: &syn::Macro, f: impl FnOnce(&[syn::Item]) -> R) -> Option<R> {
    match expand(m, Position::Items) {
        Lookup::Expanded(Expansion::Items(items)) => {
            let r = f(&items);
            leave();
            Some(r)
        }
        Lookup::Expanded(_) => {
            leave();
            None
        }
        _ => None,
    }
}

/// Like [`with_items`] for invocations inside an `impl` block.
pub fn with_impl_items<R>(m: &syn::Macro, f: impl FnOnce(&[syn::ImplItem]) -> R) -> Option<R> {
    match expand(m, Position::ImplItems) {
        Lookup::Expanded(Expansion::ImplItems(items)) => {
            let r = f(&items);
            leave();
            Some(r)
        }
        Lookup::Expanded(_) => {
            leave();
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
