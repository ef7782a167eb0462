//! Reference signals and the pseudo-random sequence they and scrambling share.

pub mod dmrs;
pub mod gold;
mod low_papr_tables;
pub mod srs;
