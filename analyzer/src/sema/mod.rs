//! The semantic layer, lower half: what names mean (the module tree, `use`, re-exports) and
//! which impls a type has, on plain data (no syn), built from the lowered files before the
//! index. The questions asked over it and the index (which functions a call runs, which types
//! are locks, what a function returns held) are in [`crate::resolve`].

pub mod aliases;
pub mod defmap;
pub mod fnvalues;
pub mod impls;

pub use defmap::{DefMap, ExternNames, Item, ModId, Ns, Res};
pub use impls::{Impls, TyKey, TyRes};
