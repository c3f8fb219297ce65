//! Lock instance texts (`self.queue`, `dev.regs[..]`) across a call: their root, and a
//! callee's text rewritten into the caller's terms.

use crate::ir::{Callee, FnDef, Place, Root};

pub use crate::ir::instance_root;

/// Rewrite a callee's instance text into the caller's terms through the call's receiver and
/// arguments.
pub fn map_instance(
    callee: &FnDef,
    inst: &str,
    call: &Callee,
    args: &[Option<Place>],
) -> Option<String> {
    let root = instance_root(inst);
    let rest = &inst[root.len()..];
    if root == "self" {
        let recv = match call {
            Callee::Method { recv, .. } => recv.as_ref()?.text,
            // `Type::method(x, ..)`: the first argument is `self`.
            Callee::Path(_) if callee.has_self => args.first()?.as_ref()?.text,
            _ => return None,
        };
        let recv = recv
            .trim_start_matches('&')
            .trim_start_matches('*')
            .to_string();
        return Some(format!("{recv}{rest}"));
    }
    if let Some(pos) = callee.params.iter().position(|(n, _)| n == root) {
        let offset = usize::from(matches!(call, Callee::Path(_)) && callee.has_self);
        let arg = args.get(pos + offset)?.as_ref()?;
        if matches!(arg.root, Root::Opaque) {
            return None;
        }
        return Some(format!("{}{rest}", arg.text));
    }
    if root.chars().next().is_some_and(|c| c.is_uppercase()) || inst.contains("::") {
        return Some(inst.to_string());
    }
    None
}

/// A callee's place rooted at a lookup with arguments (`Process::get_by_pid(pid).links`),
/// spelled in the caller: each argument that is one of the callee's parameters becomes the
/// caller's argument text, literals and paths stay. `None` when an argument is anything else
/// (a local of the callee, an expression): its value in the caller is not known.
pub fn map_lookup_args(
    callee: &FnDef,
    inst: &str,
    call: &Callee,
    args: &[Option<Place>],
) -> Option<String> {
    let open = inst.find('(')?;
    let close = open + matching_paren(&inst[open..])?;
    let offset = usize::from(matches!(call, Callee::Path(_)) && callee.has_self);
    let mut out = Vec::new();
    for a in split_top(&inst[open + 1..close]) {
        let a = a.trim();
        if let Some(pos) = callee.params.iter().position(|(n, _)| n == a) {
            let arg = args.get(pos + offset)?.as_ref()?;
            if matches!(arg.root, Root::Opaque) {
                return None;
            }
            out.push(arg.text.to_string());
        } else if a
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c.is_uppercase())
            || a.contains("::")
        {
            out.push(a.to_string());
        } else {
            return None;
        }
    }
    Some(format!(
        "{}({}){}",
        &inst[..open],
        out.join(", "),
        &inst[close + 1..]
    ))
}

/// The offset of the `)` closing the `(` that `s` starts with.
pub(crate) fn matching_paren(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, ch) in s.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `a, f(b, c), d` split at its top-level commas.
fn split_top(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (i, ch) in s.char_indices() {
        match ch {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}
