//! The suggestion builder: fixes are built as syn expressions with `quote!` and printed with
//! prettyplease, never spliced together as strings.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse_quote;

/// Print an expression the way rustfmt would lay it out at statement level.
pub fn pretty_expr(e: &syn::Expr) -> String {
    pretty_tokens(quote!(#e)).unwrap_or_else(|| quote!(#e).to_string())
}

/// Print tokens that form an expression; `None` if they do not parse as one.
pub fn pretty_tokens(tokens: TokenStream) -> Option<String> {
    let file: syn::File = syn::parse2(quote! { fn __lockstep_fix() { #tokens } }).ok()?;
    let text = prettyplease::unparse(&file);
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() < 3 {
        return None;
    }
    let body: Vec<&str> = lines[1..lines.len() - 1]
        .iter()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect();
    let joined = body.join("\n");
    Some(joined.strip_suffix(';').unwrap_or(&joined).to_string())
}

/// Print items (impls, structs).
pub fn pretty_items(tokens: TokenStream) -> Option<String> {
    let file: syn::File = syn::parse2(tokens).ok()?;
    Some(prettyplease::unparse(&file))
}

/// Whether `e` can be a method receiver or a cast operand without parentheses.
fn is_atom(e: &syn::Expr) -> bool {
    matches!(
        e,
        syn::Expr::Path(_)
            | syn::Expr::Field(_)
            | syn::Expr::MethodCall(_)
            | syn::Expr::Call(_)
            | syn::Expr::Lit(_)
            | syn::Expr::Paren(_)
            | syn::Expr::Index(_)
            | syn::Expr::Tuple(_)
            | syn::Expr::Macro(_)
    ) && !matches!(e, syn::Expr::Lit(l) if matches!(l.lit, syn::Lit::Int(_) | syn::Lit::Float(_)))
}

/// `e` made fit to be a method receiver.
pub fn receiver(e: &syn::Expr) -> syn::Expr {
    let e = strip_group(e);
    if is_atom(e) {
        e.clone()
    } else {
        parse_quote!((#e))
    }
}

fn strip_group(e: &syn::Expr) -> &syn::Expr {
    match e {
        syn::Expr::Group(g) => strip_group(&g.expr),
        _ => e,
    }
}

/// `&b` → `b`; anything else → `*b`.
pub fn deref_arg(e: &syn::Expr) -> syn::Expr {
    match strip_group(e) {
        syn::Expr::Reference(r) if r.mutability.is_none() => (*r.expr).clone(),
        other => {
            let r = receiver(other);
            parse_quote!(*#r)
        }
    }
}

/// `.0` of an operand when it is a `Wrapping<u32>`.
fn inner(e: &syn::Expr, dot0: bool) -> syn::Expr {
    let r = receiver(e);
    if dot0 {
        parse_quote!(#r.0)
    } else {
        r
    }
}

/// `(a.wrapping_sub(b) as i32)`: the signed distance from `b` to `a` modulo 2^32.
pub fn distance(a: &syn::Expr, b: &syn::Expr, dot0: bool) -> syn::Expr {
    let a = inner(a, dot0);
    let b = if dot0 {
        inner(b, true)
    } else {
        strip_group(b).clone()
    };
    parse_quote!((#a.wrapping_sub(#b) as i32))
}

/// `a OP b` → `(a.wrapping_sub(b) as i32) OP 0`.
pub fn compare(op: &str, a: &syn::Expr, b: &syn::Expr, dot0: bool) -> String {
    let d = distance(a, b, dot0);
    let e: syn::Expr = match op {
        "<" => parse_quote!(#d < 0),
        "<=" => parse_quote!(#d <= 0),
        ">" => parse_quote!(#d > 0),
        ">=" => parse_quote!(#d >= 0),
        _ => parse_quote!(#d == 0),
    };
    pretty_expr(&e)
}

/// `a.max(b)` / `cmp::max(a, b)` and friends, compared modulo 2^32.
pub fn method_compare(
    method: &str,
    recv: &syn::Expr,
    args: &[syn::Expr],
    dot0: bool,
) -> Option<String> {
    let a = receiver(recv);
    let e: syn::Expr = match (method, args) {
        ("max", [b]) => {
            let d = distance(&a, b, dot0);
            parse_quote!(if #d >= 0 { #a } else { #b })
        }
        ("min", [b]) => {
            let d = distance(&a, b, dot0);
            parse_quote!(if #d <= 0 { #a } else { #b })
        }
        ("cmp", [b]) => {
            let d = distance(&a, &deref_arg(b), dot0);
            parse_quote!(#d.cmp(&0))
        }
        ("partial_cmp", [b]) => {
            let d = distance(&a, &deref_arg(b), dot0);
            parse_quote!(#d.partial_cmp(&0))
        }
        ("clamp", [lo, hi]) => {
            let dl = distance(&a, lo, dot0);
            let dh = distance(&a, hi, dot0);
            parse_quote!(if #dl < 0 { #lo } else if #dh > 0 { #hi } else { #a })
        }
        _ => return None,
    };
    Some(pretty_expr(&e))
}

/// `a + b` → `a.wrapping_add(b)`, `a - b` → `a.wrapping_sub(b)`; `seq_left` says which operand
/// is the sequence number (addition commutes, so `len + seq` → `seq.wrapping_add(len)`).
pub fn arith(op: &str, l: &syn::Expr, r: &syn::Expr, seq_left: bool) -> String {
    let e: syn::Expr = match (op, seq_left) {
        ("+", true) => {
            let a = receiver(l);
            parse_quote!(#a.wrapping_add(#r))
        }
        ("+", false) => {
            let a = receiver(r);
            parse_quote!(#a.wrapping_add(#l))
        }
        _ => {
            let a = receiver(l);
            parse_quote!(#a.wrapping_sub(#r))
        }
    };
    pretty_expr(&e)
}

/// `a += n` → `a = a.wrapping_add(n)`.
pub fn assign_arith(op: &str, target: &syn::Expr, value: &syn::Expr) -> String {
    let a = receiver(target);
    let e: syn::Expr = if op == "+=" {
        parse_quote!(#target = #a.wrapping_add(#value))
    } else {
        parse_quote!(#target = #a.wrapping_sub(#value))
    };
    pretty_expr(&e)
}

/// `-a` → `a.wrapping_neg()`.
pub fn neg(e: &syn::Expr) -> String {
    let a = receiver(e);
    pretty_expr(&parse_quote!(#a.wrapping_neg()))
}

/// `seq as usize` feeding arithmetic → an offset from a base: `seq.wrapping_sub(base) as usize`.
/// `base` is a placeholder the user fills in. `paren`: wrap the cast in parentheses (needed
/// unless it stands alone, e.g. as an index: `as usize < n` would not parse).
pub fn cast_offset(e: &syn::Expr, ty: &syn::Type, paren: bool) -> String {
    let a = receiver(e);
    let cast: syn::Expr = parse_quote!(#a.wrapping_sub(base) as #ty);
    pretty_expr(&maybe_paren(cast, paren))
}

/// `a as T - b as T` with two sequence numbers → `a.wrapping_sub(b) as T`.
pub fn cast_difference(a: &syn::Expr, b: &syn::Expr, ty: &syn::Type, paren: bool) -> String {
    let a = receiver(a);
    let cast: syn::Expr = parse_quote!(#a.wrapping_sub(#b) as #ty);
    pretty_expr(&maybe_paren(cast, paren))
}

fn maybe_paren(e: syn::Expr, paren: bool) -> syn::Expr {
    if paren {
        parse_quote!((#e))
    } else {
        e
    }
}

/// `v.sort()` → `v.sort_by_key(|s| s.wrapping_sub(base))`; `base` is a placeholder.
pub fn sort_relative(v: &syn::Expr) -> String {
    let r = receiver(v);
    pretty_expr(&parse_quote!(#r.sort_by_key(|s| s.wrapping_sub(base))))
}

/// The key of a sort made relative to a base: `key` → `key.wrapping_sub(base)`.
pub fn relative_key(e: &syn::Expr) -> String {
    let a = receiver(e);
    pretty_expr(&parse_quote!(#a.wrapping_sub(base)))
}

/// The RFC 6528 shape of an initial sequence number: a clock plus a keyed hash of the
/// connection's 4-tuple. `clock_ticks` and `keyed_hash` are placeholders.
pub fn isn_value() -> String {
    let e: syn::Expr = parse_quote!(clock_ticks().wrapping_add(keyed_hash(
        &secret,
        local_addr,
        local_port,
        remote_addr,
        remote_port
    )));
    pretty_expr(&e)
}

/// For a sequence newtype that derives `PartialOrd`/`Ord`: the derive attribute without them
/// and a hand-written modular `PartialOrd` impl to insert after the struct.
pub fn modular_ord(item: &syn::ItemStruct, derive: &syn::Attribute) -> Option<(String, String)> {
    let paths = derive
        .parse_args_with(syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated)
        .ok()?;
    let kept: Vec<&syn::Path> = paths
        .iter()
        .filter(|p| {
            !p.segments
                .last()
                .is_some_and(|s| s.ident == "PartialOrd" || s.ident == "Ord")
        })
        .collect();
    let attr = if kept.is_empty() {
        String::new()
    } else {
        let printed = pretty_items(quote!(
            #[derive(#(#kept),*)]
            struct __LockstepFix;
        ))?;
        printed.lines().next()?.to_string()
    };
    let name = &item.ident;
    let (ig, tg, wc) = item.generics.split_for_impl();
    let field_ty = match &item.fields {
        syn::Fields::Unnamed(u) if u.unnamed.len() == 1 => &u.unnamed[0].ty,
        _ => return None,
    };
    let wrapping = quote!(#field_ty).to_string().contains("Wrapping");
    let body: syn::Expr = if wrapping {
        parse_quote!(((self.0).0.wrapping_sub((other.0).0) as i32).partial_cmp(&0))
    } else {
        parse_quote!((self.0.wrapping_sub(other.0) as i32).partial_cmp(&0))
    };
    let imp = pretty_items(quote! {
        impl #ig ::core::cmp::PartialOrd for #name #tg #wc {
            fn partial_cmp(&self, other: &Self) -> ::core::option::Option<::core::cmp::Ordering> {
                #body
            }
        }
    })?;
    Some((attr, imp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(s: &str) -> syn::Expr {
        syn::parse_str(s).expect("expr")
    }

    #[test]
    fn compare_forms() {
        assert_eq!(
            compare("<", &e("a"), &e("b"), false),
            "(a.wrapping_sub(b) as i32) < 0"
        );
        assert_eq!(
            compare(">=", &e("self.snd_una"), &e("seg.ack + 1"), false),
            "(self.snd_una.wrapping_sub(seg.ack + 1) as i32) >= 0"
        );
        assert_eq!(
            compare("<", &e("x + y"), &e("b"), true),
            "((x + y).0.wrapping_sub(b.0) as i32) < 0"
        );
    }

    #[test]
    fn arith_forms() {
        assert_eq!(
            arith("+", &e("seq"), &e("len as u32"), true),
            "seq.wrapping_add(len as u32)"
        );
        assert_eq!(
            arith("+", &e("1"), &e("seg.seq"), false),
            "seg.seq.wrapping_add(1)"
        );
        assert_eq!(
            assign_arith("+=", &e("self.snd_nxt"), &e("n")),
            "self.snd_nxt = self.snd_nxt.wrapping_add(n)"
        );
        assert_eq!(neg(&e("a.b")), "a.b.wrapping_neg()");
    }

    #[test]
    fn method_forms() {
        assert_eq!(
            method_compare("cmp", &e("a"), &[e("&b")], false).unwrap(),
            "(a.wrapping_sub(b) as i32).cmp(&0)"
        );
        assert!(method_compare("max", &e("a"), &[e("b")], false)
            .unwrap()
            .starts_with("if (a.wrapping_sub(b) as i32) >= 0"));
    }
}
