//! Call results that name one object wherever they are called: a function with no parameters
//! that returns a reference (`fn timekeeper() -> &'static Timekeeper`) can only return
//! something that outlives every call, a global. Its result is one instance in every caller,
//! so `timekeeper().inner` taken in a caller and again in a callee is one lock taken twice.
//! (A function that leaks a fresh value on every call, `Box::leak(Box::new(..))`, breaks
//! this; it is rare enough in code that locks to be left so.)

use super::Index;
use crate::ir::{FnDef, Place, Root, TypeRef};
use crate::lower::LoweredFile;

impl Index {
    /// The instance text of a place, as [`Index::canon_instance`] spells it.
    pub(super) fn global_call_instance(
        &self,
        files: &[LoweredFile],
        func: &FnDef,
        place: &Place,
    ) -> Option<String> {
        if !matches!(place.root, Root::Call(_)) {
            return None;
        }
        self.global_root(files, func, &place.text)
    }

    /// An instance text written in `func` with a root that is a call of such a function
    /// spelled by the function's full path (so that every module's spelling of the call is
    /// one instance); any other text as it is.
    pub fn canon_instance(&self, files: &[LoweredFile], func: &FnDef, text: &str) -> String {
        self.global_root(files, func, text)
            .unwrap_or_else(|| text.to_string())
    }

    fn global_root(&self, files: &[LoweredFile], func: &FnDef, text: &str) -> Option<String> {
        let root = crate::ir::instance_root(text);
        let rest = text[root.len()..].strip_prefix("()")?;
        let segs: Vec<String> = root.split("::").map(str::to_string).collect();
        let f = self.find_fn(files, &func.module, func, &segs)?;
        if !f.params.is_empty() || f.has_self || !matches!(f.ret, Some(TypeRef::Ref { .. })) {
            return None;
        }
        Some(format!("{}(){rest}", f.path))
    }
}
