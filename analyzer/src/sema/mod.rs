//! The semantic layer: what names and types mean, on plain data (no syn), between lowering and
//! the flow analysis. Every pass asks it instead of matching names itself.

pub mod defmap;

pub use defmap::{DefMap, Item, ModId, Ns, Res};
