//! Resolution over the index: which functions a call may run, which types of the analyzed
//! code are locks, which functions return a guard held, and which functions the analysis needs
//! at all. Every pass above (flow, interproc, lock graph, irq, resource) asks these questions
//! here instead of matching names itself.

pub mod alias;
pub mod calls;
pub mod fnvalues;
pub mod instance;
pub mod locktypes;
pub mod reach;
pub mod returns;

pub use calls::Target;
