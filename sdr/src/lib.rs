//! ranlab radio interface: timestamped multi-antenna sample streams.
//!
//! [`Radio`] is what the slot pipeline reads samples from and writes bursts
//! to. It is shaped after what SoapySDR offers (timed TX, hardware time,
//! CS16/CF32 wire formats, MTU) so a hardware backend slots in beside the
//! simulated one without touching the pipeline. Stream faults (overflow,
//! underflow, late burst, time error) are counted events, never panics.
#![warn(missing_docs)]

pub mod convert;
pub mod radio;
pub mod reader;
pub mod sigmf;
pub mod sim;
#[cfg(feature = "soapy")]
pub mod soapy;
pub mod split;
pub mod timeline;
pub mod validate;

pub use radio::{Radio, RadioConfig, RadioError, RadioEvents, RadioInfo, RxMetadata, TxTime};
