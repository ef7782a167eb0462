//! ranlab scheduler: per slot and carrier, who transmits on which PRBs,
//! layers and MCS.
#![warn(missing_docs)]
