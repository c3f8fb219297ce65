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
