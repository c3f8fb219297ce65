//! The semantic layer: what names and types mean, on plain data (no syn), between lowering and
//! the flow analysis. Every pass asks it instead of matching names itself.

pub mod calls;
pub mod defmap;
pub mod impls;
pub mod locktypes;
pub mod reach;

pub use defmap::{DefMap, Item, ModId, Ns, Res};
pub use impls::{Impls, TyKey, TyRes};
