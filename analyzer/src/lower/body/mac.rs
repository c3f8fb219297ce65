//! Macros in expression and statement position: std and logging macros by their meaning, the crate's own `macro_rules!` expanded.

use super::*;

impl<'a> BodyLowerer<'a> {
    /// A statement-position invocation of a crate-local `macro_rules!`: its statements are
    /// lowered in place, in the enclosing block's scope (as rustc splices them). `false` when
    /// it was not expanded.
    pub(super) fn stmt_macro(&mut self, m: &syn::Macro) -> bool {
        use crate::macros::{expand, leave, Expansion, Lookup, Position};
        let name = last_ident(&m.path);
        match expand(m, Position::Stmts) {
            Lookup::Expanded(Expansion::Stmts(stmts)) => {
                for s in &stmts {
                    if self.cur.is_none() {
                        break;
                    }
                    self.stmt(s);
                }
                leave();
                true
            }
            Lookup::Expanded(_) => {
                leave();
                false
            }
            Lookup::Failed => {
                self.opaque_macros.push(name);
                // the arguments are still lowered, without counting the macro twice
                self.temps.push(Vec::new());
                let args = parse_macro_args(m);
                for a in &args {
                    let v = self.expr(a, Ext::None);
                    self.settle(&v, false);
                }
                let t = self.temps.pop().unwrap_or_default();
                self.release_all(&t, self.span(m));
                true
            }
            Lookup::Unknown => false,
        }
    }

    pub(super) fn mac(&mut self, m: &syn::Macro) -> Val {
        let name = last_ident(&m.path);
        let span = self.span(m);
        let diverges = matches!(
            name.as_str(),
            "panic" | "unreachable" | "todo" | "unimplemented"
        );
        match crate::macros::expand(m, crate::macros::Position::Expr) {
            crate::macros::Lookup::Expanded(crate::macros::Expansion::Expr(e)) => {
                let v = self.expr(&e, Ext::None);
                crate::macros::leave();
                return v;
            }
            crate::macros::Lookup::Expanded(_) => crate::macros::leave(),
            crate::macros::Lookup::Failed => self.opaque_macros.push(name.clone()),
            crate::macros::Lookup::Unknown if !is_std_macro(&name) => {
                self.opaque_macros.push(name.clone())
            }
            crate::macros::Lookup::Unknown => {}
        }
        if name == "asm" {
            self.asm_irq(m, span);
        }
        let args = parse_macro_args(m);
        let mut last_place = None;
        let mut first_ty = None;
        for (i, a) in args.iter().enumerate() {
            let v = self.expr(a, Ext::None);
            self.settle(&v, false);
            last_place = v.place;
            if i == 0 {
                first_ty = v.ty;
            }
        }
        if name == "vec" {
            self.emit(Op::Block {
                kind: BlockKind::Alloc("vec!".into()),
                span,
            });
            // `vec![Mutex::new(0); n]`, `vec![a, b]`: a `Vec` of the first element's type.
            return Val {
                ty: first_ty.map(|t| TypeRef::Path {
                    segs: vec!["Vec".into()],
                    args: vec![t],
                }),
                ..Val::default()
            };
        }
        if diverges {
            self.cur = None;
        }
        if matches!(name.as_str(), "addr_of" | "addr_of_mut") {
            return Val {
                place: last_place,
                ..Val::default()
            };
        }
        Val::default()
    }
}

impl BodyLowerer<'_> {
    /// Inline assembly that masks or unmasks interrupts (`asm!("cli")`), by the instructions
    /// of its template strings.
    fn asm_irq(&mut self, m: &syn::Macro, span: Span) {
        let mut template = String::new();
        for t in m.tokens.clone() {
            if let proc_macro2::TokenTree::Literal(l) = t {
                if let Ok(s) = syn::parse2::<syn::LitStr>(l.into_token_stream()) {
                    template.push_str(&s.value());
                    template.push('\n');
                }
            }
        }
        match lock_api::asm_irq_effect(&template) {
            Some(lock_api::IrqEffect::Off) => {
                self.emit(Op::IrqOff { span });
            }
            Some(lock_api::IrqEffect::On) => {
                self.emit(Op::IrqOn);
            }
            _ => {}
        }
    }
}

/// Macros whose meaning the lowering knows (their arguments are lowered as expressions).
pub(super) fn is_std_macro(name: &str) -> bool {
    matches!(
        name,
        "println"
            | "print"
            | "eprintln"
            | "eprint"
            | "format"
            | "write"
            | "writeln"
            | "format_args"
            | "assert"
            | "assert_eq"
            | "assert_ne"
            | "debug_assert"
            | "debug_assert_eq"
            | "debug_assert_ne"
            | "vec"
            | "panic"
            | "unreachable"
            | "todo"
            | "unimplemented"
            | "dbg"
            | "info"
            | "debug"
            | "warn"
            | "error"
            | "trace"
            | "log"
            | "pr_info"
            | "pr_debug"
            | "pr_warn"
            | "pr_err"
            | "dev_info"
            | "dev_warn"
            | "dev_err"
            | "dev_dbg"
            | "matches"
            | "addr_of"
            | "addr_of_mut"
            | "ready"
            | "cfg"
            | "concat"
            | "stringify"
            | "include_str"
            | "env"
            | "line"
            | "file"
            | "column"
            | "module_path"
            | "compile_error"
            | "option_env"
            | "include_bytes"
    )
}

/// Arguments of a macro that look like comma-separated expressions (format macros included).
pub(super) fn parse_macro_args(m: &syn::Macro) -> Vec<syn::Expr> {
    use syn::parse::Parser;
    let name = m
        .path
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default();
    if name == "matches" {
        let parser = |input: syn::parse::ParseStream<'_>| -> syn::Result<syn::Expr> {
            let e: syn::Expr = input.parse()?;
            let _: proc_macro2::TokenStream = input.parse()?;
            Ok(e)
        };
        return parser
            .parse2(m.tokens.clone())
            .map(|e| vec![e])
            .unwrap_or_default();
    }
    if name == "vec" {
        // `vec![x; n]`
        let parser = |input: syn::parse::ParseStream<'_>| -> syn::Result<Vec<syn::Expr>> {
            let e: syn::Expr = input.parse()?;
            if input.peek(syn::Token![;]) {
                let _: syn::Token![;] = input.parse()?;
                let n: syn::Expr = input.parse()?;
                return Ok(vec![e, n]);
            }
            let mut v = vec![e];
            while input.peek(syn::Token![,]) {
                let _: syn::Token![,] = input.parse()?;
                if input.is_empty() {
                    break;
                }
                v.push(input.parse()?);
            }
            Ok(v)
        };
        if let Ok(v) = parser.parse2(m.tokens.clone()) {
            return v;
        }
    }
    let parser = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
    match parser.parse2(m.tokens.clone()) {
        Ok(p) => p
            .into_iter()
            .filter(|e| {
                !matches!(
                    e,
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(_),
                        ..
                    })
                )
            })
            .map(|e| match e {
                // `name = expr` in format args.
                syn::Expr::Assign(a) => *a.right,
                e => e,
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}
