//! ranlab MAC: HARQ entities, UE buffers and buffer-status reporting, link
//! adaptation and transport-block accounting.
//!
//! The per-slot API is [`Mac`] (see [`mac`] for the order of calls); a
//! scheduler (crate `ranlab-sched`) reads the UE contexts and returns
//! [`UlGrant`]s, the PHY answers with [`UlCrc`]s.
#![warn(missing_docs)]

pub mod bsr;
pub mod buffer;
pub mod dl;
pub mod grant;
pub mod harq;
pub mod la;
pub mod mac;
pub mod mcs;
pub mod piot;
pub mod qos;
pub mod timing;
pub mod traffic;
pub mod ue;

pub use grant::{UlCrc, UlGrant};
pub use mac::{CarrierConfig, Mac, MacConfig};
