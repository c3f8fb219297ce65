//! Pure helpers over syn's syntax tree, shared by the lowering and the sequence-number facts.

use crate::cfg_pred::CfgPred;

/// The attributes of any item kind.
pub fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::ExternCrate(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::ForeignMod(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::TraitAlias(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Union(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

/// `#[cfg(test)]` (also inside `all(..)`).
pub fn has_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && {
            let t = a.meta.to_token_stream_string();
            t.contains("test") && !t.contains("not")
        }
    })
}

/// The `#[cfg(..)]` predicates on an item or statement, as data (several attributes: all of
/// them); `None` without one. `#[cfg_attr(..)]` is not read.
pub fn cfg_pred(attrs: &[syn::Attribute]) -> Option<CfgPred> {
    let mut preds: Vec<CfgPred> = attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .map(|a| match a.meta.require_list() {
            Ok(l) => match l.parse_args::<syn::Meta>() {
                Ok(m) => meta_pred(&m),
                Err(_) => CfgPred::Other(l.tokens.to_string()),
            },
            Err(_) => CfgPred::Other(a.meta.to_token_stream_string()),
        })
        .collect();
    match preds.len() {
        0 => None,
        1 => preds.pop(),
        _ => Some(CfgPred::All(preds)),
    }
}

/// [`cfg_pred`] boxed, as the IR keeps it.
pub fn item_cfg(attrs: &[syn::Attribute]) -> crate::cfg_pred::ItemCfg {
    cfg_pred(attrs).map(Box::new)
}

fn meta_pred(m: &syn::Meta) -> CfgPred {
    match m {
        syn::Meta::NameValue(nv) if nv.path.is_ident("feature") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => CfgPred::Feature(s.value()),
            _ => CfgPred::Other(m.to_token_stream_string()),
        },
        syn::Meta::List(l) if ["not", "all", "any"].iter().any(|n| l.path.is_ident(n)) => {
            let parsed = l.parse_args_with(
                syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
            );
            let Ok(args) = parsed else {
                return CfgPred::Other(m.to_token_stream_string());
            };
            let mut preds: Vec<CfgPred> = args.iter().map(meta_pred).collect();
            if l.path.is_ident("all") {
                CfgPred::All(preds)
            } else if l.path.is_ident("any") {
                CfgPred::Any(preds)
            } else if preds.len() == 1 {
                CfgPred::Not(Box::new(preds.remove(0)))
            } else {
                CfgPred::Other(m.to_token_stream_string())
            }
        }
        _ => CfgPred::Other(m.to_token_stream_string()),
    }
}

trait MetaText {
    fn to_token_stream_string(&self) -> String;
}

impl MetaText for syn::Meta {
    fn to_token_stream_string(&self) -> String {
        quote::ToTokens::to_token_stream(self).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pred(attrs: &str) -> Option<CfgPred> {
        let f: syn::File = syn::parse_str(&format!("{attrs} fn f() {{}}")).expect("parses");
        let syn::Item::Fn(f) = &f.items[0] else {
            panic!("a fn")
        };
        cfg_pred(&f.attrs)
    }

    #[test]
    fn cfg_attributes_as_data() {
        let feat = |n: &str| CfgPred::Feature(n.into());
        assert_eq!(pred("#[inline]"), None);
        assert_eq!(pred("#[cfg(feature = \"std\")]"), Some(feat("std")));
        assert_eq!(
            pred("#[cfg(not(feature = \"libc\"))]"),
            Some(CfgPred::Not(Box::new(feat("libc"))))
        );
        assert_eq!(
            pred("#[cfg(all(unix, any(feature = \"a\", target_os = \"linux\")))]"),
            Some(CfgPred::All(vec![
                CfgPred::Other("unix".into()),
                CfgPred::Any(vec![
                    feat("a"),
                    CfgPred::Other("target_os = \"linux\"".into())
                ]),
            ]))
        );
        // two attributes: both hold
        assert_eq!(
            pred("#[cfg(feature = \"a\")] #[cfg(test)]"),
            Some(CfgPred::All(vec![feat("a"), CfgPred::Other("test".into())]))
        );
        // not read: `cfg_attr`, and malformed predicates stay undecided
        assert_eq!(pred("#[cfg_attr(feature = \"a\", cfg(test))]"), None);
        assert!(matches!(pred("#[cfg(not(a, b))]"), Some(CfgPred::Other(_))));
        assert!(matches!(
            pred("#[cfg(feature = 1)]"),
            Some(CfgPred::Other(_))
        ));
    }
}
