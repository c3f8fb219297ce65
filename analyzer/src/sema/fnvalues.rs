//! Function values stored for later: the data `resolve::fnvalues` computes and the index
//! keeps, so a call through a field, a collection element or a local runs the closures and
//! functions stored there.

use std::collections::BTreeMap;

/// Which functions each place that holds function values may hold.
#[derive(Clone, Debug, Default)]
pub struct FnValues {
    /// A slot (a place's class with its element and `Option` steps dropped:
    /// `crate::irq::Table.handlers`, `crate::m::init::h`) → positions in `Index::fns`.
    pub slots: BTreeMap<String, Vec<usize>>,
    /// Slots whose set reached the bound and stopped growing.
    pub capped: usize,
    /// Calls (position in `Index::fns` of the caller, call node) whose closure argument the
    /// callee stores: the closure's inlined body does not run at the call.
    pub stored_at: BTreeMap<usize, Vec<u32>>,
}

impl FnValues {
    /// The functions a slot may hold (empty when nothing is known to be stored there).
    pub fn get(&self, slot: &str) -> &[usize] {
        self.slots.get(slot).map_or(&[], Vec::as_slice)
    }

    /// The calls of the function at `pos` whose inlined closures are stored, not run.
    pub fn stored_calls(&self, pos: usize) -> Vec<u32> {
        self.stored_at.get(&pos).cloned().unwrap_or_default()
    }

    /// How many functions are stored somewhere, counted once per slot.
    pub fn stored(&self) -> usize {
        self.slots.values().map(Vec::len).sum()
    }
}
