//! Functions that return a guard they acquired, and the lock behind it: computed from the IR
//! before any flow, so lock types and callers can use it.

use std::collections::BTreeMap;

use crate::index::Index;
use crate::ir::{FnRef, GuardId, Mode, Op, Place};
use crate::lower::LoweredFile;

/// For every function that returns a guard it acquired (`fn inner(&self) -> MutexGuard<..>`):
/// the place it locked, in its own terms, the acquiring method, the mode and whether the
/// acquisition was unwrapped (`m.lock().unwrap()`), which the callee's own flow resolved it
/// with: a tail `self.regs.read()` on an untyped register is no lock there, nor for callers.
pub type Returns = BTreeMap<FnRef, (Place, crate::ir::AcqMethod, Mode, bool)>;

/// Find the lock behind each function's returned guard, following moves back to the
/// acquisition.
pub fn returned_guards(ix: &Index, files: &[LoweredFile]) -> Returns {
    let mut out = Returns::new();
    for &r in &ix.fns {
        let Some(body) = &ix.func(files, r).body else {
            continue;
        };
        let returned: Vec<GuardId> = body
            .nodes
            .iter()
            .filter_map(|n| match n.op {
                Op::ReturnGuard { guard, .. } => Some(guard),
                _ => None,
            })
            .collect();
        'guards: for g0 in returned {
            let mut g = g0;
            for _ in 0..32 {
                let mut from = None;
                for n in &body.nodes {
                    match &n.op {
                        Op::Acquire {
                            place,
                            guard: Some(a),
                            method,
                            mode,
                            unwrapped,
                            is_try: false,
                            ..
                        } if *a == g => {
                            out.insert(r, ((**place).clone(), method.clone(), *mode, *unwrapped));
                            break 'guards;
                        }
                        Op::Transfer { from: f, to, .. } if *to == g && from.is_none() => {
                            from = Some(*f)
                        }
                        _ => {}
                    }
                }
                match from {
                    Some(f) => g = f,
                    None => continue 'guards,
                }
            }
        }
    }
    out
}
